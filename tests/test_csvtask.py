import pytest

from benchmark.errors import BenchError, DataMissingError
from tasks import TASKS
from tests.helpers import write_csv_dataset


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
    assert TASKS.create(f"csv:{tmp_path / 'num.csv'}").kind == "multiclass"  # numbers are labels unless declared
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
