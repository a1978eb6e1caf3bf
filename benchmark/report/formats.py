"""Printing a Table: GitHub Markdown, LaTeX (booktabs, standalone), CSV (one line per cell), JSON,
and an HTML fragment for the site."""
from __future__ import annotations

import csv
import html
import io
import json

from tabulate import tabulate

from benchmark.stats.scores import CI_METHOD_TEXT
from .table import Cell, Row, Table

NOT_SIG = "†"
UNTESTED = "‡"
SKIPPED = "ˢ"
LEGEND = (
    "Ours: mean ± std over seeds (number of seeds), in %. Best of our runs per column in bold, second "
    f"underlined; {NOT_SIG} not significantly different from the column's best (paired test over folds, or over "
    "test clips on a one-split task; Holm-corrected over the column's comparisons, significant when p < 0.05); "
    f"{UNTESTED} no paired test possible against the column's best (2 folds, no stored test predictions, or not "
    "comparable; see notes); "
    f"{SKIPPED} clips were skipped (see notes); 'running' = run not finished; 'not run' = no run yet; "
    "'–' = not reported. Reported rows are the papers' published numbers. 95% CIs (CSV, JSON, report pages): "
    f"{CI_METHOD_TEXT}, clipped to the metric's range where it reaches outside (marked); an older record's "
    "interval over seeds holds seed noise only (marked)."
)


AVERAGE_LEGEND = (" Average <metric>: the mean of the row's finished columns of that metric only, never across metrics "
                  "((k/n) when some are missing). Mean rank and Rank: see the notes (per-task ranks; rank = 1 + the "
                  "rows significantly better, so rows that cannot be separated share a rank).")


def legend(table: Table) -> str:
    return LEGEND + (AVERAGE_LEGEND if table.with_average else "")


def _number(cell: Cell, digits: int) -> str:
    if cell.status == "reported":
        return f"{100 * cell.mean:.{digits}f}"  # type: ignore[operator]
    return f"{100 * cell.mean:.{digits}f} ± {100 * (cell.std or 0):.{digits}f} ({cell.n_seeds})"  # type: ignore[operator]


def cell_text(cell: Cell, digits: int = 1) -> str:
    """The plain text of a cell, marks included, emphasis excluded."""
    if cell.status == "not run":
        return "not run"
    if cell.status == "absent":
        return "–"
    if cell.status == "running":
        progress = f" {cell.done}/{cell.total}" if cell.total else ""
        return f"running{progress}" + (f": {100 * cell.mean:.{digits}f} ({cell.n_seeds})" if cell.mean is not None else "")
    text = _number(cell, digits)
    if cell.not_significant:
        text += NOT_SIG
    if cell.untested:
        text += UNTESTED
    if cell.skipped:
        text += SKIPPED
    return text


def _averages(table: Table, row: Row, digits: int) -> list[str]:
    """The row's Average <metric>, Mean rank and Rank cells."""
    out = []
    for metric in table.average_metrics:
        n_columns = sum(c.metric == metric for c in table.columns)
        mean, done = row.averages.get(metric, (None, 0))
        partial = "" if done == n_columns else f" ({done}/{n_columns})"
        out.append("" if row.kind != "ours" or mean is None else f"{100 * mean:.{digits}f}{partial}")
    return out + ["" if row.mean_rank is None else f"{row.mean_rank:.2f}", str(row.rank or "")]


def _headers(table: Table) -> list[str]:
    heads = ["System", "Source"] + [c.label for c in table.columns]
    averages = [f"Average {m}" for m in table.average_metrics] + ["Mean rank", "Rank"]
    return heads + (averages if table.with_average else [])


def _plain_rows(table: Table, digits: int, mark: callable) -> list[list[str]]:
    out = []
    for row in table.rows:
        line = [row.label, row.kind] + [mark(c, cell_text(c, digits)) for c in row.cells]
        if table.with_average:
            line += _averages(table, row, digits)
        out.append(line)
    return out


def to_markdown(table: Table, digits: int = 1) -> str:
    def mark(cell: Cell, text: str) -> str:
        return f"**{text}**" if cell.best else f"<u>{text}</u>" if cell.second else text

    body = tabulate(_plain_rows(table, digits, mark), headers=_headers(table), tablefmt="github", disable_numparse=True)
    parts = [f"### {table.title}", "", body, "", legend(table)]
    if table.notes:
        parts += ["", "Notes:"] + [f"- {note}" for note in table.notes]
    return "\n".join(parts) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "²": r"$^2$",
        "–": "--", "—": "---", "≥": r"$\geq$", NOT_SIG: r"$^\dagger$", UNTESTED: r"$^\ddagger$", SKIPPED: r"$^{s}$", "…": "...", "×": r"$\times$",
        "·": r"$\cdot$", "√": r"$\surd$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch if ord(ch) < 128 else "?") for ch in text)


def to_latex_tabular(table: Table, digits: int = 1) -> str:
    """The booktabs tabular alone, for pasting into a paper."""
    def mark(cell: Cell, text: str) -> str:
        text = tex_escape(text)
        return rf"\textbf{{{text}}}" if cell.best else rf"\underline{{{text}}}" if cell.second else text

    heads = [tex_escape(h) for h in _headers(table)]
    lines = [r"\begin{tabular}{ll" + "c" * (len(heads) - 2) + "}", r"\toprule", " & ".join(heads) + r" \\", r"\midrule"]
    previous = None
    for row, cells in zip(table.rows, _plain_rows(table, digits, mark)):
        if previous == "ours" and row.kind == "reported":
            lines.append(r"\midrule")  # a rule closes each reported/ours group
        cells[0] = tex_escape(cells[0])
        cells[1] = r"\textit{reported}" if row.kind == "reported" else "ours"
        lines.append(" & ".join(cells) + r" \\")
        previous = row.kind
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def to_latex(tables: list[Table], digits: int = 1) -> str:
    """A standalone document (article + booktabs) holding the tables; compiles with pdflatex."""
    out = [
        r"\documentclass{article}", r"\usepackage[T1]{fontenc}", r"\usepackage{booktabs}", r"\usepackage{graphicx}",
        r"\pagestyle{empty}", r"\begin{document}",
    ]
    for table in tables:
        out += [
            r"\begin{table}[ht]", r"\centering", r"\caption{" + tex_escape(table.title) + "}",
            r"\resizebox{\textwidth}{!}{%", to_latex_tabular(table, digits) + "}", "",
            r"\footnotesize " + tex_escape(legend(table)),
        ]
        out += [r"\\ " + tex_escape(note) for note in table.notes]
        out += [r"\end{table}", ""]
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


CSV_FIELDS = ["table", "system", "source", "embedder", "protocol", "column", "task", "metric", "status", "mean",
              "std", "n_seeds", "ci95_low", "ci95_high", "skipped", "best", "second", "not_significant", "p_value",
              "p_holm", "untested", "run_key", "average", "mean_rank", "rank"]


def to_csv(tables: list[Table]) -> str:
    """Tidy: one line per cell, numbers in percent, so the file reads straight into pandas; ``average``
    is the row's average over the columns of the cell's metric (empty where that metric has one column)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    pct = lambda v: "" if v is None else round(100 * v, 4)  # noqa: E731
    for table in tables:
        for row in table.rows:
            for cell, col in zip(row.cells, table.columns):
                ci = cell.ci95 or [None, None]
                writer.writerow({
                    "table": table.key, "system": row.label, "source": row.kind, "embedder": cell.embedder or row.embedder or "",
                    "protocol": cell.protocol or row.protocol or "", "column": col.label, "task": cell.task or col.task,
                    "metric": col.metric, "status": cell.status, "mean": pct(cell.mean), "std": pct(cell.std),
                    "n_seeds": cell.n_seeds or "", "ci95_low": pct(ci[0]), "ci95_high": pct(ci[1]), "skipped": cell.skipped,
                    "best": int(cell.best), "second": int(cell.second), "not_significant": int(cell.not_significant),
                    "p_value": "" if cell.p_value is None else cell.p_value,
                    "p_holm": "" if cell.p_holm is None else cell.p_holm, "untested": cell.untested or "", "run_key": cell.run_key or "",
                    "average": pct(row.averages.get(col.metric, (None,))[0]) if table.with_average else "",
                    "mean_rank": "" if row.mean_rank is None else round(row.mean_rank, 4), "rank": row.rank or "",
                })
    return buffer.getvalue()


def to_json(tables: list[Table]) -> str:
    return json.dumps({"tables": [t.to_dict() for t in tables], "legend": LEGEND, "units": "fraction (0-1)"}, indent=2)


def to_html(table: Table, digits: int = 1, run_link: callable | None = None) -> str:
    """An HTML table; ``run_link(run_key)`` gives the href of a run's page, if any."""
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in _headers(table))
    body = []
    for row in table.rows:
        tds = [f'<th scope="row">{html.escape(row.label)}</th>', f"<td>{row.kind}</td>"]
        for cell in row.cells:
            text = html.escape(cell_text(cell, digits))
            if cell.run_key and run_link:
                text = f'<a href="{run_link(cell.run_key)}">{text}</a>'
            text = f"<strong>{text}</strong>" if cell.best else f"<u>{text}</u>" if cell.second else text
            title = f' title="p = {cell.p_value:.3g}"' if cell.p_value is not None else ""
            tds.append(f'<td class="{cell.status.replace(" ", "-")}"{title}>{text}</td>')
        if table.with_average:
            tds += [f"<td>{html.escape(text)}</td>" for text in _averages(table, row, digits)]
        body.append(f'<tr class="{row.kind}">' + "".join(tds) + "</tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in table.notes)
    return (
        f'<table class="results" id="table-{html.escape(table.key)}"><caption>{html.escape(table.title)}</caption>'
        f"<thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p class="legend">{html.escape(legend(table))}</p>' + (f"<ul class='notes'>{notes}</ul>" if notes else "")
    )
