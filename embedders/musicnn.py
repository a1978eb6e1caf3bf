"""musicnn as MuLaP uses it: the backbone of M. Won's PyTorch port without its dense layers.

Recipe (ilaria-manco/mulap ``CNNEncoder`` over minzwon/sota-music-tagging-models ``Musicnn``):
  audio at 16 kHz (resampy ``kaiser_best`` by default, the resampler the weights were trained
  with; ``resampler="soxr_hq"`` is offered as a faster option); non-overlapping 3 s chunks, the
  partial tail dropped, a clip shorter than 3 s zero-padded to one chunk (golden deviation d);
  per chunk: power mel spectrogram (torchaudio ``MelSpectrogram`` semantics: n_fft 512, hop 256,
  periodic Hann, centred with reflect padding, 96 HTK bands 0-8 kHz, no normalisation) →
  ``AmplitudeToDB(top_db=80)`` (the 80 dB floor is taken per chunk, as MuLaP feeds one chunk at a
  time) → spec BatchNorm → Pons front-end (5 branches, 561) → 3 residual 1-D conv layers (64
  each) → concatenation (753) → max and mean over time → 1506 per chunk.
Chunks of every clip of a batch go through the network together.
Layers (``--layer``/``--layers``): 0 the front-end, 1-3 the mid-end blocks, each its max and mean
columns of the 1506 (``musicnn_net.layer_columns``); without ``--layer``, the 1506.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from benchmark.core.errors import BenchError, WeightsError

from .base import Embedder
from .frontends import forward_pieces
from .musicnn_layout import CHUNK, DIM, SAMPLE_RATE, TOP_DB, layer_columns
from .weights import file_sha256, load_state_dict_strict, resolve_weights

log = logging.getLogger(__name__)

_BASE = "https://github.com/minzwon/sota-music-tagging-models/raw/master/models"
PUBLIC = {  # variant -> (relative path under BENCH_WEIGHTS_DIR / cache, url, sha256)
    "mtat": (
        "musicnn/mtat/best_model.pth",
        f"{_BASE}/mtat/musicnn/best_model.pth",
        "690ace3bb5d49d90dd38fe3ec05a1185350b3bc3742bd7ee941f56b649b2c893",
    ),
    "jamendo": (
        "musicnn/jamendo/best_model.pth",
        f"{_BASE}/jamendo/musicnn/best_model.pth",
        "66280f4859376377c47f64313c7ac889a3201fdb06a01bf6e94ac6e619081bb5",
    ),
}
MULAP_PATH = "mulap/best_model.pth.tar"
# the tagging head of the public checkpoints, ignored on purpose (golden deviation d)
DENSE_PREFIXES = ("dense1.", "bn.", "dense2.")
RESAMPLERS = ("kaiser_best", "soxr_hq")


def chunk(samples: np.ndarray) -> np.ndarray:
    """(n_chunks, 48000): non-overlapping 3 s chunks, tail dropped; short clips zero-padded to one."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size < CHUNK:
        samples = np.pad(samples, (0, CHUNK - samples.size))
    n = samples.size // CHUNK
    return samples[: n * CHUNK].reshape(n, CHUNK)


def backbone_state(state: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, Any], list[str]]:
    """Keys under ``prefix`` (prefix removed) except the tagging head, and every other key."""
    kept, rest = {}, []
    for key, value in state.items():
        inner = key[len(prefix):] if key.startswith(prefix) else None
        if inner is None or inner.startswith(DENSE_PREFIXES):
            rest.append(key)
        else:
            kept[inner] = value
    return kept, rest


def read_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)  # the public files hold CUDA tensors
    except Exception as exc:
        raise WeightsError(f"Cannot read the checkpoint {path}: {type(exc).__name__}: {exc}. "
                           "Check that it is a PyTorch state dict (.pth).") from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]  # MuLaP's trainers save {"epoch", "state_dict", "optimizer"}
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path} holds a {type(obj).__name__}, not a state dict.")
    return dict(obj)


def find_backbone_prefix(state: Mapping[str, Any], path: Path) -> str:
    """The prefix of the musicnn keys in a MuLaP checkpoint, e.g. ``audio_backbone.feature_extractor.``."""
    marker = "spec_bn.running_mean"
    prefixes = sorted({k[: -len(marker)] for k in state if k.endswith(marker)})
    if len(prefixes) != 1:
        sample = ", ".join(sorted(state)[:8])
        found = "none" if not prefixes else ", ".join(repr(p) for p in prefixes)
        raise WeightsError(
            f"{path} does not hold exactly one musicnn backbone (prefixes found: {found}); expected keys like "
            f"'audio_backbone.feature_extractor.spec_bn.running_mean'. First keys: {sample}."
        )
    return prefixes[0]


class Musicnn(Embedder):
    """musicnn backbone as in MuLaP (no dense layers), 1506 per 3 s chunk at 16 kHz."""

    sample_rate = SAMPLE_RATE
    dim = DIM
    version = "1"
    batch_size = 8

    def __init__(self, weights: str | None = None, device: str | None = None, variant: str = "mtat",
                 resampler: str = "kaiser_best", seed: int | None = None, chunk_batch: int | None = None,
                 **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        if variant not in (*PUBLIC, "mulap", "random"):
            raise BenchError(f"Unknown musicnn variant '{variant}'. Use one of: {', '.join([*PUBLIC, 'mulap', 'random'])}.")
        if resampler not in RESAMPLERS:
            raise BenchError(f"Unknown resampler '{resampler}' for musicnn. Use one of: {', '.join(RESAMPLERS)}.")
        # options the variant would ignore are errors, not recorded as if applied
        if variant != "random" and seed is not None:
            raise BenchError(f"The option seed applies to the random-init variant only (musicnn-random); this "
                             f"embedder loads the {variant} weights. Drop --option seed={seed}.")
        if variant == "random" and weights is not None:
            raise BenchError(f"musicnn-random has random weights (--option seed=N picks them): --weights {weights} "
                             "would be ignored. Drop --weights, or use mulap/musicnn-mtat with it.")
        self.variant = variant
        self.res_type = resampler  # the harness decodes with benchmark.data.audio.load_audio(res_type=...)
        self.seed = int(seed or 0)
        # chunks per forward pass: on a CPU one chunk at a time was measured fastest (0.73 s against
        # 1.1-1.3 s for 4-64 chunks per pass, 40 chunks); on a GPU larger passes pay off
        if chunk_batch is None:
            chunk_batch = 16 if str(self.device).startswith("cuda") else 1
        self.chunk_batch = max(1, int(chunk_batch))
        # layers (--layer/--layers): columns of the 1506, which stays the default output and the cache
        self.layer_columns = layer_columns()
        self.layer_ids, self.layer_dims, self.layer_count = [0, 1, 2, 3], [len(c) for c in self.layer_columns], 4
        self.default_whole = True  # without --layer: the 1506, as before
        self._report: dict[str, Any] = {}
        self._path: Path | None = None
        self._sha256: str | None = None

    # -- weights -----------------------------------------------------------------------------
    def weights_path(self) -> Path | None:
        """The checkpoint file (resolved once); None for the random variant."""
        if self.variant == "random":
            return None
        if self._path is None:
            if self.variant == "mulap":
                try:
                    self._path = resolve_weights(self.weights, MULAP_PATH, None, cache=self.cache_dir)
                except WeightsError as exc:
                    raise WeightsError(
                        "mulap needs a MuLaP checkpoint (the best_model.pth.tar of a MuLaP pre-training run; "
                        f"there is no public copy): pass --weights PATH. {exc}"
                    ) from exc
            else:
                relative, url, sha = PUBLIC[self.variant]
                self._path = resolve_weights(self.weights, relative, url, sha, cache=self.cache_dir)
        return self._path

    def weights_sha256(self) -> str | None:
        if self._sha256 is None and self.variant != "random":
            pinned = PUBLIC.get(self.variant)
            # the pinned hash is verified by resolve_weights; only a MuLaP file needs hashing
            self._sha256 = pinned[2] if pinned else file_sha256(self.weights_path())
        return self._sha256

    def load(self) -> None:
        import torch

        from .musicnn_net import MusicnnBackbone, flush_subnormals

        if self.variant == "random":
            with torch.random.fork_rng(devices=[]):  # MuLaP's "Random" baseline, without touching global state
                torch.manual_seed(self.seed)
                model = MusicnnBackbone()
        else:
            path = self.weights_path()  # first: a missing file fails before any model is built
            model = MusicnnBackbone()
            state = read_checkpoint(path)
            prefix = find_backbone_prefix(state, path) if self.variant == "mulap" else ""
            kept, rest = backbone_state(state, prefix)
            load_state_dict_strict(model, kept, path)
            flush_subnormals(model)
            self._report = _key_report(path, prefix, kept, rest)
            log.info("%s: loaded %d backbone keys from %s; ignored %d other keys (%s)", self.name or "musicnn",
                     len(kept), path, len(rest), ", ".join(f"{k}: {n}" for k, n in _groups(rest).items()))
        self.model = model.to(self.device).eval()

    # -- the work ----------------------------------------------------------------------------
    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.ensure_loaded()
        return forward_pieces(self.model, [chunk(x) for x in batch], self.chunk_batch, self.device)

    def notes(self) -> dict[str, Any]:
        """For the RunRecord: which checkpoint keys were loaded and which were left out."""
        if not self._report and self.variant == "mulap":  # embeddings were cached: read the keys only
            path = self.weights_path()
            state = read_checkpoint(path)
            prefix = find_backbone_prefix(state, path)
            self._report = _key_report(path, prefix, *backbone_state(state, prefix))
        return {"musicnn_weights": dict(self._report)} if self._report else {}

    def describe(self) -> str:
        source = {"mtat": "M. Won's MTAT weights", "jamendo": "M. Won's MTG-Jamendo weights",
                  "mulap": "a MuLaP checkpoint (--weights)", "random": f"random init, seed {self.seed}"}[self.variant]
        return f"musicnn backbone as in MuLaP ({source}; {self.res_type}): 1506 per 3 s chunk"

    def config(self) -> dict[str, Any]:
        cfg = {**super().config(), "variant": self.variant, "chunk_seconds": CHUNK // SAMPLE_RATE, "top_db": TOP_DB}
        if self.variant == "random":
            cfg["seed"] = self.seed
        else:
            cfg["weights_sha256"] = self.weights_sha256()
        return cfg


def _key_report(path: Path, prefix: str, kept: Mapping[str, Any], rest: Sequence[str]) -> dict[str, Any]:
    return {"file": str(path), "backbone_prefix": prefix, "backbone_keys": len(kept),
            "ignored_keys": len(rest), "ignored_key_groups": _groups(rest)}


def _groups(keys: Sequence[str]) -> dict[str, int]:
    """Count keys by their first name component, for a short report of what was not loaded."""
    counts: dict[str, int] = {}
    for key in keys:
        head = key.split(".", 1)[0]
        counts[head] = counts.get(head, 0) + 1
    return counts
