"""Every thread pool the numbers depend on is pinned (issue 19, item 5): MFCC's embeddings, and so
the cache both executors share, do not depend on the BLAS threads a process starts with (a Ray
worker starts with OMP_NUM_THREADS=1, a local run with one thread per core)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from helpers import tone, write_wav

ROOT = Path(__file__).resolve().parent.parent


def long_clip_csv(folder: Path) -> Path:
    """8 clips of 3 s: long enough that OpenBLAS cuts MFCC's mel-filterbank product among threads
    (0.5 s clips are not: their products run on one thread whatever the pool)."""
    rows = ["path,label,fold"]
    for i in range(8):
        rel = f"audio/c{i}.wav"
        write_wav(folder / rel, tone(3.0 + 0.1 * i, freq=300 + 170 * i, seed=i))
        rows.append(f"{rel},{'ab'[i % 2]},{i % 4 + 1}")
    (folder / "long.csv").write_text("\n".join(rows) + "\n")
    return folder / "long.csv"


def cached_frames(cache: Path) -> dict[str, bytes]:
    out = {}
    for index in cache.glob("embeddings/*/shard-*.json"):
        frames = np.load(index.with_suffix(".npy"))
        for clip, (start, stop) in json.loads(index.read_text())["clips"].items():
            out[f"{index.parent.name}/{clip}"] = frames[start:stop].tobytes()
    return out


def test_mfcc_cache_is_bitwise_the_same_whatever_blas_threads_the_process_started_with(tmp_path):
    csv = long_clip_csv(tmp_path / "data")
    caches = {}
    for ambient in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(ambient), "OPENBLAS_NUM_THREADS": str(ambient),
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        caches[ambient] = tmp_path / f"cache{ambient}"
        done = subprocess.run([sys.executable, "-m", "cli", "run", "-e", "mfcc", "-t", f"csv:{csv}",
                               "--threads", "2", "--seeds", "1", "-p", "linear", "--cache-dir", str(caches[ambient]),
                               "--results-dir", str(tmp_path / f"results{ambient}")],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    one, two = cached_frames(caches[1]), cached_frames(caches[2])
    assert len(one) == 8 and one.keys() == two.keys()  # one cache key: the same folder names
    differ = [k for k in one if one[k] != two[k]]
    assert not differ, f"{len(differ)} of 8 clips' MFCC differ between 1 and 2 ambient BLAS threads"


def test_pinned_threads_pins_blas_and_the_variables_then_restores_them(monkeypatch):
    from threadpoolctl import threadpool_info

    from benchmark.run.executors import THREAD_VARIABLES, pinned_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    with pinned_threads(1):
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] in ("blas", "openmp"))
        assert all(os.environ[name] == "1" for name in THREAD_VARIABLES)
    assert {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["filepath"] in before} == before
    assert os.environ["OMP_NUM_THREADS"] == "7" and "OPENBLAS_NUM_THREADS" not in os.environ
