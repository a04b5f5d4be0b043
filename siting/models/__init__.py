"""Location models: MCLP (with budgets), capacitated MCLP, LSCP and target coverage, each
with a proven bound.

Every model has ``from_cost_matrix(...)`` (a demand x site matrix of metres, no geography) and
``solve()`` returning a frozen result with ``.selected``, ``.objective``, ``.bound``, ``.gap``
and ``.status``.
"""

from siting.models._prep import coverage_sets
from siting.models._result import LSCPResult, MCLPResult, SiteGain
from siting.models.capacitated import CapacitatedMCLP, CapacitatedResult
from siting.models.lscp import LSCP, TargetCoverage
from siting.models.mclp import MCLP

__all__ = [
    "LSCP",
    "MCLP",
    "CapacitatedMCLP",
    "CapacitatedResult",
    "LSCPResult",
    "MCLPResult",
    "SiteGain",
    "TargetCoverage",
    "coverage_sets",
]
