"""ESC-50 (Piczak, 2015): 2000 five-second environmental recordings, 50 classes, 5 official
folds; ESC-10 is its 10-class subset (the ``esc10`` column), 400 clips.

Layout (soundata's and the official repository's): ``audio/<filename>.wav`` and
``meta/esc50.csv`` (filename, fold, target, category, esc10, src_file, take). Clip id = file stem.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .base import Clip, Split, Task, kfold_splits
from .protocol_files import library_audio_paths, library_download, unpacked_root
from .us8k import kfold_expected, read_csv_or_explain

LABELS = (  # ``target`` order
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow", "rain",
    "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping",
    "breathing", "coughing", "footsteps", "laughing", "brushing_teeth", "snoring",
    "drinking_sipping", "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks",
    "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick",
    "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train",
    "church_bells", "airplane", "fireworks", "hand_saw",
)
ESC10_LABELS = ("dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing",
                "clock_tick", "helicopter", "chainsaw")
METADATA = Path("meta") / "esc50.csv"


class ESC50(Task):
    """ESC-50: 50 environmental sound classes, 2000 clips, 5 official folds."""

    name = "esc50"
    dataset = "esc50"
    kind = "multiclass"
    labels = LABELS
    metrics = ("accuracy",)
    protocol = "coala"
    split_description = "5 official folds (test = fold k, validation = fold k+1 where a protocol uses one)"
    expected_clips = 2000
    expected_splits = kfold_expected((400,) * 5)
    subset_only_esc10 = False
    download_help = (
        "Download ESC-50 from https://github.com/karolpiczak/ESC-50 (the master archive), or run "
        "'bench data download esc50' (soundata). Put it so that <data-home>/esc50/audio/*.wav and "
        "<data-home>/esc50/meta/esc50.csv exist."
    )

    def clips(self, root: Path) -> list[Clip]:
        self.require_root(Path(root))
        root = unpacked_root(root, METADATA, ("ESC-50-master", "ESC-50"))  # the archive's own top folder
        table = read_csv_or_explain(root / METADATA, self.name, "the metadata file esc50.csv", self.download_help)
        if self.subset_only_esc10:
            table = table[table["esc10"].astype(str).str.lower() == "true"]
        indexed = library_audio_paths("soundata", "esc50", root) or {}
        clips = []
        for name, fold, target in zip(table["filename"], table["fold"], table["target"]):
            clip_id = Path(name).stem
            path = indexed.get(clip_id, root / "audio" / name)
            clips.append(Clip(id=clip_id, target=LABELS[int(target)], path=path, group=str(int(fold))))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return kfold_splits(clips, [str(k) for k in range(1, 6)])

    def download(self, root: Path) -> str:
        return library_download("soundata", "esc50", root, self.download_help)


class ESC10(ESC50):
    """ESC-10: the 10-class subset of ESC-50, 400 clips, 5 official folds."""

    name = "esc10"
    labels = ESC10_LABELS
    expected_clips = 400
    expected_splits = kfold_expected((80,) * 5)
    subset_only_esc10 = True
