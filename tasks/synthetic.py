"""``demo``: a built-in task of synthetic sounds, generated on first use into the cache.

Real audio files in an UrbanSound8K-like layout (``audio/fold1..5/*.wav`` plus
``metadata/demo.csv`` with slice_file_name, fold, classID, class): 10 classes of 50 clips with
varied pitch, duration, level and background noise, deterministic from a fixed seed. The noise
makes it hard enough that the MFCC baseline stays clearly below 100%.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from .base import Clip, Split, Task, kfold_splits

SAMPLE_RATE = 22000  # the COALA/MFCC rate, so the demo needs no slow resampling
CLIPS_PER_CLASS = 50
N_FOLDS = 5
RECIPE_VERSION = "3"
CLASSES = ("tone", "harmonic", "square", "vibrato", "tremolo", "chirp-up", "chirp-down",
           "clicks", "noise-burst", "hum")


def _synthesize(label: str, rng: np.random.Generator) -> np.ndarray:
    duration = rng.uniform(0.6, 2.0)
    t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 110 * 2 ** rng.uniform(0, 4)  # 110 Hz … 1.76 kHz, shared by the pitched classes
    if label == "tone":
        x = np.sin(2 * np.pi * f0 * t)
    elif label == "harmonic":
        x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    elif label == "square":
        x = np.sign(np.sin(2 * np.pi * f0 * t)) * 0.5
    elif label == "vibrato":
        x = np.sin(2 * np.pi * f0 * t + rng.uniform(2, 8) * np.sin(2 * np.pi * rng.uniform(3, 8) * t))
    elif label == "tremolo":
        x = np.sin(2 * np.pi * f0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(3, 12) * t))
    elif label in ("chirp-up", "chirp-down"):
        f1 = f0 * 2 ** rng.uniform(1, 2.5)
        start, end = (f0, f1) if label == "chirp-up" else (f1, f0)
        freq = np.geomspace(start, end, t.size)
        x = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE)
    elif label == "clicks":
        x = np.zeros_like(t)
        period = int(SAMPLE_RATE / rng.uniform(4, 40))
        x[::period] = 1.0
        x = np.convolve(x, np.exp(-np.arange(64) / 8.0), mode="same")
    elif label == "noise-burst":
        x = rng.standard_normal(t.size) * np.exp(-t * rng.uniform(1, 6))
    else:  # hum: low fundamental with a few strong harmonics
        base = rng.uniform(45, 130)
        x = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * k * base * t) for k in (1, 2, 3, 5))
    x = x / (np.max(np.abs(x)) + 1e-9)
    snr_db = rng.uniform(-6, 20)
    noise = rng.standard_normal(t.size)
    noise = np.cumsum(noise) if rng.random() < 0.5 else noise  # white or brown background
    noise = noise / (np.std(noise) + 1e-9) * np.std(x) * 10 ** (-snr_db / 20)
    x = x + noise
    ramp = min(220, t.size // 4)
    x[:ramp] *= np.linspace(0, 1, ramp)
    x[-ramp:] *= np.linspace(1, 0, ramp)
    return (x / (np.max(np.abs(x)) + 1e-9) * 10 ** rng.uniform(-1.5, -0.1)).astype(np.float32)


def generate(root: Path) -> Path:
    """Write the demo dataset to ``root`` (into a staging folder renamed when complete, under a lock
    file: a reader, in this or another process, never sees half of it)."""
    marker = root / ".complete"
    if marker.is_file() and marker.read_text() == RECIPE_VERSION:
        return root
    from benchmark.core.locks import held

    # two first runs at once: one generates, the other waits and then finds the marker
    with held(root.with_name(f".{root.name}.lock")):
        if marker.is_file() and marker.read_text() == RECIPE_VERSION:
            return root
        for stale in root.parent.glob(f".{root.name}-*"):  # staging of a killed generation
            shutil.rmtree(stale, ignore_errors=True)
        return _generate(root)


def _generate(root: Path) -> Path:
    staging = root.with_name(f".{root.name}-{uuid.uuid4().hex[:8]}")
    try:
        _write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # no half-written folder left behind
        raise
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, root)
    return root


def _write(staging: Path) -> None:
    import soundfile

    rng = np.random.default_rng(20240101)
    rows = ["slice_file_name,fold,classID,class"]
    for class_id, label in enumerate(CLASSES):
        for i in range(CLIPS_PER_CLASS):
            fold = i % N_FOLDS + 1
            name = f"{class_id}-{label}-{i:03d}.wav"
            folder = staging / "audio" / f"fold{fold}"
            folder.mkdir(parents=True, exist_ok=True)
            soundfile.write(folder / name, _synthesize(label, rng), SAMPLE_RATE, subtype="PCM_16")
            rows.append(f"{name},{fold},{class_id},{label}")
    (staging / "metadata").mkdir(parents=True, exist_ok=True)
    (staging / "metadata" / "demo.csv").write_text("\n".join(rows) + "\n")
    (staging / ".complete").write_text(RECIPE_VERSION)


class DemoTask(Task):
    """Built-in demo: 10 classes of synthetic sounds, 500 clips, 5 folds (generated on first use)."""

    name = "demo"
    dataset = "demo"
    kind = "multiclass"
    labels = CLASSES
    metrics = ("accuracy",)
    protocol = "coala"
    split_description = "5 folds"
    expected_clips = len(CLASSES) * CLIPS_PER_CLASS
    expected_splits = {f"fold{k}": (300, 100, 100) for k in range(1, N_FOLDS + 1)}

    def root(self, data_home: Path, cache: Path | None = None) -> Path:
        from benchmark.core.config import cache_dir

        return cache_dir(cache) / "datasets" / "demo"

    def clips(self, root: Path) -> list[Clip]:
        import pandas as pd

        generate(Path(root))
        table = pd.read_csv(Path(root) / "metadata" / "demo.csv")
        return [Clip(id=row.slice_file_name, target=row["class"], group=str(row.fold),
                     path=Path(root) / "audio" / f"fold{row.fold}" / row.slice_file_name)
                for _, row in table.iterrows()]

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return kfold_splits(clips)

    def download(self, root: Path) -> str:
        generate(Path(root))
        return f"The demo dataset is generated locally: {root}"
