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

from .base import Embedder
from .frontends import forward_pieces

SAMPLE_RATE = 16000
N_FFT, HOP, N_MELS = 512, 256, 96
N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1

_BASE = "https://github.com/Quint-e/musicnn_keras/raw/master/musicnn_keras/keras_checkpoints"
PUBLIC = {"mtt": ("musicnn_keras/MTT_musicnn.h5", f"{_BASE}/MTT_musicnn.h5"),
          "msd": ("musicnn_keras/MSD_musicnn.h5", f"{_BASE}/MSD_musicnn.h5")}


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
        from .musicnn_layout import layer_columns

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
        from .musicnn_keras_net import PonsBackbone, keras_state_dict
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
