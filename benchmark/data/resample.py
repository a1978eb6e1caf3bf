"""resampy's ``kaiser_best`` / ``kaiser_fast`` resampling, computed as one matrix product.

resampy (what ``librosa.load(res_type="kaiser_best")`` runs) evaluates, for every output sample,
a windowed-sinc filter read from a table with linear interpolation, in a per-sample loop. Between
two rates with a small rational ratio ``up/down`` the filter only takes ``up`` different shapes
(one per output phase), so the whole signal can be resampled as
``blocks of the input (every down samples) @ (window x up) matrix of those filters``: the same
filter weights resampy computes, read from resampy's own tables, several times faster.

Output equals resampy's up to float rounding (resampy accumulates in float32, this in float64):
about 1e-7 of full scale. Rates whose ratio does not reduce to a small ``up`` fall back to resampy.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

FILTERS = ("kaiser_best", "kaiser_fast")
MAX_UP = 2048  # larger phase counts make the filter matrix too big to be worth it: use resampy
BLOCKS_PER_PRODUCT = 4096  # rows of input windows per matrix product (bounds the temporary copy)


def resample(y: np.ndarray, orig_sr: int, target_sr: int, res_type: str) -> np.ndarray:
    """``librosa.resample(y, orig_sr=..., target_sr=..., res_type=res_type)`` for a 1-D float
    signal and a resampy filter: resampy's samples, then librosa's ``fix_length`` to
    ``ceil(len(y) * target_sr / orig_sr)``; returned in ``y``'s dtype."""
    if res_type not in FILTERS:
        raise ValueError(f"resample supports {FILTERS}, not {res_type!r}")
    if orig_sr == target_sr:
        return y
    n_fixed = int(np.ceil(y.shape[-1] * (float(target_sr) / orig_sr)))
    plan = _plan(int(orig_sr), int(target_sr), res_type) if _integral(orig_sr, target_sr) else None
    if plan is None or y.ndim != 1:
        import librosa

        return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type=res_type)
    out = plan.apply(y)
    if out.size < n_fixed:
        out = np.pad(out, (0, n_fixed - out.size))
    return np.asarray(out[:n_fixed], dtype=y.dtype)


def _integral(*rates: float) -> bool:
    return all(float(r) == int(r) and r > 0 for r in rates)


class _Plan:
    """The per-phase filters of one (orig_sr, target_sr, filter) as a (window, up) matrix."""

    def __init__(self, orig_sr: int, target_sr: int, res_type: str) -> None:
        import resampy.filters

        g = math.gcd(orig_sr, target_sr)
        self.up, self.down = target_sr // g, orig_sr // g
        self.orig_sr, self.target_sr = orig_sr, target_sr
        sample_ratio = float(target_sr) / orig_sr
        win, precision, _ = resampy.filters.get_filter(res_type)
        if sample_ratio < 1:
            win = sample_ratio * win
        self.win = win
        self.delta = np.diff(win, append=win[-1])
        self.num_table = int(precision)  # table entries per zero crossing
        self.scale = min(1.0, sample_ratio)
        self.index_step = int(self.scale * self.num_table)
        self.time_increment = 1.0 / sample_ratio
        # phase p = output t mod up: input sample n = t*down//up exactly, fraction (t*down mod up)/up
        taps = [(p * self.down // self.up, *self._taps(self.scale * ((p * self.down % self.up) / self.up)))
                for p in range(self.up)]
        starts = [n - len(left) + 1 for n, left, _ in taps]
        self.base = min(starts)
        self.width = max(n + len(right) + 1 for n, _, right in taps) - self.base
        self.matrix = np.zeros((self.width, self.up))
        for p, ((n, left, right), start) in enumerate(zip(taps, starts)):
            column = np.concatenate([left[::-1], right])
            self.matrix[start - self.base:start - self.base + column.size, p] = column
        self.left_pad = max(0, -self.base) + 1

    def _wing(self, frac: float) -> np.ndarray:
        """resampy's weights for one wing: the table at offset + i*index_step, interpolated."""
        index_frac = frac * self.num_table
        offset = int(index_frac)
        eta = index_frac - offset
        count = (self.win.size - offset) // self.index_step
        idx = offset + self.index_step * np.arange(count)
        return self.win[idx] + eta * self.delta[idx]

    def _taps(self, frac: float) -> tuple[np.ndarray, np.ndarray]:
        """Left weights (for x[n - i]) and right weights (for x[n + 1 + k]) at fraction ``frac``."""
        return self._wing(frac), self._wing(self.scale - frac)

    def apply(self, y: np.ndarray) -> np.ndarray:
        n_in = y.shape[0]
        n_out = int(n_in * float(self.target_sr) / float(self.orig_sr))
        if n_out < 1:
            raise ValueError(f"Input signal length={n_in} is too small to resample from {self.orig_sr}->{self.target_sr}")
        blocks = -(-n_out // self.up)
        # zero padding stands for resampy's truncation of the filter at the signal's ends
        total = self.left_pad + (blocks - 1) * self.down + self.base + self.width + 1
        x = np.zeros(max(total, self.left_pad + n_in + 1))
        x[self.left_pad:self.left_pad + n_in] = y
        first = self.left_pad + self.base
        windows = np.lib.stride_tricks.as_strided(x[first:], shape=(blocks, self.width),
                                                  strides=(self.down * x.strides[0], x.strides[0]), writeable=False)
        out = np.empty((blocks, self.up))
        for start in range(0, blocks, BLOCKS_PER_PRODUCT):  # the overlapping windows are copied: bound it
            stop = min(start + BLOCKS_PER_PRODUCT, blocks)
            np.matmul(windows[start:stop], self.matrix, out=out[start:stop])
        out = out.reshape(-1)[:n_out]
        self._fix_rounded_positions(x, out, n_in)
        return out

    def _fix_rounded_positions(self, x: np.ndarray, out: np.ndarray, n_in: int) -> None:
        """resampy places output t at the float t * (1/ratio); where that rounds below an exact
        integer, its input index is one less and its fraction near 1. Recompute those outputs
        with resampy's own decomposition."""
        # only where the exact position is an integer (t a multiple of up) can the float one fall
        # on the other side of it: elsewhere the fraction is >= 1/up, far above the rounding
        t = np.arange(0, out.size, self.up)
        position = t * self.time_increment
        n = position.astype(np.int64)
        exact = (t * self.down) // self.up
        for k in np.flatnonzero(n != exact):
            frac = self.scale * (position[k] - n[k])
            left, right = self._taps(frac)
            i = np.arange(min(int(n[k]) + 1, left.size))
            j = np.arange(min(n_in - int(n[k]) - 1, right.size))
            out[t[k]] = left[i] @ x[self.left_pad + n[k] - i] + right[j] @ x[self.left_pad + n[k] + 1 + j]


@lru_cache(maxsize=16)
def _plan(orig_sr: int, target_sr: int, res_type: str) -> _Plan | None:
    g = math.gcd(orig_sr, target_sr)
    if target_sr // g > MAX_UP:
        return None
    return _Plan(orig_sr, target_sr, res_type)
