"""Location models: MCLP (with budgets), capacitated MCLP, LSCP, target coverage, p-median and
p-center, each with a proven bound.

Every model has ``from_cost_matrix(...)`` (a demand x site matrix of metres, no geography) and
``solve()`` returning a frozen result with ``.selected``, ``.objective``, ``.bound``, ``.gap``
and ``.status``.
"""

from siting.models._prep import build_order, coverage_sets
from siting.models._result import LSCPResult, MCLPResult, SiteGain
from siting.models.capacitated import CapacitatedMCLP, CapacitatedResult
from siting.models.lscp import LSCP, TargetCoverage
from siting.models.mclp import MCLP
from siting.models.pcenter import PCenter, PCenterResult
from siting.models.pmedian import PMedian, PMedianResult

__all__ = [
    "LSCP",
    "MCLP",
    "CapacitatedMCLP",
    "CapacitatedResult",
    "LSCPResult",
    "MCLPResult",
    "PCenter",
    "PCenterResult",
    "PMedian",
    "PMedianResult",
    "SiteGain",
    "TargetCoverage",
    "build_order",
    "coverage_sets",
]
