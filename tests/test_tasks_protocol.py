"""Protocol-file lookup (dataset folder, cache, verified download, clear error), the task
registry entries, library index use, and the errors users see for missing data."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from benchmark.data import fetch
from benchmark.core.errors import BenchError, ChecksumError, DataMissingError
from tasks import TASKS
from tasks import gtzan as gtzan_module
from tasks.protocol_files import library_audio_paths, locate, resolve

ALL = {  # name: (dataset folder, kind, headline metric, default protocol, protocol group)
    "us8k": ("urbansound8k", "multiclass", "accuracy", "coala", "urbansound8k"),
    "gtzan": ("gtzan_genre", "multiclass", "accuracy", "coala", "gtzan_genre"),
    "nsynth": ("nsynth", "multiclass", "accuracy", "coala", "nsynth"),
    "nsynth-full": ("nsynth", "multiclass", "accuracy", "mulap", "nsynth"),
    "fma-small": ("fma", "multiclass", "accuracy", "mulap", "fma"),
    "mtat": ("magnatagatune", "multilabel", "roc_auc", "mulap", "mtat"),
    "mtg-top50": ("mtg_jamendo", "multilabel", "roc_auc", "mulap", "mtg_jamendo"),
    "mtg-genre": ("mtg_jamendo", "multilabel", "roc_auc", "mulap", "mtg_jamendo"),
    "mtg-instrument": ("mtg_jamendo", "multilabel", "roc_auc", "mulap", "mtg_jamendo"),
    "mtg-moodtheme": ("mtg_jamendo", "multilabel", "roc_auc", "mulap", "mtg_jamendo"),
    "emomusic": ("emomusic", "regression", "r2", "mulap", "emomusic"),
    "esc50": ("esc50", "multiclass", "accuracy", "coala", "esc50"),
    "esc10": ("esc50", "multiclass", "accuracy", "coala", "esc50"),
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")


@pytest.mark.parametrize("name", sorted(ALL))
def test_registered_with_kind_metrics_protocol(name):
    from benchmark.probe.protocols import MULAP_TASK_OVERRIDES

    task = TASKS.create(name)
    dataset, kind, headline, protocol, group = ALL[name]
    assert (task.name, task.dataset, task.kind, task.metrics[0], task.protocol) == (name, dataset, kind, headline, protocol)
    assert getattr(task, "protocol_group", task.dataset) == group
    if protocol == "mulap":  # the MuLaP per-dataset values exist for every MuLaP task
        assert group in MULAP_TASK_OVERRIDES
    assert task.split_description and task.expected_splits and task.download_help
    assert (task.metrics == ("roc_auc", "pr_auc")) == (kind == "multilabel")


def test_missing_dataset_folder_says_where(tmp_path):
    task = TASKS.create("us8k")
    with pytest.raises(DataMissingError, match=r"(?s)urbansound8k.*--data-home"):
        task.clips(task.root(tmp_path))
    report = task.check(task.root(tmp_path), tmp_path / "cache")
    assert report.problems and not report.ok


def test_missing_metadata_names_the_file(tmp_path):
    (tmp_path / "esc50").mkdir()
    with pytest.raises(DataMissingError, match=r"meta/esc50.csv"):
        TASKS.create("esc50").clips(tmp_path / "esc50")
    (tmp_path / "fma").mkdir()
    with pytest.raises(DataMissingError, match=r"fma_metadata/tracks.csv"):
        TASKS.create("fma-small").clips(tmp_path / "fma")


def test_offline_missing_protocol_file_names_file_address_and_places(tmp_path):
    root = tmp_path / "gtzan_genre"
    root.mkdir()
    task = TASKS.create("gtzan")
    report = task.check(root, tmp_path / "cache")
    assert report.protocol_files == dict.fromkeys(["train_filtered.txt", "valid_filtered.txt", "test_filtered.txt"])
    message = report.problems[0]
    assert "train_filtered.txt" in message and "raw.githubusercontent.com/jongpillee" in message
    assert str(tmp_path / "cache" / "protocol" / "gtzan_genre" / "train_filtered.txt") in message
    assert str(root / "train_filtered.txt") in message


def test_dataset_folder_wins_over_cache_and_is_trusted(shared, tmp_path):
    pf = gtzan_module.SPLIT_FILES["test"]
    root, cache = tmp_path / "gtzan_genre", tmp_path / "cache"
    (root / "GTZAN_split").mkdir(parents=True)
    (root / "GTZAN_split" / pf.name).write_text("blues/blues.00012.wav\n")  # a user's own (short) list
    cached = cache / "protocol" / "gtzan_genre" / pf.name
    cached.parent.mkdir(parents=True)
    shutil.copy(shared / "protocol/gtzan/test_filtered.txt", cached)
    assert resolve(pf, root, "gtzan_genre", cache) == root / "GTZAN_split" / pf.name
    (root / "GTZAN_split" / pf.name).unlink()
    assert resolve(pf, root, "gtzan_genre", cache) == cached  # verified against the pinned sha256


def test_corrupt_cached_protocol_file_is_rejected(tmp_path):
    pf = gtzan_module.SPLIT_FILES["train"]
    cached = tmp_path / "cache" / "protocol" / "gtzan_genre" / pf.name
    cached.parent.mkdir(parents=True)
    cached.write_text("blues/blues.00000.wav\n")
    with pytest.raises(ChecksumError, match="does not match"):
        resolve(pf, tmp_path, "gtzan_genre", tmp_path / "cache")


def _serve(monkeypatch, payloads: dict[str, bytes], calls: list[str]) -> None:
    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return io.BytesIO(payloads[url])

    monkeypatch.setenv("BENCH_OFFLINE", "0")
    monkeypatch.setattr(fetch.urllib.request, "urlopen", fake_urlopen)


def test_download_into_cache_verified_then_reused(shared, tmp_path, monkeypatch):
    pf = gtzan_module.SPLIT_FILES["valid"]
    calls: list[str] = []
    _serve(monkeypatch, {pf.url: (shared / "protocol/gtzan/valid_filtered.txt").read_bytes()}, calls)
    root, cache = tmp_path / "gtzan_genre", tmp_path / "cache"
    root.mkdir()
    path = resolve(pf, root, "gtzan_genre", cache)
    assert path == cache / "protocol" / "gtzan_genre" / pf.name and len(path.read_text().split()) == 197
    assert resolve(pf, root, "gtzan_genre", cache) == path and calls == [pf.url]  # no second download
    assert locate(pf, root, "gtzan_genre", cache) == path


def test_download_with_wrong_content_is_not_kept(tmp_path, monkeypatch):
    pf = gtzan_module.SPLIT_FILES["valid"]
    _serve(monkeypatch, {pf.url: b"something else\n"}, [])
    with pytest.raises(ChecksumError):
        resolve(pf, tmp_path, "gtzan_genre", tmp_path / "cache")
    assert not (tmp_path / "cache" / "protocol" / "gtzan_genre" / pf.name).exists()


def test_mtg_split_files_found_in_repository_layout(shared, tmp_path):
    root = tmp_path / "mtg_jamendo"
    target = root / "data" / "splits" / "split-0"
    target.mkdir(parents=True)
    for split in ("train", "validation", "test"):
        name = f"autotagging_instrument-{split}.tsv"
        shutil.copy(shared / "protocol/mtg_jamendo/splits/split-0" / name, target / name)
    task = TASKS.create("mtg-instrument")
    report = task.check(root, tmp_path / "cache")
    assert all(report.protocol_files.values()) and not report.problems
    assert report.split_sizes == task.expected_splits
    assert len(task.labels) == 40 and all(label.startswith("instrument---") for label in task.labels)


def test_library_index_gives_audio_paths_when_installed(shared, tmp_path, monkeypatch):
    """With soundata's full US8K index installed, clip paths come from it (same layout)."""
    import soundata.datasets.urbansound8k as module
    from tasks import protocol_files

    index = module.INDEXES[module.INDEXES["default"]]
    assert protocol_files.library_index_path("soundata", "urbansound8k") == Path(index.get_path())
    full = shared / "fixtures/soundata/_indexes_full/urbansound8k_index_1.0.json"
    monkeypatch.setattr(protocol_files, "library_index_path", lambda package, name: full)
    paths = library_audio_paths("soundata", "urbansound8k", tmp_path)
    assert len(paths) == 8732 and paths["135776-2-0-49"] == tmp_path / "audio/fold1/135776-2-0-49.wav"
    root = shared / "fixtures/soundata/urbansound8k"
    clips = TASKS.create("us8k").clips(root)
    assert all(c.path == root / "audio" / f"fold{c.group}" / f"{c.id}.wav" for c in clips)


def test_library_index_absent_means_none(tmp_path):
    assert library_audio_paths("soundata", "no_such_dataset", tmp_path) is None


@pytest.mark.parametrize("name,needle", [
    ("us8k", "urbansounddataset"), ("gtzan", "gtzan"), ("esc50", "ESC-50"), ("mtg-moodtheme", "mtg-jamendo"),
    ("mtat", "magnatagatune"), ("fma-small", "fma_metadata"), ("nsynth", "magenta"), ("emomusic", "emoMusic"),
])
def test_download_offline_gives_manual_steps(name, needle, tmp_path):
    from benchmark.core.errors import DataMissingError

    try:  # a library download refused offline is an error; a by-hand-only dataset returns its steps
        message = TASKS.create(name).download(tmp_path / "x")
    except DataMissingError as exc:
        message = str(exc)
        assert "BENCH_OFFLINE" in message
    assert needle.lower() in message.lower()


def test_unknown_name_suggests(tmp_path):
    with pytest.raises(BenchError, match="mtg-moodtheme"):
        TASKS.create("mtg-moodthem")


def test_emomusic_split_alias_name(shared, tmp_path):
    """The jukemir file under another name in the dataset folder is accepted."""
    root = tmp_path / "emomusic"
    root.mkdir()
    shutil.copy(shared / "protocol/emomusic/jukemir_emomusic.json.gz", root / "jukemir_emomusic.json.gz")
    task = TASKS.create("emomusic")
    assert task.protocol_files(root, tmp_path / "cache") == {"emomusic.json.gz": str(root / "jukemir_emomusic.json.gz")}
    assert len(task.clips(root)) == 744
    assert json.dumps(task.config())  # labels, metrics… serialisable for the run record


def test_library_index_paths_match_the_packages():
    """Our index locations are the ones the installed mirdata/soundata would read."""
    import importlib

    from tasks.protocol_files import LIBRARY_INDEXES, library_index_path

    for package, name in LIBRARY_INDEXES:
        module = importlib.import_module(f"{package}.datasets.{name}")
        index = module.INDEXES[module.INDEXES["default"]]
        assert library_index_path(package, name) == Path(index.get_path())


def test_archive_top_folder_is_accepted(shared, tmp_path):
    """UrbanSound8K.tar.gz unpacks to UrbanSound8K/: a dataset folder holding it works as is."""
    nested = tmp_path / "urbansound8k" / "UrbanSound8K" / "metadata"
    nested.mkdir(parents=True)
    shutil.copy(shared / "fixtures/soundata/urbansound8k/metadata/UrbanSound8K.csv", nested)
    clips = TASKS.create("us8k").clips(tmp_path / "urbansound8k")
    assert len(clips) == 8732
    assert clips[0].path.parent.parent.parent == tmp_path / "urbansound8k" / "UrbanSound8K"
