"""Frozen results of the location models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiteGain:
    """One selected site in build order and the elderly it adds after the ones before it."""

    site: str
    newly_covered: float


@dataclass(frozen=True)
class MCLPResult:
    """The answer to a covering model, with the proof of how good it is.

    ``objective`` and ``bound`` count all covered demand (the fixed facilities' share
    included). ``gap`` is relative on the new-site part: HiGHS's own MIP gap when HiGHS decided
    the answer, else ``(bound - found) / found`` with the certified bound.
    """

    selected: tuple[str, ...]  # in build order: largest marginal gain first
    gains: tuple[SiteGain, ...]
    objective: float  # demand covered with the fixed and the selected sites
    baseline: float  # demand covered by the fixed sites alone
    bound: float  # proven upper bound on ``objective``
    gap: float
    status: str
    solver: str
    time_s: float
    p: int
    uncoverable: float  # demand no fixed or candidate site can reach
    uncoverable_rows: tuple[int, ...] = ()
    method: str = "exact"

    @property
    def newly_covered(self) -> float:
        """Demand the selected sites add to the baseline."""
        return self.objective - self.baseline


@dataclass(frozen=True)
class LSCPResult:
    """Fewest sites reaching every coverable demand point (or a target share), with a bound.

    ``objective`` is the number of new sites; ``bound`` a proven lower bound on it; ``gap`` is
    ``(objective - bound) / objective``.
    """

    selected: tuple[str, ...]
    gains: tuple[SiteGain, ...]
    objective: int
    bound: int
    gap: float
    status: str
    solver: str
    time_s: float
    covered: float  # weight covered by fixed and selected sites
    uncoverable: float
    uncoverable_rows: tuple[int, ...] = ()
