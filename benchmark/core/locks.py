"""File locks where two bench processes can meet: two identical runs (two terminals, a scheduler's
jobs) sharing a results folder and a cache. The locks are ``flock`` locks (``filelock``): the
operating system releases them when a process dies, so a killed run never leaves a stale lock."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import IO, Callable, Iterator

from filelock import FileLock, Timeout

#: the file an open EmbeddingStore holds a shared lock on (see hold_shared)
IN_USE = ".in-use"


@contextlib.contextmanager
def held(path: Path, waiting: str | None = None, echo: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock file ``path`` (created with its folder); if another process holds it, say
    ``waiting`` through ``echo`` once and wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if echo and waiting:
            echo(waiting)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def run_lock(results_root: Path, run_key: str, echo: Callable[[str], None] | None = None):
    """The lock of one run (one run key): an identical run started meanwhile waits, then finds the
    record complete instead of doing the work twice."""
    path = Path(results_root) / ".locks" / f"{run_key[:32]}.lock"
    return held(path, f"Waiting: another bench process is running the same run (lock {path}).", echo)


def hold_shared(path: Path) -> IO | None:
    """A shared ``flock`` on ``path`` held until the returned handle is closed (or the process
    ends): an EmbeddingStore marks its folder in use, so that ``bench cache prune`` never removes
    the still empty folder of a run that is loading its model. None where flock does not exist."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    handle = open(path, "a")
    fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
    return handle


def in_use(path: Path) -> bool | None:
    """Whether a process holds ``path`` with :func:`hold_shared`; None when that cannot be told."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    if not path.exists():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False
