"""``csv:PATH``: a user's own dataset described by a CSV file.

Columns: ``path`` (relative to the CSV), ``label``, and either ``fold`` (k-fold; validation =
next fold) or ``split`` (train / valid / test). ``;`` in labels makes the task multi-label.
Numeric targets are regression only when declared: ``csv:PATH?kind=regression`` (several
targets: ``;``-separated numbers). ``?kind=`` also forces multiclass or multilabel.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence
from urllib.parse import parse_qs

from benchmark.core.errors import BenchError, DataMissingError
from benchmark.data.label_checks import numeric_labels
from benchmark.core.notices import warn

from .base import Clip, KINDS, Split, Task, _natural_key, kfold_splits, official_split

METRICS = {"multiclass": ("accuracy",), "multilabel": ("roc_auc", "pr_auc"), "regression": ("r2",)}
#: the options of ``csv:PATH?key=value``
QUERY_OPTIONS = {"kind": "multiclass, multilabel or regression"}
SPLIT_NAMES = {"train": "train", "training": "train", "valid": "valid", "validation": "valid",
               "val": "valid", "test": "test"}


class CsvTask(Task):
    """A user's dataset from a CSV of path, label and fold or split."""

    protocol = "coala"

    def __init__(self, csv_path: str | Path, kind: str | None = None) -> None:
        self.csv_path = Path(csv_path).expanduser().resolve()
        if not self.csv_path.is_file():
            raise DataMissingError(f"CSV task file not found: {self.csv_path}. Give csv:PATH to a CSV with "
                                   "columns path, label and fold or split.")
        if kind is not None and kind not in KINDS:
            raise BenchError(f"Unknown kind '{kind}' in the csv task spec; use one of {', '.join(KINDS)}.")
        self.name = f"csv:{self.csv_path.stem}"
        self.dataset = self.csv_path.parent.name
        self.split_description = "from the CSV"
        self._table = self._read()
        self.kind = kind or ("multilabel" if self._table["label"].astype(str).str.contains(";").any() else "multiclass")
        self.metrics = METRICS[self.kind]
        targets = [self._target(v) for v in self._table["label"]]
        self.numeric_label_hint = None
        if kind is None and self.kind == "multiclass" and numeric_labels(self._table["label"]):
            # numbers read as class names: a regression target scores ~0% with no other sign
            self.numeric_label_hint = (f"Its labels are all numbers, read as class names: if they are values to "
                                       f"predict, run csv:{csv_path}?kind=regression (?kind=multiclass keeps classes "
                                       "and this hint quiet).")
            if not all(float(v).is_integer() for v in self._table["label"]):
                warn(f"{self.csv_path}: every label is a number and some are not whole (e.g. "
                     f"{next(v for v in self._table['label'] if not float(v).is_integer())}): they are read as "
                     f"{len(set(targets))} class names. {self.numeric_label_hint}")
        if self.kind == "multiclass":
            self.labels = tuple(sorted({str(t) for t in targets}))
        elif self.kind == "multilabel":
            self.labels = tuple(sorted({label for t in targets for label in t}))
        else:
            widths = sorted({len(t) for t in targets})
            if len(widths) > 1:  # the probe needs one target vector width
                first = len(targets[0])
                lines = [i + 2 for i, t in enumerate(targets) if len(t) != first][:5]
                raise BenchError(f"{self.csv_path}: regression targets have {' or '.join(map(str, widths))} values "
                                 f"per row (line 2 has {first}; lines {lines} differ). Give every row the same number "
                                 "of ';'-separated numbers.")
            self.labels = tuple(f"target{i}" for i in range(len(targets[0])))

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> "CsvTask":
        path, _, query = spec.partition("?")
        options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        unknown = sorted(set(options) - set(QUERY_OPTIONS))
        if unknown:  # an ignored misspelling would silently run another task than the one asked for
            import difflib

            hints = [f"'{k}'" + "".join(f" (did you mean '{c}'?)" for c in
                                        difflib.get_close_matches(k, QUERY_OPTIONS, n=1, cutoff=0.5))
                     for k in unknown]
            raise BenchError(f"Unknown option {', '.join(hints)} in the task spec 'csv:{spec}'. A CSV task accepts "
                             + ", ".join(f"?{k}= ({v})" for k, v in QUERY_OPTIONS.items())
                             + f", e.g. csv:{path}?kind=regression.")
        return cls(path, kind=options.get("kind"))

    def _read(self):
        import pandas as pd

        layout = ("Give it a header line 'path,label,fold' (or 'path,label,split' with train/valid/test) and "
                  "one line per audio file.")
        try:
            # folds as written: read as numbers, a blank cell would turn "1" into "1.0" and itself into "nan"
            table = pd.read_csv(self.csv_path, dtype={"path": str, "label": str, "split": str, "fold": str})
        except pd.errors.EmptyDataError:
            raise BenchError(f"{self.csv_path} is empty. {layout}") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise BenchError(f"{self.csv_path} cannot be read as a CSV ({exc}). {layout}") from None
        missing = [c for c in ("path", "label") if c not in table.columns]
        if missing or not ({"fold", "split"} & set(table.columns)):
            raise BenchError(
                f"{self.csv_path} has columns {list(table.columns)}; it needs 'path', 'label' and either "
                "'fold' or 'split' (train/valid/test)."
            )
        if {"fold", "split"} <= set(table.columns):  # which one defines the splits would be a guess
            raise BenchError(f"{self.csv_path} has both a 'fold' and a 'split' column: keep 'fold' for k-fold "
                             "cross-validation or 'split' (train/valid/test) for one fixed split, not both.")
        if table.empty:  # a run would save a "complete" record without a single score
            raise BenchError(f"{self.csv_path} has a header but no rows: there is nothing to evaluate. {layout}")
        if table["label"].isna().any():
            rows = list(table.index[table["label"].isna()][:5] + 2)
            raise BenchError(f"{self.csv_path}: empty label on line(s) {rows}. Fill them or remove the rows.")
        _refuse_repeated_paths(self.csv_path, table)
        column = "fold" if "fold" in table.columns else "split"
        table[column] = _checked_groups(self.csv_path, table[column], column)
        return table

    def _target(self, value: str) -> Any:
        parts = [p.strip() for p in str(value).split(";") if p.strip()]
        if self.kind == "regression":
            try:
                return tuple(float(p) for p in parts)
            except ValueError:
                raise BenchError(f"{self.csv_path}: regression target '{value}' is not numeric.") from None
        if self.kind == "multilabel":
            return tuple(parts)
        return str(value).strip()

    def root(self, data_home: Path, cache: Path | None = None) -> Path:
        return self.csv_path.parent

    def clips(self, root: Path) -> list[Clip]:
        clips = []
        for i, row in self._table.iterrows():
            group = str(row["fold"]) if "fold" in row else str(row["split"])
            clips.append(Clip(id=str(row["path"]), target=self._target(row["label"]),
                              path=self.csv_path.parent / str(row["path"]), group=group))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        if "fold" in self._table.columns:
            # the folds of the file (a single fold is refused by the split-leak check, naming it)
            splits = kfold_splits(clips, sorted(set(self._table["fold"]), key=_natural_key))
            for split in splits:  # every row's fold has clips, but --skip-missing may have dropped them all
                if not split.test or (len(splits) > 1 and not (split.train or split.valid)):
                    empty = split.name.removeprefix("fold") if not split.test else "every other fold"
                    raise BenchError(f"{self.csv_path}: split {split.name} has no {'test' if not split.test else 'training'} "
                                     f"clips: the clips of fold {empty} are all missing or skipped. Restore them "
                                     f"(bench data check csv:{self.csv_path}) or remove the fold's rows.")
            return splits
        split = official_split(clips)
        if not split.train or not split.test:
            absent = [name for name, ids in (("train", split.train), ("test", split.test)) if not ids]
            raise BenchError(f"{self.csv_path}: the split column needs at least one train and one test clip; there "
                             f"is no {' and no '.join(absent)} clip" + (" left (the others are missing or skipped)"
                                                                        if len(clips) < len(self._table) else "")
                             + ".")
        return [split]

    def config(self) -> dict[str, Any]:
        # the file is part of the task's identity: d1/data.csv and d2/data.csv are both csv:data
        return {**super().config(), "source": str(self.csv_path)}

    def describe(self) -> str:
        return f"user dataset {self.csv_path}"


def _refuse_repeated_paths(csv_path: Path, table: Any) -> None:
    """The same audio file on two rows (in two folds, or with two labels) would be trained and
    tested on, or carry two targets: refuse it, naming the lines."""
    import os

    from benchmark.data.leaks import SOURCES_NOTE

    rows: dict[str, list[int]] = {}
    for i, value in enumerate(table["path"].astype(str)):
        rows.setdefault(os.path.normpath(value.strip()), []).append(i)
    repeated = [(path, idx) for path, idx in rows.items() if len(idx) > 1]
    if not repeated:
        return
    group = "fold" if "fold" in table.columns else "split" if "split" in table.columns else None
    lines = []
    for path, idx in repeated[:5]:
        where = ", ".join(f"{i + 2} ({group} {table[group].iloc[i]}, label {table['label'].iloc[i]})" if group
                          else f"{i + 2} (label {table['label'].iloc[i]})" for i in idx)
        lines.append(f"'{path}' on lines {where}")
    more = f" (+{len(repeated) - 5} more files)" if len(repeated) > 5 else ""
    raise BenchError(
        f"{csv_path}: {len(repeated)} audio file(s) are listed more than once: " + "; ".join(lines) + more
        + ". A file in two folds would be tested on after training on it, a file with two labels has no one "
        "target: keep one line per file (several labels go on one line, ';'-separated). " + SOURCES_NOTE
    )


def _checked_groups(csv_path: Path, values: Any, column: str) -> Any:
    """The fold or split column, stripped (and splits in their canonical names), or an error that
    names the lines of every cell that cannot be read as one: blank, whitespace or NaN cells (which
    would become a fold of their own), a split outside train/valid/test, and two spellings of one
    fold ("1" and "1.0", "A" and "a"), which would be two folds."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    blank = list(text.index[text == ""] + 2)
    if blank:
        raise BenchError(f"{csv_path}: empty (or NaN) {column} on line(s) {_lines(blank)}; every row needs its "
                         + ("fold (e.g. 1..5)" if column == "fold" else "split (train, valid or test)")
                         + ". Fill the cells or remove the rows.")
    if column == "split":
        unknown = text[~text.str.lower().isin(list(SPLIT_NAMES))]
        if len(unknown):
            found = sorted(set(unknown))
            raise BenchError(f"{csv_path}: unknown split values {found} on line(s) {_lines(list(unknown.index + 2))}; "
                             f"use train, valid or test (also accepted: {', '.join(sorted(set(SPLIT_NAMES) - {'train', 'valid', 'test'}))}).")
        return text.str.lower().map(SPLIT_NAMES)
    spellings: dict[str, set[str]] = {}
    for value in set(text):
        spellings.setdefault(_fold_key(value), set()).add(value)
    clashes = [sorted(group) for group in spellings.values() if len(group) > 1]
    if clashes:
        where = "; ".join(" and ".join(f"'{v}' (line(s) {_lines(list(text.index[text == v] + 2))})" for v in group)
                          for group in clashes[:3])
        raise BenchError(f"{csv_path}: one fold is written in two ways, which would make two folds: {where}. "
                         "Write each fold one way (e.g. 1, 2, 3).")
    return text


def _fold_key(value: str) -> str:
    """What two spellings of one fold share: the number ("1", "1.0", "01"), else the lower case name."""
    try:
        number = float(value)
    except ValueError:
        return value.lower()
    return f"{number:g}" if number == number else value.lower()


def _lines(lines: list[int]) -> str:
    return ", ".join(map(str, lines[:8])) + (f" (+{len(lines) - 8} more)" if len(lines) > 8 else "")
