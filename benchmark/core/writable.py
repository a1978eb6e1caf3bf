"""Folders bench writes to, checked before any long work, and writes that fail cleanly.

A read-only or full cache or results folder, or a results "folder" that is a file, is found
before extraction starts, with the folder named and what to do; a write that fails midway (a
full disk) leaves no temporary file and says the same.
"""
from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

from .errors import BenchError

#: (what the folder is, the option and the environment variable that move it)
CACHE = ("cache folder", "--cache-dir", "BENCH_CACHE_DIR")
RESULTS = ("results folder", "--results-dir", "BENCH_RESULTS_DIR")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return "the disk is full (or over quota)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "it is read-only or not yours"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of its path is a file, not a folder"
    return exc.strerror or str(exc)


def write_error(folder: Path, role: tuple[str, str, str], exc: OSError, kept: str = "") -> BenchError:
    """The one-paragraph error of a failed write into ``folder``."""
    what, option, env = role
    return BenchError(
        f"Cannot write to the {what} {folder}: {_reason(exc)} ({exc.strerror or exc}). "
        + (f"{kept} " if kept else "")
        + f"Free space or fix its permissions, or choose another folder with {option} or ${env}."
    )


def check_writable(folder: Path, role: tuple[str, str, str]) -> None:
    """Create ``folder`` if needed and write and remove a small file in it."""
    what, option, env = role
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BenchError(f"The {what} {folder} is a file, not a folder. Point {option} (or ${env}) at a folder, "
                         "for example a new one; bench creates it.")
    probe = folder / f".bench-write-check-{uuid.uuid4().hex[:8]}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise write_error(folder, role, exc) from None
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
