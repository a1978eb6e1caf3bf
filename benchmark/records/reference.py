"""The published numbers of the three papers and the layout of each paper's table.

``benchmark/records/published.csv`` is a verbatim copy of the reference table shipped beside the
project (one row per system, task and metric, values in percent). It is package data, so it is
found after ``pip install .`` as well as from a checkout.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from benchmark.core.errors import UnknownNameError

PUBLISHED_FILE = "published.csv"


@dataclass(frozen=True)
class Reported:
    source: str
    table: str
    system: str
    task: str
    metric: str
    value: float  # percent, as printed in the paper
    note: str = ""


def published_path() -> Path:
    """Where the packaged copy of published.csv is."""
    return Path(str(resources.files("benchmark.records") / PUBLISHED_FILE))


def load_published(path: str | Path | None = None) -> list[Reported]:
    """Every published number, in file order."""
    with open(path or published_path(), newline="", encoding="utf-8") as handle:
        return [
            Reported(
                source=row["source"], table=str(row["table"]), system=row["system"], task=row["task"],
                metric=row["metric"], value=float(row["value"]), note=row.get("note") or "",
            )
            for row in csv.DictReader(handle)
        ]


@dataclass(frozen=True)
class Column:
    """One column of a paper table: a metric on a task.

    ``tasks`` are the bench task names that may fill it, first match wins (MuLaP evaluates NSynth
    on the full training set, which bench calls ``nsynth-full``; the reported row says ``nsynth``).
    """

    label: str
    reported_task: str
    metric: str
    tasks: tuple[str, ...] = ()

    @property
    def our_tasks(self) -> tuple[str, ...]:
        return self.tasks or (self.reported_task,)


@dataclass(frozen=True)
class PaperTable:
    key: str
    title: str
    source: str
    table: str
    protocol: str
    columns: tuple[Column, ...]
    #: paper system name -> bench embedder name
    systems: dict[str, str] = field(default_factory=dict)
    #: bench task -> {paper system -> embedder} where a task needs other embedders (us8k-tag is
    #: read by the tag encoders: w2v-128-1h -> w2v-128-1h-tags; MFCCs have no tag counterpart)
    task_systems: dict[str, dict[str, str]] = field(default_factory=dict)

    def embedder_for(self, system: str, task: str) -> str | None:
        if task in self.task_systems:
            return self.task_systems[task].get(system)
        return self.systems.get(system)

    def reported(self, published: list[Reported] | None = None) -> list[Reported]:
        rows = published if published is not None else load_published()
        return [r for r in rows if r.source == self.source and r.table == self.table]

    def our_cells(self, published: list[Reported] | None = None) -> list[tuple[str, str, str]]:
        """(paper system, bench embedder, bench task) of every cell our rows of this table hold:
        the systems of the published rows that have a bench embedder, in the paper's row order,
        times the columns (a column's first task; two metrics of one task are one run)."""
        cells: list[tuple[str, str, str]] = []
        for system in dict.fromkeys(r.system for r in self.reported(published)):
            if system not in self.systems:
                continue
            for column in self.columns:
                task = column.our_tasks[0]
                embedder = self.embedder_for(system, task)
                if embedder and (system, embedder, task) not in cells:
                    cells.append((system, embedder, task))
        return cells


_W2V = ("w2v-128-1h", "w2v-1152-1h", "w2v-128-4h", "w2v-1152-4h", "w2v-128-mean", "w2v-1152-mean")

PAPERS: dict[str, tuple[PaperTable, ...]] = {
    "coala": (
        PaperTable(
            key="coala", title="COALA, Table 1: accuracy (%) of an MLP on frozen embeddings",
            source="favory2020coala", table="1", protocol="coala",
            columns=(
                Column("US8K", "us8k", "accuracy"),
                Column("GTZAN", "gtzan", "accuracy"),
                Column("NSynth", "nsynth", "accuracy"),
            ),
            systems={"MFCCs": "mfcc", "AE-C (COALA)": "coala", "E-C": "coala-ec", "CNN": "coala-cnn"},
        ),
    ),
    "contextual": (
        PaperTable(
            key="contextual", title="Contextual tag embeddings, Table 1: accuracy (%)",
            source="favory2021contextual", table="1", protocol="coala",
            columns=(
                Column("US8K", "us8k", "accuracy"),
                Column("GTZAN", "gtzan", "accuracy"),
                Column("NSynth", "nsynth", "accuracy"),
                Column("US8K-tag", "us8k-tag", "accuracy"),
            ),
            # the tag column is filled by the matching tag encoder (w2v-128-1h -> w2v-128-1h-tags)
            systems={"MFCCs": "mfcc", "COALA": "coala", **{name: name for name in _W2V}},
            task_systems={"us8k-tag": {name: f"{name}-tags" for name in _W2V}},
        ),
    ),
    "mulap": (
        PaperTable(
            key="mulap-1", title="MuLaP, Table 1: music auto-tagging, ROC-AUC and PR-AUC (%)",
            source="manco2022mulap", table="1", protocol="mulap",
            columns=(
                Column("MTAT ROC-AUC", "mtat", "roc_auc"),
                Column("MTAT PR-AUC", "mtat", "pr_auc"),
                Column("MTG-Jamendo ROC-AUC", "mtg-top50", "roc_auc"),
                Column("MTG-Jamendo PR-AUC", "mtg-top50", "pr_auc"),
            ),
            systems={"MuLaP": "mulap"},
        ),
        PaperTable(
            key="mulap-2", title="MuLaP, Table 2: downstream tasks (%)",
            source="manco2022mulap", table="2", protocol="mulap",
            columns=(
                Column("FMA (acc.)", "fma-small", "accuracy"),
                Column("MTG genre (ROC-AUC)", "mtg-genre", "roc_auc"),
                Column("NSynth (acc.)", "nsynth", "accuracy", tasks=("nsynth-full", "nsynth")),
                Column("MTG instrument (ROC-AUC)", "mtg-instrument", "roc_auc"),
                Column("Emomusic (r²)", "emomusic", "r2"),
                Column("MTG mood (ROC-AUC)", "mtg-moodtheme", "roc_auc"),
            ),
            systems={"MuLaP": "mulap"},
        ),
    ),
}
# single tables are addressable too: --paper mulap-1
for _tables in list(PAPERS.values()):
    for _table in _tables:
        PAPERS.setdefault(_table.key, (_table,))


def paper_tables(paper: str) -> tuple[PaperTable, ...]:
    """The table layouts of one paper (``coala``, ``contextual``, ``mulap``, ``mulap-1``, ...)."""
    key = paper.strip().lower()
    if key in PAPERS:
        return PAPERS[key]
    import difflib

    close = difflib.get_close_matches(key, list(PAPERS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UnknownNameError(f"Unknown paper '{paper}'. Choose one of: {', '.join(sorted(PAPERS))}.{hint}")


def reported_for(
    embedder: str, task: str, metric: str, published: list[Reported] | None = None, protocol: str | None = None
) -> list[Reported]:
    """Published values that correspond to one of our (embedder, task, metric) cells under the
    paper's protocol (for plots)."""
    found: list[Reported] = []
    rows = published if published is not None else load_published()
    for tables in PAPERS.values():
        for table in tables:
            if protocol is not None and table.protocol != protocol:
                continue
            for column in table.columns:
                if column.metric != metric or task not in column.our_tasks:
                    continue
                for rep in table.reported(rows):
                    if rep.task == column.reported_task and rep.metric == metric \
                            and table.embedder_for(rep.system, task) == embedder and rep not in found:
                        found.append(rep)
    return found
