"""A multi-label test set with no scorable label (issue 14): a clear error before extraction
instead of exit 0 with "nan ± nan"; labels left out of the average are named in a warning."""
from __future__ import annotations

import os
from pathlib import Path


from tests.helpers import invoke, tone, write_wav


def _multilabel_csv(folder: Path, test_labels: list[str]) -> Path:
    rows = ["path,label,split"]
    train = ["a", "b", "a;b", "b", "a", "a;b", "b", "a"]
    for i, label in enumerate(train + ["a", "b"] + test_labels):
        part = "train" if i < len(train) else "valid" if i < len(train) + 2 else "test"
        write_wav(folder / f"c{i}.wav", tone(0.3, freq=300 + 200 * ("b" in label) + 50 * i, seed=i))
        rows.append(f"c{i}.wav,{label},{part}")
    csv = folder / "data.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def test_no_scorable_label_is_an_error_before_extraction(tmp_path):
    csv = _multilabel_csv(tmp_path / "d", ["a;b", "a;b", "a;b"])  # both labels on every test clip
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 2)
    assert code == 2 and "Traceback" not in out and "nan" not in out.replace("NaN", ""), out
    assert "split official: none of its 2 labels can be scored on its 3 test clips" in out
    assert "roc_auc and pr_auc" in out
    cache = Path(os.environ["BENCH_CACHE_DIR"])
    assert not [p for p in cache.rglob("*") if p.is_file()]  # nothing extracted
    assert not list(Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/**/*.json"))


def test_some_labels_left_out_are_named(tmp_path):
    csv = _multilabel_csv(tmp_path / "d", ["a;b", "b", "a;b"])  # 'b' on every test clip, 'a' varies
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 2)
    assert code == 0, out
    assert "Warning: split official: 1 of 2 labels (b) have no positive or no negative test clip" in out
