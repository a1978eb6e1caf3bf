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

from .audio import load_audio
from .errors import AudioError, BenchError, EmbedderFailedError, EmbedderOutputError
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


def _decode(clip: Any, sample_rate: int, res_type: str) -> np.ndarray:
    return load_audio(clip.path, sample_rate, offset=clip.offset, duration=clip.duration, res_type=res_type)


def _inputs(embedder: Any, clips: Sequence[Any], jobs: int) -> Iterator[tuple[Any, Any, Exception | None]]:
    """(clip, input, error) in clip order; decoding runs ``jobs`` processes ahead, bounded."""
    if embedder.input_kind == "tags":
        for clip in clips:
            yield clip, tuple(clip.tags or ()), None
        return
    args = (embedder.sample_rate, embedder.res_type)
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
    from .suggest import command, portable

    name = getattr(embedder, "registry_spec", None) or getattr(embedder, "name", "") or type(embedder).__name__
    return command("check-embedder", portable(name))


def validate_output(embedder: Any, batch: Sequence[Any], outputs: Any) -> list[np.ndarray]:
    """Check an embedder's outputs: one (n_frames >= 1, dim) finite array per input."""
    name = getattr(embedder, "name", "") or type(embedder).__name__
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(batch):
        got = len(outputs) if isinstance(outputs, (list, tuple)) else type(outputs).__name__
        raise EmbedderOutputError(
            f"Embedder '{name}' returned {got} outputs for a batch of {len(batch)}; embed() must return "
            f"a list with one (n_frames, dim) array per input. Check it with '{_check_command(embedder)}'."
        )
    checked = []
    for i, out in enumerate(outputs):
        array = np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out, dtype=np.float32)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != embedder.dim:
            raise EmbedderOutputError(
                f"Embedder '{name}' returned shape {tuple(np.shape(out))} for input {i}; expected "
                f"(n_frames >= 1, {embedder.dim}). Fix embed() or its 'dim' attribute, then check it "
                f"with '{_check_command(embedder)}'."
            )
        if not np.all(np.isfinite(array)):
            raise EmbedderOutputError(
                f"Embedder '{name}' returned NaN or infinite values for input {i}. "
                f"Check the model and its input scaling with '{_check_command(embedder)}'."
            )
        checked.append(array)
    return checked


def extract(
    embedder: Any,
    clips: Sequence[Any],
    store: EmbeddingStore,
    jobs: int = 1,
    skip_errors: bool = False,
    progress: bool = False,
    flush_every: int = 64,
    error_hint: str = "",
) -> ExtractReport:
    """Embed every clip not yet in ``store``. An AudioError stops the run (after saving what is
    done) unless ``skip_errors``, which records the failed ids in the report instead.
    ``error_hint``: what the calling command offers on such an error (appended to its message)."""
    report = ExtractReport(n_clips=len(clips))
    store.refresh()  # another process may have added shards since the store was opened
    store.heal(clips)  # checksum the shards this run reads; a damaged one's clips are extracted again
    todo = store.missing(clips)
    report.n_cached = len(clips) - len(todo)
    if not todo:
        return report
    with _reported(embedder, "load", []):
        embedder.ensure_loaded()
    started = time.perf_counter()
    bar = _progress_bar(len(todo), f"embedding with {embedder.name}", progress)
    batch: list[tuple[Any, Any]] = []
    pending: list[tuple[Any, np.ndarray]] = []

    def run_batch() -> None:
        with _reported(embedder, "embed", [clip for clip, _ in batch]):
            raw = embedder.embed([x for _, x in batch])
        outputs = validate_output(embedder, [x for _, x in batch], raw)
        pending.extend((clip, out) for (clip, _), out in zip(batch, outputs))
        bar.update(len(batch))
        report.n_extracted += len(batch)
        batch.clear()
        if len(pending) >= flush_every:
            store.put_many(pending)
            pending.clear()

    try:
        for clip, value, error in _inputs(embedder, todo, jobs):
            if error is not None:
                if not skip_errors:
                    if error_hint:
                        raise AudioError(f"{error} {error_hint}") from error
                    raise error
                report.failed[clip.id] = str(error)
                bar.update(1)
                continue
            batch.append((clip, value))
            if len(batch) >= max(1, embedder.batch_size):
                run_batch()
        if batch:
            run_batch()
    finally:
        store.put_many(pending)  # keep finished work, also on errors and Ctrl-C
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
    from .progress import progress_bar  # tqdm on a terminal, a line every so often in logs

    return progress_bar(total, description, "clip", enabled)
