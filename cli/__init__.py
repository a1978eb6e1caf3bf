"""Command line of bench (the console script ``bench = cli:main``, or ``python -m cli``). Thin:
each command parses its options and calls functions of ``benchmark``.

* :mod:`cli.base`: the ``bench`` group, errors as messages (exit 2), the options commands share;
* :mod:`cli.runs`: commands that compute (run, reproduce, embed);
* :mod:`cli.results`: commands that read run records (table, report, plot, compare);
* :mod:`cli.admin`: commands that look after things (list, data, check-embedder, cache).
"""
from __future__ import annotations

from . import admin, results, runs  # noqa: F401 - defining their commands adds them to the group
from .base import Group, UserError, cli, registries

__all__ = ["Group", "UserError", "cli", "main", "registries"]


def main() -> None:
    cli(prog_name="bench")
