"""Built-in embedders, installed plugins (entry-point group ``bench.embedders``), and
``module:Class`` / ``file.py:Class`` specs, all through one registry."""
from __future__ import annotations

from typing import Any

from benchmark.core.registry import Registry

# name -> "module:Class" or ("module:Class", {constructor kwargs}); imported only when used
BUILTINS: dict[str, Any] = {
    "mfcc": "embedders.mfcc:MFCC",
    "coala": ("embedders.coala:CoalaEmbedder", {"variant": "coala"}),
    "coala-ec": ("embedders.coala:CoalaEmbedder", {"variant": "coala-ec"}),
    "coala-cnn": ("embedders.coala:CoalaEmbedder", {"variant": "coala-cnn"}),
    "w2v-128-mean": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-128-mean"}),
    "w2v-128-1h": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-128-1h"}),
    "w2v-128-4h": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-128-4h"}),
    "w2v-1152-mean": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-1152-mean"}),
    "w2v-1152-1h": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-1152-1h"}),
    "w2v-1152-4h": ("embedders.coala:CoalaEmbedder", {"variant": "w2v-1152-4h"}),
    "w2v-128-mean-tags": "embedders.tags:W2V128MeanTags",
    "w2v-128-1h-tags": "embedders.tags:W2V128SelfAtt1hTags",
    "w2v-128-4h-tags": "embedders.tags:W2V128SelfAtt4hTags",
    "w2v-1152-mean-tags": "embedders.tags:W2V1152MeanTags",
    "w2v-1152-1h-tags": "embedders.tags:W2V1152SelfAtt1hTags",
    "w2v-1152-4h-tags": "embedders.tags:W2V1152SelfAtt4hTags",
    "musicnn-mtat": ("embedders.musicnn:Musicnn", {"variant": "mtat"}),
    "musicnn-jamendo": ("embedders.musicnn:Musicnn", {"variant": "jamendo"}),
    "musicnn-mtat-soxr": ("embedders.musicnn:Musicnn", {"variant": "mtat", "resampler": "soxr_hq"}),
    "musicnn-jamendo-soxr": ("embedders.musicnn:Musicnn", {"variant": "jamendo", "resampler": "soxr_hq"}),
    "mulap": ("embedders.musicnn:Musicnn", {"variant": "mulap"}),
    "musicnn-random": ("embedders.musicnn:Musicnn", {"variant": "random"}),
    "musicnn-pons-mtt": ("embedders.musicnn_keras:PonsMusicnn", {"variant": "mtt"}),
    "musicnn-pons-msd": ("embedders.musicnn_keras:PonsMusicnn", {"variant": "msd"}),
    "crepe": ("embedders.crepe:Crepe", {"model": "full"}),
    "crepe-tiny": ("embedders.crepe:Crepe", {"model": "tiny"}),
}


def _hear(spec: str, **kwargs: Any) -> Any:
    from .hear import HearEmbedder

    return HearEmbedder(module=spec, **kwargs)


def _hf(spec: str, **kwargs: Any) -> Any:
    from .hf import HFEmbedder

    return HFEmbedder(spec=spec, **kwargs)


EMBEDDERS = Registry("embedder", BUILTINS, "bench.embedders", {"hear": _hear, "hf": _hf}, base="embedders.base:Embedder")
