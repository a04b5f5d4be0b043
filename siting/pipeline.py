"""The whole job for one scenario, stage by stage, returning plain results (no files written).

load -> project -> network -> demand & sites -> costs -> coverage -> MCLP -> land check.
:func:`run` is what ``siting run`` calls; :mod:`siting.report` and :mod:`siting.maps` turn
its :class:`RunResult` into files.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse

from siting import costs, coverage, demand, network
from siting._errors import InputDataError, ScenarioError, SitingError
from siting._record import Note, recording, warn
from siting._validate import preview
from siting.checks import Finding, enforce, from_error, input_checks, network_checks
from siting.coords import analysis_crs
from siting.io import read
from siting.models import (
    LSCP,
    MCLP,
    CapacitatedMCLP,
    PCenter,
    PMedian,
    SiteGain,
    TargetCoverage,
    build_order,
)
from siting.models.candidates import generate_candidates
from siting.models.pcenter import CutoffTooShortError
from siting.rules import land_check
from siting.rules.book import RuleBook, load_rules
from siting.rules.checks import ComplianceData, check_all
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


@dataclass(frozen=True)
class RunResult:
    """Everything a run computed, in the analysis CRS, ready for reports and maps."""

    scenario: Scenario
    crs: str
    inputs: Inputs
    demand: gpd.GeoDataFrame  # demand points with weight, radius_m, covered_before/after
    sites: pd.DataFrame  # every site column of the cost matrix: id, role, node, snap_m
    cost: sparse.csr_matrix
    model: ModelOutcome
    communities: pd.DataFrame  # coverage per 社区/村
    units: pd.DataFrame  # coverage per 街道/乡镇
    land: pd.DataFrame
    rules: RuleBook
    compliance: pd.DataFrame  # siting.rules.checks.COLUMNS
    compliance_data: ComplianceData  # re-check under another set: check_all(book, this)
    proposed: gpd.GeoDataFrame  # selected candidates in build order, WGS-84
    service_areas: gpd.GeoDataFrame  # per open circle facility (role, tier), analysis CRS
    timings_s: dict[str, float] = field(default_factory=dict)
    warnings: tuple[Note, ...] = ()  # every recorded warning of the run, in order


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


def load_inputs(sc: Scenario, *, errors: list[Finding] | None = None) -> Inputs | None:
    """Read and cross-check every input layer named by the scenario.

    Without ``errors`` the first layer that fails raises. With a list, every layer is tried,
    each failure is appended as a finding (so ``check-data`` lists them all) and the result is
    None when anything failed.
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
    facilities = None if types is None else attempt("facilities", lambda: _facilities(sc, types))
    candidates = attempt("candidates", lambda: _candidates(sc))
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


def _facilities(sc: Scenario, types: TypeTable) -> gpd.GeoDataFrame:
    layer = sc.inputs.facilities
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


def _candidates(sc: Scenario) -> gpd.GeoDataFrame:
    layer = sc.inputs.candidates
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


def _sites(inp: Inputs) -> pd.DataFrame:
    serving = inp.facilities[inp.facilities["type"].isin(inp.circle_types)]
    other = inp.facilities.loc[~inp.facilities.index.isin(serving.index), "type"]
    if len(other):
        log.info(
            "%d facilities are not circle facilities (types %s) and count only for land",
            len(other),
            sorted(other.unique()),
        )
    return pd.concat(
        [
            pd.DataFrame({"id": serving.index, "role": "existing", "name": serving["name"]}),
            pd.DataFrame(
                {
                    "id": inp.candidates.index,
                    "role": "candidate",
                    "name": inp.candidates.get("name", inp.candidates.index),
                }
            ),
        ],
        ignore_index=True,
    )


@dataclass(frozen=True)
class ModelOutcome:
    """What any location model answered, in the shape the reports use."""

    name: str
    selected: tuple[str, ...]  # build order
    gains: tuple[SiteGain, ...]
    status: str
    gap: float
    solver: str
    time_s: float
    uncoverable: float
    details: dict[str, Any]  # mclp: p, objective, bound; lscp/target: sites, lower_bound...


def _solve(
    sc: Scenario,
    inp: Inputs,
    sites: pd.DataFrame,
    pts: pd.DataFrame,
    cost: sparse.csr_matrix,
    radius: np.ndarray,
    existing: np.ndarray,
) -> tuple[ModelOutcome, sparse.csr_matrix]:
    m = sc.model
    candidates = np.flatnonzero(sites["role"].to_numpy() == "candidate")
    common = {
        "fixed": existing,
        "candidates": candidates,
        "excluded": np.r_[_excluded_columns(sc, sites), _small_sites(sc, inp, sites)],
        "site_ids": list(sites["id"]),
    }
    if m.name == "mclp":
        model = MCLP.from_cost_matrix(
            cost,
            pts["weight"],
            radius_m=radius,
            p=m.p,
            site_cost=_site_costs(sc, inp, sites),
            budget=m.budget,
            **common,
        )
        r = model.solve(method=m.method, time_limit_s=m.time_limit_s)
        details = {
            "p": r.p,
            "objective": round(r.objective, 1),
            "newly_covered": round(r.newly_covered, 1),
            "bound": round(r.bound, 1),
            "budget": m.budget,
        }
        return ModelOutcome(
            "mclp", r.selected, r.gains, r.status, r.gap, r.solver, r.time_s, r.uncoverable, details
        ), model.cover
    if m.name == "cmclp":
        return _solve_capacitated(sc, inp, sites, pts, cost, radius, common)
    demand_ids = [f"{c}#{n}" for c, n in zip(pts["community"], pts["node"], strict=True)]
    if m.name == "lscp":
        cov = LSCP.from_cost_matrix(
            cost,
            radius_m=radius,
            weights=pts["weight"],
            demand_ids=demand_ids,
            exclude_uncoverable=m.exclude_uncoverable,
            **common,
        )
    else:
        cov = TargetCoverage.from_target(
            cost,
            radius_m=radius,
            weights=pts["weight"],
            target_share=float(m.target_share or 1.0),
            demand_ids=demand_ids,
            **common,
        )
    lr = cov.solve(method=m.method, time_limit_s=m.time_limit_s)
    details = {
        "objective": lr.objective,
        "sites": lr.objective,
        "lower_bound": lr.bound,
        "target_share": m.target_share,
    }
    return ModelOutcome(
        m.name,
        lr.selected,
        lr.gains,
        lr.status,
        lr.gap,
        lr.solver,
        lr.time_s,
        lr.uncoverable,
        details,
    ), cov.cover


def _solve_walk(
    sc: Scenario,
    inp: Inputs,
    sites: pd.DataFrame,
    pts: pd.DataFrame,
    arrays: costs.WalkArrays,
    cost: sparse.csr_matrix,
    radius: np.ndarray,
    existing: np.ndarray,
) -> tuple[ModelOutcome, sparse.csr_matrix]:
    """p-median / p-center on walks up to ``max_walk_m``; the sites are then explained like
    the covering models' (build order by the elderly each newly brings inside its circle)."""
    m = sc.model
    longest = float(m.max_walk_m or 2.0 * radius.max())

    def wide_costs(cutoff_m: float) -> sparse.csr_matrix:
        return costs.cost_matrix(
            arrays,
            pts["node"],
            sites["node"],
            cutoff_m=cutoff_m,
            demand_offset_m=pts["snap_m"],
            site_offset_m=sites["snap_m"],
        )

    ids = list(sites["id"])
    common = {
        "p": int(m.p or 0),
        "fixed": existing,
        "candidates": np.flatnonzero(sites["role"].to_numpy() == "candidate"),
        "excluded": np.r_[_excluded_columns(sc, sites), _small_sites(sc, inp, sites)],
        "site_ids": ids,
    }
    weights = pts["weight"].to_numpy(dtype=float)
    details: dict[str, Any] = {"p": m.p, "max_walk_m": longest}
    if m.name == "pmedian":
        pm = PMedian.from_cost_matrix(wide_costs(longest), weights, cutoff_m=longest, **common)
        r = pm.solve(method=m.method, time_limit_s=m.time_limit_s)
        selected, status, gap, solver, time_s = r.selected, r.status, r.gap, r.solver, r.time_s
        details |= {
            "mean_walk_m": round(r.mean_walk_m, 1),
            "worst_walk_m": round(r.worst_walk_m, 1),
            "unassigned": round(r.unassigned, 1),
            "objective": round(r.objective, 1),
            "bound": round(r.bound, 1),
        }
    else:
        demand_ids = [f"{c}#{n}" for c, n in zip(pts["community"], pts["node"], strict=True)]
        while True:  # without max_walk_m, walks twice as long until p sites reach everyone
            try:
                pc = PCenter.from_cost_matrix(
                    wide_costs(longest),
                    weights,
                    demand_ids=demand_ids,
                    exclude_uncoverable=m.exclude_uncoverable,
                    **common,
                )
                c = pc.solve(method=m.method, time_limit_s=m.time_limit_s)
                break
            except CutoffTooShortError:
                if m.max_walk_m is not None or longest >= 16 * radius.max():
                    raise
                warn(
                    "pcenter_walks_extended",
                    f"p-center: walks up to {longest:,.0f} m do not let {m.p} site(s) reach "
                    f"everyone; walks up to {2 * longest:,.0f} m considered instead "
                    "(`model.max_walk_m` sets it)",
                )
                longest *= 2
        details["max_walk_m"] = longest
        selected, status, gap, solver, time_s = c.selected, c.status, c.gap, c.solver, c.time_s
        details |= {
            "worst_walk_m": round(c.worst_walk_m, 1),
            "bound_m": round(c.bound, 1),
            "objective": round(c.worst_walk_m, 1),
        }
    cover = coverage.coverage_sets(cost, radius)
    column = {s: i for i, s in enumerate(ids)}
    fixed = np.zeros(len(ids), dtype=bool)
    fixed[existing] = True
    usable = fixed.copy()
    usable[common["candidates"]] = True
    usable[common["excluded"]] = False
    # as for the covering models: elderly no usable site reaches within their circle
    uncoverable = float(weights[np.diff(cover[:, usable].tocsr().indptr) == 0].sum())
    gains = build_order(cover, weights, fixed, [column[s] for s in selected], ids)
    outcome = ModelOutcome(
        m.name,
        tuple(g.site for g in gains),
        tuple(gains),
        status,
        gap,
        solver,
        time_s,
        uncoverable,
        details,
    )
    return outcome, cover


def _capacities(sc: Scenario, inp: Inputs, sites: pd.DataFrame) -> np.ndarray:
    """Elderly each site can serve: places (``capacity_column``) x ``elderly_per_place``."""
    m = sc.model
    column = str(m.capacity_column)
    places = pd.Series(np.nan, index=sites["id"].to_numpy())
    for frame, path in (
        (inp.facilities, sc.inputs.facilities.path),
        (inp.candidates, _candidates_source(sc)),
    ):
        if column in frame:
            places.update(pd.to_numeric(frame[column], errors="coerce"))
        elif frame is inp.facilities:
            raise InputDataError(f"{path}: `model.capacity_column` {column!r} is not a column")
    is_candidate = (sites["role"] == "candidate").to_numpy()
    if m.candidate_capacity is not None:
        places[is_candidate & places.isna().to_numpy()] = m.candidate_capacity
    missing = places.index[places.isna()]
    if len(missing):
        raise InputDataError(
            f"no capacity for sites {preview(list(missing))}: fill column "
            f"{column!r}, or set `model.candidate_capacity` for new sites"
        )
    return places.to_numpy(dtype=float) * m.elderly_per_place


def _solve_capacitated(
    sc: Scenario,
    inp: Inputs,
    sites: pd.DataFrame,
    pts: pd.DataFrame,
    cost: sparse.csr_matrix,
    radius: np.ndarray,
    common: dict[str, Any],
) -> tuple[ModelOutcome, sparse.csr_matrix]:
    m = sc.model
    model = CapacitatedMCLP.from_cost_matrix(
        cost,
        pts["weight"],
        radius_m=radius,
        capacity=_capacities(sc, inp, sites),
        p=int(m.p or 0),
        **common,
    )
    r = model.solve(method=m.method, time_limit_s=m.time_limit_s)
    order = sorted(r.selected, key=lambda s: (-r.load[s], s))  # most elderly served first
    gains = tuple(SiteGain(site=s, newly_covered=r.load[s]) for s in order)
    details = {
        "p": m.p,
        "objective": round(r.objective, 1),
        "bound": round(r.bound, 1),
        "served": round(float(r.served.sum()), 1),
        "over_capacity": round(float(r.over_capacity.sum()), 1),
        "out_of_reach": round(float(r.out_of_reach.sum()), 1),
        "capacity_column": m.capacity_column,
        "elderly_per_place": m.elderly_per_place,
    }
    return ModelOutcome(
        "cmclp",
        tuple(order),
        gains,
        r.status,
        r.gap,
        r.solver,
        r.time_s,
        float(r.out_of_reach.sum()),
        details,
    ), model.cover


def _demand_costs(
    arrays: costs.WalkArrays, pts: pd.DataFrame, sites: pd.DataFrame, radius: np.ndarray
) -> sparse.csr_matrix:
    """Walking metres from each demand point to each site, within the point's own radius."""
    return costs.cost_matrix(
        arrays,
        pts["node"],
        sites["node"],
        cutoff_m=float(radius.max()),
        demand_radius_m=radius,
        demand_offset_m=pts["snap_m"],
        site_offset_m=sites["snap_m"],
    )


def _candidates_source(sc: Scenario) -> str:
    """Where the candidates came from, for messages."""
    layer = sc.inputs.candidates
    return str(layer.path) if layer is not None else "the generated candidates"


def _generated(
    sc: Scenario,
    inp: Inputs,
    G: nx.MultiDiGraph,
    arrays: costs.WalkArrays,
    pts: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Generate candidates (``candidate_generation``) from what the existing sites leave."""
    gen = sc.candidate_generation
    assert gen is not None
    cv = sc.coverage
    kind = communities["kind"].reindex(pts["community"]).to_numpy()
    radius = np.where(kind == "社区", cv.urban_radius_m, cv.rural_radius_m)
    serving = inp.facilities[inp.facilities["type"].isin(inp.circle_types)]
    uncovered = np.ones(len(pts), dtype=bool)
    if len(serving):
        snapped = demand.snap_sites(
            serving.to_crs(G.graph["crs"]), G, role="facilities", warn_beyond_m=cv.snap_warn_m
        )
        reach = _demand_costs(arrays, pts, snapped, radius)
        uncovered = np.diff(reach.indptr) == 0
    areas = read.read_vector(gen.excluded_areas) if gen.excluded_areas is not None else None
    made = generate_candidates(
        G,
        pts,
        method=gen.method,
        k=gen.k,
        every=gen.every,
        uncovered=uncovered,
        excluded_areas=areas,
    )
    return made.drop(columns="node").assign(land_area_m2=0.0)


def _small_sites(sc: Scenario, inp: Inputs, sites: pd.DataFrame) -> np.ndarray:
    """Candidates with less land than ``model.min_land_area_m2`` (the candidate filter)."""
    least = sc.model.min_land_area_m2
    if least is None:
        return np.array([], dtype=np.int64)
    land = sites["id"].map(inp.candidates["land_area_m2"]).to_numpy(dtype=float)
    small = (sites["role"].to_numpy() == "candidate") & (land < least)
    log.info("candidate filter: %d candidate(s) under %.0f m² of land left out", small.sum(), least)
    return np.flatnonzero(small)


class RunCache:
    """What scenarios sharing inputs can reuse within one process: walking networks (by file,
    its size and time, and the CRS) and cost matrices (by network and the exact demand and
    site inputs, radii included). Hits and misses are logged."""

    def __init__(self) -> None:
        self.networks: dict[tuple[object, ...], tuple[nx.MultiDiGraph, costs.WalkArrays]] = {}
        self.matrices: dict[tuple[object, ...], sparse.csr_matrix] = {}
        self.hits = 0

    @staticmethod
    def network_key(path: Path, crs: str, *options: object) -> tuple[object, ...]:
        """A network file by name, size and time, the CRS, and the options that read it."""
        stat = path.stat()
        return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, crs, repr(options))

    @staticmethod
    def matrix_key(net: tuple[object, ...], *arrays: object) -> tuple[object, ...]:
        digest = hashlib.sha256()
        for a in arrays:
            digest.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
        return (*net, digest.hexdigest())


def network_for(
    sc: Scenario, crs: str, cache: RunCache | None, streets: gpd.GeoDataFrame
) -> tuple[nx.MultiDiGraph, costs.WalkArrays, tuple[object, ...]]:
    """The walking graph a scenario names (OSM file, road layer or download), with a key
    for reuse across the scenarios of a batch."""
    net = sc.inputs.network
    area_wgs = None
    if net.path is not None:
        walkable = sorted(net.walkable.items())  # another class table is another network
        key = RunCache.network_key(Path(net.path), crs, net.highway_column, walkable)
    else:  # a download: the district and 1 km around it, so circles at the edge see streets
        area = gpd.GeoSeries([streets.to_crs(crs).union_all().buffer(1000.0)], crs=crs)
        area_wgs = area.to_crs(4326).iloc[0]
        key = ("download", hashlib.sha256(area_wgs.wkb).hexdigest(), crs)
    if cache is not None and key in cache.networks:
        cache.hits += 1
        log.info("reusing the walking network of an earlier scenario")
        return (*cache.networks[key], key)
    if net.osm_file is not None:
        G = network.walk_graph_from_osm_file(net.osm_file, crs=crs)
    elif net.road_layer is not None:
        G = network.walk_graph_from_road_layer(
            net.road_layer,
            crs=crs,
            coord_system=net.coord_system,
            highway_column=net.class_column,
            walkable=net.walkable,
            encoding=net.encoding,
        )
    else:
        G = network.walk_graph_from_download(area_wgs, crs=crs, cache_dir=net.cache_dir)
    arrays = costs.walk_arrays(G)
    if cache is not None:
        cache.networks[key] = (G, arrays)
    return G, arrays, key


def run(sc: Scenario, *, cache: RunCache | None = None) -> RunResult:
    """Run every stage for one scenario and return the results.

    Stops (with the message ``siting check-data`` prints) on every problem the checks of
    :mod:`siting.checks` call an error; every warning of the run is in ``RunResult.warnings``.
    """
    with recording() as rec:
        res = _run(sc, cache)
    return replace(res, warnings=tuple(rec.notes))


def prepared(
    sc: Scenario, *, cache: RunCache | None = None, findings: list[Finding] | None = None
) -> Prepared | None:
    """Inputs read and checked, and the walking network: what ``run`` and ``check-data`` share.

    Without ``findings`` every error the checks of :mod:`siting.checks` find raises (all of
    one pass in one message) and their warnings are recorded. With a list (``check-data``),
    every finding is appended instead, each stage is tried as far as the inputs allow, and the
    result is None when an error left nothing to build on.
    """
    collect = findings is not None
    found: list[Finding] = findings if findings is not None else []

    def check(more: list[Finding]) -> None:
        if collect:
            found.extend(more)
        else:
            enforce(more)

    start = time.perf_counter()
    inp = load_inputs(sc, errors=found if collect else None)
    if inp is None:
        return None
    check(input_checks(sc, inp))
    if sc.projection is not None:
        pr = sc.projection
        try:
            inp = replace(
                inp,
                communities=demand.project_elderly(
                    inp.communities,
                    year=pr.year,
                    base_year=pr.base_year,
                    annual_rate=pr.annual_rate,
                    factors=dict(pr.factors),
                ),
            )
        except SitingError as exc:
            if not collect:
                raise
            found.append(from_error("projection", exc))
    crs = analysis_crs(float(inp.communities.to_crs(4326).union_all().centroid.x))
    loaded = time.perf_counter()
    try:
        G, arrays, net_key = network_for(sc, crs, cache, inp.streets)
    except SitingError as exc:
        if not collect:
            raise
        found.append(from_error("network", exc))
        return None
    check(network_checks(sc, inp, G))
    times = {"load_s": loaded - start, "network_s": time.perf_counter() - loaded}
    return Prepared(inp, crs, G, arrays, net_key, times)


@dataclass(frozen=True)
class Prepared:
    """What every run builds before its model: checked inputs and the walking network."""

    inputs: Inputs
    crs: str
    G: nx.MultiDiGraph
    arrays: costs.WalkArrays
    net_key: tuple[object, ...]
    timings_s: dict[str, float]


def snapped_sites(
    sc: Scenario, inp: Inputs, G: nx.MultiDiGraph, crs: str
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The site table (circle facilities, then candidates) with each site's node and snap
    distance, and the sites' points in ``crs``."""
    sites = _sites(inp)
    located = pd.concat([inp.facilities.geometry, inp.candidates.geometry]).to_crs(crs)
    located = gpd.GeoDataFrame(
        geometry=located.loc[sites["id"]].to_numpy(),
        crs=crs,
        index=pd.Index(sites["id"], name="id"),
    )
    snapped = demand.snap_sites(located, G, role="sites", warn_beyond_m=sc.coverage.snap_warn_m)
    sites = sites.assign(node=snapped["node"].to_numpy(), snap_m=snapped["snap_m"].to_numpy())
    return sites, located


def _run(sc: Scenario, cache: RunCache | None) -> RunResult:
    start = time.perf_counter()
    book = load_rules(sc.rules.set, sc.rules.overrides)  # an unknown set fails before any work
    prep = prepared(sc, cache=cache)
    assert prep is not None  # without `findings`, every error raises
    inp, crs, G, arrays, net_key = prep.inputs, prep.crs, prep.G, prep.arrays, prep.net_key
    communities = inp.communities.to_crs(crs)
    t = dict(prep.timings_s)

    pts = demand.demand_points(communities, G)
    if sc.candidate_generation is not None and sc.inputs.candidates is None:
        inp = replace(inp, candidates=_generated(sc, inp, G, arrays, pts, communities))
    sites, located = snapped_sites(sc, inp, G, crs)
    t["demand_s"] = time.perf_counter() - start - sum(t.values())

    cv = sc.coverage
    kind = communities["kind"].reindex(pts["community"]).to_numpy()
    radius = np.where(kind == "社区", cv.urban_radius_m, cv.rural_radius_m)
    key = RunCache.matrix_key(
        net_key, pts["node"], pts["snap_m"], radius, sites["node"], sites["snap_m"]
    )
    if cache is not None and key in cache.matrices:
        cache.hits += 1
        cost = cache.matrices[key]
        log.info("reusing the cost matrix of an earlier scenario with the same inputs")
    else:
        cost = _demand_costs(arrays, pts, sites, radius)
        if cache is not None:
            cache.matrices[key] = cost
    t["costs_s"] = time.perf_counter() - start - sum(t.values())

    existing = np.flatnonzero(sites["role"].to_numpy() == "existing")
    if sc.model.name in ("pmedian", "pcenter"):
        result, cover = _solve_walk(sc, inp, sites, pts, arrays, cost, radius, existing)
    else:
        result, cover = _solve(sc, inp, sites, pts, cost, radius, existing)
    t["model_s"] = time.perf_counter() - start - sum(t.values())

    chosen = sites.index[sites["id"].isin(result.selected)].to_numpy()
    before = coverage.covered_by(cover, existing)
    after = coverage.covered_by(cover, np.r_[existing, chosen])
    nearest = coverage.nearest_m(cost, existing)
    pts = pts.assign(radius_m=radius, covered_before=before, covered_after=after)
    by_comm = coverage.by_community(pts, communities, radius, before, after, nearest)
    by_unit = coverage.by_unit(by_comm, inp.streets)

    order = {s: k for k, s in enumerate(result.selected)}
    proposed = inp.candidates.loc[list(result.selected)].copy()
    proposed["build_order"] = [order[s] + 1 for s in proposed.index]
    proposed["newly_covered"] = [g.newly_covered for g in result.gains]
    streets_m = inp.streets.to_crs(crs)
    land = land_check(
        streets_m,
        communities,
        inp.facilities.to_crs(crs),
        proposed.to_crs(crs),
        per_capita_m2=_land_figure(book),
    )

    open_rows = sites.loc[np.r_[existing, chosen]]
    site_kind = _site_kind(located.loc[open_rows["id"]], communities)
    areas = coverage.service_areas(
        G,
        open_rows["node"],
        open_rows["snap_m"],
        np.where(site_kind == "村", cv.rural_radius_m, cv.urban_radius_m),
        site_ids=open_rows["id"],
        arrays=arrays,
    ).assign(
        role=open_rows["role"].to_numpy(), tier=np.where(site_kind == "村", "一公里", "一刻钟")
    )
    t["coverage_s"] = time.perf_counter() - start - sum(t.values())
    checked = _compliance_data(sc, inp, communities, by_unit, land, crs)
    compliance = check_all(book, checked)
    t["rules_s"] = time.perf_counter() - start - sum(t.values())
    total = pts["weight"].sum()
    log.info(
        "elderly covered: %.1f%% before, %.1f%% after %d new site(s)",
        100 * (pts["weight"] * before).sum() / total,
        100 * (pts["weight"] * after).sum() / total,
        len(result.selected),
    )
    return RunResult(
        scenario=sc,
        crs=crs,
        inputs=inp,
        demand=pts,
        sites=sites,
        cost=cost,
        model=result,
        communities=by_comm,
        units=by_unit,
        land=land,
        rules=book,
        compliance=compliance,
        compliance_data=checked,
        proposed=proposed,
        service_areas=areas,
        timings_s=t,
    )


def _excluded_columns(sc: Scenario, sites: pd.DataFrame) -> np.ndarray:
    """Columns of the candidates the scenario excludes; unknown ids are an error."""
    wanted = set(sc.model.excluded)
    unknown = sorted(wanted - set(sites.loc[sites["role"] == "candidate", "id"]))
    if unknown:
        raise ScenarioError(
            f"`model.excluded` names ids that are not candidates: {preview(unknown)}"
        )
    return np.flatnonzero(sites["id"].isin(wanted).to_numpy())


def _site_costs(sc: Scenario, inp: Inputs, sites: pd.DataFrame) -> np.ndarray | None:
    """Opening cost per site column (0 for existing ones) from ``model.cost_column``."""
    column = sc.model.cost_column
    if column is None:
        return None
    if column not in inp.candidates:
        raise InputDataError(
            f"{_candidates_source(sc)}: `model.cost_column` {column!r} is not "
            f"a column (columns: {preview(list(inp.candidates.columns), 20)})"
        )
    values = pd.to_numeric(inp.candidates[column], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        raise InputDataError(
            f"{_candidates_source(sc)}: column {column!r} needs costs >= 0; "
            f"ids {preview(list(values.index[bad]))} have "
            f"{preview(inp.candidates.loc[bad, column].tolist())}"
        )
    return sites["id"].map(values).fillna(0.0).to_numpy(dtype=float)


def _land_figure(book: RuleBook) -> float:
    rule = book.get("land_per_capita")
    if rule is None:
        raise ScenarioError(f"rule set {book.set_id!r} has no land_per_capita rule")
    return rule.figure


def _compliance_data(
    sc: Scenario,
    inp: Inputs,
    communities: gpd.GeoDataFrame,
    by_unit: pd.DataFrame,
    land: pd.DataFrame,
    crs: str,
) -> ComplianceData:
    """The tables the rule checks read, facilities placed in their 街道/乡镇 and 社区/村."""
    fac = inp.facilities.to_crs(crs)
    streets = inp.streets.to_crs(crs)
    fac = fac.assign(
        street_code=_containing(fac, streets), community_code=_containing(fac, communities)
    )
    code = sc.district.code or str(inp.streets.index[0])[:6]
    stats = dict(inp.district_stats or {})
    stats_name = str(stats.pop("name", f"区县 {code}"))
    name = sc.district.name or stats_name
    return ComplianceData(
        district_code=code,
        district_name=name,
        communities=communities,
        units=by_unit,
        facilities=pd.DataFrame(fac.drop(columns="geometry")),
        land=land,
        compounds=inp.compounds,
        district_stats={k: float(v) for k, v in stats.items()},
    )


def _containing(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame) -> np.ndarray:
    """The index of the polygon each point stands in (None when in none)."""
    joined = gpd.sjoin(
        points[["geometry"]],
        polygons[["geometry"]].rename_axis("poly"),
        predicate="within",
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["poly"].reindex(points.index).to_numpy()


def _site_kind(points: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> np.ndarray:
    """社区 or 村 for each site by the polygon it stands in (社区 when in none)."""
    joined = gpd.sjoin(
        points[["geometry"]], communities[["kind", "geometry"]], predicate="within", how="left"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["kind"].fillna("社区").to_numpy()
