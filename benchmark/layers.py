"""Layers of a multi-layer embedder: ``--layer N`` / ``--layers all|A-B|A,B,C``.

An embedder with layers (``hf:`` models, …) stores every layer side by side in each frame and
says how: ``layer_ids`` (the model's layer numbers, in storage order) and ``layer_dims`` (their
widths). One extraction serves every layer; a run picks one layer's columns at probe time, so a
sweep is one RunRecord per layer (embedder name ``<name>@<layer>``) over a single cache.
"""
from __future__ import annotations

from benchmark.errors import BenchError


def parse_layers(text: str, n: int) -> list[int]:
    """Layer numbers of ``all``, ``A-B`` (inclusive), ``A,B,C`` or ``N`` for a model with layers
    0..n-1; negative numbers count from the end (-1 = the last)."""
    text = str(text).strip()
    if text == "all":
        return list(range(n))

    def one(word: str) -> int:
        try:
            value = int(word)
        except ValueError:
            raise BenchError(f"Layer '{word}' in '{text}' is not a number; use all, A-B or A,B,C.") from None
        if not -n <= value < n:
            raise BenchError(f"Layer {value} is out of range: this model has layers 0..{n - 1} "
                             f"(or -{n}..-1 from the end).")
        return value % n

    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        head, sep, tail = part[1:].partition("-")  # a leading '-' is a sign, not a range
        if sep:
            a, b = one(part[0] + head), one(tail)
            if b < a:
                raise BenchError(f"Layer range '{part}' runs backwards; write it as {b}-{a}.")
            out += range(a, b + 1)
        else:
            out.append(one(part))
    return list(dict.fromkeys(out))
