"""The inputs of one scenario, read and cross-checked: :func:`load_inputs` -> :class:`Inputs`.

Every layer the scenario names is read with the :mod:`siting.io.read` readers (or taken from
memory, for scripted what-ifs), facility types are made canonical (:mod:`siting.rules.types`),
and the layers are checked against each other (hierarchy, distinct ids, compounds' codes).
Raises on the first failing layer, or, for ``check-data``, lists every one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import geopandas as gpd
import pandas as pd

from siting._errors import InputDataError, ScenarioError, SitingError
from siting._validate import preview
from siting.checks import Finding, from_error
from siting.io import read
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


def _boundaries(layer: BoundaryLayer, level: str) -> gpd.GeoDataFrame:
    return read.read_boundaries(
        layer.path,
        level=level,
        columns=layer.columns,
        layer=layer.layer,
        repair=layer.repair,
        max_area_change=layer.max_area_change,
        encoding=layer.encoding,
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
    if streets is not None and communities is not None:
        attempt(
            "boundaries",
            lambda: read.check_hierarchy(communities, streets, source=str(i.communities.path)),
        )
    joined = attempt("population", lambda: _population(sc, communities))
    book = load_rules(sc.rules.set, sc.rules.overrides)
    cv = sc.coverage
    types = attempt(
        "facilities", lambda: type_table(book, cv.circle_types, cv.extra_facility_types)
    )
    given_fac, given_cand = facilities, candidates
    facilities = (
        None if types is None else attempt("facilities", lambda: _facilities(sc, types, given_fac))
    )
    candidates = attempt("candidates", lambda: _candidates(sc, given_cand))
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
    )


def _population(sc: Scenario, communities: gpd.GeoDataFrame | None) -> read.Joined | None:
    p = sc.inputs.population
    table = read.read_table(p.path, id_cols=[p.columns.get("code", "code")])
    if communities is None:  # the table is still read and its own problems reported
        return None
    return read.join_population(
        communities,
        table,
        source=str(p.path),
        columns=p.columns,
        nan_policy=p.nan_policy,
        unmatched=p.unmatched,
    )


def _facilities(sc: Scenario, types: TypeTable, given: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    layer = sc.inputs.facilities
    if given is not None:
        source = "facilities given in memory"
        frame = read.points_frame(
            given, source=source, role="facilities", numeric=["land_area_m2"], required=["type"]
        )
        return normalise_types(frame, types, source=source)
    frame = read.read_points(
        layer.path,
        role="facilities",
        coord_system=layer.coord_system,
        columns=layer.columns,
        encoding=layer.encoding,
        numeric=["land_area_m2"],
        required=["type"],
    )
    return normalise_types(frame, types, source=str(layer.path))


def _candidates(sc: Scenario, given: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    layer = sc.inputs.candidates
    if given is not None:
        return read.points_frame(given, source="candidates given in memory", role="candidates")
    if layer is not None:
        return read.read_points(
            layer.path,
            role="candidates",
            coord_system=layer.coord_system,
            columns=layer.columns,
            encoding=layer.encoding,
        )
    if sc.candidate_generation is not None:
        return gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs=4326)
    raise ScenarioError("give `inputs.candidates` or `candidate_generation`")


def _distinct_ids(sc: Scenario, facilities: pd.DataFrame, candidates: pd.DataFrame) -> None:
    clash = sorted(set(facilities.index) & set(candidates.index))
    if clash:
        raise InputDataError(
            f"{_candidates_source(sc)}: candidate ids {preview(clash)} are also "
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


def _candidates_source(sc: Scenario) -> str:
    """Where the candidates came from, for messages."""
    layer = sc.inputs.candidates
    return str(layer.path) if layer is not None else "the generated candidates"
