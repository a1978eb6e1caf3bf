"""Deterministic probes record one seed on a plain run; subsets keep their seeds (issue 20 item 2)."""
import json

from tests.helpers import invoke, run_bench, write_csv_dataset


def test_linear_plain_run_records_one_seed_and_says_why(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "-p", "linear", "--seeds", "5",
                       "--results-dir", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"))
    assert code == 0, out
    (path,) = (tmp_path / "r").rglob("*.json")
    record = json.loads(path.read_text())
    assert record["seeds"] == [0] and record["summary"]["accuracy"]["n_seeds"] == 1
    assert "deterministic" in record["notes"]["seeds"] and "instead of 5" in record["notes"]["seeds"]


def test_subset_runs_keep_their_seeds(tmp_path):
    # each seed draws its own training subset, so the seeds differ, for linear and knn alike
    csv = write_csv_dataset(tmp_path / "data", n_per_class=12)
    for protocol in ("linear", "knn"):
        record = run_bench("mfcc", f"csv:{csv}", protocol=protocol, seeds=3, train_fraction=0.5,
                           results_dir=tmp_path / "r", cache_dir=tmp_path / "c")
        assert record["seeds"] == [0, 1, 2] and "seeds" not in record["notes"], protocol
