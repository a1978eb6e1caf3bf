"""Option values checked when the embedder is built, before any extraction: an ill-typed or
out-of-range ``--option`` fails naming the option, the value and what is allowed (issue 19,
item 8); and every embedder takes a 1-sample and a 5 ms clip."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.core.errors import BenchError
from embedders import EMBEDDERS
from embedders.base import flag_option, number_option
from tests.helpers import invoke, write_csv_dataset

transformers = pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
from tests import hf_models  # noqa: E402


@pytest.fixture(autouse=True)
def _offline(hf_offline):
    pass


@pytest.fixture
def models(tiny_hf_models):
    return tiny_hf_models


BAD_NUMBERS = ["abc", "", -1, -0.5, math.nan, "nan", math.inf, "-inf", True, [1], {"a": 1}]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("key", ["pool", "window"])
def test_hf_pool_and_window_refuse_what_is_not_a_number_in_range(models, key, value):
    with pytest.raises(BenchError) as error:
        EMBEDDERS.create(f"hf:{models['wav2vec2-layer']}", **{key: value})
    message = str(error.value)
    assert f"--option {key}={value}" in message and f"{key} takes a number of seconds" in message, message


@pytest.mark.parametrize("value", [0, "0", 0.001, 0.02])  # the tiny models' receptive field: 345 samples
def test_hf_window_below_one_frame_is_refused_naming_the_shortest(models, value):
    with pytest.raises(BenchError, match=rf"--option window={value} is not allowed: window takes .* at least 0\.0215625 \(default 30\)"):
        EMBEDDERS.create(f"hf:{models['hubert']}", window=value)


def test_hf_accepts_edge_values_and_uses_them(models):
    e = EMBEDDERS.create(f"hf:{models['hubert']}", pool=0, window=0.025)
    assert e.pool == 0 and e.window_s == 0.025
    e = EMBEDDERS.create(f"hf:{models['hubert']}", pool="2.5", window=1)
    assert e.pool == 2.5 and e.config()["pool_s"] == 2.5 and e.window_s == 1


@pytest.mark.parametrize("arch", ["ast", "whisper", "clap"])
def test_window_is_refused_for_models_with_a_fixed_input(models, arch):
    with pytest.raises(BenchError, match=r"window=5 would change nothing.*wav2vec2-style models only"):
        EMBEDDERS.create(f"hf:{models[arch]}", window=5)


@pytest.mark.parametrize("value", ["maybe", "2", "on", 3])
def test_trust_remote_code_takes_true_or_false_only(models, value):
    with pytest.raises(BenchError, match=rf"--option trust_remote_code={value} is not allowed: .* true or false"):
        EMBEDDERS.create(f"hf:{models['hubert']}", trust_remote_code=value)


@pytest.mark.parametrize("options, says", [
    ({"hop": "abc"}, "--option hop=abc is not allowed: hop takes a number of seconds"),
    ({"hop": 0}, "--option hop=0 is not allowed"),
    ({"hop": -0.01}, "--option hop=-0.01 is not allowed"),
    ({"hop": "nan"}, "--option hop=nan is not allowed"),
    ({"frame_batch": 0}, "--option frame_batch=0 is not allowed: frame_batch takes a whole number, at least 1"),
    ({"frame_batch": 2.5}, "--option frame_batch=2.5 is not allowed"),
    ({"frame_batch": "abc"}, "--option frame_batch=abc is not allowed"),
])
def test_crepe_options_share_the_same_checks(options, says):
    with pytest.raises(BenchError) as error:
        EMBEDDERS.create("crepe-tiny", **options)
    assert says in str(error.value)


def test_the_helpers_return_the_number_and_the_flag():
    assert number_option({"k": "3"}, "k", 1, minimum=1, integer=True) == 3
    assert number_option({}, "k", 0.5) == 0.5
    with pytest.raises(BenchError, match="k takes a number, above 0 \\(default 1\\)"):
        number_option({"k": 0}, "k", 1, minimum_allowed=False)
    assert flag_option({"f": "TRUE"}, "f") and not flag_option({}, "f") and not flag_option({"f": 0}, "f")


def test_a_bad_value_on_the_command_line_fails_before_any_work(models, tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    for option in ("pool=abc", "pool=-1", "window=0", "window=abc"):
        code, out = invoke("run", "-e", f"hf:{models['wav2vec2-group']}", "-t", f"csv:{csv}", "--seeds", 1,
                           "--option", option, "--cache-dir", tmp_path / "cache", "--results-dir", tmp_path / "results")
        assert code == 2 and f"--option {option} is not allowed" in out and "Traceback" not in out, out
    assert not (tmp_path / "cache").exists() or not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not list((tmp_path / "results").glob("**/*.json"))


SHORT = {"1 sample": 1, "5 ms": 0.005, "24 ms": 0.024}


def _short_clip(sample_rate: int, length: float) -> np.ndarray:
    n = length if isinstance(length, int) else int(length * sample_rate)
    return np.full(n, 0.01, dtype=np.float32)


@pytest.mark.parametrize("arch", hf_models.ARCHITECTURES)
def test_every_hf_family_embeds_a_clip_shorter_than_its_shortest_input(models, arch):
    e = EMBEDDERS.create(f"hf:{models[arch]}", device="cpu")
    e.ensure_loaded()
    clips = [_short_clip(e.sample_rate, n) for n in SHORT.values()] + [_short_clip(e.sample_rate, 1.2)]
    out = e.embed(clips)  # before: AST raised "negative dimensions are not allowed"
    for frames in out:
        assert frames.ndim == 2 and frames.shape[0] >= 1 and frames.shape[1] == e.dim and np.isfinite(frames).all()
    # a short clip is padded alone: the same frames whatever the batch
    alone = e.embed([clips[1]])[0]
    np.testing.assert_allclose(alone, out[1], rtol=1e-4, atol=1e-5)  # float noise of batch shapes


@pytest.mark.parametrize("name", ["mfcc", "crepe-tiny", "musicnn-random"])
def test_built_in_embedders_embed_a_1_sample_and_a_5_ms_clip(name):
    e = EMBEDDERS.create(name, device="cpu")
    e.ensure_loaded()
    for frames in e.embed([_short_clip(e.sample_rate, n) for n in SHORT.values()]):
        assert frames.ndim == 2 and frames.shape[0] >= 1 and frames.shape[1] == e.dim and np.isfinite(frames).all()
