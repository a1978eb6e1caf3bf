"""The Ray executor's probes: one Ray task per (cell, split) with all its seeds, running
``runner.probe_split`` as the local executor does; the driver records each split as it arrives.

With a shared cache a task receives where its cell's frames are (``ray_frames.CachedFrames``) and
memory-maps them itself; without, the cell's frames go through the object store once.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from benchmark.core.progress import progress_bar
from benchmark.run import robustness
from benchmark.run.runner import Cell, finish, pending_splits, probe_split, record_split
from . import pin_threads
from .ray_frames import CachedFrames, cell_frames

#: times Ray reruns a task or actor call whose worker died
RETRIES = 3


def _probe(task: Any, protocol: Any, split: Any, frames: dict, clips: dict, seeds: list[int], device: str,
           threads: int, deformed: dict | None = None) -> tuple[list[dict], float]:
    pin_threads(threads)
    if isinstance(frames, CachedFrames):  # a shared cache: the frames are memory-mapped here, not sent
        frames = frames.load(clips)
    frames = robustness.split_frames(frames, deformed or {}, split, protocol)  # --deform: deformed test frames
    started = time.perf_counter()
    scores = probe_split(task, protocol, split, frames, clips, seeds, device)
    return scores, time.perf_counter() - started


def _probe_all(ray: Any, cells: list[Cell], threads: int, cpus: int, progress: bool, echo: Callable,
               recorder: Any, shared_cache: bool = True) -> None:
    probe = ray.remote(num_cpus=cpus, max_retries=RETRIES)(_probe)
    running: dict[Any, Cell] = {}
    left: dict[int, int] = {}
    for cell in cells:
        todo = pending_splits(cell)
        if not todo:
            recorder.attempt(cell.spec, lambda cell=cell: recorder.succeed(cell.spec, "done", finish(cell, echo)))
            continue
        frames = recorder.attempt(cell.spec, lambda cell=cell: cell_frames(ray, cell, shared_cache))
        if frames is None:  # refused: too large for the object store without a shared cache
            continue
        frames_ref, clips_ref = ray.put(frames), ray.put({c.id: c for c in cell.clips})  # once per cell
        task_ref, protocol_ref = ray.put(cell.task), ray.put(cell.protocol)
        deformed_ref = ray.put(robustness.deformed_frames(cell))  # {} unless --deform
        for split, seeds in todo:
            ref = probe.remote(task_ref, protocol_ref, split, frames_ref, clips_ref, seeds, cell.embedder.device,
                               threads, deformed_ref)
            running[ref] = cell
        left[id(cell)] = len(todo)
    bar = progress_bar(len(running), "probing (ray)", "split", progress)  # advanced as each split comes back
    try:
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            cell = running.pop(ref)
            bar.update(1)
            if recorder.failed(cell.spec):
                continue
            try:
                scores, seconds = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                recorder.fail(cell.spec, getattr(exc, "cause", None) or exc)
                continue
            record_split(cell, scores, seconds)
            left[id(cell)] -= 1
            if left[id(cell)] == 0:
                recorder.attempt(cell.spec, lambda cell=cell: recorder.succeed(cell.spec, "done", finish(cell, echo)))
    finally:
        bar.close()
