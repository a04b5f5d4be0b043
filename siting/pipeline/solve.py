"""A scenario's ``model:`` settings applied to a :class:`~siting.problem.Problem`.

One function, :func:`solve`: the model named in the settings, built with its
``from_problem`` and solved with the settings' method and time limit. The only adaptation is
p-center's: without ``max_walk_m`` the walks considered double (from twice the largest circle,
up to 16 times it) until ``p`` sites can reach everyone, and the run records that it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from siting._record import warn
from siting.models import LSCP, MCLP, CapacitatedMCLP, PCenter, PMedian, Solution, TargetCoverage
from siting.models.pcenter import CutoffTooShortError

if TYPE_CHECKING:
    from siting.problem.build import Problem
    from siting.scenario import Model


def solve(problem: Problem, m: Model) -> Solution:
    """Solve ``problem`` with the model the settings ``m`` name."""
    how, limit = m.method, m.time_limit_s
    model: MCLP | CapacitatedMCLP | LSCP | PMedian
    circle = float(problem.radius_m.max())
    longest = float(m.max_walk_m or 2.0 * circle)
    if m.name == "mclp":
        model = MCLP.from_problem(problem, p=m.p, budget=m.budget)
    elif m.name == "cmclp":
        model = CapacitatedMCLP.from_problem(problem, p=int(m.p or 0))
    elif m.name == "lscp":
        model = LSCP.from_problem(problem, exclude_uncoverable=m.exclude_uncoverable)
    elif m.name == "target":
        share = float(m.target_share or 1.0)
        model = TargetCoverage.from_problem(problem, target_share=share)
    elif m.name == "pmedian":
        model = PMedian.from_problem(problem, p=int(m.p or 0), max_walk_m=longest)
    else:
        return _pcenter(problem, m, longest, circle)
    return model.solve(method=how, time_limit_s=limit)


def _pcenter(problem: Problem, m: Model, longest: float, circle: float) -> Solution:
    while True:
        try:
            center = PCenter.from_problem(
                problem,
                p=int(m.p or 0),
                max_walk_m=longest,
                exclude_uncoverable=m.exclude_uncoverable,
            )
            return center.solve(method=m.method, time_limit_s=m.time_limit_s)
        except CutoffTooShortError:
            if m.max_walk_m is not None or longest >= 16 * circle:
                raise
            warn(
                "pcenter_walks_extended",
                f"p-center: walks up to {longest:,.0f} m do not let {m.p} site(s) reach "
                f"everyone; walks up to {2 * longest:,.0f} m considered instead "
                "(`model.max_walk_m` sets it)",
                zh=f"p-center 模型：步行 {longest:,.0f} 米以内，{m.p} 个站点无法覆盖所有老人；"
                f"已改为考虑 {2 * longest:,.0f} 米以内的步行（可用 `model.max_walk_m` 设定）",
            )
            longest *= 2
