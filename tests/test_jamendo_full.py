"""MTG-Jamendo in its full official layout (slow tier): the complete split-0 top-50 lists (~54k
tracks) with the audio of a few hundred short generated tracks, through ``mtg-top50`` with the
chunk-level ``mulap`` protocol, a cheap plugin embedder and ``--skip-missing``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests import datasets as D
from tests.helpers import invoke

pytestmark = pytest.mark.slow

CHEAP = '''
import numpy as np
from embedders.base import Embedder

class Cheap(Embedder):
    """8 frames of (mean |x|, std, zero crossings) per clip."""
    name = "cheap"
    sample_rate = 8000
    dim = 3
    batch_size = 16
    takes_weights = False

    def embed(self, batch):
        out = []
        for x in batch:
            parts = np.array_split(np.asarray(x, np.float32), 8)
            out.append(np.array([[np.abs(p).mean(), p.std(), (np.diff(np.sign(p)) != 0).mean()] for p in parts],
                                np.float32))
        return out
'''
PRESENT = {"train": 180, "validation": 60, "test": 60}


def test_mtg_top50_full_split_lists_with_a_few_hundred_tracks(shared, tmp_path):
    root = tmp_path / "home" / "mtg_jamendo"
    splits = root / "data" / "splits" / "split-0"
    splits.mkdir(parents=True)
    source = Path(shared) / "protocol" / "mtg_jamendo" / "splits" / "split-0"
    listed = 0
    for split, n in PRESENT.items():
        name = f"autotagging_top50tags-{split}.tsv"
        lines = (source / name).read_text().splitlines()
        (splits / name).symlink_to(source / name)  # the complete official list
        listed += len(lines) - 1
        for i in D._spread(len(lines) - 1, n):
            fields = lines[1 + i].split("\t")
            D.write_audio(root / fields[3], fields[5], seconds=0.5, seed=i, sr=8000)
    plugin = tmp_path / "cheap.py"
    plugin.write_text(CHEAP)
    code, output = invoke("run", "-e", f"{plugin}:Cheap", "-t", "mtg-top50", "--protocol", "mulap", "--seeds", "1",
                          "--skip-missing", "--data-home", tmp_path / "home", "--cache-dir", tmp_path / "cache",
                          "--results-dir", tmp_path / "results")
    assert code == 0, output
    (path,) = (tmp_path / "results").rglob("*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "complete" and listed > 50000
    assert record["skipped"]["count"] == listed - sum(PRESENT.values())
    assert [(s["name"], s["n_train"], s["n_valid"], s["n_test"]) for s in record["task"]["splits"]] == \
        [("split-0", PRESENT["train"], PRESENT["validation"], PRESENT["test"])]
    assert len(record["task"]["labels"]) == 50
    (score,) = record["scores"]
    assert all(np.isfinite(v) for v in score["metrics"].values())
    assert record["protocol"]["chunk_training"] is True
