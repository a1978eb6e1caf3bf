"""Find a file the user supplied, or download it once into the cache, verified by sha256."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from benchmark.core.errors import ChecksumError, DataMissingError


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RemoteFile:
    """A file with a public address. ``sha256`` is pinned where known."""

    filename: str
    url: str
    sha256: str | None = None
    description: str = ""


def download(remote: RemoteFile, destination: Path, timeout: float = 30.0) -> Path:
    """Download atomically to ``destination``; verify the pinned sha256 when there is one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=timeout) as response:
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                out.write(block)
        if remote.sha256:
            got = sha256_of(tmp_name)
            if got != remote.sha256:
                raise ChecksumError(
                    f"Downloaded {remote.url} but its sha256 is {got}, expected {remote.sha256}. "
                    f"The file was not kept. Download it by hand and put it at {destination}."
                )
        os.replace(tmp_name, destination)
        return destination
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def resolve_file(
    remote: RemoteFile,
    search_dirs: Iterable[Path | None],
    cache_subdir: Path,
    allow_download: bool | None = None,
) -> Path:
    """The first existing copy of ``remote.filename``: in ``search_dirs``, then in ``cache_subdir``;
    else download it into ``cache_subdir``. Raises DataMissingError with the places to put it."""
    candidates = [Path(d) / remote.filename for d in search_dirs if d is not None]
    candidates.append(Path(cache_subdir) / remote.filename)
    for candidate in candidates:
        if candidate.is_file():
            if remote.sha256 and sha256_of(candidate) != remote.sha256:
                raise ChecksumError(
                    f"{candidate} does not match the published file (sha256 {remote.sha256[:12]}…). "
                    f"Delete it and fetch it again from {remote.url}."
                )
            return candidate
    target = Path(cache_subdir) / remote.filename
    if allow_download is None:
        from benchmark.core.config import downloads_allowed

        allow_download = downloads_allowed()
    if allow_download:
        try:
            return download(remote, target)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = f"the download failed ({exc})"
    else:
        reason = "downloads are disabled (BENCH_OFFLINE)"
    places = "\n  ".join(str(c) for c in candidates)
    what = f" ({remote.description})" if remote.description else ""
    raise DataMissingError(
        f"{remote.filename}{what} was not found and {reason}.\n"
        f"Download it from {remote.url}\nand put it at one of:\n  {places}"
    )
