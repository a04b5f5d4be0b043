"""What the input checks find, as :class:`Finding` rows (level, item, English message, Chinese
text), and the two ways they end: :func:`enforce` stops on the first error, :func:`counts`
tallies errors and warnings for the summary. The loader (:mod:`siting.inputs.load`) and the
checks (:mod:`siting.inputs.checks`) both make findings; this module imports neither."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from siting._errors import InputDataError, SitingError
from siting._record import warn

if TYPE_CHECKING:
    from siting.scenario import Scenario


Level = Literal["error", "warning", "ok"]


@dataclass(frozen=True)
class Finding:
    """One line of the checks: level, what was checked, the message, for warnings a stable
    ``code``, the ids concerned and the message in Chinese (``message_zh``, which the run's
    documents show); ``count`` problems (an error listing three is three)."""

    level: Level
    item: str
    message: str
    code: str = ""
    ids: tuple[str, ...] = ()
    count: int = 1
    error: type[SitingError] = InputDataError  # what `run` raises for it
    message_zh: str = ""


def from_error(item: str, exc: SitingError) -> Finding:
    """A finding for an error a reader raised, counting every problem it lists."""
    return Finding("error", item, str(exc), count=len(getattr(exc, "problems", ())) or 1)


def enforce(findings: Iterable[Finding]) -> None:
    """What ``run`` does with findings: stop on errors (all listed), record the warnings."""
    found = list(findings)
    errors = [f for f in found if f.level == "error"]
    if errors:
        kinds = {f.error for f in errors}
        kind = kinds.pop() if len(kinds) == 1 else InputDataError
        if len(errors) == 1:
            raise kind(errors[0].message)
        lines = "\n".join(f"  {i}. {f.message}" for i, f in enumerate(errors, 1))
        raise kind(f"{len(errors)} problems with the inputs:\n{lines}")
    for f in found:
        if f.level == "warning":
            warn(f.code or "input", f.message, f.ids, zh=f.message_zh, stacklevel=2)


def candidates_source(sc: Scenario) -> str:
    layer = sc.inputs.candidates
    return str(layer.path) if layer is not None else "the generated candidates"


def counts(findings: Sequence[Finding]) -> tuple[int, int]:
    """Problems to fix and warnings to check, counted as listed."""
    errors = sum(f.count for f in findings if f.level == "error")
    return errors, sum(f.level == "warning" for f in findings)
