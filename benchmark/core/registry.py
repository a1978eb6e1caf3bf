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
            try:
                loader_spec.loader.exec_module(module)
            except BaseException as exc:
                del sys.modules[module_name]  # a half-run module must not be found next time
                if isinstance(exc, Exception):
                    raise plugin_import_error(spec, str(path), exc) from None
                raise
    else:
        try:
            module = importlib.import_module(module_part)
        except ModuleNotFoundError as exc:
            if exc.name and module_part != exc.name and not module_part.startswith(exc.name + "."):
                raise plugin_import_error(spec, module_part, exc) from None  # the module exists; an import in it fails
            raise UnknownNameError(
                f"Cannot import module '{module_part}' for '{spec}': {exc}. "
                "Install the package that provides it, or give a path like path/to/file.py:Class."
            ) from exc
        except Exception as exc:  # noqa: BLE001 - a syntax error or a failing import inside the module
            raise plugin_import_error(spec, module_part, exc) from None
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


def plugin_import_error(spec: str, where: str, exc: Exception) -> UnknownNameError:
    """One paragraph on why the module of a ``module:Class`` / ``file.py:Class`` spec did not import."""
    if isinstance(exc, SyntaxError):
        at = f"{exc.filename or where}, line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = (exc.text or "").strip()
        return UnknownNameError(f"Cannot load '{spec}': syntax error in {at}: {exc.msg}"
                                + (f" (`{text}`)" if text else "") + ". Fix the file, then run the command again.")
    if isinstance(exc, ModuleNotFoundError):
        return UnknownNameError(f"Cannot load '{spec}': {where} imports '{exc.name}', which is not installed here. "
                                f"Install it (pip install <the package that provides {exc.name}>) in this environment, "
                                "or fix the import, then run the command again.")
    return UnknownNameError(f"Cannot load '{spec}': importing {where} raised {type(exc).__name__}: {exc}. "
                            "Fix the module's top-level code, then run the command again.")


class Registry:
    """Named objects of one kind (embedders, tasks or protocols)."""

    def __init__(
        self,
        kind: str,
        builtins: Mapping[str, Target],
        entry_point_group: str | None = None,
        factories: Mapping[str, Callable[..., Any]] | None = None,
        base: str | None = None,
    ) -> None:
        self.kind = kind
        self.builtins = dict(builtins)
        self.entry_point_group = entry_point_group
        self.factories = dict(factories or {})
        #: "module:Class" every object of this registry must be an instance of (checked on create)
        self.base = base

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
        # case-insensitive: --protocol COALA suggests coala
        lowered = {k.lower(): k for k in known}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        extra = "".join(f" '{p}:…'" for p in self.factories)
        return UnknownNameError(
            f"Unknown {self.kind} '{name}'.{hint} Known {self.kind}s: {', '.join(known)}."
            f" Also accepted: 'package.module:Class', 'path/to/file.py:Class'{',' + extra if extra else ''}."
            f" Run 'bench list {self.kind}s' for details."
        )

    def not_a(self, name: str, obj: Any, base: type) -> UnknownNameError:
        what = f"class {obj.__name__}" if isinstance(obj, type) else f"a {type(obj).__name__} object"
        return UnknownNameError(
            f"'{name}' is {what}, not a bench {self.kind}: {self.kind}s given as 'module:Class' or "
            f"'path/to/file.py:Class' must be a subclass (or an instance) of {base.__module__}.{base.__qualname__}; "
            f"its docstring says what to implement. Built-in {self.kind}s: {', '.join(self.names())}."
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
        base = import_attr(self.base) if self.base else None
        if base is not None and isinstance(obj, type) and not issubclass(obj, base):
            raise self.not_a(name, obj, base)  # before calling it with arguments it may not take
        if callable(obj):
            instance = obj(**{**preset, **kwargs})
        else:
            instance = obj
        if base is not None and not isinstance(instance, base):
            raise self.not_a(name, instance, base)
        if getattr(instance, "name", None) in (None, "") or name in self.builtins:
            try:
                instance.name = name
            except (AttributeError, TypeError):  # frozen dataclasses keep their own name
                pass
        try:  # the name as given, so that messages can suggest commands that find it again
            instance.registry_spec = name
        except (AttributeError, TypeError):
            pass
        return instance


@dataclass(frozen=True)
class Registries:
    """The registries the engine resolves names with. The engine never imports ``embedders`` or
    ``tasks``: its callers (the CLI, tests, a plugin host) build this and pass it in."""

    embedders: Registry
    tasks: Registry
    protocols: Registry
