"""``bench table --robustness``: each deformed run beside the clean run of the same task, embedder
(layer included) and protocol (training-set size included), with the paired drop.

The drop (clean - deformed) has the 95% CI of ``benchmark.stats.scores.paired_test``: a paired t over
folds, or the paired bootstrap over test clips on a one-split task.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from benchmark.core.errors import BenchError


def rows(records: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
         embedders: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per deformed run that has a clean counterpart: scores and the paired drop."""
    from benchmark.stats.scores import paired_test
    from benchmark.records import query as rec

    tasks, embedders = set(tasks or []), set(embedders or [])
    cells = {k: r for k, r in rec.index(records).items() if r.get("status") == "complete"
             and (not tasks or k[0] in tasks) and (not embedders or rec.embedder_wanted(r, embedders))}
    out = []
    for (task, emb, label), record in sorted(cells.items()):
        protocol = record.get("protocol") or {}
        if not protocol.get("deform"):
            continue
        # the clean counterpart is the same run without the deformation: same training-set size
        # (``coala@10%`` for ``coala@10%~noise:snr=10``), same layer (the embedder ``name@N``)
        undeformed = label.partition("~")[0]
        clean = cells.get((task, emb, undeformed))
        metric = rec.headline_metric(record) or "?"
        row = {"task": task, "embedder": emb, "protocol": undeformed, "run_key": record.get("run_key"),
               "deformation": protocol["deform"]
               + (" (train too)" if protocol.get("deform_train") else ""), "metric": metric,
               "deformed": (rec.metric_values(record, metric) or {}).get("mean"), "clean": None, "drop": None,
               "ci95": None, "p_value": None, "n_pairs": 0, "unit": None, "n_units": 0, "reason": None,
               "status": "no clean run"}
        if clean is not None:
            row["clean"] = (rec.metric_values(clean, metric) or {}).get("mean")
            try:
                test = paired_test(clean, record, metric)
            except BenchError:  # no common (split, seed): run on other splits or seeds
                row["status"] = "no common pairs"
            else:  # too few pairs: the paired mean difference without a CI (status says so)
                row.update(drop=test["diff"], ci95=test["ci95"], p_value=test["p_value"], n_pairs=test["n_pairs"],
                           unit=test["unit"], n_units=test["n_units"], reason=test.get("reason"), status=test["status"])
        out.append(row)
    return out


def drop_text(row: dict[str, Any]) -> str:
    """The drop cell: points with the 95% CI, or why there is no CI (never a crash)."""
    from benchmark.stats.scores import NOT_COMPARABLE

    if row["clean"] is None:
        return "no clean run"
    if row["status"] == "no common pairs":
        return "no common (split, seed) pairs"
    if row["status"] == NOT_COMPARABLE:
        return "not comparable (NaN scores)"
    if row["drop"] is None:
        return "n/a"
    if row["ci95"] is None:
        why = "2 folds" if row["status"] == "too few folds" else "no stored test predictions (older run)" \
            if row["status"] == "seed noise only" else row["status"]
        return f"{100 * row['drop']:+.1f} (no CI: {why})"
    return (f"{100 * row['drop']:+.1f} [{100 * row['ci95'][0]:+.1f}, {100 * row['ci95'][1]:+.1f}] "
            f"over {row['n_units']} {row['unit']}")


def render(results_dir: str | Path, fmt: str = "markdown", tasks: Iterable[str] | None = None,
           embedders: Iterable[str] | None = None) -> str:
    """``bench table --robustness`` in markdown, csv, json, latex or html."""
    from benchmark.records.query import load_records

    found = rows(load_records(results_dir), tasks, embedders)
    if not found:
        raise BenchError(f"No robustness runs in {results_dir}. Run one first, e.g. "
                         "`bench run --embedder mfcc --task demo --deform noise:snr=10` (and the clean run).")
    return render_rows(found, fmt)


def render_rows(found: list[dict[str, Any]], fmt: str = "markdown") -> str:
    """Robustness rows (of :func:`rows`) in markdown, csv, json, latex or html."""
    import json

    from tabulate import tabulate

    from benchmark.stats.scores import PAIRED_METHOD

    if fmt == "json":
        return json.dumps(found, indent=1) + "\n"

    def pct(value: float | None) -> str:
        return "not run" if value is None else f"{100 * value:.1f}"

    table = []
    for r in found:
        table.append([r["task"], r["embedder"], r["protocol"], r["deformation"], r["metric"], pct(r["clean"]),
                      pct(r["deformed"]), drop_text(r), str(r["n_pairs"])])
    headers = ["task", "embedder", "protocol", "deformation", "metric", "clean (%)", "deformed (%)",
               "drop, points [95% CI]", "(split, seed) scores"]
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(table)
        return buffer.getvalue()
    style = {"markdown": "github", "latex": "latex_booktabs", "html": "html"}.get(fmt)
    if style is None:
        raise BenchError(f"Unknown table format '{fmt}'. Choose one of: markdown, latex, csv, json, html.")
    text = tabulate(table, headers=headers, tablefmt=style, disable_numparse=True)
    if fmt == "markdown":
        text += ("\n\nDrop = clean - deformed over the (split, seed) scores both runs share (mean over splits of the "
                 f"mean over seeds), in points. 95% CI (and the p-value in --format json): {PAIRED_METHOD}; "
                 "none with 2 folds, or on one split without stored test predictions (an older run).")
        if any(r["clean"] is None for r in found):
            text += "\nNo clean run: run the same command without --deform, then this table again."
    return text + "\n"
