"""The probe: coala is scikit-learn's MLP step for step, mulap is MuLaP's torch trainer, seeds
trained together equal seeds trained alone, and accuracy matches scikit-learn on real data."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from benchmark.probe import ensemble as E
from benchmark.probe import metrics, mlp as probe
from benchmark.core.errors import BenchError
from benchmark.core.config import cpu_has_bf16_matmul
from benchmark.probe.protocols import COALA, LINEAR, MULAP, with_fast_matmul
from benchmark.records.results import protocol_label
from benchmark.probe.stopping import TrainLossStopper, ValidStopper


def _data(n=180, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, :3] @ rng.standard_normal((3, 4))).argmax(axis=1)
    return X, y


def _sklearn_trajectory(X, Y, kind, epochs, seed, clf):
    """Our trainer fed scikit-learn's own random draws (init, then one shuffle per epoch)."""
    rs = np.random.RandomState(seed)
    sizes = [X.shape[1], 256, Y.shape[1]]
    Ws, bs = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6 / (fan_in + fan_out))
        Ws.append(torch.tensor(rs.uniform(-bound, bound, (fan_in, fan_out)))[None])
        bs.append(torch.tensor(rs.uniform(-bound, bound, fan_out))[None, None])
    stack = E.Stack(Ws, bs)
    state = {"idx": np.arange(len(X))}

    def draw(gens, epoch):
        order = np.arange(len(X))
        rs.shuffle(order)  # sklearn.utils.shuffle composes a fresh permutation each epoch
        state["idx"] = state["idx"][order]
        t = torch.tensor(state["idx"])[None]
        return t, t

    result = E.fit(torch.tensor(X), torch.tensor(Y, dtype=torch.float64), draw, [None], stack, E.Head(kind, "sklearn"),
                   E.Adam(stack.tensors(), 1e-3, "sklearn"), TrainLossStopper(1, 1e-4, 10), 200, epochs, False,
                   alpha=1e-4)
    return result


@pytest.mark.parametrize("case", ["multiclass", "binary", "multilabel", "regression"])
def test_coala_step_for_step_equals_sklearn(case):
    X, y = _data()
    if case == "multiclass":
        target, Y, head, clf = y, np.eye(4)[y], "softmax", MLPClassifier(hidden_layer_sizes=(256,))
    elif case == "binary":
        target, Y, head, clf = y % 2, (y % 2)[:, None].astype(float), "logistic", MLPClassifier(hidden_layer_sizes=(256,))
    elif case == "multilabel":
        target = np.stack([y == 0, y % 2 == 1, X[:, 5] > 0], axis=1).astype(int)
        Y, head, clf = target.astype(float), "logistic", MLPClassifier(hidden_layer_sizes=(256,))
    else:
        target = np.stack([X[:, 0] * 2 + X[:, 1], np.sin(X[:, 2])], axis=1)
        Y, head, clf = target, "identity", MLPRegressor(hidden_layer_sizes=(256,))
    epochs = 200 if case == "multiclass" else 20  # one full default fit checks the stopping rule too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(random_state=7, max_iter=epochs).fit(X, target)
    ours = _sklearn_trajectory(X, Y, head, epochs, 7, clf)
    assert ours.epochs == [clf.n_iter_]
    for layer in range(2):
        np.testing.assert_allclose(ours.stack.W[layer][0].numpy(), clf.coefs_[layer], rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.stack.b[layer][0, 0].numpy(), clf.intercepts_[layer], rtol=0, atol=1e-9)


def _frames(X):
    return [row[None].astype(np.float32) for row in X]


def test_seeds_trained_together_equal_seeds_trained_alone():
    X, y = _data(n=300)
    protocol = dataclasses.replace(COALA, max_epochs=8, hidden=(64,))
    train, test = (_frames(X[:240]), y[:240]), _frames(X[240:])
    together = probe.fit_predict(protocol, "multiclass", train, None, test, [3, 11, 5], "accuracy", n_outputs=4)
    for seed in (3, 11, 5):
        alone = probe.fit_predict(protocol, "multiclass", train, None, test, [seed], "accuracy", n_outputs=4)[seed]
        np.testing.assert_allclose(together[seed], alone, atol=1e-5)
    again = probe.fit_predict(protocol, "multiclass", train, None, test, [3, 11, 5], "accuracy", n_outputs=4)
    assert all(np.array_equal(together[s], again[s]) for s in together)  # deterministic
    assert not np.allclose(together[3], together[11])  # a seed changes init and order


def test_coala_unseen_class_gets_zero_probability_and_binary_uses_one_output():
    X, y = _data()
    keep = y != 2
    fast = dataclasses.replace(COALA, max_epochs=10)
    out = probe.fit_predict(fast, "multiclass", (_frames(X[keep]), y[keep]), None, _frames(X[:10]), [0], "accuracy",
                            n_outputs=5)[0]
    assert out.shape == (10, 5)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(out[:, [2, 4]] == 0)
    binary = y[keep] == 0
    out = probe.fit_predict(fast, "multiclass", (_frames(X[keep]), binary.astype(np.int64)), None, _frames(X[:10]), [0],
                            "accuracy", n_outputs=2)[0]
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)


# -- accuracy parity with scikit-learn on real measurements (load_digits: 8x8 scans of digits) --
def _sklearn_accuracy(Xtr, ytr, Xte, yte, seeds):
    from threadpoolctl import threadpool_limits

    scaler = StandardScaler().fit(Xtr)
    with warnings.catch_warnings(), threadpool_limits(1):  # tiny matrices: threads only contend
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [MLPClassifier(hidden_layer_sizes=(256,), random_state=s).fit(scaler.transform(Xtr), ytr)
                .score(scaler.transform(Xte), yte) for s in seeds]


def _bench_accuracy(Xtr, ytr, Xte, yte, seeds):
    preds = probe.fit_predict(COALA, "multiclass", (_frames(Xtr), ytr), None, _frames(Xte), seeds, "accuracy",
                              n_outputs=10)
    return [metrics.compute("multiclass", ["accuracy"], yte, preds[s])[0]["accuracy"] for s in seeds]


@pytest.mark.slow  # about 35 s: 10 folds x 10 seeds of the coala probe
def test_coala_accuracy_parity_with_sklearn_10_folds():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    chosen = rng.permutation(len(X))[:300]  # kept small so the 100 scikit-learn fits stay fast
    X, y = X[chosen].astype(np.float32), y[chosen]
    folds = np.arange(len(X)) % 10
    seeds = list(range(10))
    ours, theirs = [], []
    for k in range(10):
        tr, te = folds != k, folds == k
        ours.append(_bench_accuracy(X[tr], y[tr], X[te], y[te], seeds))
        theirs.append(_sklearn_accuracy(X[tr], y[tr], X[te], y[te], seeds))
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01, (np.mean(ours), np.mean(theirs))
    assert np.mean(ours) > 0.9


def test_coala_accuracy_parity_with_sklearn_one_split():
    X, y = load_digits(return_X_y=True)
    X, y = X[:800].astype(np.float32), y[:800]
    tr = np.arange(len(X)) % 4 != 0
    seeds = list(range(10))
    ours = _bench_accuracy(X[tr], y[tr], X[~tr], y[~tr], seeds)
    theirs = _sklearn_accuracy(X[tr], y[tr], X[~tr], y[~tr], seeds)
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01, (np.mean(ours), np.mean(theirs))


# -- mulap ----------------------------------------------------------------------------------------
def test_mulap_adam_and_losses_match_torch_autograd():
    """One seed of the batched trainer = nn.Linear + torch.optim.Adam(weight_decay) + the torch loss."""
    rng = np.random.default_rng(1)
    X = torch.tensor(rng.standard_normal((64, 6)), dtype=torch.float64)
    cases = {"softmax": (torch.nn.CrossEntropyLoss(), torch.tensor(rng.integers(0, 3, 64))),
             "logistic": (torch.nn.BCEWithLogitsLoss(), torch.tensor(rng.integers(0, 2, (64, 3)), dtype=torch.float64)),
             "identity": (torch.nn.MSELoss(), torch.tensor(rng.standard_normal((64, 3))))}
    for head_kind, (loss_fn, target) in cases.items():
        Y = torch.eye(3, dtype=torch.float64)[target] if head_kind == "softmax" else target
        gen = torch.Generator().manual_seed(0)
        stack = E.init_stack([gen], [6, 8, 3], "torch_default", torch.float64)
        model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
        with torch.no_grad():
            for i, layer in enumerate((model[0], model[2])):
                layer.weight.copy_(stack.W[i][0].T)
                layer.bias.copy_(stack.b[i][0, 0])
        ref_opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-2)
        opt = E.Adam(stack.tensors(), 1e-2, "torch", weight_decay=1e-2)
        head = E.Head(head_kind, "torch")
        for step in range(5):
            rows = slice(16 * (step % 4), 16 * (step % 4) + 16)
            ref_opt.zero_grad()
            loss_fn(model(X[rows]), target[rows]).backward()
            ref_opt.step()
            acts = E.forward(stack, X[rows][None])
            opt.step(stack.tensors(), E.backward(stack, acts, head.delta(head.probs(acts[-1]), Y[rows][None])))
        np.testing.assert_allclose(stack.W[0][0].numpy(), model[0].weight.detach().numpy().T, atol=1e-10)
        np.testing.assert_allclose(stack.b[1][0, 0].numpy(), model[2].bias.detach().numpy(), atol=1e-10)


def test_valid_stopper_keeps_best_epoch_and_follows_reduce_lr_on_plateau():
    rng = np.random.default_rng(3)
    scores = list(rng.uniform(0.4, 0.6, 40))
    scores[5] = 0.95  # best epoch: 6
    stack = E.Stack([torch.zeros(1, 2, 2)], [torch.zeros(1, 1, 2)])
    stream = iter(scores)
    stopper = ValidStopper(stack, lambda s, g: torch.tensor([next(stream)]), patience=20, lr_factor=0.5)
    opt = E.Adam(stack.tensors(), 1e-3, "torch")
    param = torch.nn.Parameter(torch.zeros(1))
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.Adam([param], lr=1e-3), mode="max", factor=0.5)
    for epoch, score in enumerate(scores):
        stack.W[0].fill_(epoch + 1)
        done = bool(stopper.update(torch.zeros(1), stack, opt, [None])[0])
        ref.step(score)
        assert float(opt.lr.view(-1)[0]) == pytest.approx(ref.optimizer.param_groups[0]["lr"])
        if done:
            break
    assert epoch + 1 == 6 + 20  # patience 20 after the best epoch
    assert float(stopper.final(stack).W[0].flatten()[0]) == 6.0


def _tagging_frames(n, rng, n_frames=4, d=10):
    centres = rng.standard_normal((3, d)) * 2
    labels = rng.integers(0, 2, (n, 3))
    frames = [labels[i] @ centres + rng.standard_normal((n_frames, d)) for i in range(n)]
    return [f.astype(np.float32) for f in frames], labels.astype(np.float32)


@pytest.mark.parametrize("kind", ["multiclass", "multilabel", "regression"])
def test_mulap_learns_every_task_kind(kind):
    rng = np.random.default_rng(4)
    frames, labels = _tagging_frames(360, rng)
    if kind == "multiclass":
        y, metric, n_out = labels @ np.array([1, 2, 4]) % 5, "accuracy", 5
        y = y.astype(np.int64)
    elif kind == "multilabel":
        y, metric, n_out = labels, "roc_auc", 3
    else:
        y, metric, n_out = labels @ np.array([[1.0, 0.5], [0.0, 2.0], [1.0, -1.0]]), "r2", 2
    protocol = dataclasses.replace(MULAP, hidden=(32,), max_epochs=40, patience=10)
    tr, va, te = slice(0, 240), slice(240, 300), slice(300, 360)
    preds = probe.fit_predict(protocol, kind, (frames[tr], y[tr]), (frames[va], y[va]), frames[te], [0, 1], metric,
                              n_outputs=n_out)
    for seed in (0, 1):
        out = preds[seed]
        assert out.shape == (60, n_out)
        score = metrics.compute(kind, [metric], y[te], out)[0][metric]
        assert score > {"accuracy": 0.6, "roc_auc": 0.85, "r2": 0.5}[metric], score
    if kind == "multiclass":
        np.testing.assert_allclose(preds[0].sum(axis=1), 1.0, atol=1e-5)


def test_mulap_needs_validation():
    X, y = _data()
    with pytest.raises(BenchError, match="validation"):
        probe.fit_predict(MULAP, "multiclass", (_frames(X), y), None, _frames(X[:5]), [0], "accuracy", n_outputs=4)


def test_linear_probe_is_deterministic_and_handles_constant_labels():
    X, y = _data(n=260)
    out = probe.fit_predict(LINEAR, "multiclass", (_frames(X[:200]), y[:200]), None, _frames(X[200:]), [0, 1],
                            "accuracy", n_outputs=4)
    assert np.array_equal(out[0], out[1])
    assert metrics.compute("multiclass", ["accuracy"], y[200:], out[0])[0]["accuracy"] > 0.7
    multi = np.stack([y == 0, np.zeros_like(y)], axis=1).astype(np.float32)  # label 1 never on
    out = probe.fit_predict(LINEAR, "multilabel", (_frames(X[:200]), multi[:200]), None, _frames(X[200:]), [0],
                            "roc_auc", n_outputs=2)[0]
    assert np.all(out[:, 1] == 0) and out[:, 0].max() > 0.5
    reg = probe.fit_predict(LINEAR, "regression", (_frames(X[:200]), X[:200, :2] * 3), None, _frames(X[200:]), [0],
                            "r2", n_outputs=2)[0]
    assert metrics.compute("regression", ["r2"], X[200:, :2] * 3, reg)[0]["r2"] > 0.95


@pytest.mark.parametrize("style", ["sklearn", "torch"])
def test_adam_per_seed_learning_rates_equal_separate_optimisers(style):
    """The unfused path (seeds at different learning rates after a plateau) = the fused one per seed."""
    rng = np.random.default_rng(5)
    params = [torch.tensor(rng.standard_normal((2, 4, 3))), torch.tensor(rng.standard_normal((2, 1, 3)))]
    grads = [[torch.tensor(rng.standard_normal(p.shape)) for p in params] for _ in range(4)]
    together = [p.clone() for p in params]
    opt = E.Adam(together, 1e-2, style, weight_decay=1e-2)
    opt.lr.view(-1)[1] = 3e-3
    alone = [[p[i:i + 1].clone() for p in params] for i in range(2)]
    opts = [E.Adam(alone[i], lr, style, weight_decay=1e-2) for i, lr in enumerate((1e-2, 3e-3))]
    for g in grads:
        opt.step(together, [x.clone() for x in g])
        for i in range(2):
            opts[i].step(alone[i], [x[i:i + 1].clone() for x in g])
    for j in range(2):
        np.testing.assert_allclose(together[j].numpy(), torch.cat([alone[0][j], alone[1][j]]).numpy(), atol=1e-12)


# -- --fast-matmul ----------------------------------------------------------------------------------
@pytest.mark.skipif(not cpu_has_bf16_matmul(), reason="this CPU has neither AVX512-BF16 nor AMX")
def test_fast_matmul_keeps_accuracy_parity_and_restores_float32():
    X, y = load_digits(return_X_y=True)
    X, y = X[:800].astype(np.float32), y[:800]
    tr = np.arange(len(X)) % 4 != 0
    seeds = list(range(10))
    before = torch.backends.mkldnn.matmul.fp32_precision
    fast = probe.fit_predict(with_fast_matmul(COALA), "multiclass", (_frames(X[tr]), y[tr]), None, _frames(X[~tr]),
                             seeds, "accuracy", n_outputs=10)
    assert torch.backends.mkldnn.matmul.fp32_precision == before
    exact = probe.fit_predict(COALA, "multiclass", (_frames(X[tr]), y[tr]), None, _frames(X[~tr]), seeds, "accuracy",
                              n_outputs=10)
    # the products really ran in reduced precision, deterministically, and the probe is as
    # accurate as scikit-learn's
    assert not np.array_equal(fast[0], exact[0])
    # bitwise only with the batch of seeds pinned: its size changes the bf16 kernels' blocking
    twice = [probe.fit_predict(with_fast_matmul(COALA), "multiclass", (_frames(X[tr]), y[tr]), None, _frames(X[~tr]),
                               seeds[:2], "accuracy", n_outputs=10) for _ in range(2)]
    assert all(np.array_equal(twice[0][s], twice[1][s]) for s in seeds[:2])
    ours = [metrics.compute("multiclass", ["accuracy"], y[~tr], fast[s])[0]["accuracy"] for s in seeds]
    theirs = _sklearn_accuracy(X[tr], y[tr], X[~tr], y[~tr], seeds)
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01, (np.mean(ours), np.mean(theirs))


@pytest.mark.parametrize("how", ["torch says no", "BENCH_CPU_BF16=0"])
def test_fast_matmul_refuses_a_cpu_without_bf16_units(monkeypatch, how):
    if how == "BENCH_CPU_BF16=0":
        monkeypatch.setenv("BENCH_CPU_BF16", "0")
    else:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    X, y = _data()
    with pytest.raises(BenchError, match="AVX512-BF16 or AMX"):
        probe.fit_predict(with_fast_matmul(COALA), "multiclass", (_frames(X), y), None, _frames(X), [0], "accuracy")


def test_fast_matmul_is_part_of_the_protocol_identity():
    fast = with_fast_matmul(COALA)
    assert fast.to_dict() != COALA.to_dict()  # so the run key differs
    assert protocol_label(fast.to_dict()) == "coala+fast-matmul" and protocol_label(COALA.to_dict()) == "coala"
    with pytest.raises(BenchError, match="MLP probes"):
        with_fast_matmul(LINEAR)


def test_run_refuses_fast_matmul_before_extracting(tmp_path, monkeypatch):
    from tests.helpers import run_bench as run
    from tests.helpers import write_csv_dataset

    monkeypatch.setenv("BENCH_CPU_BF16", "0")
    csv = write_csv_dataset(tmp_path / "data")
    with pytest.raises(BenchError, match="AVX512-BF16 or AMX"):
        run("mfcc", f"csv:{csv}", fast_matmul=True, device="cpu", cache_dir=tmp_path / "cache",
            results_dir=tmp_path / "results")
    assert not (tmp_path / "cache" / "embeddings").exists()  # nothing was extracted first
