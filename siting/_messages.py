"""Collect every problem with an input, then report them all at once.

A bureau analyst fixing a spreadsheet wants the whole list, not one error per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def preview(values: Iterable[object], limit: int = 10) -> str:
    """``['a', 'b', ...]`` with at most ``limit`` items and the total count when cut."""
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return f"[{shown}{more}]"


class Problems:
    """An ordered list of problems found in one input; raise them together.

    Examples
    --------
    >>> from siting._errors import InputDataError
    >>> problems = Problems("population.csv")
    >>> problems.add("column 'elderly_60plus' is missing")
    >>> bool(problems)
    True
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, error: type[Exception]) -> None:
        """Raise ``error`` listing every problem, numbered, if there is any."""
        if not self.items:
            return
        lines = "\n".join(f"  {i}. {m}" for i, m in enumerate(self.items, 1))
        count = len(self.items)
        noun = "problem" if count == 1 else "problems"
        exc = error(f"{self.source}: {count} {noun}:\n{lines}")
        exc.problems = list(self.items)  # type: ignore[attr-defined]  # check-data counts them
        raise exc


def require_columns(
    problems: Problems, present: Sequence[str], needed: Iterable[str], *, hint: str = ""
) -> list[str]:
    """Add a problem for each needed column that is absent; return the missing ones."""
    missing = [c for c in needed if c not in present]
    for col in missing:
        problems.add(
            f"column {col!r} is missing (columns present: {preview(present, 20)})"
            + (f"; {hint}" if hint else "")
        )
    return missing
