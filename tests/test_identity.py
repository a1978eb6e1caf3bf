"""Issue 14: a run's numbers belong to the data, task and embedder the user described.

Stale results (the run key covers the audio's identity), leaking splits (refused where splits
reach the probe, for every task), one task name on two datasets, plugin cache keys that are
stable across processes, and embedder options that must be real."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from tests.helpers import run_bench, tone, write_csv_dataset, write_wav


def invoke(*args):
    result = CliRunner().invoke(cli.cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def accuracy(record: dict) -> float:
    return record["summary"]["accuracy"]["mean"]


# -- item 1: stale results ---------------------------------------------------------------------
def test_changed_audio_is_run_again_not_reported_as_complete(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    first = run_bench("mfcc", f"csv:{csv}", seeds=2)
    assert accuracy(first) > 0.8
    rng = np.random.default_rng(0)
    for wav in sorted((tmp_path / "data" / "audio").glob("*.wav")):
        write_wav(wav, (0.3 * rng.standard_normal(11000)).astype(np.float32))  # same length, noise only
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 2)
    assert code == 0, out
    assert "Already complete" not in out and "16 extracted" in out
    records = [json.loads(p.read_text()) for p in Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json")]
    assert len(records) == 2 and records[0]["run_key"] != records[1]["run_key"]
    assert len({r["task"]["data_hash"] for r in records}) == 2
    noise = next(r for r in records if r["run_key"] != first["run_key"])
    assert accuracy(noise) < 0.8  # noise cannot be told apart as the tones were


def test_a_repaired_clip_skipped_earlier_is_used_on_the_next_run(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    broken = tmp_path / "data" / "audio" / "high_2.wav"
    good = broken.read_bytes()
    broken.write_bytes(b"not audio")
    record = run_bench("mfcc", f"csv:{csv}", seeds=1, skip_missing=True)
    assert record["skipped"]["ids"] == ["audio/high_2.wav"]
    broken.write_bytes(good)
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--skip-missing")
    assert code == 0, out
    assert "Already complete" not in out and "1 extracted" in out and "skipped" not in out
