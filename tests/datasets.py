"""Writers of tiny datasets in each official on-disk layout, for tests and end-to-end runs.

Each ``make_<dataset>(home, shared, ...)`` writes ``<home>/<dataset folder>`` with short generated
audio (a class-dependent tone plus noise, so that a probe can learn something) and, where
``shared`` (the ../shared folder) is given, subsets of the REAL metadata and split files; the
subset protocol files are written into the dataset folder, where the tasks look first.
``install_protocol`` links the complete shared protocol files into a bench cache instead.
Nothing from ../shared is copied into the repository: only into temporary test folders.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import pickle
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

SR = 16000

#: ../shared/protocol folder -> (task dataset folder, {shared file: cache name})
PROTOCOL_FOLDERS = {
    "gtzan": ("gtzan_genre", {}),
    "mtat": ("magnatagatune", {}),
    "nsynth": ("nsynth", {}),
    "mtg_jamendo": ("mtg_jamendo", {}),
    "emomusic": ("emomusic", {"jukemir_emomusic.json.gz": "emomusic.json.gz"}),
}


def install_protocol(shared: Path, cache: Path, folder: str) -> Path:
    """Symlink ``shared/protocol/<folder>`` files into ``<cache>/protocol/<dataset>`` (the cache
    location the tasks search), renaming where the shared copy has another name."""
    dataset, renames = PROTOCOL_FOLDERS[folder]
    source = Path(shared) / "protocol" / folder
    target = Path(cache) / "protocol" / dataset
    for path in source.rglob("*"):
        if path.is_file():
            rel = path.relative_to(source)
            dest = target / rel.parent / renames.get(rel.name, rel.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                dest.symlink_to(path)
    return target


def tone(label: str, seconds: float = 1.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A tone whose pitch depends on ``label`` (stable across runs), in light noise: one of 12
    pitches a fourth apart (110 Hz to 2.6 kHz), so that the two classes of each test's dataset
    are far apart and a probe must beat chance (tests/test_tasks_e2e.py)."""
    pitch = 110.0 * 2 ** (int(hashlib.md5(label.encode()).hexdigest()[:6], 16) % 12 * 5 / 12)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * pitch * t) + 0.05 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def write_audio(path: Path, label: str, seconds: float = 1.0, seed: int = 0, sr: int = SR) -> Path:
    """A short wav or mp3 (by suffix) with ``tone(label)``."""
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, tone(label, seconds, sr, seed), sr)
    return path


def _pick(rows: Sequence, key, per_key: int) -> list:
    """The first ``per_key`` rows for each value of ``key(row)``, in file order."""
    counts: dict = {}
    out = []
    for row in rows:
        k = key(row)
        if counts.get(k, 0) < per_key:
            counts[k] = counts.get(k, 0) + 1
            out.append(row)
    return out


# -- UrbanSound8K / ESC-50 (k folds, complete official metadata in shared fixtures) -----------
def make_us8k(home: Path, shared: Path, per_fold_class: int = 1, classes: int = 3, folds: int = 10) -> Path:
    """``urbansound8k/`` with the real metadata rows of ``classes`` classes × ``per_fold_class``
    clips in each of the first ``folds`` folds, and 1-second wavs."""
    import pandas as pd

    table = pd.read_csv(Path(shared) / "fixtures/soundata/urbansound8k/metadata/UrbanSound8K.csv")
    table = table[(table["classID"] < classes) & (table["fold"] <= folds)]
    table = table.groupby(["fold", "classID"], sort=False).head(per_fold_class)
    root = Path(home) / "urbansound8k"
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    table.to_csv(root / "metadata" / "UrbanSound8K.csv", index=False)
    for i, (name, fold, label) in enumerate(zip(table["slice_file_name"], table["fold"], table["class"])):
        write_audio(root / "audio" / f"fold{fold}" / name, label, seed=i)
    return root


def make_esc50(home: Path, shared: Path, per_fold_class: int = 1, classes: int = 3) -> Path:
    """``esc50/`` with the real metadata rows of the first ``classes`` targets, ``per_fold_class``
    clips per fold and class, and 1-second wavs."""
    import pandas as pd

    table = pd.read_csv(Path(shared) / "fixtures/soundata/esc50/meta/esc50.csv")
    table = table[table["target"] < classes].groupby(["fold", "target"], sort=False).head(per_fold_class)
    root = Path(home) / "esc50"
    (root / "meta").mkdir(parents=True, exist_ok=True)
    table.to_csv(root / "meta" / "esc50.csv", index=False)
    for i, row in enumerate(table.itertuples()):
        write_audio(root / "audio" / row.filename, row.category, seed=i)
    return root


# -- GTZAN (mirdata layout, real fault-filtered lists) -------------------------------------------
def make_gtzan(home: Path, shared: Path, per_genre: int = 1, genres: int = 3) -> Path:
    """``gtzan_genre/`` with subsets of the real split lists (``per_genre`` tracks of the first
    ``genres`` genres in each split) in the dataset folder, and wavs in mirdata's layout."""
    root = Path(home) / "gtzan_genre"
    root.mkdir(parents=True, exist_ok=True)
    keep = sorted({line.split("/")[0] for line in _lines(Path(shared) / "protocol/gtzan/train_filtered.txt")})[:genres]
    for split in ("train", "valid", "test"):
        lines = [ln for ln in _lines(Path(shared) / f"protocol/gtzan/{split}_filtered.txt") if ln.split("/")[0] in keep]
        lines = _pick(lines, lambda ln: ln.split("/")[0], per_genre)
        (root / f"{split}_filtered.txt").write_text("\n".join(lines) + "\n")
        for i, line in enumerate(lines):
            genre, name = line.split("/")
            write_audio(root / "gtzan_genre" / "genres" / genre / name, genre, seed=i)
    return root


# -- NSynth (official layout; real selection subset) ---------------------------------------------
def nsynth_fields(note: str) -> dict:
    family = note.split("_")[0]
    families = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
                "synth_lead", "vocal")
    return {"note_str": note, "instrument_family": families.index(family), "instrument_family_str": family,
            "sample_rate": SR}


def write_nsynth_examples(root: Path, split: str, notes: Iterable[str]) -> Path:
    """``nsynth-<split>/examples.json`` for ``notes`` (only the fields the task reads, plus rate)."""
    path = Path(root) / f"nsynth-{split}" / "examples.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({n: nsynth_fields(n) for n in notes}))
    return path


def make_nsynth(home: Path, shared: Path, per_family: int = 2, families: int = 3, test_per_family: int = 2) -> Path:
    """``nsynth/`` with a subset of the real 20,000-note selection (in the dataset folder), its
    notes' wavs under nsynth-train/audio, and a generated nsynth-test of the same families."""
    root = Path(home) / "nsynth"
    selection = json.loads((Path(shared) / "protocol/nsynth/nsynth_selected_sounds_per_class.json").read_text())
    chosen = {f: selection[f][:per_family] for f in sorted(selection)[:families]}
    root.mkdir(parents=True, exist_ok=True)
    (root / "nsynth_selected_sounds_per_class.json").write_text(json.dumps(chosen))
    train_notes = [n for notes in chosen.values() for n in notes]
    test_notes = [f"{f}_acoustic_{900 + i:03d}-060-100" for f in chosen for i in range(test_per_family)]
    write_nsynth_examples(root, "train", train_notes)
    write_nsynth_examples(root, "test", test_notes)
    for split, notes in (("train", train_notes), ("test", test_notes)):
        for i, note in enumerate(notes):
            write_audio(root / f"nsynth-{split}" / "audio" / f"{note}.wav", note.split("_")[0], seed=i)
    return root


# -- MagnaTagATune (py2 pickles + label matrices, subset of the real ones) -----------------------
def make_mtat(home: Path, shared: Path, per_split: int = 6) -> Path:
    """``magnatagatune/`` with ``per_split`` entries spread over each real list (re-pickled with
    protocol 2, as Python 2 wrote them) and matrix rows, and short mp3s in ``<dir>/<stem>.mp3``."""
    root = Path(home) / "magnatagatune"
    root.mkdir(parents=True, exist_ok=True)
    source = Path(shared) / "protocol" / "mtat"
    for split in ("train", "valid", "test"):
        with open(source / f"{split}_list_pub.cP", "rb") as handle:
            entries = pickle.load(handle, encoding="latin1")
        chosen = _spread(len(entries), per_split)  # spread over the list: varied tags
        entries = [entries[i] for i in chosen]
        matrix = np.load(source / f"y_{split}_pub.npy")[chosen]
        with open(root / f"{split}_list_pub.cP", "wb") as handle:
            pickle.dump(entries, handle, protocol=2)
        np.save(root / f"y_{split}_pub.npy", matrix)
        for i, (entry, row) in enumerate(zip(entries, matrix)):
            write_audio(root / Path(entry).with_suffix(".mp3"), str(int(np.argmax(row))), seed=i)
    return root


# -- MTG-Jamendo (repository layout of the split files, audio in NN/ID.mp3) ----------------------
def make_mtg(home: Path, shared: Path, subset: str = "moodtheme", per_split: int = 6) -> Path:
    """``mtg_jamendo/`` with ``per_split`` rows spread over each real split-0 TSV of ``subset``
    (in ``data/splits/split-0/``), the tag files (``data/tags/``) and short mp3s."""
    root = Path(home) / "mtg_jamendo"
    source = Path(shared) / "protocol" / "mtg_jamendo"
    splits = root / "data" / "splits" / "split-0"
    splits.mkdir(parents=True, exist_ok=True)
    (root / "data" / "tags").mkdir(parents=True, exist_ok=True)
    for tags in (source / "tags").iterdir():
        (root / "data" / "tags" / tags.name).write_text(tags.read_text())
    for split in ("train", "validation", "test"):
        lines = (source / "splits" / "split-0" / f"autotagging_{subset}-{split}.tsv").read_text().splitlines()
        kept = [lines[0]] + [lines[1 + i] for i in _spread(len(lines) - 1, per_split)]
        (splits / f"autotagging_{subset}-{split}.tsv").write_text("\n".join(kept) + "\n")
        for i, line in enumerate(kept[1:]):
            fields = line.split("\t")
            write_audio(root / fields[3], fields[5], seed=i)
    return root


# -- Emomusic (jukemir metadata subset, clips_45seconds) -----------------------------------------
def make_emomusic(home: Path, shared: Path, per_split: int = 6) -> Path:
    """``emomusic/`` with a subset of jukemir's emomusic.json.gz (``per_split`` songs of each
    split) in the dataset folder and short mp3s in ``clips_45seconds/<song_id>.mp3``."""
    with gzip.open(Path(shared) / "protocol/emomusic/jukemir_emomusic.json.gz", "rt") as handle:
        songs = json.load(handle)
    kept = dict(_pick(sorted(songs.items()), lambda kv: kv[1]["split"], per_split))
    root = Path(home) / "emomusic"
    root.mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "emomusic.json.gz", "wt") as handle:
        json.dump(kept, handle)
    for i, (key, song) in enumerate(kept.items()):
        arousal = float(song["extra"]["static_annotations"]["mean_arousal"])
        write_audio(root / "clips_45seconds" / f"{int(key)}.mp3", f"{round(arousal)}", seed=i)
    return root


# -- FMA (no real metadata in ../shared: a generated tracks.csv of the official shape) -----------
FMA_GENRES = ("Electronic", "Experimental", "Folk", "Hip-Hop", "Instrumental", "International", "Pop", "Rock")


def write_fma_tracks(root: Path, sizes: dict[str, int], extra_other_subsets: int = 0) -> Path:
    """``fma_metadata/tracks.csv`` in the official two-row-header format, with ``sizes``
    (training/validation/test) small-subset tracks (genres round-robin) and tracks of the
    medium/large subsets that the task must leave out."""
    import pandas as pd

    rows, track = [], 2
    for split, n in sizes.items():
        for i in range(n):
            rows.append((track, "small", split, FMA_GENRES[i % len(FMA_GENRES)], "Test Artist", 30))
            track += 1
    for i in range(extra_other_subsets):
        rows.append((track, ("medium", "large")[i % 2], "training", FMA_GENRES[i % len(FMA_GENRES)], "x", 30))
        track += 1
    columns = pd.MultiIndex.from_tuples([("set", "subset"), ("set", "split"), ("track", "genre_top"),
                                         ("artist", "name"), ("track", "duration")])
    frame = pd.DataFrame([r[1:] for r in rows], index=pd.Index([r[0] for r in rows], name="track_id"),
                         columns=columns)
    path = Path(root) / "fma_metadata" / "tracks.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path)
    return path


def make_fma(home: Path, per_split: int = 8) -> Path:
    """``fma/`` with a generated tracks.csv and short mp3s in ``fma_small/NNN/NNNNNN.mp3``."""
    import pandas as pd

    root = Path(home) / "fma"
    path = write_fma_tracks(root, {"training": per_split, "validation": per_split, "test": per_split}, 2)
    tracks = pd.read_csv(path, index_col=0, header=[0, 1])
    small = tracks[tracks[("set", "subset")] == "small"]
    for i, (track_id, genre) in enumerate(zip(small.index, small[("track", "genre_top")])):
        name = f"{int(track_id):06d}"
        write_audio(root / "fma_small" / name[:3] / f"{name}.mp3", genre, seed=i)
    return root


def _spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)``."""
    return sorted({int(i) for i in np.linspace(0, n - 1, min(k, n))})


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]


# -- end-to-end helpers ---------------------------------------------------------------------------
def _fast_protocols():
    import dataclasses

    from benchmark.probe.protocols import COALA, MULAP

    # short-training copies of the defaults: same probe and code path, 3-5 epochs; named
    # differently so that no per-dataset override stretches them back
    return (dataclasses.replace(COALA, name="coala-fast", max_epochs=5),
            dataclasses.replace(MULAP, name="mulap-fast", max_epochs=3, patience=2))


COALA_FAST, MULAP_FAST = _fast_protocols()
FAST_PROTOCOLS = {"coala": "tests.datasets:COALA_FAST", "mulap": "tests.datasets:MULAP_FAST"}


def run_mfcc(name: str, home: Path, tmp_path: Path, protocol: str | None, seeds: int = 2) -> tuple[dict, object]:
    """``bench run --embedder mfcc --task name`` into ``tmp_path``; the record and a fresh task."""
    from tasks import TASKS
    from tests.helpers import run_bench

    record = run_bench("mfcc", name, protocol=protocol, seeds=seeds, data_home=home,
                 cache_dir=tmp_path / "cache", results_dir=tmp_path / "results")
    return record, TASKS.create(name)


def assert_record(record: dict, task, splits: list[tuple[str, int, int, int]], seeds: int = 2) -> None:
    """Complete, with these (name, n_train, n_valid, n_test) splits and the task's metrics
    (headline first) for every split x seed and in the summary."""
    assert record["status"] == "complete"
    got = [(s["name"], s["n_train"], s["n_valid"], s["n_test"]) for s in record["task"]["splits"]]
    assert got == splits
    assert len(record["scores"]) == len(splits) * seeds
    assert {(s["split"], s["seed"]) for s in record["scores"]} == {(n, k) for n, *_ in splits for k in range(seeds)}
    for score in record["scores"]:
        assert list(score["metrics"]) == list(task.metrics)
    assert list(record["summary"]) == list(task.metrics)
    assert record["skipped"]["count"] == 0
