"""A variant run (deformed, training subset, layer) is never shown as the plain run: the default
leaderboard in every format compares plain runs and counts what it left out; each variant is in
its own table under its label (issue 19, item 1)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from _report_runs import write_run
from benchmark.report import render as report
from benchmark.report import robustness_table as robustness
from benchmark.core.errors import BenchError
from benchmark.report.curves import fraction_tables
from benchmark.report.layers import layer_table
from benchmark.report.table import grid_table
from benchmark.records.variants import variant_kinds

#: every kind of variant, as the protocol fields (or the embedder's layer) of its record
VARIANTS = {
    "deformed": {"deform": "noise:color=white,snr=0"},
    "fraction": {"train_fraction": 0.2},
    "per-class": {"train_per_class": 5},
    "fraction+deformed": {"train_fraction": 0.2, "deform": "noise:color=white,snr=0"},
    "layer": {},
}


def variant_run(root: Path, task: str, embedder: str, level: float, offset: int, **protocol) -> dict:
    """A record like ``write_run``'s with variant fields in its protocol."""
    record = write_run(root, task, embedder, level, seed_offset=offset)
    path = next(root.glob(f"runs/{task}/{embedder}/*-{record['run_key'][:12]}.json"))
    record["protocol"].update(protocol)
    path.write_text(json.dumps(record), encoding="utf-8")
    return record


def _store(tmp_path: Path, variant: str, with_plain: bool) -> Path:
    """coala plain on demo and us8k; mfcc: the variant alone (at 0.99, above everything) or beside its plain run."""
    root = tmp_path / "results"
    write_run(root, "demo", "coala", 0.70)
    write_run(root, "us8k", "coala", 0.70)
    if with_plain:
        write_run(root, "demo", "mfcc", 0.50)
        write_run(root, "us8k", "mfcc", 0.50)
    name = "mfcc@4" if variant == "layer" else "mfcc"
    variant_run(root, "demo", name, 0.99, 7, **VARIANTS[variant])
    return root


@pytest.mark.parametrize("with_plain", [False, True], ids=["variant-alone", "beside-plain"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_default_leaderboard_never_shows_a_variant(tmp_path, variant, with_plain):
    root = _store(tmp_path, variant, with_plain)
    table = report.build_tables(root)[0]
    labels = [row.label for row in table.rows]
    assert labels == (["coala", "mfcc"] if with_plain else ["coala"])
    means = [c.mean for row in table.rows for c in row.cells if c.mean is not None]
    assert all(m < 0.9 for m in means), "the variant's 99% stands in a plain row"
    # one task: too few to separate two rows, so they share rank 1; a lone row is not ranked
    assert [row.rank for row in table.rows] == ([1, 1] if with_plain else [None])
    command = {"deformed": "--robustness", "fraction+deformed": "--robustness", "layer": "--layers"}.get(variant, "--fractions")
    for fmt in ("markdown", "latex", "html"):
        text = report.render_table(root, fmt)
        assert "99." not in text and "mfcc@4" not in text
        assert "1 variant run(s) left out" in text and f"bench table {command}" in text, fmt


def test_only_variant_runs_is_an_error_naming_their_tables(tmp_path):
    root = tmp_path / "results"
    variant_run(root, "demo", "mfcc", 0.10, 1, deform="noise:color=white,snr=0")
    variant_run(root, "demo", "mfcc", 0.10, 2, train_per_class=5)
    with pytest.raises(BenchError, match=r"No plain runs.*bench table --robustness.*bench table --fractions"):
        report.render_table(root)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variant_is_in_its_own_table_under_its_label(tmp_path, variant):
    from benchmark.records.query import load_records

    records = load_records(_store(tmp_path, variant, with_plain=True))
    if variant == "layer":
        rows = layer_table(records).rows
        assert [r.label for r in rows] == ["mfcc@4"]
    elif "deform" in VARIANTS[variant]:
        (row,) = robustness.rows(records)
        assert row["deformed"] > 0.9 and row["protocol"] == ("coala@20%" if "train_fraction" in VARIANTS[variant] else "coala")
        if variant == "deformed":
            assert row["clean"] < 0.6  # paired with the plain run
        else:
            assert row["clean"] is None and row["status"] == "no clean run"  # no clean run at 20%: said so
    else:
        (table,) = fraction_tables(records)
        assert [r.label for r in table.rows] == ["mfcc [coala]"]
        assert table.columns[0].label in ("20%", "5/class")


def test_a_deformed_run_on_a_training_subset_pairs_with_the_clean_run_of_that_subset(tmp_path):
    from benchmark.records.query import load_records

    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.90)  # the full-data clean run is not the counterpart
    variant_run(root, "demo", "mfcc", 0.60, 1, train_fraction=0.1)
    variant_run(root, "demo", "mfcc", 0.40, 2, train_fraction=0.1, deform="noise:color=white,snr=0")
    variant_run(root, "demo", "mfcc", 0.30, 3, deform="noise:color=white,snr=0")
    found = {row["protocol"]: row for row in robustness.rows(load_records(root))}
    assert found["coala@10%"]["clean"] == pytest.approx(0.60, abs=0.02)
    assert found["coala@10%"]["deformed"] == pytest.approx(0.40, abs=0.02)
    assert found["coala"]["clean"] == pytest.approx(0.90, abs=0.02)
    text = robustness.render(root)
    assert "coala@10%" in text and "| coala " in text


def test_kinds_of_a_record():
    assert variant_kinds({"protocol": {"name": "coala"}, "embedder": {"name": "mfcc"}}) == []
    assert variant_kinds({"protocol": {"deform": "gain:db=-6", "train_per_class": 3},
                          "embedder": {"name": "hf:x@11"}}) == ["deformed", "training-subset", "layer"]
    assert variant_kinds({"protocol": {}, "embedder": {"name": "user@host"}}) == []  # not a layer number


def test_a_layer_run_under_a_papers_protocol_is_not_a_row_of_the_paper_table(tmp_path):
    root = tmp_path / "results"
    variant_run(root, "us8k", "hf:x@4", 0.99, 1)
    write_run(root, "us8k", "mfcc", 0.5)
    (table,) = [t for t in report.build_tables(root, paper="coala") if any(c.task == "us8k" for c in t.columns)][:1]
    assert "hf:x@4" not in [r.label for r in table.rows]
    assert any("bench table --layers" in n for n in table.notes)


def test_grid_table_keeps_the_kinds_it_is_for(tmp_path):
    from benchmark.records.query import load_records

    records = load_records(_store(tmp_path, "layer", with_plain=True))
    assert "mfcc@4" in [r.label for r in grid_table(records, variants=("layer",)).rows]
    assert "mfcc@4" not in [r.label for r in grid_table(records).rows]


def test_the_grids_table_lists_the_grids_records_only(tmp_path):
    from benchmark.run import grid
    from benchmark.report.runs import grid_table as grid_table_text
    from benchmark.core.spec import RunSpec

    root = tmp_path / "results"
    ran = [write_run(root, "demo", "mfcc", 0.5), write_run(root, "demo", "coala", 0.6),
           variant_run(root, "demo", "mfcc", 0.3, 1, deform="gain:db=-6")]
    write_run(root, "demo", "mfcc", 0.9, protocol="linear")  # another run of the same names, not in the grid
    write_run(root, "us8k", "coala", 0.9)
    outcomes = [grid.Outcome(RunSpec("mfcc", "demo"), grid.DONE, record=r) for r in ran]
    text = grid_table_text(outcomes, str(root))
    assert "90." not in text and "linear" not in text and "us8k" not in text
    assert "| mfcc " in text and "| coala " in text
    assert "Robustness" in text and "gain:db=-6" in text  # the deformed cell, in its own table


def test_notes_name_the_cell_as_its_row_does(tmp_path):
    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.5, skipped=["a1"])
    write_run(root, "demo", "mfcc", 0.6, protocol="linear", skipped=["b2", "b3"])
    notes = report.build_tables(root)[0].notes
    assert "mfcc [coala] on demo: 1 clip(s) skipped (a1)" in notes
    assert "mfcc [linear] on demo: 2 clip(s) skipped (b2, b3)" in notes


def test_compare_without_protocol_pairs_the_plain_runs(tmp_path):
    from benchmark.report.compare import load_pair

    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.5, finished="2026-11-21T23:00:00")
    write_run(root, "demo", "coala", 0.6, finished="2026-11-21T23:00:00")
    newer = variant_run(root, "demo", "mfcc", 0.3, 1, deform="gain:db=-6")  # finished later than the plain run
    path = next(root.glob(f"runs/demo/mfcc/*-{newer['run_key'][:12]}.json"))
    path.write_text(json.dumps({**newer, "finished": "2026-11-22T10:00:00"}), encoding="utf-8")
    a, b = load_pair(root, "demo", "mfcc", "coala")
    assert not a["protocol"].get("deform") and a["protocol"]["name"] == b["protocol"]["name"] == "coala"
    a, _ = load_pair(root, "demo", "mfcc", "mfcc", protocol="coala~gain:db=-6")
    assert a["protocol"]["deform"] == "gain:db=-6"


def test_a_name_with_variant_runs_only_is_not_called_not_run(tmp_path):
    root = tmp_path / "results"
    write_run(root, "demo", "coala", 0.6)
    variant_run(root, "demo", "mfcc", 0.3, 1, deform="gain:db=-6")
    variant_run(root, "us8k", "coala", 0.3, 2, train_fraction=0.5)
    table = report.build_tables(root, tasks=["demo", "us8k"], embedders=["coala", "mfcc"])[0]
    assert [r.label for r in table.rows] == ["coala"] and [c.label for c in table.columns] == ["demo"]
    assert "2 variant run(s) left out" in table.notes[-1]


def test_the_fractions_table_points_at_its_deformed_runs(tmp_path):
    from benchmark.records.query import load_records

    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.9)
    variant_run(root, "demo", "mfcc", 0.6, 1, train_fraction=0.1)
    variant_run(root, "demo", "mfcc", 0.4, 2, train_fraction=0.1, deform="noise:color=white,snr=0")
    (table,) = fraction_tables(load_records(root))
    assert [c.label for c in table.columns] == ["10%", "100%"]
    assert table.rows[0].cells[0].mean == pytest.approx(0.6, abs=0.02)  # the clean subset run, not the deformed one
    assert "1 run(s) on a training subset with deformed audio: see bench table --robustness." in table.notes
