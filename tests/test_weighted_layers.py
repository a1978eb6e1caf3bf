"""The weighted-layers protocol: learned softmax layer weights, trained with the MLP, seeds batched."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.probe import mlp as probe
from benchmark.probe.protocols import PROTOCOLS


def _layered(n_clips: int, seed: int = 0):
    """Clips of 4 frames x 3 layers x 8 features; only layer 2 tells the classes apart."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_clips) % 3
    frames = rng.standard_normal((n_clips, 4, 3, 8)).astype(np.float32)
    frames[:, :, 2, :3] += 4.0 * np.eye(3, dtype=np.float32)[y][:, None, :]
    return list(frames), y


def test_weights_find_the_informative_layer_and_the_probe_learns():
    protocol = PROTOCOLS.create("weighted-layers")
    train, test = _layered(90), _layered(45, seed=1)
    info: dict = {}
    out = probe.fit_predict(protocol, "multiclass", train, None, test[0], [0, 1, 2], "accuracy", n_outputs=3, info=info)
    for seed in (0, 1, 2):
        weights = np.asarray(info["layer_weights"][seed])
        assert abs(weights.sum() - 1) < 1e-5 and weights.argmax() == 2 and weights[2] > 0.4
        assert (out[seed].argmax(axis=1) == test[1]).mean() > 0.8  # chance: 0.33


def test_seeds_batched_equal_seeds_alone():
    protocol = PROTOCOLS.create("weighted-layers")
    train, test = _layered(60), _layered(30, seed=1)
    info_all: dict = {}
    together = probe.fit_predict(protocol, "multiclass", train, None, test[0], [0, 1, 2], "accuracy", n_outputs=3,
                                 info=info_all)
    info_one: dict = {}
    alone = probe.fit_predict(protocol, "multiclass", train, None, test[0], [1], "accuracy", n_outputs=3, info=info_one)
    # one step is bitwise the same; over 200 Adam epochs rounding (vector body vs tail of the fused
    # kernel, which depends on the tensor sizes) grows to ~2e-4 here: a tolerance, not equality
    np.testing.assert_allclose(together[1], alone[1], atol=1e-3)
    np.testing.assert_allclose(info_all["layer_weights"][1], info_one["layer_weights"][1], atol=1e-3)
    assert not np.allclose(together[0], together[1])  # seeds differ


@pytest.mark.hf
def test_weighted_run_records_the_weights(tmp_path, monkeypatch):
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    import cli
    from tests import hf_models
    from tests.helpers import write_csv_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = hf_models.build("hubert", tmp_path / "model")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    results = tmp_path / "results"
    result = CliRunner().invoke(cli.cli, ["run", "-e", f"hf:{folder}", "-t", f"csv:{csv}", "-p", "weighted-layers",
                                          "--seeds", "2", "--results-dir", str(results)], catch_exceptions=False)
    assert "Learned layer weights" in result.output, result.output
    (path,) = results.rglob("*.json")
    record = json.loads(path.read_text())
    assert record["embedder"]["layer"] == "all" and record["embedder"]["dim"] == 16
    weights = [s["extra"]["layer_weights"] for s in record["scores"]]
    assert len(weights) == 8 and all(len(w) == 3 and abs(sum(w) - 1) < 1e-4 for w in weights)
    bad = CliRunner().invoke(cli.cli, ["run", "-e", "mfcc", "-t", f"csv:{csv}", "-p", "weighted-layers",
                                       "--results-dir", str(results)])
    assert bad.exit_code == 2 and "exposes no layers" in bad.output
