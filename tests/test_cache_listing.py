"""`bench cache list` names what each folder holds (an hf: model by its model, a deformed cache
by its deformation, the runs' own spelling of the embedder) and `bench cache prune` removes the
shard-less folders failed runs leave, never one a run has open (issue 19, item 10)."""
from __future__ import annotations

import gc
import json

import numpy as np
import pytest

from benchmark.embed import cache_admin
from benchmark.data.clips import Clip
from benchmark.embed.store import EmbeddingStore
from tests.helpers import invoke, write_csv_dataset

HF_FOLDER = {"name": "hf:<folder>", "class": "embedders.hf.HFEmbedder", "version": "1", "options": {"pool": 0},
             "source": {"files_sha256": {"config.json": "7ecfa524d0273458e9", "model.safetensors": "d5f540a33898aa"}},
             "family": "ast", "layers": [0, 2], "windows": {"seconds": 10.24}, "pool_s": 0.0}
HF_HUB = {**HF_FOLDER, "name": "hf:facebook/wav2vec2-base", "family": "wave",
          "source": {"model_id": "facebook/wav2vec2-base", "commit": "0b5b8e868dd84f03fd87d01f9c4ff0f080fecfe8"}}
MFCC = {"name": "mfcc", "class": "embedders.mfcc.MFCC", "version": "1", "options": {}}


def _store(cache, config, n=2) -> EmbeddingStore:
    store = EmbeddingStore(cache, {"dim": 4, **config})
    if n:
        store.put_many([(Clip(id=f"c{i}", target=None, tags=(str(i),)), np.ones((1, 4), np.float32)) for i in range(n)])
    return store


def _line(out: str, store: EmbeddingStore) -> str:
    return next(line for line in out.splitlines() if store.key[:12] in line)


def test_hf_models_list_by_model_and_deformed_caches_by_deformation(tmp_path):
    cache = tmp_path / "cache"
    folder, hub = _store(cache, HF_FOLDER), _store(cache, HF_HUB)
    noisy = _store(cache, {**MFCC, "deformation": "noise:color=white,snr=0", "deform_libraries": {}})
    clean = _store(cache, MFCC)
    out = cache_admin.format_list(cache)
    line = _line(out, folder)
    assert "class embedders.hf.HFEmbedder" not in out
    assert "config.json 7ecfa524d027" in line and "model.safetensors d5f540a33898" in line
    assert "ast family" in line and "layers 0,2" in line and "windows 10.24 s" in line and "pool 0.0 s" in line
    assert 'options {"pool": 0}' in line
    assert "model facebook/wav2vec2-base @ 0b5b8e868dd8" in _line(out, hub) and "wave family" in _line(out, hub)
    assert _line(out, noisy).startswith("mfcc [deformed: noise:color=white,snr=0]")
    assert _line(out, clean).startswith("mfcc ") and "deformed" not in _line(out, clean)


def test_used_by_names_the_embedder_as_the_runs_spelled_it(tmp_path):
    cache, results = tmp_path / "cache", tmp_path / "results"
    folder, noisy = _store(cache, HF_FOLDER), _store(cache, {**HF_FOLDER, "deformation": "gain:db=-6"})
    records = results / "runs" / "t" / "hf"
    records.mkdir(parents=True)
    (records / "a.json").write_text(json.dumps({"spec": {"embedder": "hf:/models/ast-tiny"}, "cache_key": folder.key,
                                                "notes": {"deformed_cache_key": noisy.key}}))
    (records / "broken.json").write_text("{not json")
    (records / "old.json").write_text(json.dumps({"embedder": {"name": "mfcc"}, "cache_key": "x"}))  # no spec: old
    out = cache_admin.format_list(cache, results)
    assert "hf:/models/ast-tiny" in _line(out, folder) and "hf:/models/ast-tiny" in _line(out, noisy)
    assert cache_admin.used_by(results)["x"] == {"mfcc"}
    code, out = invoke("cache", "list", "--cache-dir", cache, "--results-dir", results)
    assert code == 0 and "hf:/models/ast-tiny" in out and "used by" in out


def test_prune_removes_shardless_folders_but_not_one_a_run_has_open(tmp_path):
    cache = tmp_path / "cache"
    full = _store(cache, MFCC)
    left = _store(cache, {**MFCC, "options": {"x": 1}}, n=0)  # a run that failed before its first chunk
    left_deformed = _store(cache, {**MFCC, "deformation": "gain:db=-6"}, n=0)
    roots = {left.root, left_deformed.root}
    # open: the runs may still be loading their models
    assert not [c for c in cache_admin.prune_candidates(cache) if c.path in roots]
    del left, left_deformed
    gc.collect()  # the runs ended
    code, out = invoke("cache", "prune", "--cache-dir", cache, "--dry-run")
    assert code == 0 and out.count("no clips (left by a run that failed") == 2, out
    assert "mfcc [deformed: gain:db=-6]: no clips" in out and all(r.exists() for r in roots)
    assert full.key not in out
    code, out = invoke("cache", "prune", "--cache-dir", cache, "--yes")
    assert code == 0 and not any(r.exists() for r in roots) and full.root.exists()


def test_a_shardless_folder_opened_after_listing_is_kept(tmp_path):
    cache = tmp_path / "cache"
    _store(cache, MFCC, n=0)
    gc.collect()
    candidates = cache_admin.prune_candidates(cache)
    assert len(candidates) == 1
    reopened = EmbeddingStore(cache, {"dim": 4, **MFCC})  # a run started meanwhile
    cache_admin.remove(candidates)
    assert reopened.root.exists()


def test_a_run_that_fails_before_its_first_chunk_leaves_a_folder_prune_removes(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text("from embedders.base import Embedder\n\nclass Broken(Embedder):\n    name = 'broken'\n"
                      "    dim = 2\n\n    def embed(self, batch):\n        raise RuntimeError('boom')\n")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    cache = tmp_path / "cache"
    code, out = invoke("run", "-e", f"{plugin}:Broken", "-t", f"csv:{csv}", "--seeds", 1, "--cache-dir", cache,
                       "--results-dir", tmp_path / "results")
    assert code != 0
    (entry,) = cache_admin.entries(cache)
    assert entry.n_clips == 0
    gc.collect()
    code, out = invoke("cache", "prune", "--cache-dir", cache, "--yes")
    assert code == 0 and "broken: no clips" in out and not entry.root.exists(), out


@pytest.mark.parametrize("config", [HF_FOLDER, {**HF_FOLDER, "source": None, "windows": None}, {"class": "embedders.hf.X"}])
def test_hf_description_survives_partial_configs(config):
    assert "family" in cache_admin._hf_keyed_on(config)
