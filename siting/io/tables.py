"""Reading a table as a bureau saves it (CSV in UTF-8 or GBK, an Excel sheet with notes above its
header) and the checks every table shares: a mapped column exists, ids are text and unique
(an Excel number id 1.0 is '1'), figures are numbers (a full-width minus is a minus). Nothing
here knows what a 社区 or a 街道 is: that is :mod:`siting.inputs`."""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InputDataError, InputFileNotFoundError
from siting._messages import Problems, preview
from siting._record import preview_zh, warn
from siting._text import read_csv_frame

log = logging.getLogger(__name__)

FrameT = TypeVar("FrameT", pd.DataFrame, gpd.GeoDataFrame)


_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def existing_file(path: str | Path, role: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(
            f"{role} file {str(path)!r} does not exist; check the path "
            "(relative paths in a scenario are relative to the "
            "scenario file)"
        )
    return path


def rename_columns(frame: FrameT, columns: Mapping[str, str] | None) -> FrameT:
    """The file's columns under their canonical names (``columns``: canonical -> file column).

    One file column may feed several canonical names (``{name: 名称, address: 名称}``): each
    gets a copy, in the file's column order. A file column already called like a canonical
    name that the mapping fills from another column gives way to the mapping (logged). A
    mapped column the file lacks is left to :func:`check_mapping` to report.
    """
    if not columns:
        return frame
    targets: dict[str, list[str]] = {}
    for canon, src in columns.items():
        if src in frame.columns:
            targets.setdefault(src, []).append(canon)
    filled = {c for cs in targets.values() for c in cs}
    positions: list[int] = []
    names: list[str] = []
    for k, col in enumerate(frame.columns):
        if col in targets:
            positions += [k] * len(targets[col])
            names += targets[col]
        elif col in filled:
            log.info("column %r of the file gives way to the mapping `columns:`", col)
        else:
            positions.append(k)
            names.append(col)
    out = frame.iloc[:, positions].copy()
    out.columns = pd.Index(names)
    return out


def check_mapping(
    problems: Problems, present: Sequence[str], columns: Mapping[str, str] | None
) -> set[str]:
    """A problem for each column ``columns:`` maps that the file does not have (an optional
    column mapped with a typo would otherwise vanish); returns the canonical names concerned."""
    missing = {c: s for c, s in (columns or {}).items() if s not in present and c not in present}
    for canon, src in missing.items():
        problems.add(
            f"`columns:` maps {canon!r} to {src!r}, which is not a column of the file "
            f"(columns present: {preview(list(present), 20)}); fix the name in the scenario"
        )
    return set(missing)


def number_id(value: float) -> str:
    """A code the file held as a number, as text, never turned into a different code: an
    integer-valued float below 1e15 (what a double and Excel's 15 digits hold exactly, so a
    Shapefile Double field or a NaN-widened column) loses its spurious '.0'; anything larger has
    already lost digits and stays in scientific notation ('4.19901e+20') for the joins to
    report, rather than becoming '419900999999999967232'."""
    if abs(value) < 1e15 and float(value).is_integer():
        return str(int(value))
    return f"{float(value):.15g}"


def string_ids(values: pd.Series) -> pd.Series:
    """Ids as text: text as written (stripped), integers exactly, floats by :func:`number_id`."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float):
            return number_id(v)
        return str(v).strip()

    return values.map(one)


def check_ids(
    problems: Problems, ids: pd.Series, column: str, lines: pd.Series | None = None
) -> None:
    missing = ids.isna() | (ids == "")
    if missing.any():
        rows = (
            [int(i) + 2 for i in np.flatnonzero(missing.to_numpy())]
            if lines is None
            else [int(n) for n in lines[missing]]
        )
        problems.add(
            f"column {column!r} is empty on {int(missing.sum())} row(s) (file lines "
            f"{preview(rows)}); every row needs an id"
        )
    dup = ids[ids.duplicated(keep=False) & ~missing]
    if len(dup):
        sci = sorted({str(d) for d in dup if SCIENTIFIC_ID.match(str(d))})
        hint = (
            f"; {preview(sci, 3)} are in scientific notation: a spreadsheet turned the codes "
            "into numbers and dropped their last digits, so different codes became the same. "
            "Format the column as text in Excel and enter the codes again, or re-export the "
            "table from the source system"
            if sci
            else ""
        )
        problems.add(
            f"column {column!r} has duplicate ids {preview(sorted(set(dup)))}; ids must be "
            f"unique{hint}"
        )


_MINUS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\ufe63": "-"})


def as_numbers(values: pd.Series) -> pd.Series:
    """Figures as numbers, read as a person wrote them: full-width digits, a typographic minus
    (U+2212, en/em dash), spaces and thousands separators (1,234 / 1，234) are understood;
    anything else is NaN, for the caller to report. A minus sign is never lost: −5 is -5."""

    def one(v: object) -> object:
        if not isinstance(v, str):
            return v
        text = unicodedata.normalize("NFKC", v).translate(_MINUS)
        text = re.sub(r"\s+", "", text)
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        return text

    return pd.to_numeric(values.map(one), errors="coerce")


def check_numbers(
    problems: Problems,
    frame: pd.DataFrame,
    columns: Sequence[str],
    id_col: str,
    *,
    renamed: Mapping[str, str] | None = None,
) -> None:
    for col in columns:
        if col not in frame:
            continue
        values = as_numbers(frame[col])
        bad = values.isna() | (values < 0)
        if bad.any():
            problems.add(
                f"column {column_label(col, renamed)} is empty, non-numeric or negative for ids "
                f"{preview(frame.loc[bad, id_col].tolist())} (values "
                f"{preview(frame.loc[bad, col].tolist())}); give a number >= 0"
            )
        frame[col] = values


def column_label(column: str, renamed: Mapping[str, str] | None) -> str:
    """A canonical column as the file names it: ``'60岁以上' (elderly_60plus)`` when renamed."""
    source = (renamed or {}).get(column, column)
    return repr(source) if source == column else f"{source!r} ({column})"


def read_table(
    path: str | Path,
    *,
    id_cols: Sequence[str] = ("code",),
    sheet: str | int = 0,
    header_row: int | None = None,
    header_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV or Excel table with id columns as text.

    CSV is decoded as UTF-8 (with or without BOM) and otherwise as GB18030 (a superset of the
    GBK that Chinese Windows Excel writes); the encoding used is logged. CSV ids are kept as
    written (``4.19901e+11`` stays that text, never becomes a code). Excel id cells stored as
    numbers (no leading zeros, at most 15 digits) are made text by :func:`number_id` and their
    rows recorded in ``attrs["numeric_ids"]`` (column -> rows, header = row 1), so that a join
    they fail can say that a spreadsheet turned the codes into numbers.

    The header is the first row holding every name of ``header_names`` (default: ``id_cols``),
    so a title line above it (``XX区2023年老年人口统计表``) is passed over; a header cell that
    differs from a wanted name only in spaces or full-width letters takes the wanted spelling.
    ``header_row`` (1-based) forces the row. The row is kept in ``attrs["header_row"]`` and the
    rows keep their labels, so a row's line in the file is ``header_row + 1 + label``
    (:func:`siting.inputs.population.file_lines`). Rows with no cell at all are dropped.

    With no sheet asked for (``sheet=0``), a workbook's active sheet is read when visible, else
    its first visible one (never a hidden one: last year's figures are often kept so); when it
    has several visible sheets, a recorded warning names the one read and the others. A sheet
    asked for by name is read even when hidden.
    """
    path = existing_file(path, "table")
    wanted = list(header_names or id_cols)
    if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
        sheet = _sheet_to_read(path, sheet)
        header = header_row or _header_of(
            pd.read_excel(path, sheet_name=sheet, header=None, nrows=50, dtype=object)
            .to_numpy()
            .tolist(),
            wanted,
            path,
        )
        try:
            table = pd.read_excel(
                path, sheet_name=sheet, header=header - 1, dtype=dict.fromkeys(id_cols, object)
            )
        except (ValueError, IndexError) as exc:
            raise InputDataError(f"{path}: cannot read a header on row {header}: {exc}") from exc
        table = _after_header(table, header, header_names)
        numeric: dict[str, tuple[int, ...]] = {}
        for col in [c for c in id_cols if c in table]:
            is_number = table[col].map(
                lambda v: isinstance(v, int | float | np.number) and not isinstance(v, bool)
            )
            is_number &= table[col].notna()
            if is_number.any():
                numeric[col] = tuple(int(i) + header + 1 for i in table.index[is_number])
                table.loc[is_number, col] = table.loc[is_number, col].map(number_id)
                log.info(
                    "%s: column %r holds %d code(s) stored as numbers (rows %s)",
                    path.name,
                    col,
                    len(numeric[col]),
                    preview(numeric[col]),
                )
            table[col] = table[col].map(lambda v: v if pd.isna(v) else str(v))
        if numeric:
            table.attrs["numeric_ids"] = numeric
        return table
    for enc in _TEXT_ENCODINGS:
        try:
            text = path.read_bytes().decode(enc)
        except UnicodeDecodeError:
            continue
        first = list(itertools.islice(csv.reader(io.StringIO(text)), 50))
        header = header_row or _header_of(first, wanted, path)
        try:
            table = pd.read_csv(
                io.StringIO(text),
                dtype=dict.fromkeys(id_cols, str),
                keep_default_na=True,
                skiprows=header - 1,
                skip_blank_lines=False,
            )
        except pd.errors.EmptyDataError as exc:
            raise InputDataError(f"{path}: no header on row {header}: the file is shorter") from exc
        table = _after_header(table, header, header_names)
        log.info("read %s (%d rows, encoding %s)", path.name, len(table), enc)
        # a CSV siting wrote (proposed_sites.csv as next run's facilities) has its cells that
        # begin with = + - @ quoted against formula injection: read them as the names they are
        return read_csv_frame(table)
    raise InputDataError(f"{path}: cannot be decoded as UTF-8 or GB18030; save it as UTF-8 CSV")


def _sheet_to_read(path: Path, sheet: str | int) -> str | int:
    """The sheet of an .xlsx/.xlsm workbook to read when none is asked for (``sheet=0``): the
    active sheet if visible, else the first visible one; a warning when there is a choice."""
    if sheet != 0 or path.suffix.lower() == ".xls":
        return sheet
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # pandas reads it (or says why) as before
        return sheet
    try:
        states = {ws.title: ws.sheet_state for ws in book.worksheets}
        active = book.active.title if book.active is not None else None
    finally:
        book.close()
    visible = [t for t, state in states.items() if state == "visible"]
    if not visible:
        return sheet
    chosen = str(active) if active in visible else visible[0]
    hidden = [t for t in states if t not in visible]
    if len(visible) > 1:
        how = "its active sheet" if chosen == active else "its first visible sheet"
        warn(
            "excel_sheet_chosen",
            f"{path}: read the sheet {chosen!r} ({how}); the workbook has other visible "
            f"sheet(s) {preview([t for t in visible if t != chosen])}"
            + (f" and hidden sheet(s) {preview(hidden)}" if hidden else "")
            + "; to read another, name it in the scenario as the input's `layer` (for the "
            "population table: `inputs.population.layer: <sheet name>`)",
            [chosen],
            zh=f"{path}：读取了工作表 {chosen!r}（"
            + ("当前活动工作表" if chosen == active else "第一个可见工作表")
            + f"）；工作簿另有可见工作表 {preview_zh([t for t in visible if t != chosen])}"
            + (f"和隐藏工作表 {preview_zh(hidden)}" if hidden else "")
            + "；如需读取其他工作表，请在情景文件中将其名称设为该输入的 `layer`（人口表："
            "`inputs.population.layer: <工作表名>`）",
            stacklevel=3,
        )
    elif hidden:
        log.info("%s: read the sheet %r; hidden sheet(s) %s passed over", path.name, chosen, hidden)
    return chosen


def _header_of(rows: Sequence[Sequence[object]], wanted: Sequence[str], path: Path) -> int:

    header = find_header(rows, wanted)
    if header > 1:
        above = [" ".join(str(c).strip() for c in r if clean_text(c)) for r in rows]
        log.info(
            "%s: the header is on row %d (rows above it passed over: %s)",
            path.name,
            header,
            preview([a for a in above[: header - 1] if a], 3),
        )
    return header


def _after_header(
    table: pd.DataFrame, header: int, header_names: Sequence[str] | None
) -> pd.DataFrame:
    """The rows below the header, each keeping its label (its line is ``header + 1 + label``);
    empty rows dropped; header cells that are a wanted name written with other spaces or
    widths renamed to it."""

    if header_names:
        wanted = {clean_text(w): w for w in header_names}
        table = table.rename(
            columns={
                c: wanted[clean_text(c)]
                for c in table.columns
                if clean_text(c) in wanted and c != wanted[clean_text(c)]
            }
        )
    empty = table.isna().all(axis=1)
    if empty.any():
        table = table[~empty]
    table.attrs["header_row"] = header
    return table


def clean_text(value: object) -> str:
    """Text for comparison: NFKC (full-width letters, digits and brackets to half-width) and
    every space removed (half- and full-width, inside too: ``合 计`` is ``合计``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))


def find_header(rows: Sequence[Sequence[object]], wanted: Iterable[str]) -> int:
    """The 1-based row of a table's header among its first ``rows``: the first row holding every
    name in ``wanted`` (compared by :func:`clean_text`); else the first row holding the most of
    them; else row 1."""
    want = {clean_text(w) for w in wanted} - {""}
    best, most = 1, 0
    for number, row in enumerate(rows, 1):
        found = len(want & {clean_text(c) for c in row})
        if want and found == len(want):
            return number
        if found > most:
            best, most = number, found
    return best


SCIENTIFIC_ID = re.compile(r"^[+-]?(\d+)(?:\.(\d*))?[eE][+-]?\d+$")
