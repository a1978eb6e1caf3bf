"""One lookup mechanism for embedders, tasks and protocols.

A name resolves, in order, to:
  1. a prefix factory (``csv:PATH``, ``hear:MODULE``),
  2. a built-in (``name -> "module:attr"`` or ``("module:attr", {kwargs})``),
  3. an installed entry point of the registry's group (e.g. ``bench.embedders``),
  4. ``package.module:Class`` or ``path/to/file.py:Class``.
Unknown names raise UnknownNameError with the closest valid names.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from importlib import metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import UnknownNameError

Target = str | tuple[str, Mapping[str, Any]]


def import_attr(spec: str) -> Any:
    """Import ``package.module:attr`` or ``path/to/file.py:attr``."""
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise UnknownNameError(f"'{spec}' is not of the form 'package.module:Class' or 'path/to/file.py:Class'.")
    if module_part.endswith(".py"):
        path = Path(module_part).expanduser().resolve()
        if not path.is_file():
            raise UnknownNameError(f"Plugin file not found: {path}. Check the path in '{spec}'.")
        # stable across processes (hash() is not): the cache key of a plugin's class names this module
        module_name = f"bench_plugin_{_file_digest(path)}"
        module = sys.modules.get(module_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            raise UnknownNameError(
                f"Cannot import module '{module_part}' for '{spec}': {exc}. "
                "Install the package that provides it, or give a path like path/to/file.py:Class."
            ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, public, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownNameError(f"'{module_part}' has no attribute '{attr}'.{hint}") from None


def _file_digest(path: Path) -> str:
    """The resolved path and the file's content: the same file gives the same name in every process,
    an edited one (other code, other outputs) a new name."""
    digest = hashlib.sha256(str(path).encode() + b"\0")
    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class Registry:
    """Named objects of one kind (embedders, tasks or protocols)."""

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, Target],
        entry_point_group: str | None = None,
        factories: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.kind = kind
        self.builtins = dict(builtins)
        self.entry_point_group = entry_point_group
        self.factories = dict(factories or {})

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        if not self.entry_point_group:
            return {}
        return {ep.name: ep for ep in metadata.entry_points(group=self.entry_point_group)}

    def names(self) -> list[str]:
        """Built-in and installed names (prefix factories and module paths not included)."""
        return list(self.builtins) + sorted(n for n in self._entry_points() if n not in self.builtins)

    def resolve(self, name: str) -> tuple[Any, dict[str, Any]]:
        """The class (or object) a name stands for, and the keyword arguments it is built with."""
        prefix, sep, rest = name.partition(":")
        if sep and prefix in self.factories:
            return self.factories[prefix], {"spec": rest}
        if name in self.builtins:
            target = self.builtins[name]
            spec, kwargs = (target, {}) if isinstance(target, str) else (target[0], dict(target[1]))
            return import_attr(spec), kwargs
        entry_points = self._entry_points()
        if name in entry_points:
            return entry_points[name].load(), {}
        if ":" in name:
            return import_attr(name), {}
        raise self.unknown(name)

    def unknown(self, name: str) -> UnknownNameError:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        extra = "".join(f" '{p}:…'" for p in self.factories)
        return UnknownNameError(
            f"Unknown {self.kind} '{name}'.{hint} Known {self.kind}s: {', '.join(known)}."
            f" Also accepted: 'package.module:Class', 'path/to/file.py:Class'{',' + extra if extra else ''}."
            f" Run 'bench list {self.kind}s' for details."
        )

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build the named object. Classes and factories are called; plain objects are returned."""
        obj, preset = self.resolve(name)
        fixed = sorted(k for k in kwargs if k in preset and kwargs[k] != preset[k])
        if fixed:  # the record would carry this name with another model's numbers
            raise UnknownNameError(
                f"{self.kind.capitalize()} '{name}' fixes " + ", ".join(f"{k}={preset[k]!r}" for k in fixed)
                + f"; a run with another value would be recorded under the name '{name}'. Drop the option and "
                f"choose the {self.kind} built with that value instead (run 'bench list {self.kind}s').")
        if callable(obj):
            instance = obj(**{**preset, **kwargs})
        else:
            instance = obj
        if getattr(instance, "name", None) in (None, "") or name in self.builtins:
            try:
                instance.name = name
            except (AttributeError, TypeError):  # frozen dataclasses keep their own name
                pass
        return instance


@dataclass(frozen=True)
class Registries:
    """The registries the engine resolves names with. The engine never imports ``embedders`` or
    ``tasks``: its callers (the CLI, tests, a plugin host) build this and pass it in."""

    embedders: Registry
    tasks: Registry
    protocols: Registry
