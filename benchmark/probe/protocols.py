"""Named probe protocols with the papers' hyper-parameters.

* ``coala``: scikit-learn ``MLPClassifier(hidden_layer_sizes=(256,))`` with its defaults, as in the
  COALA and contextual-tag evaluation scripts: standardised mean-pooled embeddings, Glorot-uniform
  init, Adam (lr 1e-3, L2 alpha 1e-4 as scikit-learn applies it), minibatch 200 reshuffled each
  epoch, at most 200 epochs, stop when the training loss has not improved by 1e-4 for 10 epochs,
  no validation set.
* ``mulap``: MuLaP's downstream trainer: one hidden layer (512), Adam lr 1e-3 with coupled weight
  decay, ReduceLROnPlateau(factor 0.5, max mode) and early stopping (patience 50) on the
  validation metric, test at the best-validation epoch; chunk-level training on one random
  chunk per track per epoch, track prediction = mean of the chunk logits. Per-task values come
  from the authors' configs (``MULAP_TASK_OVERRIDES``). As in MuLaP's code: no feature
  standardisation, torch's default Linear init, coupled weight decay on weights and biases,
  incomplete last minibatch dropped, validation scored on one random chunk per clip each epoch,
  the scheduler stepped on the validation metric (patience 10, threshold 1e-4 relative), and at
  test time the mean of the chunk logits (softmax after) or, for multi-label, of the chunk
  sigmoids (MuLaP's ``output.mean(dim=1)``). One deviation: the best validation score starts at
  -inf, not 0, so a metric that stays <= 0 (r2) still selects an epoch.
* ``linear``: logistic regression (one-vs-rest for multi-label) / ridge regression on
  standardised mean-pooled features, for exploring; deterministic (every seed gives the same
  numbers), so a run on the full training set records one seed and says why
  (``variants.deterministic_reason``); with ``--train-fraction``/``--train-per-class`` the seeds
  draw different training subsets and all run. ``weight_decay`` is the L2 strength: LogisticRegression(C=1/weight_decay),
  Ridge(alpha=weight_decay).
* ``weighted-layers``: ``coala`` on a learned softmax-weighted sum of every layer of an embedder
  with layers (s3prl/SUPERB, MARBLE); the weights are saved per seed in the RunRecord
  (``benchmark/probe/weighted.py``).

For multi-label and regression tasks ``coala`` keeps MLPClassifier's / MLPRegressor's semantics:
logistic outputs with the summed binary log-loss, or identity outputs with half the squared error.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from benchmark.core.errors import BenchError
from benchmark.core.registry import Registry


@dataclass(frozen=True)
class Protocol:
    name: str
    probe: str = "mlp"  # "mlp", "linear", "weighted" (MLP on learned layer weights), "knn" or "knn-xares"
    hidden: tuple[int, ...] = (256,)
    dropout: float = 0.0
    lr: float = 1e-3
    #: "sklearn_l2": alpha * ||W||^2 / (2 n_samples) added to the loss (MLPClassifier's alpha);
    #: "coupled": torch Adam ``weight_decay``
    weight_decay_style: str = "sklearn_l2"
    weight_decay: float = 1e-4
    batch_size: int = 200
    max_epochs: int = 200
    #: "train_loss": stop when the training loss has not improved by ``tol`` for ``patience`` epochs;
    #: "valid_metric": early stopping on the validation headline metric, test at the best epoch
    stopping: str = "train_loss"
    tol: float = 1e-4
    patience: int = 10
    lr_schedule: str | None = None  # None or "plateau" (ReduceLROnPlateau on the validation metric)
    lr_factor: float = 0.5
    uses_validation: bool = False
    pooling: str = "mean"
    standardize: bool = True
    #: train on one random frame (chunk) per clip per epoch; predict by averaging chunk logits
    chunk_training: bool = False
    init: str = "glorot_uniform"  # "glorot_uniform" (scikit-learn) or "torch_default"
    #: let the MLP's float32 matrix products round their inputs to bfloat16 (CPU with AVX512-BF16/AMX)
    #: or TF32 (CUDA), accumulating in float32; several times faster, not step-for-step equal to float32
    fast_matmul: bool = False
    #: ``knn``/``knn-xares`` probes (benchmark.probe.knn): neighbours, and the temperature T of the exp(similarity / T) votes
    k: int | None = None
    temperature: float | None = None
    #: label-efficiency runs (benchmark.data.subsets): a seeded stratified share, or N clips per class, of training
    train_fraction: float | None = None
    train_per_class: int | None = None
    #: robustness runs (benchmark.data.deform): the deformation spec, and whether training clips get it too
    deform: str | None = None
    deform_train: bool | None = None

    def __post_init__(self) -> None:
        if self.probe in ("knn", "knn-xares"):  # k=0 or T=0 is an error, never replaced by a default
            from .knn import check_parameters

            check_parameters(self.k, self.temperature, self.name)

    def to_dict(self) -> dict[str, Any]:
        # the optional fields are left out while unset, so runs of the plain protocols keep their keys
        return {k: v for k, v in dataclasses.asdict(self).items() if not (k in OPTIONAL_FIELDS and v is None)}

    def describe(self) -> str:
        fields = self.to_dict()
        fields.pop("name")
        return ", ".join(f"{k}={v}" for k, v in fields.items())


OPTIONAL_FIELDS = ("k", "temperature", "train_fraction", "train_per_class", "deform", "deform_train")

COALA = Protocol(name="coala")

MULAP = Protocol(
    name="mulap",
    hidden=(512,),
    weight_decay_style="coupled",
    weight_decay=1e-3,
    batch_size=64,
    max_epochs=200,
    stopping="valid_metric",
    patience=50,
    lr_schedule="plateau",
    uses_validation=True,
    chunk_training=True,
    standardize=False,
    init="torch_default",
)

WEIGHTED_LAYERS = Protocol(name="weighted-layers", probe="weighted")

LINEAR = Protocol(name="linear", probe="linear", hidden=(), weight_decay=1.0, max_epochs=1000)  # max_epochs = max_iter

#: bench's standardised cosine kNN (X-ARES's vote, not its features): no training, deterministic, see benchmark.probe.knn
KNN = Protocol(name="knn", probe="knn", hidden=(), lr=0.0, weight_decay=0.0, batch_size=0, max_epochs=0, tol=0.0,
               patience=0, init="none", k=10, temperature=0.07)

#: X-ARES's kNN exactly (per-dimension normalised training matrix, multiclass only), see benchmark.probe.knn
KNN_XARES = dataclasses.replace(KNN, name="knn-xares", probe="knn-xares", standardize=False)

#: per-dataset values of the MuLaP downstream configs (hidden, weight decay, batch, max epochs)
MULAP_TASK_OVERRIDES: dict[str, dict[str, Any]] = {
    "mtat": dict(hidden=(512,), weight_decay=1e-3, batch_size=64, max_epochs=300),
    "nsynth": dict(hidden=(512,), weight_decay=1e-3, batch_size=64, max_epochs=200),
    "fma": dict(hidden=(512,), weight_decay=1e-3, batch_size=64, max_epochs=200),
    "mtg_jamendo": dict(hidden=(512,), weight_decay=0.0, batch_size=32, max_epochs=200),
    "emomusic": dict(hidden=(1024,), weight_decay=1e-2, batch_size=64, max_epochs=200),
}


def for_task(protocol: Protocol, dataset: str) -> Protocol:
    """The protocol with the per-dataset values of its paper applied (``mulap`` only)."""
    if protocol.name == "mulap" and dataset in MULAP_TASK_OVERRIDES:
        return dataclasses.replace(protocol, **MULAP_TASK_OVERRIDES[dataset])
    return protocol


def with_fast_matmul(protocol: Protocol) -> Protocol:
    """``protocol`` with reduced-precision matrix products (``bench run --fast-matmul``)."""
    if protocol.probe != "mlp":
        raise BenchError(f"--fast-matmul applies to MLP probes; protocol '{protocol.name}' is {protocol.probe}.")
    return dataclasses.replace(protocol, fast_matmul=True)


PROTOCOLS = Registry(
    "protocol",
    {"coala": "benchmark.probe.protocols:COALA", "mulap": "benchmark.probe.protocols:MULAP", "linear": "benchmark.probe.protocols:LINEAR",
     "weighted-layers": "benchmark.probe.protocols:WEIGHTED_LAYERS", "knn": "benchmark.probe.protocols:KNN",
     "knn-xares": "benchmark.probe.protocols:KNN_XARES"},
    base="benchmark.probe.protocols:Protocol",
)
