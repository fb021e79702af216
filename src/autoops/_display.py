"""Short reprs and small HTML tables for notebooks, without pandas.

Results call :func:`short_repr` for ``__repr__`` (one line: class, size,
headline figures) and :func:`html_table` for ``_repr_html_``. Cells are
escaped; callers pass values that are already masked.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["html_table", "short_repr"]


def short_repr(name: str, **figures: object) -> str:
    """One-line repr: ``Name(rows=3, people=2)``.

    Examples:
        >>> short_repr("Resolution", records=3, people=2)
        'Resolution(records=3, people=2)'
    """
    inner = ", ".join(f"{key}={value}" for key, value in figures.items())
    return f"{name}({inner})"


def html_table(
    title: str, headers: Sequence[str], rows: Iterable[Sequence[object]], *, limit: int = 10
) -> str:
    """Render a small HTML table with a caption; at most *limit* rows.

    Examples:
        >>> print(html_table("Funnel", ["step", "count"], [["lead", 10]]))
        <table><caption>Funnel</caption><thead><tr><th>step</th><th>count</th></tr></thead><tbody><tr><td>lead</td><td>10</td></tr></tbody></table>
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body_rows = []
    extra = 0
    for i, row in enumerate(rows):
        if i >= limit:
            extra += 1
            continue
        cells = "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row)
        body_rows.append(f"<tr>{cells}</tr>")
    if extra:
        body_rows.append(f'<tr><td colspan="{len(headers)}">… {extra} more rows</td></tr>')
    return (
        f"<table><caption>{html.escape(title)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
