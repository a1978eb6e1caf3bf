"""``bench check-embedder``: run an embedder on generated inputs and check its contract.

Audio embedders get clips of 0.1 s, 1 s, 10 s and 30 s; tag embedders (``input_kind = "tags"``)
get tag lists of 1, 3, 10 and 30 common sound words. The inputs go through ``embed()`` as one
batch, twice, then one by one.
Checked: it loads; one output per input; each output a float32 array of shape (n_frames >= 1, dim);
no NaN/inf; the same output on a second run (determinism); the same output alone as in a batch
(no leakage across a batch, e.g. BatchNorm left in training mode); a JSON-serialisable, stable
``config()`` (it is the cache key). Reports throughput in seconds of audio (or inputs) per second.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import BenchError
from benchmark.core.registry import Registries

DURATIONS = (0.1, 1.0, 10.0, 30.0)
TAG_COUNTS = (1, 3, 10, 30)
#: everyday Freesound words, so that any tag vocabulary knows most of them
TAG_WORDS = ("dog", "bark", "street", "car", "engine", "rain", "water", "bird", "voice", "music", "guitar", "drum",
             "wind", "door", "footsteps", "city", "traffic", "siren", "children", "noise", "piano", "birds",
             "night", "field-recording", "ambience", "metal", "glass", "machine", "train", "horn")
#: same-input reruns may differ by this much (some GPU kernels are not bitwise reproducible)
RERUN_RTOL = 1e-5
#: a clip alone vs inside a batch: batched convolutions may sum in another order
BATCH_RTOL = 1e-4


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class CheckReport:
    embedder: str
    checks: list[Check] = field(default_factory=list)
    frames: dict[str, tuple[int, ...]] = field(default_factory=dict)  # input label -> output shape
    audio_seconds: float = 0.0  # for tag embedders: the number of inputs
    embed_seconds: float | None = None
    header: str = ""
    unit: str = "s of audio"

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def throughput(self) -> float | None:
        """Seconds of audio embedded per second of wall time (warm run of the whole batch)."""
        if not self.embed_seconds:
            return None
        return self.audio_seconds / self.embed_seconds

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def format(self) -> str:
        lines = [f"check-embedder {self.embedder}" + (f" ({self.header})" if self.header else "")]
        width = max((len(c.name) for c in self.checks), default=0)
        for c in self.checks:
            detail = c.detail.replace("\n", "\n" + " " * (width + 10))  # keep multi-line messages aligned
            lines.append(f"  {'PASS' if c.ok else 'FAIL'}  {c.name.ljust(width)}  {detail}".rstrip())
        if self.throughput is not None:
            lines.append(
                f"  throughput: {self.throughput:.1f} {self.unit} per second "
                f"({self.audio_seconds:g} {self.unit} in {self.embed_seconds:.3f} s)"
            )
        failed = sum(not c.ok for c in self.checks)
        lines.append("OK: the embedder meets the contract." if self.ok else f"FAILED: {failed} check(s) failed.")
        return "\n".join(lines)


def generated_audio(duration: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A deterministic test signal: a chirp, a few harmonics and seeded noise, peak below 0.6."""
    n = max(1, int(round(duration * sample_rate)))
    t = np.arange(n) / sample_rate
    nyquist = sample_rate / 2
    chirp = np.sin(2 * np.pi * (110 * t + 0.5 * min(2000.0, nyquist / 4) * t**2 / max(duration, 1e-3)))
    tone = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((220.0, 440.0, 880.0), start=1) if f < nyquist)
    noise = np.random.default_rng(seed).standard_normal(n)
    signal = 0.25 * chirp + 0.1 * tone + 0.05 * noise
    return signal.astype(np.float32)


def check_embedder(
    embedder: Any,
    weights: str | None = None,
    device: str | None = None,
    durations: Sequence[float] = DURATIONS,
    registries: Registries | None = None,
) -> CheckReport:
    """Run the checks on ``embedder``: an Embedder instance, or a name resolved with ``registries``."""
    from .checks import check_device

    check_device(device)
    label = embedder if isinstance(embedder, str) else (getattr(embedder, "name", "") or type(embedder).__name__)
    report = CheckReport(str(label))
    if isinstance(embedder, str):
        if registries is None:
            raise TypeError("check_embedder needs the registries to resolve an embedder name")
        kwargs = {k: v for k, v in (("weights", weights), ("device", device)) if v is not None}
        embedder = registries.embedders.create(embedder, **kwargs)  # unknown names raise UnknownNameError
    if not _attributes(report, embedder):
        return report
    if not _guard(report, "load", embedder.ensure_loaded):
        return report
    dim = int(embedder.dim)
    if getattr(embedder, "input_kind", "audio") == "tags":
        clips: list[Any] = [generated_tags(n) for n in TAG_COUNTS]
        labels = [f"{n} tag{'s' if n > 1 else ''}" for n in TAG_COUNTS]
        report.header = f"dim {dim}, tags, device {getattr(embedder, 'device', '?')}"
        report.audio_seconds, report.unit = float(len(clips)), "inputs"
    else:
        sample_rate = int(embedder.sample_rate)
        clips = [generated_audio(d, sample_rate, seed=i) for i, d in enumerate(durations)]
        labels = [f"{d:g} s" for d in durations]
        report.header = f"dim {dim}, {sample_rate} Hz, device {getattr(embedder, 'device', '?')}"
        report.audio_seconds = float(sum(len(c) for c in clips) / sample_rate)
    _config(report, embedder)

    first = _run(report, embedder, clips, "embed (batch)")
    if first is None or not _outputs(report, first, clips, labels, dim):
        return report
    started = time.perf_counter()
    second = _run(report, embedder, clips, "embed (second run)")
    if second is None:
        return report
    report.embed_seconds = time.perf_counter() - started
    if not _outputs(report, second, clips, labels, dim, quiet=True):
        return report
    _compare(report, "determinism", first, second, labels, RERUN_RTOL, "differs on a second run with the same input")
    alone = []
    for clip, label in zip(clips, labels):
        out = _run(report, embedder, [clip], "embed (one input)")
        if out is None or not _outputs(report, out, [clip], [label], dim, quiet=True):
            return report
        alone.append(out[0])
    _compare(report, "batch independence", first, alone, labels, BATCH_RTOL,
             "depends on the other inputs of the batch (BatchNorm in training mode? padding to the longest input?)")
    return report


def generated_tags(count: int) -> tuple[str, ...]:
    """``count`` distinct everyday sound words (cycled with a suffix beyond the list)."""
    return tuple(TAG_WORDS[i % len(TAG_WORDS)] + ("" if i < len(TAG_WORDS) else f"-{i // len(TAG_WORDS)}")
                 for i in range(count))


def _attributes(report: CheckReport, embedder: Any) -> bool:
    problems = []
    try:
        kind = getattr(embedder, "input_kind", "audio")
        if kind not in ("audio", "tags"):
            return report.add("attributes", False, f"input_kind is '{kind}'; expected 'audio' or 'tags'")
        sample_rate = getattr(embedder, "sample_rate", None) if kind == "audio" else None
        dim = getattr(embedder, "dim", None)
    except Exception as exc:  # a property that loads the model may fail here
        return report.add("attributes", False, _describe(exc))
    if kind == "audio" and (not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0):
        problems.append(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not isinstance(dim, (int, np.integer)) or dim <= 0:
        problems.append(f"dim must be a positive int, got {dim!r}")
    found = f"sample_rate {sample_rate}, dim {dim}" if kind == "audio" else f"tags, dim {dim}"
    return report.add("attributes", not problems, "; ".join(problems) or found)


def _config(report: CheckReport, embedder: Any) -> None:
    try:
        first, second = embedder.config(), embedder.config()
        text = json.dumps(first, sort_keys=True)
    except TypeError as exc:
        report.add("config", False, f"config() is not JSON-serialisable ({exc}); it is the cache key")
        return
    except Exception as exc:
        report.add("config", False, _describe(exc))
        return
    if json.dumps(second, sort_keys=True) != text:
        report.add("config", False, "config() changes between calls; it must be a stable cache key")
    else:
        report.add("config", True, f"{len(text)} characters, JSON-serialisable, stable")


def _run(report: CheckReport, embedder: Any, clips: list[np.ndarray], step: str) -> list[Any] | None:
    result: list[Any] = []

    def call() -> None:
        result.append(embedder.embed(list(clips)))

    return result[0] if _guard(report, step, call, quiet=True) else None


def _outputs(
    report: CheckReport, outputs: Any, clips: Sequence[Any], labels: Sequence[str], dim: int, quiet: bool = False,
) -> bool:
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(clips):
        got = f"{len(outputs)} outputs" if isinstance(outputs, (list, tuple)) else f"a {type(outputs).__name__}"
        return report.add("output count", False, f"embed() returned {got} for {len(clips)} inputs; it must return a list with one array per input")
    if not quiet:
        report.add("output count", True, f"{len(outputs)} outputs for {len(clips)} inputs")
    all_ok = True
    for label, out in zip(labels, outputs):
        name = f"output {label}"
        problems = []
        if not isinstance(out, np.ndarray):
            problems.append(f"a {type(out).__name__}, not a numpy array")
        else:
            if out.ndim != 2 or out.shape[0] < 1 or out.shape[1] != dim:
                problems.append(f"shape {out.shape}, expected (n_frames >= 1, {dim})")
            if out.dtype != np.float32:
                problems.append(f"dtype {out.dtype}, expected float32")
            if np.issubdtype(out.dtype, np.number) and not np.all(np.isfinite(out)):
                problems.append(f"{int(np.sum(~np.isfinite(out)))} NaN/inf values")
        if problems:
            all_ok = report.add(name, False, "; ".join(problems)) and all_ok
        elif not quiet:
            report.frames[label] = tuple(out.shape)
            report.add(name, True, f"{out.shape[0]} frame(s) of {out.shape[1]}, float32, finite")
    return all_ok


def _compare(report: CheckReport, name: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray],
             labels: Sequence[str], rtol: float, what: str) -> None:
    bad, inexact = [], False
    for label, x, y in zip(labels, a, b):
        if x.shape != y.shape:
            bad.append(f"{label}: shape {x.shape} vs {y.shape}")
        elif not np.array_equal(x, y):
            scale = max(float(np.abs(x).max()), 1e-12)
            diff = float(np.abs(x - y).max())
            if diff > rtol * scale:
                bad.append(f"{label}: max difference {diff:.3g} (values up to {scale:.3g})")
            inexact = True
    if bad:
        report.add(name, False, f"output {what}: " + "; ".join(bad))
    else:
        report.add(name, True, f"equal within {rtol:g} relative (not bitwise)" if inexact else "bitwise identical")


def _guard(report: CheckReport, step: str, function: Any, quiet: bool = False) -> bool:
    try:
        function()
    except BenchError as exc:
        return report.add(step, False, str(exc))
    except Exception as exc:  # the author needs to see where their code broke
        return report.add(step, False, _describe(exc, trace=True))
    if not quiet:
        report.add(step, True, "ok")
    return True


def _describe(exc: BaseException, trace: bool = False) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if trace:
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            text += f" (at {last.filename}:{last.lineno} in {last.name})"
    return text
