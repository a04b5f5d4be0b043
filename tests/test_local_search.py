"""The compiled local searches: what they return is feasible, locally optimal, reproducible, and
on instances small enough to enumerate, optimal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from siting.models import LSCP, MCLP, _cover_search
from siting.models import _local as local


def _cover(seed: int, n_rows: int = 60, n_cols: int = 16, radius: float = 900.0):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 4000, (n_rows, 2))
    sites = rng.uniform(0, 4000, (n_cols, 2))
    dist = np.hypot(*(demand[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    cover = dist <= radius
    w = rng.integers(1, 100, n_rows).astype(float)
    return sparse.csc_matrix(cover), w, dist


def _value(cover: sparse.csc_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    return float(w[np.asarray(cover[:, chosen].sum(axis=1)).ravel() > 0].sum())


def _best_of_size(cover: sparse.csc_matrix, w: np.ndarray, p: int) -> float:
    n = cover.shape[1]
    best = 0.0
    for combo in itertools.combinations(range(n), p):
        mask = np.zeros(n, dtype=bool)
        mask[list(combo)] = True
        best = max(best, _value(cover, w, mask))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_swap_search_stops_at_a_local_optimum(seed: int) -> None:
    cover, w, _ = _cover(seed)
    n, p = cover.shape[1], 4
    out, moves = local.swap_search(
        cover, w, np.zeros(n, dtype=bool), p=p, cost=np.zeros(n), budget=np.inf
    )
    assert out.sum() <= p
    assert moves >= 1
    here = _value(cover, w, out)
    for c in np.flatnonzero(~out):  # no single add or swap covers more
        for s in [None, *np.flatnonzero(out)]:
            trial = out.copy()
            trial[c] = True
            if s is not None:
                trial[s] = False
            if trial.sum() <= p:
                assert _value(cover, w, trial) <= here + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_iterated_search_finds_the_optimum_and_repeats_itself(seed: int) -> None:
    cover, w, _ = _cover(10 + seed)
    n, p = cover.shape[1], 2 + seed % 3
    start = np.zeros(n, dtype=bool)
    kwargs = {"p": p, "cost": np.zeros(n), "budget": np.inf, "rounds": 300, "seed": 7}
    first, value = local.iterated_swap_search(cover, w, start, **kwargs)
    again, _ = local.iterated_swap_search(cover, w, start, **kwargs)
    assert (first == again).all()
    assert first.sum() <= p
    assert value == pytest.approx(_value(cover, w, first))
    assert value == pytest.approx(_best_of_size(cover, w, p))


def test_iterated_search_keeps_to_the_budget() -> None:
    cover, w, _ = _cover(30, n_cols=14)
    n = cover.shape[1]
    cost = np.random.default_rng(1).uniform(1.0, 5.0, n)
    budget = 7.5
    out, value = local.iterated_swap_search(
        cover, w, np.zeros(n, dtype=bool), p=n, cost=cost, budget=budget, rounds=300
    )
    assert cost[out].sum() <= budget + 1e-9
    best = 0.0
    for k in range(n + 1):
        for combo in itertools.combinations(range(n), k):
            if cost[list(combo)].sum() <= budget:
                mask = np.zeros(n, dtype=bool)
                mask[list(combo)] = True
                best = max(best, _value(cover, w, mask))
    assert value == pytest.approx(best)


@pytest.mark.parametrize("seed", range(5))
def test_weighted_cover_search_finds_the_fewest_columns(seed: int) -> None:
    cover, _, _ = _cover(40 + seed, n_rows=50, n_cols=14, radius=1300.0)
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    cover = sparse.csc_matrix(cover.toarray()[reach])
    n = cover.shape[1]
    out = _cover_search.weighted_cover_search(cover, np.ones(n, dtype=bool), steps=20_000)
    assert (np.asarray(cover[:, out].sum(axis=1)).ravel() > 0).all()
    fewest = next(
        k
        for k in range(n + 1)
        for combo in itertools.combinations(range(n), k)
        if (cover[:, list(combo)].sum(axis=1) > 0).all()
    )
    assert out.sum() == fewest


def test_a_search_cut_short_by_the_clock_says_so() -> None:
    _, w, dist = _cover(3, n_rows=400, n_cols=120, radius=700.0)
    model = MCLP.from_cost_matrix(dist, w, radius_m=700.0, p=20)
    result = model.solve(method="fast", time_limit_s=0.01, search_rounds=10**7)
    assert "stopped by the time limit" in result.status
    assert result.bound >= result.objective
    full = model.solve(method="fast", time_limit_s=60, search_rounds=200)
    assert "stopped" not in full.status
    assert full.selected == model.solve(method="fast", time_limit_s=60, search_rounds=200).selected


def test_lscp_fast_is_reproducible() -> None:
    _, w, dist = _cover(5, n_rows=300, n_cols=80, radius=800.0)
    model = LSCP.from_cost_matrix(dist, radius_m=800.0, weights=w, exclude_uncoverable=True)
    first = model.solve(method="fast", search_steps=50_000)
    again = model.solve(method="fast", search_steps=50_000)
    assert first.selected == again.selected
    assert first.bound <= first.objective
