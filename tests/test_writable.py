"""Unwritable places are found before extraction, with the folder named; a full disk leaves no
temporary file and keeps finished work."""
import builtins
import errno
import os
import pathlib
from pathlib import Path

import pytest

from tests.helpers import invoke, write_csv_dataset


def _run(tmp_path, *extra):
    csv = tmp_path / "data" / "data.csv"
    if not csv.exists():  # written once: rewriting the audio would change the clips' keys
        write_csv_dataset(tmp_path / "data", n_per_class=4)
    return invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--cache-dir", tmp_path / "cache", *extra)


def _tmp_files(*folders):
    return [p for f in folders if f.exists() for p in f.rglob("*") if p.name.endswith(".tmp")]


def test_results_dir_naming_a_file(tmp_path, monkeypatch):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    monkeypatch.setenv("BENCH_RESULTS_DIR", str(target))
    code, out = _run(tmp_path)
    assert code == 2 and "Traceback" not in out
    assert f"The results folder {target} is a file, not a folder" in out and "--results-dir" in out
    assert "Embeddings:" not in out and not list((tmp_path / "cache").rglob("shard-*"))  # checked before extraction


def _refuse_writes_under(monkeypatch, folder: Path, code: int) -> None:
    real_open = builtins.open

    def fake_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).startswith(str(folder)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("benchmark.core.writable.open", fake_open, raising=False)


@pytest.mark.parametrize("which", ["results", "cache"])
def test_read_only_folder_is_named_before_extraction(tmp_path, monkeypatch, which):
    folder = tmp_path / which
    _refuse_writes_under(monkeypatch, folder, errno.EROFS)
    code, out = _run(tmp_path, "--results-dir", tmp_path / "results")
    assert code == 2 and "Traceback" not in out
    assert f"Cannot write to the {which} folder {folder}: it is read-only" in out
    assert "Embeddings:" not in out and not list(tmp_path.rglob("shard-*"))


def test_really_read_only_results_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions do not stop writes (the EROFS case above covers the message)")
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, out = _run(tmp_path, "--results-dir", folder)
    finally:
        folder.chmod(0o755)
    assert code == 2 and f"Cannot write to the results folder {folder}" in out


def test_full_disk_while_storing_embeddings_leaves_no_tmp(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell which file is being synced")
    real_fsync = os.fsync

    def fsync(fd):
        if "shard-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    code, out = _run(tmp_path, "--results-dir", tmp_path / "results")
    assert code == 2 and "Traceback" not in out
    assert f"Cannot write to the cache folder {tmp_path / 'cache'}: the disk is full" in out
    assert not _tmp_files(tmp_path / "cache", tmp_path / "results")


def test_full_disk_while_writing_the_record_leaves_no_tmp_and_keeps_embeddings(tmp_path, monkeypatch):
    real_write_text = pathlib.Path.write_text

    def write_text(self, data, *args, **kwargs):
        if self.name.endswith(".tmp") and "results" in str(self):
            real_write_text(self, data[:10], *args, **kwargs)  # half written, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    code, out = _run(tmp_path, "--results-dir", tmp_path / "results")
    assert code == 2 and "Traceback" not in out
    assert f"Cannot write to the results folder {tmp_path / 'results'}: the disk is full" in out
    assert not _tmp_files(tmp_path / "cache", tmp_path / "results")
    monkeypatch.undo()
    code, out = _run(tmp_path, "--results-dir", tmp_path / "results")
    assert code == 0 and "8 cached, 0 extracted" in out
