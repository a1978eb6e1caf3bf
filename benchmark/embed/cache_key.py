"""The cache key of an embedder: its ``config()``, completed for plugins so that two different
plugins never share a cache folder."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def cache_config(embedder: Any) -> Any:
    """The embedder's ``config()`` as its cache key, completed for plugins. A plugin's ``config()``
    may leave out its class, the options it was built with (one that does not call ``super()``, or
    takes them as keyword parameters) or its code: two different plugins would then share a cache.
    So a plugin's key also holds its class, the options it was given where its config says other
    ones, and the sha256 of the file defining its class (a ``path.py:Class`` plugin's module name
    carries that digest already). Built-in embedders (package ``embedders``) keep their keys."""
    config = embedder.config()
    cls = type(embedder)
    if not isinstance(config, dict) or cls.__module__.split(".")[0] == "embedders":
        return config  # a config that is not a dict is refused by checks.check_config
    extra: dict[str, Any] = {}
    if "class" not in config:
        extra["class"] = f"{cls.__module__}.{cls.__qualname__}"
    given = getattr(embedder, "constructor_options", None)
    said = {k: v for k, v in (config.get("options") or {}).items() if k != "store_dtype"} \
        if isinstance(config.get("options"), dict) else None
    if given is not None and said != given:
        extra["constructor_options"] = dict(sorted(given.items()))
    if not cls.__module__.startswith("bench_plugin_"):
        extra["code_sha256"] = _code_sha256(cls)
    return {**config, **extra}


def _code_sha256(cls: type) -> str | None:
    """sha256 of the source file that defines ``cls`` (None when it has none: a class built at run time)."""
    import inspect

    from benchmark.data.fetch import sha256_of

    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return None
    return sha256_of(Path(path)) if path and Path(path).is_file() else None
