"""What the training clips can teach the probe, said before extraction (issue 19, item 6): test
labels never seen in training, numbers read as class names, --train-per-class above a class's clips."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from benchmark.core.errors import BenchError
from benchmark.data.label_checks import per_class_warning, unseen_label_warnings
from benchmark.core.notices import BenchWarning
from benchmark.probe.protocols import PROTOCOLS
from benchmark.records.variants import apply
from helpers import write_csv_dataset
from tasks import TASKS


def _task(tmp_path, rows: str, head: str = "path,label,fold\n", query: str = ""):
    (tmp_path / "t.csv").write_text(head + rows)
    task = TASKS.create(f"csv:{tmp_path / 't.csv'}{query}")
    clips = task.clips(tmp_path)
    return task, task.splits(clips), clips


@pytest.mark.parametrize("labels, said", [
    ("a,a,b,b,a,b,z,a", "split fold3: 1 test label(s) never seen in its training clips: 'z' (1 test clip)"),
    ("a;x,a,b,b;x,a,b,z;x,a", "split fold3: 1 test label(s) never seen in its training clips: 'z' (1 test clip)"),
])
def test_test_labels_never_seen_in_training_are_named_with_their_counts(tmp_path, labels, said):
    rows = "".join(f"c{i}.wav,{label},{i % 4 + 1}\n" for i, label in enumerate(labels.split(",")))
    task, splits, clips = _task(tmp_path, rows)
    found = unseen_label_warnings(task, splits, clips, PROTOCOLS.create("linear"))
    assert len(found) == 1 and said in found[0] and "count as errors" in found[0]


def test_with_a_validation_protocol_the_validation_fold_is_not_training(tmp_path):
    rows = "".join(f"c{i}.wav,{label},{i % 4 + 1}\n" for i, label in enumerate("abzzabab"))
    task, splits, clips = _task(tmp_path, rows)
    # 'z' is in folds 3 and 4; split fold3 validates on fold 4: linear trains on it, mulap does not
    assert unseen_label_warnings(task, splits, clips, PROTOCOLS.create("linear")) == []
    (found,) = unseen_label_warnings(task, splits, clips, PROTOCOLS.create("mulap"))
    assert "split fold3:" in found and "'z' (1 test clip)" in found


def test_every_label_seen_gives_no_warning(tmp_path):
    task = TASKS.create(f"csv:{write_csv_dataset(tmp_path)}")
    clips = task.clips(tmp_path)
    assert unseen_label_warnings(task, task.splits(clips), clips) == []


def test_numbers_as_labels_warn_and_hint_at_regression(tmp_path):
    rows = "".join(f"c{i}.wav,{0.1 * i + 0.05:.2f},{i % 4 + 1}\n" for i in range(8))
    with pytest.warns(BenchWarning, match=r"every label is a number.*\?kind=regression"):
        task, splits, clips = _task(tmp_path, rows)
    found = unseen_label_warnings(task, splits, clips)
    assert len(found) == 4 and all("?kind=regression" in w for w in found)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BenchWarning)
        task, splits, clips = _task(tmp_path, rows, query="?kind=multiclass")  # declared: no warning
        assert not any("kind=regression" in w for w in unseen_label_warnings(task, splits, clips))
        _task(tmp_path, "".join(f"c{i}.wav,{i % 2},{i % 4 + 1}\n" for i in range(8)))  # whole-number classes: quiet


def test_train_per_class_above_every_class_is_refused_and_above_some_is_a_warning(tmp_path):
    rows = "".join(f"c{i}.wav,{'a' if i < 12 else 'b'},{i % 4 + 1}\n" for i in range(16))  # a: 9 train, b: 3
    task, splits, clips = _task(tmp_path, rows)
    linear = PROTOCOLS.create("linear")
    with pytest.raises(BenchError, match=r"--train-per-class 9: no class .* more than 9 training clips"):
        per_class_warning(task, splits, clips, apply(linear, type("S", (), {"train_per_class": 9})()))
    capped = per_class_warning(task, splits, clips, apply(linear, type("S", (), {"train_per_class": 5})()))
    assert "1 of 2 classes have fewer training clips" in capped and "'b' (3)" in capped
    assert per_class_warning(task, splits, clips, apply(linear, type("S", (), {"train_per_class": 3})())) is None
    assert per_class_warning(task, splits, clips, linear) is None


def test_a_capped_per_class_run_says_so_in_its_record_and_on_the_terminal(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([line for line in lines if not line.startswith(("audio/high_4", "audio/high_5",
                                                                               "audio/high_6", "audio/high_7"))]) + "\n")
    import json
    import re

    from helpers import invoke, run_args

    code, out = invoke(*run_args("mfcc", f"csv:{csv}", protocol="linear", seeds=1, train_per_class=5,
                                 cache_dir=tmp_path / "c", results_dir=tmp_path / "r"))
    assert code == 0, out
    record = json.loads(Path(re.findall(r"^Run record: (.+\.json)$", out, flags=re.M)[-1]).read_text())
    note = record["notes"]["train_per_class_capped"]
    assert "1 of 2 classes have fewer training clips" in note and "'high' (3)" in note
    assert any(line.startswith("Warning: --train-per-class 5") for line in out.splitlines())
