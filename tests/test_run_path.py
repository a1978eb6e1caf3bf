"""One run path (issue 21 items 2-3, issue 19 item 2): every way of starting runs builds specs that
one executor runs; the environment is recorded; a plugin's cache key covers what it was built with."""
from __future__ import annotations

import json
import sys

import pytest

from tests.helpers import invoke


def _records(results) -> list[dict]:
    return [json.loads(p.read_text()) for p in results.rglob("*.json")]


def test_layers_apply_train_fraction_and_threads_to_every_layer(tiny_hf, tiny_task, results_dir):
    """--layers left `bench run` before the variants were expanded: the fraction and --threads were ignored."""
    results = results_dir
    code, out = invoke("run", "-e", f"hf:{tiny_hf}", "-t", tiny_task, "-p", "linear", "--seeds", "1",
                       "--results-dir", results, "--layers", "0,2", "--train-fraction", "0.5", "--threads", "1")
    assert code == 0, out
    assert out.count("0 cached, 8 extracted") == 1, out  # one extraction serves every layer
    assert "Layer sweep" in out and "Grid summary" in out
    records = _records(results)
    assert sorted(r["embedder"]["name"] for r in records) == [f"hf:{tiny_hf}@0", f"hf:{tiny_hf}@2"]
    assert all(r["protocol"]["train_fraction"] == 0.5 for r in records)
    assert all(r["env"]["threads"] == 1 and r["env"]["executor"] == "local" for r in records)


def test_a_sweep_shows_the_layer_it_shares_with_the_plain_run(tiny_hf, tiny_task, results_dir):
    """issue 19 item 2: the plain run probes the last layer, so the sweep found it 'Already complete'
    under the plain name and the layer was missing from the sweep table, `table --layers` and the plot."""
    results = results_dir
    common = ["-e", f"hf:{tiny_hf}", "-t", tiny_task, "-p", "linear", "--seeds", "1", "--results-dir", results]
    assert invoke("run", *common)[0] == 0
    code, out = invoke("run", *common, "--layers", "all")
    assert code == 0 and "Already complete" in out, out
    names = [f"hf:{tiny_hf}@{n}" for n in range(3)]
    sweep_rows = [line.split("|")[1].strip() for line in out.split("Layer sweep")[1].splitlines() if "@" in line]
    assert sweep_rows == names, out
    code, table = invoke("table", "--layers", "--results-dir", results)
    assert [line.split("|")[1].strip() for line in table.splitlines() if f"hf:{tiny_hf}@" in line] == names, table
    from benchmark.embed.layers import split_name, sweep_records
    from benchmark.report.plots import entries
    from benchmark.records.query import load_records

    points = entries(sweep_records(load_records(results)))
    assert sorted(split_name(p["embedder"])[1] for p in points) == [0, 1, 2]
    # the leaderboard still shows the plain run under its own name
    assert f"| hf:{tiny_hf} " in invoke("table", "--results-dir", results)[1]


def test_a_plain_run_records_its_environment(tiny_task, results_dir):
    results = results_dir
    code, out = invoke("run", "-e", "mfcc", "-t", tiny_task, "-p", "linear", "--seeds", "1", "--threads", "2",
                       "--jobs", "1", "--results-dir", results)
    assert code == 0, out
    (record,) = _records(results)
    assert record["env"] == {"threads": 2, "device": "cpu", "jobs": 1, "executor": "local"}
    again = invoke("run", "-e", "mfcc", "-t", tiny_task, "-p", "linear", "--seeds", "1", "--threads", "1",
                   "--results-dir", results)[1]
    assert "Already complete" in again  # threads are not part of the run key


@pytest.mark.parametrize("option", [("--address", "127.0.0.2:6379"), ("--no-shared-cache",)])
def test_ray_options_without_ray_are_refused(option):
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", *option)
    assert code == 2 and f"{option[0]} only apply to the Ray executor" in out


def test_executors_come_from_a_registry(monkeypatch):
    from benchmark.run import executors
    from benchmark.core.errors import BenchError
    from benchmark.run.grid import run_grid
    from benchmark.core.spec import RunEnv, RunSpec

    seen = []
    module = type(sys)("fake_executor")
    module.run = lambda specs, registries, env, progress, echo, recorder: seen.append((list(specs), env.executor))
    monkeypatch.setitem(sys.modules, "fake_executor", module)
    monkeypatch.setitem(executors.EXECUTORS, "fake", "fake_executor")
    spec = RunSpec("mfcc", "demo")
    run_grid([spec], None, RunEnv(executor="fake"), keep_going=True)
    assert seen == [([spec], "fake")]
    with pytest.raises(BenchError, match="Unknown executor 'nope'. Choose one of: local, ray"):
        run_grid([spec], None, RunEnv(executor="nope"))


PLUGIN = '''
import numpy as np
from embedders.base import Embedder

class Gain(Embedder):
    """A plugin whose config() does not call super() and takes its option as a keyword parameter."""
    name = "gain"
    sample_rate = 8000
    dim = 1

    def __init__(self, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.gain = float(gain)

    def config(self):
        return {"name": "gain"}

    def embed(self, batch):
        return [self.gain * np.abs(x).mean(keepdims=True)[None].astype("float32") for x in batch]
'''


def test_a_plugins_cache_key_covers_its_options_and_code_whatever_its_config_says(tmp_path):
    """Two Gain plugins with different gains shared one cache: config() said only its name."""
    import cli
    from benchmark.embed.cache_key import cache_config
    from benchmark.embed.build import create_embedder
    from benchmark.core.spec import RunSpec
    from benchmark.embed.store import embedder_key

    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    registries = cli.registries()

    def key(path, **options):
        return embedder_key(cache_config(create_embedder(RunSpec(f"{path}:Gain", "demo", options=options), registries)))

    assert key(plugin, gain=2) != key(plugin, gain=3) != key(plugin)
    assert key(plugin, gain=2) == key(plugin, gain=2)
    other = tmp_path / "other.py"
    other.write_text(PLUGIN.replace("self.gain *", "2 * self.gain *"))
    assert key(other, gain=2) != key(plugin, gain=2)  # other code, same config()
    # an installed module's plugin: its file's sha256 is in the key
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "gainplugin.py").write_text(PLUGIN)
    sys.path.insert(0, str(package))
    try:
        config = cache_config(create_embedder(RunSpec("gainplugin:Gain", "demo"), registries))
    finally:
        sys.path.remove(str(package))
    assert config["class"] == "gainplugin.Gain" and len(config["code_sha256"]) == 64


def test_built_in_cache_keys_are_unchanged():
    """Keys of built-in embedders are their config(), as before: their caches stay valid."""
    import cli
    from benchmark.embed.cache_key import cache_config
    from benchmark.embed.build import create_embedder
    from benchmark.core.spec import RunSpec

    for name in ("mfcc", "musicnn-random"):
        embedder = create_embedder(RunSpec(name, "demo"), cli.registries())
        assert cache_config(embedder) == embedder.config()
