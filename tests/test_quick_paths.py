"""The quick paths stay quick (issue 21 item 7): a rerun that finds its record complete, `bench table`
and `bench list embedders|tasks|protocols` import neither torch nor scikit-learn (seconds of start-up)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import invoke, write_csv_dataset

HEAVY = ("torch", "sklearn")

_PROBE = """
import json, sys
import cli
try:
    cli.cli.main(sys.argv[1:], prog_name="bench")
except SystemExit as exc:
    code = exc.code
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def heavy_imports(*args: str) -> tuple[list[str], str]:
    """The heavy modules a fresh ``bench ARGS`` process imported, and its output."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output)


def test_a_complete_rerun_a_table_and_the_task_list_import_no_torch_or_sklearn(tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    args = ["run", "-e", "mfcc", "-t", f"csv:{csv}", "-p", "linear", "--seeds", "1",
            "--results-dir", str(tmp_path / "results")]
    assert invoke(*args)[0] == 0
    modules, out = heavy_imports(*args)
    assert "Already complete" in out and modules == [], out
    modules, out = heavy_imports("table", "--results-dir", str(tmp_path / "results"))
    assert "mfcc" in out and modules == [], out
    for what in ("tasks", "protocols"):
        modules, out = heavy_imports("list", what)
        assert modules == [], (what, out)


def test_the_embedder_list_imports_no_torch_or_sklearn():
    """Every built-in is resolved to its class and built for the listing; the networks (and torch)
    are imported only when a model is loaded."""
    modules, out = heavy_imports("list", "embedders")
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[2:] if line.strip()}
    # the built-ins that define torch networks are listed with their widths and rates, not "unavailable"
    assert rows["coala"] == ["1152", "22000"] and rows["musicnn-mtat"] == ["1506", "16000"], out
    assert rows["musicnn-pons-mtt"] == ["1506", "16000"] and rows["crepe"] == ["12288", "16000"], out
    assert rows["w2v-128-1h-tags"] == ["128", "-"], out
    assert modules == [], out


def test_a_run_with_work_to_do_still_imports_them(tmp_path):
    """The probe above can fail: a run that trains imports both."""
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    modules, out = heavy_imports("run", "-e", "mfcc", "-t", f"csv:{csv}", "-p", "linear", "--seeds", "1",
                                 "--results-dir", str(tmp_path / "results"))
    assert modules == ["sklearn", "torch"], out
