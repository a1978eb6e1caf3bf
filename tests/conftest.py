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


# -- test tiers ----------------------------------------------------------------------------------
# `python -m pytest` runs the fast tier: everything not marked slow, ray or hf. `python -m pytest -m ""`
# (what .ci/run does) runs every tier. Markers are registered in setup.cfg; whole modules of a slower
# tier are listed here, single tests carry their marker.
MODULE_TIERS = {
    # start a Ray cluster (seconds each, workers in other processes)
    "ray": ("test_ray", "test_ray_cli", "test_ray_cluster"),
    # build and run tiny Hugging Face models (transformers imports are slow)
    "hf": ("test_hf",),
    # real models and checkpoints, whole datasets end to end, several processes, the speed scripts
    "slow": ("test_concurrent", "test_tasks_e2e", "test_tasks_e2e_music", "test_demo", "test_musicnn", "test_coala",
             "test_benchmarks", "test_quick_paths", "test_crepe", "test_model_layers", "test_tags_run",
             "test_threads"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        for marker, modules in MODULE_TIERS.items():
            if module in modules:
                item.add_marker(marker)
        if "tiny_hf" in getattr(item, "fixturenames", ()):
            item.add_marker("hf")


# -- shared fixtures -----------------------------------------------------------------------------
@pytest.fixture
def tiny_task(tmp_path) -> str:
    """A CSV task of 16 tone clips (2 pitch classes, 4 folds), as ``csv:PATH`` for ``-t``."""
    from tests.helpers import write_csv_dataset

    return f"csv:{write_csv_dataset(tmp_path / 'data', n_per_class=4)}"


@pytest.fixture
def results_dir(tmp_path) -> Path:
    """An empty results folder of the test's own (give it with --results-dir)."""
    path = tmp_path / "results"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory) -> Path:
    """The folder of a tiny random wav2vec2 model (3 layers of width 16): ``-e hf:FOLDER``. Tests
    that use it are in the hf tier."""
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    from tests import hf_models

    return hf_models.build("wav2vec2-layer", tmp_path_factory.mktemp("hf") / "model")


@pytest.fixture(scope="session")
def tiny_hf_models(tmp_path_factory) -> dict:
    """Architecture -> the folder of a tiny random model of it (tests/hf_models.py), built once."""
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    from tests import hf_models

    root = tmp_path_factory.mktemp("hf-models")
    return {a: hf_models.build(a, root / a) for a in hf_models.ARCHITECTURES}


@pytest.fixture
def hf_offline(monkeypatch) -> None:
    """Model hubs unreachable, as in CI: a model is only ever read from a folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("BENCH_OFFLINE", "1")
