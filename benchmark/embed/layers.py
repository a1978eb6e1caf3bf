"""Layers of a multi-layer embedder: ``--layer N`` / ``--layers all|A-B|A,B,C``.

An embedder with layers (``hf:`` models, …) stores every layer side by side in each frame and
says how: ``layer_ids`` (the model's layer numbers, in storage order) and ``layer_dims`` (their
widths). One extraction serves every layer; a run picks one layer's columns at probe time, so a
sweep is one RunRecord per layer (embedder name ``<name>@<layer>``) over a single cache.

Optional embedder attributes: ``default_layer`` (probed without ``--layer``; CREPE's and COALA's
embedding; otherwise the last stored layer); ``default_whole`` (without ``--layer`` a run probes
the frame as stored, as before layers existed: musicnn's 1506, COALA's z alone); ``layer_columns``
(the columns of each layer when they are not side by side: musicnn's 1506 are max then mean of
every block). An embedder may store its embedding alone unless
``--option layers=…`` asks for more (COALA: its default cache stays what it was); a sweep adds
``layers=all`` to the options itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from benchmark.core.errors import BenchError


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


def stored_layers(value: Any, count: int, default: Sequence[int] | None = None) -> list[int]:
    """The layers ``--option layers=…`` asks an embedder to store, in model order: unset gives
    ``default`` (every layer when None), ``all`` every layer, else ``parse_layers``'s list."""
    if value in (None, ""):
        return list(range(count)) if default is None else list(default)
    if value == "all":
        return list(range(count))
    return sorted(parse_layers(str(value), count))


def layer_count(embedder: Any) -> int:
    """How many layers the model has (0..n-1), stored or not."""
    return int(getattr(embedder, "layer_count", 0) or len(getattr(embedder, "layer_ids", ()) or ()))


def has_layers(embedder: Any) -> bool:
    return bool(getattr(embedder, "layer_dims", None))


def resolve_layer(embedder: Any, layer: int | None) -> int:
    """The model layer number a run probes: ``layer`` (negative from the end), else the embedder's
    ``default_layer`` (CREPE's embedding is block 5 of 6), else the last stored."""
    ids = list(embedder.layer_ids)
    if layer is None:
        default = getattr(embedder, "default_layer", None)
        return default if default in ids else ids[-1]
    (number,) = parse_layers(str(layer), layer_count(embedder))
    if number not in ids:
        raise BenchError(f"Layer {layer} of '{embedder.name}' is not in its stored layers {ids}: store it with "
                         f"--option layers=all (or a list that includes {number}); one extraction then serves "
                         "every layer.")
    return number


@dataclass(frozen=True)
class LayerView:
    """The columns of the stored frames that a run probes: one layer, or all of them as
    (n_frames, n_layers, width) for the weighted-layers protocol."""

    layer: int | None
    start: int
    stop: int
    #: (n_layers, width) for all layers stacked; None for one layer
    stacked: tuple[int, int] | None = None
    #: the layer's columns when they are not one range (musicnn: its max and its mean columns)
    columns: tuple[int, ...] | None = None

    @property
    def dim(self) -> int:
        if self.columns is not None:
            return len(self.columns)
        return self.stop - self.start if self.stacked is None else self.stacked[1]

    def apply(self, frames: np.ndarray) -> np.ndarray:
        if self.stacked is not None:
            return np.asarray(frames).reshape(len(frames), *self.stacked)
        if self.columns is not None:
            return np.asarray(frames)[:, list(self.columns)]
        return np.asarray(frames[:, self.start:self.stop])

    def to_dict(self) -> dict[str, Any]:
        if self.columns is not None:
            return {"layer": self.layer, "columns": _ranges(self.columns)}
        return {"layer": self.layer if self.stacked is None else "all", "columns": [self.start, self.stop]}


def _ranges(columns: Sequence[int]) -> list[list[int]]:
    """[[start, stop), …] of a sorted column list, for the record."""
    out: list[list[int]] = []
    for c in columns:
        if out and out[-1][1] == c:
            out[-1][1] = c + 1
        else:
            out.append([c, c + 1])
    return out


def view_for(embedder: Any, layer: int | None, all_layers: bool) -> LayerView | None:
    """What a run with ``--layer`` (or a protocol that learns layer weights) probes; None: the
    frames as stored (an embedder without layers, nothing asked)."""
    name = getattr(embedder, "name", "") or type(embedder).__name__
    if not has_layers(embedder):
        if layer is not None or all_layers:
            raise BenchError(f"Embedder '{name}' exposes no layers, so --layer/--layers and the weighted-layers "
                             "protocol do not apply to it. Embedders with layers: hf:<model>, crepe, crepe-tiny, the musicnn "
                             "and COALA families ('bench list embedders').")
        return None
    columns = getattr(embedder, "layer_columns", None)
    if layer is None and not all_layers and getattr(embedder, "default_whole", False):
        return None  # the frame as stored is the model's own embedding (musicnn; COALA's z alone)
    ids, dims = list(embedder.layer_ids), list(embedder.layer_dims)
    if all_layers:
        if layer is not None:
            raise BenchError("The weighted-layers protocol learns a weight for every layer; drop --layer/--layers.")
        if len(set(dims)) != 1:
            raise BenchError(f"The weighted-layers protocol needs layers of one width; '{name}' has widths "
                             f"{sorted(set(dims))} (CLAP's stages and musicnn's blocks differ). Probe its layers one by one with --layers all.")
        if len(ids) == 1 < layer_count(embedder):
            raise BenchError(f"'{name}' stores one layer ({ids[0]}), so the weighted-layers protocol would learn "
                             "nothing: add --option layers=all to store every layer.")
        if columns is not None:
            raise BenchError(f"The weighted-layers protocol needs layers stored side by side; probe the layers of "
                             f"'{name}' one by one with --layers all.")
        return LayerView(None, 0, sum(dims), (len(ids), dims[0]))
    number = resolve_layer(embedder, layer)
    pos = ids.index(number)
    if columns is not None:
        cols = tuple(int(c) for c in columns[pos])
        return LayerView(number, min(cols), max(cols) + 1, columns=cols)
    start = sum(dims[:pos])
    return LayerView(number, start, start + dims[pos])


def record_name(base: str, view: LayerView | None, layer: int | None) -> str:
    """``name@N`` when a layer was asked for (sweeps and --layer), else the name alone."""
    return f"{base}@{view.layer}" if view is not None and layer is not None and view.stacked is None else base


def split_name(name: str) -> tuple[str, int | None]:
    """(base name, layer) of a record's embedder name (``hf:x@6`` → (``hf:x``, 6))."""
    base, sep, tail = name.rpartition("@")
    if sep and tail.lstrip("-").isdigit():
        return base, int(tail)
    return name, None


def sweep_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of single layers as layer tables and plots show them: every ``name@N`` record,
    and a plain run of a swept embedder under ``name@N`` with N the layer it probed. A sweep's
    layer N may be the plain run (the same run key: the default layer), which it then reuses."""
    records = list(records)
    swept = {split_name(str((r.get("embedder") or {}).get("name", "")))[0] for r in records
             if split_name(str((r.get("embedder") or {}).get("name", "")))[1] is not None}
    out = []
    for record in records:
        about = record.get("embedder") or {}
        base, layer = split_name(str(about.get("name", "")))
        if layer is not None:
            out.append(record)
        elif base in swept and isinstance(about.get("layer"), int):
            named = {**about, "name": f"{base}@{about['layer']}"}
            if about.get("label"):
                named["label"] = f"{about['label']}@{about['layer']}"
            out.append({**record, "embedder": named})
    return out


class LayerStore:
    """An EmbeddingStore whose reads give the view's columns; everything else is the store's."""

    def __init__(self, store: Any, view: LayerView) -> None:
        self._store, self.view = store, view

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._store, attr)

    def get(self, clip: Any) -> np.ndarray:
        return self.view.apply(self._store.get(clip))

    def get_many(self, clips: Sequence[Any]) -> list[np.ndarray]:
        return [self.view.apply(f) for f in self._store.get_many(clips)]


def expand(spec: Any, layers: str, embedder: Any) -> list[Any]:
    """``--layers all|A-B|A,B,C``: one spec per layer (the same embedder instance serves all)."""
    if not has_layers(embedder):
        view_for(embedder, 0, False)  # raises the no-layers error
    return [spec.replace(layer=n) for n in parse_layers(layers, layer_count(embedder))]


def storing(spec: Any, layers: str, embedder: Any) -> Any:
    """The spec of a sweep over ``layers``: with ``--option layers=all`` added when the embedder
    stores fewer layers by default (COALA stores its embedding alone) and the user set none."""
    if not has_layers(embedder) or "layers" not in getattr(embedder, "accepted_options", {}):
        return spec
    if "layers" in spec.embedder_options or set(parse_layers(layers, layer_count(embedder))) <= set(embedder.layer_ids):
        return spec
    return spec.replace(options={**spec.embedder_options, "layers": "all"})


def weights_line(record: dict) -> str:
    """The mean learned layer weights over seeds and splits of a weighted-layers record ('' if none)."""
    rows = [s["extra"]["layer_weights"] for s in record.get("scores", []) if "layer_weights" in (s.get("extra") or {})]
    if not rows:
        return ""
    ids = (record.get("embedder", {}).get("config") or {}).get("layers") or list(range(len(rows[0])))
    mean = np.mean(np.asarray(rows, dtype=np.float64), axis=0)
    return "Learned layer weights (mean over splits and seeds): " + ", ".join(
        f"{layer}: {w:.3f}" for layer, w in zip(ids, mean))
