"""Summaries over seeds, the paired bootstrap test, and ``bench compare`` on two stored runs."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from benchmark import stats
from benchmark.compare import compare
from benchmark.errors import BenchError


def _scores(values: dict[tuple[str, int], float], metric="accuracy") -> list[dict]:
    return [{"split": sp, "seed": seed, "metrics": {metric: v}, "extra": {}} for (sp, seed), v in values.items()]


def test_summary_is_mean_over_splits_then_t_interval_over_seeds():
    rng = np.random.default_rng(0)
    table = {(f"fold{k}", s): float(rng.uniform(0.6, 0.8)) for k in range(1, 4) for s in range(5)}
    summary = stats.summarize(_scores(table), ["accuracy"])["accuracy"]
    per_seed = [np.mean([table[(f"fold{k}", s)] for k in range(1, 4)]) for s in range(5)]
    assert summary["per_seed"] == pytest.approx(per_seed)
    assert summary["mean"] == pytest.approx(np.mean(per_seed))
    assert summary["std"] == pytest.approx(np.std(per_seed, ddof=1))
    half = sps.t.ppf(0.975, 4) * np.std(per_seed, ddof=1) / np.sqrt(5)
    assert summary["ci95"] == pytest.approx([np.mean(per_seed) - half, np.mean(per_seed) + half])
    assert summary["ci_method"] == stats.CI_METHOD and summary["n_seeds"] == 5 and summary["n_splits"] == 3


def test_summary_leaves_out_seeds_missing_a_split():
    table = {("a", 0): 0.5, ("b", 0): 0.7, ("a", 1): 0.9}
    summary = stats.summarize(_scores(table), ["accuracy"])["accuracy"]
    assert summary["n_seeds"] == 1 and summary["incomplete_seeds"] == 1
    assert summary["mean"] == pytest.approx(0.6) and summary["ci95"] is None  # one seed: no interval


def _record(values, name="x", metric="accuracy"):
    return {"embedder": {"name": name}, "task": {"name": "demo", "metrics": [metric]}, "protocol": {"name": "coala"},
            "scores": _scores(values, metric)}


def test_paired_test_sees_a_consistent_small_gain_and_not_noise():
    rng = np.random.default_rng(1)
    base = {(f"f{k}", s): float(rng.uniform(0.5, 0.9)) for k in range(5) for s in range(10)}
    better = {key: v + 0.01 + rng.normal(0, 0.002) for key, v in base.items()}
    result = stats.paired_test(_record(better), _record(base), "accuracy")
    assert result["n_pairs"] == 50 and result["diff"] == pytest.approx(0.01, abs=0.002)
    assert result["ci95"][0] > 0 and result["p_value"] < 0.001
    noisy = {key: v + rng.normal(0, 0.02) for key, v in base.items()}
    result = stats.paired_test(_record(noisy), _record(base), "accuracy")
    assert result["ci95"][0] < 0 < result["ci95"][1] and result["p_value"] > 0.05
    same = stats.paired_test(_record(base), _record(base), "accuracy")
    assert same["diff"] == 0 and same["p_value"] == 1.0
    again = stats.paired_test(_record(noisy), _record(base), "accuracy")
    assert again == result


def test_paired_test_uses_only_matching_pairs_and_explains_mismatches():
    a = _record({("f1", 0): 0.8, ("f1", 1): 0.7, ("f2", 0): 0.6})
    b = _record({("f1", 0): 0.7, ("f2", 0): 0.5, ("f3", 0): 0.1})
    assert stats.paired_test(a, b, "accuracy")["n_pairs"] == 2
    with pytest.raises(BenchError, match="share no"):
        stats.paired_test(a, _record({("g", 9): 0.5}), "accuracy")
    with pytest.raises(BenchError, match="its metrics are: accuracy"):
        stats.paired_test(a, b, "roc_auc")


def _store_two_runs(root):
    from benchmark.results import ResultsStore, new_record

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
    assert "difference (A - B): +5." in text and "good is better" in text and "50 matching (split, seed) pairs" in text
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


def test_one_pair_is_too_few_to_claim_anything(tmp_path):
    """Issue 14 item 6: one split and one seed printed p = 0.0002 and a verdict."""
    from benchmark.compare import format_comparison, compare_records

    a, b = _record({("test", 0): 0.9}, "mfcc"), _record({("test", 0): 0.5}, "other")
    result = stats.paired_test(a, b, "accuracy")
    assert result["status"] == stats.TOO_FEW and result["p_value"] is None and result["min_p_value"] == 1.0
    text = format_comparison(compare_records(a, b))
    assert "too few (split, seed) pairs to test" in text and "is better" not in text and "p = " not in text


@pytest.mark.parametrize("n", range(1, 9))
def test_p_value_never_below_what_n_pairs_allow(n):
    """Every pair in favour of A: the exact test gives exactly 2/2^n, and a verdict only from
    min_pairs(0.05) = 6 pairs on."""
    a = _record({("s", k): 0.8 + 0.01 * k for k in range(n)})
    b = _record({("s", k): 0.5 for k in range(n)})
    result = stats.paired_test(a, b, "accuracy")
    assert stats.min_pairs(0.05) == 6
    if n < 6:
        assert result["status"] == stats.TOO_FEW and result["p_value"] is None
    else:
        assert result["status"] == stats.TESTED and result["p_value"] == pytest.approx(2 / 2 ** n)
        assert result["p_value"] >= stats.min_p_value(n)


def test_many_pairs_use_random_sign_patterns_bounded_below():
    rng = np.random.default_rng(3)
    base = {(f"f{k}", s): float(rng.uniform(0.5, 0.9)) for k in range(4) for s in range(5)}  # 20 pairs > 16
    better = {key: v + 0.05 for key, v in base.items()}
    result = stats.paired_test(_record(better), _record(base), "accuracy")
    assert result["p_value"] == pytest.approx(1 / (stats.N_FLIPS + 1))


def test_nan_differences_are_not_comparable():
    """Issue 14 item 6: a run against itself on a NaN metric printed 'mfcc is better'."""
    from benchmark.compare import format_comparison, compare_records

    values = {(f"f{k}", s): (float("nan") if s == 0 else 0.7) for k in range(3) for s in range(4)}
    a, b = _record(values, "mfcc"), _record(values, "mfcc")
    result = stats.paired_test(a, b, "accuracy")
    assert result["status"] == stats.NOT_COMPARABLE and result["p_value"] is None and result["n_nan"] == 3
    text = format_comparison(compare_records(a, b))
    assert "not comparable" in text and "is better" not in text and "nan" not in text.split("verdict")[1]


def test_table_marks_cells_it_cannot_test(tmp_path):
    """The † marks use the same test: a one-seed, one-split run gets ‡ (untested) and no p-value,
    not silence (which reads as 'significantly worse')."""
    from _report_runs import write_run
    from benchmark import report

    write_run(tmp_path, "gtzan", "mfcc", 0.70, seeds=1)
    write_run(tmp_path, "gtzan", "coala", 0.75, seeds=1)
    table = report.build_tables(tmp_path, tasks=["gtzan"])[0]
    cells = {r.label: r.cells[0] for r in table.rows}
    assert cells["mfcc"].p_value is None and not cells["mfcc"].not_significant
    assert cells["mfcc"].untested.startswith("too few (split, seed) pairs to test (1;")
    text = report.render_tables([table])
    assert "‡" in text and any("too few" in n for n in table.notes)


def test_interval_stays_in_the_metric_range_and_says_so():
    """Issue 14 item 9: two seeds gave an accuracy CI of [-14.2, 197.6]."""
    summary = stats.summarize(_scores({("test", 0): 0.3, ("test", 1): 0.9}), ["accuracy"])["accuracy"]
    assert summary["ci95"] == [0.0, 1.0] and summary["ci_clipped"] is True
    assert "clipped to the metric's range [0, 1]" in summary["ci_method"]
    r2 = stats.summarize(_scores({("test", 0): -0.5, ("test", 1): 0.95}, "r2"), ["r2"])["r2"]
    assert r2["ci95"][1] == 1.0 and r2["ci95"][0] < -0.5 and r2["ci_clipped"]  # r2 has no lower bound
    inside = stats.summarize(_scores({("test", s): 0.5 + 0.01 * s for s in range(5)}), ["accuracy"])["accuracy"]
    assert inside["ci_clipped"] is False and inside["ci_method"] == stats.CI_METHOD


def _summary_record(summary, metric="accuracy"):
    return {"task": {"name": "demo"}, "embedder": {"name": "mfcc"}, "protocol": {"name": "coala"},
            "summary": {metric: summary}, "seeds": [0], "skipped": {"count": 0}}


def test_printed_interval_is_na_for_one_seed_and_names_its_method():
    from benchmark.results import format_summary

    one = stats.summarize(_scores({("test", 0): 0.833}), ["accuracy"])["accuracy"]
    assert one["ci95"] is None and one["ci_method"] == "n/a (1 seed)"
    text = format_summary(_summary_record(one))
    assert "n/a (1 seed)" in text and "[83.3, 83.3]" not in text
    assert "95% CI: Student t over seeds" in text
    # an older record: a [m, m] "interval" from one seed, and an unclipped one, are not shown as such
    old = {"mean": 0.833, "std": 0.0, "ci95": [0.833, 0.833], "ci_method": "none (1 seed)", "n_seeds": 1}
    assert "n/a (1 seed)" in format_summary(_summary_record(old))
    wide = {"mean": 0.917, "std": 0.1, "ci95": [-0.142, 1.976], "ci_method": "student_t_95_over_seeds", "n_seeds": 2}
    text = format_summary(_summary_record(wide))
    assert "[0.0, 100.0] (clipped to the metric's range)" in text and "197.6" not in text


def test_table_legend_and_csv_name_the_interval_method(tmp_path):
    import csv
    import io

    from _report_runs import write_run
    from benchmark import report

    import json

    record = write_run(tmp_path, "gtzan", "mfcc", 0.95, seeds=2, spread=0.2)
    record["summary"]["accuracy"]["ci95"] = [-0.142, 1.976]  # as an older record holds it
    path = tmp_path / "runs" / "gtzan" / "mfcc" / f"coala-{record['run_key'][:12]}.json"
    path.write_text(json.dumps(record))
    write_run(tmp_path, "gtzan", "coala", 0.9, seeds=1)
    assert "95% CIs (CSV, JSON, report pages): Student t over seeds" in report.render_table(tmp_path, tasks=["gtzan"])
    rows = {r["embedder"]: r for r in csv.DictReader(io.StringIO(report.render_table(tmp_path, "csv")))}
    assert float(rows["mfcc"]["ci95_high"]) <= 100.0
    assert rows["coala"]["ci95_low"] == "" and rows["coala"]["ci95_high"] == ""
