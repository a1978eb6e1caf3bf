"""A grid: several (embedder, task) cells run by one executor, each cell one RunRecord.

A cell that fails (missing data or weights, a plugin error) does not stop the others: its
outcome says why in one line, and the grid's exit code is non-zero. Finished cells and finished
(split, seed) scores are on disk, so running the same grid again redoes only what is left.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from benchmark.core.errors import BenchError
from .executors import executor as find_executor
from benchmark.core.registry import Registries
from benchmark.core.spec import RunEnv, RunSpec

Echo = Callable[[str], None]
DONE, ALREADY_DONE, FAILED = "done", "already done", "failed"


def _quiet(_: str) -> None:
    pass


@dataclass
class Outcome:
    spec: RunSpec
    status: str  # DONE | ALREADY_DONE | FAILED
    reason: str = ""
    record: dict | None = None


def reason_of(exc: BaseException) -> str:
    """The one-line reason of a failed cell: a user error's whole message on one line (its later
    lines say what to do: --skip-missing, the download command); anything else is a plugin or
    internal error, its first line with its type."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " ".join(lines) if isinstance(exc, BenchError) else (lines[0] if lines else "")
    if isinstance(exc, BenchError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Recorder:
    """Collects outcomes in spec order; ``keep_going=False`` (a single run) lets errors through."""

    def __init__(self, specs: Sequence[RunSpec], echo: Echo, keep_going: bool) -> None:
        self.specs, self.echo, self.keep_going = list(specs), echo, keep_going
        self.outcomes: dict[int, Outcome] = {}
        self._aliases: dict[int, RunSpec] = {}
        self._keep: list[RunSpec] = []

    def _index(self, spec: RunSpec) -> int:
        return next(i for i, s in enumerate(self.specs) if s is spec or self._aliases.get(id(spec)) is s)

    def alias(self, spec: RunSpec, copy: RunSpec) -> None:
        """``copy`` (e.g. the spec with its paths resolved) stands for ``spec`` from now on."""
        self._aliases[id(copy)] = spec
        self._keep.append(copy)  # keeps id(copy) from being reused

    def __call__(self, spec: RunSpec, work: Callable[[], tuple[str, dict]]) -> None:
        """Run one whole cell: ``work()`` gives (status, record)."""
        i = self._index(spec)
        if len(self.specs) > 1:
            self.echo(f"[{i + 1}/{len(self.specs)}] {spec.label()}")
        result = self.attempt(spec, work)
        if result is not None:
            self.succeed(spec, *result)

    def attempt(self, spec: RunSpec, work: Callable[[], Any]) -> Any:
        """``work()``, or None after recording the cell as failed (re-raised for a single run)."""
        try:
            return work()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - any cell's failure is reported, the grid goes on
            if not self.keep_going:
                raise
            self.fail(spec, exc)
            return None

    def succeed(self, spec: RunSpec, status: str, record: dict) -> None:
        self.outcomes[self._index(spec)] = Outcome(spec, status, record=record)

    def failed(self, spec: RunSpec) -> bool:
        outcome = self.outcomes.get(self._index(spec))
        return outcome is not None and outcome.status == FAILED

    def fail(self, spec: RunSpec, exc: BaseException | str) -> None:
        reason = exc if isinstance(exc, str) else reason_of(exc)
        if not self.keep_going:
            raise exc if isinstance(exc, BaseException) else BenchError(reason)
        self.outcomes[self._index(spec)] = Outcome(spec, FAILED, reason=reason)
        self.echo(f"  failed: {spec.label()}: {reason}")

    def result(self) -> list[Outcome]:
        return [self.outcomes.get(i, Outcome(s, FAILED, reason="not run (internal error)"))
                for i, s in enumerate(self.specs)]


def run_grid(specs: Sequence[RunSpec], registries: Registries, env: RunEnv = RunEnv(), progress: bool = False,
             echo: Echo = _quiet, keep_going: bool | None = None, **executor_options: Any) -> list[Outcome]:
    """Run every cell with ``env.executor`` and return their outcomes in spec order. ``keep_going``
    (default: more than one cell) records a failing cell and goes on; else its error is raised.
    Every way of starting runs (a run, a grid, a sweep, fractions, deformations, a paper) comes here."""
    specs = list(specs)
    run = find_executor(env.executor)
    recorder = Recorder(specs, echo, len(specs) > 1 if keep_going is None else keep_going)
    run(specs, registries, env, progress, echo, recorder, **executor_options)
    return recorder.result()


def format_outcomes(outcomes: Sequence[Outcome]) -> str:
    """The end-of-grid summary: one line per cell, then the counts."""
    lines = ["Grid summary:"]
    for o in outcomes:
        lines.append(f"  {o.status:<12} {o.spec.label()}" + (f": {o.reason}" if o.reason else ""))
    counts = {s: sum(o.status == s for o in outcomes) for s in (DONE, ALREADY_DONE, FAILED)}
    lines.append(f"{counts[DONE]} done, {counts[ALREADY_DONE]} already done, {counts[FAILED]} failed")
    return "\n".join(lines)


def failed(outcomes: Sequence[Outcome]) -> bool:
    return any(o.status == FAILED for o in outcomes)
