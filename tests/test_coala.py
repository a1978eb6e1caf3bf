"""COALA / contextual-tag audio encoders against the golden outputs of the authors' code."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.data.audio import load_audio
from benchmark.core.errors import UnknownNameError, WeightsError
from embedders import EMBEDDERS, frontends
from embedders.coala import VARIANTS, CoalaEmbedder
from embedders.coala_net import CoalaAudioEncoder

GOLDEN = [
    ("coala", "coala_audio_encoder_seed0.pt", "coala-random"),
    ("w2v-128-mean", "w2v128_audio_encoder_seed0.pt", "w2v128-random"),
]


@pytest.fixture
def weights_dir(shared: Path, tmp_path: Path, monkeypatch) -> Path:
    """BENCH_WEIGHTS_DIR in tmp holding the public scaler (a symlink into ../shared)."""
    root = tmp_path / "weights"
    (root / "coala").mkdir(parents=True)
    os.symlink(shared / "weights" / frontends.SCALER_PATH, root / frontends.SCALER_PATH)
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(root))
    return root


@pytest.fixture(scope="module")
def clips(request) -> dict[str, np.ndarray]:
    shared = request.getfixturevalue("shared")
    manifest = json.loads((shared / "golden" / "MANIFEST.json").read_text())
    return {
        name: load_audio(shared / info["source_path"], CoalaEmbedder.sample_rate, res_type=CoalaEmbedder.res_type)
        for name, info in manifest["clips"].items()
    }


@pytest.fixture(scope="module")
def resampy_clips(request) -> dict[str, np.ndarray]:
    """The clips decoded as the authors' code does (librosa.load, resampy): the front-end test
    compares spectrogram intermediates, where quiet bins magnify bench's ~1e-7 resampling rounding."""
    import librosa

    shared, manifest = request.getfixturevalue("shared"), request.getfixturevalue("manifest")
    return {
        name: librosa.load(shared / info["source_path"], sr=CoalaEmbedder.sample_rate, res_type=CoalaEmbedder.res_type)[0]
        for name, info in manifest["clips"].items()
    }


@pytest.fixture(scope="module")
def manifest(request) -> dict:
    return json.loads((request.getfixturevalue("shared") / "golden" / "MANIFEST.json").read_text())


def _close(got: np.ndarray, want: np.ndarray) -> None:
    # float32 tolerance, scaled by the magnitude of the reference
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.abs(want).max()))


@pytest.mark.parametrize("variant,weights,golden", GOLDEN)
def test_golden_frames_and_embeddings(variant, weights, golden, shared, weights_dir, clips, manifest):
    ref = np.load(shared / "golden" / f"{golden}.npz")
    embedder = EMBEDDERS.create(variant, weights=str(shared / "golden" / "weights" / weights), device="cpu")
    frames = embedder.embed(list(clips.values()))  # one batch: patches of all clips together
    assert len(frames) == len(clips) == len(manifest["clips"])
    for (name, got), info in zip(zip(clips, frames), manifest["clips"].values()):
        expect = info["per_embedder"][golden]
        assert len(clips[name]) == expect["resampled_len"]
        assert got.shape == tuple(expect["frames_shape"]) == (expect["n_patches"], 1152)
        _close(got, ref[f"{name}.frames"])
        _close(got.mean(axis=0), ref[f"{name}.embedding"])  # the probe's mean pooling
    config = embedder.config()
    assert config["name"] == variant and config["weights_sha256"] and config["scaler_sha256"]


def test_frontend_intermediates(shared, weights_dir, resampy_clips):
    ref = np.load(shared / "golden" / "coala-random.npz")
    scaler = frontends.Scaler(frontends.resolve_scaler())
    names = [n for n in resampy_clips if f"{n}.logmel_patch0_raw" in ref.files]
    assert names
    specs = frontends.log_mel([resampy_clips[n] for n in names])
    raw, scaled = frontends.patches(specs), frontends.patches(specs, scaler)
    for name, spec, r, s in zip(names, specs, raw, scaled):
        assert list(spec.shape) == ref[f"{name}.logmel_shape"].tolist()
        _close(r[0], ref[f"{name}.logmel_patch0_raw"])
        _close(s[0], ref[f"{name}.logmel_patch0_scaled"])


def test_padding_rule():
    short = np.ones(frontends.PAD_SAMPLES, dtype=np.float32)
    padded = frontends.pad_clip(short[:1000])
    assert padded.shape == (frontends.PAD_SAMPLES,) and padded.dtype == np.float32
    noise = 5e-4 * np.random.RandomState(0).rand(frontends.PAD_SAMPLES).astype("float32")
    np.testing.assert_array_equal(padded[1000:], noise[1000:])
    np.testing.assert_array_equal(frontends.pad_clip(short), short + noise)  # exactly 10 s: padded
    longer = np.ones(frontends.PAD_SAMPLES + 1, dtype=np.float32)
    np.testing.assert_array_equal(frontends.pad_clip(longer), longer)  # longer: untouched
    spec = frontends.log_mel([longer])[0]
    assert spec.shape == (96, 1 + longer.size // 512)


def test_log_mel_matches_librosa_across_fft_blocks(monkeypatch):
    import librosa

    monkeypatch.setattr(frontends, "FFT_BLOCK", 100)  # force several FFT blocks per clip
    rng = np.random.RandomState(3)
    clips = [0.1 * rng.randn(n).astype(np.float32) for n in (300000, 5000, 260000)]
    for clip, got in zip(clips, frontends.log_mel(clips)):
        y = frontends.pad_clip(clip)
        mel = librosa.feature.melspectrogram(y=y, sr=22000, n_fft=1024, hop_length=512, n_mels=96, power=1.0, pad_mode="reflect")
        _close(got, np.log(mel + np.finfo(np.float32).eps))


def test_missing_weights_offline_names_url_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path / "w"))
    embedder = EMBEDDERS.create("coala-ec", device="cpu")
    with pytest.raises(WeightsError) as info:
        embedder.embed([np.zeros(22000, dtype=np.float32)])
    message = str(info.value)
    assert VARIANTS["coala-ec"].url in message
    assert str(tmp_path / "w" / "coala" / "dual_e_c" / "audio_encoder_epoch_200.pt") in message
    with pytest.raises(WeightsError, match="--weights"):
        embedder.config()


def test_missing_scaler_names_its_url(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    checkpoint = str(shared / "golden/weights/coala_audio_encoder_seed0.pt")
    embedder = CoalaEmbedder("coala", weights=checkpoint)
    with pytest.raises(WeightsError, match="scaler_top_1000.pkl") as info:
        embedder.ensure_loaded()
    assert frontends.SCALER_URL in str(info.value) and "--weights" not in str(info.value)
    assert str(Path(os.environ["BENCH_CACHE_DIR"]) / "weights" / frontends.SCALER_PATH) in str(info.value)
    with pytest.raises(WeightsError, match="does not exist"):
        CoalaEmbedder("coala", weights=checkpoint, scaler=str(tmp_path / "nope.pkl")).ensure_loaded()


def test_wrong_keys_are_listed(shared, weights_dir, tmp_path):
    state = torch.load(shared / "golden/weights/coala_audio_encoder_seed0.pt", map_location="cpu")
    state["extra.weight"] = state.pop("audio_encoder.4.weight")
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    with pytest.raises(WeightsError) as info:
        CoalaEmbedder("coala", weights=str(bad), device="cpu").ensure_loaded()
    message = str(info.value)
    assert "missing keys: audio_encoder.4.weight" in message and "unexpected keys: extra.weight" in message
    # a COALA checkpoint is not a contextual-tag one: no LayerNorm, other projection width
    with pytest.raises(WeightsError) as info:
        EMBEDDERS.create("w2v-128-4h", weights=str(shared / "golden/weights/coala_audio_encoder_seed0.pt")).ensure_loaded()
    assert "audio_encoder.21.weight" in str(info.value) and "fc_audio.0.weight" in str(info.value)


def test_not_a_checkpoint(weights_dir, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(WeightsError, match="Download it again"):
        CoalaEmbedder("coala", weights=str(junk)).ensure_loaded()


@pytest.mark.parametrize("variant", ["coala-cnn", "w2v-1152-1h"])
def test_other_layouts_load_and_embed(variant, weights_dir, tmp_path):
    spec = VARIANTS[variant]
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    torch.save(CoalaAudioEncoder(spec.layout, spec.projection).state_dict(), path)
    embedder = EMBEDDERS.create(variant, weights=str(path), device="cpu")
    a, b = embedder.embed([np.zeros(5000, np.float32), np.ones(300000, np.float32) * 0.1])
    assert a.shape == (4, 1152) and b.shape == ((1 + 300000 // 512) // 96, 1152)
    assert a.dtype == np.float32 and np.isfinite(b).all()
    assert embedder.config()["layout"] == spec.layout


def test_unknown_variant():
    with pytest.raises(UnknownNameError, match="coala-ec"):
        CoalaEmbedder("coala-xx")


def test_all_variants_registered():
    assert set(VARIANTS) <= set(EMBEDDERS.names())
