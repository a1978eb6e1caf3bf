"""The presets hold the papers' values: coala = MLPClassifier's defaults, mulap = MuLaP's configs."""
from __future__ import annotations

import dataclasses

import pytest
from sklearn.neural_network import MLPClassifier

from benchmark.core.errors import UnknownNameError
from benchmark.probe.protocols import COALA, LINEAR, MULAP, PROTOCOLS, Protocol, for_task


def test_coala_is_mlpclassifier_defaults():
    defaults = MLPClassifier(hidden_layer_sizes=(256,)).get_params()
    assert defaults["activation"] == "relu" and defaults["solver"] == "adam"
    assert COALA.hidden == defaults["hidden_layer_sizes"]
    assert COALA.lr == defaults["learning_rate_init"]
    assert COALA.weight_decay == defaults["alpha"] and COALA.weight_decay_style == "sklearn_l2"
    assert defaults["batch_size"] == "auto" and COALA.batch_size == 200  # auto = min(200, n_samples)
    assert COALA.max_epochs == defaults["max_iter"]
    assert COALA.tol == defaults["tol"] and COALA.patience == defaults["n_iter_no_change"]
    assert not defaults["early_stopping"] and COALA.stopping == "train_loss" and not COALA.uses_validation
    assert (defaults["beta_1"], defaults["beta_2"], defaults["epsilon"]) == (0.9, 0.999, 1e-8)
    assert defaults["shuffle"] and COALA.init == "glorot_uniform"
    assert COALA.standardize and COALA.pooling == "mean" and not COALA.chunk_training


def test_mulap_preset_and_per_task_values():
    assert MULAP.hidden == (512,) and MULAP.dropout == 0.0 and MULAP.lr == 1e-3
    assert MULAP.weight_decay_style == "coupled" and MULAP.lr_schedule == "plateau" and MULAP.lr_factor == 0.5
    assert MULAP.stopping == "valid_metric" and MULAP.patience == 50 and MULAP.uses_validation
    assert MULAP.chunk_training and MULAP.init == "torch_default"
    table = {"mtat": ((512,), 1e-3, 64, 300), "nsynth": ((512,), 1e-3, 64, 200), "fma": ((512,), 1e-3, 64, 200),
             "mtg_jamendo": ((512,), 0.0, 32, 200), "emomusic": ((1024,), 1e-2, 64, 200)}
    for dataset, (hidden, wd, batch, epochs) in table.items():
        p = for_task(MULAP, dataset)
        assert (p.hidden, p.weight_decay, p.batch_size, p.max_epochs) == (hidden, wd, batch, epochs)
    assert for_task(COALA, "mtat") == COALA  # overrides belong to mulap only


def test_registry_and_round_trip():
    assert PROTOCOLS.create("coala") == COALA and PROTOCOLS.create("linear") == LINEAR
    with pytest.raises(UnknownNameError, match="mulap"):
        PROTOCOLS.create("mulapp")
    assert Protocol(**{**MULAP.to_dict(), "hidden": tuple(MULAP.to_dict()["hidden"])}) == MULAP
    assert "hidden=(512,)" in MULAP.describe()
    with pytest.raises(dataclasses.FrozenInstanceError):
        COALA.lr = 1.0  # type: ignore[misc]
