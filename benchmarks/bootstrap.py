"""Size of a run's stored test predictions and time of one paired bootstrap over test clips, on the
largest task shape (mtg-genre: 11,479 test clips x 87 labels x 10 seeds; multilabel ROC-AUC/PR-AUC).

Synthetic predictions of that shape (label prevalences log-normal around 2%, scores sigmoid of a
Gaussian with a label signal, stored as bench stores them: float16 in a compressed .npz) for two
systems; then ``stats.paired_test`` on the two in-memory records, the code ``bench compare`` runs
(2,000 paired resamples; the metric per seed on each, seeds averaged), with the BLAS and numpy
threads limited to ``--threads`` (2 by default, the cores the issue asks about). Prints the file
size, the seconds per comparison (wall and CPU), and the machine's load (a shared machine's wall
times are upper bounds).
Run: python benchmarks/bootstrap.py [--metric roc_auc] [--threads 2] [--clips 11479 --labels 87 --seeds 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make(rng: np.random.Generator, n: int, k: int, seeds: int, truth: np.ndarray | None = None) -> tuple:
    if truth is None:
        prevalence = np.clip(rng.lognormal(np.log(0.02), 1.0, k), 0.001, 0.5)
        truth = (rng.random((n, k)) < prevalence).astype(np.int64)
    logits = rng.normal(size=(seeds, n, k)) + 1.5 * truth[None] - 3.0
    return truth, (1 / (1 + np.exp(-logits))).astype(np.float16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=11479)
    parser.add_argument("--labels", type=int, default=87)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--metric", default="roc_auc", choices=["roc_auc", "pr_auc"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from benchmark.probe import predictions
    from benchmark.stats.scores import paired_test

    rng = np.random.default_rng(0)
    truth, scores_a = make(rng, args.clips, args.labels, args.seeds)
    _, scores_b = make(rng, args.clips, args.labels, args.seeds, truth)
    ids = [f"clip{i:06d}" for i in range(args.clips)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.predictions.npz"
        predictions.save_split(path, "test", list(range(args.seeds)),
                               [predictions.entry(ids, truth, scores_a[s]) for s in range(args.seeds)])
        size = path.stat().st_size
    print(f"shape {args.clips} clips x {args.labels} outputs x {args.seeds} seeds: predictions file "
          f"{size / 2 ** 20:.1f} MiB (float16, compressed .npz; raw float16 {scores_a.nbytes / 2 ** 20:.1f} MiB)")

    def record(name: str, scores: np.ndarray) -> dict:
        held = {"ids": np.array(ids), "truth": truth, "seeds": np.arange(args.seeds), "scores": scores}
        return {"embedder": {"name": name}, "task": {"name": "mtg-genre", "kind": "multilabel", "metrics": [args.metric]},
                "scores": [{"split": "test", "seed": s, "metrics": {args.metric: 0.8}} for s in range(args.seeds)],
                "_predictions": {"test": held}}

    a, b = record("A", scores_a), record("B", scores_b)
    with threadpool_limits(args.threads):
        started, cpu = time.perf_counter(), time.process_time()
        result = paired_test(a, b, args.metric)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"paired bootstrap over test clips, {args.metric}, 2000 resamples: {seconds:.1f} s per comparison "
          f"({args.threads} threads; CPU time {cpu:.1f} s; load average {load:.1f} on {os.cpu_count()} cores); "
          f"diff {100 * result['diff']:+.2f} points, 95% CI [{100 * result['ci95'][0]:+.2f}, "
          f"{100 * result['ci95'][1]:+.2f}], p = {result['p_value']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
