"""Scripted what-ifs: :class:`Study` builds a scenario's inputs, network and problem once, then
answers "what if these sites were open?" in milliseconds and reruns variants reusing what it
can.

>>> import siting                                           # doctest: +SKIP
>>> study = siting.Study(siting.load_scenario("scenarios/demo.yaml"))
>>> study.evaluate(open_sites=["C007", "C012"]).share       # existing sites + two new ones
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from siting._errors import ModelError
from siting._messages import preview

if TYPE_CHECKING:
    from siting.pipeline.stages import Prepared, RunCache, RunResult
    from siting.problem.build import Problem
    from siting.scenario import Scenario


@dataclass(frozen=True)
class Evaluation:
    """Who a plan covers: the existing sites (less ``closed``) and ``open_sites``.

    ``covered_elderly`` and ``share`` are of all elderly in the problem; ``communities`` has
    one row per 社区/村 (``code``, ``elderly``, ``covered``, ``share``); the circles are the
    study's (its scenario's walking speed and radii).
    """

    open_sites: tuple[str, ...]
    closed: tuple[str, ...]
    covered_elderly: float
    elderly_total: float
    communities: pd.DataFrame = field(repr=False)

    @property
    def share(self) -> float:
        return self.covered_elderly / self.elderly_total if self.elderly_total else 1.0


class Study:
    """One scenario's inputs, walking network and problem, built once for many questions.

    Parameters
    ----------
    scenario
        The scenario (:func:`siting.load_scenario`, or one changed with
        :meth:`~siting.scenario.Scenario.replace`).
    facilities, candidates
        In-memory layers replacing the scenario's files (see :func:`siting.run`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        facilities: pd.DataFrame | None = None,
        candidates: pd.DataFrame | None = None,
        cache: RunCache | None = None,
    ) -> None:
        from siting.pipeline import stages as pipeline

        self.scenario = scenario
        self.overrides = {"facilities": facilities, "candidates": candidates}
        self.cache: RunCache = cache if cache is not None else pipeline.RunCache()
        prep, problem = pipeline.problem_for(scenario, cache=self.cache, **self.overrides)
        self.prepared: Prepared = prep
        self.problem: Problem = problem
        self._evaluator = Evaluator(problem, name=f"scenario {scenario.name!r}")

    def evaluate(self, open_sites: Sequence[str] = (), *, closed: Sequence[str] = ()) -> Evaluation:
        """Coverage with the existing circle sites, less ``closed``, plus ``open_sites``
        (candidate or any other site ids of the problem), on the study's circles."""
        return self._evaluator.evaluate(open_sites, closed=closed)

    def variant(self, changes: dict[str, object]) -> Study:
        """A study of this scenario with ``changes`` (:meth:`Scenario.replace`), sharing this
        one's network and cost matrices where they apply (another walking speed reuses the
        network; another plan size, the matrix too)."""
        return Study(self.scenario.replace(changes), cache=self.cache, **self.overrides)

    def run(self, scenario: Scenario | None = None) -> RunResult:
        """A full run of ``scenario`` (default the study's own), reusing the network and the
        cost matrix when they are the same."""
        from siting.pipeline import stages as pipeline

        return pipeline.run(scenario or self.scenario, cache=self.cache, **self.overrides)


class Evaluator:
    """Coverage of hand-made plans on one :class:`~siting.problem.Problem`, in milliseconds:
    the coverage sets are kept as column slices, so a plan costs one pass over its sites'
    demand points."""

    def __init__(self, problem: Problem, *, name: str = "the problem") -> None:
        self.problem, self.name = problem, name
        cover = problem.cover.tocsc()
        self._ptr, self._rows = cover.indptr, cover.indices
        ids = problem.site_ids
        self._where = {s: k for k, s in enumerate(ids)}
        self._existing = frozenset(ids[k] for k in problem.columns("existing"))
        codes = problem.demand["community"].to_numpy()
        self._codes, self._community = np.unique(codes, return_inverse=True)
        self._weights = problem.weights
        self._elderly = np.bincount(self._community, weights=self._weights)

    def evaluate(self, open_sites: Sequence[str] = (), *, closed: Sequence[str] = ()) -> Evaluation:
        """See :meth:`Study.evaluate`."""
        open_ids, closed_ids = tuple(map(str, open_sites)), tuple(map(str, closed))
        unknown = [s for s in (*open_ids, *closed_ids) if s not in self._where]
        if unknown:
            raise ModelError(
                f"site ids {preview(unknown)} are neither existing circle facilities nor "
                f"candidates of {self.name}"
            )
        existing = self._existing
        not_open = sorted(set(closed_ids) - existing)
        if not_open:
            raise ModelError(f"`closed` names sites that are not existing: {preview(not_open)}")
        columns = [self._where[s] for s in sorted(existing - set(closed_ids))]
        columns += [self._where[s] for s in open_ids]
        covered = self._covered(columns)
        per = np.bincount(self._community, weights=self._weights * covered)
        table = pd.DataFrame(
            {
                "code": self._codes,
                "elderly": self._elderly,
                "covered": per,
                "share": np.divide(
                    per, self._elderly, out=np.ones_like(per), where=self._elderly > 0
                ),
            }
        )
        return Evaluation(
            open_sites=open_ids,
            closed=closed_ids,
            covered_elderly=float(self._weights[covered].sum()),
            elderly_total=float(self._weights.sum()),
            communities=table,
        )

    def _covered(self, columns: Sequence[int]) -> NDArray[np.bool_]:
        out = np.zeros(len(self._weights), dtype=bool)
        for c in columns:
            out[self._rows[self._ptr[c] : self._ptr[c + 1]]] = True
        return out
