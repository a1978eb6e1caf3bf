"""Frame rows of many clips, read by index straight from their (memory-mapped) arrays.

The chunk-level probes sample one frame row per clip per step. Rather than concatenating every
clip's frames into one array (memory growing one for one with the cached frames), ``Rows`` keeps
each clip's array as it came (a read-only view into the embedding cache's memory-mapped shard)
and copies the rows a minibatch needs into a buffer: memory is per clip (offsets) plus the
buffer, whatever the frames per clip or their width. The rows are numbered as in the
concatenation (clip after clip), so a batch holds exactly the values the concatenated array would.

Standardisation, where a protocol asks for it at chunk level, comes from one streaming pass
(``stream_scaler``: scikit-learn's ``StandardScaler.partial_fit`` block by block, float64
accumulators) and is applied to each gathered block with the same ``transform``.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch

from benchmark.core.errors import BenchError

#: values (rows x width) per block of a streaming pass or a prediction (bounds its buffers)
BLOCK_VALUES = 1 << 21


class Rows:
    """The frames of ``frames`` (one (n_frames, ..., dim) array per clip) as numbered rows of
    width ``dim``; ``scale`` (a fitted transform or None) is applied to every row read."""

    def __init__(self, frames: Sequence[np.ndarray], device: torch.device | str = "cpu") -> None:
        self.arrays = [np.asarray(f).reshape(-1, np.shape(f)[-1]) for f in frames]  # a view: no copy
        self.counts = np.array([len(a) for a in self.arrays], dtype=np.int64)
        if (self.counts == 0).any():
            raise BenchError("A clip has no embedding frames; re-extract it or drop it from the task.")
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.dim = int(self.arrays[0].shape[1]) if self.arrays else 0
        self.shape = (int(self.counts.sum()), self.dim)
        self.device = torch.device(device)
        self.scale: Any = None

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """float32 (len(rows), dim): the rows of these (global) numbers, scaled."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.dim), dtype=np.float32) if out is None else out
        clip = np.searchsorted(self.starts, rows, side="right") - 1
        offset = rows - self.starts[clip]
        arrays = self.arrays
        for k, (c, o) in enumerate(zip(clip.tolist(), offset.tolist())):
            out[k] = arrays[c][o]
        return self._scaled(out)

    def block(self, start: int, stop: int) -> np.ndarray:
        """float32 rows ``start``..``stop`` (consecutive numbers, possibly over several clips), scaled."""
        out = np.empty((stop - start, self.dim), dtype=np.float32)
        first = int(np.searchsorted(self.starts, start, side="right") - 1)
        at = start
        for c in range(first, len(self.arrays)):
            if at >= stop:
                break
            lo = at - int(self.starts[c])
            n = min(int(self.counts[c]) - lo, stop - at)
            out[at - start:at - start + n] = self.arrays[c][lo:lo + n]
            at += n
        return self._scaled(out)

    def blocks(self, rows_per_block: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, block) over every row, ``rows_per_block`` at a time."""
        for start in range(0, len(self), rows_per_block):
            yield start, self.block(start, min(start + rows_per_block, len(self)))

    def take_tensor(self, rows: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:meth:`take` into ``out`` (a float32 tensor on any device)."""
        if out.device.type == "cpu":
            self.take(rows.cpu().numpy(), out.numpy())
            return out
        return out.copy_(torch.from_numpy(self.take(rows.cpu().numpy())))

    def _scaled(self, block: np.ndarray) -> np.ndarray:
        if self.scale is None:
            return block
        block[...] = self.scale(block)  # elementwise: the same values as scaling the whole array
        return block


def block_rows(dim: int) -> int:
    return max(1, BLOCK_VALUES // max(1, dim))


def stream_scaler(rows: Rows) -> Any:
    """scikit-learn's StandardScaler fitted on every row in one streaming pass (float64
    accumulators; equal to fitting on the concatenation up to the summation order)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler()
    for _, block in rows.blocks(block_rows(rows.dim)):
        scaler.partial_fit(block)
    return scaler
