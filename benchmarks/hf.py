"""Clips per second of the ``hf:`` adapter against a plain per-clip loop, same model, same clips, same run.

The baseline is what a user writes first: for each clip, the feature extractor, then
``model(**inputs, output_hidden_states=True)`` under ``torch.no_grad()``, the hidden states
concatenated. bench runs ``HFEmbedder.embed`` on batches of ``batch_size`` clips (equal-length
clips batched even for group-norm encoders, ``inference_mode``). Both keep every layer's frames
(``pool=0``) and the outputs are compared clip by clip (float32 tolerance).

The model is a randomly initialised wav2vec2 of wav2vec2-base's shape (7 convolutions of 512,
12 layers of 768; ``--small`` for 4 layers of 256) unless ``--model FOLDER`` names a saved one;
the clips are equal-length noise bursts (``--seconds``, like ESC-50's 5 s clips).

    python benchmarks/hf.py [--clips 16] [--seconds 5] [--repeats 2] [--small] [--model FOLDER]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_model(folder: Path, small: bool) -> Path:
    import torch
    import transformers as T

    torch.manual_seed(0)
    size = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024) if small else {}
    config = T.Wav2Vec2Config(feat_extract_norm="group", **size)  # wav2vec2-base's encoder
    T.AutoModel.from_config(config).eval().save_pretrained(folder)
    T.Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=False).save_pretrained(folder)
    return folder


def plain_loop(folder: Path, clips: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    import torch
    import transformers as T

    model = T.AutoModel.from_pretrained(folder).eval()
    fe = T.AutoFeatureExtractor.from_pretrained(folder)
    started = time.perf_counter()
    out = []
    with torch.no_grad():
        for clip in clips:
            inputs = fe(clip, sampling_rate=fe.sampling_rate, return_tensors="pt")
            states = model(**inputs, output_hidden_states=True).hidden_states
            out.append(torch.cat(states, dim=-1)[0].numpy())
    return out, time.perf_counter() - started


def adapter(folder: Path, clips: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    from embedders import EMBEDDERS

    embedder = EMBEDDERS.create(f"hf:{folder}", device="cpu", pool="0")
    embedder.ensure_loaded()
    started = time.perf_counter()
    out = []
    for i in range(0, len(clips), embedder.batch_size):
        out += embedder.embed(clips[i:i + embedder.batch_size])
    return out, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many timings of each side")
    parser.add_argument("--small", action="store_true", help="4 layers of 256 instead of wav2vec2-base's shape")
    parser.add_argument("--model", default=None, help="a saved model folder instead of the random wav2vec2")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(int(args.seconds * 16000))).astype(np.float32) for _ in range(args.clips)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.model) if args.model else build_model(Path(tmp) / "model", args.small)
        print(f"model: {folder if args.model else 'random wav2vec2' + (' (small)' if args.small else ' (base shape)')}; "
              f"{args.clips} clips of {args.seconds:g} s; torch threads {torch.get_num_threads()}")
        base_t = ours_t = float("inf")
        for _ in range(args.repeats):
            base, t = plain_loop(folder, clips)
            base_t = min(base_t, t)
            ours, t = adapter(folder, clips)
            ours_t = min(ours_t, t)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(base, ours))
    scale = max(float(np.abs(a).max()) for a in base)
    same = all(a.shape == b.shape for a, b in zip(base, ours)) and diff <= 1e-4 * max(1.0, scale)
    print(f"plain loop: {args.clips / base_t:.2f} clips/s")
    print(f"bench hf:  {args.clips / ours_t:.2f} clips/s")
    print(f"ratio: {base_t / ours_t:.2f}x; outputs {'equal within float32 tolerance' if same else 'MISMATCH'} "
          f"(max abs difference {diff:.2e}, largest value {scale:.2f})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
