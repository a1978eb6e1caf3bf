"""Run variants beyond the full-data, clean-audio probe: label-efficiency subsets, robustness
deformations, and one seed for the deterministic probes (kNN, linear) on the full training set.

A variant is a field of the Protocol (``train_fraction``, ``train_per_class``, ``deform``,
``deform_train``), so it is part of the run key (each fraction or deformation is a RunRecord of
its own, resumable like any other) and of the protocol's label in tables and comparisons:
``coala@10%``, ``coala@5/class``, ``coala~noise:snr=10``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from benchmark.core.errors import BenchError
from benchmark.probe.protocols import Protocol


def apply(protocol: Protocol, spec: Any) -> Protocol:
    """``protocol`` with the spec's variants set (a spec without any returns it unchanged)."""
    fraction = getattr(spec, "train_fraction", None)
    per_class = getattr(spec, "train_per_class", None)
    deform = getattr(spec, "deform", None)
    if fraction is not None and per_class is not None:
        raise BenchError("Give --train-fraction or --train-per-class, not both.")
    changes: dict[str, Any] = {}
    if fraction is not None and float(fraction) != 1.0:  # the full training set is the plain run
        if not 0 < float(fraction) <= 1:
            raise BenchError(f"--train-fraction must be in (0, 1], not {fraction}: e.g. 0.01,0.1,1.")
        changes["train_fraction"] = float(fraction)
    if per_class is not None:
        if int(per_class) < 1:
            raise BenchError(f"--train-per-class must be at least 1, not {per_class}.")
        changes["train_per_class"] = int(per_class)
    if deform:
        from benchmark.data.deform import parse

        changes["deform"] = parse(deform).spec()  # canonical spelling: one key per deformation
        if getattr(spec, "deform_train", False):
            changes["deform_train"] = True
    elif getattr(spec, "deform_train", False):
        raise BenchError("--deform-train needs a --deform NAME:param=value to apply.")
    return dataclasses.replace(protocol, **changes) if changes else protocol


#: probes whose fit uses no random number: what a seed would change is only the training subset
DETERMINISTIC = {"knn": "the kNN vote has no training and no random draw",
                 "knn-xares": "the kNN vote has no training and no random draw",
                 "linear": "the linear probe's solvers (lbfgs, ridge's closed form) use no random number"}


def deterministic_reason(protocol: Protocol) -> str | None:
    """Why every seed would give the same numbers, or None where seeds differ: a probe with random
    initialisation or batches, or a ``--train-fraction``/``--train-per-class`` run, whose seeds draw
    different training subsets (a deformation is seeded by clip id, not by seed)."""
    if protocol.train_fraction is not None or protocol.train_per_class is not None:
        return None
    return DETERMINISTIC.get(protocol.probe)


def n_seeds(protocol: Protocol, requested: int) -> int:
    """Seeds to run: one where every seed would give the same numbers (``deterministic_reason``)."""
    return 1 if deterministic_reason(protocol) else requested


def notes(protocol: Protocol, requested: int) -> dict[str, str]:
    """What the record should say about the variant."""
    out = {}
    reason = deterministic_reason(protocol)
    if reason and requested != 1:
        out["seeds"] = (f"the {protocol.name} protocol is deterministic ({reason}): 1 seed run instead of "
                        f"{requested}, since more would repeat the same numbers; the spread over seeds does not apply")
    if protocol.train_fraction is not None or protocol.train_per_class is not None:
        out["train_subset"] = ("each (split, seed) trains on its own seeded, stratified, nested subset of the "
                               "training set (benchmark.data.subsets); its size is in each score's extra.n_train")
    if protocol.deform:
        out["deform"] = (f"{protocol.deform} applied to the test clips"
                         + (" and the training clips" if protocol.deform_train else " only")
                         + ", seeded by clip id (benchmark.data.deform)")
    return out


def label_suffix(protocol: dict) -> str:
    """The variant part of a protocol's label: ``@10%``, ``@5/class``, ``~mp3:bitrate=32`` (+``~train``)."""
    out = ""
    fraction = protocol.get("train_fraction")
    if fraction is not None:
        out += f"@{100 * float(fraction):g}%"
    if protocol.get("train_per_class") is not None:
        out += f"@{int(protocol['train_per_class'])}/class"
    if protocol.get("deform"):
        out += f"~{protocol['deform']}" + ("~train" if protocol.get("deform_train") else "")
    return out


#: a variant kind → what it is and the command whose table compares it
VARIANT_TABLES = {
    "deformed": "bench table --robustness",
    "training-subset": "bench table --fractions",
    "layer": "bench table --layers",
}


def variant_kinds(record: dict) -> list[str]:
    """What makes a run record other than the plain run of its embedder, task and protocol:
    ``deformed`` (--deform), ``training-subset`` (--train-fraction, --train-per-class), ``layer``
    (--layer/--layers: embedder ``name@N``); [] for a plain run. A protocol other than the task's
    default is not a variant: it is a row of its own, labelled by its protocol."""
    from benchmark.embed.layers import split_name

    protocol = record.get("protocol") or {}
    out = []
    if protocol.get("deform"):
        out.append("deformed")
    if protocol.get("train_fraction") is not None or protocol.get("train_per_class") is not None:
        out.append("training-subset")
    if split_name(str((record.get("embedder") or {}).get("name", "")))[1] is not None:
        out.append("layer")
    return out


def left_out_note(kinds: list[list[str]]) -> str:
    """The note of a table of plain runs that left out these variant runs (their kinds each). Each
    run is counted once, under the table that shows it: a deformed run on a training subset is
    in the robustness table."""
    counts: dict[str, int] = {}
    for found in kinds:
        kind = next(k for k in VARIANT_TABLES if k in found)
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{counts[kind]} {kind} ({command})" for kind, command in VARIANT_TABLES.items() if kind in counts]
    return (f"Plain runs only: {len(kinds)} variant run(s) left out, compared in their own tables: "
            f"{', '.join(parts)}.")


def base_label(label: str) -> str:
    """The protocol label without its variant part: ``coala@10%`` → ``coala``."""
    for mark in ("@", "~"):
        label = label.split(mark, 1)[0]
    return label


def parse_numbers(text: str | None, kind: type, option: str) -> list:
    """``0.01,0.1,1`` → [0.01, 0.1, 1.0] (``kind`` float or int); an error names the option."""
    if text is None or str(text).strip() == "":
        return []
    values = []
    for part in str(text).split(","):
        try:
            values.append(kind(part.strip()))
        except ValueError:
            raise BenchError(f"{option}: '{part}' is not a{'n integer' if kind is int else ' number'}; "
                             f"give a comma-separated list, e.g. {option} {'1,5,10' if kind is int else '0.01,0.1,1'}.") from None
    return list(dict.fromkeys(values))


def expand(spec: Any, fractions: list[float] | None = None, per_class: list[int] | None = None,
           deforms: list[str] | None = None) -> list[Any]:
    """One spec per training-set size and deformation asked for (the spec itself when none is)."""
    if fractions and per_class:
        raise BenchError("Give --train-fraction or --train-per-class, not both.")
    if fractions:
        specs = [spec.replace(train_fraction=None if f == 1 else f) for f in fractions]
    elif per_class:
        specs = [spec.replace(train_per_class=n) for n in per_class]
    else:
        specs = [spec]
    if deforms:
        from benchmark.data.deform import parse

        for text in deforms:
            parse(text)  # every spelling checked before the first run starts
        specs = [s.replace(deform=d) for s in specs for d in dict.fromkeys(deforms)]
    return specs


def run_options(label: str) -> dict[str, Any]:
    """The ``bench run`` options that make a run of the protocol ``label`` as tables name it:
    ``coala+fast-matmul@10%`` → protocol coala, fast_matmul, train_fraction 0.1;
    ``coala~noise:color=white,snr=10~train`` → deform noise:color=white,snr=10, deform_train."""
    label, _, deformation = label.partition("~")
    name, _, variant = label.partition("@")
    options: dict[str, Any] = {"protocol": name.removesuffix("+fast-matmul"),
                               "fast_matmul": name.endswith("+fast-matmul")}
    for part in filter(None, variant.split("@")):
        if part.endswith("%"):
            options["train_fraction"] = f"{float(part[:-1]) / 100:g}"
        elif part.endswith("/class"):
            options["train_per_class"] = int(part.removesuffix("/class"))
    if deformation:
        options["deform"] = deformation.removesuffix("~train")
        options["deform_train"] = deformation.endswith("~train")
    return options
