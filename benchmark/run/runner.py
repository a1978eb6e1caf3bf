"""``bench run``: a RunSpec → task clips and splits → cached embeddings → split × seed probes → RunRecord.

The work of one spec comes in phases that executors call in order:

* :func:`prepare` resolves names with the registries, reads the task's clips, builds the
  protocol, the (not yet loaded) embedder, the embedding store and the run key, and opens the
  RunRecord (a new one, or the unfinished one of an identical earlier run);
* :func:`extract_cell` embeds the clips the store lacks;
* :func:`pending_splits` / :func:`probe_split` / :func:`record_split`: the (split, seeds) still
  to do, one split's probes (a pure function of its inputs, so any process can run it), and the
  record's update after each finished split, which is what makes a killed run resume;
* :func:`finish` writes the summary and marks the record complete.

Executors (:mod:`benchmark.run.executors`) call them; every way of starting runs reaches an executor
through :func:`benchmark.run.grid.run_grid` (see :mod:`benchmark.run.launch`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from benchmark.core import config
from benchmark.embed import layers
from . import robustness
from benchmark.records import variants
from benchmark.embed.checks import check_config, check_device, check_jobs
from benchmark.probe.scorable import check_scorable
from benchmark.data.label_checks import per_class_warning, unseen_label_warnings
from benchmark.data.clips import Clip, Split, clip_list_hash
from benchmark.core.errors import BenchError, DataMissingError
from benchmark.embed.extract import extract
from benchmark.embed.cache_key import cache_config
from benchmark.records.identity import data_hash
from benchmark.data.leaks import check_split, check_splits
from benchmark.probe.protocols import Protocol, for_task, with_fast_matmul
from benchmark.core.registry import Registries
from benchmark.records.results import ResultsStore, done_pairs, new_record, now
from benchmark.core.spec import RunEnv, RunSpec
from benchmark.embed.store import EmbeddingStore
from benchmark.core.hashing import stable_hash
from benchmark.core.suggest import command, portable, spec_names
from benchmark.core.writable import CACHE, RESULTS, check_writable
from benchmark.embed.build import create_embedder

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Cell:
    """One spec made concrete: the objects its phases work on, and its RunRecord."""

    spec: RunSpec
    env: RunEnv
    task: Any
    root: Path
    clips: list[Clip]
    protocol: Protocol
    embedder: Any
    store: EmbeddingStore
    results: ResultsStore
    record: dict
    #: ids of the task's clips whose audio is missing (dropped with --skip-missing)
    missing: list[str] | None = None
    #: the splits of the usable clips; set after extraction
    splits: list[Split] | None = None

    @property
    def complete(self) -> bool:
        return self.record.get("status") == "complete"

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.record["seeds"]]


def prepare(spec: RunSpec, registries: Registries, echo: Echo = _quiet, embedder: Any = None,
            env: RunEnv = RunEnv()) -> Cell:
    """Resolve ``spec`` and open its RunRecord. ``embedder``: an instance created earlier from an
    equal (embedder, options, weights, device), so that a grid loads each model once."""
    check_device(env.device)  # options and names first: no work (and no record) on a bad one
    check_jobs(env.jobs)
    if embedder is None:
        registries.embedders.resolve(spec.embedder)
    if spec.protocol:
        registries.protocols.resolve(spec.protocol)
    cache = config.cache_dir(env.cache_dir)
    check_writable(cache, CACHE)  # before demo data, extraction or any long work
    task = registries.tasks.create(spec.task)
    root = task.root(config.data_home(env.data_home), cache)
    check_command = command("data", "check", portable(spec.task), data_home=env.data_home, cache_dir=env.cache_dir)
    clips, skipped = _drop_missing(task, root, task.clips(root), spec.skip_missing, check_command)
    if not clips:  # a run without clips would save a "complete" record without a score
        raise BenchError(f"Task '{task.name}' has no clips to evaluate" + (f" ({len(skipped)} missing were skipped)"
                         if skipped else "") + f". Run '{check_command}' to see what it found.")
    splits = task.splits(clips)
    check_splits(task.name, splits, clips)  # a leaking split fails before any extraction
    protocol = for_task(registries.protocols.create(spec.protocol or task.protocol),
                        getattr(task, "protocol_group", task.dataset))
    if spec.fast_matmul:
        from benchmark.probe.mlp import fast_matmul_backend

        protocol = with_fast_matmul(protocol)
        fast_matmul_backend(env.device or config.default_device())  # fail before a long extraction
    for warning in check_scorable(task, clips):  # before extraction, not "nan ± nan" after it
        echo(warning)
    protocol = variants.apply(protocol, spec)
    for warning in unseen_label_warnings(task, splits, clips, protocol):  # else 0% without a word
        echo(warning)
    capped = per_class_warning(task, splits, clips, protocol)  # --train-per-class N above a class's clips
    if capped:
        echo(f"Warning: {capped}")
    embedder = embedder if embedder is not None else create_embedder(spec, registries, env)
    if embedder.input_kind != task.input_kind:
        raise BenchError(
            f"Embedder '{spec.embedder}' takes {embedder.input_kind} input but task '{task.name}' gives "
            f"{task.input_kind}. Run 'bench list embedders' for the {task.input_kind} embedders."
        )
    robustness.check(protocol, embedder)  # --deform: a deformation that cannot run fails before any extraction
    from benchmark.probe.knn import check_task

    check_task(protocol.name, protocol.probe, task.kind)  # knn-xares: multiclass only, before any extraction
    embedder_config = cache_config(embedder)
    check_config(spec.embedder, embedder_config)
    view = layers.view_for(embedder, spec.layer, protocol.probe == "weighted")
    store = EmbeddingStore(cache, embedder_config)
    if view is not None:  # every layer is stored once; a run reads its own layer's columns
        store = layers.LayerStore(store, view)
    seeds = list(range(variants.n_seeds(protocol, spec.seeds)))
    # data_hash covers the audio files' content identity: changed audio is a new run, not a stale one
    task_info = {**task.config(), "n_clips": len(clips), "clip_hash": clip_list_hash(clips),
                 "data_hash": data_hash(clips)}
    run_key = stable_hash({"embedder": store.key, "task": task_info, "protocol": protocol.to_dict(),
                           "seeds": seeds, "skipped": skipped, **({"layer": view.to_dict()} if view else {})},
                          length=32)
    results = ResultsStore(config.results_dir(env.results_dir))
    record = results.find(run_key)
    if record is None:
        about = {"name": layers.record_name(embedder.name or spec.embedder, view, spec.layer),
                 "config": embedder_config, "dim": view.dim if view else embedder.dim}
        if view is not None:
            about["layer"] = view.to_dict()["layer"]
        record = new_record(run_key, about, task_info, protocol.to_dict(), seeds, store.key)
        record["spec"] = spec_names(spec)  # the names as a suggested command must give them
        record["notes"].update(variants.notes(protocol, spec.seeds))
        if capped:
            record["notes"]["train_per_class_capped"] = capped
    elif record["status"] == "complete":
        echo(f"Already complete: {results.path_for(record)}")
    else:
        echo(f"Resuming {results.path_for(record)}: {len(record['scores'])} (split, seed) scores already done")
    if record["status"] != "complete":
        check_writable(results.root, RESULTS)
    return Cell(spec, env, task, root, clips, protocol, embedder, store, results, record, missing=skipped)


#: what `bench run` (and only it) offers on an unreadable clip
SKIP_HINT = "Or run again with --skip-missing to evaluate without it (it is recorded)."


def extract_cell(cell: Cell, progress: bool = False, echo: Echo = _quiet) -> None:
    """Embed the cell's clips the store lacks; record failures, timings and the splits."""
    spec = cell.spec
    report = extract(cell.embedder, cell.clips, cell.store, jobs=cell.env.jobs, skip_errors=spec.skip_missing,
                     progress=progress, error_hint=SKIP_HINT)
    echo(f"Embeddings: {report.n_cached} cached, {report.n_extracted} extracted"
         + (f", {len(report.failed)} unreadable (skipped)" if report.failed else ""))
    note_extraction(cell, report.failed, report.seconds, report.clips_per_second)
    robustness.extract_deformed(cell, progress, echo)  # --deform: the test clips again, deformed


def note_extraction(cell: Cell, failed: dict[str, str], seconds: float, clips_per_second: float | None) -> None:
    """After extraction (by any executor): drop the failed clips, record them and the timings,
    the models' and task's notes, and the splits of what is left; save the record."""
    record = cell.record
    record["env"] = cell.env.to_record(device=str(cell.embedder.device))  # the last environment that worked on it
    skipped = list(cell.missing or []) + sorted(failed)
    record["skipped"] = {"count": len(skipped), "ids": skipped,
                         "reasons": {**record["skipped"].get("reasons", {}), **failed}}
    record["timings"]["extract_s"] = round(record["timings"].get("extract_s", 0.0) + seconds, 3)
    if clips_per_second:
        record["timings"]["extract_clips_per_s"] = round(clips_per_second, 3)
    cell.clips = [c for c in cell.clips if c.id not in failed]
    embedder, task = cell.embedder, cell.task
    if hasattr(embedder, "notes"):  # tag models count unknown tags over all inputs, cached or not
        inputs = [c.tags or () for c in cell.clips] if embedder.input_kind == "tags" else None
        record["notes"].update(embedder.notes(inputs) if inputs is not None else embedder.notes())
    if hasattr(task, "notes"):
        record["notes"].update(task.notes())
    cell.splits = list(task.splits(cell.clips))
    record["task"]["splits"] = [{"name": s.name, "n_train": len(s.train), "n_valid": len(s.valid),
                                 "n_test": len(s.test)} for s in cell.splits]
    cell.results.save(record)


def pending_splits(cell: Cell) -> list[tuple[Split, list[int]]]:
    """(split, seeds not yet scored) for every split with work left, in the task's order."""
    if cell.splits is None:
        raise BenchError("internal: pending_splits before extract_cell")  # pragma: no cover
    done = done_pairs(cell.record)
    todo = [(split, [s for s in cell.seeds if (split.name, s) not in done]) for split in cell.splits]
    return [(split, seeds) for split, seeds in todo if seeds]


def probe_split(task: Any, protocol: Protocol, split: Split, frames: Mapping[str, np.ndarray],
                clips: Mapping[str, Clip], seeds: list[int], device: str) -> list[dict]:
    """Train and score one split's probes for ``seeds`` (all at once); the score entries of the
    record. ``frames`` and ``clips``: clip id → (n_frames, dim) frames and → Clip (for its target),
    for at least the split's clips. A pure function of its inputs: any process may run it."""
    from benchmark.probe import metrics, mlp as probe

    check_split(task.name, split, clips)  # every executor hands its splits to the probe here
    if protocol.train_fraction is not None or protocol.train_per_class is not None:
        from benchmark.data.subsets import probe_on_subsets

        return probe_on_subsets(probe_split, task, protocol, split, frames, clips, seeds, device)
    train_ids, valid_ids = list(split.train), list(split.valid)
    if not protocol.uses_validation:
        train_ids, valid_ids = train_ids + (valid_ids if split.valid_from_train else []), []
    elif not valid_ids:
        raise BenchError(f"Protocol '{protocol.name}' needs a validation set, but split {split.name} of "
                         f"task '{task.name}' has none. Use --protocol coala or linear.")
    if not train_ids:  # e.g. 2 folds, one the test fold and one the validation fold
        raise BenchError(f"Split {split.name} of task '{task.name}' leaves no training clips for protocol "
                         f"'{protocol.name}', which holds out a validation set: give the task more folds, or "
                         "use a protocol without validation (--protocol coala or linear).")

    def data(ids: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
        return [frames[i] for i in ids], task.encode_targets([clips[i] for i in ids])

    train, test = data(train_ids), data(list(split.test))
    valid = data(valid_ids) if valid_ids else None
    n_outputs = len(task.labels) if task.kind != "regression" else train[1].shape[1]
    info: dict = {}
    predictions = probe.fit_predict(protocol, task.kind, train, valid, test[0], seeds,
                                    valid_metric=task.metrics[0], device=device, n_outputs=n_outputs, info=info)
    from benchmark.probe.predictions import KEY, entry

    scores = []
    for seed in seeds:
        values, extra = metrics.compute(task.kind, list(task.metrics), test[1], predictions[seed])
        if "layer_weights" in info:  # weighted-layers: the learned weights, per seed
            extra = {**extra, "layer_weights": info["layer_weights"][seed]}
        # the test predictions travel with the score (from any executor) to record_split, which stores them
        scores.append({"split": split.name, "seed": int(seed), "metrics": values, "extra": extra,
                       KEY: entry(list(split.test), test[1], predictions[seed])})
    return scores


def record_split(cell: Cell, scores: list[dict], seconds: float) -> None:
    """Add one split's scores to the record and save it: a killed run resumes after this split. On a
    one-split task the split's per-clip test predictions are saved first, beside the record (what
    its bootstrap over test clips needs), so a record never holds scores without them."""
    from benchmark.probe.predictions import KEY

    entries = [s.pop(KEY, None) for s in scores]
    if _n_splits(cell) == 1 and scores and all(e is not None for e in entries):
        cell.results.save_predictions(cell.record, scores[0]["split"], [int(s["seed"]) for s in scores], entries)
    cell.record["scores"].extend(scores)
    cell.record["timings"]["probe_s"] = round(cell.record["timings"].get("probe_s", 0.0) + seconds, 3)
    cell.results.save(cell.record)


def _n_splits(cell: Cell) -> int:
    return len(cell.splits) if cell.splits is not None else len(cell.record["task"].get("splits") or [])


def finish(cell: Cell, echo: Echo = _quiet) -> dict:
    """Summarise the scores over seeds and mark the record complete."""
    from benchmark.stats.scores import summarize

    from benchmark.probe.predictions import load, path_beside

    record = cell.record
    predictions = load(path_beside(cell.results.path_for(record))) if _n_splits(cell) == 1 else None
    record["summary"] = summarize(record["scores"], list(cell.task.metrics), predictions, cell.task.kind)
    record["status"] = "complete"
    record["finished"] = now()
    echo(f"Run record: {cell.results.save(record)}")
    return record


def probe_cell(cell: Cell, progress: bool = False, echo: Echo = _quiet) -> None:
    """Every pending split of the cell, one after another in this process."""
    from benchmark.core.progress import progress_bar

    todo = pending_splits(cell)
    if not todo:
        return
    frames = dict(zip((c.id for c in cell.clips), cell.store.get_many(cell.clips)))  # read once, not per split
    clips = {c.id: c for c in cell.clips}
    deformed = robustness.deformed_frames(cell)  # {} unless --deform
    device = cell.embedder.device
    bar = progress_bar(len(todo), f"probing ({cell.protocol.name})", "split", progress)
    for split, seeds in todo:
        started = time.perf_counter()
        scores = probe_split(cell.task, cell.protocol, split, robustness.split_frames(frames, deformed, split, cell.protocol),
                             clips, seeds, device)
        record_split(cell, scores, time.perf_counter() - started)
        bar.update(1)
    bar.close()
    echo(f"Probes: {len(todo)} splits × {len(cell.seeds)} seeds trained")


def _drop_missing(task: Any, root: Path, clips: list, skip_missing: bool,
                  check_command: str | None = None) -> tuple[list, list[str]]:
    """Fail fast on missing audio (with the data-check report), or drop it with --skip-missing."""
    missing = [c.id for c in clips if c.path is not None and not Path(c.path).is_file()]
    if not missing:
        return clips, []
    if not skip_missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise DataMissingError(
            f"Task '{task.name}': {len(missing)} of {len(clips)} audio files are missing under {root}: {shown}.\n"
            f"Run '{check_command or 'bench data check ' + task.name}' for the full report, complete the dataset, "
            "or run again with --skip-missing to evaluate without them (they are recorded)."
        )
    gone = set(missing)
    return [c for c in clips if c.id not in gone], missing
