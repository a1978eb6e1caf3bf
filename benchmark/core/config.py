"""Default locations, overridable by environment variables and CLI options."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_offline_depth = 0  # > 0 inside ``offline()``


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """Embedding store, generated demo data, downloaded protocol files and weights.

    Order: explicit value, ``BENCH_CACHE_DIR``, ``$XDG_CACHE_HOME/bench``, ``~/.cache/bench``.
    """
    if override:
        return Path(override).expanduser()
    if os.environ.get("BENCH_CACHE_DIR"):
        return Path(os.environ["BENCH_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "bench"


def data_home(override: str | os.PathLike | None = None) -> Path:
    """Parent folder of the datasets, each in ``<data_home>/<dataset>``.

    Order: explicit value, ``BENCH_DATA_HOME``, ``~/bench-data``.
    """
    if override:
        return Path(override).expanduser()
    if os.environ.get("BENCH_DATA_HOME"):
        return Path(os.environ["BENCH_DATA_HOME"]).expanduser()
    return Path.home() / "bench-data"


def results_dir(override: str | os.PathLike | None = None) -> Path:
    """Run records and rendered tables. Order: explicit value, ``BENCH_RESULTS_DIR``, ``./results``."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("BENCH_RESULTS_DIR"):
        return Path(os.environ["BENCH_RESULTS_DIR"]).expanduser()
    return Path("results")


def weights_dir() -> Path | None:
    """Folder of user-supplied weights (``BENCH_WEIGHTS_DIR``), or None."""
    value = os.environ.get("BENCH_WEIGHTS_DIR")
    return Path(value).expanduser() if value else None


def default_device() -> str:
    """CUDA when present, else CPU. On a Linux machine without a GPU driver (NVIDIA's, or ROCm's
    /dev/kfd) no torch can use CUDA, so the answer comes without importing torch."""
    if "torch" not in sys.modules and sys.platform.startswith("linux") and not any(os.path.exists(p) for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/kfd")):
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"


def downloads_allowed() -> bool:
    """False when ``BENCH_OFFLINE`` is set to a true value, or inside ``offline()``: no network
    access is tried."""
    return _offline_depth == 0 and os.environ.get("BENCH_OFFLINE", "").lower() not in ("1", "true", "yes")


@contextmanager
def offline() -> Iterator[None]:
    """No download inside (``bench reproduce --dry-run`` looks for files without fetching them)."""
    global _offline_depth
    _offline_depth += 1
    try:
        yield
    finally:
        _offline_depth -= 1


def cpu_has_bf16_matmul() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles).

    ``BENCH_CPU_BF16=0`` makes it report False on any CPU, so the "no BF16" path can be run and
    tested on machines that have the units.
    """
    if os.environ.get("BENCH_CPU_BF16", "").lower() in ("0", "false", "no"):
        return False
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
