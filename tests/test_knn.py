"""The kNN protocol: known answers, blockwise = all at once, scikit-learn agreement, a real run."""
import numpy as np

from benchmark.knn import features, knn_predict, neighbours, vote
from benchmark.protocols import KNN, PROTOCOLS
from tests.helpers import run_bench, write_csv_dataset


def test_known_answer_by_hand():
    # unit vectors at known angles; no standardisation, so similarities are the cosines
    angles = np.radians([0, 10, 20, 90, 180])
    train = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.array([0, 0, 1, 1, 2])
    test = np.array([[1.0, 0.0]])
    out = knn_predict("multiclass", train, y, test, k=3, temperature=0.5, n_outputs=3, standardize=False)
    w = np.exp(np.cos(np.radians([0, 10, 20])) / 0.5)
    expected = np.array([w[0] + w[1], w[2], 0.0]) / w.sum()
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)
    # regression: the weighted mean of the same three neighbours' targets
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    reg = knn_predict("regression", train, values[:, None], test, k=3, temperature=0.5, standardize=False)
    np.testing.assert_allclose(reg[0, 0], (w * values[:3]).sum() / w.sum(), rtol=1e-6)
    # multilabel: the weighted average of the neighbours' 0/1 label vectors
    Y = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0]])
    ml = knn_predict("multilabel", train, Y, test, k=3, temperature=0.5, standardize=False)
    np.testing.assert_allclose(ml[0], [(w[0] + w[1]) / w.sum(), (w[1] + w[2]) / w.sum()], rtol=1e-6)


def test_temperature_sharpens_the_vote():
    train = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    y = np.array([0, 1, 1])
    test = np.array([[1.0, 0.02]])
    hot = knn_predict("multiclass", train, y, test, k=3, temperature=10.0, standardize=False)
    cold = knn_predict("multiclass", train, y, test, k=3, temperature=0.01, standardize=False)
    assert hot[0].argmax() == 1 and cold[0].argmax() == 0  # the majority when flat, the nearest when sharp


def test_blockwise_equals_all_at_once():
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((300, 16)), rng.standard_normal((97, 16))
    y = rng.integers(0, 5, 300)
    a, b = features(train, test)
    whole = neighbours(a, b, 10, block=10_000)
    for block in (1, 7, 50):
        s, i = neighbours(a, b, 10, block=block)
        np.testing.assert_array_equal(i, whole[1])
        np.testing.assert_allclose(s, whole[0], atol=1e-6)
    np.testing.assert_allclose(vote("multiclass", *whole, y, 0.07, 5),
                               knn_predict("multiclass", train, y, test, block=3), atol=1e-6)


def test_ties_go_to_the_lower_index_in_any_block():
    train = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]])  # six equal neighbours for k=3
    test = np.array([[1.0, 0.0], [1.0, 0.0]])
    for block in (1, 2):
        _, idx = neighbours(train, test, 3, block=block)
        assert idx.tolist() == [[0, 1, 2], [0, 1, 2]]


def test_agrees_with_scikit_learn():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    centres = rng.standard_normal((4, 12)) * 2
    y = rng.integers(0, 4, 400)
    X = centres[y] + rng.standard_normal((400, 12))
    train, test, y_train, y_test = X[:300], X[300:], y[:300], y[300:]
    ours = knn_predict("multiclass", train, y_train, test).argmax(axis=1)
    scaler = StandardScaler().fit(train)
    sk = KNeighborsClassifier(n_neighbors=10, metric="cosine", algorithm="brute",
                              weights=lambda d: np.exp((1 - d) / 0.07)).fit(scaler.transform(train), y_train)
    theirs = sk.predict(scaler.transform(test))
    assert (ours == theirs).mean() == 1.0
    assert (ours == y_test).mean() > 0.8


def test_protocol_is_registered_and_keeps_other_keys():
    assert PROTOCOLS.create("knn").probe == "knn" and KNN.k == 10 and KNN.temperature == 0.07
    assert "k" not in PROTOCOLS.create("coala").to_dict()  # unset variant fields stay out of run keys


def test_run_records_one_seed_and_says_why(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    record = run_bench("mfcc", f"csv:{csv}", protocol="knn", seeds=10)
    assert record["seeds"] == [0] and "deterministic" in record["notes"]["seeds"]
    assert record["protocol"]["k"] == 10 and record["summary"]["accuracy"]["n_seeds"] == 1
    assert record["summary"]["accuracy"]["mean"] > 0.9  # two well separated pitch classes
    again = run_bench("mfcc", f"csv:{csv}", protocol="knn", seeds=10)
    assert again["run_key"] == record["run_key"] and again["scores"] == record["scores"]
