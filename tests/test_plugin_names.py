"""A plugin given as ``path.py:Class`` (or ``module:Class``) is stored under its class's ``name``;
every command that selects records by embedder accepts either (issue 19, item 11)."""
from __future__ import annotations

import os

import pytest

from benchmark.records.identity import embedder_matches, embedder_names
from tests.helpers import invoke, write_csv_dataset

STATS = '''
import numpy as np
from embedders.base import Embedder

class Stats(Embedder):
    name = "stats"
    sample_rate = 8000
    dim = 2

    def embed(self, batch):
        return [np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True)], axis=1).astype("float32")
                for x in batch]
'''


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """mfcc and the plugin (given by a relative path) on one CSV task, plain and deformed and at 50%."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "stats_plugin.py").write_text(STATS)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=8)
    results = tmp_path / "results"
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(results))
    for embedder in ("mfcc", "plugins/stats_plugin.py:Stats"):
        for extra in ([], ["--deform", "gain:db=-6"], ["--train-fraction", "0.5"]):
            code, out = invoke("run", "-e", embedder, "-t", f"csv:{csv}", "--seeds", 2, "-p", "linear", *extra)
            assert code == 0, out
    return tmp_path, f"csv:{csv}"


SPELLINGS = ["plugins/stats_plugin.py:Stats", "./plugins/stats_plugin.py:Stats", "stats"]


@pytest.mark.parametrize("spelling", SPELLINGS + ["<absolute>"])
def test_compare_and_tables_accept_the_spec_or_the_name(runs, spelling):
    root, task = runs
    if spelling == "<absolute>":
        spelling = f"{root / 'plugins' / 'stats_plugin.py'}:Stats"
    code, out = invoke("compare", "mfcc", spelling, "-t", task, "-p", "linear")
    assert code == 0 and "stats" in out and "mfcc" in out, out
    code, out = invoke("table", "-e", spelling)
    assert code == 0 and "stats" in out and "mfcc" not in out, out
    code, out = invoke("table", "-e", spelling, "--robustness")
    assert code == 0 and "stats" in out and "gain" in out and "mfcc" not in out, out
    code, out = invoke("table", "-e", spelling, "--fractions")
    assert code == 0 and "stats" in out and "50%" in out and "mfcc" not in out, out


def test_a_spec_naming_no_run_is_still_refused(runs):
    root, task = runs
    (root / "plugins" / "other.py").write_text(STATS)
    for spelling in ("plugins/other.py:Stats", "plugins/stats_plugin.py:Other", "nosuch"):
        code, out = invoke("table", "-e", spelling)
        assert code == 2 and "No runs for --embedder" in out, out
        code, out = invoke("compare", "mfcc", spelling, "-t", task)
        assert code == 2 and "No complete run of embedder" in out, out


def _record(name: str, spec: str | None, label: str | None = None) -> dict:
    return {"embedder": {"name": name, **({"label": label} if label else {})},
            "spec": {"embedder": spec} if spec else {}}


def test_names_cover_module_specs_layers_labels_and_old_records(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = _record("stats", "my_package.plugins:Stats")
    assert embedder_matches(module, "my_package.plugins:Stats") and embedder_matches(module, "stats")
    assert not embedder_matches(module, "my_package.plugins:Other")
    layered = _record("stats@3", "p.py:Stats")  # a --layer run
    assert embedder_matches(layered, "p.py:Stats@3") and embedder_matches(layered, f"{tmp_path}/p.py:Stats@3")
    assert not embedder_matches(layered, "p.py:Stats") and embedder_matches(layered, "p.py:Stats", any_layer=True)
    assert not embedder_matches(layered, "p.py:Stats@4", any_layer=True)
    labelled = _record("stats", "p.py:Stats", label="stats [weights_sha256=1a2b3c4d]")
    assert embedder_matches(labelled, "stats [weights_sha256=1a2b3c4d]") and embedder_matches(labelled, "p.py:Stats")
    old = _record("mfcc", None)  # written before records kept their spec
    assert embedder_names(old) == {"mfcc"} and embedder_matches(old, "mfcc")
    hf = _record("hf:/models/x@6", "hf:/models/x")
    assert embedder_matches(hf, "hf:/models/x@6") and not embedder_matches(hf, "hf:/models/x@5")
    assert os.path.isabs(next(n for n in embedder_names(layered) if n.startswith("/")))
