"""bench run --deform from the command line: spelling errors and a missing extra are exit-2
messages that say what to do; a grid with deformations gives a record per (cell, deformation),
keeps the clean embeddings untouched, and bench table --robustness pairs it with the clean runs."""
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from tests.helpers import write_csv_dataset


def invoke(*args):
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_without_the_extra_deform_says_which_pip_command_installs_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fast_mp3_augment", None)  # as if not installed: import raises
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", "--deform", "mp3:bitrate=32")
    assert code == 2 and 'pip install -e ".[deform]"' in out and "Traceback" not in out
    assert not list(Path(os.environ["BENCH_RESULTS_DIR"]).rglob("*.json"))  # nothing ran


@pytest.mark.parametrize("deform, said", [("nosie:snr=3", "Did you mean noise"), ("noise:snrr=3", "Did you mean snr"),
                                          ("mp3", "give bitrate"), ("gain:db=loud", "must be a number")])
def test_misspelt_deformations_exit_2_with_the_closest_name(deform, said):
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", "--deform", deform)
    assert code == 2 and said in out and "Traceback" not in out


def test_layers_sweep_with_deform_goes_through_the_layer_checks():
    """--layers with --deform was refused (the sweep had a run path of its own); now both expand into
    specs, and an embedder without layers is refused as with --layer."""
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", "--layers", "all", "--deform", "gain:db=-6")
    assert code == 2 and "exposes no layers" in out


def _tree_digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
            and p.name != ".lock"}


def test_a_grid_with_deformations_then_the_robustness_table(tmp_path):
    pytest.importorskip("audiomentations", reason='--deform needs the extra: pip install -e ".[deform]"')
    a = write_csv_dataset(tmp_path / "a", n_per_class=4)
    b = write_csv_dataset(tmp_path / "b", n_per_class=4)
    # coala: seeds that differ (linear would record one), so 4 folds x 2 seeds give 8 pairs
    grid = ["run", "-e", "mfcc", "-t", f"csv:{a}", "-t", f"csv:{b}", "--seeds", "2", "-p", "coala"]
    code, out = invoke(*grid)
    assert code == 0, out
    cache = Path(os.environ["BENCH_CACHE_DIR"]) / "embeddings"
    (clean_store,) = list(cache.iterdir())
    clean_before = _tree_digest(clean_store)
    deforms = ["--deform", "noise:snr=-5,color=pink", "--deform", "mp3:bitrate=16"]
    code, out = invoke(*grid, *deforms)
    assert code == 0, out
    assert out.count("Deformed embeddings") == 4 and "4 done" in out
    records = [json.loads(p.read_text()) for p in Path(os.environ["BENCH_RESULTS_DIR"]).rglob("*.json")
               if json.loads(p.read_text()).get("run_key")]
    deformed = [r for r in records if r["protocol"].get("deform")]
    assert len(records) == 6 and len(deformed) == 4 and len({r["run_key"] for r in records}) == 6
    # the clean embeddings are neither rewritten nor read for deformed audio: two more stores
    assert _tree_digest(clean_store) == clean_before
    keys = {r["notes"]["deformed_cache_key"] for r in deformed}
    assert len(keys) == 2 and clean_store.name not in keys
    assert {p.name for p in cache.iterdir()} == keys | {clean_store.name}
    # a rerun finds everything done and extracts nothing
    code, again = invoke(*grid, *deforms)
    assert code == 0 and "4 already done" in again
    code, table = invoke("table", "--robustness")
    assert code == 0, table
    lines = [line for line in table.splitlines() if "noise:color=pink,snr=-5" in line or "mp3:bitrate=16" in line]
    assert len(lines) == 4 and all("[" in line for line in lines)  # 4 folds x 2 seeds: 8 pairs, a CI each
    assert invoke("table", "--robustness", "-e", "mfcc")[1] == table
    code, text = invoke("table", "--robustness", "--format", "json")
    rows = json.loads(text)
    assert all(r["n_pairs"] == 8 and r["ci95"][0] <= r["drop"] <= r["ci95"][1] for r in rows)
    noisy = [r for r in rows if r["deformation"].startswith("noise")]
    assert all(r["drop"] > 0 for r in noisy)  # pink noise at -5 dB SNR hurts the pitch classes


def test_the_robustness_table_gives_a_fold_interval_with_one_seed(tmp_path):
    pytest.importorskip("audiomentations", reason='--deform needs the extra: pip install -e ".[deform]"')
    a = write_csv_dataset(tmp_path / "a", n_per_class=4)
    run = ["run", "-e", "mfcc", "-t", f"csv:{a}", "-p", "knn"]  # knn: one seed, 4 folds
    assert invoke(*run)[0] == 0
    assert invoke(*run, "--deform", "gain:db=-12")[0] == 0
    code, table = invoke("table", "--robustness")
    # issue 20: the unit is the fold, so one seed on 4 folds gives an interval (t over 4 fold differences)
    assert code == 0 and "over 4 folds" in table and "paired t over the per-fold mean differences" in table


def test_a_deformed_protocol_label_gives_back_the_run_options():
    """compare's suggested 'bench run' for a missing deformed run carries its --deform."""
    from benchmark.records.variants import label_suffix, run_options

    protocol = {"name": "coala", "deform": "noise:color=pink,snr=10", "deform_train": True, "train_fraction": 0.1}
    options = run_options("coala" + label_suffix(protocol))
    assert options == {"protocol": "coala", "fast_matmul": False, "train_fraction": "0.1",
                       "deform": "noise:color=pink,snr=10", "deform_train": True}
    assert run_options("linear~mp3:bitrate=32") == {"protocol": "linear", "fast_matmul": False,
                                                   "deform": "mp3:bitrate=32", "deform_train": False}


@pytest.mark.hf
def test_deform_with_a_layer_reads_the_deformed_frames_through_the_same_layer(tmp_path, monkeypatch):
    """The deformed store of an embedder with layers gives the probe the run's layer's columns,
    as the clean store does (not every stored layer side by side)."""
    pytest.importorskip("audiomentations", reason='--deform needs the extra: pip install -e ".[deform]"')
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    from tests import hf_models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = hf_models.build("wav2vec2-layer", tmp_path / "model")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    code, out = invoke("run", "-e", f"hf:{folder}", "-t", f"csv:{csv}", "-p", "linear", "--seeds", "1",
                       "--layer", "1", "--deform", "noise:snr=20")
    assert code == 0, out
    (record,) = [json.loads(p.read_text()) for p in Path(os.environ["BENCH_RESULTS_DIR"]).rglob("*.json")]
    assert record["embedder"]["dim"] == 16 and record["protocol"]["deform"] == "noise:color=white,snr=20"
    assert record["status"] == "complete" and len(record["scores"]) == 4


def test_a_process_without_the_extra_says_so_when_it_deforms(monkeypatch):
    """A worker (another node) without the extra: the deformation's call names the pip command."""
    pytest.importorskip("audiomentations", reason='--deform needs the extra: pip install -e ".[deform]"')
    import numpy as np

    from benchmark.data.deform import parse
    from benchmark.core.errors import BenchError

    deform = parse("gain:db=-6")
    monkeypatch.setitem(sys.modules, "audiomentations", None)
    with pytest.raises(BenchError, match=r'pip install -e "\.\[deform\]"'):
        deform(np.zeros(100, dtype=np.float32), 16000, "a")
