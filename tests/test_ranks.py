"""Ranks across tasks (Friedman ranks, Iman-Davenport, Holm-corrected sign tests, shared ranks, the
diagram) and Holm-corrected multiple comparisons."""
import math

import numpy as np
import pytest
from click.testing import CliRunner

from _report_runs import write_run
from benchmark.core.errors import BenchError
from benchmark.report.multicompare import compare_many
from benchmark.stats.scores import holm
from benchmark.stats.ranks import describe, min_tasks, rank
from benchmark.report.ranks import from_records
from benchmark.records.query import load_records


def test_known_ranks_friedman_and_iman_davenport():
    # A beats B beats C on every one of 4 tasks
    scores = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4], [0.95, 0.9, 0.1], [0.7, 0.69, 0.68]])
    result = rank(scores, ["A", "B", "C"], ["t1", "t2", "t3", "t4"])
    assert result.average.tolist() == [1.0, 2.0, 3.0]
    # chi2_F = 12N / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4) = 4 * (14 - 12) = 8 = N(k-1): perfect agreement, F infinite
    assert result.friedman == pytest.approx(8.0) and result.f_statistic == math.inf and result.p_value == 0.0
    # 4 tasks cannot separate 3 systems after Holm (7 needed): every one shares rank 1, and it says so
    assert result.too_few_tasks and result.rank.tolist() == [1, 1, 1] and result.groups() == [(0, 2)]
    assert "Too few tasks" in describe(result)


def test_iman_davenport_matches_its_formula_and_scipy():
    from scipy.stats import f as f_dist, friedmanchisquare

    rng = np.random.default_rng(3)
    scores = rng.random((9, 4)) + np.array([0.0, 0.1, 0.2, 0.3])
    result = rank(scores, list("ABCD"), [f"t{i}" for i in range(9)])
    chi2 = friedmanchisquare(*scores.T).statistic
    f_stat = 8 * chi2 / (9 * 3 - chi2)
    assert result.friedman == pytest.approx(chi2) and result.f_statistic == pytest.approx(f_stat)
    assert result.df == (3, 24) and result.p_value == pytest.approx(f_dist.sf(f_stat, 3, 24))


#: autorank 1.3.0 (Herbold 2020) on the scores below: autorank(DataFrame(scores, columns=list("ABCD")),
#: alpha=0.05, order="descending", force_mode="nonparametric"): omnibus "friedman", these mean ranks and
#: p-value. Recorded rather than imported: autorank and baycomp install a top-level package named
#: ``tests`` that shadows this folder (a namespace package), so they are not in the dev extra.
AUTORANK = {"meanrank": {"A": 2.3333333333333335, "B": 1.75, "C": 2.6666666666666665, "D": 3.25},
            "pvalue": 0.036733114668589355}


def test_cross_check_with_autorank():
    from scipy.stats import chi2 as chi2_dist

    rng = np.random.default_rng(7)
    scores = rng.random((12, 4)) + np.array([0.3, 0.2, 0.1, 0.0])
    ours = rank(scores, list("ABCD"), [f"t{i}" for i in range(12)])
    assert dict(zip("ABCD", ours.average)) == pytest.approx(AUTORANK["meanrank"])  # rank 1 = best in both
    assert chi2_dist.sf(ours.friedman, 3) == pytest.approx(AUTORANK["pvalue"])
    try:
        import autorank
        import pandas as pd
    except ImportError:
        return
    theirs = autorank.autorank(pd.DataFrame(scores, columns=list("ABCD")), alpha=0.05, verbose=False,
                               order="descending", force_mode="nonparametric")
    assert {s: theirs.rankdf.loc[s, "meanrank"] for s in "ABCD"} == pytest.approx(AUTORANK["meanrank"])
    assert theirs.pvalue == pytest.approx(AUTORANK["pvalue"])


def test_ties_share_ranks_and_min_tasks():
    result = rank(np.array([[0.5, 0.5, 0.1], [0.9, 0.3, 0.3]]), ["A", "B", "C"], ["t1", "t2"])
    assert result.ranks.tolist() == [[1.5, 1.5, 3.0], [1.0, 2.5, 2.5]]
    # two-sided sign test: min p = 2/2^n; Holm's first step needs m * p < 0.05 (m pairs)
    assert [min_tasks(k) for k in (2, 3, 5, 10)] == [6, 7, 9, 11]
    two = rank(np.array([[0.5, 0.4]]), ["A", "B"], ["t"])
    assert two.p_value is None and two.rank.tolist() == [1, 1]


def test_a_nan_score_leaves_the_others_finite_by_the_stated_rule():
    scores = np.array([[0.9, 0.8, 0.7], [0.6, np.nan, 0.4], [0.95, 0.9, 0.1], [0.7, 0.69, 0.68]])
    by_task = rank(scores, ["A", "B", "C"], ["t1", "t2", "t3", "t4"])  # default: leave out the task
    assert by_task.tasks == ["t1", "t3", "t4"] and by_task.average.tolist() == [1.0, 2.0, 3.0]
    assert np.isfinite(by_task.friedman) and by_task.left_out == ["t2 (no score: B)"]
    assert "Left out (tasks where some system has no finite score are left out): t2 (no score: B)" in describe(by_task)
    by_system = rank(scores, ["A", "B", "C"], ["t1", "t2", "t3", "t4"], gaps="systems")
    assert by_system.systems == ["A", "C"] and by_system.average.tolist() == [1.0, 2.0]
    assert by_system.left_out == ["B (no score on t2)"]


def _simulated(n_tasks: int, seed: int) -> np.ndarray:
    """Tasks on different scales (accuracy-like, AUC-like, r2-like): A and B equally good, C worse."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.9, n_tasks)[:, None]
    scale = rng.choice([1.0, 0.1, 5.0], n_tasks)[:, None]
    noise = rng.normal(0, 0.01, (n_tasks, 3))
    return (base + np.array([0.0, 0.0, -0.1]) + noise) * scale


def test_equally_good_systems_share_a_rank_and_a_clearly_worse_one_does_not():
    result = rank(_simulated(20, 0), ["A", "B", "C"], [f"t{i}" for i in range(20)])
    assert not result.too_few_tasks and result.rank.tolist() == [1, 1, 3]
    assert result.groups() == [(0, 1)]  # a bar joins A and B only
    assert "Significant pairs: A > C" in describe(result) and "B > C" in describe(result)


def test_the_pairwise_test_is_the_holm_corrected_sign_test():
    from scipy.stats import binomtest

    scores = _simulated(15, 1)
    result = rank(scores, ["A", "B", "C"], [f"t{i}" for i in range(15)])
    raw = []
    for a, b in ((0, 1), (0, 2), (1, 2)):
        wins = int((scores[:, a] > scores[:, b]).sum())
        raw.append(binomtest(wins, 15).pvalue)
    assert [p.p_value for p in result.pairs] == pytest.approx(raw)
    assert [p.p_holm for p in result.pairs] == pytest.approx(holm(raw))


def test_from_records_uses_tasks_every_embedder_finished(tmp_path):
    root = tmp_path / "results"
    for task, levels in {"us8k": (0.8, 0.7, 0.6), "gtzan": (0.7, 0.75, 0.5), "nsynth": (0.9, 0.6, 0.3)}.items():
        for emb, level in zip(("coala", "musicnn", "mfcc"), levels):
            write_run(root, task, emb, level)
    write_run(root, "esc50", "coala", 0.9)  # not every embedder: left out
    result = from_records(load_records(root))
    assert result.tasks == ["gtzan", "nsynth", "us8k"] and result.left_out == ["esc50 (no score: mfcc, musicnn)"]
    assert dict(zip(result.systems, result.average)) == pytest.approx({"coala": 4 / 3, "musicnn": 5 / 3, "mfcc": 3.0})
    with pytest.raises(BenchError, match="at least 2 embedders"):
        from_records(load_records(root), embedders=["coala", "nobody"])
    apart = tmp_path / "apart"
    write_run(apart, "us8k", "coala", 0.8)
    write_run(apart, "gtzan", "mfcc", 0.6)
    with pytest.raises(BenchError, match="No task has finished runs of every embedder"):
        from_records(load_records(apart))


def test_cli_plot_ranks_and_report_section(tmp_path):
    import cli
    from benchmark.report import render as report

    root = tmp_path / "results"
    for task in ("us8k", "gtzan", "nsynth"):
        for emb, level in (("coala", 0.8), ("musicnn", 0.7), ("mfcc", 0.6)):
            write_run(root, task, emb, level)
    out = CliRunner().invoke(cli.cli, ["plot", "--ranks", "--results-dir", str(root), "-f", "svg", "-o", str(tmp_path / "f")])
    assert out.exit_code == 0, out.output
    svg = (tmp_path / "f" / "ranks.svg").read_text()
    assert "coala (1.00, rank 1)" in svg and "mfcc (3.00, rank 1)" in svg and "too few tasks" in svg and "CD =" not in svg
    assert "chi2 = 6.000" in out.output and "Iman-Davenport" in out.output  # 3 tasks, perfect agreement
    assert "Too few tasks" in out.output and "unit: tasks" in out.output
    page = report.write_site(root, tmp_path / "site").read_text()
    assert "Ranks across tasks" in page and "ranks.png" in page and "Iman-Davenport" in page


def test_holm_adjustment_known_values():
    # p = (0.01, 0.04, 0.03, 0.005), m = 4 → sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 with the running max
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == []


def test_compare_three_embedders_is_holm_corrected(tmp_path):
    import cli

    root = tmp_path / "results"
    for emb, level in (("coala", 0.80), ("musicnn", 0.70), ("mfcc", 0.699)):
        write_run(root, "us8k", emb, level)
    results = compare_many(root, "us8k", ["coala", "musicnn", "mfcc"])
    assert [(r["embedder_a"], r["embedder_b"]) for r in results] == [("coala", "musicnn"), ("coala", "mfcc"), ("musicnn", "mfcc")]
    assert all(r["p_holm"] >= r["p_value"] for r in results)
    assert results[0]["p_holm"] < 0.05 and results[2]["p_holm"] >= results[2]["p_value"]
    out = CliRunner().invoke(cli.cli, ["compare", "coala", "musicnn", "mfcc", "-t", "us8k", "--results-dir", str(root)])
    assert out.exit_code == 0, out.output
    assert "3 pairwise comparisons" in out.output and "Holm p =" in out.output and "coala is better" in out.output
    two = CliRunner().invoke(cli.cli, ["compare", "coala", "mfcc", "-t", "us8k", "--results-dir", str(root)])
    assert two.exit_code == 0 and "Holm" not in two.output


def test_rank_tier_calibration_rows_fast():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "calibration_ranks.py"
    spec = importlib.util.spec_from_file_location("calibration_ranks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = {r["quantity"]: r for r in module.rank_tier_rows(n_sims=60, seed=1)}
    assert all({"scenario", "quantity", "value", "goal"} <= set(r) for r in rows.values())
    family = next(r for q, r in rows.items() if q.startswith("family-wise error"))
    assert family["value"] <= 0.1  # the full run (2,000 simulations) is in the README
    assert rows["A and B share rank 1"]["value"] >= 0.9
    assert rows["power: ranks exactly 1, 1, 3, 3"]["value"] >= 0.7
