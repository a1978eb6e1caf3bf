"""Protocol files (split lists, selections, label matrices) shared by the dataset tasks.

A protocol file is looked up, in order:

1. in the dataset folder (and a few sub-folders named after the file's public repository);
   such files are the user's own copy and are trusted as they are (e.g. the tiny split files
   of the mirdata test fixtures), unless the file says ``verify_local`` (files that have a
   single true version, such as the US8K tag vectors);
2. in the cache, ``<cache_dir>/protocol/<dataset>/<name>``, verified by sha256 where pinned;
3. downloaded from its public address into the cache, verified by sha256 where pinned;
4. otherwise a DataMissingError names the file, its address and where to put it.

Also here: ``library_audio_paths``, which reads the clip -> audio path map of a mirdata/soundata
index when the package has that index installed (offline they look only in their own folder).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from benchmark.core import config
from benchmark.core.errors import BenchError, ChecksumError, DataMissingError
from benchmark.data.fetch import RemoteFile, resolve_file, sha256_of

from .base import Task


@dataclass(frozen=True)
class ProtocolFile:
    """A fixed public file. ``name`` is a relative path (kept in the cache under that path);
    ``subdirs`` are the extra folders of the dataset folder where users tend to keep it."""

    name: str
    url: str
    sha256: str | None = None
    description: str = ""
    subdirs: tuple[str, ...] = ()
    #: other file names a user's copy may have (e.g. a renamed download)
    aliases: tuple[str, ...] = ()
    #: check a copy in the dataset folder against ``sha256`` too (there is no legitimate variant)
    verify_local: bool = False

    def remote(self) -> RemoteFile:
        return RemoteFile(self.name, self.url, self.sha256, self.description)


def cache_subdir(dataset: str, cache: Path | None = None) -> Path:
    return Path(cache or config.cache_dir()) / "protocol" / dataset


def _local_candidates(pf: ProtocolFile, root: Path) -> list[Path]:
    dirs = [Path(root)] + [Path(root) / s for s in pf.subdirs]
    names = (pf.name,) + pf.aliases
    return [d / n for d in dirs for n in names]


def locate(pf: ProtocolFile, root: Path, dataset: str, cache: Path | None = None) -> Path | None:
    """Where the file is already present (dataset folder, then cache), without downloading."""
    for candidate in _local_candidates(pf, root):
        if candidate.is_file():
            return candidate
    cached = cache_subdir(dataset, cache) / pf.name
    return cached if cached.is_file() else None


def resolve(pf: ProtocolFile, root: Path, dataset: str, cache: Path | None = None,
            allow_download: bool | None = None) -> Path:
    """The file's path: dataset folder, cache (checksum-verified), else a verified download."""
    for candidate in _local_candidates(pf, root):
        if candidate.is_file():
            if pf.verify_local and pf.sha256 and sha256_of(candidate) != pf.sha256:
                raise ChecksumError(f"{candidate} does not match the published file (sha256 {pf.sha256[:12]}…). "
                                    f"Delete it and fetch it again from {pf.url}.")
            return candidate  # the user's own copy
    try:
        return resolve_file(pf.remote(), [], cache_subdir(dataset, cache), allow_download=allow_download)
    except DataMissingError as exc:
        places = "\n  ".join(str(c) for c in _local_candidates(pf, root)[:3])
        raise DataMissingError(f"{exc}\n  (or in the dataset folder, e.g.:\n  {places})") from None


def report(files: Iterable[ProtocolFile], root: Path, dataset: str, cache: Path | None = None,
           allow_download: bool | None = None) -> dict[str, str | None]:
    """``{name: where found or None}``; fetches what is missing when downloads are allowed."""
    out: dict[str, str | None] = {}
    for pf in files:
        try:
            out[pf.name] = str(resolve(pf, root, dataset, cache, allow_download))
        except BenchError:
            out[pf.name] = None
    return out


class ProtocolFilesTask(Task):
    """A task that needs protocol files. It remembers the cache folder it is given (by ``root`` or
    ``protocol_files``), so ``clips`` finds the files where ``bench data check`` reported them."""

    def __init__(self, cache: str | None = None) -> None:
        self.cache = Path(cache) if cache else None

    def needed_files(self) -> list[ProtocolFile]:
        return []

    def root(self, data_home: Path, cache: Path | None = None) -> Path:
        if cache is not None:
            self.cache = Path(cache)
        return Path(data_home) / self.dataset

    def protocol_files(self, root: Path, cache: Path | None = None) -> dict[str, str | None]:
        if cache is not None:
            self.cache = Path(cache)
        return report(self.needed_files(), Path(root), self.dataset, self.cache)

    def protocol_path(self, pf: ProtocolFile, root: Path) -> Path:
        return resolve(pf, Path(root), self.dataset, self.cache)


def read_lines(path: Path) -> list[str]:
    """Non-empty stripped lines of a text file."""
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


#: the index file mirdata/soundata use by default for each dataset we read through them
LIBRARY_INDEXES = {
    ("soundata", "urbansound8k"): "urbansound8k_index_1.0.json",
    ("soundata", "esc50"): "esc50_index_2.0.json",
    ("mirdata", "gtzan_genre"): "gtzan_genre_index_1.0.json",
}


def library_index_path(package: str, dataset_name: str) -> Path | None:
    """Where the package keeps the dataset's index (``<package>/datasets/indexes/``), found
    without importing the package: its dataset modules pull in heavy dependencies."""
    import importlib.util

    filename = LIBRARY_INDEXES.get((package, dataset_name))
    spec = importlib.util.find_spec(package) if filename else None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "indexes" / filename


def library_audio_paths(package: str, dataset_name: str, data_home: Path) -> dict[str, Path] | None:
    """``{clip id: audio path}`` from the mirdata/soundata index of ``dataset_name`` when that
    index is installed in the package; None when it is not (then the task parses the official
    metadata itself). Never downloads."""
    path = library_index_path(package, dataset_name)
    if path is None or not path.is_file():
        return None
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):  # a broken index: parse the metadata instead
        return None
    items = entries.get("clips") or entries.get("tracks") or {}
    out = {}
    for clip_id, fields in items.items():
        audio = fields.get("audio") if isinstance(fields, dict) else None
        if audio and audio[0]:
            out[clip_id] = Path(data_home) / audio[0]
    return out or None


def unpacked_root(root: Path, marker: Path, archive_folders: Sequence[str]) -> Path:
    """``root``, or the folder an official archive unpacks to inside it (``UrbanSound8K/``,
    ``ESC-50-master/``) when ``marker`` (e.g. the metadata file) is only found there."""
    root = Path(root)
    if (root / marker).exists():
        return root
    for name in archive_folders:
        if (root / name / marker).exists():
            return root / name
    return root


def first_existing(paths: Sequence[Path]) -> Path:
    """The first folder of ``paths`` that exists, else the first one (so messages name it)."""
    for path in paths:
        if Path(path).is_dir():
            return Path(path)
    return Path(paths[0])


def _by_hand(manual: str) -> str:
    """The manual steps without their "or run 'bench data download ...'" (the command that just
    declined), so the offline message does not send the user round in a circle."""
    import re

    text = re.sub(r",? or run 'bench data download [^']+'(?: \([a-z]+\))?", "", manual)
    text = re.sub(r"Run 'bench data download [^']+'(?: \([a-z]+\))?, or (\w)", lambda m: m.group(1).upper(), text)
    return text


def library_download(package: str, dataset_name: str, data_home: Path, manual: str) -> str:
    """Download with mirdata/soundata into ``data_home``; the message says what happened."""
    if not config.downloads_allowed():
        # nothing was downloaded: an error (exit 2), not a success that tells the user to run it again
        raise DataMissingError(
            f"Nothing downloaded: downloads are disabled (BENCH_OFFLINE is set). Unset BENCH_OFFLINE to let "
            f"{package} download '{dataset_name}' into {data_home}, or get the data by hand: {_by_hand(manual)}"
        )
    try:
        import importlib

        library = importlib.import_module(package)
        Path(data_home).mkdir(parents=True, exist_ok=True)
        library.initialize(dataset_name, data_home=str(data_home)).download()
    except Exception as exc:  # network, disk or package errors: the user gets the manual steps
        raise DataMissingError(
            f"{package} could not download '{dataset_name}' into {data_home}: {type(exc).__name__}: {exc}\n{manual}"
        ) from None
    return f"Downloaded '{dataset_name}' into {data_home} with {package}."
