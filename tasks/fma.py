"""FMA small (Defferrard et al., 2017): 8000 30-second clips, 8 balanced top genres, official
training / validation / test split (6400 / 800 / 800).

Layout (the official archives unpacked): ``fma_metadata/tracks.csv`` and
``fma_small/NNN/NNNNNN.mp3`` (NNN = the first three digits of the zero-padded track id).
``tracks.csv`` has two header rows: read with ``header=[0, 1]``; the small subset is
``('set', 'subset') == 'small'``, the split ``('set', 'split')``, the label ``('track', 'genre_top')``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, Task, official_split

LABELS = ("Electronic", "Experimental", "Folk", "Hip-Hop", "Instrumental", "International", "Pop", "Rock")
SPLITS = {"training": "train", "validation": "valid", "test": "test"}


def read_tracks(path: Path):
    """The small-subset rows of tracks.csv: a DataFrame indexed by track id with split and genre."""
    import pandas as pd

    tracks = pd.read_csv(path, index_col=0, header=[0, 1], low_memory=False)
    small = tracks[tracks[("set", "subset")] == "small"]
    return pd.DataFrame({"split": small[("set", "split")], "genre": small[("track", "genre_top")]},
                        index=small.index)


class FMASmall(Task):
    """FMA small: 8 genres, official split 6400/800/800."""

    name = "fma-small"
    dataset = "fma"
    protocol_group = "fma"
    kind = "multiclass"
    labels = LABELS
    metrics = ("accuracy",)
    protocol = "mulap"
    split_description = "official training / validation / test (6400 / 800 / 800)"
    expected_clips = 8000
    expected_splits = {"official": (6400, 800, 800)}
    download_help = (
        "Download fma_metadata.zip and fma_small.zip from https://github.com/mdeff/fma (no registration) "
        "and unpack both into <data-home>/fma/, so that <data-home>/fma/fma_metadata/tracks.csv and "
        "<data-home>/fma/fma_small/000/000002.mp3 exist."
    )

    def clips(self, root: Path) -> list[Clip]:
        root = Path(root)
        self.require_root(root)
        path = root / "fma_metadata" / "tracks.csv"
        if not path.is_file():
            raise DataMissingError(f"Task '{self.name}': {path} not found (the FMA metadata).\n{self.download_help}")
        table = read_tracks(path)
        clips = []
        for track_id, split, genre in zip(table.index, table["split"], table["genre"]):
            if split not in SPLITS:
                raise DataMissingError(f"{path}: track {track_id} has split '{split}', expected one of "
                                       f"{list(SPLITS)}. Replace tracks.csv with the published one.")
            name = f"{int(track_id):06d}"
            clips.append(Clip(id=name, target=genre, path=root / "fma_small" / name[:3] / f"{name}.mp3",
                              group=SPLITS[split]))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips)]
