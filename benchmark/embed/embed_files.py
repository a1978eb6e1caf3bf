"""``bench embed``: embeddings of arbitrary audio files, per clip (mean over frames) or per frame."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.core import config
from .checks import check_config, check_device, check_jobs
from benchmark.core.errors import BenchError
from benchmark.data.clips import Clip
from .extract import extract
from benchmark.core.registry import Registries
from .store import EmbeddingStore


def embed_files(
    registries: Registries,
    embedder_name: str,
    files: Sequence[str | Path],
    output: str | Path,
    frames: bool = False,
    weights: str | None = None,
    device: str | None = None,
    cache_dir: str | Path | None = None,
    jobs: int = 1,
    progress: bool = False,
    embedder_options: dict | None = None,
) -> Path:
    """Write ``output``: .npz with keys ``<stem>.embedding`` (and ``<stem>.frames`` with
    ``frames``), or .npy with the clip vectors stacked in file order (with ``frames``: the frames
    of a single file)."""
    check_device(device)
    check_jobs(jobs)
    output = Path(output)
    if output.suffix not in (".npz", ".npy"):
        raise BenchError(f"Output {output} must end in .npz or .npy.")
    if frames and output.suffix == ".npy" and len(files) != 1:
        raise BenchError("Per-frame output of several files needs a .npz file (one array per file).")
    check_inputs(files, output)
    from .build import build_embedder

    embedder = build_embedder(registries, embedder_name, weights, device, embedder_options or {}, cache_dir)
    if embedder.input_kind != "audio":
        raise BenchError(f"Embedder '{embedder_name}' embeds {embedder.input_kind}, not audio files.")
    clips = [Clip(id=str(f), target=None, path=Path(f)) for f in files]
    from benchmark.embed.cache_key import cache_config

    embedder_config = cache_config(embedder)
    check_config(embedder_name, embedder_config)
    store = EmbeddingStore(config.cache_dir(cache_dir), embedder_config)
    extract(embedder, clips, store, jobs=jobs, progress=progress)
    per_clip = store.get_many(clips)
    from .layers import view_for

    view = view_for(embedder, None, False)  # an embedder with layers: the one a default run probes
    if view is not None:
        per_clip = [view.apply(f) for f in per_clip]
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".npy":
        array = per_clip[0] if frames else np.stack([f.mean(axis=0) for f in per_clip])
        np.save(output, array.astype(np.float32))
    else:
        arrays = {}
        for clip, f in zip(clips, per_clip):
            stem = Path(clip.path).stem
            arrays[f"{stem}.embedding"] = f.mean(axis=0).astype(np.float32)
            if frames:
                arrays[f"{stem}.frames"] = f.astype(np.float32)
        np.savez(output, **arrays)
    return output


def check_inputs(files: Sequence[str | Path], output: Path) -> None:
    """Before any model is loaded: every input is a file, and (.npz, keyed by file stem) no two
    inputs share a stem: ``a/x.wav`` and ``b/x.flac``, or one file given twice."""
    if not files:
        raise BenchError("No input files: give one or more audio files after the options.")
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise BenchError(f"Not a file: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}. "
                         "Check the paths; nothing was embedded.")
    if output.suffix != ".npz":
        return  # .npy: the vectors stacked in input order
    by_stem: dict[str, list[str]] = {}
    for f in files:
        by_stem.setdefault(Path(f).stem, []).append(str(f))
    shared = {stem: paths for stem, paths in by_stem.items() if len(paths) > 1}
    if shared:
        listed = "; ".join(f"'{stem}': {', '.join(paths)}" for stem, paths in sorted(shared.items()))
        raise BenchError(f"Input files share a name ({listed}): the .npz keys are file stems (<stem>.embedding), "
                         f"so one would overwrite the other. Rename or copy one of them, embed them in separate "
                         f"runs, or write a .npy (vectors stacked in input order). Nothing was embedded.")
