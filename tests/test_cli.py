"""End to end through the CLI, as a user would run it."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmark.probe import mlp as probe
from tests.helpers import invoke, run_bench as run, write_csv_dataset
from tests.test_registry import PLUGIN


def test_demo_run_prints_a_table_and_a_second_run_redoes_nothing(tmp_path):
    code, out = invoke("run", "--embedder", "mfcc", "--task", "demo", "--seeds", 2)
    assert code == 0, out
    assert "500 extracted" in out and "| demo" in out and "accuracy" in out
    accuracy = float(out.split("| accuracy |")[1].split("±")[0])
    assert 40 < accuracy < 95  # hard enough: clearly below 100%
    code, again = invoke("run", "--embedder", "mfcc", "--task", "demo", "--seeds", 2)
    assert code == 0 and "Already complete" in again
    assert again.splitlines()[-1] == out.splitlines()[-1]
    code, more = invoke("run", "--embedder", "mfcc", "--task", "demo", "--seeds", 1)
    assert code == 0 and "500 cached, 0 extracted" in more


def test_user_errors_exit_2_with_a_message_and_no_traceback(tmp_path):
    code, out = invoke("run", "--embedder", "mfc", "--task", "demo")
    assert code == 2 and "Did you mean: mfcc" in out and "Traceback" not in out
    code, out = invoke("run", "--embedder", "mfcc", "--task", "us8", "--data-home", tmp_path)
    assert code == 2 and "Did you mean" in out and "us8k" in out
    code, out = invoke("run", "--embedder", "mfcc", "--task", "demo", "--protocol", "coal")
    assert code == 2 and "Did you mean: coala" in out


def test_plugin_file_and_csv_task_end_to_end(tmp_path):
    plugin = tmp_path / "elsewhere" / "plugin.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "--embedder", f"{plugin}:Energy", "--task", f"csv:{csv}", "--seeds", 2)
    assert code == 0, out
    assert "csv:data" in out and "energy" in out


def test_missing_audio_fails_fast_or_is_skipped_and_recorded(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    (tmp_path / "data" / "audio" / "low_3.wav").unlink()
    (tmp_path / "data" / "audio" / "high_2.wav").write_bytes(b"not audio")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "audio/low_3.wav" in out and "--skip-missing" in out
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--skip-missing")
    assert code == 0, out
    assert "2 clips skipped" in out
    (record_path,) = Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/mfcc/*.json")
    record = json.loads(record_path.read_text())
    assert record["skipped"]["count"] == 2
    assert sorted(record["skipped"]["ids"]) == ["audio/high_2.wav", "audio/low_3.wav"]


def test_interrupted_probing_redoes_only_unfinished_splits(tmp_path, monkeypatch):
    csv = write_csv_dataset(tmp_path / "data")
    real = probe.fit_predict
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(probe, "fit_predict", failing)
    with pytest.raises(KeyboardInterrupt):
        run("mfcc", f"csv:{csv}", seeds=3)
    calls.clear()
    monkeypatch.setattr(probe, "fit_predict", lambda *a, **k: (calls.append(a[5]), real(*a, **k))[1])
    record = run("mfcc", f"csv:{csv}", seeds=3)
    assert calls == [[0, 1, 2], [0, 1, 2]]  # the two unfinished folds only
    assert record["status"] == "complete" and len(record["scores"]) == 12
    assert {s["split"] for s in record["scores"]} == {"fold1", "fold2", "fold3", "fold4"}


def test_embed_reproduces_the_golden_mfcc(shared, tmp_path):
    manifest = json.loads((shared / "golden" / "MANIFEST.json").read_text())
    files = [shared / c["source_path"] for c in manifest["clips"].values()]
    code, out = invoke("embed", "--embedder", "mfcc", *files, "-o", tmp_path / "out.npz", "--jobs", 2)
    assert code == 0, out
    ours, golden = np.load(tmp_path / "out.npz"), np.load(shared / "golden" / "mfcc.npz")
    for name in manifest["clips"]:
        np.testing.assert_allclose(ours[f"{name}.embedding"], golden[f"{name}.embedding"], rtol=1e-4,
                                   atol=1e-4 * np.abs(golden[f"{name}.embedding"]).max())


def test_list_commands():
    code, out = invoke("list", "embedders")
    assert code == 0 and "mfcc" in out and "120" in out and "22000" in out
    code, out = invoke("list", "tasks")
    assert code == 0 and "demo" in out and "multiclass" in out
    code, out = invoke("list", "protocols")
    assert code == 0 and "coala" in out and "mulap" in out


def test_csv_task_over_real_recordings(shared, tmp_path):
    """The fixture clips are real recordings (GTZAN, UrbanSound8K, ESC-50, TinySOL) of mixed
    rates and channels; absolute paths in the CSV are used as they are."""
    manifest = json.loads((shared / "golden" / "MANIFEST.json").read_text())
    paths = {name: shared / clip["source_path"] for name, clip in manifest["clips"].items()}
    rows = [("country.00000", "music", "train"), ("Cb-ord-A2-mf-2c-N", "music", "train"),
            ("135776-2-0-49", "environment", "train"), ("1-104089-A-22", "environment", "test"),
            ("Fl-ord-C4-mf-N-T14d", "music", "test")]
    csv = tmp_path / "real.csv"
    csv.write_text("path,label,split\n" + "".join(f"{paths[n]},{label},{split}\n" for n, label, split in rows))
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 3)
    assert code == 0, out
    assert "5 extracted" in out and "| csv:real" in out
    (record_path,) = Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/csv_real/mfcc/*.json")
    record = json.loads(record_path.read_text())
    assert record["task"]["splits"] == [{"name": "official", "n_train": 3, "n_valid": 0, "n_test": 2}]
    assert len(record["scores"]) == 3 and all(0 <= s["metrics"]["accuracy"] <= 1 for s in record["scores"])


def test_embedder_options_reach_the_embedder_and_its_cache_key(tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN + '    accepted_options = {"gain": "input gain", "mode": "speed or precision"}\n')
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "-e", f"{plugin}:Energy", "-t", f"csv:{csv}", "--seeds", 1, "--option", "gain=2",
                       "--option", "mode=fast")
    assert code == 0, out
    (record_path,) = Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/energy/*.json")
    record = json.loads(record_path.read_text())
    assert record["embedder"]["config"]["options"] == {"gain": 2, "mode": "fast"}
    code, out = invoke("run", "-e", f"{plugin}:Energy", "-t", f"csv:{csv}", "--seeds", 1, "--option", "gain")
    assert code == 2 and "is not KEY=VALUE" in out
