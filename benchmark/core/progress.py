"""Progress of extraction and probing: tqdm bars on a terminal; without one (logs, CI) a plain
line every so often, so a long run is never silent until it ends."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

#: without a terminal: a line after each further 10% (but not more often than MIN_SECONDS), and at
#: least every MAX_SECONDS while work goes on
STEP = 0.10
MIN_SECONDS = 2.0
MAX_SECONDS = 30.0


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """``update``/``close`` like tqdm, printing lines such as
    ``embedding with mfcc: 250/500 clips (50%), 41.2 clips/s, about 6 s left``."""

    def __init__(self, total: int, desc: str, unit: str, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.desc, self.unit = max(int(total), 0), desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.done = 0
        self.started = self.last_time = clock()
        self.last_done = 0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        since = now - self.last_time
        step = self.total and (self.done - self.last_done) / self.total >= STEP
        if (step and since >= MIN_SECONDS) or since >= MAX_SECONDS:
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}s"
        if self.total:
            text += f" ({100 * self.done / self.total:.0f}%)"
        text += f", {rate:.1f} {self.unit}s/s" if rate >= 1 else f", {elapsed / max(self.done, 1):.1f} s/{self.unit}"
        if self.total and 0 < self.done < self.total and rate > 0:
            text += f", about {_duration((self.total - self.done) / rate)} left"
        print(text, file=self.stream, flush=True)
        self.last_time, self.last_done = now, self.done

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def progress_bar(total: int, desc: str, unit: str, enabled: bool, stream: TextIO | None = None) -> Any:
    """A tqdm bar when ``stream`` (default stderr) is a terminal, a LineProgress otherwise, nothing
    when not ``enabled``."""
    if not enabled:
        return _Silent()
    stream = stream if stream is not None else sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, file=stream)
    return LineProgress(total, desc, unit, stream)
