"""bench cache list / verify / prune."""

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.embed import store as store_module
import cli
from benchmark import __version__
from benchmark.data.clips import Clip
from benchmark.embed.store import EmbeddingStore


def invoke(*args, input=None):
    result = CliRunner().invoke(cli.cli, [str(a) for a in args], input=input, catch_exceptions=False)
    return result.exit_code, result.output


def _store(cache, config, n=3, rows=2):
    store = EmbeddingStore(cache, {"dim": 4, **config})
    clips = [Clip(id=f"{config['name']}{i}", target=None, tags=(str(i),)) for i in range(n)]
    store.put_many([(c, np.ones((rows, 4), np.float32)) for c in clips])
    return store


MFCC_NOW = {"name": "mfcc", "class": "embedders.mfcc.MFCC", "version": "1", "options": {}}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    stores = {"current": _store(cache, MFCC_NOW, n=5),
              "plugin": _store(cache, {"name": "mine", "class": "bench_plugin_ab12.Mine", "version": "7"}),
              "old-code": _store(cache, {**MFCC_NOW, "version": "0"}),
              "gone": _store(cache, {"name": "x", "class": "embedders.nosuchmodule.X", "version": "1"})}
    monkeypatch.setattr(store_module, "__version__", "0.1.0")
    stores["old-bench"] = _store(cache, {**MFCC_NOW, "options": {"n_mfcc": 13}})
    monkeypatch.undo()
    legacy = _store(cache, {**MFCC_NOW, "options": {"legacy": True}})  # made before key.json existed
    (legacy.root / "key.json").unlink()
    stores["legacy-current"] = legacy
    return cache, stores


def test_list_shows_size_clips_and_what_each_folder_was_keyed_on(cache):
    folder, stores = cache
    code, out = invoke("cache", "list", "--cache-dir", folder)
    assert code == 0, out
    mfcc_line = next(line for line in out.splitlines() if stores["current"].key[:12] in line)
    assert mfcc_line.startswith("mfcc") and " 5 " in mfcc_line and __version__ in mfcc_line
    assert "class embedders.mfcc.MFCC" in mfcc_line and "v1" in mfcc_line
    assert "0.1.0" in next(line for line in out.splitlines() if stores["old-bench"].key[:12] in line)
    assert 'options {"n_mfcc": 13}' in out
    assert __version__ in next(line for line in out.splitlines() if stores["legacy-current"].key[:12] in line)
    assert "6 embedder folder(s)" in out


def test_verify_names_damaged_shards_and_exits_1(cache):
    folder, stores = cache
    code, out = invoke("cache", "verify", "--cache-dir", folder)
    assert code == 0 and "6 shard(s) checked" in out and "0 damaged" in out
    (npy,) = stores["plugin"].root.glob("shard-*.npy")
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0xFF
    npy.write_bytes(bytes(data))
    code, out = invoke("cache", "verify", "--cache-dir", folder)
    assert code == 1 and f"damaged: {npy} (its checksum does not match)" in out


def test_prune_proposes_only_what_this_bench_cannot_use(cache):
    folder, stores = cache
    code, out = invoke("cache", "prune", "--cache-dir", folder, "--dry-run")
    assert code == 0, out
    for name in ("old-bench", "old-code", "gone"):
        assert str(stores[name].root) in out, name
    assert "keyed on bench 0.1.0" in out and "now code version 1, this was made by version 0" in out
    assert "can no longer be imported" in out
    for name in ("current", "plugin", "legacy-current"):
        assert str(stores[name].root) not in out, name
    assert all(s.root.exists() for s in stores.values())  # a dry run removes nothing
    code, out = invoke("cache", "prune", "--cache-dir", folder, input="n\n")
    assert "Nothing removed" in out and all(s.root.exists() for s in stores.values())
    code, out = invoke("cache", "prune", "--cache-dir", folder, "--yes")
    assert code == 0 and "Freed" in out
    assert {n for n, s in stores.items() if s.root.exists()} == {"current", "plugin", "legacy-current"}
    assert len(EmbeddingStore(folder, {"dim": 4, **MFCC_NOW})) == 5  # the kept cache still reads


def test_prune_an_embedder_by_name_and_damaged_shards(cache):
    folder, stores = cache
    (npy,) = stores["current"].root.glob("shard-*.npy")
    npy.write_bytes(b"")
    code, out = invoke("cache", "prune", "--cache-dir", folder, "--embedder", "mine", "--yes")
    assert code == 0, out
    assert not stores["plugin"].root.exists() and "embedder 'mine' asked for" in out
    assert not npy.exists() and not npy.with_suffix(".json").exists() and stores["current"].root.exists()
