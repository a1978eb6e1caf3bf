"""The static report: pages, tables, figures and links, checked by parsing and, where Chromium is
installed, by rendering the page headless."""
from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from _report_runs import write_run
from benchmark.report import render as report


class Page(HTMLParser):
    def __init__(self, path: Path):
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.table_ids: list[str] = []
        self.text: list[str] = []
        self.rows: dict[str, int] = {}
        self._table: str | None = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "table":
            self._table = attrs.get("id") or attrs.get("data-metric") or attrs.get("class")
            if attrs.get("id"):
                self.table_ids.append(attrs["id"])
        if tag == "tr" and self._table:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def handle_data(self, data):
        self.text.append(data)

    @property
    def content(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.70, dim=120)
    write_run(root, "demo", "mfcc", 0.50, dim=120, seed_offset=1, finished="2026-01-01T00:00:00")  # superseded
    write_run(root, "demo", "coala", 0.75, skipped=["dog_3"], dim=1152)
    write_run(root, "us8k-tag", "w2v-128-1h-tags", 0.79)
    write_run(root, "us8k-tag", "w2v-128-4h-tags", 0.80, status="running", seeds=3)
    index = report.write_site(root, tmp_path / "site")
    return index


def test_index_has_every_table_figure_and_working_links(site):
    assert site.name == "index.html"
    page = Page(site)
    assert page.table_ids == ["table-grid", "table-coala", "table-contextual", "table-mulap-1", "table-mulap-2"]
    assert {Path(src).name for src in page.images} == {
        "heatmap.png", "score-vs-dim.png", "score-vs-throughput.png", "bars-demo.png", "bars-us8k-tag.png"}
    for ref in page.links + page.images:
        if not ref.startswith("#"):
            assert (site.parent / ref.split("#")[0]).is_file(), ref
    assert all(not src.startswith(("http:", "https:", "/")) for src in page.images + page.links)  # self-contained
    text = page.content
    assert "not run" in text and "running 30/30: " in text and "reported" in text
    assert "coala on demo: 1 clip(s) skipped (dog_3)" in text
    assert text.count("(superseded)") == 1 and not re.search(r"5\d\.\d ± 0\.\d \(10\)", text)  # old run not in tables
    assert re.search(r"7[89]\.\d ± 0\.\d \(10\)", text)  # our us8k-tag row
    for name in ("tables.md", "tables.tex", "tables.csv", "tables.json"):
        assert (site.parent / name).stat().st_size > 500


def test_task_page_has_per_seed_scores(site):
    page = Page(site.parent / "tasks" / "demo.html")
    seed_tables = [name for name in page.rows if name == "accuracy"]
    assert seed_tables  # the per-seed table of each run
    text = page.content
    assert text.count("seed 9") == 3 and "fold5" in text and "multiclass" in text
    assert text.count("superseded by a newer run") == 1
    for ref in page.links + page.images:
        assert (site.parent / "tasks" / ref.split("#")[0]).resolve().is_file(), ref
    running = Page(site.parent / "tasks" / "us8k-tag.html").content.split("w2v-128-4h-tags (coala, running,")[1]
    assert "seed 2" in running and "seed 3" not in running  # a running record shows the seeds done so far


def test_run_page_has_configs_versions_cache_key_timings(site):
    runs = sorted((site.parent / "runs").glob("demo-coala-*.html"))
    assert len(runs) == 1
    text = Page(runs[0]).content
    for needle in ("cache key", "k" * 40, "extract_clips_per_s", "torch", "2.13", '"sr": 22000', "dog_3",
                   "95% CI", "seed 0", "fold1"):
        assert needle in text, needle


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_renders_in_headless_chromium(site, tmp_path):
    browser = _chromium()
    if not browser:
        pytest.skip("no Chromium installed: the HTML was checked by parsing only")
    # a copy of the page that writes what the browser rendered into the DOM once loaded
    probe = site.parent / "probe.html"
    script = ("<script>window.addEventListener('load',()=>{const b=document.body;"
              "b.dataset.images=[...document.images].map(i=>i.complete&&i.naturalWidth>0?'ok':'broken').join(',');"
              "b.dataset.tables=document.querySelectorAll('table.results').length;"
              "b.dataset.bold=[...document.querySelectorAll('#table-grid strong')].map(e=>e.innerText).join('|');})"
              "</script></body>")
    probe.write_text(site.read_text(encoding="utf-8").replace("</body>", script), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stderr[-2000:]
    attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', body.group(1)))
    assert attrs["images"].split(",") == ["ok"] * 5
    assert attrs["tables"] == "5"
    bold = attrs["bold"].split("|")
    assert len(bold) == 2 and any(b.startswith("7") and "(10)" in b for b in bold)


def test_cli_report(site, tmp_path):
    cli = pytest.importorskip("cli")
    if "report" not in cli.cli.commands:
        pytest.skip("cli has no report command")
    results = site.parent.parent / "results"
    result = CliRunner().invoke(cli.cli, ["report", "--results-dir", str(results), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "index.html").is_file()
