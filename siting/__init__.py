"""siting: site elderly-care facilities and prove 一刻钟/一公里 service coverage.

The public API, for scripted what-ifs::

    import siting
    sc = siting.load_scenario("scenarios/demo.yaml")
    sc2 = sc.replace({"coverage.walk_speed_mps": 0.76, "model.p": 12})  # validated
    res = siting.run(sc2)                  # RunResult: .summary, .tables, .solution, .problem
    res.write("out/slow-walk")             # the whole folder, as one atomic set
    study = siting.Study(sc)               # inputs, network and cost matrix built once
    ev = study.evaluate(open_sites=["C007", "C012"])   # .covered_elderly, .share, per community
    siting.compare([res, study.run()])     # the comparison table as a DataFrame

Stages, one package each, data flowing one way (see the README's architecture section):
:mod:`siting.inputs` -> :mod:`siting.network` -> :mod:`siting.problem` -> :mod:`siting.models`
-> :mod:`siting.analysis` -> :mod:`siting.rules` -> :mod:`siting.results` -> :mod:`siting.outputs`;
:mod:`siting.scenario` reads YAML and :mod:`siting.pipeline` runs the stages for one scenario.
The heavy modules load on first use, so ``import siting`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting import _moved
from siting._errors import (
    InputDataError,
    InputFileNotFoundError,
    ModelError,
    NetworkError,
    OutputError,
    ScenarioError,
    SitingError,
    SitingWarning,
    SolverError,
    TooLargeError,
)
from siting._version import __version__

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from siting.models import Solution
    from siting.pipeline.stages import RunResult
    from siting.pipeline.study import Evaluation, Study
    from siting.problem.build import Problem, build_problem
    from siting.scenario import Scenario

_moved.install()  # old module paths (siting.coverage, siting.report …) keep working for scripts

__all__ = [
    "Evaluation",
    "InputDataError",
    "InputFileNotFoundError",
    "ModelError",
    "NetworkError",
    "OutputError",
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SitingError",
    "SitingWarning",
    "Solution",
    "SolverError",
    "Study",
    "TooLargeError",
    "__version__",
    "build_problem",
    "compare",
    "load_scenario",
    "run",
]

_LAZY = {
    "Evaluation": "siting.pipeline.study",
    "Study": "siting.pipeline.study",
    "Problem": "siting.problem.build",
    "build_problem": "siting.problem.build",
    "RunResult": "siting.pipeline.stages",
    "Scenario": "siting.scenario",
    "Solution": "siting.models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'siting' has no attribute {name!r}")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (see the README's "Scenario files")."""
    from siting.scenario import load

    return load(path)


def run(
    scenario: Scenario | str | Path,
    *,
    facilities: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> RunResult:
    """Run a scenario (an object or a file) and return its :class:`RunResult` (nothing is
    written: call ``.write(folder)``). ``facilities`` / ``candidates``: point layers in memory
    (GeoDataFrames with a CRS, an ``id`` and, for facilities, ``type``) used instead of the
    scenario's files, checked the same way."""
    from siting.pipeline import stages as pipeline

    sc = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    return pipeline.run(sc, facilities=facilities, candidates=candidates)


def compare(runs: list[Any]) -> pd.DataFrame:
    """The comparison table of finished runs (:class:`RunResult` objects or run folders): one
    row per measure, one column per scenario."""
    from siting.outputs.comparison import compare_table

    return compare_table(runs)
