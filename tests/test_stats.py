"""Summaries and paired tests with the split and the test set as the unit (issue 20), and ``bench compare``."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from benchmark.stats import scores as stats
from benchmark.report.compare import compare
from benchmark.core.errors import BenchError


def _scores(values: dict[tuple[str, int], float], metric="accuracy") -> list[dict]:
    return [{"split": sp, "seed": seed, "metrics": {metric: v}, "extra": {}} for (sp, seed), v in values.items()]


def test_summary_keeps_mean_std_over_seeds_and_puts_the_interval_over_folds():
    rng = np.random.default_rng(0)
    table = {(f"fold{k}", s): float(rng.uniform(0.6, 0.8)) for k in range(1, 4) for s in range(5)}
    summary = stats.summarize(_scores(table), ["accuracy"])["accuracy"]
    per_seed = [np.mean([table[(f"fold{k}", s)] for k in range(1, 4)]) for s in range(5)]
    assert summary["per_seed"] == pytest.approx(per_seed)
    assert summary["mean"] == pytest.approx(np.mean(per_seed))
    assert summary["std"] == pytest.approx(np.std(per_seed, ddof=1)) and summary["std_of"] == "seeds"
    fold_means = [np.mean([table[(f"fold{k}", s)] for s in range(5)]) for k in range(1, 4)]
    expected = sps.t.interval(0.95, 2, loc=np.mean(fold_means), scale=sps.sem(fold_means))
    assert summary["ci95"] == pytest.approx(list(expected))
    assert summary["ci_method"] == stats.FOLDS_CI and summary["ci_unit"] == "folds" and summary["ci_n"] == 3
    assert summary["n_seeds"] == 5 and summary["n_splits"] == 3


def test_summary_with_one_seed_on_folds_still_has_an_interval_over_folds():
    table = {(f"f{k}", 0): 0.6 + 0.02 * k for k in range(5)}
    summary = stats.summarize(_scores(table), ["accuracy"])["accuracy"]
    assert summary["n_seeds"] == 1 and summary["ci95"] is not None and stats.ci_kind(summary) == "folds"


def test_summary_without_a_usable_interval_says_why():
    two = stats.summarize(_scores({("a", 0): 0.5, ("b", 0): 0.7, ("a", 1): 0.6, ("b", 1): 0.8}), ["accuracy"])
    assert two["accuracy"]["ci95"] is None and "2 folds" in two["accuracy"]["ci_method"]
    one = stats.summarize(_scores({("test", s): 0.5 + 0.01 * s for s in range(5)}), ["accuracy"])["accuracy"]
    assert one["ci95"] is None and "no per-clip test predictions" in one["ci_method"]
    assert stats.ci_text(one, "accuracy").startswith("n/a (no per-clip test predictions")


def test_summary_leaves_out_seeds_missing_a_split():
    table = {("a", 0): 0.5, ("b", 0): 0.7, ("a", 1): 0.9}
    summary = stats.summarize(_scores(table), ["accuracy"])["accuracy"]
    assert summary["n_seeds"] == 1 and summary["incomplete_seeds"] == 1
    assert summary["mean"] == pytest.approx(0.6) and summary["ci95"] is None


def _record(values, name="x", metric="accuracy", predictions=None, kind="multiclass"):
    record = {"embedder": {"name": name}, "task": {"name": "demo", "metrics": [metric], "kind": kind},
              "protocol": {"name": "coala"}, "scores": _scores(values, metric)}
    if predictions is not None:
        record["_predictions"] = predictions
    return record


def test_kfold_test_is_a_paired_t_over_fold_means_as_scipy_gives_it():
    rng = np.random.default_rng(1)
    fold = rng.normal(0, 0.05, 8)
    a = {(f"f{k}", s): 0.7 + fold[k] + rng.normal(0, 0.01) for k in range(8) for s in range(10)}
    b = {(f"f{k}", s): 0.69 + fold[k] + rng.normal(0, 0.02) for k in range(8) for s in range(10)}
    result = stats.paired_test(_record(a), _record(b), "accuracy")
    ma = [np.mean([a[(f"f{k}", s)] for s in range(10)]) for k in range(8)]
    mb = [np.mean([b[(f"f{k}", s)] for s in range(10)]) for k in range(8)]
    reference = sps.ttest_rel(ma, mb)
    assert result["p_value"] == pytest.approx(reference.pvalue) and result["unit"] == "folds"
    assert result["ci95"] == pytest.approx(list(reference.confidence_interval(0.95)))
    assert result["diff"] == pytest.approx(np.mean(ma) - np.mean(mb))
    # the estimate is the centre of its interval and mean_a - mean_b: one weighting (issue 20 item 7)
    assert result["diff"] == pytest.approx(np.mean(result["ci95"])) and result["diff"] == pytest.approx(
        result["mean_a"] - result["mean_b"])
    assert result["n_units"] == 8 and result["n_pairs"] == 80 and result["warning"] is None


def test_folds_that_favour_either_system_are_not_a_difference():
    """Issue 20: seeds of a split share its clips; counted as pairs, 10 folds x 10 seeds where the folds
    favour A or B at random made equal systems 'different' half of the time."""
    rng = np.random.default_rng(4)
    swing = np.array([0.03, -0.03] * 5)  # each fold favours one system by 3 points, net zero
    a = {(f"f{k}", s): 0.7 + swing[k] + rng.normal(0, 0.005) for k in range(10) for s in range(10)}
    b = {(f"f{k}", s): 0.7 + rng.normal(0, 0.005) for k in range(10) for s in range(10)}
    result = stats.paired_test(_record(a), _record(b), "accuracy")
    assert result["p_value"] > 0.5 and result["ci95"][0] < 0 < result["ci95"][1]


def test_nadeau_bengio_widens_the_fold_interval():
    rng = np.random.default_rng(2)
    a = {(f"f{k}", s): 0.7 + rng.normal(0, 0.02) for k in range(5) for s in range(3)}
    b = {(f"f{k}", s): 0.68 + rng.normal(0, 0.02) for k in range(5) for s in range(3)}
    ra, rb = _record(a), _record(b)
    ra["task"]["splits"] = [{"name": f"f{k}", "n_train": 80, "n_test": 20} for k in range(5)]
    plain = stats.paired_test(ra, rb, "accuracy")
    corrected = stats.paired_test(ra, rb, "accuracy", correction="nadeau-bengio")
    width = lambda r: r["ci95"][1] - r["ci95"][0]  # noqa: E731
    assert width(corrected) == pytest.approx(width(plain) * np.sqrt(1 + 5 * 20 / 80))
    assert corrected["p_value"] > plain["p_value"] and "Nadeau-Bengio" in corrected["method"]
    with pytest.raises(BenchError, match="lacks"):
        stats.paired_test(rb, ra, "accuracy", correction="nadeau-bengio")


def test_two_folds_give_no_p_value_and_few_folds_warn():
    from benchmark.report.compare import compare_records, format_comparison

    two = stats.paired_test(_record({("a", 0): 0.9, ("b", 0): 0.8}), _record({("a", 0): 0.5, ("b", 0): 0.4}), "accuracy")
    assert two["status"] == stats.TOO_FEW and two["p_value"] is None and "one degree of freedom" in two["reason"]
    a = _record({(f"f{k}", 0): 0.8 + 0.01 * k for k in range(3)}, "A")
    b = _record({(f"f{k}", 0): 0.5 for k in range(3)}, "B")
    three = stats.paired_test(a, b, "accuracy")
    assert three["status"] == stats.TESTED and "little power" in three["warning"]
    text = format_comparison(compare_records(a, b))
    assert "warning: only 3 folds" in text and "over 3 folds" in text


def test_one_split_without_predictions_claims_no_significance():
    """Issue 14 item 6 and issue 20: an older one-split record supports no verdict."""
    from benchmark.report.compare import compare_records, format_comparison

    a = _record({("test", s): 0.9 + 0.001 * s for s in range(10)}, "mfcc")
    b = _record({("test", s): 0.5 for s in range(10)}, "other")
    result = stats.paired_test(a, b, "accuracy")
    assert result["status"] == stats.SEEDS_ONLY and result["p_value"] is None and result["ci95"] is None
    text = format_comparison(compare_records(a, b))
    assert "only probe-seed noise can be assessed" in text and "is better" not in text and "p = " not in text


def _predictions(rng, n, shift, seeds=5, k=3):
    truth = rng.integers(0, k, n)
    scores = rng.normal(size=(seeds, n, k)) + shift * np.eye(k)[truth][None]
    return truth, {"test": {"ids": np.array([f"c{i}" for i in range(n)]), "truth": truth,
                            "seeds": np.arange(seeds), "scores": scores.astype(np.float16)}}


def test_one_split_paired_bootstrap_over_clips_agrees_with_scipy():
    """Accuracy averaged over seeds is the mean over clips of each clip's share of correct seeds, so
    scipy's paired percentile bootstrap of that difference is the same interval up to resampling noise."""
    rng = np.random.default_rng(3)
    truth, pa = _predictions(rng, 400, 1.5)
    pb = {"test": {**pa["test"], "scores": (pa["test"]["scores"].astype(np.float32)
                                            + rng.normal(0, 1.2, pa["test"]["scores"].shape)).astype(np.float16)}}
    a = _record({("test", s): 0.7 for s in range(5)}, "A", predictions=pa)
    b = _record({("test", s): 0.6 for s in range(5)}, "B", predictions=pb)
    result = stats.paired_test(a, b, "accuracy")
    ca = (pa["test"]["scores"].argmax(2) == truth).mean(0)
    cb = (pb["test"]["scores"].argmax(2) == truth).mean(0)
    assert result["diff"] == pytest.approx(ca.mean() - cb.mean()) and result["unit"] == "test clips"
    assert result["mean_a"] == pytest.approx(ca.mean()) and result["n_units"] == 400
    ref = sps.bootstrap((ca, cb), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), paired=True, vectorized=True,
                        n_resamples=4000, method="percentile", random_state=np.random.default_rng(0))
    assert result["ci95"] == pytest.approx([ref.confidence_interval.low, ref.confidence_interval.high], abs=0.006)
    assert stats.significant(result["p_value"]) == (not result["ci95"][0] <= 0 <= result["ci95"][1])
    same = stats.paired_test(a, _record({("test", s): 0.7 for s in range(5)}, "A2", predictions=pa), "accuracy")
    assert same["diff"] == 0 and same["ci95"] == [0.0, 0.0] and same["p_value"] == 1.0


def test_one_split_headline_interval_is_a_bootstrap_over_clips():
    rng = np.random.default_rng(5)
    truth, pa = _predictions(rng, 300, 1.0)
    scores = [{"split": "test", "seed": s, "metrics": {"accuracy": 0.5}} for s in range(5)]
    summary = stats.summarize(scores, ["accuracy"], pa, "multiclass")["accuracy"]
    share = (pa["test"]["scores"].argmax(2) == truth).mean(0)
    assert stats.ci_kind(summary) == "test clips" and summary["ci_n"] == 300
    low, high = summary["ci95"]
    se = share.std(ddof=1) / np.sqrt(300)
    assert low == pytest.approx(share.mean() - 1.96 * se, abs=0.01)
    assert high == pytest.approx(share.mean() + 1.96 * se, abs=0.01)


def test_one_rule_p_below_alpha():
    assert stats.significant(0.049) and not stats.significant(0.05) and not stats.significant(None)
    assert not stats.significant(float("nan"))


def test_paired_test_uses_only_matching_pairs_and_explains_mismatches():
    a = _record({("f1", 0): 0.8, ("f1", 1): 0.7, ("f2", 0): 0.6})
    b = _record({("f1", 0): 0.7, ("f2", 0): 0.5, ("f3", 0): 0.1})
    assert stats.paired_test(a, b, "accuracy")["n_pairs"] == 2
    with pytest.raises(BenchError, match="share no"):
        stats.paired_test(a, _record({("g", 9): 0.5}), "accuracy")
    with pytest.raises(BenchError, match="its metrics are: accuracy"):
        stats.paired_test(a, b, "roc_auc")


def _store_two_runs(root):
    from benchmark.records.results import ResultsStore, new_record

    store = ResultsStore(root)
    rng = np.random.default_rng(2)
    for name, shift in (("good", 0.05), ("plain", 0.0)):
        record = new_record(f"key-{name}-0123456789", {"name": name, "config": {}, "dim": 8},
                            {"name": "demo", "dataset": "demo", "kind": "multiclass", "metrics": ["accuracy"]},
                            {"name": "coala"}, range(10), "cache")
        record["scores"] = _scores({(f"fold{k}", s): 0.7 + shift + float(rng.normal(0, 0.01))
                                    for k in range(1, 6) for s in range(10)})
        record["summary"] = stats.summarize(record["scores"], ["accuracy"])
        record.update(status="complete", finished=f"2026-01-0{1 if shift else 2}T00:00:00+00:00")
        store.save(record)


def test_bench_compare_on_two_stored_runs(tmp_path):
    _store_two_runs(tmp_path)
    text = compare(tmp_path, "demo", "good", "plain")
    assert "difference (A - B): +5." in text and "good is better" in text and "over 5 folds (50 matching" in text
    assert "its folds taken as draws" in text and "paired t over the per-fold mean differences" in text
    with pytest.raises(BenchError, match="bench run --embedder missing --task demo"):
        compare(tmp_path, "demo", "good", "missing")


def test_bench_compare_command(tmp_path):
    from cli import cli

    _store_two_runs(tmp_path)
    result = CliRunner().invoke(cli, ["compare", "plain", "good", "--task", "demo", "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "difference (A - B): -5." in result.output
    result = CliRunner().invoke(cli, ["compare", "plain", "good", "--task", "demo", "--metric", "r2",
                                      "--results-dir", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "no 'r2' scores" in result.output


def test_nan_differences_are_not_comparable():
    """Issue 14 item 6: a run against itself on a NaN metric printed 'mfcc is better'."""
    from benchmark.report.compare import format_comparison, compare_records

    values = {(f"f{k}", s): (float("nan") if s == 0 else 0.7) for k in range(3) for s in range(4)}
    a, b = _record(values, "mfcc"), _record(values, "mfcc")
    result = stats.paired_test(a, b, "accuracy")
    assert result["status"] == stats.NOT_COMPARABLE and result["p_value"] is None and result["n_nan"] == 3
    text = format_comparison(compare_records(a, b))
    assert "not comparable" in text and "is better" not in text and "nan" not in text.split("verdict")[1]


def test_table_marks_cells_it_cannot_test(tmp_path):
    """The † marks use the same test: a one-split run without stored predictions gets ‡ (untested)
    and no p-value, not silence (which reads as 'significantly worse')."""
    from _report_runs import write_run
    from benchmark.report import render as report

    write_run(tmp_path, "gtzan", "mfcc", 0.70, seeds=3)
    write_run(tmp_path, "gtzan", "coala", 0.75, seeds=3)
    table = report.build_tables(tmp_path, tasks=["gtzan"])[0]
    cells = {r.label: r.cells[0] for r in table.rows}
    assert cells["mfcc"].p_value is None and not cells["mfcc"].not_significant
    assert "only probe-seed noise can be assessed" in cells["mfcc"].untested
    text = report.render_tables([table])
    assert "‡" in text and any("no stored per-clip test predictions" in n for n in table.notes)


def test_table_emphasis_is_holm_corrected_over_the_column(monkeypatch):
    """Issue 20 item 4: three rows each at p = 0.03 against the best: each alone would be
    'significantly worse'; Holm over the column's three comparisons makes none of them so."""
    from benchmark.report import table as tbl

    def fake_test(best, other, metric):
        return {"p_value": other["p"], "method": "fake", "status": "tested"}

    from benchmark.stats import scores

    monkeypatch.setattr(scores, "paired_test", fake_test)
    cells = [tbl.Cell(status="ok", mean=m, record={"p": p}, embedder=f"e{i}", task="t")
             for i, (m, p) in enumerate([(0.9, None), (0.8, 0.03), (0.7, 0.03), (0.6, 0.001)])]
    table = tbl.Table("k", "t", [tbl.Column("t", "t", "accuracy")],
                      [tbl.Row(f"e{i}", "ours", [c]) for i, c in enumerate(cells)])
    tbl.emphasise(table)
    assert [c.not_significant for c in cells[1:]] == [True, True, False]
    assert cells[1].p_value == 0.03 and cells[1].p_holm == pytest.approx(0.06)
    assert any("Holm-corrected over the column's comparisons" in n for n in table.notes)


def test_interval_stays_in_the_metric_range_and_says_so():
    """Issue 14 item 9: two seeds gave an accuracy CI of [-14.2, 197.6]."""
    summary = stats.summarize(_scores({("f1", 0): 0.3, ("f2", 0): 0.9, ("f3", 0): 0.99}), ["accuracy"])["accuracy"]
    assert summary["ci95"][1] == 1.0 and summary["ci_clipped"] is True
    assert "clipped to the metric's range [0, 1]" in summary["ci_method"]
    r2 = stats.summarize(_scores({("f1", 0): -0.5, ("f2", 0): 0.95, ("f3", 0): 0.9}, "r2"), ["r2"])["r2"]
    assert r2["ci95"][1] == 1.0 and r2["ci95"][0] < -0.5 and r2["ci_clipped"]  # r2 has no lower bound
    inside = stats.summarize(_scores({(f"f{k}", s): 0.5 + 0.01 * k for k in range(3) for s in range(5)}),
                             ["accuracy"])["accuracy"]
    assert inside["ci_clipped"] is False and inside["ci_method"] == stats.FOLDS_CI


def _summary_record(summary, metric="accuracy"):
    return {"task": {"name": "demo"}, "embedder": {"name": "mfcc"}, "protocol": {"name": "coala"},
            "summary": {metric: summary}, "seeds": [0], "skipped": {"count": 0}}


def test_printed_interval_names_its_method_and_unit():
    from benchmark.records.results import format_summary

    one = stats.summarize(_scores({("test", 0): 0.833}), ["accuracy"])["accuracy"]
    assert one["ci95"] is None and one["ci_method"].startswith("n/a (no per-clip test predictions")
    text = format_summary(_summary_record(one))
    assert "n/a (no per-clip" in text and "[83.3, 83.3]" not in text
    assert "mean ± std over seeds" in text and "95% CI over folds (3 or more): Student t" in text
    folds = stats.summarize(_scores({(f"f{k}", 0): 0.6 + 0.01 * k for k in range(4)}), ["accuracy"])["accuracy"]
    assert "| folds " in format_summary(_summary_record(folds))
    # an older record: a [m, m] "interval" from one seed, and an unclipped one, are not shown as such
    old = {"mean": 0.833, "std": 0.0, "ci95": [0.833, 0.833], "ci_method": "none (1 seed)", "n_seeds": 1}
    assert "n/a (1 seed)" in format_summary(_summary_record(old))
    wide = {"mean": 0.917, "std": 0.1, "ci95": [-0.142, 1.976], "ci_method": "student_t_95_over_seeds", "n_seeds": 2}
    text = format_summary(_summary_record(wide))
    assert "[0.0, 100.0] (seed noise only; clipped to the metric's range)" in text and "197.6" not in text
    assert "| seeds " in text  # what the older interval is over


def test_table_legend_and_csv_name_the_interval_method(tmp_path):
    import csv
    import io

    from _report_runs import write_run
    from benchmark.report import render as report

    import json

    record = write_run(tmp_path, "gtzan", "mfcc", 0.95, seeds=2, spread=0.2)
    record["summary"]["accuracy"]["ci95"] = [-0.142, 1.976]  # as an older record holds it
    path = tmp_path / "runs" / "gtzan" / "mfcc" / f"coala-{record['run_key'][:12]}.json"
    path.write_text(json.dumps(record))
    write_run(tmp_path, "gtzan", "coala", 0.9, seeds=1)
    assert "95% CIs (CSV, JSON, report pages): over folds (3 or more): Student t" in report.render_table(
        tmp_path, tasks=["gtzan"])
    rows = {r["embedder"]: r for r in csv.DictReader(io.StringIO(report.render_table(tmp_path, "csv")))}
    assert float(rows["mfcc"]["ci95_high"]) <= 100.0
    assert rows["coala"]["ci95_low"] == "" and rows["coala"]["ci95_high"] == ""
