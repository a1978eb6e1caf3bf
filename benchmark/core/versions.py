"""Installed library versions, recorded beside numbers they may change."""
from __future__ import annotations

from typing import Iterable


def package_versions(distributions: Iterable[str]) -> dict[str, str]:
    """Installed versions of these distributions (pip names), "?" for one that is missing."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in distributions:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out
