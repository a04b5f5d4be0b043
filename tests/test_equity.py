"""Accessibility (2SFCA), equity across 街道/乡镇, coverage against minutes, the MCLP floor.

Cross-checks: 2SFCA against PySAL ``access`` on a small fixture, the weighted Gini against
PySAL ``inequality`` (integer weights: the values repeated) and against a pairwise computation
from the demo's coverage_by_unit.csv; the curve against the problem's own cost matrix at the
scenario's threshold; the floor against brute force.
"""

from __future__ import annotations

import html
import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from siting._errors import ModelError, ScenarioError
from siting.analysis import access as equity
from siting.analysis.inequality import _rounded, gini, gini_zh, lorenz
from siting.analysis.supply import choose_capacity, site_supply
from siting.models import MCLP
from siting.outputs.webmap.layers import map_layer, map_title
from siting.problem.cover import nearest_m

# --- 2SFCA ----------------------------------------------------------------------------------


def _fixture(seed: int = 3) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """30 demand points x 6 sites; 社区 points (900 m) and 村 points (1,000 m); pairs stored
    only within each point's own radius, one of them a real 0 m."""
    rng = np.random.default_rng(seed)
    n, m = 30, 6
    radius = np.where(np.arange(n) < 20, 900.0, 1000.0)
    dist = rng.uniform(0, 1600, size=(n, m))
    dist[0, 0] = 0.0
    rows, cols = np.nonzero(dist <= radius[:, None])
    cost = sparse.csr_matrix((dist[rows, cols], (rows, cols)), shape=(n, m))
    assert cost.nnz == len(rows)  # the stored 0 m pair is kept
    weights = rng.integers(0, 300, size=n).astype(float)
    supply = np.array([200.0, 350.0, 0.0, 120.0, 600.0, 160.0])
    return cost, radius, weights, supply


def _pysal_2sfca(cost, radius, weights, supply, weight_fn) -> np.ndarray:
    """PySAL access's 2SFCA on the same pairs, the walk given as walk / radius so that one
    cutoff (1) is every point's own circle."""
    coo = sparse.coo_matrix(cost)
    pairs = pd.DataFrame(
        {
            "origin": [f"d{i}" for i in coo.row],
            "dest": [f"s{j}" for j in coo.col],
            "cost": coo.data / radius[coo.row],
        }
    )
    demand = pd.DataFrame({"geoid": [f"d{i}" for i in range(cost.shape[0])], "pop": weights})
    sites = pd.DataFrame({"geoid": [f"s{j}" for j in range(cost.shape[1])], "cap": supply})
    with warnings.catch_warnings():  # access 1.1 uses pandas' deprecated inplace= (pandas 3.1)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return _access_run(demand, sites, pairs, weight_fn)


def _access_run(demand, sites, pairs, weight_fn) -> np.ndarray:
    from access import Access

    model = Access(
        demand_df=demand,
        demand_index="geoid",
        demand_value="pop",
        supply_df=sites,
        supply_index="geoid",
        supply_value="cap",
        cost_df=pairs,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    out = model.two_stage_fca(name="a", max_cost=1.0, weight_fn=weight_fn)
    return out["a_cap"].reindex(demand["geoid"]).fillna(0.0).to_numpy()


@pytest.mark.parametrize("decay", ["step", "gaussian"])
def test_two_step_fca_equals_pysal_access(decay: equity.Decay) -> None:
    cost, radius, weights, supply = _fixture()
    ours = equity.two_step_fca(cost, radius, weights, supply, decay=decay)

    def weight_fn(x: float) -> float:
        return float(equity.decay_weights(np.array([x]), decay)[0])

    theirs = _pysal_2sfca(cost, radius, weights, supply, None if decay == "step" else weight_fn)
    assert (ours > 0).sum() > 10  # the fixture reaches most points
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_two_step_fca_shares_out_exactly_the_supply_in_reach() -> None:
    """Step decay: sum_i w_i A_i is the supply of every site some elderly reach (the
    catchment's demand shares each site's capacity out in full); the Gaussian kernel is 1 at
    the door and 0 at the circle's edge."""
    cost, radius, weights, supply = _fixture()
    a = equity.two_step_fca(cost, radius, weights, supply)
    coo = cost.tocoo()  # every stored pair, the 0 m one included
    reached = np.bincount(coo.col, weights=weights[coo.row], minlength=cost.shape[1]) > 0
    assert (weights * a).sum() == pytest.approx(supply[reached].sum())
    assert equity.decay_weights([0.0, 1.0], "gaussian").tolist() == pytest.approx([1.0, 0.0])


# --- Gini -----------------------------------------------------------------------------------


def test_weighted_gini_equals_pysal_inequality_on_repeated_values() -> None:
    from inequality.gini import Gini

    rng = np.random.default_rng(7)
    values = rng.uniform(0, 1, size=12).round(4)
    weights = rng.integers(1, 40, size=12)
    assert gini(values, weights) == pytest.approx(Gini(np.repeat(values, weights)).g)
    assert gini(values) == pytest.approx(Gini(values).g)
    assert gini([0.5, 0.5, 0.5], [1, 2, 3]) == 0.0
    assert gini([0.0, 1.0], [0, 5]) == 0.0  # a unit without elderly does not count


def test_gini_is_one_minus_twice_the_area_under_the_lorenz_curve() -> None:
    rng = np.random.default_rng(11)
    values, weights = rng.uniform(0, 1, 9), rng.uniform(10, 500, 9)
    lz = lorenz(values, weights)
    x, y = lz["population"].to_numpy(), lz["covered"].to_numpy()
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    assert gini(values, weights) == pytest.approx(1 - 2 * area)


def _pairwise_gini(x: np.ndarray, w: np.ndarray) -> float:
    """Independent: the double sum over every pair of units."""
    mean = (w * x).sum() / w.sum()
    return float((w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum()) / (
        2 * w.sum() ** 2 * mean
    )


def test_demo_gini_equals_an_independent_computation_from_the_unit_table(
    demo_out: Path, demo_summary: dict
) -> None:
    units = pd.read_csv(demo_out / "coverage_by_unit.csv", encoding="utf-8-sig")
    e = demo_summary["equity"]
    w = units["elderly"].to_numpy(float)
    for when in ("before", "after"):
        expected = _pairwise_gini(units[f"share_{when}"].to_numpy(float), w)
        assert e[f"gini_{when}"] == pytest.approx(expected, abs=5e-5)
    assert e["gini_after"] < e["gini_before"]  # the demo's plan narrows the gap between units
    worst = units.sort_values("share_after").iloc[0]
    assert e["worst_units"][0]["code"] == str(worst["code"])
    assert e["access_capacity"] == "floor_area_m2"  # every demo circle facility has it


# --- coverage against walking time ----------------------------------------------------------


def test_demo_curve_is_monotone_and_after_is_never_below_before(demo_summary: dict) -> None:
    curve = pd.DataFrame(demo_summary["coverage_curve"])
    assert curve["minutes"].tolist() == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    for col in ("share_before", "share_after"):
        assert curve[col].is_monotonic_increasing
    assert (curve["share_after"] >= curve["share_before"]).all()
    assert (curve["share_after"] > curve["share_before"]).any()
    assert "村" in demo_summary["coverage_curve_basis"]


def test_demo_curve_at_the_threshold_matches_the_circle_matrix(demo_result) -> None:
    """At 15 minutes (900 m at 1 m/s) the one long search finds the same elderly as the
    problem's own circle matrix (cut at each point's radius, 900 m or 1,000 m >= 900 m)."""
    res = demo_result
    problem, eq = res.problem, res.equity
    w, total = problem.weights, problem.weights.sum()
    existing = problem.columns("existing")
    after = np.r_[existing, problem.column_of(res.solution.selected)]
    at = eq.curve.set_index("minutes").loc[15.0]
    assert at["metres"] == pytest.approx(900.0)
    for open_cols, col in ((existing, "share_before"), (after, "share_after")):
        near = nearest_m(problem.cost, open_cols)
        assert at[col] == pytest.approx(w[near <= 900.0].sum() / total, abs=1e-12)
    # 社区 points: within 15 minutes is exactly covered
    urban = problem.radius_m == 900.0
    near = nearest_m(problem.cost, existing)
    assert ((near <= 900.0) == res.coverage.covered_before)[urban].all()


def test_demo_accessibility_columns_and_map_layer(demo_out: Path, demo_result) -> None:
    table = pd.read_csv(demo_out / "coverage_by_community.csv", encoding="utf-8-sig")
    assert {"access_2sfca_before", "access_2sfca_after"} <= set(table.columns)
    none_before = table["covered_before"] == 0
    assert (table.loc[none_before, "access_2sfca_before"] == 0).all()
    assert (table.loc[~none_before, "access_2sfca_before"] > 0).all()
    layer = map_layer(demo_result.communities, demo_result.equity)
    assert len(layer) == len(table)
    assert layer["label"].str.contains("每千名老人可及建筑面积").all()
    assert map_title(demo_result.equity) == (
        "社区/村可及性（两步移动搜索法，每千名老人可及建筑面积（m²））"
    )
    np.testing.assert_allclose(layer["change"], layer["access_after"] - layer["access_before"])


def test_demo_map_has_the_accessibility_layer(demo_result) -> None:
    """map.html: one 社区/村 polygon per community in the hidden accessibility layer, the
    darkest class holding the best-served after the plan, tooltips with both figures."""
    from siting._tiles import provider, shifter
    from siting.outputs.style import ACCESS_PALETTE
    from siting.outputs.webmap.layers import _access_layer

    group = _access_layer(demo_result, shifter(provider("osm").coord_system))
    assert group is not None
    assert group.show is False
    (layer,) = group._children.values()
    features = layer.data["features"]
    assert len(features) == len(demo_result.communities)
    props = pd.DataFrame([f["properties"] for f in features])
    assert set(props["fill"]) <= set(ACCESS_PALETTE)
    best = demo_result.communities.loc[demo_result.communities["access_2sfca_after"].idxmax()]
    tips = [html.unescape(t) for t in props["tip"]]
    (at,) = [i for i, t in enumerate(tips) if f">{best['name']}<" in t]
    assert f"{best['access_2sfca_after']:,.1f}" in tips[at]
    assert props.loc[at, "fill"] == ACCESS_PALETTE[-1]  # the best-served: darkest class


# --- MCLP with an equity floor --------------------------------------------------------------


def _two_units() -> dict:
    """Unit A: three points (10 elderly each); unit B: one point (5). c0 reaches A1, A2; c1
    reaches B; c2 reaches A3."""
    dist = np.full((4, 3), np.inf)
    dist[0, 0] = dist[1, 0] = 100.0
    dist[2, 2] = 100.0
    dist[3, 1] = 100.0
    return {"cost": dist, "weights": [10.0, 10.0, 10.0, 5.0], "radius_m": 500.0, "p": 2}


def test_floor_lifts_the_unit_the_plain_mclp_leaves_behind() -> None:
    units = np.array(["A", "A", "A", "B"])
    plain = MCLP.from_cost_matrix(**_two_units()).solve(method="exact")
    assert sorted(plain.selected) == ["0", "2"]  # 30 elderly covered, unit B none
    floored = MCLP.from_cost_matrix(**_two_units(), floor=0.5, units=units).solve()
    assert sorted(floored.selected) == ["0", "1"]
    assert floored.objective == pytest.approx(25.0)
    assert floored.status == "Optimal"
    assert floored.gap == 0.0
    assert "equity floor 50%" in floored.solver


def test_floor_names_the_units_that_cannot_reach_it() -> None:
    kw = _two_units()
    with pytest.raises(ModelError, match=r"cannot reach it even with every candidate.*\bC\b"):
        MCLP.from_cost_matrix(
            np.vstack([kw["cost"], np.full((1, 3), np.inf)]),
            [*kw["weights"], 8.0],  # unit C: 8 elderly no site reaches
            radius_m=500.0,
            p=2,
            floor=0.5,
            units=["A", "A", "A", "B", "C"],
        ).solve()
    with pytest.raises(ModelError, match=r"no plan within 1 new site.*\bA\b.*\bB\b"):
        MCLP.from_cost_matrix(**{**kw, "p": 1}, floor=0.5, units=["A", "A", "A", "B"]).solve()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_floor_optimum_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, p, floor = 24, 8, 3, 0.3
    xy_d, xy_s = rng.uniform(0, 3000, (n, 2)), rng.uniform(0, 3000, (m, 2))
    dist = np.linalg.norm(xy_d[:, None] - xy_s[None], axis=2)
    w = rng.integers(1, 50, n).astype(float)
    units = np.array(["东", "西", "南"])[np.arange(n) % 3]
    radius = 900.0
    best = -1.0
    for combo in itertools.combinations(range(m), p):
        cov = (dist[:, combo] <= radius).any(axis=1)
        shares = [w[cov & (units == u)].sum() / w[units == u].sum() for u in "东西南"]
        if min(shares) >= floor - 1e-12:
            best = max(best, float(w[cov].sum()))
    model = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=p, floor=floor, units=units)
    if best < 0:
        with pytest.raises(ModelError, match="equity floor"):
            model.solve()
        return
    result = model.solve()
    assert result.objective == pytest.approx(best)
    cov = (dist[:, [int(s) for s in result.selected]] <= radius).any(axis=1)
    for u in "东西南":
        assert w[cov & (units == u)].sum() >= floor * w[units == u].sum() - 1e-9


def test_floor_is_an_mclp_option() -> None:
    from siting.scenario import load

    sc = load(Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml")
    assert sc.replace({"model.equity_floor": 0.3}).model.equity_floor == 0.3
    with pytest.raises(ScenarioError, match="equity_floor"):
        sc.replace({"model.name": "lscp", "model.equity_floor": 0.3})
    with pytest.raises(ScenarioError):
        sc.replace({"model.equity_floor": 1.5})


def test_demo_floor_lifts_the_villages(demo_result) -> None:
    """The demo's MCLP leaves 王营乡 and 张集镇 at 12 %; `model.equity_floor: 0.3` (the
    pipeline's model step) lifts both, at a cost in elderly covered overall."""
    from siting.pipeline.stages import _solve

    problem = demo_result.problem
    comm = demo_result.inputs.communities
    sc = demo_result.scenario.replace({"model.equity_floor": 0.3})
    floored = _solve(sc, problem, comm)
    assert floored.status == "Optimal"
    assert "equity floor 30%" in floored.solver
    assert floored.objective < demo_result.solution.objective  # equity has a price here
    opened = np.r_[problem.columns("existing"), problem.column_of(floored.selected)]
    covered = problem.covered(opened)
    units = comm["street_code"].reindex(problem.demand["community"]).astype(str).to_numpy()
    w = problem.weights
    shares = {u: w[covered & (units == u)].sum() / w[units == u].sum() for u in set(units)}
    assert min(shares.values()) >= 0.3
    for u in ("419901101", "419901102"):  # left at 12 % without the floor
        assert u in {r["code"] for r in demo_result.summary["equity"]["worst_units"][:2]}
        assert shares[u] >= 0.3


# --- capacity -------------------------------------------------------------------------------


def test_capacity_column_floor_area_first_then_beds() -> None:
    fac = pd.DataFrame({"floor_area_m2": [200.0, None], "beds": [10, 0]})
    assert choose_capacity(fac, None) == "floor_area_m2"  # the missing one is filled
    assert choose_capacity(fac.assign(floor_area_m2=None), None) == "beds"
    assert choose_capacity(fac[[]], None) == "sites"
    assert choose_capacity(fac, "beds") == "beds"
    with pytest.raises(ValueError, match="tuowei"):
        choose_capacity(fac, "tuowei")


def test_demo_capacity_new_sites_at_the_rule_minimum(demo_result) -> None:
    """Demo candidates have no floor area: in 社区 they take 濮阳's (河南) 200 m² minimum for
    a 社区日间照料中心; in 村, where the set has no minimum, the median of the 农村幸福院."""
    sites, supply = demo_result.problem.sites, demo_result.equity.supply
    src = np.array(supply.source)
    existing = (sites["role"] == "existing").to_numpy()
    village = (sites["kind"] == "村").to_numpy()
    assert supply.column == "floor_area_m2"
    assert set(src[existing]) == {"data"}
    assert set(src[~existing & ~village]) == {"rule:community_facility_floor"}
    assert (supply.values[~existing & ~village] == 200.0).all()
    homes = demo_result.inputs.facilities.query("type == '农村幸福院'")["floor_area_m2"]
    assert set(src[~existing & village]) == {"median"}
    assert (supply.values[~existing & village] == homes.median()).all()
    assert not [n for n in demo_result.warnings if n.code.startswith("equity")]


def test_a_facility_without_capacity_is_a_recorded_warning(demo_result) -> None:
    from siting._record import recording

    res = demo_result
    fac = res.inputs.facilities.copy()
    first = res.problem.sites.loc[res.problem.sites["role"] == "existing", "id"].iloc[0]
    fac.loc[first, "floor_area_m2"] = np.nan
    with recording() as rec:
        supply = site_supply(res.problem, fac, res.inputs.candidates, res.rules)
    assert supply.column == "floor_area_m2"  # still the column most facilities have
    k = res.problem.site_ids.index(first)
    assert supply.source[k].startswith(("rule:", "median"))
    assert [(n.code, n.ids) for n in rec.notes] == [("equity_capacity_assumed", (first,))]


def test_gini_of_nobody_covered_is_undefined_not_perfect_equality() -> None:
    assert np.isnan(gini([0.0, 0.0, 0.0], [10, 20, 30]))
    assert gini_zh(None) == "不适用（无人覆盖）"
    assert _rounded(gini([0.0, 0.0], [1, 1])) is None  # null in summary.json


def test_any_facilities_column_can_size_the_sites() -> None:
    """`equity.capacity_column` of the bureau's own (land_area_m2 here): the candidates, which
    lack it, take the median of the facilities; the documents name the column."""
    from siting.pipeline.stages import run
    from siting.scenario import load

    demo = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
    sc = load(demo).replace({"equity.capacity_column": "land_area_m2"})
    res = run(sc)
    assert res.equity.supply.column == "land_area_m2"
    assert res.equity.supply.label_zh == "每千名老人可及列 land_area_m2（单位）"
    assert (res.communities["access_2sfca_after"] >= 0).all()


def test_demo_floor_no_plan_meets_names_the_units(demo_result) -> None:
    """A floor the demo's candidates cannot reach names each unit by code and name."""
    from siting.pipeline.stages import _solve

    sc = demo_result.scenario.replace({"model.equity_floor": 1.0})
    streets = demo_result.inputs.streets
    with pytest.raises(ModelError, match=r"equity floor 100\.0%") as err:
        _solve(sc, demo_result.problem, demo_result.inputs.communities, streets)
    named = {f"{c} {n}" for c, n in zip(streets["code"], streets["name"], strict=True)}
    assert any(label in str(err.value) for label in named), str(err.value)[:300]
