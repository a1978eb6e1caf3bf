"""The us8k-tag task and the contextual tag encoders: counts, protocol-file lookup, golden parity,
unknown-tag handling and a user word2vec model."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmark.core.errors import BenchError, DataMissingError, WeightsError
from embedders import EMBEDDERS
from tasks import TASKS
from tasks.us8k_tag import US8KTag

US8K_FOLDS = [873, 888, 925, 990, 936, 823, 838, 806, 816, 837]
TAGGED_FOLDS = [825, 813, 901, 856, 915, 746, 804, 788, 779, 824]  # after excluding untagged sounds
GOLDEN = {"w2v-128-mean-tags": "mean", "w2v-128-1h-tags": "selfatt1h", "w2v-128-4h-tags": "selfatt4h"}


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")


@pytest.fixture
def weights(shared, monkeypatch, offline):
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(shared / "weights"))
    return shared / "weights"


@pytest.fixture
def data_home(shared, tmp_path):
    """<data_home>/urbansound8k with the official metadata CSV and, in the dataset folder, the tag files."""
    root = tmp_path / "urbansound8k"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata" / "UrbanSound8K.csv").symlink_to(shared / "fixtures/soundata/urbansound8k/metadata/UrbanSound8K.csv")
    for name in ("US8K_tag_vectors.json", "id2token_top_1000.json"):
        (root / name).symlink_to(shared / "protocol/us8k_tags" / name)
    return tmp_path


def _tags_by_fsid(shared: Path) -> tuple[dict, dict]:
    vectors = json.loads((shared / "protocol/us8k_tags/US8K_tag_vectors.json").read_text())
    id2token = json.loads((shared / "protocol/us8k_tags/id2token_top_1000.json").read_text())
    return vectors, id2token


# -- task ------------------------------------------------------------------------------------
def test_us8k_tag_counts_and_folds(shared, data_home, offline):
    import pandas as pd

    meta = pd.read_csv(data_home / "urbansound8k/metadata/UrbanSound8K.csv")
    assert len(meta) == 8732
    assert meta["fold"].value_counts().sort_index().tolist() == US8K_FOLDS

    task = TASKS.create("us8k-tag")
    assert task.input_kind == "tags" and task.kind == "multiclass" and len(task.labels) == 10
    clips = task.clips(data_home / "urbansound8k")
    assert len(clips) == 8251 and task.excluded_without_tags == 481
    assert len(clips) + task.excluded_without_tags == 8732
    assert task.notes() == {"excluded_without_tags": 481}
    per_fold = Counter(c.group for c in clips)
    assert [per_fold[str(k)] for k in range(1, 11)] == TAGGED_FOLDS
    assert all(c.tags and c.path is None for c in clips)
    # tags in vocabulary order, as the authors' encode_tags.py feeds them
    first = next(c for c in clips if c.id == "100032-3-0-0.wav")
    assert first.target == "dog_bark" and first.tags == ("animal", "bark", "dog") and first.group == "5"

    splits = task.splits(clips)
    assert len(splits) == 10
    for k, split in enumerate(splits):
        assert len(split.test) == TAGGED_FOLDS[k]
        assert len(split.valid) == TAGGED_FOLDS[(k + 1) % 10]
        assert sum(split.sizes()) == 8251 and split.valid_from_train
        assert not set(split.test) & (set(split.train) | set(split.valid))
    targets = task.encode_targets(clips)
    assert targets.shape == (8251,) and set(targets.tolist()) == set(range(10))

    report = task.check(data_home / "urbansound8k")
    assert report.ok, report.format()
    assert report.split_sizes == task.expected_splits


def test_protocol_files_from_the_cache(shared, tmp_path, offline):
    root = tmp_path / "urbansound8k"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata/UrbanSound8K.csv").symlink_to(shared / "fixtures/soundata/urbansound8k/metadata/UrbanSound8K.csv")
    cache = Path(os.environ["BENCH_CACHE_DIR"]) / "protocol/urbansound8k"
    cache.mkdir(parents=True)
    task = US8KTag()
    assert task.protocol_files(root) == {"US8K_tag_vectors.json": None, "id2token_top_1000.json": None}
    with pytest.raises(DataMissingError) as err:
        task.clips(root)
    message = str(err.value)
    assert "US8K_tag_vectors.json" in message and "raw.githubusercontent.com/xavierfav" in message
    assert str(cache / "US8K_tag_vectors.json") in message and str(root / "US8K_tag_vectors.json") in message
    report = task.check(root)
    assert not report.ok and "INCOMPLETE" in report.format()

    for name in ("US8K_tag_vectors.json", "id2token_top_1000.json"):
        (cache / name).symlink_to(shared / "protocol/us8k_tags" / name)
    assert task.protocol_files(root)["US8K_tag_vectors.json"] == str(cache / "US8K_tag_vectors.json")
    assert len(task.clips(root)) == 8251


def test_corrupt_protocol_file_is_refused(data_home, tmp_path, offline):
    root = tmp_path / "other" / "urbansound8k"
    (root / "metadata").mkdir(parents=True)
    (root / "metadata/UrbanSound8K.csv").symlink_to(data_home / "urbansound8k/metadata/UrbanSound8K.csv")
    (root / "US8K_tag_vectors.json").write_text("{}")
    with pytest.raises(BenchError, match="does not match the published file"):
        US8KTag().clips(root)


def test_missing_metadata(tmp_path, offline):
    with pytest.raises(DataMissingError, match="urbansound8k"):
        US8KTag().clips(tmp_path / "urbansound8k")
    (tmp_path / "urbansound8k").mkdir()
    with pytest.raises(DataMissingError, match="UrbanSound8K.csv"):
        US8KTag().clips(tmp_path / "urbansound8k")


# -- embedders -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_parity(shared, weights, name):
    golden = np.load(shared / f"golden/w2v128-tags-{GOLDEN[name]}.npz")
    vectors, id2token = _tags_by_fsid(shared)
    fsids = [key.rsplit(".", 1)[0] for key in golden.files if key.endswith(".embedding")]
    assert len(fsids) >= 20
    batch = [tuple(id2token[str(i)] for i, on in enumerate(vectors[f]) if on) for f in fsids]
    for fsid in fsids:  # the golden inputs are the first ten vocabulary ids, +1, zero-padded
        ids = [i + 1 for i, on in enumerate(vectors[fsid]) if on][:10]
        assert golden[f"{fsid}.tag_idxs"].tolist() == ids + [0] * (10 - len(ids))

    embedder = EMBEDDERS.create(name, device="cpu")
    assert embedder.input_kind == "tags" and embedder.dim == 128
    out = embedder.embed(batch)
    assert all(o.shape == (1, 128) and o.dtype == np.float32 for o in out)
    expected = np.stack([golden[f"{f}.embedding"] for f in fsids])
    np.testing.assert_allclose(np.concatenate(out), expected, rtol=1e-5, atol=1e-5)
    assert embedder.notes()["unknown_tags_dropped"] == 0
    config = embedder.config()
    assert config["weights_sha256"] == embedder.sha256 and len(config["vocab_sha256"]) == 64


def test_checkpoint_table_is_the_published_matrix(shared, weights):
    embedder = EMBEDDERS.create("w2v-128-mean-tags", device="cpu")
    embedder.ensure_loaded()
    matrix = np.load(shared / "weights/ae-w2v-attention/embedding_matrix_128.npy")
    np.testing.assert_array_equal(embedder.net.embeddings.weight.detach().numpy(), matrix.astype(np.float32))
    np.testing.assert_array_equal(embedder.vectors["dog"], matrix[embedder.vectors.key_to_index["dog"] + 1])


def test_unknown_tags_are_dropped_and_counted(weights):
    embedder = EMBEDDERS.create("w2v-128-4h-tags", device="cpu")
    known = ("bark", "dog", "street")
    with_unknown, plain, none_known = embedder.embed([("bark", "qqq-not-a-tag", "dog", "street"), known, ("zzz1", "zzz2")])
    np.testing.assert_array_equal(with_unknown, plain)
    assert embedder.unknown_tags == Counter({"qqq-not-a-tag": 1, "zzz1": 1, "zzz2": 1})
    notes = embedder.notes()
    assert notes["unknown_tags_dropped"] == 3 and notes["sounds_without_known_tags"] == 1
    # a sound without any known tag gets the encoder's output for an empty input, finite
    np.testing.assert_allclose(none_known[0], embedder.net.layer_norm.bias.detach().numpy(), atol=1e-6)
    # only the first ten known tags count; a space-separated string works too
    many = tuple(embedder.vectors.index_to_key[:14])
    first, ten = embedder.embed([many, many[:10]])
    np.testing.assert_array_equal(first, ten)
    # (batch composition moves the 4-head output by ~1e-6, hence allclose across batches)
    np.testing.assert_allclose(embedder.embed(["bark dog street"])[0], plain, atol=1e-5)
    assert not np.allclose(embedder.embed([known[:2]])[0], plain)


@pytest.mark.parametrize("fmt", ["kv", "txt"])
def test_user_word2vec_embeds_out_of_vocabulary_tags(weights, tmp_path, fmt):
    from gensim.models import KeyedVectors

    base = EMBEDDERS.create("w2v-128-1h-tags", device="cpu")
    reference = base.embed([("dog", "bark")])[0]
    tiny = KeyedVectors(vector_size=128)
    base.ensure_loaded()
    tiny.add_vectors(["doggo", "woof"], np.stack([base.vectors["dog"], base.vectors["bark"] * 0.5]))
    path = tmp_path / f"tiny.{fmt}"
    tiny.save(str(path)) if fmt == "kv" else tiny.save_word2vec_format(str(path), binary=False)

    user = EMBEDDERS.create("w2v-128-1h-tags", device="cpu", word2vec=str(path))
    out = user.embed([("doggo", "bark"), ("dog", "bark"), ("woof", "dog")])
    np.testing.assert_allclose(out[0], reference, atol=1e-6)  # OOV tag embedded by the user model
    # vocabulary tags keep the checkpoint's table; a batch of 3 vs 1 changes float32 bits (AVX2 CPUs)
    np.testing.assert_allclose(out[1], reference, rtol=0, atol=1e-5)
    assert not np.allclose(out[2], reference, atol=1e-3)
    assert user.notes()["unknown_tags_dropped"] == 0
    assert user.config()["word2vec_sha256"] != base.config().get("word2vec_sha256")


def test_user_word2vec_of_the_wrong_size(weights, tmp_path):
    from gensim.models import KeyedVectors

    tiny = KeyedVectors(vector_size=8)
    tiny.add_vectors(["x"], np.ones((1, 8), dtype=np.float32))
    tiny.save(str(tmp_path / "small.kv"))
    embedder = EMBEDDERS.create("w2v-128-mean-tags", device="cpu", word2vec=str(tmp_path / "small.kv"))
    with pytest.raises(BenchError, match="8-d vectors"):
        embedder.embed([("dog",)])
    with pytest.raises(BenchError, match="not found"):
        EMBEDDERS.create("w2v-128-mean-tags", device="cpu", word2vec=str(tmp_path / "absent.kv")).embed([("dog",)])


def test_weights_missing_offline_say_where(offline):
    with pytest.raises(WeightsError) as err:
        EMBEDDERS.create("w2v-128-4h-tags", device="cpu").embed([("dog",)])
    assert "saved_models/ae_w2v_128_selfatt_c_4h/tag_encoder_att_epoch_200.pt" in str(err.value)
    with pytest.raises(WeightsError, match="--weights"):
        EMBEDDERS.create("w2v-1152-1h-tags", device="cpu").embed([("dog",)])


def test_wrong_checkpoint_is_refused(shared, weights, tmp_path):
    import torch

    one_head = shared / "weights/ae-w2v-attention/ae_w2v_128_selfatt_c_1h/tag_encoder_att_epoch_200.pt"
    with pytest.raises(WeightsError, match="not the published checkpoint"):
        EMBEDDERS.create("w2v-128-mean-tags", device="cpu", weights=str(one_head)).embed([("dog",)])
    with pytest.raises(WeightsError, match="not a 1152-d"):
        EMBEDDERS.create("w2v-1152-1h-tags", device="cpu", weights=str(one_head)).embed([("dog",)])
    # a 1152-d checkpoint (not public) with a stray key: the error lists the keys
    state = {"embeddings.weight": torch.zeros(1001, 1152), "fc.weight": torch.zeros(1152, 1152),
             "layer_norm.weight": torch.ones(1152), "layer_norm.bias": torch.zeros(1152), "w_ks.weight": torch.zeros(1)}
    torch.save(state, tmp_path / "mean1152.pt")
    with pytest.raises(WeightsError, match="unexpected keys: w_ks.weight"):
        EMBEDDERS.create("w2v-1152-mean-tags", device="cpu", weights=str(tmp_path / "mean1152.pt")).embed([("dog",)])
    del state["w_ks.weight"]
    torch.save(state, tmp_path / "mean1152.pt")
    out = EMBEDDERS.create("w2v-1152-mean-tags", device="cpu", weights=str(tmp_path / "mean1152.pt")).embed([("dog",)])
    assert out[0].shape == (1, 1152) and np.isfinite(out[0]).all()
