"""Run an embedder over a task's clips into the EmbeddingStore.

Audio is decoded in worker processes (``jobs``) while the main process embeds batches; outputs
are validated and flushed to the store in shards, so an interrupted extraction resumes where it
stopped and finished clips are never lost.
"""
from __future__ import annotations

import collections
import contextlib
import concurrent.futures as futures
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from benchmark.data.audio import load_audio
from benchmark.core.errors import AudioError, BenchError, EmbedderFailedError, EmbedderOutputError
from .store import EmbeddingStore


@dataclass
class ExtractReport:
    n_clips: int = 0
    n_cached: int = 0
    n_extracted: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def clips_per_second(self) -> float | None:
        return self.n_extracted / self.seconds if self.n_extracted and self.seconds > 0 else None


def _decode(clip: Any, sample_rate: int, res_type: str, transform: Any = None) -> np.ndarray:
    audio = load_audio(clip.path, sample_rate, offset=clip.offset, duration=clip.duration, res_type=res_type)
    # a deformation (benchmark.data.deform) of the decoded audio, seeded by the clip id
    return audio if transform is None else transform(audio, sample_rate, clip.id)


def _inputs(embedder: Any, clips: Sequence[Any], jobs: int,
            transform: Any = None) -> Iterator[tuple[Any, Any, Exception | None]]:
    """(clip, input, error) in clip order; decoding (and ``transform``) runs ``jobs`` processes
    ahead, bounded."""
    if transform is not None and embedder.input_kind != "audio":
        raise BenchError(f"Embedder '{embedder.name}' takes {embedder.input_kind}, not audio: a deformation "
                         "of the audio cannot apply. Run --deform with an audio embedder.")
    if embedder.input_kind == "tags":
        for clip in clips:
            yield clip, tuple(clip.tags or ()), None
        return
    args = (embedder.sample_rate, embedder.res_type, transform)
    if jobs <= 1:
        for clip in clips:
            try:
                yield clip, _decode(clip, *args), None
            except AudioError as exc:
                yield clip, None, exc
        return
    with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
        pending: collections.deque = collections.deque()
        queue = iter(clips)
        for clip in queue:
            pending.append((clip, pool.submit(_decode, clip, *args)))
            if len(pending) >= 4 * jobs:
                break
        while pending:
            clip, future = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_decode, nxt, *args)))
            try:
                yield clip, future.result(), None
            except AudioError as exc:
                yield clip, None, exc


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork (workers start at once, decoders already imported) unless CUDA is live in this
    process, which a forked child must not inherit."""
    import librosa  # noqa: F401  imported before forking so that workers need not

    try:
        import torch

        cuda_live = torch.cuda.is_initialized()
    except ImportError:  # pragma: no cover
        cuda_live = False
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods and not cuda_live else "spawn")


def _check_command(embedder: Any) -> str:
    from benchmark.core.suggest import command, portable

    name = getattr(embedder, "registry_spec", None) or getattr(embedder, "name", "") or type(embedder).__name__
    return command("check-embedder", portable(name))


def clip_text(clip: Any) -> str:
    """A clip as the user can find it: its id, and its file (with offset) where it has one."""
    path = getattr(clip, "path", None)
    if path is None:
        return f"clip '{getattr(clip, 'id', clip)}'"
    offset = getattr(clip, "offset", None)
    where = f"{path}" + (f" from {offset:g} s" if offset else "")
    return f"clip '{clip.id}' ({where})" if str(clip.id) != str(path) else f"clip {where}"


def validate_output(embedder: Any, batch: Sequence[Any], outputs: Any,
                    clips: Sequence[Any] | None = None) -> list[np.ndarray]:
    """Check an embedder's outputs: one (n_frames >= 1, dim) finite array per input; an error
    names the input's clip (``clips``, in batch order) where known."""
    name = getattr(embedder, "name", "") or type(embedder).__name__
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(batch):
        got = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
        raise EmbedderOutputError(
            f"Embedder '{name}' returned {got} outputs for a batch of {len(batch)}; embed() must return "
            f"a list with one (n_frames, dim) array per input. Check it with '{_check_command(embedder)}'."
        )
    checked = []
    for i, out in enumerate(outputs):
        which = clip_text(clips[i]) if clips is not None and i < len(clips) else f"input {i}"
        array = np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out, dtype=np.float32)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != embedder.dim:
            raise EmbedderOutputError(
                f"Embedder '{name}' returned shape {tuple(np.shape(out))} for {which}; expected "
                f"(n_frames >= 1, {embedder.dim}). Fix embed() or its 'dim' attribute, then check it "
                f"with '{_check_command(embedder)}'."
            )
        if not np.all(np.isfinite(array)):
            raise EmbedderOutputError(
                f"Embedder '{name}' returned NaN or infinite values for {which}. "
                f"Listen to that clip (silent, clipped, or very short audio can do this) and check the model "
                f"and its input scaling with '{_check_command(embedder)}'."
            )
        checked.append(array)
    return checked


#: clips per chunk (rounded up to whole batches): the unit of work of every executor and one
#: shard of the store. Chunks are cut from a task's full clip list, never from what is left to do,
#: so a resumed or distributed extraction forms the same batches as one uninterrupted loop.
CHUNK_CLIPS = 64
#: a chunk's embedded frames are written as a shard of their own once they take this many bytes,
#: so extraction memory does not grow with frames per clip, layers or width (a batch is the unit)
FLUSH_BYTES = 32 * 2**20


def chunk_size(embedder: Any, clips_per_chunk: int | None = None) -> int:
    """Clips per chunk: ``clips_per_chunk``, else the embedder's ``clips_per_chunk`` attribute,
    else CHUNK_CLIPS, rounded up to whole batches."""
    wanted = clips_per_chunk or getattr(embedder, "clips_per_chunk", None) or CHUNK_CLIPS
    batch = max(1, int(embedder.batch_size))
    return batch * max(1, -(-int(wanted) // batch))


def chunks(clips: Sequence[Any], size: int) -> list[list[Any]]:
    """The fixed chunks of a clip list."""
    return [list(clips[i:i + size]) for i in range(0, len(clips), size)]


def pending_chunks(clips: Sequence[Any], store: EmbeddingStore, size: int) -> list[list[Any]]:
    """For each chunk with clips the store lacks, those clips (in chunk order)."""
    todo = (store.missing(chunk) for chunk in chunks(clips, size))
    return [chunk for chunk in todo if chunk]


@dataclass
class ChunkResult:
    """One chunk's outputs: (clip, frames) of the embedded clips not yet written, the clips already
    written by ``flush`` (large outputs), and the clips that failed to decode."""

    items: list[tuple[Any, np.ndarray]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    written: list[Any] = field(default_factory=list)

    @property
    def n_embedded(self) -> int:
        return len(self.items) + len(self.written)


def embed_chunks(embedder: Any, todo: Sequence[Sequence[Any]], jobs: int = 1, skip_errors: bool = False,
                 on_batch: Any = None, error_hint: str = "", transform: Any = None, flush: Any = None,
                 flush_bytes: int | None = None) -> Iterator[ChunkResult]:
    """Embed chunks (as given by ``pending_chunks``), yielding one ChunkResult per chunk in order.
    Batches hold consecutive decodable clips of one chunk, so every executor forms the same
    batches. Decoding runs ``jobs`` processes ahead across chunk boundaries. On an exception the
    finished batches of the current chunk are attached to it as ``exc.partial`` (a ChunkResult).
    ``transform(audio, sample_rate, clip_id)`` deforms each decoded clip (``benchmark.data.deform``).
    ``flush(items)`` (e.g. the store's ``put_many``) takes a chunk's finished items whenever they
    reach ``flush_bytes`` (default FLUSH_BYTES): batches are unchanged, only where they are written."""
    with _reported(embedder, "load", []):
        embedder.ensure_loaded()
    flat = [(k, clip) for k, chunk in enumerate(todo) for clip in chunk]
    size = max(1, embedder.batch_size)
    limit = FLUSH_BYTES if flush_bytes is None else flush_bytes
    current, result, batch = 0, ChunkResult(), []

    def run_batch() -> None:
        with _reported(embedder, "embed", [clip for clip, _ in batch]):
            raw = embedder.embed([x for _, x in batch])
        outputs = validate_output(embedder, [x for _, x in batch], raw, [clip for clip, _ in batch])
        result.items.extend((clip, out) for (clip, _), out in zip(batch, outputs))
        if flush is not None and sum(np.asarray(out).nbytes for _, out in result.items) >= limit:
            flush(result.items)
            result.written.extend(clip for clip, _ in result.items)
            result.items.clear()
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()

    try:
        for (k, _), (clip, value, error) in zip(flat, _inputs(embedder, [c for _, c in flat], jobs, transform)):
            if k != current:
                if batch:
                    run_batch()
                yield result
                current, result = k, ChunkResult()
            if error is not None:
                if not skip_errors:
                    if error_hint:
                        raise AudioError(f"{error} {error_hint}") from error
                    raise error
                result.failed[clip.id] = str(error)
                if on_batch is not None:
                    on_batch(1)
                continue
            batch.append((clip, value))
            if len(batch) >= size:
                run_batch()
        if batch:
            run_batch()
        if flat:
            yield result
    except BaseException as exc:
        exc.partial = result  # type: ignore[attr-defined]  # finished batches: the caller keeps them
        raise


def extract(
    embedder: Any,
    clips: Sequence[Any],
    store: EmbeddingStore,
    jobs: int = 1,
    skip_errors: bool = False,
    progress: bool = False,
    flush_every: int | None = None,
    error_hint: str = "",
    transform: Any = None,
) -> ExtractReport:
    """Embed every clip not yet in ``store``, one shard per chunk (``flush_every`` clips, default
    ``chunk_size(embedder)``, rounded up to whole batches). An AudioError stops the run (after
    saving what is done) unless ``skip_errors``, which records the failed ids in the report instead.
    ``error_hint``: what the calling command offers on such an error (appended to its message).
    ``transform(audio, sample_rate, clip_id)`` deforms each decoded clip (audio inputs only)."""
    report = ExtractReport(n_clips=len(clips))
    store.refresh()  # another process may have added shards since the store was opened
    store.heal(clips)  # checksum the shards this run reads; a damaged one's clips are extracted again
    todo = pending_chunks(clips, store, chunk_size(embedder, flush_every))
    n_todo = sum(len(c) for c in todo)
    report.n_cached = len(clips) - n_todo
    if not todo:
        return report
    started = time.perf_counter()
    bar = _progress_bar(n_todo, f"embedding with {embedder.name}", progress)
    try:
        for result in embed_chunks(embedder, todo, jobs, skip_errors, on_batch=bar.update, error_hint=error_hint,
                                   transform=transform, flush=store.put_many):
            store.put_many(result.items)
            report.n_extracted += result.n_embedded
            report.failed.update(result.failed)
    except BaseException as exc:
        partial = getattr(exc, "partial", None)
        if partial is not None:  # keep finished work, also on errors and Ctrl-C
            store.put_many(partial.items)
        raise
    finally:
        bar.close()
        report.seconds = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _reported(embedder: Any, method: str, clips: Sequence[Any]) -> Iterator[None]:
    """Turn an exception raised inside the embedder's own code into a one-paragraph error that
    names the embedder, the method and the clips; the original stays as ``__cause__`` (--debug)."""
    try:
        yield
    except BenchError:
        raise
    except Exception as exc:
        name = getattr(embedder, "name", "") or type(embedder).__name__
        shown = [str(c.path) if getattr(c, "path", None) is not None else str(c.id) for c in clips[:3]]
        what = ""
        if len(clips) == 1:
            what = f" while embedding {shown[0]}"
        elif clips:
            what = (f" while embedding a batch of {len(clips)} clips: {', '.join(shown)}"
                    + (f" (+{len(clips) - 3} more)" if len(clips) > 3 else ""))
        raise EmbedderFailedError(
            f"Embedder '{name}' failed in {method}(){what}: {type(exc).__name__}: {exc}. "
            + ("The clips embedded before it are kept in the cache; a new run continues from there. "
               if method == "embed" else "")
            + "Fix the embedder and run the same command again; put --debug before the command "
            "(bench --debug run ...) to see the full traceback."
        ) from exc


def _progress_bar(total: int, description: str, enabled: bool):
    from benchmark.core.progress import progress_bar

    return progress_bar(total, description, "clip", enabled)
