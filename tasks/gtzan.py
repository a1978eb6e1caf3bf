"""GTZAN genre (Tzanetakis & Cook, 2002) with the fault-filtered split (Kereliuk et al., 2015)
as published by J. Lee: 443 train / 197 valid / 290 test, no artist shared across sets.

Layout (mirdata's): ``gtzan_genre/genres/<genre>/<genre>.000NN.wav`` inside the dataset folder
(``genres/<genre>/…`` directly in it is accepted too). Clip id = ``<genre>.000NN``, as in mirdata.
COALA and the contextual-tag paper train on the 443 training tracks only: the split's validation
set is the official 197 (``valid_from_train=False``), so protocols without validation ignore it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, official_split
from .protocol_files import (ProtocolFile, ProtocolFilesTask, first_existing, library_audio_paths,
                             library_download, read_lines)

LABELS = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
_BASE = "https://raw.githubusercontent.com/jongpillee/music_dataset_split/master/GTZAN_split/"
SPLIT_FILES = {
    "train": ProtocolFile("train_filtered.txt", _BASE + "train_filtered.txt",
                          "2b04966cef1486f1a7767b74271533fa23e220388db804a1937835e1fc4fa3fa",
                          "GTZAN fault-filtered training list", ("GTZAN_split",)),
    "valid": ProtocolFile("valid_filtered.txt", _BASE + "valid_filtered.txt",
                          "f8fbee7c52397a0e0f3a91dc54fedecb2e27f5bdc9a9daeab8cb10d077e26956",
                          "GTZAN fault-filtered validation list", ("GTZAN_split",)),
    "test": ProtocolFile("test_filtered.txt", _BASE + "test_filtered.txt",
                         "09cafa6a89ce0a27f30ed250d56ecb4d03c22fffb5a693f96c7ae655ee02ac72",
                         "GTZAN fault-filtered test list", ("GTZAN_split",)),
}


class GTZAN(ProtocolFilesTask):
    """GTZAN: 10 music genres, fault-filtered split 443/197/290."""

    name = "gtzan"
    dataset = "gtzan_genre"
    kind = "multiclass"
    labels = LABELS
    metrics = ("accuracy",)
    protocol = "coala"
    split_description = "fault-filtered 443/197/290 (protocols without validation train on the 443)"
    expected_clips = 930
    expected_splits = {"filtered": (443, 197, 290)}
    download_help = (
        "Run 'bench data download gtzan' (mirdata), or get GTZAN from "
        "https://www.kaggle.com/datasets/andradaolteanu/gtzan-dataset-music-genre-classification "
        "and put it so that <data-home>/gtzan_genre/gtzan_genre/genres/<genre>/<genre>.000NN.wav exist."
    )

    def needed_files(self) -> list[ProtocolFile]:
        return list(SPLIT_FILES.values())

    def clips(self, root: Path) -> list[Clip]:
        root = Path(root)
        self.require_root(root)
        genres = first_existing([root / "gtzan_genre" / "genres", root / "genres",
                                 root / "Data" / "genres_original", root / "genres_original"])
        indexed = library_audio_paths("mirdata", "gtzan_genre", root) or {}
        clips = []
        for split, pf in SPLIT_FILES.items():
            for entry in read_lines(self.protocol_path(pf, root)):
                genre, filename = entry.split("/")[-2:]
                if genre not in LABELS:
                    raise DataMissingError(f"{pf.name}: unexpected entry '{entry}' (genre '{genre}'); "
                                           f"replace the file with the published one from {pf.url}.")
                clip_id = Path(filename).stem
                path = indexed.get(clip_id, genres / genre / filename)
                clips.append(Clip(id=clip_id, target=genre, path=path, group=split))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips, "filtered")]  # valid stays out of coala's training: the 443 only

    def download(self, root: Path) -> str:
        return library_download("mirdata", "gtzan_genre", root, self.download_help)
