"""``bench compare A B --task T``: is embedder A better than B on a task, beyond seed noise?

Loads the latest complete RunRecord of each (task, embedder[, protocol]), runs
``stats.paired_test`` on their matching (split, seed) scores and formats the answer.
"""
from __future__ import annotations

from pathlib import Path

from .errors import BenchError
from .identity import display_name, latest_run, require_one_clip_set, require_same_data
from .results import protocol_label
from .stats import NOT_COMPARABLE, TOO_FEW, paired_test


def load_pair(results_dir: str | Path, task: str, embedder_a: str, embedder_b: str,
              protocol: str | None = None) -> tuple[dict, dict]:
    from .results import ResultsStore

    store = ResultsStore(Path(results_dir))
    run_flags = ""
    if protocol:
        base, fast, _ = protocol.partition("+fast-matmul")
        run_flags = f" --protocol {base}" + (" --fast-matmul" if fast else "")
    complete = store.records()
    require_one_clip_set(complete, task)  # one task name may stand for two datasets (csv:data)
    records = []
    for name in (embedder_a, embedder_b):
        record = latest_run(complete, task, name, protocol)
        if record is None:
            what = f"task '{task}'" + (f", protocol '{protocol}'" if protocol else "")
            raise BenchError(f"No complete run of embedder '{name}' on {what} in {store.root}. "
                             f"Run 'bench run --embedder {name} --task {task}"
                             + run_flags + "' first.")
        records.append(record)
    a, b = records
    require_same_data(a, b)
    if protocol is None and protocol_label(a["protocol"]) != protocol_label(b["protocol"]):
        raise BenchError(f"The latest runs used different protocols ({protocol_label(a['protocol'])} vs "
                         f"{protocol_label(b['protocol'])}); pass --protocol to compare like with like.")
    return a, b


def compare_records(a: dict, b: dict, metric: str | None = None) -> dict:
    metric = metric or a["task"]["metrics"][0]
    result = paired_test(a, b, metric)
    result.update(embedder_a=a["embedder"]["name"], embedder_b=b["embedder"]["name"], task=display_name(a["task"]),
                  protocol=protocol_label(a["protocol"]))
    return result


def verdict(result: dict) -> str:
    """The one-line answer; it never claims more than the number of pairs allows."""
    a, b, n = result["embedder_a"], result["embedder_b"], result["n_pairs"]
    alpha = result.get("alpha", 0.05)
    if result.get("status") == NOT_COMPARABLE:
        return (f"not comparable: {result['n_nan']} of {n} (split, seed) pairs have a NaN {result['metric']} "
                "(an undefined metric, e.g. a label with no positive test clip); see the runs' notes")
    if result.get("status") == TOO_FEW:
        return (f"too few (split, seed) pairs to test: {n} pair(s), whose smallest possible p is "
                f"{result['min_p_value']:.3g}; at least {result['min_pairs']} are needed for p < {alpha:g} "
                "(run both with more --seeds or on a task with more splits)")
    if result["p_value"] < alpha:
        return f"{a if result['diff'] > 0 else b} is better (p < {alpha:g})"
    return f"no significant difference (p >= {alpha:g})"


def format_comparison(result: dict) -> str:
    pct = 100.0
    a, b, metric = result["embedder_a"], result["embedder_b"], result["metric"]
    lines = [f"{a} vs {b} on {result['task']} ({result['protocol']}), {metric}:",
             f"  {a}: {result['mean_a'] * pct:.2f}   {b}: {result['mean_b'] * pct:.2f}"]
    if result.get("diff") is not None:
        line = f"  difference (A - B): {result['diff'] * pct:+.2f} points"
        if result.get("ci95"):
            lo, hi = result["ci95"]
            line += f", 95% CI [{lo * pct:+.2f}, {hi * pct:+.2f}], p = {result['p_value']:.4g}"
        lines.append(line)
    lines += [f"  {result['n_pairs']} matching (split, seed) pairs over {result['n_splits']} split(s); {result['method']}",
              f"  verdict: {verdict(result)}"]
    return "\n".join(lines)


def compare(results_dir: str | Path, task: str, embedder_a: str, embedder_b: str, metric: str | None = None,
            protocol: str | None = None) -> str:
    a, b = load_pair(results_dir, task, embedder_a, embedder_b, protocol)
    return format_comparison(compare_records(a, b, metric))
