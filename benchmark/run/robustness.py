"""Robustness runs (``--deform``): the deformed embeddings of a cell (their table, ``bench table
--robustness``, is :mod:`benchmark.report.robustness_table`).

A run with ``protocol.deform`` set embeds the test clips of its splits a second time from
deformed audio (every clip with ``deform_train``), into a store keyed by the embedder's config
plus the deformation's canonical spec, so deformed and clean frames never mix and a rerun finds
both cached. Each split's probe then trains on clean frames (deformed ones with
``deform_train``) and is tested on deformed frames.
"""
from __future__ import annotations

from collections import ChainMap
from typing import Any, Callable, Mapping

import numpy as np

from benchmark.core.errors import BenchError


def deformation_config(cell: Any) -> dict:
    """The deformed store's key: the embedder's config, the deformation's canonical spec and the
    versions of the libraries that make the deformed audio (another LAME is other audio)."""
    from benchmark.data.deform import library_versions
    from benchmark.embed.cache_key import cache_config

    return {**cache_config(cell.embedder), "deformation": cell.protocol.deform, "deform_libraries": library_versions()}


def deformed_store(cell: Any):
    """The EmbeddingStore of the cell's deformed frames (read through the same layer view as the
    clean store, so both give the probe the same columns)."""
    from benchmark.core import config
    from benchmark.embed.store import EmbeddingStore

    store = EmbeddingStore(config.cache_dir(cell.env.cache_dir), deformation_config(cell))
    view = getattr(cell.store, "view", None)
    if view is not None:
        from benchmark.embed.layers import LayerStore

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
    from benchmark.data.deform import parse

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
    from benchmark.data.deform import parse
    from benchmark.embed.extract import extract

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
