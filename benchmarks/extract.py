"""Clips per second of bench's extraction against a plain per-file loop, same clips, same run.

The baseline does what the authors' scripts do: for each file, load (librosa, the embedder's
rate and resampler) → features → forward, one clip at a time (MuLaP: one 3 s chunk per forward;
COALA: librosa log-mel, scaler, the clip's patches in one forward). bench runs
``benchmark.embed.extract.extract(embedder, clips, store, jobs=N)``: resampy's filters applied as one
matrix product (``benchmark.data.resample``), chunks/patches of a whole batch of clips in one forward,
results written to an EmbeddingStore; with ``--jobs 2`` decoding runs in worker processes (worth
it when decoding is slow, e.g. MP3; with WAV it is now cheaper than the processes' overhead).
Both use the same model object; the outputs are compared clip by clip (they differ by the
resampler's float32 rounding, ~1e-7 of full scale, not bitwise).

    BENCH_SHARED=../shared python benchmarks/extract.py [--clips 32] [--seconds S] [--jobs 1] [--repeats 3]

Without BENCH_SHARED, musicnn falls back to ``musicnn-random`` and COALA to seed-0 random
weights with a generated scaler (same speed, different numbers).
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import librosa  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from benchmark.embed.extract import extract  # noqa: E402
from benchmark.embed.store import EmbeddingStore  # noqa: E402
from benchmark.data.clips import Clip  # noqa: E402


# -- generated clips ----------------------------------------------------------------------------
def make_clips(folder: Path, n: int, seconds: float, rate: int, seed: int) -> list[Clip]:
    """Deterministic music-like WAVs (tones with vibrato, a beat, noise), PCM 16 at ``rate``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    clips = []
    for i in range(n):
        f0 = rng.uniform(110, 880)
        tone = sum(np.sin(2 * np.pi * f0 * k * t + 3 * np.sin(2 * np.pi * 5 * t)) / k for k in (1, 2, 3))
        beat = (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > 0.9) * rng.standard_normal(t.size)
        y = 0.2 * tone + 0.3 * beat + 0.02 * rng.standard_normal(t.size)
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, (0.5 * y / np.abs(y).max()).astype(np.float32), rate, subtype="PCM_16")
        clips.append(Clip(id=path.stem, target=0, path=path))
    return clips


# -- musicnn ------------------------------------------------------------------------------------
def musicnn_setup(shared: Path | None, work: Path) -> tuple[Any, Callable[[Any, Path], np.ndarray], str]:
    from embedders.musicnn import CHUNK, PUBLIC, Musicnn

    weights = shared / "weights" / PUBLIC["mtat"][0] if shared else None
    if weights and weights.is_file():
        embedder, label = Musicnn(weights=str(weights), variant="mtat"), "musicnn-mtat"
    else:
        embedder, label = Musicnn(variant="random"), "musicnn-random (no BENCH_SHARED)"
    embedder.name = label.split()[0]

    def baseline(model: Any, path: Path) -> np.ndarray:  # MuLaP CNNEncoder.extract_features, batch of one clip
        model = reference_order(model)
        y, _ = librosa.load(str(path), sr=16000, res_type=embedder.res_type)
        audio = torch.from_numpy(y).unsqueeze(0)
        if audio.size(1) < CHUNK:
            audio = torch.nn.functional.pad(audio, (0, CHUNK - audio.size(1)))
        chunks = [c for c in torch.split(audio, CHUNK, 1) if c.size(1) == CHUNK]
        with torch.no_grad():
            return torch.cat([model(c) for c in chunks]).numpy()

    return embedder, baseline, label


_REFERENCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its reference-order copy


def reference_order(model: Any) -> Any:
    """A copy of the backbone whose timbral branches run in the original order (conv → BN → ReLU
    → max-pool over frequency), as the authors' Musicnn does; bench's inference shortcut (max
    first) must not speed up the baseline too."""
    import copy
    import types

    import torch.nn.functional as F

    from embedders.musicnn_net import _ConvV

    def original(self: Any, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(x, (x.size(2), 1), stride=(x.size(2), 1)).squeeze(2)

    if model not in _REFERENCE:
        ref = copy.deepcopy(model)
        for module in ref.modules():
            if isinstance(module, _ConvV):
                module.forward = types.MethodType(original, module)
        _REFERENCE[model] = ref
    return _REFERENCE[model]


# -- COALA --------------------------------------------------------------------------------------
def coala_setup(shared: Path | None, work: Path) -> tuple[Any, Callable[[Any, Path], np.ndarray], str]:
    from embedders.coala import CoalaEmbedder
    from embedders.coala_net import CoalaAudioEncoder

    weights = shared / "golden" / "weights" / "coala_audio_encoder_seed0.pt" if shared else None
    scaler_path = shared / "weights" / "coala" / "scaler_top_1000.pkl" if shared else None
    label = "coala (seed-0 golden weights)"
    if not (weights and weights.is_file() and scaler_path and scaler_path.is_file()):
        from sklearn.preprocessing import MinMaxScaler

        torch.manual_seed(0)
        weights, scaler_path = work / "coala_seed0.pt", work / "scaler.pkl"
        torch.save(CoalaAudioEncoder().state_dict(), weights)
        scaler_path.write_bytes(pickle.dumps(MinMaxScaler().fit(np.random.default_rng(0).normal(-5, 2, (50, 96)))))
        label = "coala (random weights, generated scaler; no BENCH_SHARED)"
    embedder = CoalaEmbedder(variant="coala", weights=str(weights), scaler=str(scaler_path))
    embedder.name = "coala"
    with open(scaler_path, "rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the authors' pickle comes from scikit-learn 0.22
        scaler = pickle.load(handle)
    scaler.clip = False
    eps = np.finfo(np.float32).eps

    def baseline(model: Any, path: Path) -> np.ndarray:  # coala encode.extract_audio_embedding_chunks
        y, sr = librosa.load(str(path), sr=22000, res_type="kaiser_fast")
        if y.size <= 220000:  # utils.pad with the golden set's seeded noise (deviation a)
            y = np.pad(y, (0, 220000 - y.size)) + 5e-4 * np.random.RandomState(0).rand(220000).astype("float32")
        spec = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=96, power=1, pad_mode="reflect")
        x = np.log(spec + eps)
        frames = librosa.util.frame(np.asfortranarray(x), frame_length=96, hop_length=96, axis=-1).T
        patches = np.array([scaler.transform(chunk.T) for chunk in frames])
        with torch.no_grad():
            return model(torch.unsqueeze(torch.tensor(patches), 1).float()).numpy()

    return embedder, baseline, label


# name -> (setup, source rate, default clip length): GTZAN/MTAT-like music; US8K-like sounds (padded to 10 s)
SETUPS = {"musicnn-mtat": (musicnn_setup, 22050, 15.0), "coala": (coala_setup, 44100, 4.0)}


# -- measurement --------------------------------------------------------------------------------
def measure(name: str, args: argparse.Namespace, shared: Path | None, work: Path) -> dict[str, Any]:
    setup, rate, seconds = SETUPS[name]
    seconds = args.seconds or seconds
    embedder, baseline, label = setup(shared, work)
    clips = make_clips(work / name / "audio", args.clips, seconds, rate, seed=1)
    embedder.ensure_loaded()
    model = embedder.model
    baseline(model, clips[0].path)  # warm-up: numba JIT of the resampler, first-call allocations
    best_base, best_bench, base_out, store = float("inf"), float("inf"), None, None
    for repeat in range(args.repeats):  # interleaved, so both see the same machine load
        started = time.perf_counter()
        outputs = [baseline(model, c.path) for c in clips]
        best_base = min(best_base, time.perf_counter() - started)
        base_out = base_out or outputs
        store = EmbeddingStore(work / name / f"cache{repeat}", embedder.config())
        started = time.perf_counter()
        report = extract(embedder, clips, store, jobs=args.jobs)
        best_bench = min(best_bench, time.perf_counter() - started)
        assert report.n_extracted == len(clips) and not report.failed
    bench_out = store.get_many(clips)
    diffs = [float(np.abs(a - b).max()) if a.shape == b.shape else float("inf") for a, b in zip(base_out, bench_out)]
    scale = max(float(np.abs(a).max()) for a in base_out)
    return {
        "embedder": label, "clips": len(clips), "seconds_per_clip": seconds, "rate": rate,
        "baseline_s": best_base, "bench_s": best_bench,
        "baseline_cps": len(clips) / best_base, "bench_cps": len(clips) / best_bench,
        "ratio": best_base / best_bench, "max_abs_diff": max(diffs), "max_abs_output": scale,
        "identical": all(np.array_equal(a, b) for a, b in zip(base_out, bench_out)),
        "frames": sum(len(a) for a in bench_out),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedders", default="musicnn-mtat,coala", help="comma-separated: musicnn-mtat, coala")
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=None, help="clip length (default: 15 s musicnn, 4 s COALA)")
    parser.add_argument("--jobs", type=int, default=1, help="decoding processes of bench's extraction")
    parser.add_argument("--repeats", type=int, default=1, help="best of N interleaved runs")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="max |difference| allowed, relative to max |output|")
    args = parser.parse_args(argv)
    shared = Path(os.environ["BENCH_SHARED"]) if os.environ.get("BENCH_SHARED") else None
    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, jobs {args.jobs}, "
          f"{args.clips} clips per embedder, best of {args.repeats}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        for name in args.embedders.split(","):
            r = measure(name.strip(), args, shared, Path(tmp))
            close = r["max_abs_diff"] <= args.tolerance * r["max_abs_output"]
            ok &= close
            print(f"\n{r['embedder']}: {r['clips']} clips of {r['seconds_per_clip']:g} s at {r['rate']} Hz, {r['frames']} frames")
            print(f"  per-file loop : {r['baseline_s']:7.2f} s  {r['baseline_cps']:6.2f} clips/s")
            print(f"  bench extract : {r['bench_s']:7.2f} s  {r['bench_cps']:6.2f} clips/s")
            print(f"  ratio         : {r['ratio']:.2f}x")
            print(f"  outputs       : {'bitwise identical' if r['identical'] else 'not bitwise identical'}; "
                  f"max |diff| {r['max_abs_diff']:.2e} (max |output| {r['max_abs_output']:.2f}) -> "
                  f"{'OK' if close else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
