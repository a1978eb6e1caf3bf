"""Robustness deformations: each changes the audio as specified, deterministically per clip; runs
cache deformed embeddings apart and the robustness table pairs them with the clean run."""
import json

import numpy as np
import pytest

pytest.importorskip("audiomentations", reason="the deformations need audiomentations (setup.cfg dependency)")

from benchmark.deform import impulse_response, parse  # noqa: E402
from benchmark.errors import BenchError  # noqa: E402
from tests.helpers import run_bench, write_csv_dataset  # noqa: E402

SR = 22050


def _tone(freq=440.0, seconds=1.0, amp=0.5):
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _db(x):
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2))


def _band_db(x, lo, hi):
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * np.log10(spectrum[(f >= lo) & (f < hi)].sum() + 1e-20)


@pytest.mark.parametrize("color", ["white", "pink"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_noise_at_the_snr_asked(color, snr):
    x = _tone() + 0.2 * _tone(1500)
    y = parse(f"noise:snr={snr:g},color={color}")(x, SR, "clip-1")
    assert abs((_db(x) - _db(y - x)) - snr) < 0.5  # measured on the output
    noise = np.abs(np.fft.rfft(y - x)) ** 2
    low, high = noise[10:1000].mean(), noise[-5000:].mean()
    assert (abs(10 * np.log10(low / high)) < 3) if color == "white" else (10 * np.log10(low / high) > 10)


def test_gain_in_db_and_determinism_per_clip():
    x = _tone()
    np.testing.assert_allclose(parse("gain:db=-6")(x, SR, "a"), x * 10 ** (-6 / 20), rtol=1e-5)
    noise = parse("noise:snr=10")
    assert np.array_equal(noise(x, SR, "a"), noise(x, SR, "a"))  # same clip id: same audio
    assert not np.array_equal(noise(x, SR, "a"), noise(x, SR, "b"))  # another clip: other noise
    before = np.random.get_state()[1].copy()
    noise(x, SR, "a")
    assert np.array_equal(np.random.get_state()[1], before)  # the global generator is left as it was


def test_lowpass_keeps_the_pass_band_and_cuts_the_stop_band():
    x = _tone(200) + _tone(6000)
    y = parse("lowpass:cutoff=1000")(x, SR, "a")
    assert abs(_band_db(y, 150, 250) - _band_db(x, 150, 250)) < 1.0
    assert _band_db(x, 5900, 6100) - _band_db(y, 5900, 6100) > 40  # 2.6 octaves at 24 dB/octave


def test_mp3_really_goes_through_the_encoder(monkeypatch):
    import fast_mp3_augment

    calls = []
    real = fast_mp3_augment.compress_roundtrip

    def spy(samples, **kwargs):
        calls.append(kwargs["bitrate_kbps"])
        return real(samples, **kwargs)

    monkeypatch.setattr(fast_mp3_augment, "compress_roundtrip", spy)
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    y = parse("mp3:bitrate=32")(x, SR, "a")
    assert calls == [32] and y.shape == x.shape
    # LAME at 32 kbit/s low-passes: the top of the white noise's band is gone, the bottom stays
    assert _band_db(x, 9000, 11000) - _band_db(y, 9000, 11000) > 20
    assert abs(_band_db(x, 200, 2000) - _band_db(y, 200, 2000)) < 2


def test_clipping_clips_that_share_of_samples():
    x = _tone() * np.linspace(0.1, 1, SR).astype(np.float32)
    y = parse("clip:percentile=20")(x, SR, "a")
    level = np.abs(y).max()
    assert 0.17 < np.mean(np.abs(x) > level + 1e-6) < 0.23 and np.all(np.abs(y) <= level + 1e-6)


def test_reverb_impulse_response_decays_60_db_in_rt60():
    ir = impulse_response(SR, 0.5, np.random.default_rng(0))
    energy = ir[1:].astype(np.float64) ** 2
    head, tail = energy[:int(0.05 * SR)].mean(), energy[int(0.45 * SR):].mean()
    assert 50 < 10 * np.log10(head / tail) < 65  # 10 ms windows: -54 dB between 25 ms and 475 ms
    x = np.zeros(SR, dtype=np.float32)
    x[100] = 1.0
    y = parse("reverb:rt60=0.5")(x, SR, "a")
    assert np.abs(y[2000:8000]).max() > 1e-3  # the click rings on
    assert np.array_equal(y, parse("reverb:rt60=0.5")(x, SR, "a"))


def test_pitch_shift_by_an_octave():
    y = parse("pitch:semitones=12")(_tone(440), SR, "a")
    f = np.fft.rfftfreq(len(y), 1 / SR)[np.argmax(np.abs(np.fft.rfft(y)))]
    assert abs(f - 880) < 10 and len(y) == SR


def test_specs_parse_canonically_and_errors_help():
    assert parse("noise:snr=10").spec() == "noise:color=white,snr=10"
    assert parse("NOISE: color=pink, snr=10.0").spec() == "noise:color=pink,snr=10"
    with pytest.raises(BenchError, match="Did you mean noise"):
        parse("nois:snr=3")
    with pytest.raises(BenchError, match="give bitrate"):
        parse("mp3")
    with pytest.raises(BenchError, match="one of db"):
        parse("gain:volume=3")


def test_deformed_run_caches_apart_and_the_table_pairs_it(tmp_path):
    from benchmark.robustness import render

    csv = write_csv_dataset(tmp_path / "data")
    cache = tmp_path / "cache"
    clean = run_bench("mfcc", f"csv:{csv}", seeds=2, protocol="knn", cache_dir=str(cache))
    noisy = run_bench("mfcc", f"csv:{csv}", seeds=2, protocol="knn", cache_dir=str(cache), deform="noise:snr=-10")
    assert noisy["protocol"]["deform"] == "noise:color=white,snr=-10" and noisy["run_key"] != clean["run_key"]
    key = noisy["notes"]["deformed_cache_key"]
    assert key != noisy["cache_key"] and (cache / "embeddings" / key).is_dir()
    stored = json.loads((cache / "embeddings" / key / "embedder.json").read_text())
    assert stored["deformation"] == "noise:color=white,snr=-10"
    # 4 folds: every clip is a test clip once, so all 16 clips were embedded deformed
    n_deformed = sum(len(json.loads(p.read_text())["ids"]) for p in (cache / "embeddings" / key).glob("shard-*.json"))
    assert n_deformed == 16
    assert noisy["summary"]["accuracy"]["mean"] < clean["summary"]["accuracy"]["mean"]
    text = render(_results_dir())
    assert "noise:color=white,snr=-10" in text and "drop, points" in text and "no clean run" not in text
    both = run_bench("mfcc", f"csv:{csv}", seeds=2, protocol="knn", cache_dir=str(cache), deform="noise:snr=-10",
                     deform_train=True)
    assert both["run_key"] != noisy["run_key"] and "training clips" in both["notes"]["deform"]


def _results_dir():
    import os

    return os.environ["BENCH_RESULTS_DIR"]
