"""Warnings bench gives the user while it goes on (a damaged cache shard, an unreadable record).

They are Python warnings of class :class:`BenchWarning`, so tests can catch them with
``pytest.warns`` and the CLI prints them as one ``Warning: ...`` line each on stderr
(:func:`show_plainly`), without the source location Python adds by default.
"""
from __future__ import annotations

import sys
import warnings


class BenchWarning(UserWarning):
    """Something bench worked around; the message names the file and what was done about it."""


def warn(message: str) -> None:
    warnings.warn(BenchWarning(message), stacklevel=2)


def show_plainly() -> None:
    """Print BenchWarnings as ``Warning: <message>`` on stderr (other warnings as Python does)."""
    default = warnings.showwarning
    if getattr(default, "_bench", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, BenchWarning):
            print(f"Warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    show._bench = True  # type: ignore[attr-defined]
    warnings.showwarning = show
    warnings.simplefilter("default", BenchWarning)  # once per message: each damaged file is named once
