"""Readers: boundaries, population tables, facility and candidate point layers.

Every reader returns a frame indexed by string ids (admin codes keep their leading zeros),
in WGS-84 lon/lat, with canonical column names. A ``columns`` mapping renames the file's
columns to the canonical ones (``{"code": "区划代码", "elderly_60plus": "60岁以上"}``).
Problems are collected and raised together, naming the file, the column, the ids and the fix.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import InputDataError, InputFileNotFoundError
from siting._messages import Problems, preview, require_columns
from siting._record import preview_zh, role_zh, warn
from siting._text import read_csv_frame
from siting.coords import GEOGRAPHIC_EPSG, check_layer_in_china, check_lonlat, to_wgs84
from siting.io.encoding import shapefile_encoding

if TYPE_CHECKING:
    from siting.inputs.population import JoinReport

log = logging.getLogger(__name__)

_Frame = TypeVar("_Frame", pd.DataFrame, gpd.GeoDataFrame)

URBAN_KINDS = {
    "社区": "社区",
    "urban": "社区",
    "村": "村",
    "rural": "村",
    "街道": "街道",
    "乡镇": "乡镇",
    "镇": "乡镇",
    "乡": "乡镇",
}
_TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def _existing(path: str | Path, role: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(
            f"{role} file {str(path)!r} does not exist; check the path "
            "(relative paths in a scenario are relative to the "
            "scenario file)"
        )
    return path


def _rename(frame: _Frame, columns: Mapping[str, str] | None) -> _Frame:
    """The file's columns under their canonical names (``columns``: canonical -> file column).

    One file column may feed several canonical names (``{name: 名称, address: 名称}``): each
    gets a copy, in the file's column order. A file column already called like a canonical
    name that the mapping fills from another column gives way to the mapping (logged). A
    mapped column the file lacks is left to :func:`_check_mapping` to report.
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


def _check_mapping(
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


def _number_id(value: float) -> str:
    """A code the file held as a number, as text, never turned into a different code: an
    integer-valued float below 1e15 (what a double and Excel's 15 digits hold exactly, so a
    Shapefile Double field or a NaN-widened column) loses its spurious '.0'; anything larger has
    already lost digits and stays in scientific notation ('4.19901e+20') for the joins to
    report, rather than becoming '419900999999999967232'."""
    if abs(value) < 1e15 and float(value).is_integer():
        return str(int(value))
    return f"{float(value):.15g}"


def _string_ids(values: pd.Series) -> pd.Series:
    """Ids as text: text as written (stripped), integers exactly, floats by :func:`_number_id`."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float):
            return _number_id(v)
        return str(v).strip()

    return values.map(one)


def _check_ids(
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
        sci = sorted({str(d) for d in dup if _SCIENTIFIC.match(str(d))})
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


def _check_numbers(
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
                f"column {_label(col, renamed)} is empty, non-numeric or negative for ids "
                f"{preview(frame.loc[bad, id_col].tolist())} (values "
                f"{preview(frame.loc[bad, col].tolist())}); give a number >= 0"
            )
        frame[col] = values


def _label(column: str, renamed: Mapping[str, str] | None) -> str:
    """A canonical column as the file names it: ``'60岁以上' (elderly_60plus)`` when renamed."""
    source = (renamed or {}).get(column, column)
    return repr(source) if source == column else f"{source!r} ({column})"


def _log_reprojection(path: Path, crs: object) -> None:
    from pyproj import CRS

    source = CRS.from_user_input(crs)
    if source.to_epsg() != 4326:
        log.info(
            "%s: %s (%s) reprojected to WGS-84 for the pipeline",
            path.name,
            source.name,
            source.to_string(),
        )


def read_vector(
    path: str | Path, *, layer: str | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector layer; a Shapefile's text encoding is detected (:mod:`.encoding`)."""
    path = Path(path)
    options: dict[str, str] = {}
    if path.suffix.lower() == ".shp":
        options["encoding"] = shapefile_encoding(path, encoding)
    elif encoding:
        options["encoding"] = encoding
    if layer:
        options["layer"] = layer
    return gpd.read_file(path, **options)


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
    numbers (no leading zeros, at most 15 digits) are made text by :func:`_number_id` and their
    rows recorded in ``attrs["numeric_ids"]`` (column -> rows, header = row 1), so that a join
    they fail can say that a spreadsheet turned the codes into numbers.

    The header is the first row holding every name of ``header_names`` (default: ``id_cols``),
    so a title line above it (``XX区2023年老年人口统计表``) is passed over; a header cell that
    differs from a wanted name only in spaces or full-width letters takes the wanted spelling.
    ``header_row`` (1-based) forces the row. The row is kept in ``attrs["header_row"]`` and the
    rows keep their labels, so a row's line in the file is ``header_row + 1 + label``
    (:func:`siting.io.population.file_lines`). Rows with no cell at all are dropped.

    With no sheet asked for (``sheet=0``), a workbook's active sheet is read when visible, else
    its first visible one (never a hidden one: last year's figures are often kept so); when it
    has several visible sheets, a recorded warning names the one read and the others. A sheet
    asked for by name is read even when hidden.
    """
    path = _existing(path, "table")
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
                table.loc[is_number, col] = table.loc[is_number, col].map(_number_id)
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
    from siting.inputs.population import clean_text, find_header

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
    from siting.inputs.population import clean_text

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


def read_boundaries(
    path: str | Path,
    *,
    level: str,
    columns: Mapping[str, str] | None = None,
    layer: str | None = None,
    repair: bool = True,
    max_area_change: float = 0.01,
    encoding: str | None = None,
    points: bool = False,
) -> gpd.GeoDataFrame:
    """Read 街道/乡镇 (``level="streets"``) or 社区/村 (``level="communities"``) polygons.

    With ``points=True`` a 社区/村 layer may instead be all points (居委会/村委会 locations,
    one per 社区/村): it is returned as points, for the caller to derive each one's cell
    (:func:`siting.cells.derive_cells`); points mixed with polygons, multi-points and a point
    layer of 街道/乡镇 are refused.

    Invalid polygons (self-intersections, bow-ties) are repaired (``make_valid``, polygon parts
    kept) and reported with their area change; a change above ``max_area_change`` (a share) is
    refused, as is any invalid polygon when ``repair`` is False.

    Canonical columns: ``code``, ``name``, ``kind`` (街道/乡镇 or 社区/村; ``urban``/``rural``
    also accepted) and, for communities, ``street_code`` (the 街道/乡镇 it belongs to).
    The result is indexed by ``code`` (text) in EPSG:4326. A file without a CRS is an error.
    """
    path = _existing(path, f"{level} boundary")
    frame = read_vector(path, layer=layer, encoding=encoding)
    frame = _rename(frame, columns)
    problems = Problems(str(path))
    needed = ["code", "name", "kind"] + (["street_code"] if level == "communities" else [])
    reported = _check_mapping(problems, list(frame.columns), columns)
    require_columns(
        problems,
        list(frame.columns),
        [c for c in needed if c not in reported],
        hint="map your column names with `columns:` in the scenario",
    )
    problems.raise_if_any(InputDataError)
    if frame.crs is None:
        raise InputDataError(
            f"{path}: the layer has no coordinate reference system (a "
            "Shapefile without .prj?); add one or convert the file to "
            "GeoPackage with its CRS"
        )
    for col in [c for c in ("code", "street_code") if c in frame]:
        frame[col] = _string_ids(frame[col])
    _check_ids(problems, frame["code"], "code")
    kinds = frame["kind"].map(lambda k: URBAN_KINDS.get(str(k).strip()))
    allowed = ("社区", "村") if level == "communities" else ("街道", "乡镇")
    bad_kind = ~kinds.isin(allowed)
    if bad_kind.any():
        problems.add(
            f"column 'kind' must be one of {allowed} but is "
            f"{preview(frame.loc[bad_kind, 'kind'].tolist())} for codes "
            f"{preview(frame.loc[bad_kind, 'code'].tolist())}"
        )
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        problems.add(f"codes {preview(frame.loc[empty, 'code'].tolist())} have no geometry")
    as_points = points and level == "communities" and _point_layer(frame, empty, problems)
    if not as_points:
        _require_polygons(frame, empty, problems, level=level, points=points)
    invalid = ~empty & ~frame.geometry.is_valid
    if invalid.any() and not repair:
        problems.add(
            f"{int(invalid.sum())} invalid polygon(s) (self-intersections), codes "
            f"{preview(frame.loc[invalid, 'code'].tolist())}; repair them (QGIS: Fix "
            "geometries) or allow `repair`"
        )
    problems.raise_if_any(InputDataError)
    if invalid.any():
        frame = _repair(frame, invalid, path, max_area_change)
    if as_points:  # a MultiPoint of one point is that point
        single = shapely.get_geometry(frame.geometry.to_numpy(), 0)
        frame = frame.set_geometry(gpd.GeoSeries(single, index=frame.index, crs=frame.crs))
    frame["kind"] = kinds
    _log_reprojection(path, frame.crs)
    out = frame.to_crs(4326).set_index("code", drop=False)
    check_layer_in_china(
        out, source=str(path), original_crs=frame.crs, original_bounds=tuple(frame.total_bounds)
    )
    out.index.name = "id"
    log.info("read %d %s from %s", len(out), level, path.name)
    return out


def _point_layer(frame: gpd.GeoDataFrame, empty: pd.Series, problems: Problems) -> bool:
    """Whether a 社区/村 layer holds points (one per 社区/村) rather than polygons; a problem
    for points mixed with other shapes and for multi-points of several points."""
    shapes = frame.geometry.geom_type
    is_point = ~empty & shapes.isin(["Point", "MultiPoint"])
    if not is_point.any():
        return False
    other = ~empty & ~is_point
    if other.any():
        found = ", ".join(f"{n} {k}" for k, n in shapes[other].value_counts().items())
        problems.add(
            f"{int(is_point.sum())} point(s) mixed with {found} (codes "
            f"{preview(frame.loc[other, 'code'].tolist())}): a 社区/村 layer is either all "
            "polygons (boundaries) or all points (居委会/村委会 locations); split the layer or "
            "give the missing boundaries"
        )
    parts = pd.Series(shapely.get_num_geometries(frame.geometry.to_numpy()), index=frame.index)
    multi = is_point & (parts > 1)
    if multi.any():
        problems.add(
            f"codes {preview(frame.loc[multi, 'code'].tolist())} are multi-points (of "
            f"{preview(parts[multi].tolist())} points); give each 社区/村 one point, its "
            "居委会/村委会 location"
        )
    return True


def _require_polygons(
    frame: gpd.GeoDataFrame, empty: pd.Series, problems: Problems, *, level: str, points: bool
) -> None:
    shapes = frame.geometry.geom_type
    not_polygon = ~empty & ~shapes.isin(["Polygon", "MultiPolygon"])
    if not_polygon.any():
        found = ", ".join(f"{n} {k}" for k, n in shapes[not_polygon].value_counts().items())
        how = (
            "a scenario's `inputs.communities` may be a layer of points (居委会 locations, "
            "cells derived from them), but `inputs.streets` must be the 街道/乡镇 polygons"
            if level == "streets"
            else "a layer of points (居委会 locations) or lines is not a boundary layer, and "
            "would place every elderly person on one street node; give the 社区/村 polygons"
            + ("" if points else ", or read the points with `points=True` and derive cells")
        )
        problems.add(
            f"{found} where {level} boundaries must be polygons (codes "
            f"{preview(frame.loc[not_polygon, 'code'].tolist())}): {how}"
        )


def _polygon_parts(geom: object) -> object:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _repair(
    frame: gpd.GeoDataFrame, invalid: pd.Series, path: Path, max_area_change: float
) -> gpd.GeoDataFrame:
    """make_valid the invalid polygons, keep their polygon parts, report the area change."""
    frame = frame.copy()
    metric = (
        frame.loc[invalid].geometry.to_crs(frame.estimate_utm_crs())
        if frame.crs.is_geographic
        else frame.loc[invalid].geometry
    )
    before = metric.area.to_numpy()
    fixed = [_polygon_parts(g) for g in shapely.make_valid(frame.loc[invalid].geometry.to_numpy())]
    fixed_series = gpd.GeoSeries(fixed, index=frame.index[invalid], crs=frame.crs)
    after = (fixed_series.to_crs(metric.crs) if frame.crs.is_geographic else fixed_series).area
    change = np.abs(after.to_numpy() - before) / np.where(before > 0, before, 1.0)
    codes = frame.loc[invalid, "code"].tolist()
    report = ", ".join(f"{c} ({100 * x:.2f}%)" for c, x in zip(codes[:10], change, strict=False))
    if (change > max_area_change).any():
        bad = [c for c, x in zip(codes, change, strict=True) if x > max_area_change]
        raise InputDataError(
            f"{path}: repairing invalid polygons would change the area of "
            f"codes {preview(bad)} by more than {max_area_change:.0%}: fix them "
            "by hand (QGIS: Fix geometries) and check the result"
        )
    message = (
        f"{path}: repaired {len(codes)} invalid polygon(s) (make_valid, polygon parts "
        f"kept); area change: {report}"
    )
    zh = f"{path}：修复了 {len(codes)} 个无效面（make_valid，保留面部分）；面积变化：{report}"
    warn("polygons_repaired", message, codes, zh=zh, stacklevel=3)
    frame.loc[invalid, "geometry"] = fixed_series
    return frame


def read_points(
    path: str | Path,
    *,
    role: str,
    coord_system: str,
    columns: Mapping[str, str] | None = None,
    numeric: Sequence[str] = (),
    required: Sequence[str] = (),
    encoding: str | None = None,
    may_be_empty: Sequence[str] = (),
    id_prefix: str | None = None,
    parcels: bool = False,
) -> gpd.GeoDataFrame:
    """Read facilities or candidate sites as points in WGS-84, indexed by ``id`` (text).

    A CSV/Excel table needs ``lon``, ``lat`` in the declared ``coord_system``
    (``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09``); GCJ-02 and BD-09 are converted to WGS-84
    (an Amap export: ``名称 类型 经度 纬度 ...`` mapped with ``columns:``). A vector layer
    (GeoPackage, GeoJSON, Shapefile) uses its own CRS; declared ``gcj02`` or ``bd09``, its
    lon/lat (a GCJ-02 layer is stored under EPSG:4326 by every tool) are converted too.

    Parameters
    ----------
    numeric
        Columns that must hold numbers >= 0 where the file has them.
    required
        Columns the file must have (``id`` always, unless ``id_prefix`` is given).
    may_be_empty
        Columns of ``numeric`` whose empty cells mean "no figure" (kept as NaN).
    id_prefix
        Without an ``id`` column, ids are generated from the row order (``F0001``, ...)
        and reported (recorded warning ``ids_generated``).
    parcels
        A vector layer may hold polygons (parcels) beside points; they are returned as they
        are, for the caller to place a site on each (:func:`siting.demand.parcel_sites`).
    """
    path = _existing(path, role)
    problems = Problems(str(path))
    if path.suffix.lower() not in {".csv", ".txt", ".xlsx", ".xls", ".xlsm"}:
        frame = _rename(read_vector(path, encoding=encoding), columns)
        out = points_frame(
            frame,
            source=str(path),
            role=role,
            numeric=numeric,
            required=required,
            may_be_empty=may_be_empty,
            id_prefix=id_prefix,
            parcels=parcels,
            columns=columns,
        )
        return _shifted_layer(out, coord_system, path)
    table = _rename(read_table(path, id_cols=[(columns or {}).get("id", "id")]), columns)
    reported = _check_mapping(problems, list(table.columns), columns)
    needed = ["lon", "lat", *required] + ([] if id_prefix else ["id"])
    require_columns(
        problems,
        list(table.columns),
        [c for c in needed if c not in reported],
        hint="map your column names with `columns:` in the scenario",
    )
    problems.raise_if_any(InputDataError)
    rows = pd.Series(np.arange(len(table)) + 2, index=table.index)  # header = line 1
    table = _with_ids(table, problems, source=str(path), role=role, id_prefix=id_prefix)
    where = "file lines"
    _check_figures(problems, table, ["lon", "lat"], rows=rows, where=where, renamed=columns)
    _check_figures(
        problems,
        table,
        numeric,
        rows=rows,
        where=where,
        renamed=columns,
        may_be_empty=may_be_empty,
    )
    problems.raise_if_any(InputDataError)
    check_lonlat(table["lon"], table["lat"], source=str(path), ids=table["id"])
    lon, lat = to_wgs84(table["lon"], table["lat"], coord_system)
    if coord_system in ("gcj02", "bd09"):
        log.info("%s: converted %d points from %s to WGS-84", path.name, len(table), coord_system)
    frame = gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(lon, lat),
        crs=GEOGRAPHIC_EPSG.get(coord_system, 4326),
    )
    out = frame.to_crs(4326).set_index("id", drop=False)
    out.index.name = "id"
    log.info("read %d %s from %s", len(out), role, path.name)
    return out


def _with_ids(
    frame: _Frame, problems: Problems, *, source: str, role: str, id_prefix: str | None
) -> _Frame:
    """``id`` as text and checked; or, without the column and with ``id_prefix``, numbered
    from the row order (``F0001``...), which is a recorded warning (``ids_generated``)."""
    frame = frame.copy()
    if "id" in frame.columns or id_prefix is None:
        frame["id"] = _string_ids(frame["id"])
        _check_ids(problems, frame["id"], "id")
        return frame
    width = max(4, len(str(len(frame))))
    ids = [f"{id_prefix}{k:0{width}d}" for k in range(1, len(frame) + 1)]
    frame["id"] = ids
    if ids:
        warn(
            "ids_generated",
            f"{source}: no `id` column: the {len(ids)} {role} are numbered "
            f"{ids[0]}–{ids[-1]} in the order of their rows (the first row is {ids[0]}); "
            "these ids change when rows are added, removed or reordered: add an id column "
            "(or map one with `columns: {id: ...}`) to keep them from run to run",
            ids,
            zh=f"{source}：没有 `id` 列：{len(ids)} 个{role_zh(role)}按行的顺序编号为 "
            f"{ids[0]}–{ids[-1]}（第一行为 {ids[0]}）；增删行或调整行序后编号会变："
            "请添加编号列（或用 `columns: {id: ...}` 映射一列），使编号在各次运行间保持不变",
            stacklevel=3,
        )
    return frame


def _check_figures(
    problems: Problems,
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    rows: pd.Series,
    where: str,
    renamed: Mapping[str, str] | None = None,
    may_be_empty: Collection[str] = (),
) -> None:
    """Columns present in ``frame`` made numbers; a problem naming the column (as the file
    calls it), the rows (``where``: file lines or features), the ids and the values for any
    non-number or negative, and for empty cells unless the column is in ``may_be_empty``."""
    for col in [c for c in columns if c in frame]:
        raw = frame[col]
        values = as_numbers(raw)
        empty = raw.isna() | raw.map(lambda v: isinstance(v, str) and not v.strip())
        bad = (values.isna() & ~empty) | (values < 0)
        if col not in may_be_empty:
            bad |= empty
        if bad.any():
            what = (
                "empty, non-numeric or negative"
                if col not in may_be_empty
                else ("non-numeric or negative")
            )
            problems.add(
                f"column {_label(col, renamed)} is {what} on {where} "
                f"{preview(rows[bad].tolist())} (ids {preview(frame.loc[bad, 'id'].tolist())}, "
                f"values {preview(raw[bad].tolist())}); give a number >= 0"
                + (" or leave the cell empty (no figure)" if col in may_be_empty else "")
            )
        frame[col] = values


def _shifted_layer(frame: gpd.GeoDataFrame, coord_system: str, path: Path) -> gpd.GeoDataFrame:
    """A layer declared GCJ-02 / BD-09 moved to WGS-84, vertex by vertex (its file says
    EPSG:4326 or 4490, as every tool writes an Amap or Baidu export)."""
    if coord_system not in ("gcj02", "bd09"):
        return frame

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], coord_system)
        return np.column_stack([lon, lat])

    out = frame.copy()
    out["geometry"] = shapely.transform(frame.geometry.to_numpy(), move)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
    log.info("%s: converted %d features from %s to WGS-84", path.name, len(out), coord_system)
    return out


def points_frame(
    frame: gpd.GeoDataFrame,
    *,
    source: str,
    role: str,
    numeric: Sequence[str] = (),
    required: Sequence[str] = (),
    may_be_empty: Sequence[str] = (),
    id_prefix: str | None = None,
    parcels: bool = False,
    columns: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Check a point layer (read from a file, or given in memory) as :func:`read_points` does:
    ``id`` (a column, or the index named ``id``; or numbered with ``id_prefix``), a CRS,
    points (and, with ``parcels``, valid polygons), numbers >= 0; WGS-84 out."""
    problems = Problems(source)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputDataError(f"{source}: {role} must be a GeoDataFrame of points with a CRS")
    if "id" not in frame.columns and frame.index.name == "id":
        frame = frame.reset_index()
    reported = _check_mapping(problems, list(frame.columns), columns)
    needed = [*required] + ([] if id_prefix else ["id"])
    require_columns(problems, list(frame.columns), [c for c in needed if c not in reported])
    problems.raise_if_any(InputDataError)
    if frame.crs is None:
        raise InputDataError(
            f"{source}: the layer has no coordinate reference system; add "
            "one (a .prj beside a Shapefile, set_crs in Python) or use a CSV with lon/lat"
        )
    frame = _with_ids(frame, problems, source=source, role=role, id_prefix=id_prefix)
    features = pd.Series(np.arange(len(frame)) + 1, index=frame.index)
    _check_figures(
        problems,
        frame,
        numeric,
        rows=features,
        where="features",
        renamed=columns,
        may_be_empty=may_be_empty,
    )
    _check_site_shapes(problems, frame, features, parcels=parcels)
    problems.raise_if_any(InputDataError)
    out = frame.to_crs(4326).set_index("id", drop=False)
    out.index.name = "id"
    check_layer_in_china(
        out, source=source, original_crs=frame.crs, original_bounds=tuple(frame.total_bounds)
    )
    log.info("read %d %s from %s", len(out), role, source)
    return out


def _check_site_shapes(
    problems: Problems, frame: gpd.GeoDataFrame, features: pd.Series, *, parcels: bool
) -> None:
    """Points; with ``parcels`` also valid polygons (parcels). Anything else is a problem."""
    shapes = frame.geometry.geom_type
    allowed = ["Point", "Polygon", "MultiPolygon"] if parcels else ["Point"]
    wrong = ~shapes.isin(allowed)
    if wrong.any():
        found = ", ".join(
            f"{n} {k}" for k, n in shapes[wrong].fillna("no geometry").value_counts().items()
        )
        want = "points or parcel polygons" if parcels else "points"
        problems.add(
            f"{found} where sites must be {want}: features "
            f"{preview(features[wrong].tolist())} (ids {preview(frame.loc[wrong, 'id'].tolist())})"
            "; give each site its point" + (" or its parcel polygon" if parcels else "")
        )
    polygon = shapes.isin(["Polygon", "MultiPolygon"])
    invalid = polygon & ~frame.geometry.is_valid
    if parcels and invalid.any():
        problems.add(
            f"{int(invalid.sum())} invalid parcel polygon(s) (self-intersections): features "
            f"{preview(features[invalid].tolist())} (ids "
            f"{preview(frame.loc[invalid, 'id'].tolist())}); their area would be wrong: "
            "repair them (QGIS: Fix geometries)"
        )


@dataclass(frozen=True, eq=False)
class Joined:
    """社区/村 with their population, every population row left out with the reason, and how
    the table was read and joined. Unpacks as ``units, excluded = join_population(...)``."""

    units: gpd.GeoDataFrame
    excluded: pd.DataFrame  # code, elderly_60plus, reason
    report: JoinReport | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.units, self.excluded))


def join_population(
    units: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    source: str,
    columns: Mapping[str, str | Sequence[str]] | None = None,
    nan_policy: Literal["raise", "drop", "zero"] = "raise",
    unmatched: Literal["error", "exclude"] = "error",
    join: Literal["code", "name"] | None = None,
    streets: pd.DataFrame | None = None,
    age_group: str = "60+",
) -> Joined:
    """Attach ``elderly_60plus``, ``residents`` and ``households`` to 社区/村 by ``code``, or by
    ``name`` within their 街道.

    Every polygon must have a row. A row without a polygon (a development zone with
    statistics but no boundary) stops the run with the codes listed, unless ``unmatched`` is
    ``exclude``: it is then left out and returned in ``excluded``. Missing or non-numeric
    figures stop the run (``nan_policy="raise"``), or set the 社区/村 to 0 (``zero``), or leave
    it out (``drop``, listed in ``excluded``); negative figures always stop it. Totals are
    logged before and after, so nothing leaves silently.

    A bureau's table (:mod:`siting.io.population`) is made tidy first: total rows (合计, 小计…)
    skipped, checked against the rows they sum and recorded; ``columns`` may map ``elderly``
    (or ``elderly_60plus``) to a list of age-band columns, added up, and age bands are found by
    their headers when nothing is mapped; ``join="name"`` (default: by code when the table has
    a ``code`` column, else by name) matches ``name`` to the 社区/村 names within the 街道 of
    ``street`` (a 街道 name, matched to ``streets``, or its 9-digit code). ``age_group``
    (60+, 65+, 80+) is the group ``elderly_60plus`` counts in the result; under another group
    than 60+ the result also has ``age_group`` and ``pop_60plus`` (the 60+ figure for the rules
    per 60+ population, empty when the table gives none).
    """
    from siting.inputs.population import shape

    code_column = str((columns or {}).get("code", "code"))
    stored_as_numbers = set(table.attrs.get("numeric_ids", {}).get(code_column, ()))
    problems = Problems(source)
    shaped = shape(
        units,
        table,
        problems=problems,
        source=source,
        columns=columns,
        join=join,
        streets=streets,
        age_group=age_group,
        unmatched=unmatched,
    )
    figure, labels = shaped.figure, shaped.labels
    needed = ["code", figure, "residents", "households"]
    found = len(problems.items)  # the table's own problems (names, bands): listed with the rest
    if shaped.report.by == "code":
        hint = "or set `join: name` to join by 社区/村 name" if "name" in shaped.present else ""
        require_columns(problems, shaped.present, ["code"], hint=hint)
    if not shaped.figure_failed:
        require_columns(problems, shaped.present, [figure])
    require_columns(problems, shaped.present, needed[2:])
    if shaped.figure_failed or len(problems.items) > found:
        problems.raise_if_any(InputDataError)
    table = shaped.table[~shaped.refused].copy()  # figures already reported as not numbers
    lines = shaped.lines[~shaped.refused]
    table["code"] = _string_ids(table["code"])
    found = len(problems.items)
    _check_ids(problems, table["code"], "code", lines)
    if len(problems.items) > found:
        problems.raise_if_any(InputDataError)
    rows = {c: int(n) for c, n in zip(table["code"], lines, strict=True)}  # lines in the file
    if shaped.refused.any():  # their 社区/村 are not "without a row": their rows are reported
        units = units.drop(
            index=_string_ids(shaped.table["code"][shaped.refused]).dropna(), errors="ignore"
        )
    values = table[needed[1:]].apply(as_numbers)
    negative = (values < 0).any(axis=1)
    for col in needed[1:]:
        below = values[col] < 0
        if below.any():
            problems.add(
                f"column {_label(col, labels)} has negative figures for codes "
                f"{preview(table.loc[below, 'code'].tolist())} (values "
                f"{preview(table.loc[below, col].tolist())}); population counts cannot be "
                "negative"
            )
    missing = values.isna().any(axis=1) & ~negative
    excluded = list(shaped.excluded)
    if missing.any() and nan_policy == "raise":
        _check_numbers(problems, table.loc[missing].copy(), needed[1:], "code", renamed=labels)
        problems.items[-1] += (  # the fix of the problem above, not a problem of its own
            "; set `nan_policy: zero` (count them as 0) or `drop` (leave the 社区/村 "
            "out, listed) if that is what the figures mean"
        )
    elif missing.any():
        codes = table.loc[missing, "code"].tolist()
        warn(
            "population_missing_figures",
            f"{source}: {len(codes)} row(s) with missing figures, codes {preview(codes)}: "
            + ("set to 0 (nan_policy: zero)" if nan_policy == "zero" else "left out (drop)"),
            codes,
            zh=f"{source}：{len(codes)} 行缺少数值，代码 {preview_zh(codes)}："
            + ("按 0 计（nan_policy: zero）" if nan_policy == "zero" else "已剔除（drop）"),
        )
        if nan_policy == "zero":
            values = values.fillna(0.0)
        else:
            excluded += [
                {
                    "code": c,
                    "elderly_60plus": values.loc[i, figure],
                    "reason": "missing population figures (nan_policy: drop)",
                }
                for i, c in zip(table.index[missing], codes, strict=True)
            ]
            units = units.drop(index=[c for c in codes if c in units.index])
            values, table = values[~missing], table[~missing]
    table = table.assign(**{c: values[c] for c in needed[1:]})
    no_row = sorted(set(units.index) - set(table["code"]))
    no_polygon = sorted(set(table["code"].dropna()) - set(units.index))
    row_damage = _damaged_codes(no_polygon, set(units.index), rows, stored_as_numbers)
    polygon_damage = _damaged_codes(no_row, set(table["code"].dropna()), {}, set())
    if no_row:
        problems.add(
            f"{len(no_row)} 社区/村 in the boundaries have no population row: codes "
            f"{preview(no_row)}; add rows or check the "
            + ("codes (leading zeros?)" if shaped.report.by == "code" else "names")
        )
    if no_polygon and unmatched == "error":
        lost = table.loc[table["code"].isin(no_polygon), figure].sum()
        problems.add(
            f"{len(no_polygon)} population rows match no boundary polygon: codes "
            f"{preview(no_polygon)} ({lost:,.0f} elderly); add their polygons, remove the "
            "rows, or set `unmatched: exclude` to leave them out (listed in summary.json)"
        )
    # under `exclude`, a row whose code is certainly damaged is no zone without a polygon
    certain = {c: d for c, d in row_damage.items() if d[1]}
    if certain and unmatched == "exclude":
        problems.add(
            f"{len(certain)} population row(s) match no boundary polygon because their codes "
            "are damaged, not because they are zones without one (`unmatched: exclude` "
            "leaves out only those)"
        )
    if problems and row_damage:
        problems.add(
            f"in {source}, column {code_column!r}: a spreadsheet turned codes into numbers: "
            f"{_describe_damage(row_damage)}. They are not repaired here (lost digits cannot "
            "be recovered, and a guess would join the wrong 社区/村). Format the code column "
            "as text in Excel (select the column, Format Cells > Text, then enter or paste the "
            "codes again: a number keeps no leading zeros and at most 15 digits, and a narrow "
            "column saves it as 4.19901E+11), or re-export the table from its source with the "
            "codes as text; then run again"
        )
    if problems and polygon_damage:
        problems.add(
            "in the boundary layer, column 'code': codes look turned into numbers: "
            f"{_describe_damage(polygon_damage)}. Store the code field as text (a string "
            "field; QGIS: Refactor fields) or re-export the layer from its source, then run "
            "again"
        )
    problems.raise_if_any(InputDataError)
    for code in no_polygon:
        excluded.append(
            {
                "code": code,
                "elderly_60plus": float(table.loc[table["code"] == code, figure].iloc[0]),
                "reason": "statistics without a boundary polygon (unmatched: exclude)",
            }
        )
    kept = [figure, "residents", "households"]
    joined = units.join(
        table.set_index("code")[kept].rename(columns={figure: "elderly_60plus"}), how="left"
    )
    if age_group != "60+":
        ratio = pd.to_numeric(table.set_index("code")["pop_60plus"], errors="coerce")
        joined["age_group"] = age_group
        joined["pop_60plus"] = ratio.reindex(joined.index)
    out = pd.DataFrame(excluded, columns=["code", "elderly_60plus", "reason"])
    report = shaped.report
    if len(out):
        gone = set(out["code"])
        report = replace(report, matches=report.matches[~report.matches["code"].isin(gone)])
    log.info(
        "joined population: %d 社区/村, %s elderly (%s), %s residents; %d row(s) left out "
        "(%s elderly)",
        len(joined),
        f"{joined['elderly_60plus'].sum():,.0f}",
        age_group,
        f"{joined['residents'].sum():,.0f}",
        len(out),
        f"{out['elderly_60plus'].sum():,.0f}",
    )
    return Joined(joined, out, report)


_SCIENTIFIC = re.compile(r"^[+-]?(\d+)(?:\.(\d*))?[eE][+-]?\d+$")
_POINT_ZERO = re.compile(r"^(\d+)\.0*$")


def _damaged_codes(
    unmatched: Sequence[str],
    others: Collection[str],
    rows: Mapping[str, int],
    stored_as_numbers: Collection[int],
) -> dict[str, tuple[str, bool]]:
    """Unmatched codes that a spreadsheet seems to have turned into numbers: per code, what
    happened (with its row, header = row 1, when known) and whether that is certain (digits
    gone, or the code matches the other side once read back) rather than only likely.

    Nothing is repaired: the codes are only described, for the join's error."""
    padded: dict[str, list[str]] = {}
    for code in others:
        if code.startswith("0") and code.isdigit():
            padded.setdefault(code.lstrip("0"), []).append(code)
    rounded: dict[tuple[int, int], dict[str, list[str]]] = {}  # (length, digits kept) -> ...

    def rounded_from(digits: str) -> list[str]:
        """Codes of the same length rounding to ``digits`` at its significant digits (the 6
        of '4.19901E+11', read back as 419901000000); none unless it ends in zeros."""
        kept = len(digits.rstrip("0"))
        if kept == 0 or len(digits) - kept < 3:
            return []
        key = (len(digits), kept)
        if key not in rounded:
            scale = 10 ** (len(digits) - kept)
            table: dict[str, list[str]] = {}
            for o in others:
                if len(o) == len(digits) and o.isdigit():
                    near = str((int(o) + scale // 2) // scale * scale).zfill(len(o))
                    table.setdefault(near, []).append(o)
            rounded[key] = table
        return sorted(rounded[key].get(digits, []))

    out: dict[str, tuple[str, bool]] = {}
    for code in unmatched:
        row = rows.get(code)
        where = f"row {row}: " if row is not None else ""
        sci = _SCIENTIFIC.match(code)
        point_zero = _POINT_ZERO.match(code)
        digits = point_zero.group(1) if point_zero else code
        if sci:
            kept = len((sci.group(1) + (sci.group(2) or "")).strip("0")) or 1
            value = float(code)
            near = rounded_from(str(int(value))) if 0 < value < 1e18 else []
            fits = f"; {preview(near, 3)} on the other side all fit it" if len(near) > 1 else ""
            out[code] = (f"{where}scientific notation, only {kept} digit(s) left{fits}", True)
        elif digits in others:
            out[code] = (f"{where}{digits!r} written as a number with '.0'", True)
        elif digits.isdigit() and digits in padded:
            out[code] = (
                f"{where}lost its leading zero(s), as {preview(padded[digits], 3)} on the other "
                "side?",
                True,
            )
        elif digits.isdigit() and (near := rounded_from(digits)):
            out[code] = (
                f"{where}digits lost as a number? {preview(near, 3)} on the other side round to it",
                False,
            )
        elif point_zero:
            out[code] = (f"{where}written as a number with '.0'", False)
        elif row in stored_as_numbers:
            out[code] = (f"{where}stored as a number in the workbook", False)
    return out


def _describe_damage(damage: Mapping[str, tuple[str, bool]]) -> str:
    items = [f"{code!r} ({what})" for code, (what, _) in damage.items()]
    more = f", ... ({len(items)} in all)" if len(items) > 10 else ""
    return ", ".join(items[:10]) + more


def check_hierarchy(
    communities: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, source: str
) -> None:
    """Every 社区/村 must name an existing 街道/乡镇 in ``street_code``."""
    orphans = communities.loc[~communities["street_code"].isin(streets.index), "code"]
    if len(orphans):
        raise InputDataError(
            f"{source}: {len(orphans)} 社区/村 name a street_code that is not in the 街道/乡镇 "
            f"layer: codes {preview(orphans.tolist())} with street_code "
            f"{preview(communities.loc[orphans.index, 'street_code'].unique().tolist())}"
        )


def read_compounds(path: str | Path, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Residential compounds (小区): ``id``, ``name``, ``community_code``, ``households``,
    ``status`` (新建 new / 既有 existing) and ``care_area_m2`` (elderly-care rooms provided);
    optional ``largest_site_m2`` (the largest single room, for single-site minimums)."""
    path = _existing(path, "compounds")
    table = _rename(
        read_table(
            path,
            id_cols=[
                (columns or {}).get("id", "id"),
                (columns or {}).get("community_code", "community_code"),
            ],
        ),
        columns,
    )
    problems = Problems(str(path))
    needed = ["id", "name", "community_code", "households", "status", "care_area_m2"]
    require_columns(problems, list(table.columns), needed)
    problems.raise_if_any(InputDataError)
    table["id"] = _string_ids(table["id"])
    table["community_code"] = _string_ids(table["community_code"])
    _check_ids(problems, table["id"], "id")
    _check_numbers(problems, table, ["households", "care_area_m2"], "id")
    bad = ~table["status"].isin(["新建", "既有", "new", "existing"])
    if bad.any():
        problems.add(
            f"column 'status' must be 新建/既有 (or new/existing) but is "
            f"{preview(table.loc[bad, 'status'].tolist())} for ids "
            f"{preview(table.loc[bad, 'id'].tolist())}"
        )
    problems.raise_if_any(InputDataError)
    return table


def read_district_stats(
    path: str | Path, *, columns: Mapping[str, str] | None = None
) -> dict[str, float | str]:
    """One 区县 row of service statistics: ``family_care_beds``, ``social_workers``
    (either may be absent; the checks then say the data is missing); optional ``name``."""
    path = _existing(path, "district statistics")
    table = _rename(read_table(path), columns)
    if len(table) != 1:
        raise InputDataError(f"{path}: expected one row (the 区县), found {len(table)}")
    problems = Problems(str(path))
    present = [c for c in ("family_care_beds", "social_workers") if c in table]
    _check_numbers(problems, table.assign(code=table.get("code", "row 1")), present, "code")
    problems.raise_if_any(InputDataError)
    row = table.iloc[0]
    out: dict[str, float | str] = {c: float(row[c]) for c in present}
    if "name" in table:
        out["name"] = str(row["name"])
    return out
