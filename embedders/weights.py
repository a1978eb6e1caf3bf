"""Where pretrained weights come from, and loading them strictly.

Resolution order: ``--weights PATH``; ``$BENCH_WEIGHTS_DIR/<relative path>``; the cache
(``<cache>/weights/<relative path>``); a download from the public address (verified against the
pinned sha256 where one is known); otherwise a WeightsError giving the address and the exact
path to put the file at. Never falls back to random weights.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from benchmark.core import config
from benchmark.core.errors import BenchError, WeightsError
from benchmark.data.fetch import RemoteFile, resolve_file, sha256_of


def resolve_weights(
    explicit: str | None,
    relative_path: str,
    url: str | None,
    sha256: str | None = None,
    cache: str | Path | None = None,
    allow_download: bool | None = None,
) -> Path:
    """Path of a weights file (see the module docstring for the order)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsError(f"--weights points to {path}, which does not exist.")
        if sha256 and sha256_of(path) != sha256:
            raise WeightsError(
                f"{path} is not the published checkpoint (sha256 differs from {sha256[:12]}…). "
                f"Download it again from {url}."
            )
        return path
    relative = Path(relative_path)
    cache_root = config.cache_dir(cache) / "weights"
    weights_dir = config.weights_dir()
    search = [weights_dir / relative.parent] if weights_dir else []
    if not url:
        for folder in search + [cache_root / relative.parent]:
            if (folder / relative.name).is_file():
                return folder / relative.name
        places = " or ".join(str(f / relative.name) for f in search + [cache_root / relative.parent])
        raise WeightsError(f"No public weights for this model. Pass --weights PATH, or put the file at {places}.")
    remote = RemoteFile(relative.name, url, sha256, "pretrained weights")
    try:
        return resolve_file(remote, search, cache_root / relative.parent, allow_download=allow_download)
    except BenchError as exc:
        # the download error already lists the cache path: name only what it does not say
        other = (f"put the file at {weights_dir / relative} (BENCH_WEIGHTS_DIR)" if weights_dir
                 else f"set BENCH_WEIGHTS_DIR to a folder holding {relative}")
        raise WeightsError(f"Weights not found: {relative}. {exc}\nOr pass --weights PATH, or {other}.") from exc


def load_state_dict_strict(module: Any, state: Mapping[str, Any], source: str | Path) -> None:
    """Load ``state`` into ``module``; on any mismatch raise WeightsError listing the keys."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong_shape:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:10]) + (f" (+{len(keys) - 10} more)" if len(keys) > 10 else "") if keys else "none"

        raise WeightsError(
            f"The checkpoint {source} does not fit {type(module).__name__}.\n"
            f"  missing keys: {show(missing)}\n  unexpected keys: {show(unexpected)}\n"
            f"  wrong shapes: {show(wrong_shape)}\n"
            "Check that the file is the checkpoint of this embedder variant."
        )
    module.load_state_dict(state, strict=True)


def file_sha256(path: Path) -> str:
    return sha256_of(path)
