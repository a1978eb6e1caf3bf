"""``bench compare A B --task T``: is embedder A better than B on this task's data?

Loads the latest complete RunRecord of each (task, embedder[, protocol]), runs
``stats.paired_test`` (a paired t over folds, or a paired bootstrap over test clips: seeds are
averaged within a split, never counted as draws) and formats the answer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.core.errors import BenchError
from benchmark.records.identity import (
    display_name,
    latest_run,
    matches,
    require_one_choice,
    require_one_clip_set,
    require_same_data,
)
from benchmark.records.results import protocol_label
from benchmark.records.variants import variant_kinds
from benchmark.stats.scores import NOT_COMPARABLE, significant, paired_test
from benchmark.core.suggest import command


def load_pair(results_dir: str | Path, task: str, embedder_a: str, embedder_b: str,
              protocol: str | None = None, registries: Any = None) -> tuple[dict, dict]:
    from benchmark.records.results import ResultsStore

    store = ResultsStore(Path(results_dir))
    complete = store.records()
    require_one_clip_set(complete, task)  # one task name may stand for two datasets (csv:data)
    records = []
    for name in (embedder_a, embedder_b):
        require_one_choice(complete, task, name)
        # without --protocol, the plain run (a deformed or training-subset run is one only when asked for)
        plain = [r for r in complete if not variant_kinds(r)]
        record = (latest_run(plain, task, name) if protocol is None else None) or latest_run(complete, task, name, protocol)
        if record is None:
            what = f"task '{task}'" + (f", protocol '{protocol}'" if protocol else "")
            raise BenchError(f"No complete run of embedder '{name}' on {what} in {store.root}. "
                             + run_hint(store, Path(results_dir), name, task, protocol, registries))
        records.append(record)
    a, b = records
    require_same_data(a, b)
    if protocol is None and protocol_label(a["protocol"]) != protocol_label(b["protocol"]):
        raise BenchError(f"The latest runs used different protocols ({protocol_label(a['protocol'])} vs "
                         f"{protocol_label(b['protocol'])}); pass --protocol to compare like with like.")
    return a, b


def _spec_of(store: Any, field: str, name: str, registries: Any) -> str | None:
    """How ``bench run`` must be given the embedder or task that records call ``name``: the spec an
    earlier run was given (a plugin's file, a CSV's path), else ``name`` when it is registered."""
    for record in store.records(complete_only=False):
        entry = record.get(field) or {}
        named = matches(entry, name) if field == "task" else entry.get("name") == name
        if named and (record.get("spec") or {}).get(field):
            return record["spec"][field]
        if named and field == "task" and entry.get("source") and str(entry.get("name", "")).startswith("csv:"):
            return f"csv:{entry['source']}"  # an older record: the CSV file it was read from
    registry = getattr(registries, f"{field}s", None) if registries is not None else None
    if registry is not None and name in registry.names():
        return name
    if registry is None and ":" not in name:
        return name  # no registries to ask: a plain name is taken as registered
    return None


def run_hint(store: Any, results_dir: Path, embedder: str, task: str, protocol: str | None,
             registries: Any = None) -> str:
    """The ``bench run`` that makes the missing run, when its names can be given as a command line
    takes them; else what to give."""
    from benchmark.core.config import results_dir as default_results_dir

    emb, task_spec = _spec_of(store, "embedder", embedder, registries), _spec_of(store, "task", task, registries)
    from benchmark.records.variants import run_options

    if emb and task_spec:
        explicit = None if Path(results_dir).resolve() == default_results_dir().resolve() else results_dir
        run = command("run", embedder=emb, task=task_spec, **(run_options(protocol) if protocol else {}),
                      results_dir=explicit)
        return f"Run '{run}' first."
    missing = [what for what, found in (("the embedder as path/to/file.py:Class (or its registered name)", emb),
                                        ("the task as csv:PATH to its CSV (or its registered name)", task_spec))
               if not found]
    return ("Run it first with bench run, giving " + " and ".join(missing)
            + " as for the other runs (no run in this results folder records how it was named).")


def compare_records(a: dict, b: dict, metric: str | None = None) -> dict:
    metric = metric or a["task"]["metrics"][0]
    result = paired_test(a, b, metric)
    result.update(embedder_a=a["embedder"].get("label") or a["embedder"]["name"],
                  embedder_b=b["embedder"].get("label") or b["embedder"]["name"], task=display_name(a["task"]),
                  protocol=protocol_label(a["protocol"]))
    return result


def verdict(result: dict) -> str:
    """The one-line answer; it never claims more than the data allow."""
    a, b = result["embedder_a"], result["embedder_b"]
    alpha = result.get("alpha", 0.05)
    if result.get("status") == NOT_COMPARABLE:
        return (f"not comparable: {result.get('reason') or 'NaN scores'} (an undefined metric, e.g. a label with no "
                "positive test clip); see the runs' notes")
    if result.get("p_value") is None:
        return f"no test: {result.get('reason') or result.get('status')}"
    if significant(result["p_value"], alpha):
        return f"{a if result['diff'] > 0 else b} is better (p < {alpha:g})"
    return f"no significant difference (p >= {alpha:g})"


def format_comparison(result: dict) -> str:
    pct = 100.0
    a, b, metric = result["embedder_a"], result["embedder_b"], result["metric"]
    mean = lambda v: "n/a (NaN scores)" if v != v else f"{v * pct:.2f}"  # noqa: E731
    lines = [f"{a} vs {b} on {result['task']} ({result['protocol']}), {metric}; estimand: {result['estimand']}:",
             f"  {a}: {mean(result['mean_a'])}   {b}: {mean(result['mean_b'])}"]
    if result.get("diff") is not None:
        line = f"  difference (A - B): {result['diff'] * pct:+.2f} points"
        if result.get("ci95"):
            lo, hi = result["ci95"]
            line += f", 95% CI [{lo * pct:+.2f}, {hi * pct:+.2f}], p = {result['p_value']:.4g}"
        lines.append(line)
    unit = result.get("unit", "folds")
    lines += [f"  over {result['n_units']} {unit} ({result['n_pairs']} matching (split, seed) scores; seeds averaged "
              f"within a split); {result['method']}"]
    if result.get("warning"):
        lines.append(f"  warning: {result['warning']}")
    lines.append(f"  verdict: {verdict(result)}")
    return "\n".join(lines)


def compare(results_dir: str | Path, task: str, embedder_a: str, embedder_b: str, metric: str | None = None,
            protocol: str | None = None, registries: Any = None) -> str:
    a, b = load_pair(results_dir, task, embedder_a, embedder_b, protocol, registries)
    return format_comparison(compare_records(a, b, metric))
