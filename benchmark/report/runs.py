"""What a finished launch shows: the grid's tables, a layer sweep's table, a paper's table beside
the published numbers. The run package returns records; the command line renders them here."""
from __future__ import annotations

from typing import Any, Sequence


def launch_text(outcomes: Sequence[Any], results_dir: str | None = None, table: str | None = "grid") -> str:
    """The text after a launch: one run's summary, or for several cells ``table`` ("grid": the
    grid's tables; "layers": the task x layer table of its layer cells; None: none) and a line per
    cell (done, already done, failed with the reason)."""
    from benchmark.run.grid import format_outcomes
    from benchmark.embed.layers import weights_line
    from benchmark.records.results import format_summary

    if len(outcomes) == 1:
        record = outcomes[0].record
        return format_summary(record) + "\n" + (weights_line(record) + "\n" if weights_line(record) else "")
    parts = []
    if table == "layers":
        from .output import render_tables
        from .layers import layer_table

        parts.append(render_tables([layer_table([o.record for o in outcomes if o.record is not None])]))
    elif table == "grid":
        parts.append(grid_table(outcomes, results_dir) or "")
    parts.append(format_outcomes(outcomes) + "\n")
    return "".join(parts)


def grid_table(outcomes: Sequence[Any], results_dir: str | None = None) -> str | None:
    """The tables of the grid's finished cells (markdown), or None when none finished: the plain
    runs' leaderboard, then a table per kind of variant the grid ran (robustness, label
    efficiency, layers). Only the grid's own records: other runs in the results folder are not
    rows here (a deformed cell's clean counterpart is found in the folder, as ``bench table
    --robustness`` finds it)."""
    from benchmark.core import config
    from benchmark.records.query import load_records
    from .output import render_tables
    from . import robustness_table as robustness
    from .curves import fraction_tables
    from .layers import layer_records, layer_table
    from .table import grid_table as plain_table

    keys = {o.record.get("run_key") for o in outcomes if o.record is not None}
    if not keys:
        return None
    everything = load_records(config.results_dir(results_dir))  # labelled as `bench table` labels them
    mine = [r for r in everything if r.get("run_key") in keys]
    tables = []
    plain = plain_table(mine)
    if plain.rows:
        tables.append(plain)
    tables += fraction_tables(mine)
    if layer_records(mine):
        tables.append(layer_table(mine))
    text = render_tables(tables) if tables else ""
    deformed = [row for row in robustness.rows(everything) if row["run_key"] in keys]
    if deformed:
        text += "\n### Robustness: clean against deformed test audio\n\n" + robustness.render_rows(deformed)
    return text or None


def paper_table_text(paper: str, results_dir: str | None = None) -> str:
    """The paper's table(s) in markdown: our finished cells beside the published numbers."""
    from benchmark.core import config
    from .render import render_table

    root = config.results_dir(results_dir)
    root.mkdir(parents=True, exist_ok=True)  # before any run: the published numbers alone
    return render_table(root, "markdown", paper=paper)
