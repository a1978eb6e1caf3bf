"""Any installed module with the HEAR 2021 API, as ``--embedder hear:<module>``.

The API (https://hearbenchmark.com/hear-api.html): ``load_model(model_file_path="")`` returns a
model with ``sample_rate``, ``scene_embedding_size`` and ``timestamp_embedding_size``;
``get_timestamp_embeddings(audio, model)`` → ((n, T, D) embeddings, (n, T) timestamps in ms);
``get_scene_embeddings(audio, model)`` → (n, D). ``audio`` is an (n, samples) float32 tensor.
Frames are the timestamp embeddings when the module has them, else the scene embedding as one
frame (``frames="scene"`` forces the latter).
"""
from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

if TYPE_CHECKING:  # torch is imported where it runs: building the embedder loads none
    import torch

from benchmark.core.errors import BenchError, EmbedderOutputError, UnknownNameError, WeightsError

from .base import Embedder
from .weights import file_sha256


class HearEmbedder(Embedder):
    """A HEAR 2021 API module (hear:<module>): timestamp embeddings as frames, else the scene embedding."""

    def __init__(
        self,
        module: str,
        weights: str | None = None,
        device: str | None = None,
        frames: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(weights=weights, device=device, **options)
        if not module:
            raise UnknownNameError("Give the HEAR module after the prefix, e.g. --embedder hear:hearbaseline.")
        if frames not in (None, "timestamp", "scene"):
            raise BenchError(f"frames must be 'timestamp' or 'scene', not '{frames}'.")
        self.module_name = module
        self.name = f"hear:{module}"
        self.module = _import(module)
        has_ts = hasattr(self.module, "get_timestamp_embeddings")
        if frames == "timestamp" and not has_ts:
            raise BenchError(f"HEAR module '{module}' has no get_timestamp_embeddings; use frames='scene'.")
        self.frames = frames or ("timestamp" if has_ts else "scene")
        self.model: Any = None

    # the rate and width are attributes of the loaded model, so reading them loads it
    @property
    def sample_rate(self) -> int:  # type: ignore[override]
        self.ensure_loaded()
        return int(self.model.sample_rate)

    @property
    def dim(self) -> int:  # type: ignore[override]
        self.ensure_loaded()
        attr = "timestamp_embedding_size" if self.frames == "timestamp" else "scene_embedding_size"
        return int(getattr(self.model, attr))

    def load(self) -> None:
        path = ""
        if self.weights:
            if not Path(self.weights).expanduser().exists():
                raise WeightsError(f"--weights points to {self.weights}, which does not exist.")
            path = str(Path(self.weights).expanduser())
        try:
            model = self.module.load_model(path) if path else self.module.load_model()
        except (FileNotFoundError, OSError) as exc:
            raise WeightsError(
                f"HEAR module '{self.module_name}' could not load its model ({exc}). "
                "Pass the model file with --weights PATH (given to load_model as model_file_path)."
            ) from exc
        missing = [a for a in ("sample_rate", "scene_embedding_size", "timestamp_embedding_size") if not hasattr(model, a)]
        needed = "scene_embedding_size" if self.frames == "scene" else "timestamp_embedding_size"
        if "sample_rate" in missing or needed in missing:
            raise BenchError(f"The model of HEAR module '{self.module_name}' lacks {', '.join(missing)} (HEAR API).")
        import torch

        if isinstance(model, torch.nn.Module):
            model = model.to(self.device).eval()
        self.model = model

    def config(self) -> dict[str, Any]:
        config = super().config()
        config.update(
            module=self.module_name,
            module_version=_version(self.module),
            frames=self.frames,
            weights_sha256=file_sha256(Path(self.weights).expanduser()) if self.weights and Path(self.weights).expanduser().is_file() else None,
        )
        return config

    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        self.ensure_loaded()
        out: list[np.ndarray | None] = [None] * len(batch)
        # the API takes one (n, samples) tensor: group clips of equal length instead of padding,
        # since padding would change what the model hears
        by_length: dict[int, list[int]] = {}
        for i, waveform in enumerate(batch):
            by_length.setdefault(len(waveform), []).append(i)
        for indices in by_length.values():
            audio = torch.from_numpy(np.stack([np.asarray(batch[i], dtype=np.float32) for i in indices])).to(self.device)
            with torch.no_grad():  # not inference_mode: foreign models may cache tensors across calls
                emb = self._call(audio)
            for row, i in enumerate(indices):
                out[i] = np.ascontiguousarray(emb[row], dtype=np.float32)
        return out  # type: ignore[return-value]

    def _call(self, audio: torch.Tensor) -> np.ndarray:
        import torch

        if self.frames == "timestamp":
            result = self.module.get_timestamp_embeddings(audio, self.model)
            emb = result[0] if isinstance(result, (tuple, list)) else result
            expected = 3
        else:
            emb = self.module.get_scene_embeddings(audio, self.model)
            expected = 2
        emb = emb.detach().float().cpu().numpy() if isinstance(emb, torch.Tensor) else np.asarray(emb, dtype=np.float32)
        if emb.ndim != expected or emb.shape[0] != audio.shape[0]:
            raise EmbedderOutputError(
                f"HEAR module '{self.module_name}' returned shape {emb.shape} for {audio.shape[0]} clips; "
                f"the API promises {'(n, T, D)' if expected == 3 else '(n, D)'}."
            )
        return emb if expected == 3 else emb[:, None, :]

    def describe(self) -> str:
        return f"HEAR 2021 API module {self.module_name} ({self.frames} embeddings)"


def _import(module: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise UnknownNameError(
            f"HEAR module '{module}' is not installed ({exc}). Install it (e.g. pip install {module.split('.')[0]}) "
            "or put it on PYTHONPATH."
        ) from exc
    if not hasattr(mod, "load_model") or not (
        hasattr(mod, "get_scene_embeddings") or hasattr(mod, "get_timestamp_embeddings")
    ):
        raise UnknownNameError(
            f"'{module}' does not follow the HEAR 2021 API: it needs load_model and "
            "get_scene_embeddings or get_timestamp_embeddings."
        )
    return mod


def _version(module: Any) -> str | None:
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    try:
        return metadata.version(module.__name__.split(".")[0])
    except metadata.PackageNotFoundError:
        return None
