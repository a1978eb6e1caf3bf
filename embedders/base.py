"""The embedder contract, for built-in models and plugin authors.

Write a subclass, then run it with ``bench run --embedder path/to/file.py:MyEmbedder --task demo``
(or register it under the entry-point group ``bench.embedders``)::

    import numpy as np
    from embedders.base import Embedder

    class MyEmbedder(Embedder):
        name = "my-model"
        sample_rate = 16000          # audio arrives mono float32 at this rate
        dim = 512                    # width of each frame vector

        def load(self):              # called once, lazily, before the first embed()
            self.model = build_model().to(self.device).eval()

        def embed(self, batch):      # list of 1-D float32 arrays -> list of (n_frames, dim)
            return [self.model(x) for x in batch]

        def config(self):            # everything that changes the output; it is the cache key
            return {**super().config(), "weights_sha256": "…"}

Check it with ``bench check-embedder path/to/file.py:MyEmbedder`` before a long run.
Pooling over frames belongs to the probe protocol, not to the embedder.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class Embedder:
    """Turns clips into (n_frames, dim) float32 arrays."""

    #: registry name; set by the registry for built-ins and entry points
    name: str = ""
    #: sample rate (Hz) the audio is decoded to
    sample_rate: int = 16000
    #: resampler used when decoding (librosa ``res_type``); part of the cache key
    res_type: str = "soxr_hq"
    #: width of each frame vector
    dim: int = 0
    #: "audio" (batches of waveforms) or "tags" (batches of tag lists)
    input_kind: str = "audio"
    #: bump when the output of this embedder's code changes; it invalidates cached embeddings
    version: str = "1"
    #: clips per embed() call; lower it for memory-hungry models
    batch_size: int = 16

    def __init__(self, weights: str | None = None, device: str | None = None, **options: Any) -> None:
        from benchmark.config import default_device

        _require_embed(type(self))
        self.weights = weights
        self.device = device or default_device()
        self.options = options
        self._loaded = False

    # -- lifecycle ---------------------------------------------------------------------------
    def load(self) -> None:
        """Load weights and build the model. Missing weights raise WeightsError saying where to put them."""

    def ensure_loaded(self) -> None:
        if not self._loaded:
            self.load()
            self._loaded = True

    # -- the work ----------------------------------------------------------------------------
    def embed(self, batch: Sequence[Any]) -> list[np.ndarray]:
        """Embed a batch: waveforms (mono float32 at ``sample_rate``) or, for tag models, tag lists.

        Returns one float32 array of shape (n_frames, dim) per input, n_frames >= 1.
        """
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description of everything that changes the output, weights' sha256
        included. It forms the cache key, so it must not depend on the device."""
        cls = type(self)
        return {
            "name": self.name or cls.__name__,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "version": self.version,
            "sample_rate": self.sample_rate,
            "res_type": self.res_type,
            "dim": self.dim,
            "input_kind": self.input_kind,
            "options": {k: v for k, v in sorted(self.options.items())},
        }

    def describe(self) -> str:
        """One line for ``bench list embedders``."""
        doc = (type(self).__doc__ or "").strip().splitlines()
        return doc[0] if doc else ""


def _require_embed(cls: type) -> None:
    """Refuse, when the embedder is created (not after the audio is decoded), a class that does
    not override ``embed``: the most common plugin slip (``embed_clip``, ``forward``, a typo)."""
    if getattr(cls, "embed", None) is not Embedder.embed:
        return
    import inspect

    from benchmark.errors import BenchError

    try:
        where = f" (in {inspect.getsourcefile(cls)})"
    except (TypeError, OSError):
        where = ""
    near = sorted(n for n in vars(cls) if "embed" in n.lower() or n in ("forward", "__call__", "predict"))
    has = f" It defines {', '.join(n + '()' for n in near)}, which bench never calls." if near else ""
    raise BenchError(
        f"Embedder class '{cls.__name__}'{where} does not implement embed(self, batch), the method bench "
        f"calls with a batch of inputs (mono float32 waveforms at sample_rate, or tag lists) and which must "
        f"return one (n_frames, dim) float32 array per input.{has} Define embed() in the class; the plugin "
        "guide with a complete example is the docstring of embedders/base.py "
        "(python -c \"import embedders.base; help(embedders.base)\")."
    )
