"""us8k-tag end to end on the real metadata and tags (no audio needed), through the runner."""
import pytest

from tests.helpers import run_bench as run


@pytest.fixture
def tag_data_home(shared, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "urbansound8k"
    (folder / "metadata").mkdir(parents=True)
    (folder / "metadata" / "UrbanSound8K.csv").symlink_to(
        shared / "fixtures" / "soundata" / "urbansound8k" / "metadata" / "UrbanSound8K.csv")
    for name in ("US8K_tag_vectors.json", "id2token_top_1000.json"):
        (folder / name).symlink_to(shared / "protocol" / "us8k_tags" / name)
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(shared / "weights"))
    return tmp_path / "data"


def test_us8k_tag_runs_with_the_real_tag_encoder_and_counts_unknown_tags(tag_data_home):
    record = run("w2v-128-mean-tags", "us8k-tag", seeds=1, data_home=tag_data_home)
    assert [s["n_test"] for s in record["task"]["splits"]] == [825, 813, 901, 856, 915, 746, 804, 788, 779, 824]
    accuracy = 100 * record["summary"]["accuracy"]["mean"]
    assert abs(accuracy - 79.7) < 3.0, accuracy  # paper: 79.7; one seed spreads ~0.5-1 point
    assert record["notes"]["excluded_without_tags"] == 481
    assert record["notes"]["sounds_counted"] == 8251
    again = run("w2v-128-mean-tags", "us8k-tag", protocol="linear", seeds=1, data_home=tag_data_home)  # cached
    assert again["notes"]["sounds_counted"] == 8251
    assert again["notes"]["unknown_tags_dropped"] == record["notes"]["unknown_tags_dropped"]
