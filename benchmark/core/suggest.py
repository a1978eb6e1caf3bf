"""Commands that bench suggests in errors and hints, built so that they work as printed: names
in the form the command line accepts from any folder (a CSV task or a plugin file by its
absolute path), the options the user gave that the command needs, and shell quoting."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any


def portable(name: str | None) -> str | None:
    """``name`` as a command run from another folder resolves it: ``csv:PATH[?query]`` and
    ``path/to/file.py:Class`` with absolute paths; other names unchanged."""
    if not name:
        return name
    prefix, sep, rest = name.partition(":")
    if sep and prefix == "csv":
        path, mark, query = rest.partition("?")
        return f"csv:{Path(path).expanduser().resolve()}{mark}{query}"
    module, sep, attr = name.rpartition(":")
    if sep and module.endswith(".py"):
        return f"{Path(module).expanduser().resolve()}:{attr}"
    return name


def command(*words: str, **options: Any) -> str:
    """``bench <words> --option value ...``, shell-quoted; options that are None or False are left
    out, True gives a bare flag. Option names use dashes (``data_home`` → ``--data-home``)."""
    parts = ["bench", *words]
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, str(value)]
    return " ".join(shlex.quote(str(p)) for p in parts)


def spec_names(spec: Any) -> dict[str, str | None]:
    """The names of a RunSpec as a later command needs them (stored in the run record, so that
    ``bench compare`` can suggest a ``bench run`` that works)."""
    return {"embedder": portable(spec.embedder), "task": portable(spec.task), "protocol": portable(spec.protocol)}
