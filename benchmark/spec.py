"""RunSpec: one run of ``bench run`` as a frozen value. A grid is a list of them; executors take specs.

A spec holds names and options only (no loaded model, no data), so it can be printed, compared,
hashed into a plan and sent to another process or node unchanged. The runner turns it into work
(``benchmark.runner.prepare``) with the registries it is given.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class RunSpec:
    """Everything ``bench run`` needs to know about one (embedder, task, protocol) run."""

    embedder: str
    task: str
    #: None: the task's own default protocol
    protocol: str | None = None
    seeds: int = 10
    #: embedder options (``--option KEY=VALUE``), kept as sorted (key, value) pairs so the spec is frozen
    options: tuple[tuple[str, Any], ...] = ()
    weights: str | None = None
    #: None: CUDA when present, else CPU
    device: str | None = None
    fast_matmul: bool = False
    skip_missing: bool = False
    #: processes decoding audio
    jobs: int = 1
    data_home: str | None = None
    cache_dir: str | None = None
    results_dir: str | None = None
    #: the layer to probe, for embedders with layers (negative: from the end; None: the last)
    layer: int | None = None
    #: label-efficiency runs (benchmark.subsets): train on this share, or this many clips per class
    train_fraction: float | None = None
    train_per_class: int | None = None
    #: robustness runs (benchmark.deform): a deformation ``NAME:param=value``, applied to the test
    #: clips (and the training clips with ``deform_train``)
    deform: str | None = None
    deform_train: bool = False

    def __post_init__(self) -> None:
        options = self.options.items() if isinstance(self.options, Mapping) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in options)))
        for name in ("weights", "data_home", "cache_dir", "results_dir"):
            value = getattr(self, name)
            if isinstance(value, Path):
                object.__setattr__(self, name, str(value))

    @property
    def embedder_options(self) -> dict[str, Any]:
        return dict(self.options)

    def replace(self, **changes: Any) -> "RunSpec":
        return dataclasses.replace(self, **changes)

    def label(self) -> str:
        """``embedder on task`` with what sets the run apart from the plain one (protocol, layer,
        training-set size, deformation), for progress and summaries: the cells of a sweep must read differently."""
        marks = [self.protocol or ""]
        if self.train_fraction is not None:
            marks.append(f"{100 * float(self.train_fraction):g}% of training")
        if self.train_per_class is not None:
            marks.append(f"{int(self.train_per_class)}/class")
        if self.deform:
            marks.append(f"--deform {self.deform}" + (" --deform-train" if self.deform_train else ""))
        if self.layer is not None:
            marks.append(f"layer {self.layer}")
        marks = [m for m in marks if m]
        return f"{self.embedder} on {self.task}" + (f" ({', '.join(marks)})" if marks else "")


def grid(embedders: Iterable[str], tasks: Iterable[str], **common: Any) -> list[RunSpec]:
    """One spec per (embedder, task), embedders outer: the order a grid is run and reported in.
    Repeated names are kept once."""
    return [RunSpec(embedder=e, task=t, **common) for e in dict.fromkeys(embedders) for t in dict.fromkeys(tasks)]
