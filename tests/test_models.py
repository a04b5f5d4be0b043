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
def test_mclp_equals_brute_force(seed: int, p: int, fixed: list[int]) -> None:
    dist, w, radius = _instance(seed)
    result = MCLP.from_cost_matrix(dist, w, radius_m=radius, p=p, fixed=fixed).solve()
    assert result.status == "Optimal"
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.objective == pytest.approx(_brute_force(dist, w, radius, p, fixed))
    assert result.bound == pytest.approx(result.objective, rel=1e-6)
    assert len(result.selected) <= p
    assert not set(result.selected) & {str(f) for f in fixed}


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
