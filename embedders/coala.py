"""COALA audio encoders (xavierfav/coala) and the contextual-tag audio encoders
(xavierfav/ae-w2v-attention): 5 × [Conv2d 4×4 /2 → BatchNorm → ReLU → Dropout] on 96×96 log-mel
patches → ``z`` (1152) per patch; the contextual-tag stack ends with LayerNorm(1152, eps 1e-6).

The network (``embedders/coala_net.py``) keeps the authors' attribute names and Sequential indices so their checkpoints load
strictly; the projection heads (``fc_audio`` / ``fc``) are loaded but not run, since the embedding
is ``z``. One frame per patch; pooling over patches belongs to the probe protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import UnknownNameError, WeightsError

from . import frontends
from .base import Embedder
from .weights import file_sha256, load_state_dict_strict, resolve_weights

Z_DIM = 1152  # z's width; the network (embedders/coala_net.py) is imported only by load()
COALA_URL = "https://github.com/xavierfav/coala/raw/master/saved_models/"
W2V_URL = "https://github.com/xavierfav/ae-w2v-attention/raw/main/saved_models/"


@dataclass(frozen=True)
class Variant:
    layout: str  # "coala" (AudioEncoder), "w2v" (AudioEncoder + LayerNorm) or "cnn" (CNN baseline)
    checkpoint: str  # path relative to the public saved_models/ folder
    projection: int = Z_DIM  # width of fc_audio in the checkpoint (not used for the embedding)
    about: str = ""

    @property
    def url(self) -> str:
        return (W2V_URL if self.layout == "w2v" else COALA_URL) + self.checkpoint

    @property
    def relative_path(self) -> str:
        return ("ae-w2v-attention/" if self.layout == "w2v" else "coala/") + self.checkpoint


def _w2v(folder: str, projection: int, aggregation: str) -> Variant:
    about = f"Contextual-tag audio encoder ({projection}-d w2v, {aggregation})"
    return Variant("w2v", f"{folder}/audio_encoder_epoch_200.pt", projection, about)


VARIANTS: dict[str, Variant] = {
    "coala": Variant("coala", "dual_ae_c/audio_encoder_epoch_200.pt", about="COALA AE-C audio encoder"),
    "coala-ec": Variant("coala", "dual_e_c/audio_encoder_epoch_200.pt", about="COALA E-C audio encoder"),
    "coala-cnn": Variant("cnn", "cnn/audio_encoder_epoch_20.pt", about="COALA CNN tag-prediction baseline, encoder"),
    "w2v-128-mean": _w2v("ae_w2v_128_mean_c", 128, "mean"),
    "w2v-128-1h": _w2v("ae_w2v_128_selfatt_c_1h", 128, "1-head attention"),
    "w2v-128-4h": _w2v("ae_w2v_128_selfatt_c_4h", 128, "4-head attention"),
    "w2v-1152-mean": _w2v("ae_w2v_mean_c", Z_DIM, "mean"),
    "w2v-1152-1h": _w2v("ae_w2v_selfatt_c_1h", Z_DIM, "1-head attention"),
    "w2v-1152-4h": _w2v("ae_w2v_selfatt_c_4h", Z_DIM, "4-head attention"),
}


class CoalaEmbedder(Embedder):
    """COALA-family audio encoder: z (1152) per 96-frame log-mel patch (~2.2 s) at 22 kHz.

    Layers (``--layer``/``--layers``): 0-3 the outputs of conv blocks 1-4 (after ReLU), each
    average-pooled to block 5's 3×3 grid (128 × 9 = 1152, the width of z); 4 is z, the embedding
    and the default. Only z is stored unless ``--option layers=all|A-B|A,B,C`` asks for more (a
    sweep adds it), so the default cache and output are the authors' z alone.
    """

    sample_rate = frontends.SAMPLE_RATE
    res_type = frontends.RES_TYPE
    dim = Z_DIM
    batch_size = 16
    accepted_options = {"layers": "layers to store: 0-3 conv blocks 1-4, 4 = z (all|A-B|A,B,C; default 4)"}
    #: patches per forward pass; bounds memory (about 1.2 MB of activations per patch)
    patch_batch = 128

    def __init__(
        self,
        variant: str = "coala",
        weights: str | None = None,
        device: str | None = None,
        scaler: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(weights=weights, device=device, **options)
        if variant not in VARIANTS:
            raise UnknownNameError(f"Unknown COALA variant '{variant}'. Known: {', '.join(VARIANTS)}.")
        self.variant = variant
        self.spec = VARIANTS[variant]
        self.layer_count, self.default_layer = 5, 4
        from benchmark.embed.layers import stored_layers

        self.layer_ids = stored_layers(options.get("layers"), 5, default=[4])
        self.layer_dims = [Z_DIM] * len(self.layer_ids)
        self.default_whole = self.layer_ids == [4]  # z alone: a default run reads it as before
        self.dim = sum(self.layer_dims)
        self.scaler_path = scaler
        self._paths: tuple[Path, Path] | None = None
        self._hashes: dict[str, str] = {}

    # -- weights -----------------------------------------------------------------------------
    def _resolve(self) -> tuple[Path, Path]:
        if self._paths is None:
            weights = resolve_weights(self.weights, self.spec.relative_path, self.spec.url, cache=self.cache_dir)
            scaler = frontends.resolve_scaler(self.scaler_path, cache=self.cache_dir)
            self._paths = (weights, scaler)
        return self._paths

    def _sha256(self, which: str, path: Path) -> str:
        if which not in self._hashes:
            self._hashes[which] = file_sha256(path)
        return self._hashes[which]

    def load(self) -> None:
        import torch

        from .coala_net import CoalaAudioEncoder

        weights, scaler = self._resolve()
        self.scaler = frontends.Scaler(scaler)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(
                f"Cannot read {weights} as a PyTorch checkpoint ({type(exc).__name__}: {exc}). "
                f"Download it again from {self.spec.url}."
            ) from exc
        if not isinstance(state, dict):
            raise WeightsError(f"{weights} holds a {type(state).__name__}, not a state dict. Expected {self.spec.url}.")
        model = CoalaAudioEncoder(self.spec.layout, self.spec.projection)
        load_state_dict_strict(model, state, weights)
        model.layers = None if self.layer_ids == [4] else self.layer_ids
        self.model = model.to(self.device).eval()

    def config(self) -> dict[str, Any]:
        weights, scaler = self._resolve()
        return {
            **super().config(),
            "variant": self.variant,
            "layout": self.spec.layout,
            "weights_sha256": self._sha256("weights", weights),
            "scaler_sha256": self._sha256("scaler", scaler),
            # only when layers beyond z are stored: the default key stays the one of earlier caches
            **({"layers": self.layer_ids, "layer_rule": "blocks 1-4 average-pooled to 3x3"}
               if self.layer_ids != [4] else {}),
        }

    # -- the work ----------------------------------------------------------------------------
    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.ensure_loaded()
        if not batch:
            return []
        per_clip = frontends.patches(frontends.log_mel(batch), self.scaler)
        return frontends.forward_pieces(self.model, [p[:, None] for p in per_clip], self.patch_batch, self.device)

    def describe(self) -> str:
        return f"{self.spec.about}: z per 96-frame log-mel patch (2.2 s)"
