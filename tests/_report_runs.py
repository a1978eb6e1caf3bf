"""Synthetic RunRecord JSONs in the results-store layout, for the report, plot and site tests."""
from __future__ import annotations

import hashlib
import json
import statistics
from pathlib import Path

import numpy as np

TASK_INFO = {
    "demo": ("multiclass", ["accuracy"], 5),
    "us8k": ("multiclass", ["accuracy"], 10),
    "gtzan": ("multiclass", ["accuracy"], 1),
    "nsynth": ("multiclass", ["accuracy"], 1),
    "us8k-tag": ("multiclass", ["accuracy"], 10),
    "mtat": ("multilabel", ["roc_auc", "pr_auc"], 1),
}


def write_run(
    results_dir: Path, task: str, embedder: str, level: float, *, protocol: str = "coala", seeds: int = 10,
    spread: float = 0.01, status: str = "complete", skipped: list[str] | None = None, dim: int = 128,
    clips_per_s: float = 100.0, seed_offset: int = 0, finished: str = "2026-11-21T23:00:00",
) -> dict:
    """One record whose headline metric is about ``level`` (fraction), ``seeds`` seeds x the task's splits."""
    kind, metrics, n_splits = TASK_INFO.get(task, ("multiclass", ["accuracy"], 2))
    seed = int(hashlib.sha256(f"{task}|{embedder}|{protocol}|{seed_offset}".encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    splits = [f"fold{i + 1}" if n_splits > 1 else "test" for i in range(n_splits)]
    scores = []
    for seed in range(seeds):
        for split in splits:
            vals = {m: float(np.clip(level - 0.2 * i + rng.normal(0, spread), 0, 1)) for i, m in enumerate(metrics)}
            scores.append({"split": split, "seed": seed, "metrics": vals, "extra": {}})
    summary = {}
    for m in metrics:
        per_seed = [statistics.fmean(s["metrics"][m] for s in scores if s["seed"] == seed) for seed in range(seeds)]
        mean = statistics.fmean(per_seed)
        std = statistics.stdev(per_seed) if seeds > 1 else 0.0
        summary[m] = {"mean": mean, "std": std, "ci95": [mean - 2 * std / seeds**0.5, mean + 2 * std / seeds**0.5],
                      "ci_method": "t", "n_seeds": seeds, "per_seed": per_seed}
    key = hashlib.sha256(f"{task}{embedder}{protocol}{seed_offset}{finished}".encode()).hexdigest()
    record = {
        "schema": 1, "run_key": key, "status": status,
        "embedder": {"name": embedder, "config": {"name": embedder, "sr": 22000}, "dim": dim},
        "task": {"name": task, "dataset": task.split("-")[0], "kind": kind, "metrics": metrics, "labels": ["a", "b"],
                 "n_clips": 100, "clip_hash": "c" * 16,
                 "splits": [{"name": s, "n_train": 80, "n_valid": 0, "n_test": 20} for s in splits]},
        "protocol": {"name": protocol, "hidden": [256]}, "seeds": list(range(seeds)), "cache_key": "k" * 40,
        "scores": scores, "summary": summary if status == "complete" else {},
        "skipped": {"count": len(skipped or []), "ids": list(skipped or [])}, "notes": {},
        "timings": {"extract_s": 10.0, "probe_s": 5.0, "extract_clips_per_s": clips_per_s},
        "versions": {"bench": "0.1.0", "torch": "2.13"}, "created": "2026-11-21T22:00:00",
        "finished": finished if status == "complete" else None,
    }
    path = Path(results_dir) / "runs" / task / embedder / f"{protocol}-{key[:12]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")
    return record
