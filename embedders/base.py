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

Every embedder also takes ``--option store_dtype=float16``: its frames are cached in float16 (half
the disk; the cache key includes it) and probes read them back as float32.

Options: ``--option KEY=VALUE`` reaches ``self.options`` only for keys declared in
``accepted_options = {"key": "what it does"}`` (or as keyword parameters of ``__init__``); any other
key is an error, since it would change nothing but the record. A model without a checkpoint sets
``takes_weights = False`` so that ``--weights`` is refused rather than ignored. Read values with
``number_option(self.options, "hop", 0.25, minimum=...)`` and ``flag_option(...)``: a value of the
wrong type or out of range then fails when the embedder is built, naming the option, the value
and what is allowed, before any extraction.

Check it with ``bench check-embedder path/to/file.py:MyEmbedder`` before a long run.
Pooling over frames belongs to the probe protocol, not to the embedder.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: options every embedder takes: they change how its frames are cached, not the model
STORE_OPTIONS = {"store_dtype": "float32|float16: dtype of the cached frames (float16 halves the cache; "
                                "probes read float32)"}


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
    #: ``--option KEY=VALUE`` keys read from ``self.options``, with what each does. config() records
    #: them (they change the output, so the cache key); any other key is an error, not ignored
    accepted_options: dict[str, str] = {}
    #: False for a model without a checkpoint: ``--weights`` is then an error, not ignored
    takes_weights: bool = True
    #: set by the harness (``--cache-dir``): where downloaded weights are kept, under ``weights/``
    cache_dir: "str | None" = None

    #: clips per chunk: the unit of work of the executors and one shard of the cache (whole batches)
    clips_per_chunk: int = 64

    def __init__(self, weights: str | None = None, device: str | None = None, **options: Any) -> None:
        _require_embed(type(self))
        check_options(type(self), options, weights)
        if options.get("store_dtype") == "float32":  # the default: the same cache as without the option
            options = {k: v for k, v in options.items() if k != "store_dtype"}
        self.weights = weights
        self.device = device  # None: resolved on first use
        self.options = options
        self._loaded = False

    @property
    def device(self) -> str:
        """The torch device (CUDA when present, else CPU), resolved when first read: building an
        embedder (for a listing, or a rerun that finds its records complete) imports no torch."""
        if getattr(self, "_device", None) is None:
            from benchmark.core.config import default_device

            self._device = default_device()
        return self._device

    @device.setter
    def device(self, value: str | None) -> None:
        self._device = value

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
            # a plugin's checkpoint changes its output even when its own config() forgets to say so
            **({"weights_sha256": self._weights_sha256()} if self.weights and self.takes_weights else {}),
        }

    def _weights_sha256(self) -> str | None:
        from pathlib import Path

        from .weights import file_sha256

        path = Path(self.weights).expanduser()
        if not hasattr(self, "_base_weights_sha256"):
            self._base_weights_sha256 = file_sha256(path) if path.is_file() else None
        return self._base_weights_sha256

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

    from benchmark.core.errors import BenchError

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


def accepted_names(cls: type) -> list[str]:
    """The options an embedder class takes: its constructor's keyword parameters and
    ``accepted_options`` (weights and device have their own command-line options)."""
    import inspect

    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is Embedder:
            continue
        for param in inspect.signature(init).parameters.values():
            if (param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
                    and param.default is not param.empty  # a required parameter (hf's spec) is no option
                    and param.name not in ("self", "weights", "device") and param.name not in names):
                names.append(param.name)
    return names + [n for n in getattr(cls, "accepted_options", {}) if n not in names]


def check_options(cls: type, options: dict[str, Any], weights: str | None) -> None:
    """Refuse options the embedder would not use and weights it has no use for: a run recorded
    with ``options: {n_mfcc: 13}`` must have used them."""
    import difflib

    from benchmark.core.errors import BenchError

    label = getattr(cls, "name", "") or cls.__name__
    accepted = accepted_names(cls)
    takes = ("Its options: " + ", ".join(f"{n} ({cls.accepted_options[n]})" if n in cls.accepted_options else n
                                         for n in accepted) + "." if accepted else "It takes no --option of its own.")
    takes += " Every embedder takes store_dtype=float16|float32 (the cache's dtype)."
    unknown = [k for k in options if k not in getattr(cls, "accepted_options", {}) and k not in STORE_OPTIONS]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise BenchError(f"Embedder '{label}' does not use the option {', '.join(hints)}: it would change nothing "
                         f"but the record. {takes} Remove the option, or check the name in "
                         "'bench list embedders'.")
    from benchmark.embed.store import store_dtype

    store_dtype(options.get("store_dtype"))
    if weights is not None and not getattr(cls, "takes_weights", True):
        raise BenchError(f"Embedder '{label}' has no weights to load, so --weights {weights} would be ignored. "
                         f"Drop --weights, or pick an embedder with a checkpoint ('bench list embedders'). {takes}")


def number_option(options: dict[str, Any], key: str, default: float, *, minimum: float = 0.0,
                  minimum_allowed: bool = True, integer: bool = False, unit: str = "") -> float:
    """The value of ``--option key=...`` as a finite number of at least (or, without
    ``minimum_allowed``, above) ``minimum``: checked when the embedder is built, before any
    extraction, so a bad value fails naming the option, the value and what is allowed."""
    import math

    from benchmark.core.errors import BenchError

    value = options.get(key, default)
    kind = "a whole number" if integer else "a number"
    bound = f"{'at least' if minimum_allowed else 'above'} {minimum:g}"
    allowed = f"{kind}{' of ' + unit if unit else ''}, {bound} (default {default:g})"
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if (not math.isfinite(number) or (integer and number != int(number))
            or number < minimum or (number == minimum and not minimum_allowed)):
        raise BenchError(f"--option {key}={value} is not allowed: {key} takes {allowed}.")
    return int(number) if integer else number


def flag_option(options: dict[str, Any], key: str) -> bool:
    """``--option key=true|false`` (default false); anything else is refused, not read as false."""
    from benchmark.core.errors import BenchError

    value = options.get(key, False)
    text = str(value).lower()
    if text not in ("true", "false", "1", "0", "yes", "no"):
        raise BenchError(f"--option {key}={value} is not allowed: {key} takes true or false (default false).")
    return text in ("true", "1", "yes")
