"""Robustness deformations of the audio: ``--deform NAME:param=value[,param=value]``.

Library: audiomentations 0.43 (the ``deform`` extra: ``pip install -e ".[deform]"``), chosen over
hand-written DSP or librosa/scipy alone because it is maintained, tested, used for exactly this
(waveform degradations of numpy float32 audio), and ships a real MP3 codec backend:
fast-mp3-augment, which runs the LAME encoder and the minimp3 decoder in memory and removes the
encoder delay and padding, so the output is as long as the input and aligned with it (no temporary
files, no ffmpeg). Each transform is used with its range collapsed to the one value asked for,
and p=1. Pitch shifting is librosa's phase vocoder through audiomentations; the reverb's impulse
response is synthetic (scipy convolution), as audiomentations' own reverb needs recorded impulse
responses on disk.

=========  =======================================  ==================================================
name       parameters                               what
=========  =======================================  ==================================================
noise      snr (dB), color=white|pink               additive noise at that SNR (signal RMS / noise RMS)
gain       db                                       amplitude × 10^(db/20)
lowpass    cutoff (Hz), rolloff=24 (dB/octave)      Butterworth low-pass
mp3        bitrate (kbps)                           LAME encode, decode, same length and rate (a rate
                                                    MP3 lacks, e.g. 22000 Hz, is coded at the next
                                                    MP3 rate up and resampled back with soxr)
clip       percentile (0-100)                       hard clipping at that percentile of |x| (that share
                                                    of the samples is clipped)
reverb     rt60 (s), wet=0.5                        convolution with exponentially decaying noise that
                                                    falls 60 dB in rt60, mixed with the dry signal
pitch      semitones                                pitch shift (librosa phase vocoder), same length
=========  =======================================  ==================================================

Every random draw (noise, the impulse response) is seeded by a sha256 of the deformation and the
clip id (never Python's per-process ``hash()``), so the same clip always gets the same audio, in
any process or node, and two clips get different draws.
"""
from __future__ import annotations

import difflib
import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from benchmark.core.errors import BenchError
from benchmark.core.hashing import stable_hash

INSTALL = ('--deform needs the optional "deform" extra of bench (audiomentations, fast-mp3-augment for LAME, '
           'soxr). Install it with: pip install -e ".[deform]" (from a checkout) or pip install "bench[deform]", '
           "then run the command again.")


def require() -> None:
    """The deformation libraries are importable, else the error says which pip command installs them."""
    try:
        import audiomentations  # noqa: F401
        import fast_mp3_augment  # noqa: F401
        import soxr  # noqa: F401
    except ImportError as exc:
        raise BenchError(f"{INSTALL} ({exc})") from None


def library_versions() -> dict[str, str]:
    """Versions of what makes the deformed audio: part of the deformed embeddings' cache key."""
    from benchmark.core.versions import package_versions

    return package_versions(("audiomentations", "fast-mp3-augment", "soxr", "librosa", "scipy"))


def _noise(x: np.ndarray, sr: int, snr: float, color: str = "white") -> np.ndarray:
    from audiomentations import AddColorNoise

    decay = {"white": 0.0, "pink": -3.01}
    if color not in decay:
        raise BenchError(f"noise: color must be white or pink, not '{color}'.")
    return AddColorNoise(min_snr_db=snr, max_snr_db=snr, min_f_decay=decay[color], max_f_decay=decay[color],
                         p=1.0)(x, sr)


def _gain(x: np.ndarray, sr: int, db: float) -> np.ndarray:
    from audiomentations import Gain

    return Gain(min_gain_db=db, max_gain_db=db, p=1.0)(x, sr)


def _lowpass(x: np.ndarray, sr: int, cutoff: float, rolloff: float = 24) -> np.ndarray:
    from audiomentations import LowPassFilter

    if not 0 < cutoff < sr / 2:
        raise BenchError(f"lowpass: cutoff must lie between 0 and the Nyquist frequency ({sr / 2:g} Hz), not {cutoff}.")
    return LowPassFilter(min_cutoff_freq=cutoff, max_cutoff_freq=cutoff, min_rolloff=int(rolloff),
                         max_rolloff=int(rolloff), p=1.0)(x, sr)


#: the sample rates an MP3 stream can have (MPEG-1, 2 and 2.5)
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _mp3(x: np.ndarray, sr: int, bitrate: float) -> np.ndarray:
    import soxr

    rate = next((r for r in MP3_RATES if r >= sr), MP3_RATES[-1])
    if rate == sr:
        return _mp3_at_rate(x, sr, bitrate)
    # an embedder's rate that MP3 cannot carry (e.g. 22000 Hz): coded at the next MP3 rate up, as a
    # file of the clip would be, then brought back (soxr, very high quality)
    up = soxr.resample(x, sr, rate, quality="VHQ").astype(np.float32)
    return _same_length(soxr.resample(_mp3_at_rate(up, rate, bitrate), rate, sr, quality="VHQ"), len(x))


def _mp3_at_rate(x: np.ndarray, sr: int, bitrate: float) -> np.ndarray:
    from audiomentations import Mp3Compression

    # quality pinned (LAME -q 7, audiomentations' default) so a library default change cannot change the audio;
    # preserve_delay=False: the encoder delay and padding are cut, the output is aligned with the input
    out = Mp3Compression(min_bitrate=int(bitrate), max_bitrate=int(bitrate), backend="fast-mp3-augment",
                         preserve_delay=False, quality=7, p=1.0)(x, sr)
    return _same_length(out, len(x))


def _clip(x: np.ndarray, sr: int, percentile: float) -> np.ndarray:
    from audiomentations import ClippingDistortion

    return ClippingDistortion(min_percentile_threshold=int(percentile), max_percentile_threshold=int(percentile),
                              p=1.0)(x, sr)


def impulse_response(sr: int, rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise under an exponential envelope that falls 60 dB in ``rt60`` seconds, unit energy."""
    if rt60 <= 0:
        raise BenchError(f"reverb: rt60 must be positive (seconds), not {rt60}.")
    t = np.arange(max(1, int(rt60 * sr))) / sr
    ir = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60)  # amplitude -60 dB at t = rt60
    ir[0] = abs(ir[0]) + 1.0  # the direct sound
    return (ir / np.sqrt(np.sum(ir ** 2))).astype(np.float32)


def _reverb(x: np.ndarray, sr: int, rt60: float, wet: float = 0.5) -> np.ndarray:
    from scipy.signal import fftconvolve

    if not 0 <= wet <= 1:
        raise BenchError(f"reverb: wet must be between 0 and 1, not {wet}.")
    ir = impulse_response(sr, rt60, np.random.default_rng(np.random.randint(0, 2 ** 31)))  # seeded per clip
    return ((1 - wet) * x + wet * fftconvolve(x, ir)[:len(x)]).astype(np.float32)


def _pitch(x: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    from audiomentations import PitchShift

    return _same_length(PitchShift(min_semitones=semitones, max_semitones=semitones, method="librosa_phase_vocoder",
                                   p=1.0)(x, sr), len(x))


def _same_length(x: np.ndarray, n: int) -> np.ndarray:
    return x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))


#: name → (function, required parameters, defaults)
KINDS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, ...], dict[str, Any]]] = {
    "noise": (_noise, ("snr",), {"color": "white"}),
    "gain": (_gain, ("db",), {}),
    "lowpass": (_lowpass, ("cutoff",), {"rolloff": 24}),
    "mp3": (_mp3, ("bitrate",), {}),
    "clip": (_clip, ("percentile",), {}),
    "reverb": (_reverb, ("rt60",), {"wet": 0.5}),
    "pitch": (_pitch, ("semitones",), {}),
}


@contextmanager
def _seeded(seed: int):
    """audiomentations draws from the global numpy and ``random`` generators: seed them for one
    call and give back their state, so nothing else's randomness is touched."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed % 2 ** 32)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@dataclass(frozen=True)
class Deformation:
    """One deformation with all its parameters; callable on (audio, sample rate, clip id)."""

    name: str
    params: tuple[tuple[str, Any], ...]

    def spec(self) -> str:
        """The canonical spelling (parameters sorted, defaults included): part of run and cache keys."""
        return f"{self.name}:" + ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params)

    def __call__(self, audio: np.ndarray, sample_rate: int, clip_id: str) -> np.ndarray:
        require()  # a Ray worker on a node without the extra says which pip command, not a bare ImportError
        function = KINDS[self.name][0]
        x = np.ascontiguousarray(audio, dtype=np.float32)
        with _seeded(int(stable_hash(["deform", self.spec(), str(clip_id)], length=15), 16)):
            out = function(x, int(sample_rate), **dict(self.params))
        return np.ascontiguousarray(out, dtype=np.float32)


#: parameters that are whole numbers for the library (audiomentations takes ints for these)
INTEGER = {"bitrate", "percentile", "rolloff"}


def _value(text: str, key: str, value: str) -> Any:
    if key == "color":
        return value.lower()
    try:
        number = float(value)
    except ValueError:
        raise BenchError(f"--deform {text}: {key} must be a number, not '{value}'.") from None
    if key in INTEGER:
        if number != int(number):
            raise BenchError(f"--deform {text}: {key} must be a whole number, not {value}.")
        number = float(int(number))
    if key in ("percentile",) and not 0 <= number < 100:
        raise BenchError(f"--deform {text}: percentile must be in [0, 100), not {value}.")
    if key in ("bitrate", "rt60", "cutoff", "rolloff") and number <= 0:
        raise BenchError(f"--deform {text}: {key} must be positive, not {value}.")
    return number


def parse(text: str) -> Deformation:
    """``noise:snr=10`` → Deformation; errors name the valid deformations and parameters."""
    name, _, rest = str(text).strip().partition(":")
    name = name.strip().lower()
    if name not in KINDS:
        close = difflib.get_close_matches(name, list(KINDS), n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise BenchError(f"Unknown deformation '{name}'.{hint} Known: {', '.join(KINDS)}; e.g. --deform noise:snr=10.")
    _, required, defaults = KINDS[name]
    params: dict[str, Any] = dict(defaults)
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or (key not in required and key not in defaults):
            known = list(required) + list(defaults)
            close = difflib.get_close_matches(key.lower(), known, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise BenchError(f"--deform {text}: '{item}' is not PARAM=VALUE with PARAM one of {', '.join(known)}.{hint} "
                             f"e.g. --deform {name}:" + ",".join(f"{k}=..." for k in required) + ".")
        params[key] = _value(text, key, value.strip())
    missing = [k for k in required if k not in params]
    if missing:
        raise BenchError(f"--deform {text}: give {', '.join(missing)}, e.g. --deform {name}:"
                         + ",".join(f"{k}=..." for k in missing) + ".")
    require()  # after the spelling: a misspelt name is said first, also without the extra
    return Deformation(name, tuple(sorted(params.items())))
