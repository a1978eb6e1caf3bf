"""Expected clip counts and split sizes of every dataset task, against the REAL metadata and split
files of ../shared (complete US8K and ESC-50 metadata, GTZAN/MTAT/MTG/Emomusic/NSynth protocol
files). NSynth's examples.json and FMA's tracks.csv are not in ../shared (too large): for them
the counts are asserted on generated metadata of the official shape and size."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tasks import TASKS
from tests import datasets as D


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def _check(name: str, root: Path, cache: Path):
    task = TASKS.create(name)
    report = task.check(root, cache)
    assert not report.problems, report.problems
    return task, report


def test_us8k_official_folds(shared, cache):
    task, report = _check("us8k", shared / "fixtures/soundata/urbansound8k", cache)
    assert report.n_expected == 8732
    clips = task.clips(shared / "fixtures/soundata/urbansound8k")
    sizes = [sum(c.group == str(k) for c in clips) for k in range(1, 11)]
    assert sizes == [873, 888, 925, 990, 936, 823, 838, 806, 816, 837]
    assert report.split_sizes == task.expected_splits
    assert report.split_sizes["fold1"] == (8732 - 873 - 888, 888, 873)
    assert report.split_sizes["fold10"] == (8732 - 837 - 873, 873, 837)  # validation wraps to fold 1
    # the fixture holds one real clip: found/missing report
    assert report.found == ["135776-2-0-49"] and len(report.missing) == 8731
    assert not report.ok
    assert {c.target for c in clips} == set(task.labels)


def test_esc50_and_esc10_five_folds(shared, cache):
    root = shared / "fixtures/soundata/esc50"
    task, report = _check("esc50", root, cache)
    assert report.n_expected == 2000
    assert report.split_sizes == {f"fold{k}": (1200, 400, 400) for k in range(1, 6)}
    assert report.found == ["1-104089-A-22"] and len(report.missing) == 1999
    clips = task.clips(root)
    by_id = {c.id: c for c in clips}
    assert by_id["1-100038-A-14"].target == "chirping_birds" and by_id["1-100038-A-14"].group == "1"
    task10, report10 = _check("esc10", root, cache)
    assert report10.n_expected == 400
    assert report10.split_sizes == {f"fold{k}": (240, 80, 80) for k in range(1, 6)}
    assert {c.target for c in task10.clips(root)} == set(task10.labels)


def test_gtzan_fault_filtered_split(shared, cache):
    D.install_protocol(shared, cache, "gtzan")
    root = shared / "fixtures/mirdata/gtzan_genre"  # mirdata layout: gtzan_genre/genres/<genre>/
    task, report = _check("gtzan", root, cache)
    assert report.split_sizes == {"filtered": (443, 197, 290)}
    assert all(report.protocol_files.values())
    (split,) = task.splits(task.clips(root))
    assert split.valid_from_train is False  # coala trains on the 443 only
    assert not set(split.train) & set(split.valid) and not set(split.train) & set(split.test)
    # the only audio of the fixture, country.00000, is in the validation list
    assert report.found == ["country.00000"] and len(report.missing) == 929
    assert "country.00000" in split.valid


def test_mtat_jongpillee_split(shared, cache, tmp_path):
    D.install_protocol(shared, cache, "mtat")
    root = tmp_path / "magnatagatune"
    root.mkdir()
    task, report = _check("mtat", root, cache)
    assert report.split_sizes == {"official": (15244, 1529, 4332)}
    clips = task.clips(root)
    assert len({c.id for c in clips}) == len(clips) == 21105
    first = clips[0]
    assert first.path == root / "0" / (first.id + ".mp3")
    y = task.encode_targets([c for c in clips if c.group == "valid"])
    np.testing.assert_array_equal(y, np.load(shared / "protocol/mtat/y_valid_pub.npy"))
    assert list(task.labels) == _lines(shared / "protocol/mtat/top50_tags.txt")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name,sizes,n_labels", [
    ("mtg-top50", (32136, 10888, 11356), 50),
    ("mtg-moodtheme", (9949, 3802, 4231), 56),
    ("mtg-genre", None, 87),
    ("mtg-instrument", None, 40),
])
def test_mtg_split0(shared, cache, tmp_path, name, sizes, n_labels):
    D.install_protocol(shared, cache, "mtg_jamendo")
    root = tmp_path / "mtg_jamendo"
    root.mkdir()
    task, report = _check(name, root, cache)
    assert report.split_sizes["split-0"] == (sizes or task.expected_splits["split-0"])
    assert report.split_sizes == task.expected_splits
    assert len(task.labels) == n_labels
    if name == "mtg-moodtheme":
        assert set(task.labels) == set(_lines(shared / "protocol/mtg_jamendo/tags/moodtheme_split.txt"))
    if name == "mtg-top50":
        assert set(task.labels) == set(_lines(shared / "protocol/mtg_jamendo/tags/top50.txt"))


def test_mtg_moodtheme_mirdata_fixture(shared, cache):
    """The mirdata fixture folder is found by its own name; its tiny split files (one track each)
    are used as they are; the tag list comes from the cache."""
    D.install_protocol(shared, cache, "mtg_jamendo")
    task = TASKS.create("mtg-moodtheme")
    root = task.root(shared / "fixtures/mirdata", cache)
    assert root.name == "mtg_jamendo_autotagging_moodtheme"
    report = task.check(root, cache)
    assert not report.problems
    assert report.n_expected == 3 and report.found == ["track_0000948"]
    assert report.split_sizes == {"split-0": (1, 1, 1)}
    assert not report.ok


def test_emomusic_jukemir_split_and_zscores(shared, cache, tmp_path):
    D.install_protocol(shared, cache, "emomusic")
    root = tmp_path / "emomusic"
    root.mkdir()
    task, report = _check("emomusic", root, cache)
    assert report.split_sizes == {"official": (504, 115, 125)}
    clips = {c.id: c for c in task.clips(root)}
    with open(shared / "protocol/emomusic/emomusic_split.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(clips) == 744
    for row in rows:  # targets z-scored with development-set statistics, as jukemir stores them
        clip = clips[str(int(row["song_id"]))]
        assert clip.group == row["split"]
        np.testing.assert_allclose(clip.target, (float(row["y_arousal_z"]), float(row["y_valence_z"])), atol=1e-9)
        assert clip.path == root / "clips_45seconds" / f"{int(row['song_id'])}.mp3"
    y = task.encode_targets(list(clips.values()))
    dev = np.array([c.group != "test" for c in clips.values()])
    np.testing.assert_allclose(y[dev].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(y[dev].std(axis=0), 1, atol=1e-5)


def test_nsynth_selection_and_generated_metadata(shared, cache, tmp_path):
    """train = the real 20,000-note selection; nsynth-test: generated examples.json of 4096 notes."""
    D.install_protocol(shared, cache, "nsynth")
    root = tmp_path / "nsynth"
    families = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "vocal")
    D.write_nsynth_examples(root, "test", [f"{families[i % 10]}_acoustic_{i:04d}-060-100" for i in range(4096)])
    task, report = _check("nsynth", root, cache)
    assert report.split_sizes == {"official": (20000, 0, 4096)}
    clips = task.clips(root)
    train = [c for c in clips if c.group == "train"]
    assert {t: sum(c.target == t for c in train) for t in families} == {t: 2000 for t in families}
    assert train[0].path == root / "nsynth-train" / "audio" / f"{train[0].id}.wav"


def test_nsynth_full_generated_metadata(cache, tmp_path):
    """Official sizes 289205 / 12678 / 4096 on generated examples.json files (about 8 s: the real size)."""
    root = tmp_path / "nsynth"
    for split, n in (("train", 289205), ("valid", 12678), ("test", 4096)):
        D.write_nsynth_examples(root, split, (f"guitar_acoustic_{i:06d}-060-{split}" for i in range(n)))
    task = TASKS.create("nsynth-full")
    clips = task.clips(root)  # (not task.check: its 306k file look-ups would only add time)
    assert len(clips) == task.expected_clips == 289205 + 12678 + 4096
    assert {s.name: s.sizes() for s in task.splits(clips)} == task.expected_splits == {"official": (289205, 12678, 4096)}


def test_fma_small_generated_metadata(cache, tmp_path):
    """tracks.csv of the official format (two header rows) with 6400/800/800 small-subset tracks
    and medium/large tracks that must be left out."""
    root = tmp_path / "fma"
    D.write_fma_tracks(root, {"training": 6400, "validation": 800, "test": 800}, extra_other_subsets=50)
    task, report = _check("fma-small", root, cache)
    assert report.split_sizes == {"official": (6400, 800, 800)}
    clips = task.clips(root)
    assert clips[0].id == "000002" and clips[0].path == root / "fma_small" / "000" / "000002.mp3"
    assert {c.target for c in clips} == set(task.labels)
