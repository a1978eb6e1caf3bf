"""A damaged embedding cache heals: the damaged shard is named, its clips are extracted again and
the scores are those of the undamaged cache."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from benchmark.data.clips import Clip
from benchmark.core.notices import BenchWarning
from benchmark.embed.store import EmbeddingStore
from tests.helpers import write_csv_dataset


def _run(csv: Path, cache: Path, results: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli.cli, ["run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", "2",
                                          "--cache-dir", str(cache), "--results-dir", str(results)],
                                catch_exceptions=False)
    return result.exit_code, result.output


def _scores(results: Path) -> dict:
    (path,) = results.glob("runs/*/*/*.json")
    record = json.loads(path.read_text())
    return {(s["split"], s["seed"]): s["metrics"]["accuracy"] for s in record["scores"]}


def _damage_truncate(shard: Path) -> None:
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])


def _damage_empty(shard: Path) -> None:
    shard.write_bytes(b"")


def _damage_index(shard: Path) -> None:
    shard.with_suffix(".json").write_text('{"clips": {"abc": [0,')


def _damage_bytes(shard: Path) -> None:  # same size, other bytes: only the checksum sees it
    data = bytearray(shard.read_bytes())
    data[-8:] = b"\x00\x00\xc0\x7f" * 2
    shard.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_empty, _damage_index, _damage_bytes])
def test_damaged_shard_is_named_and_reextracted_with_the_same_scores(tmp_path, damage):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=8)
    cache = tmp_path / "cache"
    code, out = _run(csv, cache, tmp_path / "before")
    assert code == 0, out
    before = _scores(tmp_path / "before")
    (shard,) = cache.glob("embeddings/*/shard-*.npy")
    damage(shard)
    code, out = _run(csv, cache, tmp_path / "after")
    assert code == 0, out
    assert f"Warning: Embedding cache shard {shard} is damaged" in out
    assert "0 cached, 16 extracted" in out
    after = _scores(tmp_path / "after")
    assert after.keys() == before.keys()
    assert np.allclose([after[k] for k in before], [before[k] for k in before], atol=1e-6)
    # healed: the next run reads the new shard without a warning
    code, out = _run(csv, cache, tmp_path / "third")
    assert code == 0 and "Warning" not in out and "16 cached, 0 extracted" in out


def test_checksum_is_read_once_per_process_and_size_on_every_open(tmp_path, monkeypatch):
    from benchmark.embed import store as store_module

    clips = [Clip(id=f"c{i}", target=None, tags=("a", str(i))) for i in range(3)]
    store = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    store.put_many([(c, np.full((2, 4), i, np.float32)) for i, c in enumerate(clips)])
    reopened = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    calls = []
    monkeypatch.setattr(store_module, "file_sha256", lambda p: calls.append(p) or "0" * 64)
    with pytest.warns(BenchWarning, match="checksum does not match"):
        assert reopened.heal(clips) == 1
    assert len(calls) == 1 and reopened.missing(clips) == clips
    assert not list(tmp_path.glob("embeddings/*/shard-*"))  # removed, index and array


def test_store_written_by_this_process_is_not_checksummed_again(tmp_path, monkeypatch):
    from benchmark.embed import store as store_module

    clip = Clip(id="c", target=None, tags=("a",))
    store = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    store.put_many([(clip, np.ones((1, 4), np.float32))])
    monkeypatch.setattr(store_module, "file_sha256", lambda p: pytest.fail("checksummed twice"))
    assert store.heal([clip]) == 0 and float(store.get(clip)[0, 0]) == 1.0


def test_truncated_shard_found_on_open_by_its_size(tmp_path):
    clip = Clip(id="c", target=None, tags=("a",))
    EmbeddingStore(tmp_path, {"name": "x", "dim": 4}).put_many([(clip, np.ones((3, 4), np.float32))])
    (npy,) = tmp_path.glob("embeddings/*/shard-*.npy")
    npy.write_bytes(npy.read_bytes()[:-4])
    with pytest.warns(BenchWarning, match=str(npy).replace("\\", "\\\\") + r" is damaged \(\d+ bytes instead"):
        reopened = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    assert len(reopened) == 0


def test_index_of_an_older_bench_without_checksum_is_checked_by_its_header(tmp_path):
    clip = Clip(id="c", target=None, tags=("a",))
    EmbeddingStore(tmp_path, {"name": "x", "dim": 4}).put_many([(clip, np.ones((3, 4), np.float32))])
    (index,) = tmp_path.glob("embeddings/*/shard-*.json")
    old = json.loads(index.read_text())
    index.write_text(json.dumps({"clips": old["clips"], "ids": old["ids"]}))
    assert len(EmbeddingStore(tmp_path, {"name": "x", "dim": 4})) == 1  # intact: still used
    npy = index.with_suffix(".npy")
    npy.write_bytes(b"")
    with pytest.warns(BenchWarning, match="is damaged"):
        assert len(EmbeddingStore(tmp_path, {"name": "x", "dim": 4})) == 0


def test_shard_damaged_by_another_process_is_removed_while_writing(tmp_path):
    clips = [Clip(id=f"c{i}", target=None, tags=(str(i),)) for i in range(2)]
    writer = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    other = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    other.put_many([(clips[0], np.ones((1, 4), np.float32))])
    (npy,) = tmp_path.glob("embeddings/*/shard-*.npy")
    npy.write_bytes(b"")  # the other process's shard is damaged before this one writes
    with pytest.warns(BenchWarning, match="is damaged"):
        writer.put_many([(clips[1], np.full((1, 4), 2, np.float32))])  # refreshes under the lock
    assert writer.missing(clips) == [clips[0]] and float(writer.get(clips[1])[0, 0]) == 2.0
