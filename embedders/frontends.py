"""The COALA log-mel front-end, shared by the COALA and contextual-tag audio encoders.

Recipe of the authors' ``utils.compute_spectrogram`` + ``encode.extract_audio_embedding_chunks``
(xavierfav/coala), with the golden set's deliberate deviations:
  audio at 22000 Hz (``kaiser_fast``); a clip of at most 10 s is zero-padded to 10 s and gets
  ``5e-4 * U[0, 1)`` noise from a fresh ``RandomState(0)`` (longer clips get neither);
  |STFT| (n_fft 1024, hop 512, Hann, centred with reflect padding) → 96 Slaney mel bands;
  ``log(x + eps32)``; non-overlapping 96-frame patches (remainder dropped); the MinMax scaler
  applied per frame position (its 96 features are the time columns of a patch).
The STFT runs once over the frames of every clip of a batch (one ``torch.fft.rfft`` call).
"""
from __future__ import annotations

import pickle
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # torch is imported where it runs: `bench list embedders` loads none
    import torch

SAMPLE_RATE = 22000
RES_TYPE = "kaiser_fast"
PAD_SAMPLES = 10 * SAMPLE_RATE
NOISE_LEVEL = 5e-4
N_FFT = 1024
HOP = 512
N_MELS = 96
PATCH = 96
EPS = float(np.finfo(np.float32).eps)
FFT_BLOCK = 4096  # STFT frames per FFT call

SCALER_PATH = "coala/scaler_top_1000.pkl"
SCALER_URL = "https://github.com/xavierfav/coala/raw/master/scaler_top_1000.pkl"


@lru_cache(maxsize=1)
def _padding_noise() -> np.ndarray:
    # deviation (a): the original drew unseeded noise; a fresh RandomState(0) per clip is the same array
    noise = NOISE_LEVEL * np.random.RandomState(0).rand(PAD_SAMPLES).astype("float32")
    noise.setflags(write=False)
    return noise


def pad_clip(samples: np.ndarray) -> np.ndarray:
    """Clips of at most 10 s: zero-pad to 10 s and add the padding noise; longer clips unchanged."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size > PAD_SAMPLES:
        return samples
    padded = np.zeros(PAD_SAMPLES, dtype=np.float32)
    padded[: samples.size] = samples
    return padded + _padding_noise()


@lru_cache(maxsize=1)
def _window_and_mel() -> tuple[np.ndarray, torch.Tensor]:
    import librosa
    import torch

    window = librosa.filters.get_window("hann", N_FFT, fftbins=True)  # float64, as librosa keeps it
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)
    return window, torch.from_numpy(mel)


def log_mel(waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
    """(96, n_frames) float32 log-mel spectrogram of each waveform, after :func:`pad_clip`."""
    import torch

    window, mel = _window_and_mel()
    magnitudes = []
    for clip in map(pad_clip, waveforms):
        # deviation (b): centre with reflect padding, as librosa 0.7 did
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(clip, N_FFT // 2, mode="reflect"), N_FFT)[::HOP]
        for start in range(0, len(frames), FFT_BLOCK):  # bounds the float64 temporaries on long clips
            # librosa multiplies float32 frames by a float64 window, so the FFT runs in float64 and
            # the result is stored as complex64; doing the same keeps us at librosa's rounding
            block = torch.from_numpy(frames[start : start + FFT_BLOCK] * window)
            magnitudes.append(torch.fft.rfft(block, dim=-1).to(torch.complex64).abs())  # power 1
    stacked = torch.cat(magnitudes)
    spec = torch.log(mel @ stacked.T + EPS)  # one mel product for the whole batch: (96, total frames)
    sizes = [1 + max(len(w), PAD_SAMPLES) // HOP for w in waveforms]
    return [s.numpy() for s in torch.split(spec, sizes, dim=1)]


class Scaler:
    """The authors' MinMaxScaler, applied as ``x * scale_ + min_`` over the time columns of a patch."""

    def __init__(self, path: str | Path) -> None:
        from benchmark.core.errors import WeightsError

        try:
            with open(path, "rb") as handle, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pickled with scikit-learn 0.22; the fields still read
                scaler = pickle.load(handle)
        except Exception as exc:
            raise WeightsError(
                f"Cannot read the COALA scaler {path}: {type(exc).__name__}: {exc}. "
                f"Download it again from {SCALER_URL}."
            ) from exc
        scaler.clip = False  # deviation (c): absent from 0.22 pickles
        self.scale = np.asarray(scaler.scale_, dtype=np.float32)
        self.min = np.asarray(scaler.min_, dtype=np.float32)
        if self.scale.shape != (PATCH,) or self.min.shape != (PATCH,):
            raise WeightsError(f"{path} is not the COALA scaler (expected 96 features, got {self.scale.shape}).")

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """(n, 96 mel, 96 time) → scaled, float32."""
        return patches * self.scale + self.min


def patches(log_mels: Sequence[np.ndarray], scaler: Scaler | None = None) -> list[np.ndarray]:
    """Non-overlapping (n, 96 mel, 96 time) patches of each spectrogram, remainder dropped, scaled."""
    out = []
    for spec in log_mels:
        n = spec.shape[1] // PATCH
        cut = spec[:, : n * PATCH].reshape(spec.shape[0], n, PATCH).transpose(1, 0, 2)
        out.append(np.ascontiguousarray(scaler(cut) if scaler is not None else cut, dtype=np.float32))
    return out


def resolve_scaler(explicit: str | None = None, cache: str | Path | None = None) -> Path:
    """Path of the scaler pickle: ``explicit``, ``$BENCH_WEIGHTS_DIR/coala/``, the cache, a download."""
    from benchmark.core.errors import WeightsError

    from .weights import resolve_weights

    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsError(f"The COALA scaler given as {path} does not exist. Download it from {SCALER_URL}.")
        return path
    try:
        return resolve_weights(None, SCALER_PATH, SCALER_URL, cache=cache)
    except WeightsError as exc:  # its advice names --weights, which is the checkpoint's option, not this file's
        raise WeightsError(
            f"The COALA input scaler is missing: {exc.__cause__ or exc}\n"
            f"Or set BENCH_WEIGHTS_DIR to a folder holding {SCALER_PATH}."
        ) from exc


def forward_pieces(model: torch.nn.Module, pieces: Sequence[np.ndarray], batch: int, device: str) -> list[np.ndarray]:
    """Run ``model`` over every clip's pieces (patches, chunks) stacked together, ``batch`` at a
    time, and split the outputs back per clip as float32 arrays."""
    import torch

    counts = [len(p) for p in pieces]
    stacked = torch.from_numpy(np.concatenate(pieces))
    outputs = []
    with torch.inference_mode():
        for part in torch.split(stacked, max(1, batch)):
            outputs.append(model(part.to(device)).float().cpu())
    frames = torch.cat(outputs).numpy()
    return [np.ascontiguousarray(f, dtype=np.float32) for f in np.split(frames, np.cumsum(counts)[:-1])]
