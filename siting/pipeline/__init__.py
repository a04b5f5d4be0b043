"""The story of one run: inputs -> checks -> network -> Problem -> solve -> Solution -> summarise
-> land and rules -> :class:`RunResult`; :class:`~siting.pipeline.study.Study` (one scenario
built once, evaluated many times), the cache shared by batches, saved meeting plans."""

from siting.pipeline.cache import RunCache
from siting.pipeline.stages import Prepared, RunResult, prepared, problem_for, run

__all__ = ["Prepared", "RunCache", "RunResult", "prepared", "problem_for", "run"]


def __getattr__(name: str) -> object:
    """Names the old module ``siting.pipeline`` had, for scripts (with a DeprecationWarning)."""
    from siting._moved import from_package

    return from_package(__name__, name)
