"""Weights are looked up in the cache the run was given (``--cache-dir``), not only in the default one."""
import shutil

import pytest

import cli
from benchmark.core.errors import WeightsError
from benchmark.embed.build import create_embedder
from benchmark.core.spec import RunEnv, RunSpec

RELATIVE = "musicnn/mtat/best_model.pth"


@pytest.fixture
def own_cache(shared, tmp_path, monkeypatch):
    """A --cache-dir holding the MTAT checkpoint; the default cache ($BENCH_CACHE_DIR) holds nothing."""
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    cache = tmp_path / "my cache"
    (cache / "weights" / RELATIVE).parent.mkdir(parents=True)
    shutil.copy(shared / "weights" / RELATIVE, cache / "weights" / RELATIVE)
    return cache


def test_run_finds_weights_in_its_cache_dir(own_cache):
    embedder = create_embedder(RunSpec("musicnn-mtat", "demo"), cli.registries(), RunEnv(cache_dir=str(own_cache)))
    assert embedder.weights_path() == own_cache / "weights" / RELATIVE
    assert embedder.config()["weights_sha256"].startswith("690ace3b")


def test_default_cache_is_still_searched_without_cache_dir(own_cache):
    embedder = create_embedder(RunSpec("musicnn-mtat", "demo"), cli.registries())
    with pytest.raises(WeightsError, match="musicnn/mtat/best_model.pth"):
        embedder.weights_path()


def test_embed_command_uses_its_cache_dir(own_cache, tmp_path):
    import numpy as np
    import soundfile as sf
    from click.testing import CliRunner

    from embedders.musicnn import DIM

    wav = tmp_path / "tone.wav"
    sf.write(wav, (0.1 * np.sin(np.arange(16000 * 4) * 0.05)).astype("float32"), 16000)
    result = CliRunner().invoke(cli.cli, ["embed", "-e", "musicnn-mtat", str(wav), "-o", str(tmp_path / "out.npy"),
                                          "--cache-dir", str(own_cache)])
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "out.npy").shape[-1] == DIM


def test_missing_weights_message_names_each_place_once(tmp_path, monkeypatch):
    from embedders.weights import resolve_weights

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as caught:
        resolve_weights(None, "coala/x/model.pt", "https://example.org/model.pt", cache=tmp_path)
    text = str(caught.value)
    assert text.count(str(tmp_path / "weights" / "coala" / "x" / "model.pt")) == 1
    assert "https://example.org/model.pt" in text and "--weights PATH" in text and "BENCH_WEIGHTS_DIR" in text
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path / "mine"))
    with pytest.raises(WeightsError, match="mine/coala/x/model.pt"):
        resolve_weights(None, "coala/x/model.pt", "https://example.org/model.pt", cache=tmp_path)
