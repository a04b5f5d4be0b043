"""Text taken from data, made inert for the place it lands in.

Names come from bureau files and can hold anything: ``<script>``, a backtick, ``${...}``, or a
leading ``=`` that a spreadsheet runs as a formula. Every output that puts data into HTML,
JavaScript, a CSV or a workbook goes through one of the functions here, chosen by where the text
lands (see ``DESIGN.md``, "Text from data is inert"):

* HTML text or a quoted attribute value: :func:`html_text` (``& < > " '`` escaped);
* inside a ``<script>``: only as data, encoded by :func:`script_json` (JSON with ``< > &`` and
  U+2028/U+2029 escaped, so it can close no tag and break no line); never inside JavaScript code
  or a template literal;
* CSV cells: :func:`csv_cell` / :func:`csv_frame` put a ``'`` before a string beginning with
  ``= + - @``, tab or carriage return (the OWASP CSV-injection rule); numbers are left alone, so
  a negative number stays a number. :func:`read_csv_cell` / :func:`read_csv_frame` undo it exactly
  when siting reads its own CSVs back;
* workbook cells: :func:`text_cells` makes every string cell of an openpyxl workbook a text cell
  (openpyxl writes a string beginning with ``=`` as a formula).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def html_text(value: object) -> str:
    """``value`` as HTML text, safe in element content and in quoted attribute values.

    ``{`` and ``}`` become character references too: folium and branca render every element's
    output once more as a Jinja template, where a name holding ``{{ … }}``, ``{% … %}`` or
    ``{# … #}`` would run (or hide what follows) when the page is written.
    """
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def html_table(rows: Iterable[tuple[object, object]], *, style: str = "font-size:12px") -> str:
    """A two-column HTML table of (label, value) rows, every label and value escaped."""
    cells = "".join(
        "<tr><th style='text-align:left;padding-right:8px;white-space:nowrap'>"
        f"{html_text(k)}</th><td>{html_text(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table style='{html_text(style)}'>{cells}</table>"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def script_json(value: object) -> str:
    """``value`` as a JSON literal safe to embed anywhere inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no
    ``</script>`` or ``<!--`` can appear; U+2028 and U+2029 are escaped as well. NaN and infinity
    are refused (they are not JSON): give ``None`` for a missing number.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_plain)
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    # braces inside strings as \u escapes (see html_text): JSON's own braces never form {{, {%
    # or {#, so after this no Jinja delimiter is left in the text
    return _JSON_STRING.sub(_brace_escapes, text)


def _brace_escapes(match: re.Match[str]) -> str:
    return match.group(0).replace("{", "\\u007b").replace("}", "\\u007d")


def _needs_quote(text: str) -> bool:
    # a text that starts with ' and would lose it on reading back is quoted too, so that
    # read_csv_cell(csv_cell(x)) == x for every string
    return text.startswith(SPREADSHEET_TRIGGERS) or (text[:1] == "'" and _needs_quote(text[1:]))


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: ``'`` before a string beginning with
    ``= + - @``, tab or CR. Anything but a string (a negative number too) is returned as is."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def read_csv_cell(value: Any) -> Any:
    """The inverse of :func:`csv_cell`, for reading a CSV siting wrote."""
    if isinstance(value, str) and value[:1] == "'" and _needs_quote(value[1:]):
        return value[1:]
    return value


def _map_text(frame: pd.DataFrame, func: Any) -> pd.DataFrame:
    out = frame.copy()
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            out.isetitem(i, series.map(func, na_action="ignore").array)  # numbers are never touched
    out.columns = pd.Index([func(c) for c in frame.columns])
    return out


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`csv_cell` applied to every string cell and column name."""
    return _map_text(frame, csv_cell)


def read_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`read_csv_cell` applied to every string cell and column
    name: what :func:`csv_frame` changed, read back as it was."""
    return _map_text(frame, read_csv_cell)


def text_cells(workbook: Any) -> int:
    """Make every string cell of an openpyxl ``workbook`` that begins with ``= + - @``, tab or
    CR a text cell showing exactly the string (openpyxl would write a leading ``=`` as a
    formula), with Excel's quote prefix so that editing the cell does not make it a formula
    either. Returns how many cells were changed.

    Call it on a workbook whose cells hold values only (siting writes no formulas).
    """
    changed = 0
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(SPREADSHEET_TRIGGERS):
                    cell.data_type = "s"  # openpyxl made "=..." a formula ("f")
                    cell.quotePrefix = True
                    changed += 1
    return changed
