"""The MFCC baseline of the COALA paper (xavierfav/coala ``scripts/extract_mfcc.py``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Embedder


class MFCC(Embedder):
    """MFCC baseline: 20 MFCC + Δ + ΔΔ, mean and variance over time (120-d, one vector per clip)."""

    name = "mfcc"
    sample_rate = 22000
    res_type = "kaiser_fast"
    dim = 120
    batch_size = 32
    # fixed by the paper's recipe: not options (a different n_mfcc would be another embedder, not "mfcc")
    n_mfcc = 20
    delta_width = 5
    takes_weights = False

    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self._clip_vector(waveform)[None, :] for waveform in batch]

    def _clip_vector(self, waveform: np.ndarray) -> np.ndarray:
        import librosa

        # reflect padding as librosa 0.7 did (golden deviation b)
        mfcc = librosa.feature.mfcc(y=waveform, sr=self.sample_rate, n_mfcc=self.n_mfcc, pad_mode="reflect")
        width = min(self.delta_width, _largest_odd_at_most(mfcc.shape[1]))
        if width >= 3:
            delta = librosa.feature.delta(mfcc, width=width, mode="nearest")
            delta2 = librosa.feature.delta(mfcc, width=width, order=2, mode="nearest")
        else:  # a clip of one or two frames has no defined derivative
            delta = delta2 = np.zeros_like(mfcc)
        parts = []
        for feature in (mfcc, delta, delta2):
            parts += [feature.mean(axis=1), feature.var(axis=1)]
        return np.concatenate(parts).astype(np.float32)

    def config(self) -> dict:
        return {**super().config(), "n_mfcc": self.n_mfcc, "delta_width": self.delta_width, "stft_pad": "reflect"}


def _largest_odd_at_most(n: int) -> int:
    return n if n % 2 else n - 1
