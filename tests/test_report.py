"""Tables from run records: grid and paper layouts, emphasis, marks, and every text format."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from _report_runs import write_run
from benchmark.report import render as report
from benchmark.core.errors import BenchError, UnknownNameError
from benchmark.records import reference
from benchmark.report.table import grid_table


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.70)
    write_run(root, "demo", "coala", 0.75, skipped=["dog_3", "siren_9"])
    write_run(root, "demo", "w2v-128-1h", 0.60)
    write_run(root, "us8k", "mfcc", 0.66)
    write_run(root, "us8k", "coala", 0.72)
    write_run(root, "us8k-tag", "w2v-128-1h-tags", 0.79)
    write_run(root, "us8k-tag", "w2v-128-4h-tags", 0.80, status="running", seeds=3)
    return root


def _row(text: str, label: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in\n{text}")


def test_published_numbers_load_and_match_the_layouts():
    rows = reference.load_published()
    assert len(rows) == 74
    assert reference.published_path().name == "published.csv"
    by = {(r.source, r.system, r.task, r.metric): r.value for r in rows}
    assert by[("favory2020coala", "AE-C (COALA)", "us8k", "accuracy")] == 72.7
    assert by[("manco2022mulap", "MuLaP", "emomusic", "r2")] == 58.5
    for tables in reference.PAPERS.values():
        for layout in tables:
            reported = layout.reported(rows)
            assert reported, layout.key
            columns = {(c.reported_task, c.metric) for c in layout.columns}
            assert {(r.task, r.metric) for r in reported} <= columns, layout.key


def test_packaged_copy_is_the_shared_one(shared):
    assert reference.published_path().read_bytes() == (shared / "reference" / "published.csv").read_bytes()


def test_grid_markdown_shows_mean_std_seeds_emphasis_and_missing_cells(runs):
    text = report.render_table(runs)
    header = _row(text, "System")
    assert header == ["System", "Source", "demo", "us8k", "us8k-tag", "Average accuracy", "Mean rank", "Rank"]
    coala, mfcc = _row(text, "coala"), _row(text, "mfcc")
    assert re.fullmatch(r"\*\*7[45]\.\d ± 0\.\d \(10\)ˢ\*\*", coala[2])  # best of the column, skipped clips marked
    assert re.fullmatch(r"<u>(69|70)\.\d ± 0\.\d \(10\)</u>", mfcc[2])  # second
    assert re.fullmatch(r"(59|60)\.\d ± 0\.\d \(10\)", _row(text, "w2v-128-1h")[2])  # third: plain
    assert coala[4] == "not run"
    assert re.fullmatch(r"running 30/30: (79|80)\.\d \(3\)", _row(text, "w2v-128-4h-tags")[4])
    assert "coala on demo: 2 clip(s) skipped (dog_3, siren_9)" in text
    assert coala[5].endswith("(2/3)") and coala[6] == coala[7] == ""  # partial rows get no rank


def test_average_and_rank_on_complete_rows(runs):
    text = report.render_table(runs, tasks=["demo", "us8k"], embedders=["mfcc", "coala"])
    coala, mfcc = _row(text, "coala"), _row(text, "mfcc")
    assert coala[5] == "1.00" and mfcc[5] == "2.00"  # mean per-task rank
    # 2 tasks cannot separate two rows (6 needed by the sign test): they share rank 1, and a note says why
    assert coala[6] == mfcc[6] == "1" and "too few tasks: 6 needed" in text
    assert float(coala[4]) == pytest.approx((75 + 72) / 2, abs=0.6)
    assert "w2v" not in text and "us8k-tag" not in text


def test_average_is_per_metric_and_rank_is_per_task(tmp_path):
    # accuracy and ROC-AUC are never averaged together; the rank is the mean of the per-task ranks
    root = tmp_path / "r"
    for task, levels in {"demo": (0.9, 0.5), "us8k": (0.8, 0.7), "mtat": (0.6, 0.95)}.items():
        for emb, level in zip(("coala", "mfcc"), levels):
            write_run(root, task, emb, level)
    text = report.render_table(root)
    header = _row(text, "System")
    assert header[-3:] == ["Average accuracy", "Mean rank", "Rank"] and "Average roc_auc" not in header
    coala, mfcc = _row(text, "coala"), _row(text, "mfcc")
    assert float(coala[-3]) == pytest.approx(85, abs=1) and float(mfcc[-3]) == pytest.approx(60, abs=1)
    # coala wins demo and us8k, loses mtat: ranks (1, 1, 2) and (2, 2, 1); a mixed average would say 78 vs 72
    assert coala[-2] == "1.33" and mfcc[-2] == "1.67"
    # a NaN score leaves that row unranked, the others ranked (rows with a gap are left out)
    nan = write_run(root, "us8k", "w2v", 0.5)
    path = root / "runs" / "us8k" / "w2v" / f"coala-{nan['run_key'][:12]}.json"
    path.write_text(path.read_text().replace(json.dumps(nan["summary"]["accuracy"]["mean"]), "NaN", 1))
    write_run(root, "demo", "w2v", 0.4)
    write_run(root, "mtat", "w2v", 0.4)
    text = report.render_table(root)
    assert _row(text, "w2v")[-2:] == ["", ""] and _row(text, "coala")[-2] == "1.33"


def test_filter_on_an_embedder_without_runs_shows_not_run(runs):
    text = report.render_table(runs, tasks=["demo"], embedders=["mfcc", "coala-ec"])
    assert _row(text, "coala-ec")[2] == "not run"


def test_newest_complete_record_wins_and_protocols_split_rows(tmp_path):
    root = tmp_path / "r"
    write_run(root, "demo", "mfcc", 0.50, finished="2026-01-01T00:00:00")
    write_run(root, "demo", "mfcc", 0.70, finished="2026-02-01T00:00:00", seed_offset=1)
    write_run(root, "demo", "mfcc", 0.90, status="running", seed_offset=2)
    assert re.match(r"\*\*(69|70)\.", _row(report.render_table(root), "mfcc")[2])
    write_run(root, "demo", "mfcc", 0.40, protocol="linear")
    text = report.render_table(root)
    assert re.match(r"\*\*(69|70)\.", _row(text, "mfcc [coala]")[2])
    assert re.match(r"<u>(39|40)\.", _row(text, "mfcc [linear]")[2])


def test_contextual_table_puts_our_tag_rows_beside_the_reported_ones(runs):
    text = report.render_table(runs, paper="contextual")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    labels = [line.strip("|").split("|")[0].strip() for line in lines]
    i = labels.index("w2v-128-1h")
    assert _row(text, "w2v-128-1h")[1:] == ["reported", "71.5", "61.3", "68.9", "79.2"]
    ours = lines[i + 1].strip("|").split("|")
    assert ours[0].strip() == "w2v-128-1h / w2v-128-1h-tags" and ours[1].strip() == "ours"
    assert re.fullmatch(r"\*\*79\.\d ± 0\.\d \(10\)\*\*", ours[5].strip())
    assert ours[3].strip() == "not run"  # GTZAN was not run
    assert _row(text, "w2v-128-4h / w2v-128-4h-tags")[5].startswith("running")
    mfcc = _row(text, "mfcc")
    assert mfcc[1] == "ours" and re.fullmatch(r"<u>(65|66)\.\d ± 0\.\d \(10\)</u>", mfcc[2])
    assert mfcc[5] == "–"  # MFCCs have no tag counterpart
    assert "w2v-128-1h: tag-based classifier" in text


def test_coala_table_maps_system_names(runs):
    write_run(runs, "gtzan", "w2v-128-1h", 0.6)
    text = report.render_table(runs, paper="coala")
    labels = [line.strip("|").split("|")[0].strip() for line in text.splitlines() if line.startswith("|")]
    assert labels[labels.index("AE-C (COALA)") + 1] == "coala"
    assert labels[labels.index("MFCCs") + 1] == "mfcc"
    assert "w2v-128-1h" in labels  # our other embedders on the table's tasks come last
    assert _row(text, "OpenL3")[2:] == ["78.2", "–", "–"]


def test_mulap_tables_use_the_mulap_protocol_and_nsynth_full(tmp_path):
    root = tmp_path / "r"
    write_run(root, "nsynth-full", "mulap", 0.72, protocol="mulap")
    write_run(root, "mtat", "mulap", 0.89, protocol="mulap")
    write_run(root, "mtat", "musicnn-mtat", 0.90, protocol="mulap")
    write_run(root, "mtat", "mfcc", 0.80, protocol="coala")  # other protocol: not in the paper's table
    tables = report.build_tables(root, paper="mulap")
    assert [t.key for t in tables] == ["mulap-1", "mulap-2"]
    text = report.render_tables(tables)
    first, second = text.split("### ")[1:]
    assert _row(first, "mulap")[2].startswith("<u>") and _row(first, "mulap")[3].startswith("<u>")
    assert _row(first, "musicnn-mtat")[2].startswith("**") and _row(first, "mulap")[4] == "not run"
    assert "mfcc" not in text
    assert re.fullmatch(r"\*\*7[123]\.\d ± \d\.\d \(10\)\*\*", _row(second, "mulap")[4])  # the NSynth column is filled by nsynth-full


def test_not_significant_mark_comes_from_the_paired_test(runs, monkeypatch):
    calls = []

    def fake(a, b, metric):
        calls.append((a["embedder"]["name"], b["embedder"]["name"], metric))
        return {"diff": 0.0, "ci95": [0, 0], "p_value": 0.5 if b["embedder"]["name"] == "mfcc" else 0.001,
                "method": "fake", "n_pairs": 10}

    from benchmark.stats import scores

    monkeypatch.setattr(scores, "paired_test", fake)
    tables = report.build_tables(runs, tasks=["demo"])
    text = report.render_tables(tables)
    assert ("coala", "mfcc", "accuracy") in calls and ("coala", "w2v-128-1h", "accuracy") in calls
    assert _row(text, "mfcc")[2].endswith("†</u>")
    assert "†" not in _row(text, "w2v-128-1h")[2]
    cells = {r.label: r.cells[0] for r in tables[0].rows}
    assert cells["mfcc"].p_value == 0.5 and cells["mfcc"].not_significant


def test_real_paired_test_when_present(runs):
    stats = pytest.importorskip("benchmark.stats.scores")
    if not hasattr(stats, "paired_test"):
        pytest.skip("benchmark.stats.scores has no paired_test yet")
    table = grid_table(report.load_records(runs), tasks=["demo"])
    others = [r.cells[0] for r in table.rows if r.cells[0].status == "ok" and not r.cells[0].best]
    assert others and all(c.p_value is not None for c in others)
    assert all(0 <= c.p_value <= 1 for c in others)


def test_csv_is_one_line_per_cell_in_percent(runs):
    rows = list(csv.DictReader(io.StringIO(report.render_table(runs, "csv", paper="contextual"))))
    reported = [r for r in rows if r["source"] == "reported" and r["system"] == "w2v-128-1h" and r["task"] == "us8k-tag"]
    assert reported[0]["mean"] == "79.2"
    ours = [r for r in rows if r["embedder"] == "w2v-128-1h-tags" and r["status"] == "ok"]
    assert len(ours) == 1 and 78 < float(ours[0]["mean"]) < 80 and ours[0]["n_seeds"] == "10"
    assert float(ours[0]["ci95_low"]) < float(ours[0]["mean"]) < float(ours[0]["ci95_high"])
    assert {r["status"] for r in rows} >= {"reported", "absent", "ok", "running", "not run"}


def test_json_round_trips(runs):
    data = json.loads(report.render_table(runs, "json"))
    grid = data["tables"][0]
    assert [c["task"] for c in grid["columns"]] == ["demo", "us8k", "us8k-tag"]
    coala = next(r for r in grid["rows"] if r["label"] == "coala")
    assert coala["cells"][0]["best"] and coala["cells"][0]["skipped"] == 2 and coala["cells"][0]["n_seeds"] == 10
    assert coala["rank"] is None and coala["mean_rank"] is None and 0.7 < coala["averages"]["accuracy"][0] < 0.76


def _check_latex_structure(text: str, n_columns: int) -> None:
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    assert "\\usepackage{booktabs}" in text
    body = text[text.index("\\toprule"):text.index("\\bottomrule")]
    rows = [line for line in body.splitlines() if line.endswith("\\\\")]
    assert all(line.count(" & ") == n_columns - 1 for line in rows)
    assert text.count("\\begin{tabular}") == text.count("\\end{tabular}")
    assert "\\textbf{" in text and "\\underline{" in text
    assert "_" not in text.replace("\\_", "")  # every underscore escaped
    assert "?" not in text and all(ord(ch) < 128 for ch in text)  # every non-ASCII sign translated


def test_latex_structure_and_compiles(runs, tmp_path):
    text = report.render_table(runs, "latex", paper="contextual")
    _check_latex_structure(text, 6)
    assert "\\textit{reported}" in text and "79.2" in text
    grid = report.render_table(runs, "latex", tasks=["demo", "us8k"])
    _check_latex_structure(grid, 7)  # System, Source, 2 tasks, Average accuracy, Mean rank, Rank
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex is not installed: structure checked only")
    for name, source in (("paper", text), ("grid", grid), ("mulap", report.render_table(runs, "latex", paper="mulap"))):
        (tmp_path / f"{name}.tex").write_text(source, encoding="utf-8")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


def test_user_errors_say_what_to_do(runs, tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'contextual'"):
        report.render_table(runs, paper="contextal")
    with pytest.raises(BenchError, match="markdown, latex, csv, json, html"):
        report.render_table(runs, "xlsx")
    with pytest.raises(BenchError, match="bench run"):
        report.render_table(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError, match="No runs"):
        report.render_table(tmp_path / "empty")
    # the published numbers alone need no run
    assert "AE-C (COALA)" in report.render_table(tmp_path / "empty", paper="coala")


def test_cli_table(runs, tmp_path):
    cli = pytest.importorskip("cli")
    if "table" not in cli.cli.commands:
        pytest.skip("cli has no table command")
    result = CliRunner().invoke(cli.cli, ["table", "--results-dir", str(runs), "--paper", "contextual", "-f", "latex",
                                          "-o", str(tmp_path / "t.tex")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.tex").read_text().startswith("\\documentclass")
    result = CliRunner().invoke(cli.cli, ["table", "--results-dir", str(runs), "-t", "demo", "-e", "mfcc"])
    assert result.exit_code == 0 and "| mfcc" in result.output and "coala" not in result.output
    result = CliRunner().invoke(cli.cli, ["table", "--results-dir", str(tmp_path / "none")])
    assert result.exit_code == 2 and "Traceback" not in result.output
