"""bench reproduce: a paper's cells come from its table layout; --dry-run says what each needs."""
from __future__ import annotations

import pytest

from benchmark.data import fetch
from benchmark.records.reference import load_published, paper_tables
from benchmark.report.table import paper_table
from benchmark.run.reproduce import paper_cells, paper_specs
from tests.helpers import invoke


def table_cells(paper: str) -> set[tuple[str, str]]:
    """(embedder, task) of every cell of our rows in the paper's rendered (empty) tables."""
    cells = set()
    for layout in paper_tables(paper):
        table = paper_table(layout, [], load_published())
        for row in table.rows:
            if row.kind != "ours":
                continue
            for cell, column in zip(row.cells, layout.columns):
                if cell.status == "not run":
                    cells.add((layout.embedder_for(row.system, column.our_tasks[0]), column.our_tasks[0]))
    return cells


@pytest.mark.parametrize("paper,n_cells", [("coala", 12), ("contextual", 30), ("mulap", 8)])
def test_the_cells_are_the_tables_cells(paper, n_cells):
    cells = paper_cells(paper)
    assert len(cells) == n_cells
    assert {(c.embedder, c.task) for c in cells} == table_cells(paper)
    assert all(s.protocol == paper_tables(paper)[0].protocol for s in paper_specs(paper, seeds=3))


@pytest.mark.parametrize("paper", ["coala", "contextual", "mulap"])
def test_dry_run_lists_every_cell_with_what_it_misses_and_downloads_nothing(paper, tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_OFFLINE", raising=False)  # the dry run itself must not download

    def no_download(*args, **kwargs):
        raise AssertionError("the dry run tried to download")

    monkeypatch.setattr(fetch, "download", no_download)
    code, out = invoke("reproduce", paper, "--dry-run", "--data-home", tmp_path / "data")
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()]
    for cell in paper_cells(paper):
        assert any(r[:1] == [cell.table] and cell.embedder in r and cell.task in r for r in rows), (cell, out)
        assert f"data of {cell.task}: MISSING" in out and f"bench data download {cell.task}" in out
    assert f"0 of {len(paper_cells(paper))} cells ready" in out
    assert not (tmp_path / "data").exists() and not list(tmp_path.glob("**/*.pt"))


def test_dry_run_names_the_weights_address_and_place(tmp_path):
    code, out = invoke("reproduce", "coala", "--dry-run", "--data-home", tmp_path)
    assert "weights of mfcc: present: none needed" in out
    line = next(l for l in out.splitlines() if l.startswith("weights of coala:"))
    assert "MISSING" in line and "https://github.com/xavierfav/coala/raw/master/saved_models/dual_ae_c/" in line
    assert "audio_encoder_epoch_200.pt" in line and "--weights PATH" in line


def test_reproduce_without_data_fails_every_cell_then_prints_the_table(tmp_path):
    code, out = invoke("reproduce", "coala", "--data-home", tmp_path, "--seeds", 1)
    assert code == 1
    assert "0 done, 0 already done, 12 failed" in out and "Dataset folder for task 'us8k' not found" in out
    assert "COALA, Table 1" in out and "not run" in out and "72.7" in out
    assert out.rstrip().endswith("bench table --paper coala")


@pytest.mark.parametrize("weights, says", [
    ("{ckpt}", "say which one it is for"),
    ("coala-ec", "say which one it is for"),
    ("nosuch={ckpt}", "'nosuch' is not one of them"),
    ("coala=", "say which one it is for"),
])
def test_reproduce_refuses_weights_that_do_not_say_which_embedder(tmp_path, weights, says):
    """A checkpoint fits one model: applied to every cell, it is refused by mfcc and loaded into
    the wrong architecture elsewhere (issue 19, item 12)."""
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"x")
    for dry in (["--dry-run"], []):
        code, out = invoke("reproduce", "coala", *dry, "--data-home", tmp_path, "--weights", weights.format(ckpt=ckpt),
                           "--results-dir", tmp_path / "results")
        assert code == 2 and says in out and "--weights EMBEDDER=PATH" in out, out
        assert "(mfcc, coala, coala-ec, coala-cnn)" in out
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").glob("**/*.json"))


def test_reproduce_weights_go_to_the_named_embedders_cells_only(tmp_path):
    from benchmark.run.reproduce import paper_specs

    specs = paper_specs("coala", weights="coala-ec=/w/ec.pt", seeds=1)
    assert {s.embedder for s in specs if s.weights} == {"coala-ec"}
    assert all(s.weights == "/w/ec.pt" for s in specs if s.embedder == "coala-ec")
    assert {s.weights for s in paper_specs("mulap", weights="/w/best.pth.tar")} == {"/w/best.pth.tar"}  # one embedder
    assert {s.weights for s in paper_specs("mulap", weights="mulap=/w/best.pth.tar")} == {"/w/best.pth.tar"}
    code, out = invoke("reproduce", "coala", "--dry-run", "--data-home", tmp_path,
                       "--weights", f"coala-ec={tmp_path / 'missing.pt'}")
    assert code == 0, out
    ec = next(line for line in out.splitlines() if line.startswith("weights of coala-ec:"))
    assert "MISSING" in ec and "missing.pt" in ec
    assert "weights of mfcc: present: none needed" in out  # not given the checkpoint
