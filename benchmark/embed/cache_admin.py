"""``bench cache list | verify | prune``: see and reclaim what the embedding cache holds.

Each ``<cache>/embeddings/<key>/`` folder is one (embedder config, bench version): its
``key.json`` says what it was keyed on (folders made before bench wrote it have only
``embedder.json``; whether they match this bench version is found by recomputing the key).
``prune`` proposes only what this installation can never read again: folders keyed on another
bench version, built-in or importable embedders whose code ``version`` has moved on (or whose
class is gone), damaged shards, and temporary files older than a day; ``--embedder NAME`` adds
every folder of an embedder the user no longer wants.
"""
from __future__ import annotations

import importlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from benchmark import __version__
from benchmark.core.locks import IN_USE, in_use
from .store import embedder_key, read_index, shard_problem

#: a temporary or orphaned file younger than this may belong to a write in progress
STALE_AFTER_S = 24 * 3600


@dataclass
class CacheEntry:
    """One embedder folder of the cache."""

    root: Path
    config: dict | None
    bench: str | None  # the bench version it was keyed on; None when unknown
    n_clips: int = 0
    n_shards: int = 0
    size: int = 0
    last_written: float = 0.0

    @property
    def key(self) -> str:
        return self.root.name

    @property
    def name(self) -> str:
        return str((self.config or {}).get("name", "?"))

    def label(self) -> str:
        """The embedder's name, and the deformation of a robustness run's deformed frames."""
        deformation = (self.config or {}).get("deformation")
        return f"{self.name} [deformed: {deformation}]" if deformation else self.name

    def keyed_on(self) -> str:
        config = self.config or {}
        if str(config.get("class", "")).startswith("embedders.hf."):
            return _hf_keyed_on(config)
        parts = [f"class {config.get('class', '?')}", f"v{config.get('version', '?')}"]
        if config.get("options"):
            parts.append("options " + json.dumps(config["options"], sort_keys=True, default=str))
        parts += [f"{k} {str(v)[:12]}" for k, v in sorted(config.items()) if "sha256" in k]
        return ", ".join(parts)


def _hf_keyed_on(config: dict) -> str:
    """An ``hf:`` model by what it is: its id and commit, or its folder's files (by sha256, the
    folder's path is not part of the key), its family and the layers, windows and pooling kept."""
    source = config.get("source") or {}
    if source.get("model_id"):
        parts = [f"model {source['model_id']} @ {str(source.get('commit', '?'))[:12]}"]
    else:
        files = source.get("files_sha256") or {}
        parts = ["folder with " + " ".join(f"{name} {str(sha)[:12]}" for name, sha in sorted(files.items()))]
    windows = config.get("windows") or {}
    parts += [f"{config.get('family', '?')} family",
              "layers " + ",".join(map(str, config.get("layers", []))),
              f"windows {windows.get('seconds', '?')} s", f"pool {config.get('pool_s', '?')} s"]
    if config.get("options"):
        parts.append("options " + json.dumps(config["options"], sort_keys=True, default=str))
    return ", ".join(parts)


def used_by(results_dir: Path | None) -> dict[str, set[str]]:
    """Cache key -> the embedders (as the runs named them: ``hf:/models/x``, ``plugin.py:Class``)
    of the run records under ``results_dir`` that read it."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(results_dir).glob("runs/**/*.json")) if results_dir else []:
        try:
            record = json.loads(path.read_text())
            embedder = str(record.get("spec", {}).get("embedder") or record["embedder"]["name"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        for key in (record.get("cache_key"), (record.get("notes") or {}).get("deformed_cache_key")):
            if isinstance(key, str):
                found.setdefault(key, set()).add(embedder)
    return found


def embeddings_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "embeddings"


def entries(cache_dir: Path) -> list[CacheEntry]:
    """Every embedder folder of the cache, biggest first."""
    found = []
    for root in sorted(p for p in embeddings_dir(cache_dir).glob("*") if p.is_dir()):
        config, bench = _keyed_on(root)
        entry = CacheEntry(root, config, bench)
        for path in root.iterdir():
            stat = path.stat()
            entry.size += stat.st_size
            entry.last_written = max(entry.last_written, stat.st_mtime)
            if path.name.startswith("shard-") and path.suffix == ".json":
                entry.n_shards += 1
                try:
                    entry.n_clips += len(read_index(path)["clips"])
                except (OSError, ValueError):
                    pass
        found.append(entry)
    return sorted(found, key=lambda e: -e.size)


def _keyed_on(root: Path) -> tuple[dict | None, str | None]:
    for name in ("key.json", "embedder.json"):
        try:
            content = json.loads((root / name).read_text())
        except (OSError, ValueError):
            continue
        if name == "key.json" and isinstance(content, dict) and "embedder" in content:
            return content["embedder"], content.get("bench")
        if name == "embedder.json" and isinstance(content, dict):
            # written before key.json existed: this bench's version if the key says so
            return content, (__version__ if embedder_key(content) == root.name else None)
    return None, None


def human_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def format_list(cache_dir: Path, results_dir: Path | None = None) -> str:
    """One row per folder; ``used by`` names the embedders of the runs under ``results_dir``
    that read it (how the user spelled them: the folder of an ``hf:`` model, a plugin's file)."""
    from tabulate import tabulate

    found = entries(cache_dir)
    if not found:
        return f"No embeddings cached under {embeddings_dir(cache_dir)}.\n"
    users = used_by(results_dir)
    rows = [[e.label(), e.key[:12], e.bench or "older", e.n_clips, human_size(e.size),
             time.strftime("%Y-%m-%d", time.localtime(e.last_written)),
             ", ".join(sorted(users.get(e.key, ()))) or "-", e.keyed_on()] for e in found]
    total = sum(e.size for e in found)
    headers = ["embedder", "key", "bench", "clips", "size", "last written", "used by", "keyed on"]
    return (tabulate(rows, headers=headers)
            + f"\n{len(found)} embedder folder(s), {human_size(total)} in {embeddings_dir(cache_dir)}"
            + (f"; 'used by': the runs under {results_dir}" if results_dir else "") + "\n")


@dataclass
class VerifyReport:
    checked: int = 0
    damaged: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged

    def format(self) -> str:
        lines = [f"{self.checked} shard(s) checked (size and sha256), {len(self.damaged)} damaged."]
        lines += [f"  damaged: {path} ({problem})" for path, problem in self.damaged]
        if self.damaged:
            lines.append("Their clips are extracted again by the next run that needs them; "
                         "'bench cache prune' removes them now.")
        return "\n".join(lines) + "\n"


def verify(cache_dir: Path) -> VerifyReport:
    """Check every shard's size and checksum against its index."""
    report = VerifyReport()
    for entry in entries(cache_dir):
        for index_file in sorted(entry.root.glob("shard-*.json")):
            report.checked += 1
            problem = _shard_problem(index_file)
            if problem:
                report.damaged.append((index_file.with_suffix(".npy"), problem))
    return report


def _shard_problem(index_file: Path) -> str | None:
    try:
        return shard_problem(index_file.with_suffix(".npy"), read_index(index_file), checksum=True)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        return str(exc)


@dataclass
class Candidate:
    path: Path
    size: int
    reason: str
    shardless: bool = False  # a folder without shards: removed only while no process has it open


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _code_moved_on(config: dict | None) -> str | None:
    """Why an embedder config can no longer be produced by the installed code, or None (also when
    that cannot be told, as for a one-off plugin file: those are kept)."""
    target = str((config or {}).get("class", ""))
    module, _, qualname = target.rpartition(".")
    if not module or module.startswith("bench_plugin_"):
        return None
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError):
        # bench's own embedders only: another package may just not be installed in this environment
        return f"its class {target} can no longer be imported" if module.startswith("embedders.") else None
    version = getattr(cls, "version", None)
    if version is not None and str(version) != str(config.get("version")):
        return f"{qualname} is now code version {version}, this was made by version {config.get('version')}"
    return None


def _empty(entry: CacheEntry, now: float) -> str | None:
    """Why a folder without a single shard can go: left by a run that failed before its first
    chunk. Kept while a process has it open (a run still loading its model); where that cannot
    be told, kept for a day."""
    if entry.n_shards or any(p.name.startswith("shard-") for p in entry.root.iterdir()):
        return None
    busy = in_use(entry.root / IN_USE)
    if busy or (busy is None and now - entry.last_written < STALE_AFTER_S):
        return None
    return "no clips (left by a run that failed before its first chunk was stored)"


def prune_candidates(cache_dir: Path, embedders: Iterable[str] = ()) -> list[Candidate]:
    """What ``bench cache prune`` would remove, and why."""
    wanted = set(embedders)
    found: list[Candidate] = []
    now = time.time()
    for entry in entries(cache_dir):
        reason = None
        if entry.name in wanted:
            reason = f"embedder '{entry.name}' asked for"
        elif entry.config is None:
            reason = "no readable embedder.json or key.json"
        elif entry.bench != __version__:
            reason = f"keyed on bench {entry.bench or 'of an older version'}, this is bench {__version__}"
        else:
            reason = _code_moved_on(entry.config) or _empty(entry, now)
        if reason:
            found.append(Candidate(entry.root, entry.size, f"{entry.label()}: {reason}", shardless=not entry.n_shards))
            continue
        for index_file in sorted(entry.root.glob("shard-*.json")):
            problem = _shard_problem(index_file)
            if problem:
                npy = index_file.with_suffix(".npy")
                found += [Candidate(p, _size(p), f"damaged shard ({problem})") for p in (index_file, npy) if p.exists()]
        indexed = {p.stem for p in entry.root.glob("shard-*.json")}
        for path in entry.root.iterdir():
            orphan = path.name.startswith("shard-") and path.suffix == ".npy" and path.stem not in indexed
            if (orphan or path.name.endswith(".tmp")) and now - path.stat().st_mtime > STALE_AFTER_S:
                found.append(Candidate(path, _size(path), "left over by an interrupted write"))
    return found


def format_candidates(candidates: list[Candidate]) -> str:
    if not candidates:
        return "Nothing to prune.\n"
    lines = [f"  {human_size(c.size):>9}  {c.path}  ({c.reason})" for c in candidates]
    return "\n".join(lines) + f"\n{len(candidates)} item(s), {human_size(sum(c.size for c in candidates))}\n"


def remove(candidates: list[Candidate]) -> int:
    """Delete the candidates (a folder under its store's lock); returns the bytes freed."""
    from filelock import FileLock

    freed = 0
    for c in candidates:
        if c.path.is_dir():
            if c.shardless and in_use(c.path / IN_USE):
                continue  # opened by a run since it was listed
            with FileLock(str(c.path / ".lock")):
                shutil.rmtree(c.path, ignore_errors=True)
        else:
            c.path.unlink(missing_ok=True)
        freed += c.size
    return freed
