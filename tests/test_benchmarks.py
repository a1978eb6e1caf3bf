"""The speed scripts in benchmarks/ still run (tiny sizes; the figures themselves are not tested)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_script_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("bf16", ["as this CPU has", "absent"])
def test_probe_benchmark_runs(capsys, monkeypatch, bf16):
    from benchmark.core.config import cpu_has_bf16_matmul

    if bf16 == "absent":
        monkeypatch.setenv("BENCH_CPU_BF16", "0")  # the branch of CPUs without AVX512-BF16/AMX, on every CPU
    _script("probe").main(["--clips", "300", "--dim", "16", "--folds", "1", "--sklearn-fits", "1", "--seeds", "2"])
    out = capsys.readouterr().out
    assert "sklearn:" in out and "bench:" in out and "ceiling (float32 products)" in out
    if cpu_has_bf16_matmul():
        assert out.count("speed-up over sklearn") == 2 and "ceiling (bfloat16 products)" in out
    else:
        assert out.count("speed-up over sklearn") == 1 and "bench --fast-matmul: unavailable" in out
        assert "bfloat16 products" not in out


def test_extract_benchmark_runs_and_outputs_match(capsys, monkeypatch):
    monkeypatch.delenv("BENCH_SHARED", raising=False)  # random weights: same code path, faster to set up
    code = _script("extract").main(["--clips", "2", "--seconds", "3.5", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("ratio") == 2 and "MISMATCH" not in out


def test_hf_benchmark_runs_and_outputs_match(capsys):
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    code = _script("hf").main(["--clips", "2", "--seconds", "0.5", "--repeats", "1", "--small"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ratio" in out and "MISMATCH" not in out


@pytest.mark.parametrize("name", ["probe", "extract", "hf", "grid", "knn"])
def test_scripts_document_their_command(name):
    assert f"benchmarks/{name}.py" in (ROOT / "benchmarks" / f"{name}.py").read_text().split('"""')[1]


def test_knn_benchmark_runs_and_agrees(capsys):
    _script("knn").main(["--clips", "400", "--dim", "16", "--folds", "2"])
    out = capsys.readouterr().out
    assert "speed-up over sklearn" in out and "predictions differing: 0 of" in out



def test_grid_benchmark_runs_on_ray_and_a_two_node_cluster_with_the_local_scores(capsys):
    pytest.importorskip("ray", reason='the Ray executor is an optional extra: pip install -e ".[ray]"')
    code = _script("grid").main(["--clips", "4", "--seeds", "1", "--threads", "1", "--embedders", "mfcc",
                                 "--cluster"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("scores bitwise equal to local") == 2 and "clips/s per worker" in out
