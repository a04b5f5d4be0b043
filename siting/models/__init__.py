"""Location models: MCLP (with budgets), capacitated MCLP, LSCP, target coverage, p-median and
p-center, each with a proven bound.

Every model has ``from_cost_matrix(...)`` (a demand x site matrix of metres, no geography) and
``from_problem(problem, ...)`` (a :class:`siting.problem.Problem`), and ``solve()`` returns one
:class:`Solution` shape: the sites in build order with their marginal gains, ``objective``,
``bound``, ``gap``, ``status``, ``solver``, ``time_s``, ``uncoverable``, and typed extras
(:class:`Walks`, :class:`CapacitySplit`) for the models that have them.
"""

from siting.models._prep import build_order
from siting.models._result import PLAN_STATUS, CapacitySplit, SiteGain, Solution, Walks
from siting.models.capacitated import CapacitatedMCLP
from siting.models.lscp import LSCP, TargetCoverage
from siting.models.mclp import MCLP
from siting.models.pcenter import PCenter
from siting.models.pmedian import PMedian
from siting.problem.cover import coverage_sets

__all__ = [
    "LSCP",
    "MCLP",
    "PLAN_STATUS",
    "CapacitatedMCLP",
    "CapacitySplit",
    "PCenter",
    "PMedian",
    "SiteGain",
    "Solution",
    "TargetCoverage",
    "Walks",
    "build_order",
    "coverage_sets",
]
