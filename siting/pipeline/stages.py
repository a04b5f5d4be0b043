"""The story of one run, returning plain results (no files written):

inputs read and checked (:mod:`siting.inputs`, :mod:`siting.inputs.checks`) -> walking network
(:mod:`siting.pipeline.cache`, reused across a batch) -> :class:`~siting.problem.Problem` -> the
model (:mod:`siting.pipeline.solve`) -> :class:`~siting.models.Solution` -> who is covered
(:func:`siting.analysis.coverage.summarise`) -> land and rules. :func:`run` is what ``siting run``
and :func:`siting.run` call; :mod:`siting.outputs.tables` and :mod:`siting.outputs.webmap.page`
turn its
:class:`RunResult` into files.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, replace
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._errors import ScenarioError, SitingError, SitingWarning
from siting._record import recording
from siting.analysis import access as equity
from siting.analysis import coverage
from siting.analysis.supply import site_supply
from siting.coords import analysis_crs
from siting.inputs import layers as read
from siting.inputs import projection
from siting.inputs.checks import input_checks, network_checks
from siting.inputs.findings import Finding, enforce, from_error
from siting.inputs.load import Inputs, load_inputs
from siting.models import (
    MCLP,
    Solution,
)
from siting.network import distances as costs
from siting.network.arrays import WalkNetwork
from siting.pipeline.cache import RunCache, network_for
from siting.pipeline.plan import plan_roles, plan_solution
from siting.pipeline.result import RunResult
from siting.pipeline.solve import solve
from siting.problem import demand
from siting.problem.build import Problem, circle_costs, placed
from siting.problem.candidates import generate_candidates
from siting.problem.sites import place_parcel_sites
from siting.rules import land_check
from siting.rules.book import RuleBook, load_rules
from siting.rules.checks import ComplianceData, check_all
from siting.scenario import Scenario

log = logging.getLogger(__name__)
T = TypeVar("T")


def _generated(
    sc: Scenario,
    inp: Inputs,
    net: WalkNetwork,
    pts: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Generate candidates (``candidate_generation``) from what the existing sites leave."""
    gen = sc.candidate_generation
    assert gen is not None
    cv = sc.coverage
    uncovered = np.ones(len(pts), dtype=bool)
    if inp.facilities["type"].isin(inp.circle_types).any():
        with warnings.catch_warnings():  # the run's own problem reports the same sites again
            warnings.simplefilter("ignore", SitingWarning)
            points, sites = placed(
                communities,
                net,
                facilities=inp.facilities,
                candidates=inp.candidates.iloc[:0],
                circle_types=inp.circle_types,
                urban_radius_m=cv.urban_radius_m,
                rural_radius_m=cv.rural_radius_m,
                snap_warn_m=cv.snap_warn_m,
                points=pts,
            )
        uncovered = np.diff(circle_costs(net.arrays, points, sites).indptr) == 0
    areas = read.read_vector(gen.excluded_areas) if gen.excluded_areas is not None else None
    made = generate_candidates(
        net,
        pts,
        method=gen.method,
        k=gen.k,
        every=gen.every,
        uncovered=uncovered,
        excluded_areas=areas,
    )
    return made.drop(columns="node").assign(land_area_m2=0.0)


def _small_candidates(sc: Scenario, inp: Inputs) -> list[str]:
    """Candidates with less land than ``model.min_land_area_m2`` (the candidate filter)."""
    least = sc.model.min_land_area_m2
    if least is None:
        return []
    small = inp.candidates.index[inp.candidates["land_area_m2"].astype(float) < least]
    log.info("candidate filter: %d candidate(s) under %.0f m² of land left out", len(small), least)
    return [str(c) for c in small]


def run(
    sc: Scenario,
    *,
    cache: RunCache | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> RunResult:
    """Run every stage for one scenario and return the results.

    Stops (with the message ``siting check-data`` prints) on every problem the checks of
    :mod:`siting.inputs.checks` call an error; every warning of the run is in
    ``RunResult.warnings``. ``facilities`` / ``candidates``: point layers in memory (GeoDataFrames
    with a CRS and an ``id``) used instead of the scenario's files.
    """
    with recording() as rec:
        res = _run(sc, cache, facilities=facilities, candidates=candidates)
    return replace(res, warnings=tuple(rec.notes))


def problem_for(
    sc: Scenario,
    *,
    cache: RunCache | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> tuple[Prepared, Problem]:
    """A scenario's checked inputs and network, and its :class:`Problem` (no model solved)."""
    prep = prepared(sc, cache=cache, facilities=facilities, candidates=candidates)
    assert prep is not None  # without `findings`, every error raises
    communities = prep.inputs.communities.to_crs(prep.crs)
    pts = demand.demand_points(communities, prep.net)
    if sc.candidate_generation is not None and sc.inputs.candidates is None and candidates is None:
        generated = _generated(sc, prep.inputs, prep.net, pts, communities)
        prep = replace(prep, inputs=replace(prep.inputs, candidates=generated))
    return prep, _problem(sc, prep.inputs, prep, communities, pts, cache)


def prepared(
    sc: Scenario,
    *,
    cache: RunCache | None = None,
    findings: list[Finding] | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> Prepared | None:
    """Inputs read and checked, and the walking network: what ``run`` and ``check-data`` share.

    Without ``findings`` every error the checks of :mod:`siting.inputs.checks` find raises (all of
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
    inp = load_inputs(
        sc, errors=found if collect else None, facilities=facilities, candidates=candidates
    )
    if inp is None:
        return None
    check(input_checks(sc, inp))
    if sc.projection is not None:
        pr = sc.projection
        try:
            inp = replace(
                inp,
                communities=projection.project_elderly(
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
        net, net_key = network_for(sc, crs, cache, inp.streets)
    except SitingError as exc:
        if not collect:
            raise
        found.append(from_error("network", exc))
        return None
    inp = place_parcel_sites(inp, net)  # candidate parcels: sited on their edge nearest a street
    check(network_checks(sc, inp, net))
    times = {"load_s": loaded - start, "network_s": time.perf_counter() - loaded}
    return Prepared(inp, crs, net, net_key, times)


@dataclass(frozen=True)
class Prepared:
    """What every run builds before its model: checked inputs and the walking network."""

    inputs: Inputs
    crs: str
    net: WalkNetwork
    net_key: tuple[object, ...]
    timings_s: dict[str, float]

    @property
    def arrays(self) -> costs.WalkArrays:
        """The network's CSR adjacency (what the distance kernel searches)."""
        return self.net.arrays


def _run(
    sc: Scenario,
    cache: RunCache | None,
    *,
    facilities: gpd.GeoDataFrame | None,
    candidates: gpd.GeoDataFrame | None,
) -> RunResult:
    start = time.perf_counter()
    book = load_rules(sc.rules.set, sc.rules.overrides)  # an unknown set fails before any work
    prep, problem = problem_for(sc, cache=cache, facilities=facilities, candidates=candidates)
    inp, crs = prep.inputs, prep.crs
    communities = inp.communities.to_crs(crs)
    t = dict(prep.timings_s)
    t["problem_s"] = time.perf_counter() - start - sum(t.values())

    solution = (  # a saved plan (the live map's) is taken as it is, not solved
        _solve(sc, problem, communities, inp.streets)
        if sc.plan is None
        else plan_solution(problem, sc.plan, sc.model)
    )
    t["model_s"] = time.perf_counter() - start - sum(t.values())

    cov = coverage.summarise(problem, solution)
    radius = problem.radius_m
    pts = gpd.GeoDataFrame(
        problem.demand.assign(covered_before=cov.covered_before, covered_after=cov.covered_after),
        geometry=gpd.points_from_xy(problem.demand["x"], problem.demand["y"]),
        crs=crs,
    )
    eq = _equity(sc, problem, solution, inp, book)
    by_comm = coverage.by_community(
        pts,
        communities,
        radius,
        cov.covered_before,
        cov.covered_after,
        cov.nearest_before_m,
        access=(eq.access_before, eq.access_after),
    )
    by_unit = coverage.by_unit(by_comm, inp.streets)
    proposed = inp.candidates.loc[[g.site for g in cov.new_sites]].copy()
    proposed["build_order"] = np.arange(1, len(proposed) + 1)
    proposed["newly_covered"] = [g.newly_covered for g in cov.new_sites]
    land = land_check(
        inp.streets.to_crs(crs),
        communities,
        inp.facilities.to_crs(crs),
        proposed.to_crs(crs),
        per_capita_m2=_land_figure(book),
        closed=(  # a given plan's closed facilities: their land goes with them
            inp.facilities.loc[list(sc.plan.closed)].to_crs(crs)
            if sc.plan is not None and sc.plan.closed
            else None
        ),
    )
    areas = _service_areas(sc, problem, solution, prep.net)
    t["coverage_s"] = time.perf_counter() - start - sum(t.values())
    checked = _compliance_data(sc, inp, communities, by_unit, land, crs)
    compliance = check_all(book, checked)
    t["rules_s"] = time.perf_counter() - start - sum(t.values())
    total = cov.weights.sum()
    log.info(
        "elderly covered: %.1f%% before, %.1f%% after %d new site(s)",
        100 * cov.elderly(cov.covered_before) / total,
        100 * cov.elderly(cov.covered_after) / total,
        len(solution.selected),
    )
    return RunResult(
        scenario=sc,
        crs=crs,
        inputs=inp,
        problem=problem,
        solution=solution,
        coverage=cov,
        demand=pts,
        communities=by_comm,
        units=by_unit,
        land=land,
        rules=book,
        compliance=compliance,
        compliance_data=checked,
        proposed=proposed,
        service_areas=areas,
        timings_s=t,
        equity=eq,
    )


def _solve(
    sc: Scenario,
    problem: Problem,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame | None = None,
) -> Solution:
    """The scenario's model; with ``model.equity_floor``, the MCLP with a floor on each
    街道/乡镇's covered share (the demand points' units from their 社区/村, labelled
    ``code name`` so a floor no plan can meet names the units a reader knows)."""
    m = sc.model
    if m.equity_floor is None:
        return solve(problem, m)
    units = communities["street_code"].reindex(problem.demand["community"]).astype(str)
    if streets is not None and "name" in streets:
        names = streets.set_index(streets["code"].astype(str))["name"].astype(str)
        named = names.reindex(units.to_numpy())
        units = pd.Series(
            np.where(named.notna(), units.to_numpy() + " " + named.fillna("").to_numpy(), units),
            index=units.index,
        )
    model = MCLP.from_problem(
        problem, p=m.p, budget=m.budget, floor=m.equity_floor, units=units.to_numpy()
    )
    return model.solve(method=m.method, time_limit_s=m.time_limit_s)


def _equity(
    sc: Scenario, problem: Problem, solution: Solution, inp: Inputs, book: RuleBook
) -> equity.Equity:
    """Accessibility (2SFCA) and coverage against walking minutes
    (:mod:`siting.analysis.access`)."""
    supply = site_supply(
        problem, inp.facilities, inp.candidates, book, column=sc.equity.capacity_column
    )
    return equity.assess(
        problem,
        solution.selected,
        supply,
        decay=sc.equity.decay,
        walk_speed_mps=sc.coverage.walk_speed_mps,
        threshold_minutes=sc.coverage.urban_minutes,
        minutes=sc.equity.curve_minutes,
        floor=sc.model.equity_floor,
    )


def _problem(
    sc: Scenario,
    inp: Inputs,
    prep: Prepared,
    communities: gpd.GeoDataFrame,
    pts: gpd.GeoDataFrame,
    cache: RunCache | None,
) -> Problem:
    """The run's :class:`Problem`; the cost matrix reused from the batch cache when the same
    network, demand, sites and radii were computed before."""
    points, sites = placed_sites(sc, inp, prep, communities, pts)
    if sc.plan is not None:  # the plan's closed facilities form no circle
        sites = plan_roles(sites, sc.plan)
    key = RunCache.matrix_key(
        prep.net_key,
        points["node"],
        points["snap_m"],
        points["radius_m"],
        sites["node"],
        sites["snap_m"],
    )
    if cache is not None and key in cache.matrices:
        cache.hits += 1
        cost = cache.matrices[key]
        log.info("reusing the cost matrix of an earlier scenario with the same inputs")
    else:
        cost = circle_costs(prep.arrays, points, sites)
        if cache is not None:
            cache.matrices[key] = cost
    return Problem(points, sites, cost, prep.arrays)


def placed_sites(
    sc: Scenario,
    inp: Inputs,
    prep: Prepared,
    communities: gpd.GeoDataFrame,
    pts: gpd.GeoDataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demand and site tables of the run's problem (sites snapped, and reported)."""
    m, cv = sc.model, sc.coverage
    return placed(
        communities,
        prep.net,
        facilities=inp.facilities,
        candidates=inp.candidates,
        circle_types=inp.circle_types,
        urban_radius_m=cv.urban_radius_m,
        rural_radius_m=cv.rural_radius_m,
        excluded=[*m.excluded, *_small_candidates(sc, inp)],
        capacity_column=m.capacity_column,
        candidate_capacity=m.candidate_capacity,
        elderly_per_place=m.elderly_per_place,
        cost_column=m.cost_column,
        snap_warn_m=cv.snap_warn_m,
        points=pts,
    )


def _service_areas(
    sc: Scenario,
    problem: Problem,
    solution: Solution,
    net: WalkNetwork,
) -> gpd.GeoDataFrame:
    """Service areas of the existing and the selected sites, by the circle of where they stand."""
    cv = sc.coverage
    open_columns = np.r_[problem.columns("existing"), problem.column_of(solution.selected)]
    rows: pd.DataFrame = problem.sites.take(open_columns)
    rural = (rows["kind"] == "村").to_numpy()
    return coverage.service_areas(
        net,
        rows["node"],
        rows["snap_m"],
        np.where(rural, cv.rural_radius_m, cv.urban_radius_m),
        site_ids=rows["id"],
    ).assign(role=rows["role"].to_numpy(), tier=np.where(rural, "一公里", "一刻钟"))


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
        predicate="intersects",
        how="left",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["poly"].reindex(points.index).to_numpy()
