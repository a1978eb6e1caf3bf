"""`bench report -o DIR`: a static HTML site, opened straight from disk (no server, no scripts).

index.html (leaderboard, the papers' tables, figures, run list, downloads) · tasks/<task>.html
(every metric, the bar chart, per-seed scores) · runs/<key>.html (configs, versions, cache key,
timings, skipped clips, per-split scores). Figures are PNG files beside the pages.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from benchmark.core.errors import BenchError
from benchmark.records.results import safe_name
from benchmark.stats.scores import ci_text
from . import formats
from benchmark.records import query as rec
from benchmark.records.reference import PAPERS, load_published
from .table import grid_table, paper_table

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}
thead th{border-bottom:2px solid #444}
tr.reported{color:#555;font-style:italic;background:#f6f6f6}
td.not-run,td.absent{color:#999}td.running{color:#b36b00}
caption{font-weight:bold;text-align:left;padding:.3em 0}
.legend,.meta{font-size:.85em;color:#555}
pre{background:#f4f4f4;padding:.6em;overflow:auto;font-size:.85em}
img{max-width:100%;border:1px solid #eee}
nav a{margin-right:1em}
td a{color:inherit;text-decoration:none}td a:hover{text-decoration:underline dotted}
"""


def _page(title: str, body: str, root: str) -> str:
    nav = f'<nav><a href="{root}index.html">Leaderboard</a><a href="{root}index.html#runs">Runs</a></nav>'
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{nav}<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _run_page_name(record: dict[str, Any]) -> str:
    return f"{safe_name(rec.task_name(record))}-{safe_name(rec.embedder_name(record))}-{str(record.get('run_key', ''))[:12]}.html"


def _kv(items: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items.items())
    return f"<table class='kv'>{rows}</table>"


def _seed_tables(record: dict[str, Any]) -> str:
    """Per metric: rows = seeds, columns = splits, plus the seed's mean over splits."""
    scores = record.get("scores") or []
    splits = list(dict.fromkeys(s["split"] for s in scores))
    seeds = sorted({int(s["seed"]) for s in scores})
    metrics = (record.get("task") or {}).get("metrics") or sorted({m for s in scores for m in s.get("metrics", {})})
    out = []
    for metric in metrics:
        by = {(s["split"], int(s["seed"])): s.get("metrics", {}).get(metric) for s in scores}
        head = "".join(f"<th>{html.escape(sp)}</th>" for sp in splits)
        body = []
        for seed in seeds:
            vals = [by.get((sp, seed)) for sp in splits]
            done = [v for v in vals if v is not None]
            cells = "".join("<td></td>" if v is None else f"<td>{100 * v:.2f}</td>" for v in vals)
            mean = f"{100 * sum(done) / len(done):.2f}" if done else ""
            body.append(f"<tr><th>seed {seed}</th>{cells}<td><b>{mean}</b></td></tr>")
        out.append(
            f"<table class='seeds' data-metric='{html.escape(metric)}'><caption>{html.escape(metric)} (%) per seed and split"
            f"</caption><thead><tr><th>seed</th>{head}<th>mean</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
    return "".join(out) or "<p>No scores yet.</p>"


def _run_page(record: dict[str, Any]) -> str:
    task, emb = rec.task_name(record), rec.embedder_name(record)
    summary = record.get("summary") or {}
    summary_rows = {
        m: f"{100 * s['mean']:.2f} ± {100 * (s.get('std') or 0):.2f} over {s.get('n_seeds')} seeds; 95% CI "
           f"{ci_text(s, m, digits=2)}" + (f" ({s['ci_method']})" if s.get("ci95") and s.get("ci_method") else "")
        for m, s in summary.items() if s and s.get("mean") is not None
    }
    skipped = rec.skipped_ids(record)
    info = {
        "task": task, "embedder": emb, "protocol": rec.protocol_name(record), "status": record.get("status"),
        "run key": record.get("run_key"), "cache key": record.get("cache_key"), "seeds": record.get("seeds"),
        "created": record.get("created"), "finished": record.get("finished"),
        "skipped clips": f"{rec.skipped_count(record)}" + (f": {', '.join(skipped)}" if skipped else ""),
    }
    dump = lambda v: html.escape(json.dumps(v, indent=1, sort_keys=True, default=str))  # noqa: E731
    body = [
        "<h2>Run</h2>", _kv(info), "<h2>Summary</h2>", _kv(summary_rows) if summary_rows else "<p>Not finished.</p>",
        "<h2>Timings</h2>", _kv(record.get("timings") or {}), "<h2>Versions</h2>", _kv(record.get("versions") or {}),
        "<h2>Embedder</h2>", f"<pre>{dump(record.get('embedder'))}</pre>",
        "<h2>Protocol</h2>", f"<pre>{dump(record.get('protocol'))}</pre>",
        "<h2>Task</h2>", f"<pre>{dump({k: v for k, v in (record.get('task') or {}).items() if k != 'labels'})}</pre>",
        "<h2>Scores</h2>", _seed_tables(record),
    ]
    if record.get("notes"):
        body += ["<h2>Notes</h2>", f"<pre>{dump(record.get('notes'))}</pre>"]
    return _page(f"{emb} on {task} ({rec.protocol_name(record)})", "\n".join(body), "../")


def _figure(path: Path | None, rel: str, alt: str) -> str:
    return f'<figure><img src="{rel}{path.name}" alt="{html.escape(alt)}"></figure>' if path else ""


def write_site(results_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the site into ``out_dir`` and return the path of its index.html."""
    from . import plots
    from .output import render_tables

    out = Path(out_dir)
    for sub in ("tasks", "runs", "figures"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    records = rec.load_records(results_dir)
    published = load_published()
    try:
        figures = {p.stem: p for p in plots.write_plots(results_dir, out / "figures", "png")}
    except BenchError:
        figures = {}  # no finished run yet: the pages say so instead
    runs = sorted(records, key=lambda r: (rec.task_name(r), rec.embedder_name(r), rec.protocol_name(r)))
    for record in runs:
        (out / "runs" / _run_page_name(record)).write_text(_run_page(record), encoding="utf-8")
    keys = {r.get("run_key"): _run_page_name(r) for r in runs}
    link = lambda prefix: (lambda key: f"{prefix}runs/{keys[key]}" if key in keys else "#")  # noqa: E731

    tasks = sorted({rec.task_name(r) for r in records})
    current = {id(r) for r in rec.index(records).values()}  # the records the tables show
    for task in tasks:
        table = grid_table(records, tasks=[task], all_metrics=True)
        table.title = f"{task}: every metric, mean ± std over seeds (%)"
        first = next(r for r in runs if rec.task_name(r) == task)
        meta = {k: v for k, v in (first.get("task") or {}).items() if k in ("dataset", "kind", "metrics", "n_clips")}
        meta["splits"] = ", ".join(f"{s['name']} ({s.get('n_train')}/{s.get('n_valid')}/{s.get('n_test')})"
                                   for s in (first.get("task") or {}).get("splits", []))
        body = [_kv(meta), formats.to_html(table, run_link=link("../")),
                _figure(figures.get(f"bars-{safe_name(task)}"), "../figures/", f"{task}: scores with 95% CIs"),
                "<h2>Per-seed scores</h2>"]
        for record in (r for r in runs if rec.task_name(r) == task):
            state = "" if id(record) in current else "; superseded by a newer run, not in the tables"
            body.append(f"<h3 id='{record.get('run_key', '')[:12]}'><a href='../runs/{_run_page_name(record)}'>"
                        f"{html.escape(rec.embedder_name(record))} ({html.escape(rec.protocol_name(record))}, "
                        f"{html.escape(str(record.get('status')))}, run {str(record.get('run_key', ''))[:12]}, "
                        f"{html.escape(str(record.get('finished') or record.get('created') or ''))}{state})</a></h3>")
            body.append(_seed_tables(record))
        (out / "tasks" / f"{safe_name(task)}.html").write_text(_page(f"Task {task}", "\n".join(body), "../"), encoding="utf-8")

    index: list[str] = [f"<p class='meta'>{len(records)} run record(s) from {html.escape(str(Path(results_dir)))}.</p>"]
    grid = grid_table(records) if records else None
    if grid is not None:
        index += ["<h2>Leaderboard</h2>", formats.to_html(grid, run_link=link(""))]
    else:
        index.append("<p>No runs yet: run <code>bench run --embedder mfcc --task demo</code>.</p>")
    variant_sections, variant_tables, placed = _variant_sections(records, figures, link(""))
    index += variant_sections
    index.append("<h2>Tables of the papers</h2>")
    paper_tables = [paper_table(t, records, published) for key in ("coala", "contextual", "mulap") for t in PAPERS[key]]
    index += [formats.to_html(t, run_link=link("")) for t in paper_tables]
    placed |= {f"bars-{safe_name(t)}" for t in tasks} | {"ranks"}
    if figures:
        index.append("<h2>Figures</h2>")
        index += [_figure(figures.get(name), "figures/", alt) for name, alt in (
            ("heatmap", "heat map of embedders by tasks"), ("score-vs-dim", "score against embedding dimension"),
            ("score-vs-throughput", "score against extraction throughput"))]
        index += [_figure(figures[f"bars-{safe_name(t)}"], "figures/", f"{t}: scores with 95% CIs")
                  for t in tasks if f"bars-{safe_name(t)}" in figures]
        placed |= {"heatmap", "score-vs-dim", "score-vs-throughput"}
        index += [_figure(figures[name], "figures/", name) for name in sorted(set(figures) - placed)]  # none unlinked
    index.append(_ranks_section(records, figures))
    index.append("<h2>Tasks</h2><ul>" + "".join(
        f"<li><a href='tasks/{safe_name(t)}.html'>{html.escape(t)}</a></li>" for t in tasks) + "</ul>")
    run_rows = "".join(
        f"<tr><td>{html.escape(rec.task_name(r))}</td><td>{html.escape(rec.embedder_name(r))}</td>"
        f"<td>{html.escape(rec.protocol_name(r))}</td>"
        f"<td>{html.escape(str(r.get('status')))}{'' if id(r) in current else ' (superseded)'}</td>"
        f"<td>{len(r.get('seeds') or [])}</td><td><a href='runs/{_run_page_name(r)}'>{str(r.get('run_key', ''))[:12]}</a></td></tr>"
        for r in runs)
    index.append("<h2 id='runs'>Runs</h2><table><thead><tr><th>task</th><th>embedder</th><th>protocol</th><th>status</th>"
                 f"<th>seeds</th><th>run</th></tr></thead><tbody>{run_rows}</tbody></table>")

    # the same tables in the other formats, for download
    all_tables = ([grid] if grid is not None else []) + variant_tables + paper_tables
    for name, fmt in (("tables.md", "markdown"), ("tables.tex", "latex"), ("tables.csv", "csv"), ("tables.json", "json")):
        (out / name).write_text(render_tables(all_tables, fmt), encoding="utf-8")
    index.append("<h2>Downloads</h2><ul>" + "".join(
        f"<li><a href='{n}'>{n}</a></li>" for n in ("tables.md", "tables.tex", "tables.csv", "tables.json")) + "</ul>")
    path = out / "index.html"
    path.write_text(_page("bench results", "\n".join(index), ""), encoding="utf-8")
    return path


def _variant_sections(records: list[dict[str, Any]], figures: dict[str, Path], run_link: Any) -> tuple[list[str], list, set[str]]:
    """The robustness, label-efficiency and layer tables (each where such runs exist), with their
    figures; the Table objects among them, for the downloads; the names of the figures placed."""
    from . import robustness_table as robustness
    from .curves import fraction_tables
    from .layers import layer_records, layer_table

    out: list[str] = []
    placed: set[str] = set()
    rows = robustness.rows(records)
    if rows:
        out += ["<h2 id='robustness'>Robustness: clean against deformed test audio</h2>",
                robustness.render_rows(rows, "html"),
                "<p class='legend'>Drop = clean - deformed over the (split, seed) pairs both runs share, in points, "
                "with its paired 95% CI (<code>bench table --robustness</code>).</p>"]
    tables = fraction_tables(records)
    if tables:
        out.append("<h2 id='fractions'>Label efficiency: score by training-set size</h2>")
        out += [formats.to_html(t, run_link=run_link) for t in tables]
        names = sorted(n for n in figures if n.startswith(("fractions-", "per-class-")))
        out += [_figure(figures[name], "figures/", f"{name}: score against training-set size") for name in names]
        placed |= set(names)
    if layer_records(records):
        layers = layer_table(records)
        tables.append(layers)
        out += ["<h2 id='layers'>Layer sweeps</h2>", formats.to_html(layers, run_link=run_link)]
        names = sorted(n for n in figures if n.startswith("layers-"))
        out += [_figure(figures[name], "figures/", f"{name}: score against layer") for name in names]
        placed |= set(names)
    return out, tables, placed


def _ranks_section(records: list[dict[str, Any]], figures: dict[str, Path]) -> str:
    """Ranks across tasks (plain runs): the leaderboard, the Friedman test, the pairs that differ and the diagram."""
    from .plots import plain_ranks
    from benchmark.stats.ranks import METHOD, describe

    try:
        text = describe(plain_ranks(records))
    except BenchError as exc:
        text = str(exc)
    return ("<h2 id='ranks'>Ranks across tasks</h2>" + f"<pre>{html.escape(text)}</pre>"
            + f"<p class='legend'>{html.escape(METHOD)}; tasks where every embedder has a finished plain run.</p>"
            + _figure(figures.get("ranks"), "figures/", "diagram of mean ranks; bars join embedders not separable"))
