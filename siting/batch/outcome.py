"""What a batch gives back: each scenario's :class:`Outcome` (its row of the batch table, what
to print, where it ran), the batch's :class:`BatchResult`, and :class:`BatchError` when a batch
cannot start. Both the runner (:mod:`siting.batch.run`) and the summary writers
(:mod:`siting.batch.summary`) read them; neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siting._errors import SitingError


class BatchError(SitingError, RuntimeError):
    """A batch cannot start: the scheduler cannot be reached, or its workers lack siting."""


@dataclass(frozen=True)
class Outcome:
    """One scenario of a batch: its row of the batch table, what to print, where it ran."""

    name: str
    county_code: str
    county: str
    status: str  # "ok" or "error"
    error: str = ""
    figures: dict[str, Any] = field(default_factory=dict)  # the row's numbers (batch table)
    lines: tuple[str, ...] = ()
    outline_wkb: bytes | None = None  # the county (union of its 街道/乡镇), WGS-84
    tiles: str = "osm"
    unexpected: bool = False  # an error that is not a SitingError (a bug, or a lost worker)
    reused: int = 0  # networks and cost matrices this run took from the cache
    seconds: float = 0.0
    worker: str = "local"
    peak_rss_mib: float | None = None  # peak memory of the process that ran it
    staged: str | None = None  # Dask: the staging folder holding the written set


@dataclass(frozen=True)
class BatchResult:
    """Every scenario's :class:`Outcome` in the order given, and what the batch wrote."""

    outcomes: tuple[Outcome, ...]
    reused: int
    workers: int  # Dask workers seen at the start; 0 for a batch run in this process
    written: dict[str, Path]  # batch_summary.csv / .xlsx and province_map.html, by key
    seconds: float

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "ok"]
