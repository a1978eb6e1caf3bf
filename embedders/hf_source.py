"""Where an ``hf:`` model's files are, and the identity that keys its cache.

``hf:<local folder>``: the folder as it is; identity = sha256 of its weight and config files.
``hf:<model id>``: a snapshot in the Hugging Face cache (``$HF_HUB_CACHE``, else
``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``), downloaded on first use unless downloads
are off (``BENCH_OFFLINE`` or ``HF_HUB_OFFLINE``); identity = model id + the snapshot's commit hash,
so a moving branch (``main``) never serves stale embeddings.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core import config
from benchmark.core.errors import BenchError, WeightsError
from benchmark.data.fetch import sha256_of

#: files whose bytes change the model's outputs (weights, its config, the feature extractor's)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
_CONFIG_FILES = ("config.json", "preprocessor_config.json", "feature_extractor_config.json")
#: what a snapshot download fetches: configs, safetensors, remote code; .bin only without safetensors
_PATTERNS = ["*.json", "*.safetensors", "*.py", "*.txt", "*.model"]


@dataclass(frozen=True)
class Source:
    """A model's local folder and what identifies its content."""

    folder: Path
    identity: dict = field(default_factory=dict)


def require_transformers() -> None:
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise BenchError(
            "The hf: embedder needs the Hugging Face transformers package. Install the extra: "
            "pip install -e \".[hf]\" (from the bench folder), or pip install \"transformers>=4.48,<5.24\"."
        ) from None


def offline() -> bool:
    hub_offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    return hub_offline or not config.downloads_allowed()


def hub_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def is_local(spec: str) -> bool:
    path = Path(spec).expanduser()
    return path.is_dir() or spec.startswith(("/", "./", "../", "~"))


def resolve(spec: str, revision: str | None = None) -> Source:
    """The folder and identity of ``spec`` (a model id or a local folder)."""
    if is_local(spec):
        folder = Path(spec).expanduser().resolve()
        if not folder.is_dir():
            raise WeightsError(f"hf:{spec}: no such folder {folder}. Pass a folder written by save_pretrained "
                               "(config.json, weights, preprocessor_config.json) or a Hugging Face model id.")
        if revision:
            raise BenchError(f"hf:{spec} is a local folder; --option revision= applies to model ids only.")
        return Source(folder, {"files_sha256": folder_hashes(folder)})
    folder = _snapshot(spec, revision)
    return Source(folder, {"model_id": spec, "commit": folder.name})


def folder_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every weight and config file of a model folder (its content, not its path)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and (p.suffix in _WEIGHT_SUFFIXES or p.name in _CONFIG_FILES))
    if not any(p.suffix in _WEIGHT_SUFFIXES for p in files):
        raise WeightsError(f"{folder} holds no weight files ({', '.join(_WEIGHT_SUFFIXES)}). "
                           "Save the model there with model.save_pretrained(folder).")
    return {str(p.relative_to(folder)): sha256_of(p) for p in files}


def _snapshot(model_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub import errors as hub_errors

    cache, local_only = hub_cache(), offline()
    rev = f" (revision {revision})" if revision else ""
    try:
        folder = Path(snapshot_download(model_id, revision=revision, cache_dir=cache, local_files_only=local_only,
                                        allow_patterns=_PATTERNS))
        if not local_only and not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(model_id, revision=revision, cache_dir=cache,
                                            allow_patterns=_PATTERNS + ["pytorch_model*.bin"]))
    except (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError) as exc:
        raise WeightsError(f"Hugging Face model '{model_id}'{rev} was not found on the hub ({type(exc).__name__}). "
                           "Check the id (it looks like 'facebook/wav2vec2-base'), or pass a local folder.") from None
    except (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled, OSError, ValueError) as exc:
        why = ("downloads are off (BENCH_OFFLINE or HF_HUB_OFFLINE is set)" if local_only
               else f"the download failed ({type(exc).__name__})")
        raise WeightsError(
            f"Hugging Face model '{model_id}'{rev} is not in the local Hugging Face cache {cache} and {why}.\n"
            f"On a machine with internet run: hf download {model_id}{' --revision ' + revision if revision else ''} "
            f"(huggingface-cli download {model_id} with older huggingface_hub), then copy {cache} here "
            f"(or set HF_HUB_CACHE), or pass a local folder: -e hf:/path/to/saved-model."
        ) from None
    return folder


def needs_remote_code(folder: Path) -> bool:
    """True when the model's config maps to code shipped in the model repository (MERT, …)."""
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(data.get("auto_map"))
