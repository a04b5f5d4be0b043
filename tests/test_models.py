"""MCLP: exact answers equal brute force; errors come before solving."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from siting import ModelError
from siting.models import MCLP


def _instance(
    seed: int, n_demand: int = 30, n_sites: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 3000, (n_demand, 2))
    sites = rng.uniform(0, 3000, (n_sites, 2))
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    dist[dist > 1200] = np.inf  # beyond the cutoff: unreachable
    weights = rng.integers(1, 200, n_demand).astype(float)
    radius = np.where(rng.random(n_demand) < 0.7, 900.0, 1000.0)
    return dist, weights, radius


def _brute_force(
    dist: np.ndarray, w: np.ndarray, radius: np.ndarray, p: int, fixed: list[int]
) -> float:
    cover = dist <= radius[:, None]
    cands = [j for j in range(dist.shape[1]) if j not in fixed]
    best = 0.0
    for k in range(p + 1):
        for combo in itertools.combinations(cands, k):
            best = max(best, float(w[cover[:, [*fixed, *combo]].any(axis=1)].sum()))
    return best


@pytest.mark.parametrize(
    ("seed", "p", "fixed"), [(0, 2, []), (1, 3, []), (2, 2, [0, 4]), (3, 3, [1]), (4, 1, [2, 3])]
)
def test_exact_mclp_equals_brute_force(seed: int, p: int, fixed: list[int]) -> None:
    dist, w, radius = _instance(seed)
    result = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=p, fixed=fixed).solve(method="exact")
    truth = _brute_force(dist, w, radius, p, fixed)
    assert result.objective == pytest.approx(truth)
    assert result.status.startswith("Optimal")
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert len(result.selected) <= p
    assert not set(result.selected) & {str(f) for f in fixed}


@pytest.mark.parametrize("method", ["fast", "auto"])
@pytest.mark.parametrize("seed", range(8))
def test_every_method_brackets_the_optimum(seed: int, method: str) -> None:
    """found <= true optimum <= certified bound, and the gap is what the two say."""
    dist, w, radius = _instance(100 + seed, n_demand=40, n_sites=11)
    p = 1 + seed % 4
    result = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=p, fixed=[0]).solve(method=method)
    truth = _brute_force(dist, w, radius, p, [0])
    assert result.objective <= truth + 1e-9
    assert result.bound >= truth - 1e-6
    found, bound = result.newly_covered, result.bound - result.baseline
    if method == "fast" and found > 0:
        assert result.gap == pytest.approx(max(bound - found, 0) / found, abs=1e-9)


def test_budget_and_excluded_sites() -> None:
    dist, w, radius = _instance(9, n_demand=30, n_sites=8)
    price = np.array([5.0, 1.0, 2.0, 3.0, 1.0, 4.0, 2.0, 1.0])
    result = MCLP.from_cost_matrix(
        dist, w, radius_m=radius, site_cost=price, budget=4.0, excluded=[1]
    ).solve(method="exact")
    chosen = [int(s) for s in result.selected]
    assert price[chosen].sum() <= 4.0
    assert 1 not in chosen
    cover = dist <= radius[:, None]
    best = 0.0
    for k in range(1, 5):
        for combo in itertools.combinations([0, 2, 3, 4, 5, 6, 7], k):
            if price[list(combo)].sum() <= 4.0:
                best = max(best, float(w[cover[:, list(combo)].any(axis=1)].sum()))
    assert result.objective == pytest.approx(best)


def test_build_order_gains_add_up_and_decrease() -> None:
    dist, w, radius = _instance(7, n_demand=60, n_sites=12)
    result = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=4, fixed=[0]).solve()
    gains = [g.newly_covered for g in result.gains]
    assert sum(gains) == pytest.approx(result.newly_covered)
    assert gains == sorted(gains, reverse=True)
    assert [g.site for g in result.gains] == list(result.selected)


def test_sparse_input_keeps_zero_distance_as_covered() -> None:
    cost = sparse.csr_matrix(
        (np.array([0.0, 500.0]), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2)
    )
    result = MCLP.from_cost_matrix(
        cost, [10.0, 1.0], radius_m=100.0, p=1, site_ids=["A", "B"]
    ).solve()
    assert result.selected == ("A",)
    assert result.objective == 10.0


def test_uncoverable_demand_is_counted_not_hidden() -> None:
    dist = np.array([[100.0, np.inf], [np.inf, np.inf], [np.inf, 50.0]])
    result = MCLP.from_cost_matrix(dist, [5.0, 7.0, 3.0], radius_m=200.0, p=2).solve()
    assert result.uncoverable == 7.0
    assert result.objective == 8.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": 5}, "larger than the number of candidate sites"),
        ({"p": -1}, "`p` must be an integer"),
        ({"p": 1, "fixed": [0], "candidates": [0, 1]}, "both fixed and candidates"),
        ({"p": 1, "radius_m": -5.0}, "radius_m"),
        ({"p": 1, "weights": [1.0, -2.0]}, "weights"),
    ],
)
def test_bad_models_fail_before_solving(kwargs: dict, match: str) -> None:
    args = {"weights": [1.0, 2.0], "radius_m": 100.0, **kwargs}
    with pytest.raises(ModelError, match=match):
        MCLP.from_cost_matrix(
            np.array([[50.0, 80.0, 90.0], [np.inf, 60.0, 10.0]]), args.pop("weights"), **args
        )


def _fewest(cover: np.ndarray, w: np.ndarray, need: float) -> int:
    for k in range(cover.shape[1] + 1):
        for combo in itertools.combinations(range(cover.shape[1]), k):
            if w[cover[:, list(combo)].any(axis=1)].sum() >= need - 1e-9:
                return k
    raise AssertionError("unreachable")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["fast", "exact"])
def test_lscp_and_target_against_brute_force(seed: int, method: str) -> None:
    from siting.models import LSCP, TargetCoverage

    dist, w, radius = _instance(200 + seed, n_demand=35, n_sites=10)
    cover = dist <= radius[:, None]
    reach = cover.any(axis=1)
    lscp = LSCP.from_cost_matrix(dist, radius_m=radius, weights=w, exclude_uncoverable=True)
    result = lscp.solve(method=method)
    truth = _fewest(cover[reach], w[reach], float(w[reach].sum()))
    assert result.bound <= truth <= result.objective
    if method == "exact":
        assert result.objective == truth
    assert result.covered == pytest.approx(w[reach].sum())
    target = TargetCoverage.from_target(dist, radius_m=radius, weights=w, target_share=0.6)
    found = target.solve(method=method)
    best = _fewest(cover, w, 0.6 * w.sum())
    assert found.bound <= best <= found.objective
    assert found.covered >= 0.6 * w.sum() - 1e-9


def test_lscp_names_the_demand_no_site_can_reach() -> None:
    from siting import ModelError
    from siting.models import LSCP

    dist = np.array([[100.0, np.inf], [np.inf, np.inf], [np.inf, 50.0]])
    with pytest.raises(ModelError, match=r"1 demand point\(s\) \(40 elderly\).*'B'"):
        LSCP.from_cost_matrix(
            dist, radius_m=200.0, weights=[5.0, 40.0, 3.0], demand_ids=["A", "B", "C"]
        )
    model = LSCP.from_cost_matrix(
        dist,
        radius_m=200.0,
        weights=[5.0, 40.0, 3.0],
        demand_ids=["A", "B", "C"],
        exclude_uncoverable=True,
    )
    assert model.uncoverable() == (["B"], 40.0)
    result = model.solve()
    assert result.objective == 2
    assert result.uncoverable == 40.0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP on how spopt builds variables
@pytest.mark.parametrize(("seed", "fixed"), [(0, []), (1, [2]), (2, [0, 5]), (3, [])])
def test_same_objective_as_spopt(seed: int, fixed: list[int]) -> None:
    """spopt (PySAL) solves the same MCLP with CBC: the covered weight must be the same."""
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    dist, w, _ = _instance(300 + seed, n_demand=60, n_sites=14)
    radius = 900.0
    ours = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=3, fixed=fixed).solve(method="exact")
    predefined = np.zeros(dist.shape[1], dtype=int)
    predefined[fixed] = 1
    model = spopt_locate.MCLP.from_cost_matrix(
        np.where(np.isfinite(dist), dist, 1e9),
        w,
        service_radius=radius,
        p_facilities=3 + len(fixed),
        predefined_facilities_arr=predefined if fixed else None,
    )
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    chosen = [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]
    theirs = float(w[(dist[:, chosen] <= radius).any(axis=1)].sum())
    assert ours.objective == pytest.approx(theirs)


def _served_by_flow(cover: np.ndarray, w: np.ndarray, cap: np.ndarray, open_: list[int]) -> float:
    import networkx as nx

    g = nx.DiGraph()
    for i, wi in enumerate(w):
        g.add_edge("s", ("d", i), capacity=float(wi))
        for j in open_:
            if cover[i, j]:
                g.add_edge(("d", i), ("f", j), capacity=float("inf"))
    for j in open_:
        g.add_edge(("f", j), "t", capacity=float(cap[j]))
    if "t" not in g:
        return 0.0
    return float(nx.maximum_flow_value(g, "s", "t"))


@pytest.mark.parametrize("seed", range(5))
def test_capacitated_mclp_equals_brute_force_max_flow(seed: int) -> None:
    from siting.models import CapacitatedMCLP

    dist, w, radius = _instance(400 + seed, n_demand=25, n_sites=7)
    cap = np.random.default_rng(seed).uniform(50, 400, 7).round()
    cover = dist <= radius[:, None]
    fixed = [0]
    result = CapacitatedMCLP.from_cost_matrix(
        dist, w, radius_m=radius, capacity=cap, p=2, fixed=fixed
    ).solve()
    best = max(
        _served_by_flow(cover, w, cap, [*fixed, *combo])
        for k in range(3)
        for combo in itertools.combinations(range(1, 7), k)
    )
    assert result.status == "Optimal"
    assert result.objective == pytest.approx(best, abs=1e-6)
    fast = CapacitatedMCLP.from_cost_matrix(
        dist, w, radius_m=radius, capacity=cap, p=2, fixed=fixed
    ).solve(method="fast")
    assert fast.objective <= best + 1e-6 <= fast.bound + 2e-6  # the fast bound is certified
    assert len(fast.selected) <= 2
    # every elderly person is served, over capacity or out of reach: nothing is lost
    total = result.capacity.served + result.capacity.over_capacity + result.capacity.out_of_reach
    np.testing.assert_allclose(total, w, atol=1e-6)
    assert all(load <= cap[int(s)] + 1e-6 for s, load in result.capacity.load.items())


def test_candidates_from_uncovered_demand(demo_result) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from siting.network.osm_file import walk_graph_from_osm_file
    from siting.problem.candidates import generate_candidates

    G = walk_graph_from_osm_file(demo_result.scenario.inputs.network.osm_file, crs=demo_result.crs)
    demand = demo_result.demand
    gap = ~demand["covered_before"].to_numpy()
    first = generate_candidates(G, demand, method="kmeans", k=12, uncovered=gap)
    again = generate_candidates(G, demand, method="kmeans", k=12, uncovered=gap)
    assert first["node"].tolist() == again["node"].tolist()  # fixed seed: same answer
    assert 1 <= len(first) <= 12
    assert set(first["node"]) <= set(G.nodes)  # on the street network
    # they sit where the unmet need is: nearer the uncovered elderly than the covered ones
    cand = first.to_crs(demo_result.crs)
    d_gap = demand[gap].distance(cand.union_all()).mean()
    d_cov = demand[~gap].distance(cand.union_all()).mean()
    assert d_gap < d_cov
    # excluded land removes what falls in it
    bounds = cand.total_bounds
    west = gpd.GeoDataFrame(
        geometry=[box(bounds[0] - 1, bounds[1] - 1, (bounds[0] + bounds[2]) / 2, bounds[3] + 1)],
        crs=demo_result.crs,
    )
    kept = generate_candidates(
        G, demand, method="kmeans", k=12, uncovered=gap, excluded_areas=west
    ).to_crs(demo_result.crs)
    assert len(kept) < len(first)
    assert (kept.geometry.x > (bounds[0] + bounds[2]) / 2).all()
    every = generate_candidates(G, demand, method="nodes", every=10)
    assert len(every) == len(range(0, demand["node"].nunique(), 10))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", ["fast", "exact"])
def test_pmedian_equals_brute_force(seed: int, method: str) -> None:
    from siting.models import PMedian

    dist, w, _ = _instance(500 + seed, n_demand=20, n_sites=7)
    cutoff = 1200.0
    model = PMedian.from_cost_matrix(dist, w, p=2, cutoff_m=cutoff, fixed=[0])
    result = model.solve(method=method)

    def total(open_: list[int]) -> float:
        near = np.min(np.where(np.isfinite(dist[:, open_]), dist[:, open_], np.inf), axis=1)
        return float((w * np.where(np.isfinite(near), near, cutoff + 1.0)).sum())

    best = min(
        total([0, *combo]) for k in range(3) for combo in itertools.combinations(range(1, 7), k)
    )
    assert result.objective == pytest.approx(best, rel=1e-9)
    assert result.bound <= best + 1e-6
    if method == "exact":
        assert result.status.startswith("Optimal")
        assert result.gap == pytest.approx(0.0, abs=1e-9)
    chosen = [0, *map(int, result.selected)]
    near = np.min(np.where(np.isfinite(dist[:, chosen]), dist[:, chosen], np.inf), axis=1)
    reach = np.isfinite(near)
    assert result.walks.unassigned == pytest.approx(w[~reach].sum())
    assert result.walks.worst_walk_m == pytest.approx(near[reach].max())
    assert result.walks.mean_walk_m == pytest.approx(
        (w[reach] * near[reach]).sum() / w[reach].sum()
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("method", ["fast", "exact"])
def test_pcenter_equals_brute_force(seed: int, method: str) -> None:
    from siting.models import PCenter

    rng = np.random.default_rng(600 + seed)
    demand = rng.uniform(0, 3000, (25, 2))
    sites = rng.uniform(0, 3000, (8, 2))
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(0, 50, 25).astype(float)  # some points have no elderly: they do not count
    p = 1 + seed % 3
    result = PCenter.from_cost_matrix(dist, w, p=p, fixed=[0]).solve(method=method)
    counts = w > 0

    def worst(open_: list[int]) -> float:
        return float(dist[counts][:, open_].min(axis=1).max())

    best = min(worst([0, *c]) for c in itertools.combinations(range(1, 8), p))
    chosen = [0, *map(int, result.selected)]
    assert len(result.selected) <= p
    assert result.walks.worst_walk_m == pytest.approx(worst(chosen))
    assert result.bound <= best + 1e-9
    assert result.walks.worst_walk_m >= best - 1e-9
    if method == "exact":
        assert result.walks.worst_walk_m == pytest.approx(best)
        assert result.gap == 0
        assert result.status.startswith("Optimal")
    open_ = sorted(chosen)
    nearest = np.array(open_)[dist[:, open_].argmin(axis=1)]  # ties: the lower index
    assert sum(g.newly_covered for g in result.gains) == pytest.approx(w[nearest != 0].sum())


def test_pcenter_names_demand_beyond_every_site() -> None:
    from siting.models import PCenter

    dist = np.array([[100.0, np.inf], [np.inf, np.inf], [300.0, 200.0]])
    with pytest.raises(ModelError, match=r"1 demand point.*beyond the matrix's cutoff.*'b'"):
        PCenter.from_cost_matrix(dist, [1, 5, 1], p=1, demand_ids=["a", "b", "c"])
    model = PCenter.from_cost_matrix(dist, [1, 5, 1], p=1, exclude_uncoverable=True)
    result = model.solve()
    assert result.uncoverable == 5
    assert result.uncoverable_rows == (1,)
    assert np.isnan(result.walks.walk_m[1])
    assert result.selected == ("0",)  # site 1 does not reach row 0 at all
    assert result.walks.worst_walk_m == 300.0
    assert result.gap == 0


def test_pmedian_fast_brackets_the_exact_optimum() -> None:
    """On an instance too large to enumerate: fast's bound <= HiGHS's optimum <= fast's walk,
    and the walk found is close to the optimum."""
    from siting.models import PMedian

    dist, w, _ = _instance(700, n_demand=160, n_sites=40)
    model = PMedian.from_cost_matrix(dist, w, p=6, cutoff_m=1200.0, fixed=[0, 1])
    fast = model.solve(method="fast")
    exact = model.solve(method="exact", time_limit_s=120)
    assert exact.status.startswith("Optimal")
    assert fast.bound <= exact.objective + 1e-6 <= fast.objective + 2e-6
    assert fast.objective <= 1.02 * exact.objective
    assert len(fast.selected) <= 6
    assert not {"0", "1"} & set(fast.selected)


def test_p_zero_needs_existing_sites_that_reach_someone() -> None:
    """p = 0 asks how far the elderly walk to the existing sites alone: without existing sites
    (or with none in reach) every answer leaves nobody assigned, so it stops before solving
    instead of returning "Optimal" over nobody."""
    from siting.models import PCenter, PMedian

    dist = np.array([[100.0, 400.0], [300.0, 200.0], [np.inf, 500.0]])
    w = [1.0, 2.0, 3.0]
    with pytest.raises(ModelError, match=r"`p` is 0 and there are no existing.*Set `p`"):
        PMedian.from_cost_matrix(dist, w, p=0, cutoff_m=1000.0)
    with pytest.raises(ModelError, match=r"`p` is 0 and the 1 existing.*within `cutoff_m` \(50 m"):
        PMedian.from_cost_matrix(dist, w, p=0, cutoff_m=50.0, fixed=[0])
    with pytest.raises(ModelError, match=r"no existing or candidate site reaches"):
        PMedian.from_cost_matrix(dist, w, p=1, cutoff_m=50.0, fixed=[0])
    with pytest.raises(ModelError, match=r"every weight is 0"):
        PMedian.from_cost_matrix(dist, [0.0, 0.0, 0.0], p=1, cutoff_m=1000.0)
    for method in ("fast", "exact"):  # with an existing site: its walks, nobody else opened
        today = PMedian.from_cost_matrix(dist, w, p=0, cutoff_m=1000.0, fixed=[0]).solve(
            method=method
        )
        assert today.selected == ()
        assert today.walks.unassigned == 3.0
        assert today.walks.mean_walk_m == pytest.approx((1 * 100 + 2 * 300) / 3)
        assert today.status.startswith("Optimal")

    with pytest.raises(ModelError, match=r"`p` is 0 and there are no existing.*Set `p`"):
        PCenter.from_cost_matrix(dist, w, p=0)
    # only the candidate reaches row 2, and p = 0 opens none: named, not solved in vain
    with pytest.raises(ModelError, match=r"beyond the matrix's cutoff from every existing site"):
        PCenter.from_cost_matrix(dist, w, p=0, fixed=[0], demand_ids=["a", "b", "c"])
    today_pc = PCenter.from_cost_matrix(dist, w, p=0, fixed=[0], exclude_uncoverable=True).solve()
    assert today_pc.selected == ()
    assert today_pc.walks.worst_walk_m == today_pc.bound == 300.0
    assert today_pc.uncoverable_rows == (2,)
    assert today_pc.status.startswith("Optimal")
    assert PCenter.from_cost_matrix(dist, w, p=0, fixed=[1]).solve().walks.worst_walk_m == 500.0


def test_a_small_mclp_stopped_by_the_time_limit_reports_a_finite_bound(demo_result) -> None:
    """Straight to HiGHS (a small model) and stopped before any bound: the answer is at least
    the greedy one and the bound is the elderly every candidate together could reach, never
    infinity (summary.json would not be JSON)."""
    import json
    import math

    from siting.models import MCLP

    model = MCLP.from_problem(demo_result.problem, p=10)
    stopped = model.solve(time_limit_s=1e-6)
    assert math.isfinite(stopped.bound)
    assert math.isfinite(stopped.gap)
    assert stopped.covered <= stopped.bound
    assert stopped.covered >= 0.95 * demo_result.solution.covered
    json.dumps({"bound": stopped.bound, "gap": stopped.gap}, allow_nan=False)
