import pytest

from benchmark.core.errors import BenchError, DataMissingError
from benchmark.core.notices import BenchWarning
from tasks import TASKS
from helpers import write_csv_dataset


def test_fold_column_gives_kfold_splits(tmp_path):
    csv = write_csv_dataset(tmp_path)
    task = TASKS.create(f"csv:{csv}")
    clips = task.clips(task.root(tmp_path))
    assert task.kind == "multiclass" and task.labels == ("high", "low") and len(clips) == 16
    assert clips[0].path == tmp_path / "audio" / "low_0.wav"
    splits = task.splits(clips)
    assert [s.sizes() for s in splits] == [(8, 4, 4)] * 4 and all(s.valid_from_train for s in splits)


def test_split_column(tmp_path):
    csv = write_csv_dataset(tmp_path, column="split")
    task = TASKS.create(f"csv:{csv}")
    (split,) = task.splits(task.clips(tmp_path))
    assert split.sizes() == (10, 2, 4) and not split.valid_from_train


def test_multilabel_and_declared_regression(tmp_path):
    (tmp_path / "ml.csv").write_text("path,label,fold\na.wav,rock;guitar,1\nb.wav,jazz,2\n")
    task = TASKS.create(f"csv:{tmp_path / 'ml.csv'}")
    assert task.kind == "multilabel" and task.metrics == ("roc_auc", "pr_auc")
    assert task.labels == ("guitar", "jazz", "rock")
    assert task.encode_targets(task.clips(tmp_path)).tolist() == [[1, 0, 1], [0, 1, 0]]
    (tmp_path / "reg.csv").write_text("path,label,split\na.wav,0.5;1,train\nb.wav,2;3,test\n")
    (tmp_path / "num.csv").write_text("path,label,split\na.wav,0.5,train\nb.wav,2,test\n")
    with pytest.warns(BenchWarning, match=r"\?kind=regression"):  # numbers are labels unless declared: said so
        assert TASKS.create(f"csv:{tmp_path / 'num.csv'}").kind == "multiclass"
    task = TASKS.create(f"csv:{tmp_path / 'reg.csv'}?kind=regression")
    assert task.kind == "regression" and task.metrics == ("r2",)
    assert task.encode_targets(task.clips(tmp_path)).tolist() == [[0.5, 1.0], [2.0, 3.0]]


def test_bad_csvs_say_what_is_wrong(tmp_path):
    with pytest.raises(DataMissingError, match="not found"):
        TASKS.create(f"csv:{tmp_path / 'absent.csv'}")
    (tmp_path / "bad.csv").write_text("file,label\na.wav,x\n")
    with pytest.raises(BenchError, match="needs 'path', 'label'"):
        TASKS.create(f"csv:{tmp_path / 'bad.csv'}")
    (tmp_path / "split.csv").write_text("path,label,split\na.wav,x,training\nb.wav,y,holdout\n")
    with pytest.raises(BenchError, match="unknown split values \\['holdout'\\]"):
        TASKS.create(f"csv:{tmp_path / 'split.csv'}")


HEAD = {"fold": "path,label,fold\n", "split": "path,label,split\n"}
#: every way a fold or split column can be malformed → what the refusal must say (the line included)
MALFORMED = {
    "blank fold": ("fold", ["1", "2", "3", ""], r"empty \(or NaN\) fold on line\(s\) 5"),
    "whitespace fold": ("fold", ["1", "2", "3", "   "], r"empty \(or NaN\) fold on line\(s\) 5"),
    "NaN fold": ("fold", ["1", "NaN", "3", "2"], r"empty \(or NaN\) fold on line\(s\) 3"),
    "NA fold": ("fold", ["1", "2", "NA", "2"], r"empty \(or NaN\) fold on line\(s\) 4"),
    "all blank": ("fold", ["", "", "", ""], r"fold on line\(s\) 2, 3, 4, 5"),
    "1 and 1.0": ("fold", ["1", "2", "1.0", "2"], r"'1' \(line\(s\) 2\) and '1.0' \(line\(s\) 4\)"),
    "1 and 01": ("fold", ["1", "01", "2", "3"], r"'01' \(line\(s\) 3\) and '1' \(line\(s\) 2\)"),
    "A and a": ("fold", ["A", "a", "B", "C"], r"'A' \(line\(s\) 2\) and 'a' \(line\(s\) 3\)"),
    "blank split": ("split", ["train", "", "test", "valid"], r"empty \(or NaN\) split on line\(s\) 3"),
    "NaN split": ("split", ["train", "nan", "test", "valid"], r"empty \(or NaN\) split on line\(s\) 3"),
    "numeric split": ("split", ["train", "1", "test", "1.0"], r"unknown split values \['1', '1.0'\] on line\(s\) 3, 5"),
    "unknown split": ("split", ["train", "holdout", "test", "valid"], r"\['holdout'\] on line\(s\) 3"),
    "no test": ("split", ["train", "train", "valid", "valid"], "no test clip"),
    "no train": ("split", ["test", "valid", "test", "valid"], "no train clip"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_every_malformed_fold_or_split_cell_is_refused_naming_its_line(tmp_path, case):
    column, groups, said = MALFORMED[case]
    rows = "".join(f"{name}.wav,{'xy'[i % 2]},{g}\n" for i, (name, g) in enumerate(zip("abcd", groups)))
    (tmp_path / "t.csv").write_text(HEAD[column] + rows)
    with pytest.raises(BenchError, match=said):
        task = TASKS.create(f"csv:{tmp_path / 't.csv'}")
        task.splits(task.clips(tmp_path))


@pytest.mark.parametrize("groups, folds", [([" 1", "2 ", "1", "3"], ["fold1", "fold2", "fold3"]),
                                           (["1.0", "2.0", "3.0", "1.0"], ["1.0", "2.0", "3.0"])])
def test_well_formed_folds_are_read_as_written_and_stripped(tmp_path, groups, folds):
    rows = "".join(f"{name}.wav,x,{g}\n" for name, g in zip("abcd", groups))
    (tmp_path / "t.csv").write_text(HEAD["fold"] + rows)
    task = TASKS.create(f"csv:{tmp_path / 't.csv'}")
    assert [s.name for s in task.splits(task.clips(tmp_path))] == folds


def test_split_values_are_stripped_and_case_folded(tmp_path):
    (tmp_path / "t.csv").write_text(HEAD["split"] + "a.wav,x, Train \nb.wav,y,VALIDATION\nc.wav,x,test\n")
    task = TASKS.create(f"csv:{tmp_path / 't.csv'}")
    (split,) = task.splits(task.clips(tmp_path))
    assert split.sizes() == (1, 1, 1)


def test_a_fold_whose_clips_are_all_skipped_is_refused(tmp_path):
    csv = write_csv_dataset(tmp_path)
    task = TASKS.create(f"csv:{csv}")
    clips = [c for c in task.clips(tmp_path) if c.group != "2"]  # fold 2's files missing, skipped
    with pytest.raises(BenchError, match="split fold2 has no test clips: the clips of fold 2 are all missing"):
        task.splits(clips)


def test_two_folds_and_a_protocol_with_validation_leave_no_training_clips(tmp_path):
    import numpy as np

    from benchmark.probe.protocols import PROTOCOLS
    from benchmark.run.runner import probe_split

    (tmp_path / "t.csv").write_text(HEAD["fold"] + "a.wav,x,1\nb.wav,y,1\nc.wav,x,2\nd.wav,y,2\n")
    task = TASKS.create(f"csv:{tmp_path / 't.csv'}")
    clips = task.clips(tmp_path)
    frames = {c.id: np.ones((1, 4), np.float32) for c in clips}
    with pytest.raises(BenchError, match="leaves no training clips for protocol 'mulap'"):
        probe_split(task, PROTOCOLS.create("mulap"), task.splits(clips)[0], frames, {c.id: c for c in clips}, [0], "cpu")
