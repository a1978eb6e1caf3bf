"""UrbanSound8K (Salamon et al., 2014): 8732 slices of urban sounds, 10 classes, 10 official folds.

Layout (soundata's): ``audio/fold1..10/<slice_file_name>`` and ``metadata/UrbanSound8K.csv``
(slice_file_name, fsID, start, end, salience, fold, classID, class). Clip id = file stem, as in
soundata. The folds are used as published: never re-shuffled (slices of one recording share a fold).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, Task, kfold_splits
from .protocol_files import library_audio_paths, library_download, unpacked_root

LABELS = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
          "engine_idling", "gun_shot", "jackhammer", "siren", "street_music")  # classID order
FOLD_SIZES = (873, 888, 925, 990, 936, 823, 838, 806, 816, 837)
METADATA = Path("metadata") / "UrbanSound8K.csv"


def kfold_expected(fold_sizes: Sequence[int], prefix: str = "fold") -> dict[str, tuple[int, int, int]]:
    """Sizes of ``kfold_splits``: test = fold k, validation = fold k+1 (mod K), train = the rest."""
    total, k = sum(fold_sizes), len(fold_sizes)
    return {f"{prefix}{i + 1}": (total - fold_sizes[i] - fold_sizes[(i + 1) % k], fold_sizes[(i + 1) % k],
                                 fold_sizes[i]) for i in range(k)}


def read_csv_or_explain(path: Path, task: str, what: str, help_text: str):
    """``pandas.read_csv`` with a DataMissingError that says where the file goes."""
    import pandas as pd

    if not path.is_file():
        raise DataMissingError(f"Task '{task}': {what} not found at {path}.\n{help_text}")
    return pd.read_csv(path)


class UrbanSound8K(Task):
    """UrbanSound8K: 10 urban sound classes, 8732 slices, 10 official folds."""

    name = "us8k"
    dataset = "urbansound8k"
    kind = "multiclass"
    labels = LABELS
    metrics = ("accuracy",)
    protocol = "coala"
    split_description = "10 official folds (test = fold k, validation = fold k+1 where a protocol uses one)"
    expected_clips = sum(FOLD_SIZES)
    expected_splits = kfold_expected(FOLD_SIZES)
    download_help = (
        "Get UrbanSound8K (free, after accepting its licence) from "
        "https://urbansounddataset.weebly.com/urbansound8k.html, or run 'bench data download us8k' "
        "(soundata). Unpack it so that <data-home>/urbansound8k/audio/fold1..10/ and "
        "<data-home>/urbansound8k/metadata/UrbanSound8K.csv exist."
    )

    def clips(self, root: Path) -> list[Clip]:
        self.require_root(Path(root))
        root = unpacked_root(root, METADATA, ("UrbanSound8K",))  # the archive's own top folder
        table = read_csv_or_explain(root / METADATA, self.name, "the metadata file UrbanSound8K.csv",
                                    self.download_help)
        indexed = library_audio_paths("soundata", "urbansound8k", root) or {}
        clips = []
        for name, fold, class_id in zip(table["slice_file_name"], table["fold"], table["classID"]):
            clip_id = Path(name).stem
            path = indexed.get(clip_id, root / "audio" / f"fold{fold}" / name)
            clips.append(Clip(id=clip_id, target=LABELS[int(class_id)], path=path, group=str(int(fold))))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return kfold_splits(clips, [str(k) for k in range(1, 11)])

    def download(self, root: Path) -> str:
        return library_download("soundata", "urbansound8k", root, self.download_help)
