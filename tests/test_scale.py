"""Streaming probes (issue 22): chunk-level training, validation and prediction read frame rows from
the clips' memory-mapped arrays instead of one concatenated copy, with the same numbers; Ray probe
tasks read a shared cache instead of receiving the cell through the object store."""
from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest
import torch

from benchmark.probe import ensemble as E
from benchmark.probe import mlp as probe, rows
from benchmark.core.errors import BenchError
from benchmark.probe.protocols import MULAP


def _memmapped(tmp_path, lengths, dim, seed=0):
    """Per-clip read-only views into one memory-mapped array, as the embedding cache gives them."""
    path = tmp_path / "frames.npy"
    np.save(path, np.random.default_rng(seed).standard_normal((int(sum(lengths)), dim)).astype(np.float32))
    big = np.load(path, mmap_mode="r")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return [np.asarray(big[s:s + n]) for s, n in zip(starts, lengths)]


def test_rows_read_what_the_concatenation_holds(tmp_path):
    frames = _memmapped(tmp_path, [3, 1, 7, 5], 6)
    flat = np.concatenate(frames)
    R = rows.Rows(frames)
    picks = np.array([0, 15, 3, 4, 10, 11, 2])
    assert R.shape == flat.shape and np.array_equal(R.take(picks), flat[picks])
    assert np.array_equal(R.block(2, 13), flat[2:13])
    assert np.array_equal(np.concatenate([b for _, b in R.blocks(4)]), flat)
    with pytest.raises(BenchError, match="no embedding frames"):
        rows.Rows([np.zeros((0, 6), np.float32)])


def test_streamed_standardisation_equals_one_fit(tmp_path, monkeypatch):
    from sklearn.preprocessing import StandardScaler

    frames = _memmapped(tmp_path, [400, 250, 600], 10)
    monkeypatch.setattr(rows, "BLOCK_VALUES", 1000)  # 100 rows a block: 13 blocks
    streamed, whole = rows.stream_scaler(rows.Rows(frames)), StandardScaler().fit(np.concatenate(frames))
    # float64 accumulators: equal up to the summation order
    np.testing.assert_allclose(streamed.mean_, whole.mean_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(streamed.var_, whole.var_, rtol=1e-12)


def test_training_on_rows_is_bitwise_training_on_the_concatenation(tmp_path):
    frames = _memmapped(tmp_path, [30, 12, 50, 8, 21, 40], 5)
    flat = torch.from_numpy(np.concatenate(frames))
    Y = torch.eye(2)[torch.tensor([0, 1, 0, 1, 1, 0])]
    R = rows.Rows(frames)
    starts, counts = torch.from_numpy(R.starts), torch.from_numpy(R.counts)

    def train(F):
        gens = [torch.Generator().manual_seed(s) for s in (0, 1)]
        stack = E.init_stack(gens, [5, 7, 2], "torch_default", torch.float32)

        def draw(active, epoch):
            order = torch.stack([torch.randperm(6, generator=g) for g in active])
            pick = torch.stack([torch.rand(6, generator=g, dtype=torch.float64) for g in active])
            return starts[order] + (pick * counts[order]).long(), order

        from benchmark.probe.stopping import TrainLossStopper

        opt = E.Adam(stack.tensors(), 1e-2, "torch")
        return E.fit(F, Y, draw, gens, stack, E.Head("softmax", "torch"), opt, TrainLossStopper(2, 0.0, 100), 4, 6,
                     drop_last=False).stack

    a, b = train(flat), train(R)
    assert all(torch.equal(x, y) for x, y in zip(a.tensors(), b.tensors()))


def test_chunk_prediction_in_blocks_is_bitwise_the_concatenated_one(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "_PREDICT_CHUNK", 16)  # many blocks, clips straddling them
    frames = _memmapped(tmp_path, [9, 30, 4, 17, 25], 6)
    gens = [torch.Generator().manual_seed(s) for s in (0, 1, 2)]
    stack = E.init_stack(gens, [6, 8, 3], "torch_default", torch.float32)
    head = E.Head("softmax", "torch")
    got = probe._predict(stack, head, frames, MULAP, probe._Scaler(None), torch.device("cpu"))
    # the former computation: every frame concatenated, its logits per block, one index_add
    X = torch.from_numpy(np.concatenate(frames))
    logits = torch.cat([E.forward(stack, X[i:i + 16])[-1] for i in range(0, len(X), 16)], dim=1)
    counts = torch.tensor([len(f) for f in frames])
    total = torch.zeros(3, len(frames), 3).index_add_(1, torch.repeat_interleave(torch.arange(5), counts), logits)
    assert np.array_equal(got, head.probs(total / counts.view(1, -1, 1).float()).numpy())


def test_chunk_probe_memory_does_not_grow_with_the_frames(tmp_path):
    """82 MB of memory-mapped frames: the probe's own allocations (its blocks) stay under 32 MB; it
    used to concatenate the training frames (49 MB), then the test frames, each a copy."""
    frames = _memmapped(tmp_path, [2000] * 40, 256)
    y = np.arange(40) % 2
    protocol = dataclasses.replace(MULAP, max_epochs=2, batch_size=8)
    tracemalloc.start()
    try:
        out = probe.fit_predict(protocol, "multiclass", (frames[:24], y[:24]), (frames[24:32], y[24:32]), frames[32:],
                                [0, 1], "accuracy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out[0].shape == (8, 2) and np.allclose(out[1].sum(axis=1), 1)
    assert peak < 32e6, f"{peak / 1e6:.0f} MB traced for 82 MB of frames"


@pytest.fixture
def cell(tmp_path):
    """An extracted cell (mfcc, a 4-fold CSV task, chunk-level mulap): its frames in the cache."""
    import cli
    from benchmark.run.runner import extract_cell, prepare
    from benchmark.core.spec import RunEnv, RunSpec
    from tests.helpers import write_csv_dataset

    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    spec = RunSpec("mfcc", f"csv:{csv}", protocol="mulap", seeds=2)
    cell = prepare(spec, cli.registries(), env=RunEnv(cache_dir=str(tmp_path / "cache"), results_dir=str(tmp_path / "results")))
    extract_cell(cell)
    return cell


@pytest.mark.ray
def test_a_ray_probe_reading_the_shared_cache_gives_the_scores_of_the_frames_sent(cell):
    from benchmark.run.executors.ray_probes import _probe
    from benchmark.run.executors.ray_frames import CachedFrames

    clips = {c.id: c for c in cell.clips}
    frames = dict(zip(clips, cell.store.get_many(cell.clips)))
    located = CachedFrames.of(cell)
    assert located.keys.keys() == clips.keys()  # where the frames are, not the frames
    loaded = located.load(clips)
    assert all(np.array_equal(loaded[i], frames[i]) for i in clips)
    split = cell.splits[0]
    sent, _ = _probe(cell.task, cell.protocol, split, frames, clips, [0, 1], "cpu", 1)
    read, _ = _probe(cell.task, cell.protocol, split, located, clips, [0, 1], "cpu", 1)
    from benchmark.probe.predictions import KEY

    def plain(scores):  # the metrics; the per-clip test predictions (arrays) compared apart
        return [{k: v for k, v in s.items() if k != KEY} for s in scores]

    assert plain(read) == plain(sent) and len(read) == 2
    for r, s in zip(read, sent):
        assert r[KEY].keys() == s[KEY].keys()
        assert all(np.array_equal(np.asarray(r[KEY][k]), np.asarray(s[KEY][k])) for k in r[KEY])


def test_a_worker_without_the_shared_cache_and_a_cell_too_large_for_the_object_store_are_refused(cell, tmp_path):
    from benchmark.run.executors.ray_frames import CachedFrames, cell_frames

    located = CachedFrames.of(cell)
    elsewhere = dataclasses.replace(located, cache_dir=str(tmp_path / "not-shared"))
    with pytest.raises(BenchError, match="shared by every node"):
        elsewhere.load({c.id: c for c in cell.clips})

    class TinyStores:
        @staticmethod
        def nodes():
            return [{"Alive": True, "Resources": {"object_store_memory": 1000.0}},
                    {"Alive": False, "Resources": {"object_store_memory": 1.0}}]

    assert isinstance(cell_frames(TinyStores, cell, shared_cache=True), CachedFrames)
    with pytest.raises(BenchError, match="more than a node's Ray object store.*drop --no-shared-cache"):
        cell_frames(TinyStores, cell, shared_cache=False)
