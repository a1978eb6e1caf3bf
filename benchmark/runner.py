"""``bench run``: task → clips and splits → cached embeddings → split × seed probes → RunRecord."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import config
from .errors import BenchError, DataMissingError
from .extract import extract
from .protocols import PROTOCOLS, Protocol, for_task, with_fast_matmul
from .results import ResultsStore, done_pairs, new_record, now
from .store import EmbeddingStore, stable_hash

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def run(
    embedder: str,
    task: str,
    protocol: str | None = None,
    seeds: int = 10,
    data_home: str | Path | None = None,
    cache_dir: str | Path | None = None,
    results_dir: str | Path | None = None,
    device: str | None = None,
    weights: str | None = None,
    jobs: int = 1,
    skip_missing: bool = False,
    progress: bool = False,
    echo: Echo = _quiet,
    embedder_options: dict[str, Any] | None = None,
    fast_matmul: bool = False,
) -> dict:
    """Evaluate ``embedder`` on ``task``; resumes an unfinished identical run. Returns the RunRecord."""
    from embedders import EMBEDDERS
    from tasks import TASKS

    cache = config.cache_dir(cache_dir)
    task_obj = TASKS.create(task)
    root = task_obj.root(config.data_home(data_home), cache)
    clips = task_obj.clips(root)
    clips, skipped = _drop_missing(task_obj, root, clips, skip_missing)
    probe_protocol = for_task(PROTOCOLS.create(protocol or task_obj.protocol),
                              getattr(task_obj, "protocol_group", task_obj.dataset))
    if fast_matmul:
        from .probe import fast_matmul_backend

        probe_protocol = with_fast_matmul(probe_protocol)
        fast_matmul_backend(device or config.default_device())  # fail before a long extraction
    embedder_obj = EMBEDDERS.create(embedder, weights=weights, device=device or config.default_device(),
                                    **(embedder_options or {}))
    if embedder_obj.input_kind != task_obj.input_kind:
        raise BenchError(
            f"Embedder '{embedder}' takes {embedder_obj.input_kind} input but task '{task_obj.name}' gives "
            f"{task_obj.input_kind}. Run 'bench list embedders' for the {task_obj.input_kind} embedders."
        )
    embedder_config = embedder_obj.config()
    store = EmbeddingStore(cache, embedder_config)
    seed_list = list(range(seeds))
    from tasks.base import clip_list_hash

    task_info = {**task_obj.config(), "n_clips": len(clips), "clip_hash": clip_list_hash(clips)}
    run_key = stable_hash({"embedder": store.key, "task": task_info, "protocol": probe_protocol.to_dict(),
                           "seeds": seed_list, "skipped": skipped}, length=32)
    results = ResultsStore(config.results_dir(results_dir))
    record = results.find(run_key)
    if record and record["status"] == "complete":
        echo(f"Already complete: {results.path_for(record)}")
        return record
    if record is None:
        record = new_record(run_key, {"name": embedder_obj.name or embedder, "config": embedder_config,
                                      "dim": embedder_obj.dim}, task_info, probe_protocol.to_dict(), seed_list, store.key)
    else:
        echo(f"Resuming {results.path_for(record)}: {len(record['scores'])} (split, seed) scores already done")

    report = extract(embedder_obj, clips, store, jobs=jobs, skip_errors=skip_missing, progress=progress)
    echo(f"Embeddings: {report.n_cached} cached, {report.n_extracted} extracted"
         + (f", {len(report.failed)} unreadable (skipped)" if report.failed else ""))
    skipped = skipped + sorted(report.failed)
    record["skipped"] = {"count": len(skipped), "ids": skipped,
                         "reasons": {**record["skipped"].get("reasons", {}), **report.failed}}
    record["timings"]["extract_s"] = round(record["timings"].get("extract_s", 0.0) + report.seconds, 3)
    if report.clips_per_second:
        record["timings"]["extract_clips_per_s"] = round(report.clips_per_second, 3)
    usable = [c for c in clips if c.id not in set(report.failed)]
    if hasattr(embedder_obj, "notes"):  # tag models count unknown tags over all inputs, cached or not
        inputs = [c.tags or () for c in usable] if embedder_obj.input_kind == "tags" else None
        record["notes"].update(embedder_obj.notes(inputs) if inputs is not None else embedder_obj.notes())
    if hasattr(task_obj, "notes"):
        record["notes"].update(task_obj.notes())

    splits = task_obj.splits(usable)
    record["task"]["splits"] = [{"name": s.name, "n_train": len(s.train), "n_valid": len(s.valid),
                                 "n_test": len(s.test)} for s in splits]
    results.save(record)
    _probe_all(task_obj, probe_protocol, usable, splits, store, record, results, seed_list,
               embedder_obj.device, progress, echo)

    from .stats import summarize

    record["summary"] = summarize(record["scores"], list(task_obj.metrics))
    record["status"] = "complete"
    record["finished"] = now()
    path = results.save(record)
    echo(f"Run record: {path}")
    return record


def _drop_missing(task_obj: Any, root: Path, clips: list, skip_missing: bool) -> tuple[list, list[str]]:
    """Fail fast on missing audio (with the data-check report), or drop it with --skip-missing."""
    missing = [c.id for c in clips if c.path is not None and not Path(c.path).is_file()]
    if not missing:
        return clips, []
    if not skip_missing:
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        raise DataMissingError(
            f"Task '{task_obj.name}': {len(missing)} of {len(clips)} audio files are missing under {root}: {shown}.\n"
            f"Run 'bench data check {task_obj.name}' for the full report, complete the dataset, "
            "or run again with --skip-missing to evaluate without them (they are recorded)."
        )
    gone = set(missing)
    return [c for c in clips if c.id not in gone], missing


def _probe_all(task_obj: Any, protocol: Protocol, clips: Sequence, splits: Sequence, store: EmbeddingStore,
               record: dict, results: ResultsStore, seeds: list[int], device: str, progress: bool, echo: Echo) -> None:
    from tqdm.auto import tqdm

    from . import metrics, probe

    by_id = {c.id: c for c in clips}
    done = done_pairs(record)
    todo = [(split, [s for s in seeds if (split.name, s) not in done]) for split in splits]
    todo = [(split, pending) for split, pending in todo if pending]
    if not todo:
        return
    n_outputs = len(task_obj.labels) if task_obj.kind != "regression" else None
    frames = dict(zip((c.id for c in clips), store.get_many(clips)))  # read once, not once per split
    started = time.perf_counter()
    for split, pending in tqdm(todo, desc=f"probing ({protocol.name})", unit="split", disable=not progress, leave=False):
        train_ids, valid_ids = list(split.train), list(split.valid)
        if not protocol.uses_validation:
            train_ids, valid_ids = train_ids + (valid_ids if split.valid_from_train else []), []
        elif not valid_ids:
            raise BenchError(f"Protocol '{protocol.name}' needs a validation set, but split {split.name} of "
                             f"task '{task_obj.name}' has none. Use --protocol coala or linear.")

        def data(ids: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
            return [frames[i] for i in ids], task_obj.encode_targets([by_id[i] for i in ids])

        train, test = data(train_ids), data(list(split.test))
        valid = data(valid_ids) if valid_ids else None
        outputs = n_outputs if n_outputs is not None else train[1].shape[1]
        predictions = probe.fit_predict(protocol, task_obj.kind, train, valid, test[0], pending,
                                        valid_metric=task_obj.metrics[0], device=device, n_outputs=outputs)
        for seed in pending:
            scores, extra = metrics.compute(task_obj.kind, list(task_obj.metrics), test[1], predictions[seed])
            record["scores"].append({"split": split.name, "seed": int(seed), "metrics": scores, "extra": extra})
        record["timings"]["probe_s"] = round(record["timings"].get("probe_s", 0.0) + time.perf_counter() - started, 3)
        started = time.perf_counter()
        results.save(record)  # a killed run resumes after the last finished split
    echo(f"Probes: {len(todo)} splits × {len(seeds)} seeds trained")

