"""Options and plugins checked before any work: a wrong ``--device``, ``--jobs`` or plugin is a
one-paragraph error at once, not a traceback after the whole extraction (and never a record left
"running")."""
from __future__ import annotations

import json
import os
from typing import Any

from benchmark.core.errors import BenchError


def _devices() -> list[str]:
    """The devices this torch can use here, for error messages."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def check_device(device: str | None) -> None:
    """``device`` names a device this torch can use (None: the default, always usable)."""
    if device is None:
        return
    import torch

    usable = ", ".join(_devices())
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise BenchError(f"Unknown --device '{device}'. Devices usable here: {usable}.") from None
    if parsed.type == "cuda":
        if torch.version.cuda is None:
            raise BenchError(
                f"--device {device}: this torch ({torch.__version__}) is a CPU-only build, without CUDA. "
                f"Use --device cpu, or install a CUDA build of torch (https://pytorch.org/get-started/locally/). "
                f"Devices usable here: {usable}."
            )
        if not torch.cuda.is_available():
            raise BenchError(f"--device {device}: torch finds no CUDA GPU on this machine (check the driver and "
                             f"CUDA_VISIBLE_DEVICES). Devices usable here: {usable}.")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise BenchError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s). "
                             f"Devices usable here: {usable}.")
    elif parsed.type == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise BenchError(f"--device {device}: MPS (Apple GPU) is not available here. Devices usable here: {usable}.")
    elif parsed.type != "cpu":
        raise BenchError(f"--device {device}: bench runs on cpu, cuda[:N] or mps. Devices usable here: {usable}.")


def check_jobs(jobs: int) -> None:
    """``jobs``: processes decoding audio, at least 1."""
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise BenchError(f"--jobs {jobs}: the number of processes decoding audio must be 1 or more "
                         f"(this machine has {os.cpu_count()} CPU cores; 1 decodes in the main process).")


def _json_default(value: Any) -> Any:
    # what the results store can write besides plain JSON (see results._json_default)
    from pathlib import Path

    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def check_config(name: str, config: Any) -> None:
    """An embedder's ``config()`` must be JSON: it is the cache key and goes into the run record.
    (Hashed through ``str()``, an object's address would change the key in every process.)"""
    if not isinstance(config, dict):
        raise BenchError(f"Embedder '{name}': config() returned {type(config).__name__}; it must return a dict of "
                         "JSON values (numbers, strings, lists, dicts) describing everything that changes the output.")
    try:
        json.dumps(config, sort_keys=True, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        bad = [key for key, value in config.items() if not _is_json(value)]
        where = f" (key{'s' if len(bad) > 1 else ''} {', '.join(repr(k) for k in bad)})" if bad else ""
        raise BenchError(
            f"Embedder '{name}': config() is not JSON-serialisable{where}: {exc}. It is the cache key and is "
            "written into the run record: return numbers, strings, lists and dicts only (e.g. str(path), "
            "a weights file's sha256 instead of the tensor)."
        ) from None


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, default=_json_default, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


