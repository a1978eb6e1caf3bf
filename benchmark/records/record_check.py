"""Reading RunRecord files defensively: a half-written, hand-edited or foreign JSON under
``results/runs/`` is left out with a warning that names it, so one bad file never stops
``bench table``, ``report``, ``plot`` or ``compare`` for the whole results folder."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from benchmark.core.notices import warn


def record_problem(record: Any) -> str | None:
    """What makes ``record`` unusable for tables and comparisons, or None. NaN metric values are
    allowed (a metric can be undefined on a test set): they are shown as such, not rejected."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not a run record"
    for field, kind in (("run_key", str), ("status", str), ("task", dict), ("embedder", dict),
                        ("protocol", dict), ("scores", list)):
        if not isinstance(record.get(field), kind):
            return f"'{field}' is missing or not a {kind.__name__}"
    if not isinstance(record["task"].get("name"), str) or not isinstance(record["embedder"].get("name"), str):
        return "'task.name' or 'embedder.name' is missing"
    metrics = record["task"].get("metrics")
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        return "'task.metrics' is missing or empty"
    for score in record["scores"]:
        if not (isinstance(score, dict) and isinstance(score.get("split"), str) and isinstance(score.get("metrics"), dict)
                and isinstance(score.get("seed"), int) and not isinstance(score.get("seed"), bool)):
            return "a score lacks its split, seed or metrics"
        if not all(isinstance(v, (int, float)) or v is None for v in score["metrics"].values()):
            return "a score holds a metric that is not a number"
    if not isinstance(record.get("summary", {}), dict):
        return "'summary' is not an object"
    return None


def read_record(path: Path, schemas: Iterable[int]) -> dict | None:
    """The record in ``path``, or None with a warning naming the file and what is wrong with it."""
    advice = "it is left out; delete it, or run the same bench run command again to write it anew."
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None  # replaced or removed by another process meanwhile
    except OSError as exc:
        warn(f"Run record {path} cannot be read ({exc.strerror or exc}): {advice}")
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        warn(f"Run record {path} is not valid JSON (half-written or edited by hand: {exc}): {advice}")
        return None
    schemas = list(schemas)
    if isinstance(record, dict) and record.get("schema") not in schemas:
        warn(f"Run record {path} has schema {record.get('schema')!r}, this bench reads schema "
             f"{', '.join(map(str, schemas))}: it is left out (written by another bench version?).")
        return None
    problem = record_problem(record)
    if problem:
        warn(f"Run record {path} is damaged ({problem}): {advice}")
        return None
    return record
