"""The original musicnn (J. Pons), MTT- and MSD-trained, read from the Keras HDF5 files of
Quint-e/musicnn_keras with h5py (no TensorFlow), without its dense layers.

Recipe of ``musicnn_keras/extractor.py`` and the model graph stored in the h5 file:
  audio at 16 kHz (resampy ``kaiser_best``, the librosa default of the time; ``soxr_hq`` offered);
  librosa power mel spectrogram (n_fft 512, hop 256, 96 Slaney bands, centred with reflect
  padding as in librosa 0.7), cast to float16, then ``log10(10000 x + 1)`` (in float32: NumPy 1.x
  promoted ``10000 * float16`` to float32); non-overlapping 187-frame (3 s) patches, the tail
  dropped; a clip shorter than 3 s zero-padded to 3 s (the original fails on it).
  Network (Keras order: conv → ReLU → BatchNorm, eps 1e-3): input BatchNorm; timbral filters
  7×38 and 7×67 (204 each, time-padded by 3, max over frequency); temporal filters 128×1, 64×1,
  32×1 (51 each, "same" padding, max over frequency) → 561; three 7-tap mid-end layers (64, the
  last two residual) → 753; max and mean over time → 1506 per patch, in the order max then mean
  (the Keras model interleaves them before its dense head, which is not run).
Layers (``--layer``/``--layers``): as in ``musicnn.py``, columns of the 1506.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import Embedder
from .frontends import forward_pieces

SAMPLE_RATE = 16000
N_FFT, HOP, N_MELS = 512, 256, 96
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
EPS = 1e-3
TIMBRAL = ((204, 38), (204, 67))  # (filters, frequency extent); 7 frames each
TEMPORAL = (128, 64, 32)  # 51 filters each, one frequency bin wide

_BASE = "https://github.com/Quint-e/musicnn_keras/raw/master/musicnn_keras/keras_checkpoints"
PUBLIC = {"mtt": ("musicnn_keras/MTT_musicnn.h5", f"{_BASE}/MTT_musicnn.h5"),
          "msd": ("musicnn_keras/MSD_musicnn.h5", f"{_BASE}/MSD_musicnn.h5")}


class PonsBackbone(nn.Module):
    """(n, 187, 96) log-mel patches → (n, 1506)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn_input = nn.BatchNorm2d(1, eps=EPS)
        self.timbral = nn.ModuleList([nn.Conv2d(1, n, (7, f)) for n, f in TIMBRAL])
        self.timbral_bn = nn.ModuleList([nn.BatchNorm2d(n, eps=EPS) for n, _ in TIMBRAL])
        self.temporal = nn.ModuleList([nn.Conv2d(1, 51, (k, 1)) for k in TEMPORAL])
        self.temporal_bn = nn.ModuleList([nn.BatchNorm2d(51, eps=EPS) for _ in TEMPORAL])
        self.midend = nn.ModuleList([nn.Conv1d(561 if i == 0 else 64, 64, 7, padding=3) for i in range(3)])
        self.midend_bn = nn.ModuleList([nn.BatchNorm1d(64, eps=EPS) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn_input(x.unsqueeze(1))  # (n, 1, time, freq)
        padded = F.pad(x, (0, 0, 3, 3))
        feats = [bn(F.relu(conv(padded))).amax(dim=3) for conv, bn in zip(self.timbral, self.timbral_bn)]
        for k, conv, bn in zip(TEMPORAL, self.temporal, self.temporal_bn):
            same = F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))  # TF "same": the extra row at the end
            feats.append(bn(F.relu(conv(same))).amax(dim=3))
        front = torch.cat(feats, dim=1)  # (n, 561, time)
        cnn1 = self.midend_bn[0](F.relu(self.midend[0](front)))
        res2 = self.midend_bn[1](F.relu(self.midend[1](cnn1))) + cnn1
        res3 = self.midend_bn[2](F.relu(self.midend[2](res2))) + res2
        out = torch.cat([front, cnn1, res2, res3], dim=1)  # (n, 753, time)
        return torch.cat([out.amax(dim=-1), out.mean(dim=-1)], dim=1)


def _keras_weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """layer name -> {kernel|bias|gamma|beta|moving_mean|moving_variance: array}."""
    import h5py

    from benchmark.core.errors import WeightsError

    try:
        with h5py.File(path, "r") as h5:
            group = h5["model_weights"]
            out: dict[str, dict[str, np.ndarray]] = {}
            for layer in group:
                for name, ds in group[layer].get(layer, {}).items():
                    out.setdefault(layer, {})[name.split(":")[0].rstrip("_0123456789")] = np.asarray(ds)
            return out
    except (OSError, KeyError) as exc:
        raise WeightsError(f"Cannot read {path} as a musicnn Keras HDF5 file ({type(exc).__name__}: {exc}). "
                           f"Download it again from {PUBLIC['mtt'][1]} (or MSD_musicnn.h5).") from exc


def keras_state_dict(weights: dict[str, dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """PyTorch state dict of :class:`PonsBackbone` from the Keras layers (the dense head is ignored)."""
    state: dict[str, torch.Tensor] = {}

    def bn(target: str, layer: str) -> None:
        w = weights[layer]
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            state[f"{target}.{ours}"] = torch.from_numpy(w[theirs].astype(np.float32))
        state[f"{target}.num_batches_tracked"] = torch.tensor(0)

    def conv(target: str, layer: str, one_d: bool = False) -> None:
        kernel = weights[layer]["kernel"]  # (kh, kw, in, out)
        tensor = kernel[:, :, 0, :].transpose(2, 1, 0) if one_d else kernel.transpose(3, 2, 0, 1)
        state[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(tensor, dtype=np.float32))
        state[f"{target}.bias"] = torch.from_numpy(weights[layer]["bias"].astype(np.float32))

    bn("bn_input", "batch_normalization")
    # the Keras graph: conv2d (7x38) and conv2d_1 (7x67) timbral; conv2d_2..4 temporal 128, 64, 32
    for i in range(2):
        conv(f"timbral.{i}", "conv2d" if i == 0 else f"conv2d_{i}")
        bn(f"timbral_bn.{i}", f"batch_normalization_{i + 1}")
    for i in range(3):
        conv(f"temporal.{i}", f"conv2d_{i + 2}")
        bn(f"temporal_bn.{i}", f"batch_normalization_{i + 3}")
    for i in range(3):
        conv(f"midend.{i}", f"midend_conv{i + 1}", one_d=True)
        bn(f"midend_bn.{i}", f"bn_midend_conv{i + 1}")
    return state


def log_mel_patches(samples: np.ndarray) -> np.ndarray:
    """(n_patches, 187, 96) float32, as musicnn's ``batch_data`` (see the module docstring)."""
    import librosa

    samples = np.asarray(samples, dtype=np.float32)
    if samples.size < 3 * SAMPLE_RATE:
        samples = np.pad(samples, (0, 3 * SAMPLE_RATE - samples.size))
    mel = librosa.feature.melspectrogram(y=samples, sr=SAMPLE_RATE, hop_length=HOP, n_fft=N_FFT, n_mels=N_MELS,
                                         pad_mode="reflect").T
    rep = np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)
    starts = range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    return np.stack([rep[s : s + N_FRAMES] for s in starts]).astype(np.float32)


class PonsMusicnn(Embedder):
    """Original musicnn (Pons), Keras weights, no dense layers: 1506 per 3 s patch at 16 kHz."""

    sample_rate = SAMPLE_RATE
    dim = 1506
    version = "1"
    batch_size = 8

    def __init__(self, weights: str | None = None, device: str | None = None, variant: str = "mtt",
                 resampler: str = "kaiser_best", patch_batch: int = 16, **options: Any) -> None:
        from benchmark.core.errors import BenchError

        super().__init__(weights=weights, device=device, **options)
        if variant not in PUBLIC:
            raise BenchError(f"Unknown Pons musicnn variant '{variant}'. Use one of: {', '.join(PUBLIC)}.")
        if resampler not in ("kaiser_best", "soxr_hq"):
            raise BenchError(f"Unknown resampler '{resampler}' for musicnn. Use one of: kaiser_best, soxr_hq.")
        self.variant = variant
        self.res_type = resampler
        self.patch_batch = max(1, int(patch_batch))
        # layers (--layer/--layers): columns of the 1506, which stays the default output and the cache
        from .musicnn_net import layer_columns

        self.layer_columns = layer_columns()
        self.layer_ids, self.layer_dims, self.layer_count = [0, 1, 2, 3], [len(c) for c in self.layer_columns], 4
        self.default_whole = True  # without --layer: the 1506, as before
        self._path: Path | None = None
        self._sha256: str | None = None

    def weights_path(self) -> Path:
        from .weights import resolve_weights

        if self._path is None:
            relative, url = PUBLIC[self.variant]
            self._path = resolve_weights(self.weights, relative, url, cache=self.cache_dir)
        return self._path

    def load(self) -> None:
        from .weights import load_state_dict_strict

        path = self.weights_path()
        model = PonsBackbone()
        try:
            state = keras_state_dict(_keras_weights(path))
        except KeyError as exc:
            from benchmark.core.errors import WeightsError

            raise WeightsError(f"{path} lacks the musicnn layer {exc}; is it MTT_musicnn.h5 or MSD_musicnn.h5?") from exc
        load_state_dict_strict(model, state, path)
        self.model = model.to(self.device).eval()

    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.ensure_loaded()
        return forward_pieces(self.model, [log_mel_patches(x) for x in batch], self.patch_batch, self.device)

    def config(self) -> dict[str, Any]:
        from .weights import file_sha256

        if self._sha256 is None:
            self._sha256 = file_sha256(self.weights_path())  # no hash is published: record the file's
        return {**super().config(), "variant": self.variant, "weights_sha256": self._sha256}

    def describe(self) -> str:
        return f"original musicnn (Pons, {self.variant.upper()} Keras weights; {self.res_type}): 1506 per 3 s patch"
