"""Robustness runs (``--deform``): the deformed embeddings of a cell, and ``bench table --robustness``.

A run with ``protocol.deform`` set embeds the test clips of its splits a second time from
deformed audio (every clip with ``deform_train``), into a store keyed by the embedder's config
plus the deformation's canonical spec, so deformed and clean frames never mix and a rerun finds
both cached. Each split's probe then trains on clean frames (deformed ones with
``deform_train``) and is tested on deformed frames.

The table pairs each deformed run with the clean run of the same task, embedder and protocol:
clean score, deformed score, and the drop (clean - deformed) with the paired two-stage bootstrap
CI of ``benchmark.stats.paired_test`` over the (split, seed) pairs both share.
"""
from __future__ import annotations

from collections import ChainMap
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .errors import BenchError


def deformation_config(cell: Any) -> dict:
    """The deformed store's key: the embedder's config, the deformation's canonical spec and the
    versions of the libraries that make the deformed audio (another LAME is other audio)."""
    from .deform import library_versions
    from .identity import cache_config

    return {**cache_config(cell.embedder), "deformation": cell.protocol.deform, "deform_libraries": library_versions()}


def deformed_store(cell: Any):
    """The EmbeddingStore of the cell's deformed frames (read through the same layer view as the
    clean store, so both give the probe the same columns)."""
    from . import config
    from .store import EmbeddingStore

    store = EmbeddingStore(config.cache_dir(cell.env.cache_dir), deformation_config(cell))
    view = getattr(cell.store, "view", None)
    if view is not None:
        from .layers import LayerStore

        store = LayerStore(store, view)
    return store


def deformed_clips(cell: Any) -> list:
    """The clips to embed deformed: the splits' test clips, or every clip with ``deform_train``."""
    if cell.protocol.deform_train:
        return list(cell.clips)
    test = {i for split in cell.splits for i in split.test}
    return [c for c in cell.clips if c.id in test]


def check(protocol: Any, embedder: Any) -> None:
    """Before any extraction: the deformation runs on a short tone at the embedder's sample rate
    (a cutoff above its Nyquist frequency or a bitrate LAME refuses fails here, not after the
    clean extraction), and the embedder takes audio."""
    from .deform import parse

    if not protocol.deform:
        return
    if embedder.input_kind != "audio":
        raise BenchError(f"--deform changes audio, but embedder '{embedder.name}' takes {embedder.input_kind}. "
                         "Run robustness on an audio embedder (bench list embedders).")
    sr = int(embedder.sample_rate)
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(sr // 4) / sr)).astype(np.float32)
    try:
        parse(protocol.deform)(tone, sr, "check")
    except BenchError:
        raise
    except Exception as exc:  # noqa: BLE001 - the library's own refusal, said in one line
        raise BenchError(f"--deform {protocol.deform} fails on audio at {sr} Hz (the sample rate of "
                         f"'{embedder.name}'): {type(exc).__name__}: {exc}. Choose other parameters.") from exc


def extract_deformed(cell: Any, progress: bool = False, echo: Callable[[str], None] = lambda _: None) -> None:
    """Embed the deformed clips the deformed store lacks; note the store's key in the record."""
    from .deform import parse
    from .extract import extract

    if not cell.protocol.deform:
        return
    store = deformed_store(cell)
    report = extract(cell.embedder, deformed_clips(cell), store, jobs=cell.env.jobs, progress=progress,
                     transform=parse(cell.protocol.deform))
    echo(f"Deformed embeddings ({cell.protocol.deform}): {report.n_cached} cached, {report.n_extracted} extracted")
    note_deformed(cell, store, report.seconds)


def note_deformed(cell: Any, store: Any, seconds: float) -> None:
    """After the deformed extraction (by any executor): its cache key and time in the record."""
    cell.record["notes"]["deformed_cache_key"] = store.key
    cell.record["timings"]["extract_deformed_s"] = round(cell.record["timings"].get("extract_deformed_s", 0.0)
                                                         + seconds, 3)
    cell.results.save(cell.record)


def deformed_frames(cell: Any) -> dict[str, np.ndarray]:
    """clip id → deformed frames of the cell's deformed clips ({} for a clean run)."""
    if not cell.protocol.deform:
        return {}
    clips = deformed_clips(cell)
    return dict(zip((c.id for c in clips), deformed_store(cell).get_many(clips)))


def split_frames(frames: Mapping[str, np.ndarray], deformed: Mapping[str, np.ndarray], split: Any,
                 protocol: Any) -> Mapping[str, np.ndarray]:
    """The frames one split's probe sees: deformed for its test clips (all clips with
    ``deform_train``), clean for the rest."""
    if not protocol.deform:
        return frames
    if protocol.deform_train:
        return ChainMap(dict(deformed), frames)
    return ChainMap({i: deformed[i] for i in split.test}, frames)


# -- bench table --robustness ----------------------------------------------------------------
def rows(records: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
         embedders: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One row per deformed run that has a clean counterpart: scores and the paired drop."""
    from .report import records as rec
    from .stats import paired_test
    from .variants import base_label

    tasks, embedders = set(tasks or []), set(embedders or [])
    cells = {k: r for k, r in rec.index(records).items() if r.get("status") == "complete"
             and (not tasks or k[0] in tasks) and (not embedders or rec.embedder_wanted(r, embedders))}
    out = []
    for (task, emb, label), record in sorted(cells.items()):
        protocol = record.get("protocol") or {}
        if not protocol.get("deform") or protocol.get("train_fraction") is not None \
                or protocol.get("train_per_class") is not None:
            continue
        clean = cells.get((task, emb, base_label(label)))
        metric = rec.headline_metric(record) or "?"
        row = {"task": task, "embedder": emb, "protocol": base_label(label), "deformation": protocol["deform"]
               + (" (train too)" if protocol.get("deform_train") else ""), "metric": metric,
               "deformed": (rec.metric_values(record, metric) or {}).get("mean"), "clean": None, "drop": None,
               "ci95": None, "p_value": None, "n_pairs": 0, "status": "no clean run"}
        if clean is not None:
            row["clean"] = (rec.metric_values(clean, metric) or {}).get("mean")
            try:
                test = paired_test(clean, record, metric)
            except BenchError:  # no common (split, seed): run on other splits or seeds
                row["status"] = "no common pairs"
            else:  # too few pairs: the paired mean difference without a CI (status says so)
                row.update(drop=test["diff"], ci95=test["ci95"], p_value=test["p_value"], n_pairs=test["n_pairs"],
                           status=test["status"])
        out.append(row)
    return out


def drop_text(row: dict[str, Any]) -> str:
    """The drop cell: points with the 95% CI, or why there is no CI (never a crash)."""
    from .stats import NOT_COMPARABLE, TOO_FEW

    if row["clean"] is None:
        return "no clean run"
    if row["status"] == "no common pairs":
        return "no common (split, seed) pairs"
    if row["status"] == NOT_COMPARABLE:
        return "not comparable (NaN scores)"
    if row["drop"] is None:
        return "n/a"
    if row["ci95"] is None or row["status"] == TOO_FEW:
        return f"{100 * row['drop']:+.1f} (too few pairs for a CI: {row['n_pairs']})"
    return f"{100 * row['drop']:+.1f} [{100 * row['ci95'][0]:+.1f}, {100 * row['ci95'][1]:+.1f}]"


def render(results_dir: str | Path, fmt: str = "markdown", tasks: Iterable[str] | None = None,
           embedders: Iterable[str] | None = None) -> str:
    """``bench table --robustness`` in markdown, csv, json, latex or html."""
    import json

    from tabulate import tabulate

    from .report import load_records
    from .stats import PAIRED_METHOD, min_pairs

    found = rows(load_records(results_dir), tasks, embedders)
    if not found:
        raise BenchError(f"No robustness runs in {results_dir}. Run one first, e.g. "
                         "`bench run --embedder mfcc --task demo --deform noise:snr=10` (and the clean run).")
    if fmt == "json":
        return json.dumps(found, indent=1) + "\n"

    def pct(value: float | None) -> str:
        return "not run" if value is None else f"{100 * value:.1f}"

    table = []
    for r in found:
        table.append([r["task"], r["embedder"], r["protocol"], r["deformation"], r["metric"], pct(r["clean"]),
                      pct(r["deformed"]), drop_text(r), str(r["n_pairs"])])
    headers = ["task", "embedder", "protocol", "deformation", "metric", "clean (%)", "deformed (%)",
               "drop, points [95% CI]", "pairs"]
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
        text += ("\n\nDrop = clean - deformed over the (split, seed) pairs both runs share (mean over splits of the "
                 f"mean over seeds), in points. 95% CI (and the p-value in --format json): {PAIRED_METHOD}; "
                 f"a CI needs at least {min_pairs()} pairs.")
        if any(r["clean"] is None for r in found):
            text += "\nNo clean run: run the same command without --deform, then this table again."
    return text + "\n"
