"""Speed of the ``knn`` protocol against scikit-learn's KNeighborsClassifier, same run, same answers.

US8K-shaped data (benchmarks/probe.py's generator): 8732 clips x 1152 dims, 10 classes, 10 folds;
each fold is the test set once, the other nine train. Both sides get the same standardised
features; scikit-learn runs ``KNeighborsClassifier(n_neighbors=10, metric="cosine",
algorithm="brute", weights=exp((1 - d) / 0.07))``, i.e. the same metric, k and vote as bench's
``knn`` protocol (cosine distance d = 1 - similarity), with its default threads. The script
prints both times per fold in total, the ratio, and each side's accuracy and how many test
predictions differ (ties at the k-th neighbour aside, none should). Run:
python benchmarks/knn.py [--folds 10]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

K, T = 10, 0.07


def main(argv: list[str] | None = None) -> int:
    from probe import DIM, N_CLIPS, machine, make_data
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    from benchmark.probe.knn import knn_predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=10, help="folds to evaluate (of 10)")
    parser.add_argument("--clips", type=int, default=N_CLIPS)
    parser.add_argument("--dim", type=int, default=DIM)
    args = parser.parse_args(argv)
    X, y, folds = make_data(0, args.clips, args.dim)
    print(machine())
    print(f"{args.clips} clips x {args.dim} dims, {args.folds} of 10 folds, k={K}, T={T}")
    ours_s = theirs_s = 0.0
    correct_ours = correct_theirs = differ = n_test = 0
    for fold in range(args.folds):
        train, test = folds != fold, folds == fold
        started = time.perf_counter()
        ours = knn_predict("multiclass", X[train], y[train], X[test], k=K, temperature=T, n_outputs=10).argmax(axis=1)
        ours_s += time.perf_counter() - started

        started = time.perf_counter()
        scaler = StandardScaler().fit(X[train])
        model = KNeighborsClassifier(n_neighbors=K, metric="cosine", algorithm="brute",
                                     weights=lambda d: np.exp((1 - d) / T))
        theirs = model.fit(scaler.transform(X[train]), y[train]).predict(scaler.transform(X[test]))
        theirs_s += time.perf_counter() - started

        correct_ours += int((ours == y[test]).sum())
        correct_theirs += int((theirs == y[test]).sum())
        differ += int((ours != theirs).sum())
        n_test += int(test.sum())
    print(f"sklearn: {theirs_s:.2f} s   accuracy {100 * correct_theirs / n_test:.2f}%")
    print(f"bench:   {ours_s:.2f} s   accuracy {100 * correct_ours / n_test:.2f}%")
    print(f"speed-up over sklearn: {theirs_s / ours_s:.2f}x; predictions differing: {differ} of {n_test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
