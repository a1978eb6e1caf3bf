"""The task × layer table of layer sweeps: one row per probed layer (``name@N``), in layer order."""
from __future__ import annotations

from typing import Any, Iterable

from benchmark.records.identity import embedder_matches
from benchmark.embed.layers import split_name, sweep_records
from benchmark.records import query as rec
from .table import Table, grid_table


def layer_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of a single layer of a layered embedder (``name@N``; a swept embedder's plain run
    at its layer too, see ``benchmark.embed.layers.sweep_records``)."""
    return [r for r in sweep_records(records) if split_name(rec.embedder_name(r))[1] is not None]


def layer_table(records: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
                embedders: Iterable[str] | None = None) -> Table:
    """Rows: every (embedder, layer) probed; columns: tasks. ``embedders`` filters by base name
    (``hf:x`` keeps ``hf:x@0``, ``hf:x@1``, …). Best layer per task in bold."""
    wanted = set(embedders or [])
    chosen = [r for r in layer_records(records)
              if not wanted or any(embedder_matches(r, w, any_layer=True) for w in wanted)]
    table = grid_table(chosen, tasks, variants=("layer",))
    table.rows.sort(key=lambda row: (split_name(row.embedder or row.label)[0],
                                     split_name(row.embedder or row.label)[1] or 0, row.label))
    table.key, table.title = "layers", "Layer sweep: mean ± std over seeds (%), one row per layer"
    if not chosen:
        table.notes.append("No layer-sweep runs yet: bench run -e hf:<model> -t <task> --layers all")
    return table
