"""The Ray executor: the same chunks and (cell, split) probes as the local executor, on a cluster.

The driver (this process) prepares every cell (names, clips, RunRecords), then

* extraction: per embedder, a pool of actors loads the model once and embeds the fixed chunks
  of every task's clips (``benchmark.embed.extract.pending_chunks``/``embed_chunks``, as locally).
  With a shared cache folder the actors write each chunk's shard into the EmbeddingStore
  themselves; otherwise they return the arrays and the driver writes them. An actor that dies
  is replaced and its chunk sent again. Robustness cells (``--deform``) then embed their deformed
  clips the same way, a pool per (embedder, deformation), the actors deforming each decoded clip
  (``benchmark.data.deform``, seeded by clip id) into the deformed store (``benchmark.run.robustness``).
* probes: one Ray task per (cell, split) with all its seeds (``runner.probe_split``, as
  locally). With a shared cache each task memory-maps the cell's shards itself and streams its
  rows (``ray_frames.CachedFrames``); without, a cell's embeddings go into the object store once. The driver records each split as
  it arrives, so a killed driver resumes from the finished chunks and splits.

Every worker pins the same thread count as the driver in every pool the numbers depend on (torch,
BLAS, OpenMP: ``executors.pin_threads``), so on CPU the embeddings, the cache and the scores are
bitwise those of the local executor on machines of the same CPU and libraries.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from benchmark.core import config
from benchmark.run import robustness
from benchmark.core.errors import BenchError
from benchmark.embed.cache_key import cache_config
from benchmark.embed.extract import ChunkResult, chunk_size, embed_chunks, pending_chunks
from benchmark.core.progress import progress_bar
from benchmark.core.registry import Registries
from benchmark.run.runner import Cell, note_extraction, prepare
from benchmark.core.spec import RunEnv, RunSpec
from benchmark.embed.store import EmbeddingStore, clip_key
from . import pin_threads, pinned_threads, resolve_threads
from .ray_probes import RETRIES, _probe_all
from .local import Embedders, embedder_key, locked
from .ray_address import check_address, connect

INSTALL = ('The Ray executor needs Ray, an optional extra of bench. Install it with: pip install -e ".[ray]" '
           '(from a checkout) or pip install "bench[ray]", then run the command again.')
#: times a chunk is sent again after the actor holding it died
#: the address the local Ray started without --address listens on (default: Ray's choice, the
#: machine's routable address); Ray's files go to $RAY_TMPDIR/ray (default /tmp/ray)
NODE_IP = "BENCH_RAY_NODE_IP"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BenchError(INSTALL) from None
    return ray


def project_path() -> str:
    """The folder holding ``benchmark``: workers import the driver's code from it when it is
    not installed on their node (a checkout shared by every node, or one machine)."""
    return str(Path(__file__).resolve().parents[3])


def runtime_env() -> dict:
    paths = [project_path()] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


@contextmanager
def session(address: str | None) -> Iterator[Any]:
    """Ray connected: the running one if this process already initialised Ray, else the cluster
    at ``address``, else a new local Ray on this machine's cores (shut down at the end)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    # quiet: workers' output stays in Ray's log files, Ray's own log lines below errors are off
    kwargs: dict[str, Any] = dict(runtime_env=runtime_env(), log_to_driver=False, logging_level=logging.ERROR,
                                  configure_logging=True)
    address = address or os.environ.get("RAY_ADDRESS") or None  # ray.init would connect to it anyway
    if address:  # checked first: ray.init retries an address where no head answers for minutes
        check_address(address)
        connect(ray, address, {**kwargs, "address": address})
    else:
        kwargs["include_dashboard"] = False
        if os.environ.get(NODE_IP):  # e.g. a loopback address, so that nothing listens on the network
            kwargs["_node_ip_address"] = os.environ[NODE_IP]
        ray.init(**kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _pickle_plugins_by_value() -> None:
    """Plugin files (``path/to/file.py:Class``) are imported under generated module names that
    workers cannot import: ship their code with the objects instead."""
    import cloudpickle

    for name, module in list(sys.modules.items()):
        if name.startswith("bench_plugin_") and module is not None:
            cloudpickle.register_pickle_by_value(module)


# -- the remote side ---------------------------------------------------------------------------

class ChunkWorker:
    """An actor: one embedder, loaded once, embedding chunks. With ``cache_dir`` it writes each
    chunk's shard into the store; else it returns the arrays."""

    def __init__(self, spec: RunSpec, env: RunEnv, registries: Registries, threads: int, embedder_config: dict,
                 cache_dir: str | None) -> None:
        from benchmark.embed.build import create_embedder

        pin_threads(threads)  # Ray started this worker with OMP_NUM_THREADS=1: the same pools as the driver
        self.embedder = create_embedder(spec, registries, env)
        self.store = EmbeddingStore(Path(cache_dir), embedder_config) if cache_dir else None

    def embed(self, chunk: list, jobs: int, skip_errors: bool, transform: Any = None) -> ChunkResult:
        flush = self.store.put_many if self.store is not None else None  # large outputs written as they come
        (result,) = list(embed_chunks(self.embedder, [chunk], jobs, skip_errors, transform=transform, flush=flush))
        if self.store is not None:
            self.store.put_many(result.items)
            done = result.written + [clip for clip, _ in result.items]
            result = ChunkResult(items=[(clip, None) for clip in done], failed=result.failed)
        return result

    def pid(self) -> int:
        return os.getpid()


# -- the driver --------------------------------------------------------------------------------

@dataclass
class Group:
    """The cells of one embedder (one model load) and the distinct chunks they still need; for
    robustness cells, of one (embedder, deformation): ``transform`` deforms each decoded clip and
    ``stores``/``clips`` are each cell's deformed store and clips."""

    spec: RunSpec
    config: dict
    cells: list[Cell] = field(default_factory=list)
    chunks: list[list] = field(default_factory=list)
    chunk_cells: list[list[Cell]] = field(default_factory=list)
    transform: Any = None
    stores: dict[int, Any] = field(default_factory=dict)
    clips: dict[int, list] = field(default_factory=dict)


def _absolute(spec: RunSpec) -> RunSpec:
    """The weights' path resolved here, where the user gave it (workers run in other folders)."""
    return spec.replace(weights=str(Path(spec.weights).expanduser().resolve())) if spec.weights else spec


def _absolute_env(env: RunEnv) -> RunEnv:
    """Locations resolved here, where the user gave them (workers run in other folders)."""
    return env.replace(data_home=str(config.data_home(env.data_home).resolve()),
                       cache_dir=str(config.cache_dir(env.cache_dir).resolve()),
                       results_dir=str(config.results_dir(env.results_dir).resolve()))


def run(specs: Sequence[RunSpec], registries: Registries, env: RunEnv, progress: bool, echo: Callable[[str], None],
        recorder: Any, cpus_per_worker: int | None = None, workers: int | None = None) -> None:
    """Run the grid on Ray (``env.address``, ``env.shared_cache``). ``cpus_per_worker``: CPUs each
    extraction actor and probe task reserves (default: the thread count, at most a node's CPUs);
    ``workers``: extraction actors per embedder (default: as many as the cluster's CPUs hold)."""
    ray = import_ray()
    threads = resolve_threads(env.threads)
    env = _absolute_env(env).replace(threads=threads)
    shared_cache = env.shared_cache
    with session(env.address) as ray, pinned_threads(threads), contextlib.ExitStack() as stack:
        _pickle_plugins_by_value()
        total_cpus = int(ray.cluster_resources().get("CPU", 1))
        cpus = max(1, min(cpus_per_worker or threads, total_cpus))
        cells = _prepare(specs, registries, env, echo, recorder, stack)
        live = [c for c in cells if not recorder.failed(c.spec)]
        for deformed in (False, True):  # deformed clips after the clean ones: they need the splits
            for group in _groups([c for c in live if not recorder.failed(c.spec)], deformed):
                _extract(ray, group, registries, env, cpus, workers or max(1, total_cpus // cpus), shared_cache,
                         progress, echo, recorder)
        _probe_all(ray, [c for c in live if not recorder.failed(c.spec)], threads, cpus, progress, echo, recorder,
                   shared_cache)


def _prepare(specs: Sequence[RunSpec], registries: Registries, env: RunEnv, echo: Callable, recorder: Any,
             stack: contextlib.ExitStack) -> list[Cell]:
    """Every cell opened, and the run lock of each unfinished one held (in ``stack``) until the end."""
    embedders = Embedders(registries, env)
    cells = []
    for original in specs:
        spec = _absolute(original)
        if spec is not original:
            recorder.alias(original, spec)
        cell = recorder.attempt(spec, lambda: prepare(spec, registries, echo, embedders.get(spec), env))
        if cell is None:
            continue
        if not cell.complete:
            stack.enter_context(locked(cell, echo))
        if cell.complete:
            recorder.succeed(spec, "already done", cell.record)
        else:
            cells.append(cell)
    return cells


def _groups(cells: list[Cell], deformed: bool = False) -> list[Group]:
    """Cells by embedder instance (``deformed``: the robustness cells by embedder and deformation);
    each group's pending chunks, a chunk shared by cells once."""
    from benchmark.data.deform import parse

    groups: dict[tuple, Group] = {}
    seen: dict[tuple, dict[tuple, int]] = {}
    for cell in cells:
        if deformed and not cell.protocol.deform:
            continue
        key = embedder_key(cell.spec) + ((cell.protocol.deform,) if deformed else ())
        if key not in groups:
            groups[key] = Group(cell.spec, robustness.deformation_config(cell) if deformed else cache_config(cell.embedder),
                                transform=parse(cell.protocol.deform) if deformed else None)
        group = groups[key]
        group.cells.append(cell)
        store = robustness.deformed_store(cell) if deformed else cell.store
        clips = robustness.deformed_clips(cell) if deformed else cell.clips
        group.stores[id(cell)], group.clips[id(cell)] = store, clips
        store.refresh()
        store.heal(clips)  # a damaged shard's clips count as missing, as locally
        for chunk in pending_chunks(clips, store, chunk_size(cell.embedder)):
            ident = tuple(clip_key(c) for c in chunk)
            index = seen.setdefault(key, {}).get(ident)
            if index is None:
                seen[key][ident] = len(group.chunks)
                group.chunks.append(chunk)
                group.chunk_cells.append([cell])
            else:
                group.chunk_cells[index].append(cell)
    return list(groups.values())


def _extract(ray: Any, group: Group, registries: Registries, env: RunEnv, cpus: int, n_workers: int,
             shared_cache: bool, progress: bool, echo: Callable, recorder: Any) -> None:
    started = time.perf_counter()
    failed: dict[str, str] = {}
    extracted = 0
    first = group.cells[0]
    if group.chunks:
        actor_class = ray.remote(num_cpus=cpus, max_restarts=0)(ChunkWorker)
        embedder_config = group.config
        cache = str(group.stores[id(first)].root.parent.parent) if shared_cache else None

        def new_actor() -> Any:
            return actor_class.remote(group.spec, env, registries, env.threads, embedder_config, cache)

        actors = [new_actor() for _ in range(min(n_workers, len(group.chunks)))]
        queue = list(range(len(group.chunks)))
        tries = [0] * len(group.chunks)
        running: dict[Any, tuple[int, int]] = {}  # ref -> (chunk index, actor index)
        # advanced by this process as each chunk comes back
        bar = progress_bar(sum(len(c) for c in group.chunks), f"embedding with {first.embedder.name} (ray)", "clip",
                           progress)
        idle = list(range(len(actors)))
        try:
            while queue or running:
                while queue and idle:
                    k = queue.pop(0)
                    if all(recorder.failed(c.spec) for c in group.chunk_cells[k]):
                        continue  # its cells failed already (e.g. on another chunk): no use embedding it
                    a = idle.pop(0)
                    # deformed clips decoded fine clean: an error there is the deformation's, not skipped
                    skip = group.spec.skip_missing and group.transform is None
                    running[actors[a].embed.remote(group.chunks[k], env.jobs, skip, group.transform)] = (k, a)
                if not running:
                    break
                (ref,), _ = ray.wait(list(running), num_returns=1)
                k, a = running.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError:  # the actor (or its node) died: a new one, the chunk again
                    tries[k] += 1
                    if tries[k] > RETRIES:
                        _fail_chunk(group, k, f"the worker embedding it died {tries[k]} times", recorder)
                    else:
                        queue.insert(0, k)
                    actors[a] = new_actor()
                    idle.append(a)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    _fail_chunk(group, k, getattr(exc, "cause", None) or exc, recorder)
                    idle.append(a)
                    continue
                idle.append(a)
                if not shared_cache:
                    for cell in group.chunk_cells[k][:1]:
                        group.stores[id(cell)].put_many(result.items)
                extracted += len(result.items)
                failed.update(result.failed)
                bar.update(len(group.chunks[k]))
        finally:
            bar.close()
            for actor in actors:
                ray.kill(actor)
    seconds = time.perf_counter() - started
    for cell in group.cells:
        if recorder.failed(cell.spec):
            continue
        store, clips = group.stores[id(cell)], group.clips[id(cell)]
        store.refresh()  # the shards the workers wrote

        def note(cell: Cell = cell, store: Any = store, clips: list = clips) -> None:
            missing = [c for c in clips if c.id not in failed and not store.has(c)]
            if missing:
                raise BenchError(f"{len(missing)} clips of {cell.task.name} have no embedding after the extraction "
                                 "(a worker's shard is not in this cache folder: is it shared by every node? "
                                 "Else use --no-shared-cache). Run the command again to redo them.")
            n_todo = sum(len(chunk) for chunk, owners in zip(group.chunks, group.chunk_cells) if any(c is cell for c in owners))
            if group.transform is not None:
                echo(f"Deformed embeddings ({cell.protocol.deform}): {len(clips) - n_todo} cached, "
                     f"{n_todo} extracted on Ray")
                robustness.note_deformed(cell, store, seconds)
                return
            ids = {c.id for c in cell.clips}
            echo(f"Embeddings: {len(cell.clips) - n_todo} cached, {n_todo} extracted on Ray")
            note_extraction(cell, {i: r for i, r in failed.items() if i in ids}, seconds,
                            extracted / seconds if extracted and seconds > 0 else None)
        recorder.attempt(cell.spec, note)


def _fail_chunk(group: Group, k: int, error: Any, recorder: Any) -> None:
    for cell in group.chunk_cells[k]:
        if not recorder.failed(cell.spec):
            recorder.fail(cell.spec, error if isinstance(error, BaseException) else BenchError(str(error)))
