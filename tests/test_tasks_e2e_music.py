"""End to end, multi-label (mtat, mtg-moodtheme) and regression (emomusic): ``run(embedder="mfcc")``
on tiny datasets in the official layouts (generated audio; subsets of the real split files and
label matrices of ../shared), and the real default protocol on gtzan (coala trains on the
training list only, leaving the official validation list out)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests import datasets as D


@pytest.fixture(scope="module")
def home(shared, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("data-home")
    D.make_mtat(home, shared, per_split=6)
    D.make_mtg(home, shared, "moodtheme", per_split=6)
    D.make_emomusic(home, shared, per_split=6)
    D.make_gtzan(home, shared, per_genre=2, genres=2)
    return home


@pytest.mark.parametrize("name,split", [("mtat", "official"), ("mtg-moodtheme", "split-0")])
def test_multilabel_end_to_end(name, split, home, tmp_path):
    record, task = D.run_mfcc(name, home, tmp_path, D.FAST_PROTOCOLS["mulap"])
    D.assert_record(record, task, [(split, 6, 6, 6)])
    assert record["protocol"]["uses_validation"] is True
    assert len(record["task"]["labels"]) == (50 if name == "mtat" else 56)


def test_regression_end_to_end(home, tmp_path):
    record, task = D.run_mfcc("emomusic", home, tmp_path, D.FAST_PROTOCOLS["mulap"])
    D.assert_record(record, task, [("official", 6, 6, 6)])
    assert list(task.metrics) == ["r2"] and all(s["metrics"]["r2"] <= 1.0 for s in record["scores"])


def test_default_protocol_gtzan(home, tmp_path):
    """The real coala protocol (up to 200 epochs; ~10 s)."""
    record, task = D.run_mfcc("gtzan", home, tmp_path, None)
    assert record["protocol"]["name"] == "coala" and record["protocol"]["uses_validation"] is False
    D.assert_record(record, task, [("filtered", 4, 4, 4)])
