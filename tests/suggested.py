"""Every command bench suggests must work as printed: pull the ``bench ...`` commands out of a
message and check them against the real command line."""
from __future__ import annotations

import re
import shlex

import click

import cli

_QUOTED = re.compile(r"'(bench [^']*)'|`(bench [^`]*)`")


def suggested_commands(text: str) -> list[list[str]]:
    """The arguments (after ``bench``) of each command quoted in ``text`` ('bench ...' or `bench ...`)."""
    return [shlex.split(a or b)[1:] for a, b in _QUOTED.findall(text)]


def parse(args: list[str]) -> None:
    """Parse ``bench <args>`` as the shell would run it, without running it: raises click's
    UsageError (no such command or option, missing argument, bad value) where it would fail."""
    command, ctx, rest = cli.cli, None, list(args)
    while True:
        ctx = command.make_context(command.name or "bench", rest, parent=ctx)
        if not isinstance(command, click.Group):
            return
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        _, command, rest = command.resolve_command(ctx, rest)


def check_suggestions(text: str, at_least: int = 1) -> list[list[str]]:
    """Assert ``text`` suggests at least ``at_least`` commands and that each one parses; returns them."""
    commands = suggested_commands(text)
    assert len(commands) >= at_least, f"expected a suggested command in: {text}"
    for args in commands:
        try:
            parse(args)
        except click.ClickException as exc:
            raise AssertionError(f"suggested 'bench {shlex.join(args)}' does not work: {exc.format_message()}\n"
                                 f"in: {text}") from None
    return commands
