"""--option store_dtype=float16: frames cached in float16 under their own key, read back as float32."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.data.clips import Clip
from benchmark.core.errors import BenchError
from benchmark.embed.store import EmbeddingStore
from embedders import EMBEDDERS


def _clips(n: int) -> list[Clip]:
    return [Clip(id=f"c{i}", target=None, tags=[f"t{i}"]) for i in range(n)]


def test_float16_store_halves_the_bytes_and_reads_float32(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.standard_normal((5, 64)).astype(np.float32) * 10 for _ in range(3)]
    config = EMBEDDERS.create("mfcc").config()
    half_config = EMBEDDERS.create("mfcc", store_dtype="float16").config()
    assert half_config["options"] == {"store_dtype": "float16"}
    assert EMBEDDERS.create("mfcc", store_dtype="float32").config() == config  # the default: the same cache
    full, half = EmbeddingStore(tmp_path, config), EmbeddingStore(tmp_path, half_config)
    assert full.key != half.key and half.dtype == np.float16
    full.put_many(list(zip(_clips(3), frames)))
    half.put_many(list(zip(_clips(3), frames)))
    for store, dtype in ((full, np.float32), (half, np.float16)):
        (index,) = [json.loads(p.read_text()) for p in store.root.glob("shard-*.json")]
        assert index["dtype"] == np.dtype(dtype).name
    bytes_of = {s.key: sum(p.stat().st_size for p in s.root.glob("shard-*.npy")) for s in (full, half)}
    assert bytes_of[half.key] < 0.6 * bytes_of[full.key]
    reopened = EmbeddingStore(tmp_path, half_config)  # a later run reads the shards from disk
    for clip, f in zip(_clips(3), frames):
        got = reopened.get_many([clip])[0]
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, f.astype(np.float16).astype(np.float32))
        np.testing.assert_allclose(got, f, rtol=1e-3, atol=1e-3)


def test_values_beyond_float16_are_refused_not_cached_as_inf(tmp_path):
    half = EmbeddingStore(tmp_path, EMBEDDERS.create("mfcc", store_dtype="float16").config())
    with pytest.raises(BenchError, match="beyond float16"):
        half.put_many([(_clips(1)[0], np.full((2, 3), 1e5, np.float32))])
    assert not list(half.root.glob("shard-*"))


def test_bad_dtype_and_a_run_in_float16(tmp_path):
    import cli
    from tests.helpers import write_csv_dataset

    with pytest.raises(BenchError, match="use float16"):
        EMBEDDERS.create("mfcc", store_dtype="int8")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    cache, results = tmp_path / "cache", tmp_path / "results"
    common = ["-e", "mfcc", "-t", f"csv:{csv}", "--protocol", "linear", "--seeds", "2",
              "--cache-dir", str(cache), "--results-dir", str(results)]
    out = CliRunner().invoke(cli.cli, ["run", *common, "--option", "store_dtype=float16"], catch_exceptions=False).output
    assert "0 cached, 8 extracted" in out, out
    (shard,) = cache.rglob("shard-*.npy")
    assert np.load(shard).dtype == np.float16
    (record,) = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert record["embedder"]["config"]["options"] == {"store_dtype": "float16"}
    assert len(record["scores"]) == 4  # 4 folds x 1 seed (linear is deterministic), probed from the float16 cache
    assert all(np.isfinite(v) for s in record["scores"] for v in s["metrics"].values())


STRICT_PLUGIN = '''
import numpy as np
from embedders.base import Embedder

class Strict(Embedder):
    """A plugin whose constructor takes no **options: store_dtype must not reach it."""
    name = "strict"
    sample_rate = 8000
    dim = 2

    def __init__(self, weights=None, device=None):
        super().__init__(weights=weights, device=device)

    def embed(self, batch):
        return [np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True)], axis=1).astype("float32") for x in batch]
'''


def test_store_dtype_reaches_a_plugin_without_options(tmp_path):
    import cli
    from tests.helpers import write_csv_dataset

    plugin = tmp_path / "strict.py"
    plugin.write_text(STRICT_PLUGIN)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli.cli, ["run", "-e", f"{plugin}:Strict", "-t", f"csv:{csv}", "--seeds", "1",
                                          "--protocol", "linear", "--option", "store_dtype=float16",
                                          "--cache-dir", str(cache), "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    (shard,) = cache.rglob("shard-*.npy")
    assert np.load(shard).dtype == np.float16
    bad = CliRunner().invoke(cli.cli, ["run", "-e", f"{plugin}:Strict", "-t", f"csv:{csv}", "--seeds", "1",
                                       "--option", "store_dtype=int8", "--results-dir", str(tmp_path / "r")])
    assert bad.exit_code == 2 and "use float16" in bad.output
