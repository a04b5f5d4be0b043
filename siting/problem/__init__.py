"""Stage 3, the seam: demand points where the elderly live, sites placed on the network, the
sparse cost matrix and its coverage sets, in one frozen :class:`Problem`. Everything before it is
geography; everything after it reads typed results."""

from siting.problem.build import ROLES, Problem, build_problem, circle_costs, placed

__all__ = ["ROLES", "Problem", "build_problem", "circle_costs", "placed"]


def __getattr__(name: str) -> object:
    """Names the old module ``siting.problem`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
