"""Tables rendered as text in one of the output formats."""
from __future__ import annotations

from benchmark.core.errors import BenchError
from . import formats
from .table import Table


FORMATS = ("markdown", "latex", "csv", "json", "html")


def render_tables(tables: list[Table], fmt: str = "markdown", digits: int = 1) -> str:
    fmt = fmt.lower()
    if fmt in ("markdown", "md"):
        return "\n".join(formats.to_markdown(t, digits) for t in tables)
    if fmt in ("latex", "tex"):
        return formats.to_latex(tables, digits)
    if fmt == "csv":
        return formats.to_csv(tables)
    if fmt == "json":
        return formats.to_json(tables)
    if fmt == "html":
        return "\n".join(formats.to_html(t, digits) for t in tables)
    raise BenchError(f"Unknown table format '{fmt}'. Choose one of: {', '.join(FORMATS)}.")
