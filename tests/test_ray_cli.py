"""`bench run --executor ray` without --address, end to end through the CLI in a process of its
own: it starts a local Ray (here on loopback, in the test's temp folder), runs the cell on Ray's
workers, shows bench's progress lines and none of Ray's output, and stops that Ray at the end."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import write_csv_dataset
from tests.test_ray import PLUGIN

pytest.importorskip("ray", reason='the Ray executor is an optional extra: pip install -e ".[ray]"')
ROOT = Path(__file__).resolve().parent.parent

# Batchy, printing to both streams from the workers: none of it may reach the driver's output
NOISY = PLUGIN + '''

class Noisy(Batchy):
    def embed(self, batch):
        import sys
        print("WORKER-NOISE on stdout")
        print("WORKER-NOISE on stderr", file=sys.stderr)
        return super().embed(batch)
'''
PROGRESS = re.compile(r"^(embedding with batchy \(ray\)|probing \(ray\)): \d+/\d+ (clip|split)s \(\d+%\)")


def _processes_under(folder: str) -> list[str]:
    """Command lines of the live processes that mention ``folder`` (Ray's daemons name their
    session folder in their arguments)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in text:
            found.append(text)
    return found


def test_run_on_a_local_ray_shows_bench_progress_and_no_ray_output(tmp_path):
    plugin = tmp_path / "plugin" / "noisy.py"
    plugin.parent.mkdir()
    plugin.write_text(NOISY)
    # each batch of 2 clips takes 1 s, so the first chunk (4 clips, 40%) comes back >= 2 s after
    # the bar started: a progress line is due whatever the machine's speed
    (plugin.parent / "slow").write_text("1.0")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=5, column="split")
    ray_tmp = tempfile.mkdtemp(prefix="bray-", dir="/tmp")  # short: Ray's socket paths are limited
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_TMPDIR": ray_tmp, "BENCH_RAY_NODE_IP": "127.0.0.2",
           "BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_RESULTS_DIR": str(tmp_path / "results"),
           "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    try:
        driver = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "run", "-e", f"{plugin}:Noisy", "-t", f"csv:{csv}",
             "--seeds", "2", "-p", "linear", "--executor", "ray", "--threads", "1"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, out + err
        # a local Ray was started in RAY_TMPDIR and the workers (not the driver) embedded
        assert list(Path(ray_tmp, "ray").glob("session_*"))
        assert str(driver.pid) not in set((plugin.parent / "log").read_text().split())
        assert "Embeddings: 0 cached, 10 extracted on Ray" in out and "accuracy" in out
        # stderr holds bench's progress lines and nothing else; stdout nothing of Ray's
        assert any(PROGRESS.match(line) for line in err.splitlines()), err
        assert [line for line in err.splitlines() if not PROGRESS.match(line)] == [], err
        assert "WORKER-NOISE" not in out + err
        assert not re.search(r"\bINFO\b|\bWARNING\b|worker\.py|Ray instance|dashboard|pid=", out), out
        # that Ray is stopped by the run that started it
        deadline = time.time() + 30
        while _processes_under(ray_tmp) and time.time() < deadline:
            time.sleep(0.5)
        assert _processes_under(ray_tmp) == []
    finally:
        import shutil

        shutil.rmtree(ray_tmp, ignore_errors=True)
