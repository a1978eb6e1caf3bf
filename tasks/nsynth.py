"""NSynth (Engel et al., 2017): 4-second 16 kHz notes, target = instrument family.

Layout (the official archives unpacked): ``nsynth-{train,valid,test}/examples.json`` (a dict keyed
by ``note_str`` with ``instrument_family``/``instrument_family_str``…) and
``nsynth-<split>/audio/<note_str>.wav``. Clip id = ``note_str``.

* ``nsynth`` (COALA, contextual tags): train = the 20,000 notes of
  ``nsynth_selected_sounds_per_class.json`` (2000 per family, 10 families, drawn from
  nsynth-train), test = nsynth-test (4096); no validation set, as in the papers.
* ``nsynth-full`` (MuLaP): the full official train / valid / test (289205 / 12678 / 4096).
"""
from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, official_split
from .protocol_files import ProtocolFile, ProtocolFilesTask

FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string",
            "synth_lead", "vocal")  # instrument_family index order
SELECTION = ProtocolFile(
    "nsynth_selected_sounds_per_class.json",
    "https://raw.githubusercontent.com/xavierfav/coala/master/json/nsynth_selected_sounds_per_class.json",
    "97acc26e18aed1f82476d36738847137386344135a4c590e3d32636afc8ed163",
    "the 20,000 NSynth training notes used by COALA", ("json",),
)
DOWNLOAD_HELP = (
    "Download nsynth-train.jsonwav.tar.gz, nsynth-valid.jsonwav.tar.gz and nsynth-test.jsonwav.tar.gz "
    "from https://magenta.tensorflow.org/datasets/nsynth and unpack them into <data-home>/nsynth/, so that "
    "<data-home>/nsynth/nsynth-test/examples.json and <data-home>/nsynth/nsynth-test/audio/*.wav exist."
)


def read_examples(root: Path, split: str, task: str) -> dict[str, dict]:
    path = Path(root) / f"nsynth-{split}" / "examples.json"
    if not path.is_file():
        raise DataMissingError(f"Task '{task}': {path} not found (the NSynth {split} metadata).\n{DOWNLOAD_HELP}")
    with open(path) as handle:
        return json.load(handle)


def family_of(note: str, fields: dict) -> str:
    if "instrument_family_str" in fields:
        return fields["instrument_family_str"]
    if "instrument_family" in fields:
        return FAMILIES[int(fields["instrument_family"])]
    return note.split("_")[0]  # note_str starts with the family: "guitar_acoustic_000-056-025"


def split_clips(root: Path, split: str, task: str) -> list[Clip]:
    examples = read_examples(root, split, task)
    audio = Path(root) / f"nsynth-{split}" / "audio"
    enabled = gc.isenabled()
    gc.disable()  # 300k new objects would trigger many full collections (a third of the time)
    try:
        return [Clip(id=note, target=family_of(note, fields), path=audio / f"{note}.wav", group=split)
                for note, fields in examples.items()]  # file order
    finally:
        if enabled:
            gc.enable()


class NSynth(ProtocolFilesTask):
    """NSynth instrument family: the COALA 20,000-note training subset, tested on nsynth-test."""

    name = "nsynth"
    dataset = "nsynth"
    protocol_group = "nsynth"
    kind = "multiclass"
    labels = tuple(f for f in FAMILIES if f != "synth_lead")
    metrics = ("accuracy",)
    protocol = "coala"
    split_description = "train = 20,000 selected nsynth-train notes, test = nsynth-test (4096), no validation"
    expected_clips = 24096
    expected_splits = {"official": (20000, 0, 4096)}
    download_help = DOWNLOAD_HELP

    def needed_files(self) -> list[ProtocolFile]:
        return [SELECTION]

    def clips(self, root: Path) -> list[Clip]:
        self.require_root(Path(root))
        with open(self.protocol_path(SELECTION, root)) as handle:
            selection = json.load(handle)
        audio = Path(root) / "nsynth-train" / "audio"
        train = [Clip(id=note, target=family, path=audio / f"{note}.wav", group="train")
                 for family in sorted(selection) for note in selection[family]]
        return train + split_clips(root, "test", self.name)

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips)]  # no validation set, as in the papers


class NSynthFull(NSynth):
    """NSynth instrument family on the full official train / valid / test."""

    name = "nsynth-full"
    labels = FAMILIES
    protocol = "mulap"
    split_description = "official train / valid / test (289205 / 12678 / 4096)"
    expected_clips = 289205 + 12678 + 4096
    expected_splits = {"official": (289205, 12678, 4096)}

    def needed_files(self) -> list[ProtocolFile]:
        return []

    def clips(self, root: Path) -> list[Clip]:
        self.require_root(Path(root))
        return [clip for split in ("train", "valid", "test") for clip in split_clips(root, split, self.name)]

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips)]
