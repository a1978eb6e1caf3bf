"""The task contract: a dataset on disk in its official layout, and its official splits.

A task is declarative: a name, the dataset folder, the kind of target, its labels and metrics
(headline first), a default probe protocol, and two functions:

* ``clips(root)``: every clip with its audio path (or tags) and target, read offline from
  ``root = <data_home>/<dataset>``;
* ``splits(clips)``: the official folds or splits as ``Split`` objects.

Where a protocol needs a validation set that the dataset lacks (k-fold tasks), ``kfold_splits``
carves it with the fixed rule "validation = the next fold (k+1 mod K)"; such splits have
``valid_from_train=True`` so that protocols without validation train on train + valid.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmark.data.clips import Clip, Split, clip_list_hash  # noqa: F401  (the task contract's types)
from benchmark.core.errors import BenchError, DataMissingError
from benchmark.data.leaks import check_splits

KINDS = ("multiclass", "multilabel", "regression")


@dataclass
class DataReport:
    """What ``bench data check`` prints."""

    task: str
    root: Path
    n_expected: int = 0
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    split_sizes: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    expected_split_sizes: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    protocol_files: dict[str, str | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def wrong_splits(self) -> list[str]:
        return [name for name, expected in self.expected_split_sizes.items()
                if tuple(self.split_sizes.get(name, ())) != tuple(expected)]

    @property
    def ok(self) -> bool:
        """Complete: no clip missing, no problem, every protocol file found, official split sizes."""
        return (not self.missing and not self.problems and all(self.protocol_files.values())
                and not self.wrong_splits)

    def format(self, first: int = 5) -> str:
        lines = [f"Task {self.task}: data at {self.root}"]
        lines.append(f"  clips found: {len(self.found)} / {self.n_expected}")
        if self.missing:
            shown = ", ".join(self.missing[:first])
            more = f" (+{len(self.missing) - first} more)" if len(self.missing) > first else ""
            lines.append(f"  clips missing: {len(self.missing)}: {shown}{more}")
        for name, sizes in self.split_sizes.items():
            expected = self.expected_split_sizes.get(name)
            mark = "" if expected is None else ("  ok" if tuple(expected) == tuple(sizes) else f"  expected {expected}")
            lines.append(f"  split {name}: train/valid/test = {sizes[0]}/{sizes[1]}/{sizes[2]}{mark}")
        for name, where in self.protocol_files.items():
            lines.append(f"  protocol file {name}: {where or 'MISSING'}")
        lines += [f"  problem: {p}" for p in self.problems]
        lines.append("  status: " + ("complete" if self.ok else "INCOMPLETE"))
        return "\n".join(lines)


class Task:
    """Base class of every task. Subclasses set the attributes and implement ``clips``/``splits``."""

    name: str = ""
    dataset: str = ""  # folder name under the data home
    kind: str = "multiclass"
    labels: tuple = ()
    metrics: tuple[str, ...] = ("accuracy",)
    protocol: str = "coala"
    input_kind: str = "audio"  # or "tags"
    description: str = ""
    split_description: str = ""
    #: expected split sizes (train, valid, test) by split name, for checks and tests
    expected_splits: dict[str, tuple[int, int, int]] = {}
    expected_clips: int | None = None
    #: how to get the data, shown when it is missing
    download_help: str = ""

    # -- to implement ------------------------------------------------------------------------
    def clips(self, root: Path) -> list[Clip]:
        raise NotImplementedError

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        raise NotImplementedError

    def protocol_files(self, root: Path, cache: Path | None = None) -> dict[str, str | None]:
        """Protocol files (split lists, tag vectors…) by name, with where each was found or None."""
        return {}

    def download(self, root: Path) -> str:
        """Download the data where a library can; otherwise return the manual steps."""
        return self.download_help or f"Put the {self.dataset} dataset in {root} in its official layout."

    # -- generic -----------------------------------------------------------------------------
    def root(self, data_home: Path, cache: Path | None = None) -> Path:
        """The dataset folder: ``<data_home>/<dataset>`` (generated tasks live in the cache)."""
        return Path(data_home) / self.dataset

    def require_root(self, root: Path) -> None:
        if not Path(root).is_dir():
            raise DataMissingError(
                f"Dataset folder for task '{self.name}' not found: {root}.\n{self.download_help}".rstrip()
                + f"\nSet --data-home (or BENCH_DATA_HOME) to the folder that contains '{self.dataset}/', "
                f"or run '{self.download_command()}'."
            )

    def download_command(self) -> str:
        """``bench data download`` with this task as the command line finds it (a plugin by its file)."""
        from benchmark.core.suggest import command, portable

        return command("data", "download", portable(getattr(self, "registry_spec", None) or self.name))

    def check(self, root: Path, cache: Path | None = None) -> DataReport:
        """Clips found and missing, split sizes against the expected ones, protocol files."""
        report = DataReport(task=self.name, root=Path(root))
        report.expected_split_sizes = dict(self.expected_splits)
        try:
            report.protocol_files = self.protocol_files(Path(root), cache)
            clips = self.clips(Path(root))
        except BenchError as exc:
            report.problems.append(str(exc))
            return report
        report.n_expected = len(clips)
        for clip in clips:
            present = clip.path is None or Path(clip.path).is_file()
            (report.found if present else report.missing).append(clip.id)
        try:
            splits = list(self.splits(clips))
            for split in splits:
                report.split_sizes[split.name] = split.sizes()
            check_splits(self.name, splits, clips)  # a leaking split is not a complete dataset
        except BenchError as exc:
            report.problems.append(str(exc))
        return report

    def encode_targets(self, clips: Sequence[Clip]) -> np.ndarray:
        """Class indices (multiclass), a multi-hot matrix (multilabel) or a float matrix (regression)."""
        if self.kind == "multiclass":
            index = {label: i for i, label in enumerate(self.labels)}
            try:
                return np.array([index[c.target] for c in clips], dtype=np.int64)
            except KeyError as exc:
                raise BenchError(f"Task '{self.name}': label {exc} is not among its labels {list(self.labels)}.") from None
        if self.kind == "multilabel":
            index = {label: i for i, label in enumerate(self.labels)}
            out = np.zeros((len(clips), len(self.labels)), dtype=np.float32)
            for row, clip in enumerate(clips):
                for label in clip.target:
                    if label in index:
                        out[row, index[label]] = 1.0
            return out
        if self.kind == "regression":
            return np.asarray([tuple(c.target) for c in clips], dtype=np.float32).reshape(len(clips), -1)
        raise BenchError(f"Task '{self.name}' has unknown kind '{self.kind}'; expected one of {KINDS}.")

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "kind": self.kind,
            "labels": list(self.labels),
            "metrics": list(self.metrics),
            "protocol": self.protocol,
            "input_kind": self.input_kind,
        }

    def describe(self) -> str:
        return self.description or (type(self).__doc__ or "").strip().splitlines()[0]


def kfold_splits(clips: Sequence[Clip], folds: Sequence[str] | None = None) -> list[Split]:
    """One split per fold (``clip.group``): test = the fold, validation = the next fold
    (k+1 mod K), train = the rest. ``valid_from_train`` is set, so protocols without
    validation train on every fold but the test fold."""
    folds = list(folds) if folds is not None else sorted({c.group for c in clips}, key=_natural_key)
    by_fold: dict[str, list[str]] = {f: [] for f in folds}
    for clip in clips:
        if clip.group in by_fold:
            by_fold[clip.group].append(clip.id)
    splits = []
    for k, fold in enumerate(folds):
        valid_fold = folds[(k + 1) % len(folds)]
        train = tuple(i for f in folds if f not in (fold, valid_fold) for i in by_fold[f])
        splits.append(Split(f"fold{fold}" if str(fold).isdigit() else str(fold), train,
                            tuple(by_fold[valid_fold]), tuple(by_fold[fold]), valid_from_train=True))
    return splits


def official_split(clips: Sequence[Clip], name: str = "official") -> Split:
    """The one split of a dataset published as train / valid / test, read from ``clip.group``
    ("train", "valid", "test"; a missing group gives an empty part)."""
    ids = {g: tuple(c.id for c in clips if c.group == g) for g in ("train", "valid", "test")}
    return Split(name, ids["train"], ids["valid"], ids["test"])


def _natural_key(value: Any) -> tuple:
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)
