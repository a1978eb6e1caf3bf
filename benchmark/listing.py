"""Rows of ``bench list embedders|tasks|protocols``."""
from __future__ import annotations

from pathlib import Path

from . import config


def embedder_rows() -> list[list[str]]:
    from embedders import EMBEDDERS

    rows = []
    for name in EMBEDDERS.names():
        try:
            cls, preset = EMBEDDERS.resolve(name)
            embedder = cls(**preset)
            rows.append([name, str(embedder.dim), str(embedder.sample_rate) if embedder.input_kind == "audio" else "-",
                         embedder.input_kind, embedder.describe()])
        except Exception as exc:  # one broken plugin must not hide the others
            rows.append([name, "?", "?", "?", f"unavailable: {exc}"])
    return rows


def task_rows(data_home: str | Path | None = None) -> list[list[str]]:
    from tasks import TASKS

    home = config.data_home(data_home)
    rows = []
    for name in TASKS.names():
        try:
            task = TASKS.create(name)
            root = task.root(home)
            present = "yes" if Path(root).is_dir() or name == "demo" else f"no ({root})"
            metrics = ", ".join(task.metrics)
            rows.append([name, task.kind, task.split_description, metrics, task.protocol, present])
        except Exception as exc:
            rows.append([name, "?", "?", "?", "?", f"unavailable: {exc}"])
    return rows


def protocol_rows() -> list[list[str]]:
    from .protocols import PROTOCOLS

    return [[name, PROTOCOLS.create(name).describe()] for name in PROTOCOLS.names()]
