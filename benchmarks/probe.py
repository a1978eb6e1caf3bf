"""Speed of the ``coala`` probe: bench's batched seeds against scikit-learn fits one after another.

US8K-shaped data: 8732 clips x 1152 dims, 10 classes, 10 folds x 10 seeds, protocol ``coala``.
The features are clustered Gaussians (class centres plus shared low-rank "nuisance" directions
plus noise) so that the probe neither separates them at once nor fails: the accuracy lands in a
realistic range and training runs a realistic number of epochs before the stopping rule fires.

Both sides get the same float32 standardised features (scikit-learn keeps float32, as in the
authors' scripts) and use the default thread settings. scikit-learn's baseline is
``MLPClassifier(hidden_layer_sizes=(256,), random_state=seed)`` per (fold, seed); timing all 100
takes long, so ``--sklearn-fits K`` times K of them and extrapolates the mean to every fit
(said in the output). ``--folds`` limits the folds bench trains; the bench time is extrapolated
the same way. Run:  python benchmarks/probe.py [--folds 10] [--sklearn-fits 5]

It also prints the ceilings: how fast the step's two large products alone run (float32 and
bfloat16), as a multiple of scikit-learn, the bound no implementation of the step beats.

``--parity-demo CACHE_DIR``: instead, the accuracy parity on real audio features: the MFCCs of
the built-in demo task (5 folds, via the normal extraction and cache), bench ``coala`` against
scikit-learn over the same 10 seeds and folds.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_CLIPS, DIM, N_CLASSES, N_FOLDS = 8732, 1152, 10, 10


def make_data(seed: int = 0, n_clips: int = N_CLIPS, dim: int = DIM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n_clips)
    folds = rng.integers(0, N_FOLDS, n_clips)
    centres = rng.standard_normal((N_CLASSES, dim)) * 0.12
    nuisance = rng.standard_normal((n_clips, 32)) @ rng.standard_normal((32, dim)) * 0.25
    X = centres[y] + nuisance + rng.standard_normal((n_clips, dim))
    return X.astype(np.float32), y, folds


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"load average at start {load:.1f}")


def parity_demo(cache_dir: str, seeds: list[int]) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from benchmark.probe import metrics, mlp as probe
    from benchmark.embed.extract import extract
    from benchmark.probe.protocols import COALA, with_fast_matmul
    from benchmark.embed.store import EmbeddingStore
    from embedders import EMBEDDERS
    from tasks import TASKS

    task = TASKS.create("demo")
    clips = task.clips(task.root(Path(cache_dir), Path(cache_dir)))
    embedder = EMBEDDERS.create("mfcc")
    store = EmbeddingStore(Path(cache_dir), embedder.config())
    extract(embedder, clips, store)
    by_id = {c.id: c for c in clips}
    from benchmark.core.config import cpu_has_bf16_matmul

    protocols = {"bench": COALA}
    if cpu_has_bf16_matmul():
        protocols["bench --fast-matmul"] = with_fast_matmul(COALA)
    ours: dict[str, list] = {name: [] for name in protocols}
    theirs = []
    for split in task.splits(clips):
        train_ids = list(split.train) + (list(split.valid) if split.valid_from_train else [])
        tr, te = [by_id[i] for i in train_ids], [by_id[i] for i in split.test]
        Ftr, ytr = store.get_many(tr), task.encode_targets(tr)
        Fte, yte = store.get_many(te), task.encode_targets(te)
        for name, protocol in protocols.items():
            preds = probe.fit_predict(protocol, "multiclass", (Ftr, ytr), None, Fte, seeds, "accuracy",
                                      n_outputs=len(task.labels))
            ours[name].append([metrics.compute("multiclass", ["accuracy"], yte, preds[s])[0]["accuracy"] for s in seeds])
        Xtr = np.stack([f.reshape(-1, f.shape[-1]).mean(0) for f in Ftr])
        Xte = np.stack([f.reshape(-1, f.shape[-1]).mean(0) for f in Fte])
        scaler = StandardScaler().fit(Xtr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs.append([MLPClassifier(hidden_layer_sizes=(256,), random_state=s).fit(scaler.transform(Xtr), ytr)
                           .score(scaler.transform(Xte), yte) for s in seeds])
        print(f"  {split.name}: " + "  ".join(f"{name} {np.mean(acc[-1]) * 100:.2f}" for name, acc in ours.items())
              + f"  sklearn {np.mean(theirs[-1]) * 100:.2f}", flush=True)
    b = np.mean(theirs) * 100
    for name, acc in ours.items():
        a = np.mean(acc) * 100
        print(f"demo MFCC, {len(acc)} folds x {len(seeds)} seeds: {name} {a:.2f}  sklearn {b:.2f}  "
              f"difference {a - b:+.2f} points")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=N_FOLDS, help="folds bench trains (extrapolated to 10)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sklearn-fits", type=int, default=5, help="scikit-learn fits timed (extrapolated to all)")
    parser.add_argument("--parity-demo", metavar="CACHE_DIR", default=None,
                        help="run the accuracy parity check on the demo task's MFCCs instead")
    parser.add_argument("--clips", type=int, default=N_CLIPS, help="data size (default: US8K's 8732 clips)")
    parser.add_argument("--dim", type=int, default=DIM, help="feature dimension (default: COALA's 1152)")
    parser.add_argument("--no-fast", action="store_true", help="skip timing bench --fast-matmul")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both sides (torch and the BLAS under numpy); default: library defaults")
    args = parser.parse_args(argv)
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    if args.parity_demo:
        parity_demo(args.parity_demo, list(range(args.seeds)))
        return

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from benchmark.probe.protocols import COALA, with_fast_matmul

    X, y, folds = make_data(n_clips=args.clips, dim=args.dim)
    seeds = list(range(args.seeds))
    n_fits = N_FOLDS * len(seeds)
    print(f"machine: {machine()}")
    print(f"data: {args.clips} x {args.dim}, {N_CLASSES} classes, {N_FOLDS} folds x {len(seeds)} seeds = {n_fits} fits, coala")

    from benchmark.core.config import cpu_has_bf16_matmul

    fast = not args.no_fast and cpu_has_bf16_matmul()
    if not args.no_fast and not fast:
        print("bench --fast-matmul: unavailable (this CPU has neither AVX512-BF16 nor AMX); not timed")
    modes = [("bench", COALA)] + ([("bench --fast-matmul", with_fast_matmul(COALA))] if fast else [])
    bench = {name: time_bench(protocol, name, X, y, folds, seeds, args.folds) for name, protocol in modes}

    sk_times, sk_epochs, sk_acc = [], [], []
    pairs = [(k % N_FOLDS, seeds[k % len(seeds)]) for k in range(args.sklearn_fits)]
    for fold, seed in pairs:
        tr, te = folds != fold, folds == fold
        scaler = StandardScaler().fit(X[tr])
        Xtr, Xte = scaler.transform(X[tr]), scaler.transform(X[te])
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier(hidden_layer_sizes=(256,), random_state=seed).fit(Xtr, y[tr])
        sk_times.append(time.perf_counter() - start)
        sk_epochs.append(clf.n_iter_)
        sk_acc.append(clf.score(Xte, y[te]))
        print(f"  sklearn fold {fold + 1} seed {seed}: {sk_times[-1]:.1f} s, {clf.n_iter_} epochs "
              f"(dtype {Xtr.dtype})", flush=True)
    sk_fit, sk_epoch = float(np.mean(sk_times)), float(np.mean(sk_times)) / float(np.mean(sk_epochs))
    print(f"sklearn: {sk_fit * n_fits:8.1f} s for {n_fits} fits (measured {len(sk_times)} fits, mean x{n_fits})"
          f"; {sk_fit:.2f} s/fit, mean {np.mean(sk_epochs):.0f} epochs, accuracy {np.mean(sk_acc) * 100:.2f}")
    for name, (total, epochs, acc) in bench.items():
        extrapolated = f" (measured {args.folds} folds, x{N_FOLDS / args.folds:.1f})" if args.folds != N_FOLDS else ""
        print(f"{name}: {total:8.1f} s for {n_fits} fits{extrapolated}; {total / n_fits:.2f} s/fit, "
              f"mean {np.mean(epochs):.0f} epochs, accuracy {np.mean(acc) * 100:.2f}")
        per_epoch = sk_epoch / (total / n_fits / np.mean(epochs))
        print(f"  speed-up over sklearn: {sk_fit * n_fits / total:.1f}x (per epoch: {per_epoch:.1f}x)")
    steps = -(-int(args.clips * (N_FOLDS - 1) / N_FOLDS) // 200)  # minibatches of 200 per epoch
    for precision in ("ieee", "bf16"):
        seconds = products_per_seed_step(precision, len(seeds), args.dim)
        if seconds:
            print(f"ceiling ({'float32' if precision == 'ieee' else 'bfloat16'} products): the two {args.dim}x256 products "
                  f"of a step alone, at this machine's batched-matmul speed, would be "
                  f"{sk_epoch / steps / seconds:.1f}x sklearn")


def products_per_seed_step(precision: str, n_seeds: int, dim: int = DIM) -> float | None:
    """Seconds per seed of a step's two large products (forward X@W1, gradient X^T@delta) run
    back to back on warm data: the bound no float32 (or bf16) implementation of the step beats."""
    import torch

    from benchmark.core.config import cpu_has_bf16_matmul

    if precision == "bf16" and not cpu_has_bf16_matmul():
        return None
    backend = torch.backends.mkldnn.matmul
    before, backend.fp32_precision = backend.fp32_precision, precision
    try:
        X, W, d = torch.randn(n_seeds, 200, dim), torch.randn(n_seeds, dim, 256), torch.randn(n_seeds, 200, 256)
        for _ in range(3):
            torch.bmm(X, W), torch.bmm(X.transpose(1, 2), d)
        start, repeats = time.perf_counter(), 30
        for _ in range(repeats):
            torch.bmm(X, W), torch.bmm(X.transpose(1, 2), d)
        return (time.perf_counter() - start) / repeats / n_seeds
    finally:
        backend.fp32_precision = before


def time_bench(protocol, name: str, X: np.ndarray, y: np.ndarray, folds: np.ndarray, seeds: list[int],
               n_folds: int) -> tuple[float, list[int], list[float]]:
    """bench's time for all 10 folds (extrapolated from ``n_folds``), its epochs and accuracies."""
    from benchmark.probe import metrics, mlp as probe

    elapsed, epochs, accuracies = 0.0, [], []
    for k in range(n_folds):
        tr, te = folds != k, folds == k
        info: dict = {}
        start = time.perf_counter()
        preds = probe.fit_predict(protocol, "multiclass", ([r[None] for r in X[tr]], y[tr]), None,
                                  [r[None] for r in X[te]], seeds, "accuracy", n_outputs=N_CLASSES, info=info)
        elapsed += time.perf_counter() - start
        epochs += list(info["epochs"].values())
        accuracies += [metrics.compute("multiclass", ["accuracy"], y[te], preds[s])[0]["accuracy"] for s in seeds]
        print(f"  {name} fold {k + 1}: {time.perf_counter() - start:.1f} s for {len(seeds)} seeds, "
              f"epochs {min(info['epochs'].values())}-{max(info['epochs'].values())}", flush=True)
    return elapsed * N_FOLDS / n_folds, epochs, accuracies


if __name__ == "__main__":
    main()
