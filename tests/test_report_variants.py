"""`bench report` and `bench plot` with variant runs (issue 19, items 1 and 9): the robustness,
label-efficiency and layer tables are in the report, every figure written is linked from a page,
ranks and figures use plain runs, and no message suggests an option the command lacks."""
from __future__ import annotations


import pytest

from _report_runs import write_run
from benchmark.report import plots, render as report
from helpers import invoke
from test_variant_tables import variant_run


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    for task in ("demo", "us8k", "gtzan"):
        write_run(root, task, "mfcc", 0.5)
        write_run(root, task, "coala", 0.6)
        write_run(root, task, "w2v", 0.55)
    variant_run(root, "demo", "mfcc", 0.3, 1, deform="noise:color=white,snr=0")
    variant_run(root, "demo", "mfcc", 0.4, 2, train_fraction=0.1)
    variant_run(root, "demo", "mfcc", 0.35, 3, train_fraction=0.1, deform="noise:color=white,snr=0")
    variant_run(root, "demo", "hf:x@4", 0.99, 4)  # one layer of a model with no plain run
    variant_run(root, "demo", "hf:x@5", 0.98, 5)
    variant_run(root, "us8k", "w2v", 0.99, 6, train_per_class=5)  # a variant-only cell beside plain ones
    return root


def test_the_report_has_the_variant_tables_and_links_every_figure(results, tmp_path):
    index = report.write_site(results, tmp_path / "site")
    html = index.read_text()
    for anchor in ("robustness", "fractions", "layers"):
        assert f"id='{anchor}'" in html
    assert "coala@10%" in html  # the deformed run on a training subset, a robustness row
    pages = html + "".join(p.read_text() for p in (tmp_path / "site" / "tasks").glob("*.html"))
    written = sorted(p.name for p in (tmp_path / "site" / "figures").iterdir())
    assert any(n.startswith("layers-") for n in written) and any(n.startswith("fractions-") for n in written)
    assert [n for n in written if f"figures/{n}" not in pages] == []
    leaderboard = html.split("<h2>Leaderboard</h2>", 1)[1].split("<h2", 1)[0]
    assert "hf:x@4" not in leaderboard and "99." not in leaderboard and "variant run(s) left out" in leaderboard


def test_ranks_use_plain_runs_when_variants_exist(results, tmp_path):
    index = report.write_site(results, tmp_path / "site")
    ranks = index.read_text().split("id='ranks'", 1)[1].split("<h2", 1)[0]
    assert "Ranks over 3 task(s)" in ranks and "hf:x@4" not in ranks
    code, out = invoke("plot", "--ranks", "--results-dir", results, "-o", tmp_path / "figs")
    assert code == 0 and "Ranks over 3 task(s)" in out and "hf:x@4" not in out


def test_rank_errors_suggest_options_the_commands_have(tmp_path):
    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.5)
    write_run(root, "us8k", "coala", 0.6)  # no common task
    index = report.write_site(root, tmp_path / "site")
    ranks = index.read_text().split("id='ranks'", 1)[1].split("<h2", 1)[0]
    assert "--embedder" not in ranks and "bench run -e coala -e mfcc -t &lt;task&gt;" in ranks
    code, out = invoke("plot", "--ranks", "--results-dir", root, "-o", tmp_path / "figs")
    assert code == 2 and "--embedder" not in out and "bench run -e coala -e mfcc" in out


def test_figures_of_plain_runs_draw_no_variant(results, tmp_path, monkeypatch):
    drawn = {}

    def spy(name):
        real = getattr(plots, name)

        def wrapper(points, *args):
            drawn.setdefault(name, []).extend((p["task"], p["label"], round(p["mean"], 2)) for p in points)
            return real(points, *args)
        monkeypatch.setattr(plots, name, wrapper)

    for name in ("task_bars", "heatmap", "scatter", "layer_curves"):
        spy(name)
    plots.write_plots(results, tmp_path / "figs")
    for name in ("task_bars", "heatmap", "scatter"):
        assert all(m < 0.9 and "@" not in label and "~" not in label for _, label, m in drawn[name]), name
    assert {label for _, label, _ in drawn["layer_curves"]} >= {"hf:x@4", "hf:x@5"}


def test_variant_runs_only_plot_their_own_figures_and_the_report_is_written(tmp_path):
    root = tmp_path / "results"
    variant_run(root, "demo", "mfcc", 0.3, 1, deform="gain:db=-6")
    variant_run(root, "demo", "mfcc", 0.4, 2, train_fraction=0.5)
    written = [p.name for p in plots.write_plots(root, tmp_path / "figs")]
    assert written == ["fractions-demo.png"]
    code, out = invoke("plot", "--kind", "bars", "--results-dir", root, "-o", tmp_path / "figs")
    assert code == 2 and "No plain runs" in out and "--kind fractions" in out
    html = report.write_site(root, tmp_path / "site").read_text()
    assert "id='robustness'" in html and "id='fractions'" in html and "figures/fractions-demo.png" in html
