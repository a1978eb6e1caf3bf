"""MagnaTagATune top-50 auto-tagging with J. Lee's split (15244 / 1529 / 4332 clips), as used by
musicnn and MuLaP.

Protocol files (jongpillee/music_dataset_split, ``MTAT_split/``): ``{train,valid,test}_list_pub.cP``
are Python-2 pickles of ``<dir>/<stem>.npy`` entries, ``y_{train,valid,test}_pub.npy`` the
matching top-50 label matrices (row i <-> entry i; columns in ``TOP50`` order).
Audio layout: ``<dir>/<stem>.mp3`` (the unzipped mp3.zip), directly in the dataset folder or in
its ``mp3/`` sub-folder. Clip id = ``<stem>`` (unique across the 16 folders).
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, official_split
from .protocol_files import ProtocolFile, ProtocolFilesTask

TOP50 = (  # column order of y_*_pub.npy
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "noVocals", "harpsichord", "loud", "quiet", "flute", "woman", "maleVocal", "noVocal",
    "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "newAge", "dance", "maleVoice",
    "femaleVocal", "beats", "harp", "cello", "noVoice", "weird", "country", "femaleVoice", "metal", "choral",
)
_BASE = "https://raw.githubusercontent.com/jongpillee/music_dataset_split/master/MTAT_split/"
_SHA = {
    "train_list_pub.cP": "76c9eec0fdd3d7533adda0cb4be4844996ed7469586b337bfc97f863fd3ec09a",
    "valid_list_pub.cP": "b3528613a6832ce49f11628fd21103dbf266e43086b465798221519ae64c2917",
    "test_list_pub.cP": "43edc3b8951f7c9e613f618ab828ab80036b2e2e604bb20a93e623b186b63b30",
    "y_valid_pub.npy": "f6e4d6c5b51c47766dd1c611be423d92a266d8b974990d38e6201953be080411",
    "y_test_pub.npy": "80af41037ae7ad8285864a5e91cbd31e59cdda0d86ab5e1d7124d1afc3cc1821",
    # y_train_pub.npy: not pinned (the copy we could verify against was rebuilt from per-clip tags)
}
SPLITS = ("train", "valid", "test")


def _pf(name: str, what: str) -> ProtocolFile:
    return ProtocolFile(name, _BASE + name, _SHA.get(name), what, ("MTAT_split", "split"))


LISTS = {s: _pf(f"{s}_list_pub.cP", f"MagnaTagATune {s} clip list (Python-2 pickle)") for s in SPLITS}
MATRICES = {s: _pf(f"y_{s}_pub.npy", f"MagnaTagATune {s} top-50 label matrix") for s in SPLITS}


def read_list(path: Path) -> list[str]:
    with open(path, "rb") as handle:
        return list(pickle.load(handle, encoding="latin1"))  # written by Python 2


class MagnaTagATune(ProtocolFilesTask):
    """MagnaTagATune: top-50 tags, J. Lee's split 15244/1529/4332."""

    name = "mtat"
    dataset = "magnatagatune"
    protocol_group = "mtat"
    kind = "multilabel"
    labels = TOP50
    metrics = ("roc_auc", "pr_auc")
    protocol = "mulap"
    split_description = "J. Lee's top-50 split 15244 / 1529 / 4332"
    expected_clips = 15244 + 1529 + 4332
    expected_splits = {"official": (15244, 1529, 4332)}
    download_help = (
        "Download mp3.zip.001-003 from https://mirg.city.ac.uk/codeapps/the-magnatagatune-dataset, "
        "join and unzip them into <data-home>/magnatagatune/ so that "
        "<data-home>/magnatagatune/0/<clip>.mp3 … f/<clip>.mp3 exist."
    )

    def needed_files(self) -> list[ProtocolFile]:
        return [*LISTS.values(), *MATRICES.values()]

    def clips(self, root: Path) -> list[Clip]:
        root = Path(root)
        self.require_root(root)
        audio = root / "mp3" if (root / "mp3").is_dir() else root
        clips = []
        for split in SPLITS:
            entries = read_list(self.protocol_path(LISTS[split], root))
            matrix = np.load(self.protocol_path(MATRICES[split], root))
            if matrix.shape != (len(entries), len(TOP50)):
                raise DataMissingError(
                    f"MagnaTagATune {split}: {len(entries)} clips in {LISTS[split].name} but a label matrix "
                    f"of shape {matrix.shape}; expected ({len(entries)}, 50). Re-fetch both from {_BASE}.")
            for entry, row in zip(entries, matrix):
                rel = Path(entry).with_suffix(".mp3")
                tags = tuple(TOP50[j] for j in np.flatnonzero(row > 0.5))
                clips.append(Clip(id=rel.stem, target=tags, path=audio / rel, group=split))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips)]
