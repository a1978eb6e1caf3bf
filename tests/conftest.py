"""Shared test fixtures. ``../shared`` is read only through BENCH_SHARED; tests that need it skip
with the reason when it is absent, so a fresh clone passes without it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# tests is a package (tests.helpers); the helpers some tests import by their bare names
# (_report_runs, suggested) are found last, after every installed package
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))


@pytest.fixture(scope="session")
def shared() -> Path:
    value = os.environ.get("BENCH_SHARED")
    if not value:
        pytest.skip("BENCH_SHARED is not set: the ../shared fixtures, weights and golden files are not available")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"BENCH_SHARED={value} is not a folder")
    return path


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep every test away from the user's cache, data and results folders."""
    base = tmp_path_factory.mktemp("bench-env")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(base / "results"))
    monkeypatch.delenv("BENCH_DATA_HOME", raising=False)
    monkeypatch.delenv("BENCH_WEIGHTS_DIR", raising=False)
    yield
