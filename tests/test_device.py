"""The device stays out of the run key (benchmark.core.spec.RunEnv) because embeddings computed on CUDA
agree with the CPU's within DEVICE_TOLERANCE (max absolute difference relative to the largest
magnitude). Runs only where CUDA is available."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.spec import DEVICE_TOLERANCE

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to compare with the CPU")]


def _clips(sr: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.arange(sr) / sr
    return [(0.4 * np.sin(2 * np.pi * f * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
            for f in (220.0, 880.0, 3000.0)]


def _embeddings(name: str, device: str, **options) -> list[np.ndarray]:
    import cli
    from benchmark.embed.build import create_embedder
    from benchmark.core.spec import RunEnv, RunSpec

    embedder = create_embedder(RunSpec(name, "demo", options=options), cli.registries(), RunEnv(device=device))
    embedder.ensure_loaded()
    with torch.no_grad():
        return embedder.embed(_clips(int(embedder.sample_rate)))


def _assert_within_tolerance(cpu: list[np.ndarray], cuda: list[np.ndarray]) -> None:
    for a, b in zip(cpu, cuda):
        assert a.shape == b.shape
        scale = float(np.abs(a).max()) or 1.0
        assert float(np.abs(a - b).max()) / scale <= DEVICE_TOLERANCE


def test_musicnn_embeddings_on_cuda_match_the_cpu():
    _assert_within_tolerance(_embeddings("musicnn-random", "cpu"), _embeddings("musicnn-random", "cuda"))


def test_hf_embeddings_on_cuda_match_the_cpu(tiny_hf):
    name = f"hf:{tiny_hf}"
    _assert_within_tolerance(_embeddings(name, "cpu", layers="all"), _embeddings(name, "cuda", layers="all"))
