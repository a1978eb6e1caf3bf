"""UrbanSound8K classified from the Freesound tags of its source sounds (Favory et al., ICASSP 2021).

No audio: each slice of the official metadata gets the tags of its Freesound sound (``fsID``),
taken from ``US8K_tag_vectors.json`` (fsID -> 1000-d multi-hot over ``id2token_top_1000.json``),
as tag strings in vocabulary order, which is the order the authors' ``encode_tags.py`` feeds them.
Slices whose sound has no tag are excluded, as in the paper (``excluded_without_tags`` counts them).
Splits: the 10 official folds.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from benchmark.core.errors import DataMissingError

from .base import Clip, Split, kfold_splits
from .protocol_files import ProtocolFile, ProtocolFilesTask
from .us8k import LABELS, METADATA, kfold_expected


TAG_VECTORS = ProtocolFile(
    "US8K_tag_vectors.json",
    "https://raw.githubusercontent.com/xavierfav/ae-w2v-attention/main/json/US8K_tag_vectors.json",
    "14501bb53df3b497cf5400bf25e23158684840b67eef1723362b78fc7634db56",
    "Freesound tags of the UrbanSound8K source sounds, multi-hot over the top-1000 tags",
    subdirs=("metadata",), verify_local=True,
)
VOCABULARY = ProtocolFile(
    "id2token_top_1000.json",
    "https://raw.githubusercontent.com/xavierfav/coala/master/id2token_top_1000.json",
    "e3f9c0f73af2fc19762b52764138fa76822ca437e2856313193a6a1ee9680771",
    "the 1000-tag vocabulary of COALA and the contextual tag encoders",
    subdirs=("metadata",), verify_local=True,
)


class US8KTag(ProtocolFilesTask):
    """UrbanSound8K from its sounds' Freesound tags (10 classes, 10 folds; input = tags, not audio)."""

    name = "us8k-tag"
    dataset = "urbansound8k"
    kind = "multiclass"
    labels = LABELS
    metrics = ("accuracy",)
    protocol = "coala"
    input_kind = "tags"
    split_description = "10 official folds (test = fold k, validation = fold k+1); untagged sounds excluded"
    #: slices per fold with at least one tag (8251 of the 8732 slices)
    fold_sizes = (825, 813, 901, 856, 915, 746, 804, 788, 779, 824)
    expected_clips = sum(fold_sizes)
    expected_splits = kfold_expected(fold_sizes)
    download_help = (
        "Only the metadata is needed: put UrbanSound8K.csv at <data-home>/urbansound8k/metadata/ "
        "(from https://urbansounddataset.weebly.com/urbansound8k.html, or run "
        "'bench data download us8k'). The tag files are downloaded on first use, or can be put "
        "in <data-home>/urbansound8k/."
    )

    def __init__(self, cache: str | None = None) -> None:
        super().__init__(cache)
        #: slices left out because their sound has no tag in the top-1000 vocabulary
        self.excluded_without_tags: int | None = None

    def needed_files(self) -> list[ProtocolFile]:
        return [TAG_VECTORS, VOCABULARY]

    # -- clips and splits ----------------------------------------------------------------------
    def clips(self, root: Path) -> list[Clip]:
        import pandas as pd

        root = Path(root)
        csv = root / METADATA
        if not csv.is_file():
            self.require_root(root)
            raise DataMissingError(f"UrbanSound8K metadata not found: {csv}.\n{self.download_help}")
        try:
            meta = pd.read_csv(csv, usecols=["slice_file_name", "fsID", "fold", "class"])
        except (ValueError, pd.errors.ParserError) as exc:
            raise DataMissingError(f"{csv} is not the official UrbanSound8K metadata ({exc}). Download it again.") from None
        vectors = _read_json(self.protocol_path(TAG_VECTORS, root))
        id2token = _read_json(self.protocol_path(VOCABULARY, root))
        tokens = [id2token[str(i)] for i in range(len(id2token))]
        tags_of = {fs_id: tuple(tokens[i] for i, on in enumerate(vec) if on) for fs_id, vec in vectors.items()}
        clips, excluded = [], 0
        for name, fs_id, fold, label in zip(meta["slice_file_name"], meta["fsID"], meta["fold"], meta["class"]):
            tags = tags_of.get(str(fs_id), ())
            if not tags:
                excluded += 1
                continue
            clips.append(Clip(id=str(name), target=str(label), tags=tags, group=str(fold)))
        self.excluded_without_tags = excluded
        return clips

    def splits(self, clips: Sequence[Clip]) -> list[Split]:
        return kfold_splits(clips, [str(k) for k in range(1, 11)])

    def notes(self) -> dict[str, Any]:
        """For the RunRecord: how many slices were excluded for lack of tags."""
        return {"excluded_without_tags": self.excluded_without_tags}

    def config(self) -> dict[str, Any]:
        return {**super().config(), "tag_vectors_sha256": TAG_VECTORS.sha256, "vocabulary_sha256": VOCABULARY.sha256}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataMissingError(f"Cannot read {path} ({exc}). Delete it and fetch it again.") from None
