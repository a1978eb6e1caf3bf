"""``bench check-embedder``: run an embedder on generated audio and check its contract.

Clips of 0.1 s, 1 s, 10 s and 30 s go through ``embed()`` as one batch, twice, then one by one.
Checked: it loads; one output per input; each output a float32 array of shape (n_frames >= 1, dim);
no NaN/inf; the same output on a second run (determinism); the same output alone as in a batch
(no leakage across a batch, e.g. BatchNorm left in training mode); a JSON-serialisable, stable
``config()`` (it is the cache key). Reports throughput in seconds of audio per second.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .errors import BenchError

DURATIONS = (0.1, 1.0, 10.0, 30.0)
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
    frames: dict[float, tuple[int, ...]] = field(default_factory=dict)
    audio_seconds: float = 0.0
    embed_seconds: float | None = None
    header: str = ""

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
                f"  throughput: {self.throughput:.1f} s of audio per second "
                f"({self.audio_seconds:.1f} s of audio in {self.embed_seconds:.3f} s)"
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
) -> CheckReport:
    """Run the checks on ``embedder`` (a name/spec for the registry, or an Embedder instance)."""
    label = embedder if isinstance(embedder, str) else (getattr(embedder, "name", "") or type(embedder).__name__)
    report = CheckReport(str(label))
    if isinstance(embedder, str):
        from embedders import EMBEDDERS

        kwargs = {k: v for k, v in (("weights", weights), ("device", device)) if v is not None}
        embedder = EMBEDDERS.create(embedder, **kwargs)  # unknown names raise UnknownNameError
    if not _attributes(report, embedder):
        return report
    if not _guard(report, "load", embedder.ensure_loaded):
        return report
    sample_rate, dim = int(embedder.sample_rate), int(embedder.dim)
    report.header = f"dim {dim}, {sample_rate} Hz, device {getattr(embedder, 'device', '?')}"
    _config(report, embedder)

    clips = [generated_audio(d, sample_rate, seed=i) for i, d in enumerate(durations)]
    report.audio_seconds = float(sum(len(c) for c in clips) / sample_rate)
    first = _run(report, embedder, clips, "embed (batch)")
    if first is None or not _outputs(report, first, clips, durations, dim, sample_rate):
        return report
    started = time.perf_counter()
    second = _run(report, embedder, clips, "embed (second run)")
    if second is None:
        return report
    report.embed_seconds = time.perf_counter() - started
    if not _outputs(report, second, clips, durations, dim, sample_rate, quiet=True):
        return report
    _compare(report, "determinism", first, second, durations, RERUN_RTOL, "differs on a second run with the same input")
    alone = []
    for clip in clips:
        out = _run(report, embedder, [clip], "embed (one clip)")
        if out is None or not _outputs(report, out, [clip], [len(clip) / sample_rate], dim, sample_rate, quiet=True):
            return report
        alone.append(out[0])
    _compare(report, "batch independence", first, alone, durations, BATCH_RTOL,
             "depends on the other clips of the batch (BatchNorm in training mode? padding to the longest clip?)")
    return report


def _attributes(report: CheckReport, embedder: Any) -> bool:
    problems = []
    try:
        if getattr(embedder, "input_kind", "audio") != "audio":
            return report.add("attributes", False, f"input_kind is '{embedder.input_kind}'; check-embedder runs audio embedders only")
        sample_rate, dim = getattr(embedder, "sample_rate", None), getattr(embedder, "dim", None)
    except Exception as exc:  # a property that loads the model may fail here
        return report.add("attributes", False, _describe(exc))
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        problems.append(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not isinstance(dim, (int, np.integer)) or dim <= 0:
        problems.append(f"dim must be a positive int, got {dim!r}")
    return report.add("attributes", not problems, "; ".join(problems) or f"sample_rate {sample_rate}, dim {dim}")


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
    report: CheckReport, outputs: Any, clips: Sequence[np.ndarray], durations: Sequence[float], dim: int,
    sample_rate: int, quiet: bool = False,
) -> bool:
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(clips):
        got = f"{len(outputs)} outputs" if isinstance(outputs, (list, tuple)) else f"a {type(outputs).__name__}"
        return report.add("output count", False, f"embed() returned {got} for {len(clips)} clips; it must return a list with one array per clip")
    if not quiet:
        report.add("output count", True, f"{len(outputs)} outputs for {len(clips)} clips")
    all_ok = True
    for duration, out in zip(durations, outputs):
        name = f"output {duration:g} s"
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
            report.frames[duration] = tuple(out.shape)
            report.add(name, True, f"{out.shape[0]} frame(s) of {out.shape[1]}, float32, finite")
    return all_ok


def _compare(report: CheckReport, name: str, a: Sequence[np.ndarray], b: Sequence[np.ndarray],
             durations: Sequence[float], rtol: float, what: str) -> None:
    bad, inexact = [], False
    for duration, x, y in zip(durations, a, b):
        if x.shape != y.shape:
            bad.append(f"{duration:g} s: shape {x.shape} vs {y.shape}")
        elif not np.array_equal(x, y):
            scale = max(float(np.abs(x).max()), 1e-12)
            diff = float(np.abs(x - y).max())
            if diff > rtol * scale:
                bad.append(f"{duration:g} s: max difference {diff:.3g} (values up to {scale:.3g})")
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
