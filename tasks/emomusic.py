"""Emomusic (Soleymani et al., 2013, "1000 songs"): regression of static arousal and valence,
with the split used by jukemir (Castellon et al., 2021): 504 train / 115 valid / 125 test; test =
the MediaEval 2013 evaluation set, train/valid = its development set split by artist.

Protocol file: jukemir's ``emomusic.json.gz`` (per song: ``split`` and the static annotations
``mean_arousal``/``mean_valence``). Targets are z-scored with the mean and population standard
deviation (ddof=0) of the development set (train + valid, 619 songs), the rule that reproduces
jukemir's stored targets exactly; the test songs use the same statistics.
Audio layout: ``clips_45seconds/<song_id>.mp3`` (the released 45-second excerpts, used whole;
jukemir's ``clip_offset`` only locates that excerpt in the original song).
Clip id = song_id without leading zeros (the audio file name).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, official_split
from .protocol_files import ProtocolFile, ProtocolFilesTask

SPLIT_FILE = ProtocolFile(
    "emomusic.json.gz", "https://raw.githubusercontent.com/p-lambda/jukemir/main/metadata/emomusic.json.gz",
    "4a3e5e1fb94f7f08d4dc8fb14ca323596ac0d4a1ce503d595102f50165966fa0",
    "jukemir's Emomusic split and static annotations", ("metadata",), ("jukemir_emomusic.json.gz",),
)
SPLITS = ("train", "valid", "test")


def read_split(path: Path) -> list[tuple[str, str, float, float]]:
    """(song id, split, mean arousal, mean valence) per song of jukemir's metadata."""
    with gzip.open(path, "rt") as handle:
        songs = json.load(handle)
    rows = []
    for key, song in sorted(songs.items(), key=lambda kv: int(kv[0])):
        static = song["extra"]["static_annotations"]
        rows.append((str(int(key)), song["split"], float(static["mean_arousal"]), float(static["mean_valence"])))
    return rows


def zscore_with_dev(rows: Sequence[tuple[str, str, float, float]]) -> np.ndarray:
    """(n, 2) arousal/valence z-scored with the development-set (train + valid) mean and std."""
    values = np.array([[r[2], r[3]] for r in rows], dtype=np.float64)
    dev = np.array([r[1] in ("train", "valid") for r in rows])
    return (values - values[dev].mean(axis=0)) / values[dev].std(axis=0)


class Emomusic(ProtocolFilesTask):
    """Emomusic: arousal and valence regression, jukemir split 504/115/125."""

    name = "emomusic"
    dataset = "emomusic"
    protocol_group = "emomusic"
    kind = "regression"
    labels = ("arousal", "valence")
    metrics = ("r2",)
    protocol = "mulap"
    split_description = "jukemir split 504 / 115 / 125 (test = MediaEval 2013 evaluation set)"
    expected_clips = 744
    expected_splits = {"official": (504, 115, 125)}
    download_help = (
        "Download clips_45sec_mp3.zip from https://cvml.unige.ch/databases/emoMusic/ (free, after "
        "accepting the licence) and unpack it so that <data-home>/emomusic/clips_45seconds/2.mp3 exists. "
        "The split file is fetched on first use, or can be put in <data-home>/emomusic/."
    )

    def needed_files(self) -> list[ProtocolFile]:
        return [SPLIT_FILE]

    def clips(self, root: Path) -> list[Clip]:
        root = Path(root)
        self.require_root(root)
        rows = read_split(self.protocol_path(SPLIT_FILE, root))
        unknown = {r[1] for r in rows} - set(SPLITS)
        if unknown:
            raise DataMissingError(f"{SPLIT_FILE.name}: unknown split names {sorted(unknown)}; replace it "
                                   f"with the published file from {SPLIT_FILE.url}.")
        targets = zscore_with_dev(rows)
        audio = root / "clips_45seconds"
        return [Clip(id=song, target=(float(t[0]), float(t[1])), path=audio / f"{song}.mp3", group=split)
                for (song, split, _, _), t in zip(rows, targets)]

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips)]
