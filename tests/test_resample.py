"""bench's matrix-product resampling equals resampy's kaiser filters (what librosa.load runs)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from benchmark.data import resample
from benchmark.data.audio import load_audio

PAIRS = [  # (from, to, filter): the decodes the embedders do, plus upsampling and a 1/3 ratio
    (22050, 16000, "kaiser_best"), (44100, 16000, "kaiser_best"), (44100, 22000, "kaiser_fast"),
    (48000, 16000, "kaiser_best"), (8000, 16000, "kaiser_best"), (16000, 22050, "kaiser_fast"),
]


def _signal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (0.3 * np.sin(0.01 * t) + 0.2 * rng.standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("orig,target,filt", PAIRS)
@pytest.mark.parametrize("n", [3 * 44100 + 7, 1000, 37])
def test_equals_resampy_to_float32_rounding(orig, target, filt, n):
    import librosa

    y = _signal(n)
    want = librosa.resample(y, orig_sr=orig, target_sr=target, res_type=filt)
    got = resample.resample(y, orig, target, filt)
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    # resampy accumulates in float32, bench in float64: they differ by float32 rounding only
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * float(np.abs(want).max()))


def test_rounded_positions_follow_resampy():
    """44.1 -> 22 kHz: resampy's float positions fall just below integers hundreds of times in 3 s;
    a wrong decomposition there would be off by ~1e-3, far outside the tolerance above."""
    import librosa

    y = _signal(3 * 44100, seed=1)
    plan = resample._plan(44100, 22000, "kaiser_fast")
    t = np.arange(int(y.size * 22000 / 44100))
    assert ((t * plan.time_increment).astype(np.int64) != (t * plan.down) // plan.up).sum() > 100
    want = librosa.resample(y, orig_sr=44100, target_sr=22000, res_type="kaiser_fast")
    np.testing.assert_allclose(resample.resample(y, 44100, 22000, "kaiser_fast"), want, rtol=0, atol=2e-6)


def test_awkward_ratio_falls_back_to_resampy():
    import librosa

    y = _signal(5000)
    assert resample._plan(44100, 16001, "kaiser_best") is None
    np.testing.assert_array_equal(resample.resample(y, 44100, 16001, "kaiser_best"),
                                  librosa.resample(y, orig_sr=44100, target_sr=16001, res_type="kaiser_best"))
    assert resample.resample(y, 16000, 16000, "kaiser_best") is y
    with pytest.raises(ValueError, match="kaiser_best"):
        resample.resample(y, 44100, 16000, "soxr_hq")


def test_load_audio_uses_it_and_matches_librosa_load(tmp_path):
    import librosa

    path = tmp_path / "stereo.wav"
    stereo = np.stack([_signal(22050 * 2), _signal(22050 * 2, seed=3)], axis=1)
    sf.write(path, stereo, 22050, subtype="PCM_16")
    got = load_audio(path, 16000, offset=0.25, duration=1.0, res_type="kaiser_best")
    want, _ = librosa.load(path, sr=16000, mono=True, offset=0.25, duration=1.0, res_type="kaiser_best")
    assert got.shape == want.shape == (16000,)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
