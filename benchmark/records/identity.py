"""What a run's numbers were computed on: the identity of its data and of its task.

* ``data_hash``: a hash of the embedding store's clip keys (clip id plus the audio file's resolved
  path, size and modification time, offset and duration; or the tags). It is part of the run key,
  so a run on audio that changed since (overwritten files, a repaired clip that was skipped) is a
  new run, not "Already complete" with the old numbers.
* ``task_identity``: which clip set a record's task stands for (kind, clip ids and targets, and
  where a user's dataset lives). Tables and comparisons group records by it, never by the task's
  name alone: two CSV files named ``data.csv`` in two folders are both ``csv:data``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from benchmark.embed.store import clip_key
from benchmark.core.hashing import stable_hash


def data_hash(clips: Iterable[Any]) -> str:
    """Hash of the content identity of ``clips``, in order (the keys the embedding cache uses)."""
    return stable_hash([clip_key(c) for c in clips], length=16)


def task_identity(task: Mapping[str, Any]) -> str:
    """Which clip set a record's task is: its kind, clip ids and targets (``clip_hash``) and, for a
    user's dataset, the file it was read from (``source``). Not the name: ``d1/data.csv`` and
    ``d2/data.csv`` are both ``csv:data``."""
    return stable_hash({"kind": task.get("kind"), "clip_hash": task.get("clip_hash"), "source": task.get("source")},
                       length=12)


def label_tasks(records: Iterable[dict]) -> None:
    """Give the tasks of ``records`` a display ``label`` wherever one task name stands for several
    clip sets, so that tables and figures, which group by the displayed name, keep them apart:
    ``csv:d1/data.csv`` and ``csv:d2/data.csv``, ``us8k (8729 clips)``, or ``demo #a1b2c3``."""
    by_name: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        task = record.get("task")
        if isinstance(task, dict):
            by_name.setdefault(str(task.get("name", "?")), {}).setdefault(task_identity(task), []).append(task)
    for name, groups in by_name.items():
        labels = _distinct_labels(name, groups) if len(groups) > 1 else {}
        for identity, tasks in groups.items():
            for task in tasks:
                if identity in labels:
                    task["label"] = labels[identity]
                else:
                    task.pop("label", None)


#: options that choose what is cached, not what a probed layer holds: no other system
STORAGE_ONLY_OPTIONS = frozenset({"layers"})


def embedder_choice(embedder: Mapping[str, Any]) -> dict[str, Any]:
    """What a user chose about a record's embedder beyond its name: its options, its checkpoint and
    other files (``*sha256``), its source (a Hugging Face revision or folder). Runs differing here are
    different systems; runs differing only elsewhere (a newer version of the code) are one, the newest."""
    config = embedder.get("config") or {}
    chosen = {k: v for k, v in config.items() if k.endswith("sha256") or k == "source"}
    for key, value in (config.get("options") or {}).items():
        if key not in STORAGE_ONLY_OPTIONS:
            chosen[key] = value
    return chosen


def label_embedders(records: Iterable[dict]) -> None:
    """Give a record's embedder a display ``label`` wherever one name ran with different choices
    (``--weights``, ``--option``): ``energy [weights_sha256=1a2b3c4d]``, ``hf:x [pool=0]@6``."""
    by_name: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        embedder = record.get("embedder")
        if isinstance(embedder, dict):
            choice = embedder_choice(embedder)
            by_name.setdefault(str(embedder.get("name", "?")), {}).setdefault(stable_hash(choice, 12), []).append(embedder)
    for name, groups in by_name.items():
        for embedders in groups.values():
            for embedder in embedders:
                embedder.pop("label", None)
        if len(groups) < 2:
            continue
        choices = {identity: embedder_choice(embedders[0]) for identity, embedders in groups.items()}
        differing = sorted({k for c in choices.values() for k in c
                            if len({stable_hash(other.get(k), 12) for other in choices.values()}) > 1})
        labels = {identity: ", ".join(f"{k}={_short(c.get(k))}" for k in differing) for identity, c in choices.items()}
        if len(set(labels.values())) < len(labels):
            labels = {identity: f"#{identity[:6]}" for identity in groups}
        base, sep, layer = name.rpartition("@")
        base, layer = (base, f"@{layer}") if sep and layer.lstrip("-").isdigit() else (name, "")
        for identity, embedders in groups.items():
            for embedder in embedders:
                embedder["label"] = f"{base} [{labels[identity]}]{layer}"


def _layer_of(name: str) -> tuple[str, str]:
    """(base, "@N" or "") of an embedder name (``hf:x@6`` → (``hf:x``, ``@6``))."""
    base, sep, tail = name.rpartition("@")
    return (base, f"@{tail}") if sep and tail.lstrip("-").isdigit() else (name, "")


def _plugin_file(spec: str) -> str | None:
    """``path/to/file.py:Class`` with its file resolved (from the current folder), else None."""
    path, sep, cls = spec.rpartition(":")
    return f"{Path(path).expanduser().resolve()}:{cls}" if sep and path.endswith(".py") else None


def embedder_names(record: Mapping[str, Any]) -> set[str]:
    """Every name ``--embedder`` may give for a record's embedder: its stored name, its display
    label, and the spec it was run with: a plugin given as ``path.py:Class`` or ``module:Class``
    is stored under the class's ``name``, yet the user knows it by its spec (with the record's
    ``@layer``, and its file by any path to it)."""
    embedder = record.get("embedder") or {}
    name = str(embedder.get("name") or "")
    names = {name, str(embedder.get("label") or "")}
    spec = str((record.get("spec") or {}).get("embedder") or "")
    if spec:
        layer = _layer_of(name)[1] if not _layer_of(spec)[1] else ""
        names.add(spec + layer)
        if _plugin_file(spec):
            names.add(f"{_plugin_file(spec)}{layer}")
    return {n for n in names if n}


def embedder_matches(record: Mapping[str, Any], wanted: str, any_layer: bool = False) -> bool:
    """Whether ``wanted`` (an ``--embedder`` value) names this record's embedder (see
    :func:`embedder_names`); with ``any_layer``, a base name also names each of its layers."""
    names = embedder_names(record)
    if any_layer:
        names |= {_layer_of(n)[0] for n in names}
    base, layer = _layer_of(wanted)
    return wanted in names or bool(_plugin_file(base) and f"{_plugin_file(base)}{layer}" in names)


def _short(value: Any) -> str:
    if value is None:
        return "default"
    if isinstance(value, str) and len(value) >= 32 and all(c in "0123456789abcdef" for c in value):
        return value[:8]  # a checksum
    text = value if isinstance(value, str) else stable_hash(value, 8) if isinstance(value, (dict, list)) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def display_name(task: Mapping[str, Any]) -> str:
    return str(task.get("label") or task.get("name", "?"))


def matches(task: Mapping[str, Any], wanted: str) -> bool:
    """Whether a user's ``--task`` value names this record's task: its name, its display label, or
    (``csv:PATH``) the CSV file it was read from."""
    if wanted in (task.get("name"), task.get("label")):
        return True
    source = task.get("source")
    if source and wanted.startswith("csv:"):
        return str(Path(wanted[4:].partition("?")[0]).expanduser().resolve()) == str(source)
    return False


def _distinct_labels(name: str, groups: Mapping[str, list[dict]]) -> dict[str, str]:
    """The first of: the shortest distinct tail of the CSV paths, the clip counts, the identity hash."""
    first = {identity: tasks[0] for identity, tasks in groups.items()}
    sources = {identity: task.get("source") for identity, task in first.items()}
    candidates = []
    if all(sources.values()):
        parts = {identity: Path(str(source)).parts for identity, source in sources.items()}
        for k in range(1, max(len(p) for p in parts.values()) + 1):
            tails = {identity: "/".join(p[-k:]) for identity, p in parts.items()}
            if len(set(tails.values())) == len(tails):
                candidates.append({i: f"csv:{t}" if name.startswith("csv:") else f"{name} ({t})"
                                   for i, t in tails.items()})
                break
    candidates.append({identity: f"{name} ({task.get('n_clips', '?')} clips)" for identity, task in first.items()})
    for labels in candidates:
        if len(set(labels.values())) == len(labels):
            return labels
    return {identity: f"{name} #{identity[:6]}" for identity in groups}


def require_one_clip_set(records: list[dict], wanted: str) -> None:
    """Refuse a ``--task`` that names several clip sets in ``records`` (complete runs), listing
    them by the names that tell them apart; labels the records' tasks as a side effect."""
    from benchmark.core.errors import BenchError

    label_tasks(records)
    found: dict[str, set[str]] = {}
    for record in records:
        task = record.get("task") or {}
        if matches(task, wanted):
            found.setdefault(display_name(task), set()).add(str((record.get("embedder") or {}).get("name", "?")))
    if len(found) > 1:
        listed = "; ".join(f"'{label}' (runs of {', '.join(sorted(names))})" for label, names in sorted(found.items()))
        raise BenchError(f"Task '{wanted}' names {len(found)} different clip sets in the results: {listed}. Runs on "
                         "different clips are never compared: pass one of these names with --task.")


def latest_run(records: list[dict], wanted: str, embedder: str, protocol: str | None = None) -> dict | None:
    """The most recently finished of ``records`` on the task ``wanted`` by ``embedder`` (and protocol)."""
    from .results import protocol_label

    matching = [r for r in records if matches(r.get("task") or {}, wanted)
                and embedder_matches(r, embedder)
                and (protocol is None or protocol_label(r.get("protocol")) == protocol)]
    return max(matching, key=lambda r: r.get("finished") or r.get("created") or "", default=None)


def require_same_data(a: dict, b: dict) -> None:
    """Refuse to pair two runs on different clip sets, or on audio that changed between them."""
    from benchmark.core.errors import BenchError

    ta, tb = a.get("task") or {}, b.get("task") or {}
    ea, eb = (a.get("embedder") or {}).get("name"), (b.get("embedder") or {}).get("name")
    if task_identity(ta) != task_identity(tb):
        raise BenchError(f"The runs of '{ea}' and '{eb}' were made on different clip sets ('{display_name(ta)}', "
                         f"{ta.get('n_clips')} clips, and '{display_name(tb)}', {tb.get('n_clips')} clips): their "
                         "scores cannot be paired. Run both embedders on the same task.")
    if ta.get("data_hash") and tb.get("data_hash") and ta["data_hash"] != tb["data_hash"]:
        older = ea if (a.get("finished") or "") < (b.get("finished") or "") else eb
        raise BenchError(f"The audio of task '{display_name(ta)}' changed between the runs of '{ea}' and '{eb}' (files "
                         f"replaced, repaired or moved): their scores cannot be paired. Run '{older}' on the task "
                         "again (bench run), then compare.")


def one_clip_set_per_name(records: Iterable[dict]) -> tuple[list[dict], list[str]]:
    """For layouts keyed by task name (the papers' tables): of each name's clip sets, the one with
    the most clips (the complete dataset; then the most runs), as copies without a label; and the
    labels of the clip sets left out."""
    records = list(records)
    groups: dict[str, dict[str, list[dict]]] = {}
    for record in records:
        task = record.get("task") or {}
        groups.setdefault(str(task.get("name", "?")), {}).setdefault(task_identity(task), []).append(record)
    kept, left_out = [], []
    for name, sets in groups.items():
        labels = _distinct_labels(name, {i: [m.get("task") or {} for m in members] for i, members in sets.items()})
        best = max(sets, key=lambda i: (int((sets[i][0].get("task") or {}).get("n_clips") or 0), len(sets[i]), i))
        for identity, members in sets.items():
            if identity == best:
                kept += [{**r, "task": {k: v for k, v in (r.get("task") or {}).items() if k != "label"}} for r in members]
            else:
                left_out.append(labels[identity])
    return kept, sorted(set(left_out))


def require_one_choice(records: list[dict], task: str, embedder: str) -> None:
    """Refuse an embedder name that ran on ``task`` with different weights or options, listing the
    labels that tell the runs apart (labels the records' embedders as a side effect)."""
    from benchmark.core.errors import BenchError

    label_embedders(records)
    labels = sorted({str(r["embedder"]["label"]) for r in records
                     if matches(r.get("task") or {}, task) and embedder_matches(r, embedder)
                     and (r.get("embedder") or {}).get("label")})
    if len(labels) > 1:
        raise BenchError(f"Embedder '{embedder}' ran on '{task}' with different weights or options: "
                         f"{', '.join(repr(label) for label in labels)}. Pass one of these names.")
