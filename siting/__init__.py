"""siting: site elderly-care facilities and prove 一刻钟/一公里 service coverage.

Stages, one module each, data flowing one way (see the README's architecture section):
:mod:`siting.io` -> :mod:`siting.coords` -> :mod:`siting.network` -> :mod:`siting.demand`
-> :mod:`siting.costs` -> :mod:`siting.coverage` -> :mod:`siting.models` -> :mod:`siting.rules`
-> :mod:`siting.report` / :mod:`siting.maps`; :mod:`siting.scenario` reads YAML and
:mod:`siting.pipeline` runs the stages for one scenario.
"""

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

__version__ = "0.1.0"

__all__ = [
    "InputDataError",
    "InputFileNotFoundError",
    "ModelError",
    "NetworkError",
    "OutputError",
    "ScenarioError",
    "SitingError",
    "SitingWarning",
    "SolverError",
    "TooLargeError",
    "__version__",
]
