"""ARCHITECTURE.md stays true: every package it names exists, and no source module outgrows the
350-line limit of the developers' guide."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 350
SOURCE_DIRS = ("benchmark", "embedders", "tasks")


def _named_packages() -> list[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    # table rows start with the package in backticks: | `benchmark/run` | ...
    return re.findall(r"^\|\s*`([\w/]+)/?`\s*\|", text, flags=re.MULTILINE)


def test_architecture_names_existing_packages():
    named = _named_packages()
    assert len(named) >= 8, f"the code map lists too few packages: {named}"
    missing = [p for p in named if not (ROOT / p).is_dir()]
    assert not missing, f"ARCHITECTURE.md names packages that do not exist: {missing}"
    python_packages = [p for p in named if p.startswith("benchmark/")]
    no_init = [p for p in python_packages if not (ROOT / p / "__init__.py").is_file()]
    assert not no_init, f"not Python packages (no __init__.py): {no_init}"


def test_every_benchmark_package_is_on_the_map():
    named = set(_named_packages())
    packages = sorted(f"benchmark/{d.name}" for d in (ROOT / "benchmark").iterdir()
                      if (d / "__init__.py").is_file())
    unmapped = [p for p in packages if p not in named]
    assert not unmapped, f"packages missing from ARCHITECTURE.md's code map: {unmapped}"


def test_no_module_over_the_line_limit():
    too_long = []
    for folder in SOURCE_DIRS + ("cli",):
        path = ROOT / folder
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in files:
            n = len(f.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                too_long.append(f"{f.relative_to(ROOT)} ({n} lines)")
    assert not too_long, f"modules over {MAX_LINES} lines (split them by purpose): {too_long}"
