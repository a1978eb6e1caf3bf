"""Built-in embedders, installed plugins (entry-point group ``bench.embedders``), and
``module:Class`` / ``file.py:Class`` specs, all through one registry."""
from __future__ import annotations

from typing import Any

from benchmark.registry import Registry

# name -> "module:Class" or ("module:Class", {constructor kwargs}); imported only when used
BUILTINS: dict[str, Any] = {
    "mfcc": "embedders.mfcc:MFCC",
}


def _hear(spec: str, **kwargs: Any) -> Any:
    from .hear import HearEmbedder

    return HearEmbedder(module=spec, **kwargs)


EMBEDDERS = Registry("embedder", BUILTINS, "bench.embedders", {"hear": _hear})
