"""Label-efficiency subsets: nested, stratified, per-class budgets, identical across reruns."""
import numpy as np
import pytest

from benchmark.core.errors import BenchError
from benchmark.records.results import protocol_label
from benchmark.data.subsets import subset
from tests.helpers import run_bench, write_csv_dataset


def _multiclass(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.zeros(600), np.ones(300), np.full(95, 2), np.full(5, 3)]).astype(int)
    ids = [f"clip{i:04d}" for i in rng.permutation(n)]
    return ids, y


def test_multiclass_nested_stratified_and_repeatable():
    ids, y = _multiclass()
    label = dict(zip(ids, y))
    previous = set()
    for fraction in (0.01, 0.1, 0.5, 1.0):
        chosen = subset("multiclass", ids, y, "fold1", 3, fraction=fraction)
        counts = np.bincount([label[i] for i in chosen], minlength=4)
        assert counts.tolist() == [max(1, int(np.floor(fraction * n + 0.5))) for n in (600, 300, 95, 5)]
        assert previous <= set(chosen)  # the smaller subset lies inside the larger one
        previous = set(chosen)
        assert chosen == subset("multiclass", ids, y, "fold1", 3, fraction=fraction)  # rerun: same clips
        order = np.random.default_rng(1).permutation(len(ids))  # the input's order does not matter
        shuffled = subset("multiclass", [ids[i] for i in order], y[order], "fold1", 3, fraction=fraction)
        assert set(shuffled) == set(chosen)
    assert set(subset("multiclass", ids, y, "fold1", 4, fraction=0.1)) != set(subset("multiclass", ids, y, "fold1", 3, fraction=0.1))
    assert set(subset("multiclass", ids, y, "fold2", 3, fraction=0.1)) != set(subset("multiclass", ids, y, "fold1", 3, fraction=0.1))


def test_per_class_budget():
    ids, y = _multiclass()
    label = dict(zip(ids, y))
    for n in (1, 8, 100):
        chosen = subset("multiclass", ids, y, "s", 0, per_class=n)
        assert np.bincount([label[i] for i in chosen], minlength=4).tolist() == [min(n, c) for c in (600, 300, 95, 5)]
    assert set(subset("multiclass", ids, y, "s", 0, per_class=1)) <= set(subset("multiclass", ids, y, "s", 0, per_class=8))


def test_multilabel_keeps_every_label_and_budgets():
    rng = np.random.default_rng(2)
    Y = (rng.random((500, 12)) < np.linspace(0.002, 0.4, 12)).astype(int)
    Y[7, 0] = 1  # at least one clip of the rarest label
    ids = [f"t{i}" for i in range(500)]
    present = Y.sum(axis=0) > 0
    previous = set()
    for fraction in (0.01, 0.05, 0.3):
        chosen = subset("multilabel", ids, Y, "train", 0, fraction=fraction)
        rows = [int(i[1:]) for i in chosen]
        assert (Y[rows].sum(axis=0) > 0).tolist() == present.tolist()  # every label still represented
        assert len(chosen) >= int(np.floor(fraction * 500 + 0.5))
        assert previous <= set(chosen)
        previous = set(chosen)
    chosen = subset("multilabel", ids, Y, "train", 0, per_class=5)
    have = Y[[int(i[1:]) for i in chosen]].sum(axis=0)
    assert (have >= np.minimum(5, Y.sum(axis=0))).all()
    assert len(chosen) < 500


def test_regression_plain_subset_and_refusals():
    ids = [f"r{i}" for i in range(200)]
    values = np.arange(200.0)[:, None]
    small, large = (subset("regression", ids, values, "s", 1, fraction=f) for f in (0.05, 0.5))
    assert len(small) == 10 and len(large) == 100 and set(small) <= set(large)
    with pytest.raises(BenchError, match="regression task has none"):
        subset("regression", ids, values, "s", 1, per_class=3)
    with pytest.raises(BenchError, match=r"\(0, 1\]"):
        subset("multiclass", ids, np.zeros(200), "s", 1, fraction=1.5)


def test_fraction_runs_are_records_of_their_own(tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=12)
    full = run_bench("mfcc", f"csv:{csv}", seeds=2)
    assert run_bench("mfcc", f"csv:{csv}", seeds=2, train_fraction=1.0)["run_key"] == full["run_key"]
    half = run_bench("mfcc", f"csv:{csv}", seeds=2, train_fraction=0.5)
    assert half["run_key"] != full["run_key"] and protocol_label(half["protocol"]) == "coala@50%"
    # 4 folds: 18 training clips (the carved validation fold given back to training), 9 per class
    assert {s["extra"]["n_train"] for s in half["scores"]} == {10}  # round(0.5 * 9) = 5 per class
    assert "nested subset" in half["notes"]["train_subset"]
    few = run_bench("mfcc", f"csv:{csv}", seeds=2, train_per_class=1, protocol="knn")
    assert protocol_label(few["protocol"]) == "knn@1/class" and {s["extra"]["n_train"] for s in few["scores"]} == {2}


def variant_run(results, task, embedder, level, offset, **protocol_fields):
    """A synthetic record (tests/_report_runs.py) whose protocol carries variant fields."""
    import json

    from benchmark.records.results import ResultsStore
    from tests._report_runs import write_run

    record = write_run(results, task, embedder, level, seed_offset=offset)
    for path in (results / "runs").rglob(f"*-{record['run_key'][:12]}.json"):
        path.unlink()
    record["protocol"].update(protocol_fields)
    ResultsStore(results).save(record)
    return json.loads(ResultsStore(results).path_for(record).read_text())


def test_fraction_table_and_plot(tmp_path):
    from benchmark.report.plots import write_plots
    from benchmark.report.render import render_fractions

    results = tmp_path / "results"
    for emb, top in (("mfcc", 0.6), ("coala", 0.8)):
        variant_run(results, "us8k", emb, top, 0)
        variant_run(results, "us8k", emb, top - 0.3, 1, train_fraction=0.01)
        variant_run(results, "us8k", emb, top - 0.1, 2, train_fraction=0.1)
    variant_run(results, "us8k", "mfcc", 0.4, 3, train_per_class=5)
    text = render_fractions(results)
    table = text.split("### ")[1]
    assert "by fraction of the training set" in table and "| 1% " in table and "| 10% " in table and "| 100% " in table
    row = next(line for line in table.splitlines() if line.startswith("| coala [coala]"))
    values = [float(cell.split("±")[0]) for cell in row.split("|")[3:6]]
    assert values == sorted(values) and abs(values[2] - 80) < 3  # 1% < 10% < the full run
    assert "5/class" in text.split("### ")[2]
    written = write_plots(results, tmp_path / "fig", kind="fractions")
    assert sorted(p.name for p in written) == ["fractions-us8k.png", "per-class-us8k.png"]
    with pytest.raises(BenchError, match="No label-efficiency runs"):
        render_fractions(tmp_path / "results", tasks=["gtzan"])


def test_the_fraction_actually_used_is_recorded_and_shown(tmp_path):
    from benchmark.report.plots import write_plots
    from benchmark.report.render import render_fractions

    csv = write_csv_dataset(tmp_path / "data", n_per_class=12)
    results = tmp_path / "results"
    tiny = run_bench("mfcc", f"csv:{csv}", seeds=2, train_fraction=0.01, protocol="knn", results_dir=results)
    # 18 training clips, 9 per class: 1% asks for 0.09 clips per class, the minimum keeps 1 each
    assert {(s["extra"]["n_train"], s["extra"]["n_train_full"]) for s in tiny["scores"]} == {(2, 18)}
    assert {s["extra"]["fraction_used"] for s in tiny["scores"]} == {2 / 18}
    run_bench("mfcc", f"csv:{csv}", seeds=2, train_fraction=0.5, protocol="knn", results_dir=results)
    table = render_fractions(results)
    # 50%: 4.5 clips per class round to 5, so 10 of 18 (rounding shows too)
    assert "| 1% (used 11.1%) " in table and "| 50% (used 55.6%) " in table
    assert "actually trained on" in table
    (figure,) = write_plots(results, tmp_path / "fig", fmt="svg", kind="fractions")
    assert "used 11.1%" in figure.read_text()
