"""Progress without a terminal (issue 14): a line every so often during extraction and probing;
tqdm bars on a terminal."""
from __future__ import annotations

import io

from click.testing import CliRunner

import cli
from benchmark.core import progress
from tests.helpers import write_csv_dataset


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_per_tenth_and_at_least_every_half_minute():
    out, clock = io.StringIO(), Clock()
    bar = progress.LineProgress(100, "embedding with mfcc", "clip", out, clock)
    for _ in range(100):
        clock.now += 1.0
        bar.update(1)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("embedding with mfcc: 10/100 clips (10%), 1.0 clips/s")
    assert "about 60 s left" in lines[3] and "about 1 min left" in lines[0] and lines[-1].startswith("embedding with mfcc: 100/100 clips (100%)")
    slow, clock = io.StringIO(), Clock()
    bar = progress.LineProgress(1000, "probing (coala)", "split", slow, clock)
    for _ in range(3):  # 0.1% per step, 40 s each: the time rule prints
        clock.now += 40.0
        bar.update(1)
    assert len(slow.getvalue().splitlines()) == 3 and "40.0 s/split" in slow.getvalue()
    fast, clock = io.StringIO(), Clock()
    bar = progress.LineProgress(10, "x", "clip", fast, clock)
    for _ in range(10):  # 10% steps but 0.1 s apart: not a line each
        clock.now += 0.1
        bar.update(1)
    assert fast.getvalue() == ""


def test_a_terminal_gets_tqdm_and_disabled_gets_nothing():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    from tqdm.auto import tqdm

    bar = progress.progress_bar(5, "x", "clip", True, Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress.progress_bar(5, "x", "clip", True, io.StringIO()), progress.LineProgress)
    quiet = io.StringIO()
    progress.progress_bar(5, "x", "clip", False, quiet).update(5)
    assert quiet.getvalue() == ""


def test_bench_run_in_a_log_prints_progress_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "MIN_SECONDS", 0.0)
    csv = write_csv_dataset(tmp_path / "data")
    result = CliRunner().invoke(cli.cli, ["run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", "1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "embedding with mfcc: 16/16 clips (100%)" in result.output
    assert "probing (coala): 4/4 splits (100%)" in result.output
