import numpy as np
import pytest

from benchmark.core.errors import AudioError, EmbedderOutputError
from benchmark.embed.extract import extract
from benchmark.embed.store import EmbeddingStore
from embedders.base import Embedder
from benchmark.data.clips import Clip
from tests.helpers import tone, write_wav


class Stats(Embedder):
    """Two frames of (mean, std) per clip; counts calls; can fail on demand."""

    name = "stats"
    sample_rate = 8000
    dim = 2
    batch_size = 2

    def __init__(self, fail_after=None, output=None, **kw):
        super().__init__(device="cpu", **kw)
        self.calls, self.fail_after, self.output = 0, fail_after, output

    def embed(self, batch):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        if self.output is not None:
            return self.output(batch)
        return [np.array([[x.mean(), x.std()], [x.min(), x.max()]], np.float32) for x in batch]


def make_clips(tmp_path, n=10):
    return [Clip(id=f"c{i}", target=None, path=write_wav(tmp_path / f"c{i}.wav", tone(0.3, sr=8000, freq=200 + 50 * i), sr=8000))
            for i in range(n)]


def test_interrupted_extraction_resumes_without_redoing_clips(tmp_path):
    clips = make_clips(tmp_path)
    store = EmbeddingStore(tmp_path / "cache", Stats().config())
    with pytest.raises(KeyboardInterrupt):
        extract(Stats(fail_after=3), clips, store, flush_every=100)
    assert len(EmbeddingStore(tmp_path / "cache", Stats().config())) == 6  # three finished batches kept
    second = Stats()
    report = extract(second, clips, EmbeddingStore(tmp_path / "cache", Stats().config()))
    assert (report.n_cached, report.n_extracted, second.calls) == (6, 4, 2)
    again = Stats()
    assert extract(again, clips, store).n_extracted == 0 and again.calls == 0


def test_parallel_decoding_gives_identical_outputs(tmp_path):
    clips = make_clips(tmp_path, 6)
    a = EmbeddingStore(tmp_path / "a", {"k": 1})
    b = EmbeddingStore(tmp_path / "b", {"k": 1})
    extract(Stats(), clips, a, jobs=1)
    extract(Stats(), clips, b, jobs=2)
    for clip in clips:
        np.testing.assert_array_equal(a.get(clip), b.get(clip))


def test_unreadable_clip_stops_with_its_name_but_keeps_finished_work(tmp_path):
    clips = make_clips(tmp_path, 5)
    clips[3].path.write_bytes(b"broken")
    store = EmbeddingStore(tmp_path / "cache", {"k": 1})
    with pytest.raises(AudioError, match="c3.wav"):
        extract(Stats(), clips, store)
    assert len(store) == 2
    report = extract(Stats(), clips, store, skip_errors=True)
    assert list(report.failed) == ["c3"] and len(store) == 4


@pytest.mark.parametrize("output,message", [
    (lambda batch: [np.zeros((1, 3), np.float32) for _ in batch], "expected \\(n_frames >= 1, 2\\)"),
    (lambda batch: [np.full((1, 2), np.nan, np.float32) for _ in batch], "NaN"),
    (lambda batch: [np.zeros((1, 2), np.float32)], "outputs for a batch of 2"),
])
def test_bad_plugin_outputs_are_rejected_clearly(tmp_path, output, message):
    clips = make_clips(tmp_path, 2)
    with pytest.raises(EmbedderOutputError, match=message):
        extract(Stats(output=output), clips, EmbeddingStore(tmp_path / "cache", {"k": 1}))


class Wide(Stats):
    """Many frames per clip (the output grows with frames, as a big model's does)."""

    name = "wide"
    dim = 64

    def embed(self, batch):
        self.calls += 1
        return [np.tile(np.float32(x.mean() + k), (500, 64)) for k, x in enumerate(batch)]


def _shards(store):
    return sorted(p.name for p in store.root.glob("shard-*.npy"))


def test_large_outputs_are_written_as_they_come_not_held_for_the_whole_chunk(tmp_path, monkeypatch):
    """Issue 22: a chunk's frames were held until its shard was written, so extraction memory grew
    with frames per clip. Past FLUSH_BYTES a chunk's finished batches go to the store at once: the
    same frames, in more shards, and resume still finds every clip."""
    from benchmark.embed import extract as extract_module

    clips = make_clips(tmp_path, 10)
    held = EmbeddingStore(tmp_path / "held", {"k": 1})
    extract(Wide(), clips, held, flush_every=100)  # one chunk of 10 clips, 128 kB each: under 32 MiB
    assert len(_shards(held)) == 1
    monkeypatch.setattr(extract_module, "FLUSH_BYTES", 2 * 500 * 64 * 4)  # a batch of 2 clips
    flushed = EmbeddingStore(tmp_path / "flushed", {"k": 1})
    report = extract(Wide(), clips, flushed, flush_every=100)
    assert report.n_extracted == 10 and len(_shards(flushed)) == 5  # a shard per batch, not one per chunk
    for clip in clips:
        np.testing.assert_array_equal(held.get(clip), flushed.get(clip))
    again = Wide()
    assert extract(again, clips, EmbeddingStore(tmp_path / "flushed", {"k": 1})).n_extracted == 0 and again.calls == 0
