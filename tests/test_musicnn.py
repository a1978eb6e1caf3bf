"""musicnn as MuLaP uses it: golden parity with the authors' code, weight resolution, MuLaP
checkpoints, and the seeded random baseline."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.data.audio import load_audio
from benchmark.core.errors import WeightsError
from embedders import EMBEDDERS
from embedders.musicnn import CHUNK, PUBLIC, Musicnn

# float32 tolerance: the authors' and our float32 FFTs differ by rounding in quiet bins (<2e-5 on
# outputs of magnitude ~5); a resampler change moves outputs by ~0.4, a missing top_db by >1e-3
RTOL, ATOL = 1e-4, 1e-4

SETS = [  # registered name, variant, golden file, resampler
    ("musicnn-mtat", "mtat", "musicnn-mtat_kaiser_best.npz", "kaiser_best"),
    ("musicnn-jamendo", "jamendo", "musicnn-jamendo_kaiser_best.npz", "kaiser_best"),
    ("musicnn-mtat-soxr", "mtat", "musicnn-mtat.npz", "soxr_hq"),
    ("musicnn-jamendo-soxr", "jamendo", "musicnn-jamendo.npz", "soxr_hq"),
]


@pytest.fixture(scope="module")
def manifest(shared: Path) -> dict:
    return json.loads((shared / "golden" / "MANIFEST.json").read_text())


@pytest.fixture(scope="module")
def clips(shared: Path, manifest: dict) -> dict[str, dict[str, np.ndarray]]:
    """Every golden clip decoded at 16 kHz with each resampler (decoded once for the module)."""
    return {
        res: {name: load_audio(shared / info["source_path"], 16000, res_type=res) for name, info in manifest["clips"].items()}
        for res in ("kaiser_best", "soxr_hq")
    }


def weights_file(shared: Path, variant: str) -> Path:
    return shared / "weights" / PUBLIC[variant][0]


@pytest.mark.parametrize("name,variant,golden,resampler", SETS, ids=[s[0] for s in SETS])
def test_golden_parity(shared, manifest, clips, name, variant, golden, resampler):
    embedder = EMBEDDERS.create(name, weights=str(weights_file(shared, variant)))
    assert embedder.res_type == resampler and embedder.dim == 1506
    ref = np.load(shared / "golden" / golden)
    names = list(manifest["clips"])
    outputs = embedder.embed([clips[resampler][n] for n in names])  # one batch: chunks of all clips together
    for clip, out in zip(names, outputs):
        info = manifest["clips"][clip]["per_embedder"][f"musicnn-{variant}"]
        assert clips[resampler][clip].size == info["input_len"]
        assert out.dtype == np.float32 and out.shape == tuple(info["frames_shape"]) == (info["n_chunks"], 1506)
        np.testing.assert_allclose(out, ref[f"{clip}.frames"], rtol=RTOL, atol=ATOL, err_msg=clip)
        np.testing.assert_allclose(out.mean(axis=0), ref[f"{clip}.embedding"], rtol=RTOL, atol=ATOL, err_msg=clip)
    # the other resampler's golden set is far outside the tolerance: the test tells them apart
    other = "musicnn-%s%s.npz" % (variant, "" if resampler == "kaiser_best" else "_kaiser_best")
    assert not np.allclose(outputs[0], np.load(shared / "golden" / other)[f"{names[0]}.frames"], rtol=RTOL, atol=ATOL)


def test_resampler_changes_cache_key():
    default, fast = Musicnn(variant="mtat"), Musicnn(variant="mtat", resampler="soxr_hq")
    assert default.res_type == "kaiser_best" and fast.res_type == "soxr_hq"
    assert default.config() != fast.config()
    assert default.config()["weights_sha256"] == PUBLIC["mtat"][2]
    with pytest.raises(Exception, match="kaiser_best, soxr_hq"):
        Musicnn(variant="mtat", resampler="linear")


def test_weights_from_bench_weights_dir(shared, manifest, clips, tmp_path, monkeypatch):
    target = tmp_path / PUBLIC["jamendo"][0]
    target.parent.mkdir(parents=True)
    target.symlink_to(weights_file(shared, "jamendo"))
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    embedder = EMBEDDERS.create("musicnn-jamendo")
    clip = "1-104089-A-22"
    (out,) = embedder.embed([clips["kaiser_best"][clip]])
    assert embedder.weights_path() == target
    ref = np.load(shared / "golden" / "musicnn-jamendo_kaiser_best.npz")[f"{clip}.frames"]
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def test_missing_weights_offline_names_url_and_path(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path))
    embedder = EMBEDDERS.create("musicnn-mtat")
    with pytest.raises(WeightsError) as info:
        embedder.embed([np.zeros(16000, np.float32)])
    message = str(info.value)
    assert PUBLIC["mtat"][1] in message
    assert str(tmp_path / "musicnn" / "mtat" / "best_model.pth") in message


def test_wrong_published_file_is_refused(shared):
    embedder = EMBEDDERS.create("musicnn-mtat", weights=str(weights_file(shared, "jamendo")))
    with pytest.raises(WeightsError, match="not the published checkpoint"):
        embedder.ensure_loaded()


def _mulap_checkpoint(shared: Path, path: Path, drop: str | None = None, extra: str | None = None) -> Path:
    """A checkpoint laid out as MuLaP's trainers save it, with the MTAT backbone inside."""
    public = torch.load(weights_file(shared, "mtat"), map_location="cpu", weights_only=True)
    backbone = {k: v for k, v in public.items() if not k.startswith(("dense1.", "bn.", "dense2."))}
    assert len(backbone) == 63
    state = {f"audio_backbone.feature_extractor.{k}": v for k, v in backbone.items() if k != drop}
    if extra:
        state[f"audio_backbone.feature_extractor.{extra}"] = torch.zeros(3)
    state["bert.embeddings.word_embeddings.weight"] = torch.zeros(4, 2)
    state["cls.bi_seq_relationship.weight"] = torch.zeros(2, 2)
    torch.save({"epoch": 3, "state_dict": state, "optimizer": {}}, path)
    return path


def test_mulap_checkpoint_loads_backbone_and_reports_rest(shared, clips, tmp_path):
    path = _mulap_checkpoint(shared, tmp_path / "best_model.pth.tar")
    embedder = EMBEDDERS.create("mulap", weights=str(path))
    clip = "135776-2-0-49"
    (out,) = embedder.embed([clips["kaiser_best"][clip]])
    ref = np.load(shared / "golden" / "musicnn-mtat_kaiser_best.npz")[f"{clip}.frames"]
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    notes = embedder.notes()["musicnn_weights"]
    assert notes["backbone_prefix"] == "audio_backbone.feature_extractor." and notes["backbone_keys"] == 63
    assert notes["ignored_key_groups"] == {"bert": 1, "cls": 1}
    fresh = EMBEDDERS.create("mulap", weights=str(path))  # not loaded (embeddings cached): same report
    assert fresh.notes() == embedder.notes()
    from benchmark.data.fetch import sha256_of

    assert embedder.config()["weights_sha256"] == sha256_of(path)


def test_mulap_wrong_keys_are_listed(shared, tmp_path):
    path = _mulap_checkpoint(shared, tmp_path / "bad.pth.tar", drop="layer2.conv.weight", extra="dense9.weight")
    with pytest.raises(WeightsError) as info:
        EMBEDDERS.create("mulap", weights=str(path)).ensure_loaded()
    assert "missing keys: layer2.conv.weight" in str(info.value)
    assert "unexpected keys: dense9.weight" in str(info.value)


def test_mulap_needs_weights(monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(WeightsError, match="--weights"):
        EMBEDDERS.create("mulap").ensure_loaded()


def _tone(seconds: float, amplitude: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    noise = np.random.default_rng(0).standard_normal(t.size) * 0.01
    return (amplitude * np.sin(2 * np.pi * freq * t) + amplitude * noise).astype(np.float32)


def test_random_baseline_is_seeded_and_deterministic():
    clips = [_tone(0.5, 0.5), _tone(7.0, 1e-3, 880.0)]
    first = EMBEDDERS.create("musicnn-random").embed(clips)
    again = EMBEDDERS.create("musicnn-random").embed(clips)
    other = Musicnn(variant="random", seed=1).embed(clips)
    assert [f.shape for f in first] == [(1, 1506), (2, 1506)]  # short clip padded; 7 s -> 2 chunks, tail dropped
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])
    assert EMBEDDERS.create("musicnn-random").config()["seed"] == 0
    assert "weights_sha256" not in Musicnn(variant="random").config()


def test_chunks_of_a_batch_do_not_interact():
    """The 80 dB floor is per chunk, so a loud clip beside a quiet one changes nothing."""
    embedder = Musicnn(variant="random", chunk_batch=2)
    loud, quiet = _tone(3.0, 0.9), _tone(6.5, 1e-4, 660.0)
    together = embedder.embed([loud, quiet])
    alone = [embedder.embed([loud])[0], embedder.embed([quiet])[0]]
    for a, b in zip(together, alone):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert together[1].shape == (2, 1506) and CHUNK == 48000


# -- the original musicnn (Pons), from the Keras files --------------------------------------------
MTT_GUITAR, MTT_CLASSICAL, MSD_COUNTRY = 0, 1, 36  # indices in musicnn's MTT_LABELS / MSD_LABELS


def _tag_head(weights: dict, frames: np.ndarray) -> np.ndarray:
    """The Keras model's dense head (not part of the embedder) on our features: tag probabilities."""
    x = np.stack([frames[:, :753], frames[:, 753:]], axis=-1).reshape(len(frames), 1506)  # Keras interleaves

    def bn(v, layer):
        p = weights[layer]
        return p["gamma"] * (v - p["moving_mean"]) / np.sqrt(p["moving_variance"] + 1e-3) + p["beta"]

    x = bn(x, "bn_flatpool")
    x = bn(np.maximum(0, x @ weights["dense"]["kernel"] + weights["dense"]["bias"]), "bn_dense")
    return 1 / (1 + np.exp(-(x @ weights["dense_1"]["kernel"] + weights["dense_1"]["bias"])))


def test_pons_mtt_fits_its_checkpoint(shared, clips):
    """No TensorFlow reference here: check our features against the checkpoint's own statistics
    (bn_flatpool's running mean/variance over MTT) and its tag head. A wrong layer order
    (BatchNorm before ReLU) or a wrong log compression fails both thresholds."""
    from embedders.musicnn_keras import _keras_weights

    embedder = EMBEDDERS.create("musicnn-pons-mtt", weights=str(shared / "weights/musicnn_keras/MTT_musicnn.h5"))
    assert embedder.res_type == "kaiser_best"
    names = ["country.00000", "Fl-ord-C4-mf-N-T14d", "1-104089-A-22"]
    outs = embedder.embed([clips["kaiser_best"][n] for n in names])
    assert [o.shape for o in outs] == [(10, 1506), (2, 1506), (1, 1506)]
    weights = _keras_weights(embedder.weights_path())
    x = np.stack([outs[0][:, :753], outs[0][:, 753:]], axis=-1).reshape(-1, 1506).mean(axis=0)
    mean, var = weights["bn_flatpool"]["moving_mean"], weights["bn_flatpool"]["moving_variance"]
    assert np.corrcoef(x, mean)[0, 1] > 0.9
    assert np.median(np.abs((x - mean) / np.sqrt(var))[var > 1e-4]) < 0.6
    assert MTT_GUITAR in np.argsort(-_tag_head(weights, outs[0]).mean(axis=0))[:5]
    assert MTT_CLASSICAL in np.argsort(-_tag_head(weights, outs[1]).mean(axis=0))[:3]
    assert len(embedder.config()["weights_sha256"]) == 64


def test_pons_msd_tags_country_as_country(shared, clips):
    from embedders.musicnn_keras import _keras_weights

    embedder = EMBEDDERS.create("musicnn-pons-msd", weights=str(shared / "weights/musicnn_keras/MSD_musicnn.h5"))
    (out,) = embedder.embed([clips["kaiser_best"]["country.00000"]])
    probs = _tag_head(_keras_weights(embedder.weights_path()), out).mean(axis=0)
    assert MSD_COUNTRY in np.argsort(-probs)[:3]


def test_pons_missing_weights_offline(monkeypatch):
    from embedders.musicnn_keras import PUBLIC as KERAS

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(WeightsError) as info:
        EMBEDDERS.create("musicnn-pons-msd").ensure_loaded()
    assert KERAS["msd"][1] in str(info.value) and "musicnn_keras/MSD_musicnn.h5" in str(info.value)


def test_timbral_branch_inference_shortcut_equals_the_original_order():
    """At inference the frequency max is taken before the frozen BatchNorm and ReLU (with negated
    weights for negative BatchNorm scales); the result equals conv → BN → ReLU → max-pool."""
    import torch.nn.functional as F

    from embedders.musicnn_net import _ConvV

    torch.manual_seed(0)
    branch = _ConvV(32, (38, 7)).eval()
    with torch.no_grad():
        branch.bn.weight.copy_(torch.randn(32))  # about half of the scales negative
        branch.bn.bias.copy_(torch.randn(32))
        branch.bn.running_mean.copy_(0.1 * torch.randn(32))
        branch.bn.running_var.copy_(torch.rand(32) + 0.5)
        x = torch.randn(3, 1, 96, 188)
        full = F.relu(branch.bn(branch.conv(x)))
        want = F.max_pool2d(full, (full.size(2), 1), stride=(full.size(2), 1)).squeeze(2)
        got = branch(x)
    assert (branch.bn.weight < 0).any() and (branch.bn.weight > 0).any()
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    branch.train()
    assert branch(x).shape == want.shape  # the training path keeps the original order
