"""Rows of ``bench list embedders|tasks|protocols``."""
from __future__ import annotations

from pathlib import Path

from benchmark.core import config
from benchmark.core.registry import Registries


def embedder_rows(registries: Registries) -> list[list[str]]:
    rows = []
    for name in registries.embedders.names():
        try:
            cls, preset = registries.embedders.resolve(name)
            embedder = cls(**preset)
            rows.append([name, str(embedder.dim), str(embedder.sample_rate) if embedder.input_kind == "audio" else "-",
                         embedder.input_kind, embedder.describe()])
        except Exception as exc:  # one broken plugin must not hide the others
            rows.append([name, "?", "?", "?", f"unavailable: {exc}"])
    return rows


def task_rows(registries: Registries, data_home: str | Path | None = None) -> list[list[str]]:
    home = config.data_home(data_home)
    rows = []
    for name in registries.tasks.names():
        try:
            task = registries.tasks.create(name)
            root = task.root(home)
            present = "yes" if Path(root).is_dir() or name == "demo" else f"no ({root})"
            metrics = ", ".join(task.metrics)
            rows.append([name, task.kind, task.split_description, metrics, task.protocol, present])
        except Exception as exc:
            rows.append([name, "?", "?", "?", "?", f"unavailable: {exc}"])
    return rows


def protocol_rows() -> list[list[str]]:
    from benchmark.probe.protocols import PROTOCOLS

    rows = []
    for name in PROTOCOLS.names():
        p = PROTOCOLS.create(name)
        if p.probe == "linear":
            model = "linear (logistic / ridge), deterministic (1 seed on the full training set)"
        elif p.probe == "knn":
            model = f"kNN k={p.k}, standardised cosine, exp(sim/{p.temperature:g}) votes, no training (1 seed)"
        elif p.probe == "knn-xares":
            model = (f"X-ARES kNN k={p.k}, per-dimension normalised train, softmax(sim/{p.temperature:g}) votes, "
                     "multiclass only, no training (1 seed)")
        else:
            model = f"MLP {'-'.join(map(str, p.hidden))}, Adam lr {p.lr:g}, {p.weight_decay_style} {p.weight_decay:g}, batch {p.batch_size}"
        stop = (f"train loss (tol {p.tol:g}, {p.patience} epochs)" if p.stopping == "train_loss"
                else f"valid metric (patience {p.patience})")
        rows.append([name, model, f"≤{p.max_epochs} epochs, stop on {stop}" if p.probe == "mlp" else "-",
                     "yes" if p.uses_validation else "no",
                     p.pooling + (", chunk-level" if p.chunk_training else "")])
    return rows
