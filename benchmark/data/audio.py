"""Decode audio to mono float32 at a given rate, with a clear error naming any bad file."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from . import resample
from benchmark.core.errors import AudioError

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif", ".au", ".m4a")


def load_audio(
    path: str | os.PathLike,
    sample_rate: int,
    offset: float = 0.0,
    duration: float | None = None,
    res_type: str = "soxr_hq",
) -> np.ndarray:
    """Mono float32 samples of ``path`` resampled to ``sample_rate`` with ``res_type``.

    Raises AudioError naming the file when it is missing, unreadable or empty.
    """
    import librosa

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"Audio file not found: {path}. Check the dataset folder or the file list.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa's audioread fallback warning
            if res_type in resample.FILTERS:  # resampy's filters, computed as one matrix product
                samples, native_rate = librosa.load(str(path), sr=None, mono=True, offset=offset, duration=duration)
                samples = resample.resample(samples, native_rate, sample_rate, res_type)
            else:
                samples, _ = librosa.load(
                    str(path), sr=sample_rate, mono=True, offset=offset, duration=duration, res_type=res_type
                )
    except Exception as exc:  # decoders raise many types; the user needs the file name
        raise AudioError(
            f"Cannot decode {path}: {type(exc).__name__}: {exc}. "
            "Re-download, replace or remove the file."
        ) from exc
    if samples.size == 0:
        raise AudioError(f"{path} decodes to no samples (empty or truncated file). Replace or remove it.")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{path} decodes to NaN or infinite samples. Replace or remove it.")
    return np.ascontiguousarray(samples, dtype=np.float32)
