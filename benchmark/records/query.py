"""Reading run records for tables, plots and the site, and picking one record per cell."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable

from benchmark.core.errors import BenchError
from .identity import display_name, embedder_matches, label_embedders, label_tasks, matches
from .results import ResultsStore, protocol_label
from benchmark.stats.scores import ci_kind, clip_interval


def _as_dict(record: Any) -> dict[str, Any]:
    if isinstance(record, dict):
        return record
    if hasattr(record, "to_dict"):
        return record.to_dict()
    if dataclasses.is_dataclass(record):
        return dataclasses.asdict(record)
    raise TypeError(f"cannot read a run record of type {type(record).__name__}")


def load_records(results_dir: str | Path) -> list[dict[str, Any]]:
    """Every run record under ``results_dir`` as plain dicts (complete and running)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise BenchError(
            f"No results folder at {root}. Run a benchmark first (`bench run --embedder mfcc --task demo`) "
            "or point --results-dir at the folder that holds runs/."
        )
    # the results store owns the on-disk format; running records are shown as such
    records = [_as_dict(r) for r in ResultsStore(root).records(complete_only=False)]
    label_tasks(records)  # one task name on two clip sets: two columns, with names that tell them apart
    label_embedders(records)  # one embedder run with other weights or options: two rows
    return records


def protocol_name(record: dict[str, Any]) -> str:
    return protocol_label(record.get("protocol"))


def embedder_name(record: dict[str, Any]) -> str:
    """The embedder as tables show and group it: its name, or its label where the name ran with
    different weights or options (see ``benchmark.records.identity.label_embedders``)."""
    embedder = record.get("embedder") or {}
    return str(embedder.get("label") or embedder.get("name", "?"))


def embedder_wanted(record: dict[str, Any], wanted: Iterable[str]) -> bool:
    """Whether ``--embedder`` values name this record's embedder (its name, its label, or the
    spec it was run with: ``path.py:Class``; see ``benchmark.records.identity.embedder_names``)."""
    return any(embedder_matches(record, w) for w in wanted)


def task_name(record: dict[str, Any]) -> str:
    """The task as tables show and group it: its name, or its label where the name is shared by
    several clip sets (see ``benchmark.records.identity.label_tasks``)."""
    return display_name(record.get("task") or {})


def task_wanted(record: dict[str, Any], wanted: Iterable[str]) -> bool:
    return any(matches(record.get("task") or {}, w) for w in wanted)


def headline_metric(record: dict[str, Any]) -> str | None:
    metrics = (record.get("task") or {}).get("metrics") or []
    if metrics:
        return metrics[0]
    summary = record.get("summary") or {}
    return next(iter(summary), None)


def _order(record: dict[str, Any]) -> tuple:
    # a complete run beats a running one; then the newest wins
    return (record.get("status") == "complete", str(record.get("finished") or ""), str(record.get("created") or ""))


def pick(records: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    candidates = list(records)
    return max(candidates, key=_order) if candidates else None


def index(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(task, embedder, protocol) -> the record that represents it (complete and newest first)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault((task_name(rec), embedder_name(rec), protocol_name(rec)), []).append(rec)
    return {key: pick(group) for key, group in groups.items()}  # type: ignore[misc]


def metric_values(record: dict[str, Any], metric: str) -> dict[str, Any] | None:
    """mean, std, ci95, n_seeds of a metric in [0, 1]; computed from the scores when the record is
    still running and has no summary yet."""
    summary = (record.get("summary") or {}).get(metric)
    if summary and summary.get("mean") is not None:
        return {
            "mean": float(summary["mean"]), "std": float(summary.get("std") or 0.0),
            # an interval over folds or test clips stands with any number of seeds; an older record's
            # interval over seeds needs two; any is kept inside the metric's range
            "ci95": clip_interval(metric, summary["ci95"])[0]
            if summary.get("ci95") and (ci_kind(summary) in ("folds", "test clips")
                                        or int(summary.get("n_seeds") or 0) > 1) else None,
            "ci_unit": ci_kind(summary),
            "n_seeds": int(summary.get("n_seeds") or 0),
            "per_seed": summary.get("per_seed") or [],
        }
    per_seed: dict[int, list[float]] = {}
    for score in record.get("scores") or []:
        value = (score.get("metrics") or {}).get(metric)
        if value is not None and not math.isnan(float(value)):
            per_seed.setdefault(int(score.get("seed", 0)), []).append(float(value))
    if not per_seed:
        return None
    means = [sum(v) / len(v) for _, v in sorted(per_seed.items())]
    mean = sum(means) / len(means)
    std = math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1)) if len(means) > 1 else 0.0
    return {"mean": mean, "std": std, "ci95": None, "n_seeds": len(means), "per_seed": means}


def skipped_count(record: dict[str, Any]) -> int:
    skipped = record.get("skipped") or {}
    if isinstance(skipped, dict):
        return int(skipped.get("count") or len(skipped.get("ids") or []))
    return len(skipped)


def skipped_ids(record: dict[str, Any]) -> list[str]:
    skipped = record.get("skipped") or {}
    return [str(i) for i in (skipped.get("ids") or [])] if isinstance(skipped, dict) else [str(i) for i in skipped]
