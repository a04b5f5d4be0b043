"""Readers: boundaries, population tables, facility and candidate point layers.

Every reader returns a frame indexed by string ids (admin codes keep their leading zeros),
in WGS-84 lon/lat, with canonical column names. A ``columns`` mapping renames the file's
columns to the canonical ones (``{"code": "区划代码", "elderly_60plus": "60岁以上"}``).
Problems are collected and raised together, naming the file, the column, the ids and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting._errors import InputDataError
from siting._messages import Problems, preview, require_columns
from siting._record import role_zh, warn
from siting.coords import GEOGRAPHIC_EPSG, check_layer_in_china, check_lonlat, to_wgs84
from siting.io.tables import (
    FrameT,
    as_numbers,
    check_ids,
    check_mapping,
    check_numbers,
    column_label,
    existing_file,
    read_table,
    rename_columns,
    string_ids,
)
from siting.io.vector import log_reprojection, read_vector

log = logging.getLogger(__name__)


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
    (:func:`siting.inputs.cells.derive_cells`); points mixed with polygons, multi-points and a point
    layer of 街道/乡镇 are refused.

    Invalid polygons (self-intersections, bow-ties) are repaired (``make_valid``, polygon parts
    kept) and reported with their area change; a change above ``max_area_change`` (a share) is
    refused, as is any invalid polygon when ``repair`` is False.

    Canonical columns: ``code``, ``name``, ``kind`` (街道/乡镇 or 社区/村; ``urban``/``rural``
    also accepted) and, for communities, ``street_code`` (the 街道/乡镇 it belongs to).
    The result is indexed by ``code`` (text) in EPSG:4326. A file without a CRS is an error.
    """
    path = existing_file(path, f"{level} boundary")
    frame = read_vector(path, layer=layer, encoding=encoding)
    frame = rename_columns(frame, columns)
    problems = Problems(str(path))
    needed = ["code", "name", "kind"] + (["street_code"] if level == "communities" else [])
    reported = check_mapping(problems, list(frame.columns), columns)
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
        frame[col] = string_ids(frame[col])
    check_ids(problems, frame["code"], "code")
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
    log_reprojection(path, frame.crs)
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
        are, for the caller to place a site on each (:func:`siting.problem.sites.parcel_sites`).
    """
    path = existing_file(path, role)
    problems = Problems(str(path))
    if path.suffix.lower() not in {".csv", ".txt", ".xlsx", ".xls", ".xlsm"}:
        frame = rename_columns(read_vector(path, encoding=encoding), columns)
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
    table = rename_columns(read_table(path, id_cols=[(columns or {}).get("id", "id")]), columns)
    reported = check_mapping(problems, list(table.columns), columns)
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
    frame: FrameT, problems: Problems, *, source: str, role: str, id_prefix: str | None
) -> FrameT:
    """``id`` as text and checked; or, without the column and with ``id_prefix``, numbered
    from the row order (``F0001``...), which is a recorded warning (``ids_generated``)."""
    frame = frame.copy()
    if "id" in frame.columns or id_prefix is None:
        frame["id"] = string_ids(frame["id"])
        check_ids(problems, frame["id"], "id")
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
                f"column {column_label(col, renamed)} is {what} on {where} "
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
    reported = check_mapping(problems, list(frame.columns), columns)
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


def read_compounds(path: str | Path, *, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Residential compounds (小区): ``id``, ``name``, ``community_code``, ``households``,
    ``status`` (新建 new / 既有 existing) and ``care_area_m2`` (elderly-care rooms provided);
    optional ``largest_site_m2`` (the largest single room, for single-site minimums)."""
    path = existing_file(path, "compounds")
    table = rename_columns(
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
    table["id"] = string_ids(table["id"])
    table["community_code"] = string_ids(table["community_code"])
    check_ids(problems, table["id"], "id")
    check_numbers(problems, table, ["households", "care_area_m2"], "id")
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
    path = existing_file(path, "district statistics")
    table = rename_columns(read_table(path), columns)
    if len(table) != 1:
        raise InputDataError(f"{path}: expected one row (the 区县), found {len(table)}")
    problems = Problems(str(path))
    present = [c for c in ("family_care_beds", "social_workers") if c in table]
    check_numbers(problems, table.assign(code=table.get("code", "row 1")), present, "code")
    problems.raise_if_any(InputDataError)
    row = table.iloc[0]
    out: dict[str, float | str] = {c: float(row[c]) for c in present}
    if "name" in table:
        out["name"] = str(row["name"])
    return out
