"""The hf: adapter on tiny random models built from configs (no hub, no network)."""
from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")

from benchmark.core.errors import BenchError, WeightsError  # noqa: E402
from embedders import EMBEDDERS  # noqa: E402
from tests import hf_models  # noqa: E402
from tests.helpers import run_bench, write_csv_dataset  # noqa: E402

# expected hidden-state widths of the tiny models (tests/hf_models.py)
WIDTHS = {a: [16, 16, 16] for a in hf_models.ARCHITECTURES} | {"clap": [16, 32, 32]}


@pytest.fixture(autouse=True)
def _offline(hf_offline):
    pass


@pytest.fixture
def models(tiny_hf_models):
    return tiny_hf_models


def _clips(sr: int, seconds=(0.6, 1.3, 0.6, 0.25, 2.4, 1.3)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(int(s * sr))).astype(np.float32) for s in seconds]


def _embedder(folder, **options):
    e = EMBEDDERS.create(f"hf:{folder}", device="cpu", **options)
    e.ensure_loaded()
    return e


@pytest.mark.parametrize("arch", hf_models.ARCHITECTURES)
def test_batched_equals_one_at_a_time(models, arch):
    """Clips of different lengths, longer than one window too: one batch gives every clip the
    frames it gets alone (padding in a batch measured up to 2.7 off for group-norm encoders)."""
    e = _embedder(models[arch], pool="0")
    assert e.layer_dims == WIDTHS[arch] and e.dim == sum(WIDTHS[arch]) and e.layer_ids == [0, 1, 2]
    clips = _clips(e.sample_rate)
    batched = e.embed(clips)
    alone = [e.embed([c])[0] for c in clips]
    for b, a in zip(batched, alone):
        assert b.shape == a.shape and b.shape[1] == e.dim
        np.testing.assert_allclose(b, a, atol=1e-4, rtol=0)
    # longer clips get more frames (Whisper/AST: cropped to the clip, not the padded input)
    assert batched[4].shape[0] > batched[1].shape[0] > batched[0].shape[0]


@pytest.mark.parametrize("arch", ["wav2vec2-group", "ast", "whisper", "clap"])
def test_long_clips_are_windows_concatenated(models, arch):
    e = _embedder(models[arch], pool="0", **({"window": "1"} if arch == "wav2vec2-group" else {}))
    sr = e.sample_rate
    clip = _clips(sr, (2.5,))[0]
    bounds = e.windows(len(clip))
    if arch == "wav2vec2-group":  # 1 s windows; the last 0.5 s joins the second
        assert bounds == [(0, sr), (sr, len(clip))]
    else:
        assert bounds == [(0, sr), (sr, 2 * sr), (2 * sr, len(clip))]
    whole = e.embed([clip])[0]
    parts = np.concatenate([e.embed([clip[a:b]])[0] for a, b in bounds])
    np.testing.assert_allclose(whole, parts, atol=1e-5, rtol=0)


def test_pooling_averages_one_second_bins(models):
    e = _embedder(models["wav2vec2-layer"], pool="0")
    clip = _clips(e.sample_rate, (2.5,))[0]
    frames = e.embed([clip])[0]
    pooled = _embedder(models["wav2vec2-layer"]).embed([clip])[0]  # default pool = 1 s
    n = frames.shape[0]
    centres = (np.arange(n) + 0.5) * len(clip) / n / e.sample_rate
    expected = np.stack([frames[np.floor(centres) == k].mean(axis=0) for k in range(3)])
    assert pooled.shape == (3, e.dim)
    np.testing.assert_allclose(pooled, expected, atol=1e-5)


def test_cache_key_follows_content_layers_pooling_and_windows(models, tmp_path):
    folder = models["hubert"]
    base = EMBEDDERS.create(f"hf:{folder}").config()
    copy = shutil.copytree(folder, tmp_path / "elsewhere")
    assert EMBEDDERS.create(f"hf:{copy}").config() == base  # the content, not the path
    other = hf_models.build("hubert", tmp_path / "reseeded", seed=1)
    assert EMBEDDERS.create(f"hf:{other}").config()["source"] != base["source"]
    for option in ({"layers": "1,2"}, {"pool": "0"}, {"window": "10"}):
        assert EMBEDDERS.create(f"hf:{folder}", **option).config() != base, option
    stored = EMBEDDERS.create(f"hf:{folder}", layers="-1")
    assert stored.layer_ids == [2] and stored.dim == 16


def test_hub_snapshot_keyed_by_commit(models, tmp_path, monkeypatch):
    """A model id resolves offline to its snapshot in the Hugging Face cache; the commit is the key."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--someone--tiny-w2v"
    shutil.copytree(models["wav2vec2-layer"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    e = EMBEDDERS.create("hf:someone/tiny-w2v")
    assert e.config()["source"] == {"model_id": "someone/tiny-w2v", "commit": commit}
    assert e.config()["name"] == "hf:someone/tiny-w2v"
    assert e.name == "hf:someone/tiny-w2v"


def test_missing_model_offline_says_where_it_looked_and_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(WeightsError) as info:
        EMBEDDERS.create("hf:facebook/wav2vec2-base")
    message = str(info.value)
    assert "facebook/wav2vec2-base" in message and str(tmp_path / "hub") in message
    assert "hf download facebook/wav2vec2-base" in message and "local folder" in message


def test_missing_model_offline_on_the_command_line_has_no_traceback(tmp_path, monkeypatch):
    import cli

    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    result = CliRunner().invoke(cli.cli, ["run", "-e", "hf:facebook/wav2vec2-base", "-t", f"csv:{csv}"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "hf download facebook/wav2vec2-base" in result.output


def test_remote_code_is_never_enabled_silently(models, tmp_path):
    folder = shutil.copytree(models["hubert"], tmp_path / "custom")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "modeling_x.XModel"}}))
    with pytest.raises(BenchError, match="trust_remote_code=true"):
        EMBEDDERS.create(f"hf:{folder}")


def test_without_transformers_says_what_to_install(monkeypatch, models):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(BenchError, match=r'pip install -e "\.\[hf\]"'):
        EMBEDDERS.create(f"hf:{models['hubert']}")


def test_bad_options_and_layers(models):
    with pytest.raises(BenchError, match="did you mean 'revision'"):
        EMBEDDERS.create(f"hf:{models['hubert']}", revison="main")
    with pytest.raises(BenchError, match="layers 0..2"):
        EMBEDDERS.create(f"hf:{models['hubert']}", layers="5")


def test_run_on_a_csv_task(models, tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    record = run_bench(f"hf:{models['wav2vec2-layer']}", f"csv:{csv}", seeds=1, protocol="linear")
    # every layer is stored (3 x 16 columns); the run probes the last one unless --layer says otherwise
    assert record["status"] == "complete" and record["embedder"]["dim"] == 16 and record["embedder"]["layer"] == 2
    assert record["embedder"]["config"]["family"] == "wave"
