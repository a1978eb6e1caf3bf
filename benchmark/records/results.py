"""RunRecord: one JSON per (embedder, task, protocol, seeds, data) run, in an append-only store.

``<results_dir>/runs/<task>/<embedder>/<protocol>-<run_key[:12]>.json``. A record is created
with status "running", rewritten atomically after each (split, seed) score so a killed run
resumes where it stopped, and frozen once "complete": a run with other inputs gets a new key
and a new file, earlier records are never overwritten.

Schema (version 1): schema, run_key, status, embedder{name, config, dim}, task{name, dataset,
kind, metrics, labels, n_clips, clip_hash, data_hash (the audio files' identity), splits[{name, n_train, n_valid, n_test}]}, protocol,
seeds, cache_key, scores[{split, seed, metrics{name: fraction}, extra}], summary{metric: {mean,
std, ci95, ci_method, n_seeds, per_seed}}, skipped{count, ids}, notes, timings, versions,
created, finished. Summary entries written since issue 20 add per_split, ci_unit and ci_n (the
interval is over folds or test clips; older ones are over seeds). A one-split run's per-clip test
predictions lie beside its record in ``<record>.predictions.npz`` (``benchmark.probe.predictions``); in
memory a record read or saved by the store carries its file's path in ``_path`` (never written).
"""
from __future__ import annotations

import json
import os
import platform
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from benchmark import __version__

SCHEMA_VERSION = 1


def now() -> str:
    # microseconds: two runs finished within one second must still order (compare names the older)
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def library_versions() -> dict[str, str]:
    versions = {"bench": __version__, "python": platform.python_version()}
    for module in ("numpy", "torch", "sklearn", "librosa", "scipy", "pandas"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # a missing optional library is just not listed
            pass
    return versions


def safe_name(name: str) -> str:
    """A file-system-safe folder name for an embedder or task spec (which may hold paths)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80] or "unnamed"


class ResultsStore:
    """Reads and writes RunRecords under ``results_dir``. Safe to share between processes: every
    write is a temporary file renamed over the record, and ``bench run`` holds the run's lock
    (``benchmark.core.locks.run_lock``, in ``.locks/``) so an identical run waits instead of racing."""

    def __init__(self, results_dir: Path) -> None:
        self.root = Path(results_dir)

    def path_for(self, record: dict) -> Path:
        return (self.root / "runs" / safe_name(record["task"]["name"]) / safe_name(record["embedder"]["name"])
                / f"{safe_name(record['protocol']['name'])}-{record['run_key'][:12]}.json")

    def find(self, run_key: str) -> dict | None:
        for path in self.root.glob(f"runs/*/*/*-{run_key[:12]}.json"):
            record = _read(path)
            if record and record.get("run_key") == run_key:
                return record
        return None

    def save(self, record: dict) -> Path:
        path = self.path_for(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        record["_path"] = str(path)  # in memory only: where its predictions file lies
        try:
            stored = {k: v for k, v in record.items() if not k.startswith("_")}
            tmp.write_text(json.dumps(stored, indent=1, default=_json_default))
            os.replace(tmp, path)
        except OSError as exc:
            from benchmark.core.writable import RESULTS, write_error

            raise write_error(self.root, RESULTS, exc, kept="Embeddings are kept in the cache.") from exc
        finally:
            tmp.unlink(missing_ok=True)  # a full disk or a bad value leaves no temporary file
        return path

    def save_predictions(self, record: dict, split: str, seeds: list[int], entries: list[dict]) -> None:
        """One split's per-clip test predictions, beside the record (before its scores are saved)."""
        from benchmark.probe.predictions import path_beside, save_split

        try:
            save_split(path_beside(self.path_for(record)), split, seeds, entries)
        except OSError as exc:
            from benchmark.core.writable import RESULTS, write_error

            raise write_error(self.root, RESULTS, exc, kept="Embeddings are kept in the cache.") from exc

    def records(self, complete_only: bool = True) -> list[dict]:
        found = [_read(p) for p in sorted(self.root.glob("runs/*/*/*.json"))]
        return [r for r in found if r and (r.get("status") == "complete" or not complete_only)]

    def latest(self, task: str, embedder: str, protocol: str | None = None, complete_only: bool = True) -> dict | None:
        """The most recently finished record of a (task, embedder[, protocol])."""
        matching = [
            r for r in self.records(complete_only)
            if r["task"]["name"] == task and r["embedder"]["name"] == embedder
            and (protocol is None or protocol_label(r["protocol"]) == protocol)
        ]
        return max(matching, key=lambda r: r.get("finished") or r.get("created") or "", default=None)


def _read(path: Path) -> dict | None:
    from .record_check import read_record

    record = read_record(path, [SCHEMA_VERSION])  # a damaged file: a warning naming it, and None
    if record is not None:
        record["_path"] = str(path)  # in memory only: where its predictions file lies
    return record


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def new_record(run_key: str, embedder: dict, task: dict, protocol: dict, seeds: Iterable[int], cache_key: str) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "run_key": run_key,
        "status": "running",
        "embedder": embedder,
        "task": task,
        "protocol": protocol,
        "seeds": list(seeds),
        "cache_key": cache_key,
        "scores": [],
        "summary": {},
        "skipped": {"count": 0, "ids": []},
        "notes": {},
        "timings": {},
        "versions": library_versions(),
        "created": now(),
        "finished": None,
    }


def done_pairs(record: dict) -> set[tuple[str, int]]:
    return {(s["split"], int(s["seed"])) for s in record.get("scores", [])}


def protocol_label(protocol: dict | str | None) -> str:
    """A record's protocol as tables and filters name it: ``coala``, or ``coala+fast-matmul`` for a
    run whose probe used reduced-precision products (kept apart from the float32 runs), with a
    variant's mark (``coala@10%``, ``coala~noise:snr=10``: see benchmark.records.variants)."""
    if not isinstance(protocol, dict):
        return str(protocol or "?")
    from .variants import label_suffix

    return (str(protocol.get("name", "?")) + ("+fast-matmul" if protocol.get("fast_matmul") else "")
            + label_suffix(protocol))


def format_summary(record: dict) -> str:
    """A one-run table: each metric's mean ± std over seeds (percent, the paper-style column), its
    headline 95% CI and what the CI is over (folds, test clips; "seeds" for an older record's
    interval, which holds seed noise only), the seeds and the splits."""
    from tabulate import tabulate

    from benchmark.stats.scores import CI_METHOD_TEXT, SEEDS_ONLY_TEXT, ci_kind, ci_text

    rows = []
    for metric, s in record.get("summary", {}).items():
        mean = "n/a" if s.get("mean") is None else f"{100 * s['mean']:.1f} ± {100 * (s.get('std') or 0.0):.1f}"
        rows.append([record["task"]["name"], record["embedder"]["name"], protocol_label(record["protocol"]), metric,
                     mean, ci_text(s, metric), ci_kind(s) or "-", s.get("n_seeds", len(record.get("seeds", []))),
                     s.get("n_splits", len((record.get("task") or {}).get("splits") or []) or "?")])
    table = tabulate(rows, headers=["task", "embedder", "protocol", "metric", "mean ± std over seeds", "95% CI",
                                    "CI over", "seeds", "splits"], tablefmt="github")
    table += (f"\nmean ± std: over seeds (probe noise on the same clips). 95% CI {CI_METHOD_TEXT}; "
              f"an older record's interval over seeds is marked '{SEEDS_ONLY_TEXT}'.")
    skipped = record.get("skipped", {}).get("count", 0)
    return table + (f"\n{skipped} clips skipped (missing or unreadable): see the run record." if skipped else "")
