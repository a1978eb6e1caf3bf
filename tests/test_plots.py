"""Figures: every kind in PNG and SVG, reported values marked, deterministic output, user errors."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from _report_runs import write_run
from benchmark.report import plots
from benchmark.core.errors import BenchError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "results"
    write_run(root, "us8k", "mfcc", 0.66, dim=120, clips_per_s=400)
    write_run(root, "us8k", "coala", 0.72, dim=1152, clips_per_s=40)
    write_run(root, "us8k", "mfcc", 0.60, protocol="linear", dim=120, clips_per_s=400)
    write_run(root, "demo", "mfcc", 0.70, dim=120, clips_per_s=500)
    write_run(root, "demo", "coala", 0.8, status="running", seeds=2)  # not finished: not plotted
    return root


def test_entries_hold_means_cis_and_labels(runs):
    points = plots.entries(plots.rec.load_records(runs))
    labels = {(p["task"], p["label"]) for p in points}
    assert labels == {("us8k", "mfcc [coala]"), ("us8k", "mfcc [linear]"), ("us8k", "coala"), ("demo", "mfcc [coala]")}
    for p in points:
        assert p["low"] < p["mean"] < p["high"]
    assert {p["dim"] for p in points} == {120, 1152}


def test_all_kinds_png(runs, tmp_path):
    paths = plots.write_plots(runs, tmp_path / "figs")
    names = sorted(p.name for p in paths)
    # ranks: us8k is the one task where all three systems finished
    assert names == ["bars-demo.png", "bars-us8k.png", "heatmap.png", "ranks.png", "score-vs-dim.png",
                     "score-vs-throughput.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5000


def _texts(svg_path):
    root = ET.parse(svg_path).getroot()
    assert root.tag.endswith("svg")
    # matplotlib draws text as paths and keeps each string in a comment beside them
    return svg_path.read_text()


def test_bars_mark_the_reported_value_only_under_the_papers_protocol(runs, tmp_path):
    points = plots.entries(plots.rec.load_records(runs))
    path = plots.task_bars(points, "us8k", tmp_path / "us8k.svg")
    svg = _texts(path)
    assert "reported" in svg and "ours (95% CI)" in svg
    fig_points = [p for p in points if p["task"] == "us8k"]
    marked = {p["label"]: plots.reported_for(p["embedder"], "us8k", p["metric"], protocol=p["protocol"]) for p in fig_points}
    assert {(r.source, r.value) for r in marked["mfcc [coala]"]} == {("favory2020coala", 65.8), ("favory2021contextual", 65.8)}
    assert {r.value for r in marked["coala"]} == {72.7}  # "AE-C (COALA)" and the contextual paper's "COALA"
    assert marked["mfcc [linear]"] == []
    demo = plots.task_bars(points, "demo", tmp_path / "demo.svg").read_text()
    assert "reported" not in demo  # nothing published for the demo task


def test_svg_is_deterministic(runs, tmp_path):
    first = plots.write_plots(runs, tmp_path / "a", fmt="svg", kind="heatmap")[0].read_bytes()
    second = plots.write_plots(runs, tmp_path / "b", fmt="svg", kind="heatmap")[0].read_bytes()
    assert first == second
    assert b"not run" in first  # demo x coala is still running


def test_user_errors(runs, tmp_path):
    with pytest.raises(BenchError, match="png, svg"):
        plots.write_plots(runs, tmp_path, fmt="jpg")
    with pytest.raises(BenchError, match="heatmap"):
        plots.write_plots(runs, tmp_path, kind="pie")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="bench run"):
        plots.write_plots(tmp_path / "empty", tmp_path / "out")


def test_cli_plot(runs, tmp_path):
    cli = pytest.importorskip("cli")
    if "plot" not in cli.cli.commands:
        pytest.skip("cli has no plot command")
    result = CliRunner().invoke(cli.cli, ["plot", "--results-dir", str(runs), "-k", "bars", "-f", "svg", "-o", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["bars-demo.svg", "bars-us8k.svg"]
