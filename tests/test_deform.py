"""Robustness deformations: each changes the audio as specified, deterministically per clip; runs
cache deformed embeddings apart and the robustness table pairs them with the clean run."""
import json

import numpy as np
import pytest

pytest.importorskip("audiomentations", reason='the deformations need the extra: pip install -e ".[deform]"')

from benchmark.data.deform import impulse_response, parse  # noqa: E402
from benchmark.core.errors import BenchError  # noqa: E402
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


@pytest.mark.parametrize("db", [-6.0, 3.5])
def test_gain_measured_in_db(db):
    x = _tone()
    y = parse(f"gain:db={db}")(x, SR, "a")
    assert abs((_db(y) - _db(x)) - db) < 0.01
    np.testing.assert_allclose(y, x * 10 ** (db / 20), rtol=1e-5)


def test_determinism_per_clip():
    x = _tone()
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


def _spy_on_lame(monkeypatch) -> list[dict]:
    """The keyword arguments of every call to LAME (fast_mp3_augment.compress_roundtrip)."""
    import fast_mp3_augment

    calls: list[dict] = []
    real = fast_mp3_augment.compress_roundtrip

    def spy(samples, **kwargs):
        calls.append(kwargs)
        return real(samples, **kwargs)

    monkeypatch.setattr(fast_mp3_augment, "compress_roundtrip", spy)
    return calls


def test_mp3_really_goes_through_the_encoder(monkeypatch):
    calls = _spy_on_lame(monkeypatch)
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    y = parse("mp3:bitrate=32")(x, SR, "a")
    assert [c["bitrate_kbps"] for c in calls] == [32] and y.shape == x.shape
    # LAME at 32 kbit/s low-passes: the top of the white noise's band is gone, the bottom stays
    assert _band_db(x, 9000, 11000) - _band_db(y, 9000, 11000) > 20
    assert abs(_band_db(x, 200, 2000) - _band_db(y, 200, 2000)) < 2
    # the encoder delay and padding are cut: the output is aligned with the input, not late
    assert _lag(_lowpassed(x), _lowpassed(y)) == 0
    # lossy, not a copy: the coded band differs from the input (quantisation noise), yet resembles it
    residual = _db(_lowpassed(y) - _lowpassed(x)) - _db(_lowpassed(x))
    assert -30 < residual < -3


def test_mp3_at_a_rate_mp3_lacks_is_coded_at_the_next_rate_up(monkeypatch):
    calls = _spy_on_lame(monkeypatch)
    sr = 22000  # mfcc's and coala's rate: no MP3 stream has it
    t = np.arange(sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(1).standard_normal(sr)).astype(np.float32)
    y = parse("mp3:bitrate=32")(x, sr, "a")
    assert [c["sample_rate"] for c in calls] == [22050] and y.shape == x.shape and y.dtype == np.float32
    assert _lag(x, y) == 0 and not np.allclose(x, y, atol=1e-3)


def _lowpassed(x, cutoff=3000):
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(8, cutoff, fs=SR, output="sos"), x)


def _lag(x, y):
    """The shift of y against x at the peak of their cross-correlation (0: aligned)."""
    n = len(x) + len(y)
    corr = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    lag = int(np.argmax(corr))
    return lag if lag < n // 2 else lag - n


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


@pytest.mark.parametrize("semitones", [12, -5, 2])
def test_pitch_shift_moves_a_sine(semitones):
    y = parse(f"pitch:semitones={semitones}")(_tone(440), SR, "a")
    f = np.fft.rfftfreq(len(y), 1 / SR)[np.argmax(np.abs(np.fft.rfft(y)))]
    assert abs(f - 440 * 2 ** (semitones / 12)) < 3 and len(y) == SR  # 1 Hz bins


def _decay_time(y, floor_db=-40.0):
    """Seconds from the peak until the 10 ms energy envelope stays below ``floor_db`` of its peak."""
    hop = int(0.01 * SR)
    energy = np.array([np.sum(y[i:i + hop].astype(np.float64) ** 2) for i in range(0, len(y) - hop, hop)])
    level = 10 * np.log10(energy / energy.max() + 1e-30)
    peak = int(np.argmax(level))
    above = np.nonzero(level[peak:] > floor_db)[0]
    return (above[-1] + 1) * hop / SR


def test_reverb_lengthens_the_decay_by_its_rt60():
    x = np.zeros(2 * SR, dtype=np.float32)
    x[100] = 1.0
    assert _decay_time(x) <= 0.01
    short, long = (_decay_time(parse(f"reverb:rt60={rt60}")(x, SR, "a")) for rt60 in (0.3, 0.9))
    # an exponential decay of 60 dB in rt60 crosses -40 dB near 2/3 rt60 (the noise wobbles)
    assert 0.1 < short < 0.3 and 0.4 < long < 0.8 and long > 2 * short


ALL = ["noise:snr=10", "noise:snr=10,color=pink", "gain:db=-6", "lowpass:cutoff=2000", "mp3:bitrate=32",
       "clip:percentile=20", "reverb:rt60=0.3", "pitch:semitones=3"]
RANDOM = {"noise:snr=10", "noise:snr=10,color=pink", "reverb:rt60=0.3"}  # the others draw nothing


@pytest.mark.parametrize("spec", ALL)
def test_each_deformation_is_the_same_for_a_clip_and_drawn_anew_for_another(spec):
    x = _tone() + 0.1 * np.random.default_rng(3).standard_normal(SR).astype(np.float32)
    deform = parse(spec)
    a, again, b = deform(x, SR, "clip-a"), deform(x.copy(), SR, "clip-a"), deform(x, SR, "clip-b")
    assert a.dtype == np.float32 and a.shape == x.shape and not np.allclose(a, x)
    assert np.array_equal(a, again)
    assert (not np.array_equal(a, b)) if spec in RANDOM else np.array_equal(a, b)


def test_the_seed_is_a_stable_hash_the_same_in_another_process():
    """Not Python's hash(): another interpreter (another PYTHONHASHSEED) draws the same noise."""
    import hashlib
    import os
    import subprocess
    import sys

    code = ("import hashlib, numpy as np; from benchmark.data.deform import parse; "
            "x = (0.5 * np.sin(np.arange(4000) / 7)).astype(np.float32); "
            "print(hashlib.sha256(parse('noise:snr=5,color=pink')(x, 16000, 'clip-7').tobytes()).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    x = (0.5 * np.sin(np.arange(4000) / 7)).astype(np.float32)
    here = hashlib.sha256(parse("noise:snr=5,color=pink")(x, 16000, "clip-7").tobytes()).hexdigest()
    assert out.stdout.strip() == here


def test_specs_parse_canonically_and_errors_help():
    assert parse("noise:snr=10").spec() == "noise:color=white,snr=10"
    assert parse("NOISE: color=pink, snr=10.0").spec() == "noise:color=pink,snr=10"
    with pytest.raises(BenchError, match="Did you mean noise"):
        parse("nois:snr=3")
    with pytest.raises(BenchError, match="give bitrate"):
        parse("mp3")
    with pytest.raises(BenchError, match="one of db"):
        parse("gain:volume=3")
    with pytest.raises(BenchError, match="Did you mean snr"):
        parse("noise:snrr=3")
    with pytest.raises(BenchError, match="must be a number"):
        parse("noise:snr=loud")
    with pytest.raises(BenchError, match="whole number"):
        parse("mp3:bitrate=32.5")
    with pytest.raises(BenchError, match=r"\[0, 100\)"):
        parse("clip:percentile=100")


def test_deformed_run_caches_apart_and_the_table_pairs_it(tmp_path):
    from benchmark.report.robustness_table import render

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
