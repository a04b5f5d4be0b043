"""The inputs of one scenario, read and cross-checked: :func:`load_inputs` -> :class:`Inputs`.

Every layer the scenario names is read with the :mod:`siting.inputs.layers` readers (or taken from
memory, for scripted what-ifs), facility types are made canonical (:mod:`siting.rules.types`),
and the layers are checked against each other (hierarchy, distinct ids, compounds' codes).
Raises on the first failing layer, or, for ``check-data``, lists every one.

Bureau shapes enter here, each in one step: 社区/村 given as points become their cells
(:func:`siting.inputs.cells.derive_cells`, right after the 街道/乡镇 are read); candidates given as
parcels get their land (the column, else the parcel's area) and a provisional point inside the
parcel, moved by :func:`place_parcel_sites` to the parcel's point nearest a street once the
network exists; facilities without ids or land (an Amap export) are numbered and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import InputDataError, ScenarioError, SitingError
from siting._messages import preview
from siting._record import preview_zh, warn
from siting.coords import analysis_crs
from siting.inputs import cells, join
from siting.inputs import layers as read
from siting.inputs.findings import Finding, candidates_source, from_error
from siting.inputs.population import JoinReport
from siting.io.tables import read_table
from siting.rules.book import load_rules
from siting.rules.types import TypeTable, normalise_types, type_table
from siting.scenario import BoundaryLayer, Scenario

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    """Every input layer, read and checked, in WGS-84."""

    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame  # with elderly_60plus, residents, households
    facilities: gpd.GeoDataFrame  # `type` canonical (siting.rules.types)
    candidates: gpd.GeoDataFrame
    compounds: pd.DataFrame | None = None
    district_stats: dict[str, float | str] | None = None
    excluded_population: pd.DataFrame | None = None  # rows left out, with the reason
    circle_types: tuple[str, ...] = ()  # the canonical facility types that form circles
    candidates_have_land: bool = True  # False: land_area_m2 was missing and is 0 here
    population_join: JoinReport | None = None  # how the population table was read and joined
    # "points": the 社区/村 were given as 居委会 points and `communities` holds their derived
    # cells (siting.inputs.cells); the points themselves in `community_points` (WGS-84)
    community_geometry: str = "polygons"
    community_points: gpd.GeoSeries | None = None
    # candidates given as parcels: the polygons by candidate id (WGS-84); `candidates` holds
    # their sites (points), placed on the streets by `place_parcel_sites` once there is a network
    parcels: gpd.GeoSeries | None = None

    @property
    def age_group(self) -> str:
        """The age group every elderly figure counts (60+, 65+, 80+)."""
        return self.population_join.age_group if self.population_join else "60+"

    @property
    def age_label(self) -> str:
        """The age group as the outputs say it: ``60岁以上``."""
        return self.population_join.age_label if self.population_join else "60岁以上"


def _boundaries(layer: BoundaryLayer, level: str) -> gpd.GeoDataFrame:
    return read.read_boundaries(
        layer.path,
        level=level,
        columns=layer.columns,
        layer=layer.layer,
        repair=layer.repair,
        max_area_change=layer.max_area_change,
        encoding=layer.encoding,
        points=level == "communities",  # 居委会 points: cells derived below (siting.inputs.cells)
    )


def load_inputs(
    sc: Scenario,
    *,
    errors: list[Finding] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> Inputs | None:
    """Read and cross-check every input layer named by the scenario.

    Without ``errors`` the first layer that fails raises. With a list, every layer is tried,
    each failure is appended as a finding (so ``check-data`` lists them all) and the result is
    None when anything failed. ``facilities`` / ``candidates``: point layers in memory used
    instead of the scenario's files, with the same checks.
    """
    failed: list[Finding] = []

    def attempt(item: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except SitingError as exc:
            if errors is None:
                raise
            failed.append(from_error(item, exc))
            return None

    i = sc.inputs
    streets = attempt("boundaries", lambda: _boundaries(i.streets, "streets"))
    communities = attempt("boundaries", lambda: _boundaries(i.communities, "communities"))
    community_points = None
    if communities is not None and cells.is_point_layer(communities):
        community_points = communities.geometry
        if streets is None:  # no 街道/乡镇 to derive cells in: nothing to join either
            communities = None
    if streets is not None and communities is not None:
        units, st, source = communities, streets, str(i.communities.path)
        if community_points is None:
            attempt("boundaries", lambda: join.check_hierarchy(units, st, source=source))
        else:
            communities = attempt("boundaries", lambda: _cells(units, st, source=source))
    joined = attempt("population", lambda: _population(sc, communities, streets))
    book = load_rules(sc.rules.set, sc.rules.overrides)
    cv = sc.coverage
    types = attempt(
        "facilities",
        lambda: type_table(
            book,
            None if cv.facility_types is None else cv.circle_types,
            cv.extra_facility_types,
        ),
    )
    given_fac, given_cand = facilities, candidates
    facilities = (
        None if types is None else attempt("facilities", lambda: _facilities(sc, types, given_fac))
    )
    candidates = attempt("candidates", lambda: _candidates(sc, given_cand))
    parcels = None
    if candidates is not None:
        cand = candidates
        reference = communities if communities is not None else cand
        placed = attempt("candidates", lambda: _parcels(sc, cand, reference))
        candidates, parcels = placed if placed is not None else (None, None)
    if facilities is not None and candidates is not None:
        fac, cand = facilities, candidates
        attempt("candidates", lambda: _distinct_ids(sc, fac, cand))
    compounds = None
    if i.compounds is not None and joined is not None:
        compounds = attempt("compounds", lambda: _compounds(sc, joined.units))
    district_stats = None
    stats = i.district_stats
    if stats is not None:
        district_stats = attempt(
            "district_stats", lambda: read.read_district_stats(stats.path, columns=stats.columns)
        )
    if errors is not None:
        errors += failed
    if failed or streets is None or joined is None or facilities is None or candidates is None:
        return None
    assert types is not None
    has_land = "land_area_m2" in candidates
    if not has_land:
        candidates = candidates.assign(land_area_m2=0.0)
    return Inputs(
        streets,
        joined.units,
        facilities,
        candidates,
        compounds,
        district_stats,
        joined.excluded,
        circle_types=types.circle,
        candidates_have_land=has_land,
        population_join=joined.report,
        community_geometry="points" if community_points is not None else "polygons",
        community_points=community_points,
        parcels=parcels,
    )


def _cells(points: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """社区/村 given as points: checked against the 街道/乡镇, their cells derived."""
    join.check_hierarchy(points, streets, source=source)
    return cells.derive_cells(points, streets, source=source)


def _population(
    sc: Scenario, communities: gpd.GeoDataFrame | None, streets: gpd.GeoDataFrame | None
) -> join.Joined | None:
    """The population table read (header found, ids as text) and joined to the 社区/村: by
    code, or by name within the 街道 of the 街道/乡镇 layer (read before it)."""
    p = sc.inputs.population
    ids = [str(p.columns.get(key, key)) for key in ("code", "street")]
    table = read_table(
        p.path,
        id_cols=ids,
        sheet=p.layer if p.layer is not None else 0,
        header_row=p.header_row,
        header_names=p.header_names(),
    )
    if communities is None:  # the table is still read and its own problems reported
        return None
    if p.join == "name" and "street" in p.columns and streets is None:
        return None  # the 街道/乡镇 layer failed: reported as such
    joined = join.join_population(
        communities,
        table,
        source=str(p.path),
        columns=p.columns,
        nan_policy=p.nan_policy,
        unmatched=p.unmatched,
        join=p.join,
        streets=streets,
        age_group=p.age_group,
    )
    report = joined.report
    if sc.projection is not None and report is not None and "elderly_60plus" in report.figures:
        warn(
            "population_60plus_not_projected",
            f"{p.path}: the projection grows the {p.age_group} figure; the 60+ figure the rules "
            "per 60+ population divide by stays as the table gives it (base year)",
            zh=f"{p.path}：人口预测只推算 {p.age_group} 人数；按每 60 岁及以上人口计算的规则所用的"
            "60 岁及以上人数仍为表中数值（基年）",
        )
    return joined


FACILITY_FIGURES = ["land_area_m2", "floor_area_m2", "beds", "nursing_beds"]
"""Facility columns that are numbers >= 0 where given; an empty cell is "no figure"."""


def _facilities(sc: Scenario, types: TypeTable, given: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Facilities: ``type`` and a location required; ``id`` numbered from the row order when
    the file has none (an Amap export); land, floor area and beds optional (no figure)."""
    layer = sc.inputs.facilities
    if given is not None:
        source = "facilities given in memory"
        frame = read.points_frame(
            given,
            source=source,
            role="facilities",
            required=["type"],
            numeric=FACILITY_FIGURES,
            may_be_empty=FACILITY_FIGURES,
        )
        _facilities_without_land(frame, source=source)
        return normalise_types(frame, types, source=source)
    frame = read.read_points(
        layer.path,
        role="facilities",
        coord_system=layer.coord_system,
        columns=layer.columns,
        encoding=layer.encoding,
        required=["type"],
        numeric=FACILITY_FIGURES,
        may_be_empty=FACILITY_FIGURES,
        id_prefix="F",
    )
    _facilities_without_land(frame, source=str(layer.path))
    return normalise_types(frame, types, source=str(layer.path))


def _facilities_without_land(frame: gpd.GeoDataFrame, *, source: str) -> None:
    """Facilities without a land figure (no column, as in an Amap export, or empty cells):
    a recorded warning; the land check counts them as no data, never as 0 m²."""
    land = frame["land_area_m2"] if "land_area_m2" in frame else pd.Series(np.nan, frame.index)
    ids = [str(i) for i in frame.index[land.isna().to_numpy()]]
    if not ids:
        return
    what = "no land_area_m2 column" if "land_area_m2" not in frame else "empty land_area_m2"
    warn(
        "facilities_without_land",
        f"{source}: {len(ids)} of {len(frame)} facilities have no land figure ({what}): ids "
        f"{preview(ids)}. The land check counts only the land given, never these as 0 m²: a "
        "街道/乡镇 short on the known land has no verdict (no data; land_check.csv counts "
        "them in facilities_without_land); map the land column (`columns: {land_area_m2: "
        "...}`) for a verdict",
        ids,
        zh=f"{source}：{len(frame)} 个设施中 {len(ids)} 个没有用地面积（"
        + ("无 land_area_m2 列" if "land_area_m2" not in frame else "land_area_m2 为空")
        + f"）：编号 {preview_zh(ids)}。用地核算只计已给出的用地，绝不把这些设施计为 0 m²：已知用地"
        "不足的街道/乡镇不下结论（无数据；land_check.csv 的 facilities_without_land 列计有这些"
        "设施）；映射用地列（`columns: {land_area_m2: ...}`）即可得出结论",
        stacklevel=3,
    )


def _candidates(sc: Scenario, given: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Candidates as read: points, or parcel polygons (made sites by :func:`_parcels`)."""
    layer = sc.inputs.candidates
    land = ["land_area_m2"]
    if given is not None:
        return read.points_frame(
            given,
            source="candidates given in memory",
            role="candidates",
            numeric=land,
            may_be_empty=land,
            parcels=True,
        )
    if layer is not None:
        return read.read_points(
            layer.path,
            role="candidates",
            coord_system=layer.coord_system,
            columns=layer.columns,
            encoding=layer.encoding,
            numeric=land,
            may_be_empty=land,
            id_prefix="C",
            parcels=True,
        )
    if sc.candidate_generation is not None:
        return gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=4326)
    raise ScenarioError("give `inputs.candidates` or `candidate_generation`")


def _parcels(
    sc: Scenario, frame: gpd.GeoDataFrame, reference: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries | None]:
    """Candidates with a point each, and the parcel polygons of those given as parcels.

    A parcel's land is its ``land_area_m2`` where given, else its area in the analysis CRS
    (that of ``reference``, the 社区/村, as the run's); ``land_source`` says which, per
    candidate. Its point is provisional (inside the parcel) until :func:`place_parcel_sites`
    puts it on the parcel's edge nearest a street. A point candidate without a land figure is
    a recorded warning, and an error under ``model.min_land_area_m2``.
    """
    source = candidates_source(sc)
    frame = frame.copy()
    is_parcel = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    given = "land_area_m2" in frame
    land = frame["land_area_m2"].astype(float) if given else pd.Series(np.nan, index=frame.index)
    from_area = is_parcel & land.isna().to_numpy()
    parcels = frame.geometry[is_parcel] if is_parcel.any() else None
    if parcels is not None:
        crs = analysis_crs(float(reference.to_crs(4326).union_all().centroid.x))
        area = frame.geometry[from_area].to_crs(crs).area.round(1)
        land[from_area] = area
        if from_area.any():
            shown = ", ".join(f"{i} {a:,.0f} m²" for i, a in area.head(10).items())
            warn(
                "candidate_land_from_parcel_area",
                f"{source}: {int(from_area.sum())} of {int(is_parcel.sum())} candidate parcel(s) "
                f"have no land figure: their land is the parcel's area in {crs} (CGCS2000 "
                f"Gauss-Krüger, the run's analysis CRS): {shown}"
                + (", ..." if from_area.sum() > 10 else "")
                + (
                    f"; the other {int(is_parcel.sum() - from_area.sum())} use land_area_m2"
                    if given
                    else ""
                ),
                frame.index[from_area],
                zh=f"{source}：{int(is_parcel.sum())} 个候选地块中 {int(from_area.sum())} 个"
                f"没有用地面积：其用地按地块在 {crs}（CGCS2000 高斯-克吕格投影，本次分析坐标系）"
                f"中的面积计：{shown}"
                + ("，……" if from_area.sum() > 10 else "")
                + (
                    f"；其余 {int(is_parcel.sum() - from_area.sum())} 个采用 land_area_m2"
                    if given
                    else ""
                ),
            )
        frame["land_source"] = np.where(
            from_area, f"parcel area ({crs})", np.where(land.notna(), "land_area_m2", "")
        )
        frame = frame.set_geometry(
            frame.geometry.where(~is_parcel, frame.geometry.representative_point())
        )
        frame["parcel_street_m"] = np.nan  # set by place_parcel_sites
        log.info("%s: %d candidate(s) given as parcels", source, int(is_parcel.sum()))
    if given or parcels is not None:
        frame["land_area_m2"] = land
    missing = frame.index[land.isna().to_numpy()] if "land_area_m2" in frame else []
    if len(missing):
        _no_land_figure(sc, source, list(missing))
    return frame, parcels


def _no_land_figure(sc: Scenario, source: str, ids: list[str]) -> None:
    """Candidates with an empty land cell: reported; refused under a land filter."""
    least = sc.model.min_land_area_m2
    if least is not None:
        raise InputDataError(
            f"{source}: column 'land_area_m2' is empty for candidate ids {preview(ids)}, and "
            f"`model.min_land_area_m2` ({least:g}) needs every candidate's land: give their "
            "land, or leave them out of the file"
        )
    warn(
        "candidates_without_land",
        f"{source}: {len(ids)} candidate(s) have no land figure (empty land_area_m2): ids "
        f"{preview(ids)}; as proposed sites they add no land in the land check",
        ids,
        zh=f"{source}：{len(ids)} 个候选点没有用地面积（land_area_m2 为空）：编号 "
        f"{preview_zh(ids)}；作为规划站点时，用地核算中不计其用地",
    )


def _distinct_ids(sc: Scenario, facilities: pd.DataFrame, candidates: pd.DataFrame) -> None:
    clash = sorted(set(facilities.index) & set(candidates.index))
    if clash:
        raise InputDataError(
            f"{candidates_source(sc)}: candidate ids {preview(clash)} are also "
            f"facility ids in {sc.inputs.facilities.path}; ids must be distinct"
        )


def _compounds(sc: Scenario, communities: gpd.GeoDataFrame) -> pd.DataFrame:
    layer = sc.inputs.compounds
    assert layer is not None
    compounds = read.read_compounds(layer.path, columns=layer.columns)
    unknown = sorted(set(compounds["community_code"]) - set(communities.index))
    if unknown:
        raise InputDataError(
            f"{layer.path}: community_code {preview(unknown)} match no 社区/村 in "
            f"{sc.inputs.communities.path}; fix the codes (leading zeros?)"
        )
    return compounds
