"""Cache size per hour of audio, per layer, in float32 and float16 (``--option store_dtype=float16``).

Embeds generated clips once per embedder, writes the same frames to two EmbeddingStores (float32
and float16), and scales the shard bytes on disk (the .npy files; indexes excluded) to one hour
of audio. Per layer: the bytes times the layer's share of the stored width.

    BENCH_SHARED=../shared python benchmarks/cache_size.py [--clips 12] [--seconds 10] [-e crepe-tiny -e crepe ...]

musicnn's sizes are those of every musicnn variant (``musicnn-random`` needs no weights); COALA
needs its weights (``BENCH_WEIGHTS_DIR``; the seed-0 golden encoder of ../shared has the real
layout) and stores z alone unless ``--option layers=all``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.data.clips import Clip  # noqa: E402
from benchmark.embed.store import EmbeddingStore  # noqa: E402
from embedders import EMBEDDERS  # noqa: E402


def _coala_options() -> dict:
    shared = os.environ.get("BENCH_SHARED")
    if not shared:
        return {}
    os.environ.setdefault("BENCH_WEIGHTS_DIR", str(Path(shared) / "weights"))  # the scaler
    return {"weights": str(Path(shared) / "golden" / "weights" / "coala_audio_encoder_seed0.pt"), "layers": "all"}


def measure(name: str, n_clips: int, seconds: float, options: dict) -> list[str]:
    options = dict(options)
    weights = options.pop("weights", None)
    embedder = EMBEDDERS.create(name, weights=weights, device="cpu", **options)
    embedder.ensure_loaded()
    rng = np.random.default_rng(0)
    clips = [Clip(id=f"clip{i}", target=None, tags=(f"c{i}",)) for i in range(n_clips)]
    waves = [(0.1 * rng.standard_normal(int(seconds * embedder.sample_rate))).astype(np.float32) for _ in clips]
    frames = []
    for start in range(0, n_clips, embedder.batch_size):
        frames += embedder.embed(waves[start:start + embedder.batch_size])
    hours = n_clips * seconds / 3600
    dims = list(getattr(embedder, "layer_dims", None) or [embedder.dim])
    ids = list(getattr(embedder, "layer_ids", None) or [None])
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        for dtype in ("float32", "float16"):
            config = embedder.config()
            config = {**config, "options": {**config.get("options", {}), **({"store_dtype": dtype} if dtype == "float16" else {})}}
            store = EmbeddingStore(Path(tmp), config)
            store.put_many(list(zip(clips, frames)))
            sizes[dtype] = sum(p.stat().st_size for p in store.root.glob("shard-*.npy")) / hours / 1e6
        n_frames = sum(len(f) for f in frames) / (n_clips * seconds)
        lines.append(f"{name}: {n_frames:.2f} frames/s, stored width {sum(dims)} ({len(dims)} layer(s)); "
                     f"all layers {sizes['float32']:.1f} MB/h float32, {sizes['float16']:.1f} MB/h float16")
        for layer, dim in zip(ids, dims):
            share = dim / sum(dims)
            lines.append(f"  layer {layer}: width {dim}: {sizes['float32'] * share:.1f} MB/h float32, "
                         f"{sizes['float16'] * share:.1f} MB/h float16")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("-e", "--embedder", action="append")
    args = parser.parse_args()
    names = args.embedder or ["crepe-tiny", "crepe", "musicnn-random", "coala", "mfcc"]
    for name in names:
        options = _coala_options() if name.startswith("coala") else {}
        if name.startswith("coala") and not options:
            print(f"{name}: skipped (set BENCH_SHARED for its weights)")
            continue
        print("\n".join(measure(name, args.clips, args.seconds, options)), flush=True)


if __name__ == "__main__":
    main()
