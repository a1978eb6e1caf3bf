"""RunSpec and RunEnv: what a run computes, and where and how it is computed.

A :class:`RunSpec` holds exactly what determines a run's numbers (names, options, weights, seeds,
protocol and its variants): equal specs give equal numbers, so the run key comes from the spec
alone. A :class:`RunEnv` holds how the numbers are computed (threads, device, decoding
processes, executor, cluster address, folders); it is recorded in every RunRecord (``env``)
but stays out of the key: every thread pool is pinned to ``threads`` in every process of a grid,
and the device is kept out of the key because embeddings on CUDA agree with the CPU's within
``DEVICE_TOLERANCE``, which ``tests/test_device.py`` checks where CUDA is available.

Both hold names and values only (no loaded model, no data), so they can be printed, compared and
sent to another process or node unchanged. A grid is a list of specs run in one environment.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class RunSpec:
    """What determines the numbers of one (embedder, task, protocol) run: the inputs of its run key."""

    embedder: str
    task: str
    #: None: the task's own default protocol
    protocol: str | None = None
    seeds: int = 10
    #: embedder options (``--option KEY=VALUE``), kept as sorted (key, value) pairs so the spec is frozen
    options: tuple[tuple[str, Any], ...] = ()
    weights: str | None = None
    fast_matmul: bool = False
    skip_missing: bool = False
    #: the layer to probe, for embedders with layers (negative: from the end; None: the last)
    layer: int | None = None
    #: label-efficiency runs (benchmark.data.subsets): train on this share, or this many clips per class
    train_fraction: float | None = None
    train_per_class: int | None = None
    #: robustness runs (benchmark.data.deform): a deformation ``NAME:param=value``, applied to the test
    #: clips (and the training clips with ``deform_train``)
    deform: str | None = None
    deform_train: bool = False

    def __post_init__(self) -> None:
        options = self.options.items() if isinstance(self.options, Mapping) else self.options
        object.__setattr__(self, "options", tuple(sorted((str(k), v) for k, v in options)))
        if isinstance(self.weights, Path):
            object.__setattr__(self, "weights", str(self.weights))

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


#: embeddings on a GPU may differ from the CPU's by this much (max absolute difference relative to
#: the largest magnitude), which is why ``device`` may stay out of the run key
DEVICE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class RunEnv:
    """How a grid is computed: recorded in every RunRecord, never part of the run key."""

    #: threads of every pool the numbers depend on, in every process (None: torch's default here)
    threads: int | None = None
    #: torch device (None: CUDA when present, else CPU)
    device: str | None = None
    #: processes decoding audio
    jobs: int = 1
    executor: str = "local"
    #: Ray cluster address (None: a local Ray)
    address: str | None = None
    #: Ray: every node sees the cache folder (else workers send their embeddings back)
    shared_cache: bool = True
    data_home: str | None = None
    cache_dir: str | None = None
    results_dir: str | None = None

    def __post_init__(self) -> None:
        for name in ("data_home", "cache_dir", "results_dir"):
            value = getattr(self, name)
            if isinstance(value, Path):
                object.__setattr__(self, name, str(value))

    def replace(self, **changes: Any) -> "RunEnv":
        return dataclasses.replace(self, **changes)

    def check(self) -> None:
        """Refuse options that do not apply to the executor (they would be ignored)."""
        from .errors import BenchError

        if self.executor != "ray":
            unused = (["--address"] if self.address else []) + (["--no-shared-cache"] if not self.shared_cache else [])
            if unused:
                raise BenchError(f"{' and '.join(unused)} only apply to the Ray executor: add --executor ray, "
                                 f"or drop {'them' if len(unused) > 1 else 'it'}.")

    def to_record(self, threads: int | None = None, device: str | None = None) -> dict[str, Any]:
        """What the RunRecord says about the environment (``threads``/``device``: as resolved)."""
        return {"threads": threads if threads is not None else self.threads, "device": device or self.device,
                "jobs": self.jobs, "executor": self.executor, **({"address": self.address} if self.address else {})}


def grid(embedders: Iterable[str], tasks: Iterable[str], **common: Any) -> list[RunSpec]:
    """One spec per (embedder, task), embedders outer: the order a grid is run and reported in.
    Repeated names are kept once."""
    return [RunSpec(embedder=e, task=t, **common) for e in dict.fromkeys(embedders) for t in dict.fromkeys(tasks)]
