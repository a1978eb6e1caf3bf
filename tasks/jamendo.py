"""MTG-Jamendo auto-tagging (Bogdanov et al., 2019), split-0 of the official splits.

Protocol files (MTG/mtg-jamendo-dataset, ``data/``): ``splits/split-0/autotagging_<subset>-
{train,validation,test}.tsv`` with columns TRACK_ID, ARTIST_ID, ALBUM_ID, PATH (``NN/ID.mp3``),
DURATION, then one ``category---tag`` per remaining tab-separated field. ``mtg-moodtheme`` is
restricted to the 56 tags of ``tags/moodtheme_split.txt`` (mirdata's loader knows 59).
Audio: ``<audio>/NN/ID.mp3`` where ``<audio>`` is the dataset folder or its ``audios/`` (mirdata),
``audio/`` or ``raw_30s/audio/`` sub-folder; the ``.low.mp3`` files of the low-quality release
are used when the full-quality ones are absent. Clip id = TRACK_ID. Labels (``category---tag``,
sorted) are read from the split files when the clips are loaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, official_split
from .protocol_files import ProtocolFile, ProtocolFilesTask, first_existing, library_download, read_lines

_BASE = "https://raw.githubusercontent.com/MTG/mtg-jamendo-dataset/master/data/"
_SHA = {
    "autotagging_genre-test.tsv": "cf917388eebfa7d17d363c2fca037e2379ac027e31aa6dbe92e8dbf409ac5098",
    "autotagging_genre-train.tsv": "c1cddb195ef94a07e67e227bf38e2a79389c1820950702b8c8894a2096f21e54",
    "autotagging_genre-validation.tsv": "3e203b4c573db6ec63a06c7066cf678dcf673a68ad5694c8fed22637c270dbcf",
    "autotagging_instrument-test.tsv": "8c1ab86f3212b6484106baf2e78f70dd5520b917607487ac98999adbd5d7ab1a",
    "autotagging_instrument-train.tsv": "f844a85f0b40bb31a5d5b448ddfc10a68d7b38ecc760673d23df2bd6e7ca0f4c",
    "autotagging_instrument-validation.tsv": "a5060020013ac5ba65c6470ee83fc2a9785db1fe554b55065de08aa9b0cca70d",
    "autotagging_moodtheme-test.tsv": "4341b5586bb3e5a80a882ce9ef33cb8b1bdaa7df856246ecc5de188dfe1cf394",
    "autotagging_moodtheme-train.tsv": "e5e9e798364b34bd241b773e5011809b24429edf471f27cf21dd8181077ba2d4",
    "autotagging_moodtheme-validation.tsv": "ecaa279367153476884d84d686479e566234cef1814bd6892a8755ba0a550dbf",
    "autotagging_top50tags-test.tsv": "3ede06a35e6cb27e1dbe8cfc84708a607622e30e5cd0a7199fce6c081124bc35",
    "autotagging_top50tags-train.tsv": "6dee445ddd1901286184c2059d3d5eef7486f083ae80de9011705f852a850dde",
    "autotagging_top50tags-validation.tsv": "4f5f0f0a7662f523b45727476f67d799d6e98151b2c585a8e94e19d980ad93c1",
}
MOODTHEME_TAGS = ProtocolFile(
    "tags/moodtheme_split.txt", _BASE + "tags/moodtheme_split.txt",
    "68797d2f5164d78aafb641a6575f6ba68723293a715a91a8166a7b8ec19af169",
    "the 56 mood/theme tags of the MTG-Jamendo splits", ("data",),
)
SPLITS = {"train": "train", "validation": "valid", "test": "test"}
DOWNLOAD_HELP = (
    "Download the MTG-Jamendo audio (raw_30s or its low-quality release) with the download script of "
    "https://github.com/MTG/mtg-jamendo-dataset and unpack it into <data-home>/mtg_jamendo/, so that "
    "<data-home>/mtg_jamendo/NN/ID.mp3 (or audios/NN/ID.mp3) exist. The split files are fetched on "
    "first use, or can be put in <data-home>/mtg_jamendo/data/splits/split-0/."
)


def split_file(subset: str, split: str) -> ProtocolFile:
    name = f"autotagging_{subset}-{split}.tsv"
    return ProtocolFile(f"splits/split-0/{name}", f"{_BASE}splits/split-0/{name}", _SHA.get(name),
                        f"MTG-Jamendo split-0 {subset} {split} list", ("data",))


def read_tsv(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(TRACK_ID, PATH, tags) per row. Tags are tab-separated fields, so pandas is not used."""
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 5:
            continue
        rows.append((fields[0], fields[3], tuple(t for t in fields[5:] if t)))
    return rows


class MTGJamendo(ProtocolFilesTask):
    """MTG-Jamendo top-50 tags, split-0."""

    name = "mtg-top50"
    dataset = "mtg_jamendo"
    protocol_group = "mtg_jamendo"
    subset = "top50tags"
    kind = "multilabel"
    metrics = ("roc_auc", "pr_auc")
    protocol = "mulap"
    split_description = "official split-0 train / validation / test (32136 / 10888 / 11356)"
    expected_splits = {"split-0": (32136, 10888, 11356)}
    expected_clips = 32136 + 10888 + 11356
    download_help = DOWNLOAD_HELP
    restrict_to: ProtocolFile | None = None

    def __init__(self, cache: str | None = None) -> None:
        super().__init__(cache)
        self.labels = ()

    def root(self, data_home: Path, cache: Path | None = None) -> Path:
        """``<data_home>/mtg_jamendo``, or mirdata's folder name when only that one exists."""
        default = super().root(data_home, cache)
        mirdata_name = Path(data_home) / "mtg_jamendo_autotagging_moodtheme"
        return mirdata_name if not default.is_dir() and mirdata_name.is_dir() else default

    def needed_files(self) -> list[ProtocolFile]:
        files = [split_file(self.subset, s) for s in SPLITS]
        return files + ([self.restrict_to] if self.restrict_to else [])

    def clips(self, root: Path) -> list[Clip]:
        root = Path(root)
        self.require_root(root)
        audio = first_existing([root / "audios", root / "audio", root / "raw_30s" / "audio", root])
        allowed = None
        if self.restrict_to is not None:
            allowed = set(read_lines(self.protocol_path(self.restrict_to, root)))
        clips, tags_seen = [], set()
        low = None  # full-quality or .low.mp3 files, decided on the first clip
        for split, group in SPLITS.items():
            for track, rel, tags in read_tsv(self.protocol_path(split_file(self.subset, split), root)):
                if allowed is not None:
                    tags = tuple(t for t in tags if t in allowed)
                path = audio / rel
                if low is None:
                    low = not path.is_file() and path.with_suffix(".low.mp3").is_file()
                if low:
                    path = path.with_suffix(".low.mp3")
                tags_seen.update(tags)
                clips.append(Clip(id=track, target=tags, path=path, group=group))
        if not clips:
            raise DataMissingError(f"Task '{self.name}': the split-0 files of '{self.subset}' list no track. "
                                   f"Replace them with the published ones from {_BASE}splits/split-0/.")
        self.labels = tuple(sorted(allowed if allowed is not None else tags_seen))
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return [official_split(clips, "split-0")]


class MTGGenre(MTGJamendo):
    """MTG-Jamendo genre tags (87), split-0."""

    name = "mtg-genre"
    subset = "genre"
    split_description = "official split-0 train / validation / test (32572 / 11043 / 11479)"
    expected_splits = {"split-0": (32572, 11043, 11479)}
    expected_clips = sum(expected_splits["split-0"])


class MTGInstrument(MTGJamendo):
    """MTG-Jamendo instrument tags (40), split-0."""

    name = "mtg-instrument"
    subset = "instrument"
    split_description = "official split-0 train / validation / test (14395 / 5466 / 5115)"
    expected_splits = {"split-0": (14395, 5466, 5115)}
    expected_clips = sum(expected_splits["split-0"])


class MTGMoodTheme(MTGJamendo):
    """MTG-Jamendo mood/theme tags (the 56 of moodtheme_split.txt), split-0."""

    name = "mtg-moodtheme"
    subset = "moodtheme"
    split_description = "official split-0 train / validation / test (9949 / 3802 / 4231), 56 tags"
    restrict_to = MOODTHEME_TAGS
    expected_splits = {"split-0": (9949, 3802, 4231)}
    expected_clips = 9949 + 3802 + 4231

    def download(self, root: Path) -> str:
        return library_download("mirdata", "mtg_jamendo_autotagging_moodtheme", root, self.download_help)
