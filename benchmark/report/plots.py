"""Figures from the results store (matplotlib, no display needed).

* ``bars``: per task, the headline metric of each embedder with its 95% CI, the papers' reported
  value of the same system marked beside it;
* ``heatmap``: embedders x tasks, headline metric;
* ``dim`` / ``throughput``: the headline score against the embedding dimension or the extraction
  throughput (clips per second), one colour per task;
* ``layers``: per task, the headline score of each probed layer (``name@N`` records of
  ``bench run --layers``) against the layer number, with 95% CIs, one line per model.
* ``fractions``: per task, the headline score against the fraction of the training set (or the
  clips per class) with 95% CIs, one line per embedder (``--train-fraction`` runs);
* ``ranks``: the rank diagram of the embedders' mean ranks across the tasks all of them finished
  (benchmark.stats.ranks: Friedman test, pairwise sign tests over tasks with Holm; bars join the
  embedders that cannot be separated).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure  # the object API: no pyplot, no global backend state
from matplotlib.ticker import NullFormatter, ScalarFormatter

from benchmark.core.errors import BenchError
from benchmark.records.variants import variant_kinds
from benchmark.records import query as rec
from benchmark.stats.scores import clip_interval
from benchmark.records.reference import load_published, reported_for
from benchmark.records.results import safe_name

KINDS = ("bars", "heatmap", "dim", "throughput", "layers", "fractions", "ranks")
FORMATS = ("png", "svg")


def entries(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One point per finished (task, embedder, protocol): headline mean and 95% CI (fractions)."""
    out = []
    cells = {k: r for k, r in rec.index(records).items() if r.get("status") == "complete"}
    # an embedder run under several protocols is labelled "name [protocol]" everywhere
    protocols: dict[str, set[str]] = {}
    for _, emb, proto in cells:
        protocols.setdefault(emb, set()).add(proto)
    for (task, emb, proto), record in sorted(cells.items()):
        metric = rec.headline_metric(record)
        values = rec.metric_values(record, metric) if metric else None
        if not values:
            continue
        mean = values["mean"]
        # no interval (2 folds, an older one-split record): a point without error bars, not seed noise
        low, high = values["ci95"] or (mean, mean)
        (low, high), _ = clip_interval(metric, [low, high])  # never drawn outside the metric's range
        out.append({
            "task": task, "embedder": emb, "protocol": proto, "metric": metric, "mean": mean, "low": low, "high": high,
            "label": emb if len(protocols[emb]) == 1 else f"{emb} [{proto}]",
            "dim": (record.get("embedder") or {}).get("dim"),
            "clips_per_s": (record.get("timings") or {}).get("extract_clips_per_s"),
        })
    return out


def plain_ranks(records: list[dict[str, Any]]) -> Any:
    """``benchmark.report.ranks.from_records`` over the plain runs (a layer, deformed or training-subset
    run is another question, and an embedder with only such runs would leave no common task), its
    error worded for the commands that rank everything (``bench report``, ``bench plot --ranks``:
    they have no --embedder to narrow it)."""
    from .ranks import from_records

    plain = [r for r in records if not variant_kinds(r)]
    try:
        return from_records(plain)
    except BenchError as exc:
        if "--embedder" not in str(exc):
            raise
        systems = sorted({rec.embedder_name(r) for r in plain if r.get("status") == "complete"})
        raise BenchError(
            f"No task has finished plain runs of every embedder ({', '.join(systems) or 'none'}), so there is "
            "nothing to rank. Run every embedder on the same tasks, e.g. `bench run "
            + " ".join(f"-e {s}" for s in systems[:3]) + " -t <task>`; `bench table` shows the missing cells "
            "as 'not run'.") from None


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # fixed metadata so the same results give the same file
    meta = {"Date": None} if path.suffix == ".svg" else {"Software": None}
    with rc_context({"svg.hashsalt": "bench"}):  # stable SVG ids
        fig.savefig(path, bbox_inches="tight", dpi=100, metadata=meta)
    return path


def task_bars(points: list[dict[str, Any]], task: str, path: Path) -> Path:
    """Bars with 95% CIs for one task; a red diamond where a paper reported the same system."""
    points = sorted((p for p in points if p["task"] == task), key=lambda p: -p["mean"])
    published = load_published()
    fig = Figure(figsize=(max(4.0, 0.7 * len(points) + 2), 3.6))
    ax = fig.add_subplot()
    xs = range(len(points))
    means = [100 * p["mean"] for p in points]
    errors = [[100 * (p["mean"] - p["low"]) for p in points], [100 * (p["high"] - p["mean"]) for p in points]]
    # points, not bars: the axis zooms onto the scores, so CIs of a point or less stay visible
    ax.errorbar(list(xs), means, yerr=errors, fmt="o", capsize=4, color="#4c78a8", label="ours (95% CI)")
    ax.margins(x=0.2, y=0.15)
    ax.grid(axis="y", alpha=0.3)
    labelled = False
    for x, p in zip(xs, points):
        for rep in reported_for(p["embedder"], task, p["metric"], published, protocol=p["protocol"]):
            ax.plot([x], [rep.value], marker="D", color="#d62728", linestyle="none",
                    label=None if labelled else "reported")
            labelled = True
    ax.set_xticks(list(xs), [p["label"] for p in points], rotation=30, ha="right")
    metric = points[0]["metric"] if points else ""
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(task)
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, path)


def heatmap(points: list[dict[str, Any]], path: Path) -> Path:
    tasks = sorted({p["task"] for p in points})
    labels = sorted({p["label"] for p in points})
    grid = [[math.nan] * len(tasks) for _ in labels]
    for p in points:
        grid[labels.index(p["label"])][tasks.index(p["task"])] = 100 * p["mean"]
    fig = Figure(figsize=(1.3 * len(tasks) + 3, 0.45 * len(labels) + 1.8))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            text = "not run" if math.isnan(value) else f"{value:.1f}"
            light = value == value and image.norm(value) > 0.6  # dark text on the bright end of viridis
            color = "gray" if value != value else "black" if light else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize="small", color=color)
    fig.colorbar(image, ax=ax, label="headline metric (%)")
    ax.set_title("Headline metric per task")
    return _save(fig, path)


def scatter(points: list[dict[str, Any]], x_key: str, path: Path) -> Path:
    """Score against embedding dimension (``dim``) or extraction throughput (``clips_per_s``)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    usable = [p for p in points if isinstance(p.get(x_key), (int, float)) and p[x_key] > 0]
    for task in sorted({p["task"] for p in usable}):
        mine = [p for p in usable if p["task"] == task]
        ax.scatter([p[x_key] for p in mine], [100 * p["mean"] for p in mine], label=task)
        for p in mine:
            ax.annotate(p["label"], (p[x_key], 100 * p["mean"]), fontsize="x-small", xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())  # 128, 1152 rather than 10^2 ticks
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("embedding dimension" if x_key == "dim" else "extraction throughput (clips/s)")
    ax.set_ylabel("headline metric (%)")
    ax.set_title("Score vs " + ("dimension" if x_key == "dim" else "throughput"))
    if usable:
        ax.legend(fontsize="small")
    return _save(fig, path)


def layer_curves(points: list[dict[str, Any]], task: str, path: Path) -> Path:
    """Score against layer for one task, one line (with 95% CI bars) per layered model."""
    from benchmark.embed.layers import split_name

    lines: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for p in points:
        base, layer = split_name(p["embedder"])
        if p["task"] == task and layer is not None:
            lines.setdefault(base if p["label"] == p["embedder"] else f"{base} [{p['protocol']}]", []).append((layer, p))
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for label, line in sorted(lines.items()):
        line.sort(key=lambda lp: lp[0])
        xs = [layer for layer, _ in line]
        means = [100 * p["mean"] for _, p in line]
        errors = [[100 * (p["mean"] - p["low"]) for _, p in line], [100 * (p["high"] - p["mean"]) for _, p in line]]
        ax.errorbar(xs, means, yerr=errors, fmt="o-", capsize=3, label=label)
    ax.set_xlabel("layer")
    ax.set_ylabel(f"{points[0]['metric'] if points else ''} (%) with 95% CI")
    ax.set_title(f"{task}: score against layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def fraction_figure(curves: list, path: Path) -> Path:
    """Score against training-set size for one task and axis, 95% CI bars, one line per embedder."""
    from .curves import used_text, x_text

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    axis = curves[0].axis
    for curve in curves:
        xs, means, lows, highs = [], [], [], []
        for x, record in sorted(curve.points.items()):
            values = rec.metric_values(record, rec.headline_metric(record) or "")
            if not values:
                continue
            low, high = values["ci95"] or (values["mean"], values["mean"])
            xs.append(x)
            means.append(100 * values["mean"])
            lows.append(100 * (values["mean"] - low))
            highs.append(100 * (high - values["mean"]))
        ax.errorbar(xs, means, yerr=[lows, highs], fmt="o-", capsize=3, label=curve.label)
    ax.set_xscale("log")
    ticks = sorted({x for c in curves for x in c.points})
    # the share actually trained on, where the minimum of one clip per class made it larger than asked
    ax.set_xticks(ticks, [x_text(axis, x) + (used_text(curves, x).replace(" (", "\n(") if axis == "fraction" else "")
                          for x in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training set (fraction)" if axis == "fraction" else "training clips per class")
    metric = rec.headline_metric(next(iter(curves[0].points.values()))) or ""
    ax.set_ylabel(f"{metric} (%), 95% CI")
    ax.set_title(f"{curves[0].task}: label efficiency")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def write_plots(results_dir: str | Path, out_dir: str | Path, fmt: str = "png", kind: str = "all") -> list[Path]:
    """Write the figures of ``kind`` (bars, heatmap, dim, throughput or all) into ``out_dir``."""
    fmt, kind = fmt.lower(), kind.lower()
    if fmt not in FORMATS:
        raise BenchError(f"Unknown figure format '{fmt}'. Choose one of: {', '.join(FORMATS)}.")
    if kind != "all" and kind not in KINDS:
        raise BenchError(f"Unknown plot kind '{kind}'. Choose one of: all, {', '.join(KINDS)}.")
    records = rec.load_records(results_dir)
    if not entries(records):
        raise BenchError(f"No finished runs in {results_dir}: nothing to plot. Run one first, e.g. "
                         "`bench run --embedder mfcc --task demo`.")
    # plain runs only, as in the leaderboard: a variant (deformed, training subset, layer) drawn
    # under its embedder's name would pass for the plain run; variants have their own figures
    points = entries([r for r in records if not variant_kinds(r)])
    out, written = Path(out_dir), []
    wanted = KINDS if kind == "all" else (kind,)
    if not points:  # variant runs only: their own figures, none of the plain-run ones
        if kind in ("bars", "heatmap", "dim", "throughput"):
            raise BenchError(f"No plain runs in {results_dir} (full training set, clean audio, default layer): "
                             "its runs are variants. Plot them with --kind fractions or --kind layers, tabulate "
                             "them with bench table --robustness, --fractions or --layers, or run the plain one.")
        wanted = tuple(k for k in wanted if k not in ("bars", "heatmap", "dim", "throughput"))
    if "bars" in wanted:
        written += [task_bars(points, t, out / f"bars-{safe_name(t)}.{fmt}") for t in sorted({p["task"] for p in points})]
    if "heatmap" in wanted:
        written.append(heatmap(points, out / f"heatmap.{fmt}"))
    if "dim" in wanted:
        written.append(scatter(points, "dim", out / f"score-vs-dim.{fmt}"))
    if "throughput" in wanted:
        written.append(scatter(points, "clips_per_s", out / f"score-vs-throughput.{fmt}"))
    if "layers" in wanted:
        from benchmark.embed.layers import split_name, sweep_records

        # a sweep's layer that is the plain run too; no deformed or training-subset run
        layer_points = entries(sweep_records([r for r in records if set(variant_kinds(r)) <= {"layer"}]))
        swept = sorted({p["task"] for p in layer_points if split_name(p["embedder"])[1] is not None})
        if not swept and kind == "layers":
            raise BenchError(f"No layer-sweep runs in {results_dir}: run one first, e.g. "
                             "`bench run -e hf:<model or folder> -t demo --layers all`.")
        written += [layer_curves([p for p in layer_points if p["task"] == t], t, out / f"layers-{safe_name(t)}.{fmt}")
                    for t in swept]
    if "ranks" in wanted:
        from .cd_diagram import cd_diagram

        try:
            written.append(cd_diagram(plain_ranks(records), out / f"ranks.{fmt}", _save))
        except BenchError:
            if kind == "ranks":
                raise  # asked for: say why there is no diagram; within "all": just none
    if "fractions" in wanted:
        from .curves import curves as find_curves

        found = find_curves(r for r in records if r.get("status") == "complete")
        if kind == "fractions" and not found:
            raise BenchError(f"No label-efficiency runs in {results_dir}: run some first, e.g. "
                             "`bench run --embedder mfcc --task demo --train-fraction 0.1,0.5,1`.")
        for task, axis in dict.fromkeys((c.task, c.axis) for c in found):
            mine = [c for c in found if c.task == task and c.axis == axis]
            written.append(fraction_figure(mine, out / f"{'fractions' if axis == 'fraction' else 'per-class'}-{safe_name(task)}.{fmt}"))
    return written
