"""What-if speed: a hand-made plan evaluated on a built :class:`~siting.problem.Problem`
against a full rerun of the same question.

``python -m benchmarks whatif`` times, on the demo scenario (``scenarios/demo.yaml``) and on
the shared medium city (10,000 demand points x 2,000 sites, 1,000 m; the first 200 sites taken
as existing facilities, a seeded plan of 100 others):

* ``Study.evaluate`` / ``Evaluator.evaluate`` of the plan (median of many calls);
* the full rerun it replaces: for the demo ``Study.run`` (network and matrix reused: inputs,
  problem, model, coverage, rules), for the city the cost matrix, the MCLP ``fast`` solve and the
  coverage summary.

Targets (issue 12): <= 50 ms on the demo, <= 0.5 s on the medium city.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._data import city
from siting.analysis import coverage
from siting.models import MCLP
from siting.network.distances import cost_matrix
from siting.pipeline.study import Evaluator
from siting.problem.build import Problem

ROOT = Path(__file__).resolve().parents[1]


def _median_s(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _demo() -> tuple[float, float, str]:
    import siting

    sc = siting.load_scenario(ROOT / "scenarios" / "demo.yaml")
    study = siting.Study(sc)
    plan = list(study.run().solution.selected)
    evaluate = _median_s(lambda: study.evaluate(plan), 200)
    rerun = _median_s(study.run, 3)
    return evaluate, rerun, f"demo: {len(study.problem.demand):,} points x {len(plan)} new sites"


def _medium() -> tuple[float, float, str]:
    wl = city("medium")
    n_demand, n_sites = len(wl.demand_node), len(wl.site_node)
    demand = pd.DataFrame(
        {
            "community": [f"c{i // 20:04d}" for i in range(n_demand)],  # 20 points a 社区
            "node": wl.demand_node,
            "weight": wl.demand_w.astype(float),
            "radius_m": wl.radius_m,
            "snap_m": 0.0,
        }
    )
    roles = np.where(np.arange(n_sites) < 200, "existing", "candidate")
    sites = pd.DataFrame(
        {"id": [f"s{j}" for j in range(n_sites)], "role": roles, "cost": 0.0, "capacity": np.nan}
    )

    def matrix() -> object:
        return cost_matrix(wl.edges, wl.demand_node, wl.site_node, cutoff_m=wl.radius_m)

    problem = Problem(demand, sites, matrix())
    plan = list(np.random.default_rng(7).choice(sites["id"][200:], size=100, replace=False))
    evaluator = Evaluator(problem)
    evaluate = _median_s(lambda: evaluator.evaluate(plan), 20)

    def rerun() -> object:
        rebuilt = Problem(demand, sites, matrix())
        solution = MCLP.from_problem(rebuilt, p=100).solve(method="fast", time_limit_s=5.0)
        return coverage.summarise(rebuilt, solution)

    return evaluate, _median_s(rerun, 1), f"medium city: {n_demand:,} x {n_sites:,}, plan of 100"


def main() -> int:
    rows = []
    for name, job, target in (("demo", _demo, 0.05), ("medium", _medium, 0.5)):
        evaluate, rerun, what = job()
        rows.append((name, what, evaluate, rerun, target))
    print(f"{'workload':8s} {'evaluate':>10s} {'full rerun':>11s} {'ratio':>7s} {'target':>8s}")
    for name, what, evaluate, rerun, target in rows:
        mark = "met" if evaluate <= target else "MISSED"
        print(
            f"{name:8s} {1000 * evaluate:8.2f} ms {rerun:9.2f} s {rerun / evaluate:6.0f}x "
            f"{1000 * target:5.0f} ms {mark}  ({what})"
        )
    worst = max(e / t for _, _, e, _, t in rows)
    print(f"RESULT whatif: evaluate within {100 * worst:.1f}% of its target at worst")
    return 0 if worst <= 1 else 1
