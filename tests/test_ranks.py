"""Ranks across tasks (Friedman, Nemenyi CD, the diagram) and Holm-corrected multiple comparisons."""
import math

import numpy as np
import pytest
from click.testing import CliRunner

from _report_runs import write_run
from benchmark.errors import BenchError
from benchmark.multicompare import compare_many, holm
from benchmark.ranks import from_records, nemenyi_cd, rank
from benchmark.report import load_records


def test_known_ranks_friedman_and_cd():
    # A beats B beats C on every one of 4 tasks
    scores = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4], [0.95, 0.9, 0.1], [0.7, 0.69, 0.68]])
    result = rank(scores, ["A", "B", "C"], ["t1", "t2", "t3", "t4"])
    assert result.average.tolist() == [1.0, 2.0, 3.0]
    # chi2_F = 12N / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4) = 4 * (14 - 12) = 8, p = exp(-8/2) (2 dof)
    assert result.friedman == pytest.approx(8.0) and result.p_value == pytest.approx(math.exp(-4.0))
    # Demsar 2006, table 5(a): q_0.05 = 2.343 for k = 3
    assert result.cd == pytest.approx(2.343 * math.sqrt(3 * 4 / (6 * 4)), abs=1e-3)
    assert result.cliques() == [(0, 1), (1, 2)]  # neighbours closer than CD = 1.66, A and C are 2 apart


def test_ties_share_ranks_and_cd_table_values():
    result = rank(np.array([[0.5, 0.5, 0.1], [0.9, 0.3, 0.3]]), ["A", "B", "C"], ["t1", "t2"])
    assert result.ranks.tolist() == [[1.5, 1.5, 3.0], [1.0, 2.5, 2.5]]
    assert nemenyi_cd(5, 10) == pytest.approx(2.728 * math.sqrt(30 / 60), abs=1e-3)  # q_0.05 = 2.728, k = 5
    assert nemenyi_cd(10, 14) == pytest.approx(3.164 * math.sqrt(110 / 84), abs=1e-3)
    two = rank(np.array([[0.5, 0.4]]), ["A", "B"], ["t"])
    assert two.p_value is None and two.cd is None and two.cliques() == []


def test_from_records_uses_tasks_every_embedder_finished(tmp_path):
    root = tmp_path / "results"
    for task, levels in {"us8k": (0.8, 0.7, 0.6), "gtzan": (0.7, 0.75, 0.5), "nsynth": (0.9, 0.6, 0.3)}.items():
        for emb, level in zip(("coala", "musicnn", "mfcc"), levels):
            write_run(root, task, emb, level)
    write_run(root, "esc50", "coala", 0.9)  # not every embedder: left out
    result = from_records(load_records(root))
    assert result.tasks == ["gtzan", "nsynth", "us8k"] and result.left_out == ["esc50"]
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
    from benchmark import report

    root = tmp_path / "results"
    for task in ("us8k", "gtzan", "nsynth"):
        for emb, level in (("coala", 0.8), ("musicnn", 0.7), ("mfcc", 0.6)):
            write_run(root, task, emb, level)
    out = CliRunner().invoke(cli.cli, ["plot", "--ranks", "--results-dir", str(root), "-f", "svg", "-o", str(tmp_path / "f")])
    assert out.exit_code == 0, out.output
    svg = (tmp_path / "f" / "ranks.svg").read_text()
    assert "coala (1.00)" in svg and "mfcc (3.00)" in svg and "CD = " in svg
    assert "Friedman chi2 = 6.000" in out.output  # 3 tasks, perfect agreement: 12*3/12 * (14 - 12)
    page = report.write_site(root, tmp_path / "site").read_text()
    assert "Ranks across tasks" in page and "ranks.png" in page and "Friedman chi2" in page


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
