"""Population tables as a 民政局 hands them over, made tidy for
:func:`siting.inputs.join.join_population`.

A bureau's workbook is rarely the tidy ``code, elderly_60plus, residents, households`` table:

- it is keyed by **name** (``社区（村）名称``) with suffixes that differ from the boundary layer
  (``衡苑社区居委会`` for ``衡苑社区``, ``新庄村委会`` for ``新庄村``), the same village name in two
  街道, and the 街道 as a name column (often merged cells, so written once per block);
- it gives **age bands** (``60-64岁 … 85岁及以上``) instead of one 60+ column;
- it has **total rows** (合计, 总计, 小计, 全区 …, or a row with figures and no name);
- a **title** sits above the header (found by :func:`siting.io.tables.find_header`).

:func:`shape` turns such a table into the tidy one: total rows skipped and checked against the
rows they sum (a recorded warning either way), band columns summed into the age group's figure,
names matched to the boundary layer's 社区/村 **within their 街道** (:mod:`siting.inputs.names`),
every match listed in a :class:`JoinReport` (``join_report.csv``). Names that match nothing or
more than one 社区/村 stop the run, naming the rows, the closest boundary names in that 街道 and
the fix. Nothing is guessed: a name either matches one 社区/村 or is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siting._messages import Problems, preview
from siting.inputs.age_bands import AGE_GROUPS, age_band, band_columns, table_spec
from siting.inputs.names import (
    REPORT_COLUMNS,
    NameColumns,
    match_names,
    street_key,
    unit_key,
)
from siting.inputs.totals import by_code, check_totals, fill_streets, row_kinds, row_names, summed
from siting.io.tables import clean_text

__all__ = [
    "AGE_GROUPS",
    "REPORT_COLUMNS",
    "JoinReport",
    "age_band",
    "band_columns",
    "clean_text",
    "file_lines",
    "shape",
    "street_key",
    "unit_key",
]

log = logging.getLogger(__name__)


def file_lines(table: pd.DataFrame) -> pd.Series:
    """Each row's line in its file (header = ``attrs["header_row"]``, row 1 if not recorded):
    a table read by ``read_table`` keeps its row labels, so filtering keeps the lines right."""
    header = table.attrs.get("header_row")
    if header is not None and pd.api.types.is_integer_dtype(table.index):
        return pd.Series(table.index.to_numpy() + int(header) + 1, index=table.index)
    return pd.Series(np.arange(len(table)) + 2, index=table.index)


@dataclass(frozen=True, eq=False)
class JoinReport:
    """How a population table was read and joined: what ``check-data`` shows, ``summary.json``
    keeps and ``join_report.csv`` lists."""

    by: str  # code / name
    age_group: str  # 60+ / 65+ / 80+
    matches: pd.DataFrame  # REPORT_COLUMNS, one row per table row joined
    figures: Mapping[str, tuple[str, ...]]  # elderly / elderly_60plus -> the columns summed
    detected: tuple[str, ...] = ()  # figures read from age-band headers (no mapping given)
    totals: tuple[str, ...] = ()  # one line per total row skipped
    skipped: tuple[int, ...] = ()  # lines without a name, code or figure (headings, notes)
    unmatched: int = 0  # rows left out by `unmatched: exclude`
    header_row: int = 1
    streets_filled: int = 0  # rows whose 街道 cell was empty (merged cells) and filled down
    notes: tuple[str, ...] = field(default=())

    @property
    def age_label(self) -> str:
        """The age group as the outputs say it: ``60岁以上``."""
        return f"{AGE_GROUPS.get(self.age_group, 60)}岁以上"

    def counts(self) -> dict[str, int]:
        """Rows joined per way of matching (exact / normalised / code)."""
        counted = self.matches["how"].value_counts()
        return {how: int(counted.get(how, 0)) for how in ("exact", "normalised", "code")}

    def summary(self) -> dict[str, Any]:
        """The part of ``summary.json`` about the population table."""
        return {
            "by": self.by,
            "rows_joined": len(self.matches),
            "how": {k: v for k, v in self.counts().items() if v},
            "unmatched_left_out": self.unmatched,
            "figures": {k: list(v) for k, v in self.figures.items()},
            "total_rows_skipped": len(self.totals),
            "header_row": self.header_row,
        }

    def lines(self) -> list[str]:
        """One line each for ``check-data``: the join, the figures, the age group."""
        counts = ", ".join(f"{n} {how}" for how, n in self.counts().items() if n)
        out = [
            f"joined by {self.by}: {len(self.matches)} row(s) matched ({counts or 'none'}), "
            f"{self.unmatched} unmatched left out; header on row {self.header_row}"
            + (
                f"; 街道 filled down on {self.streets_filled} row(s) (merged cells)"
                if self.streets_filled
                else ""
            )
        ]
        parts = []
        for key, cols in self.figures.items():
            what = "60+ for the rules per 60+ population" if key == "elderly_60plus" else "elderly"
            how = " (found from the age-band headers)" if key in self.detected else ""
            parts.append(f"{what} = {' + '.join(cols)}{how}")
        if "elderly_60plus" not in self.figures and self.age_group != "60+":
            parts.append(
                "no 60+ figure: the rules per 60+ population (beds per 1,000 elderly, family "
                "beds ‰, social workers per 1,000) say no data"
            )
        out.append(f"age group {self.age_group} ({self.age_label}): " + "; ".join(parts))
        if self.totals:
            verified = sum("verified" in t for t in self.totals)
            out.append(
                f"{len(self.totals)} total row(s) skipped, {verified} verified against the rows "
                "they sum (listed under population_total_rows)"
            )
        if self.skipped:
            out.append(
                f"{len(self.skipped)} row(s) without a name, code or figure passed over "
                f"(headings, notes): rows {preview(self.skipped)}"
            )
        return out + list(self.notes)


@dataclass
class Shaped:
    """A bureau table made tidy: data rows only, canonical columns (``code``; the age group's
    figure as ``figure``; ``residents``, ``households``; ``pop_60plus`` under another group)."""

    table: pd.DataFrame
    lines: pd.Series  # each row's line in the file
    figure: str  # the canonical name of the age group's figure in messages
    labels: dict[str, str]  # canonical -> how the file names it, for messages
    excluded: list[dict[str, Any]]  # names without a polygon, under `unmatched: exclude`
    report: JoinReport
    present: list[str]  # the columns the table has (canonical names), for messages
    figure_failed: bool  # the age group's figure could not be read (reported)
    refused: np.ndarray  # per row of `table`: a figure was text or negative (reported)


def shape(
    units: pd.DataFrame,
    table: pd.DataFrame,
    *,
    problems: Problems,
    source: str,
    columns: Mapping[str, str | Sequence[str]] | None,
    join: str | None,
    streets: pd.DataFrame | None,
    age_group: str,
    unmatched: str,
) -> Shaped:
    """Make a population table tidy (see the module docstring); every problem goes to
    ``problems``, which the caller raises after its own checks."""
    if age_group not in AGE_GROUPS:
        raise ValueError(f"age_group must be one of {sorted(AGE_GROUPS)}, not {age_group!r}")
    columns = dict(columns or {})
    scalar = {k: str(v) for k, v in columns.items() if isinstance(v, str)}
    lists = {k: [str(c) for c in v] for k, v in columns.items() if not isinstance(v, str)}
    for key, cols in list(lists.items()):
        if len(cols) == 1:
            scalar[key], lists[key] = cols[0], []
    lists = {k: v for k, v in lists.items() if v}
    lines = file_lines(table)
    header = int(table.attrs.get("header_row", 1))
    frame = table.rename(columns={src: canon for canon, src in scalar.items()})
    spec = table_spec(frame, scalar, lists, join, age_group, problems)
    kinds = row_kinds(frame, spec)
    data = kinds == "data"
    filled = fill_streets(frame, spec, kinds) if spec.street else 0
    totals = check_totals(frame, spec, kinds, lines, source, scalar)
    skipped = tuple(int(x) for x in lines[kinds == "skip"])
    if skipped:
        log.info("%s: rows %s hold no name, code or figure: passed over", source, preview(skipped))
    frame, lines = frame[data], lines[data]
    figure = "elderly_60plus" if spec.group == "60+" else "elderly"
    labels = {c: src for c, src in scalar.items() if c in ("residents", "households", "code")}
    labels[figure] = " + ".join(spec.written.get("elderly", [figure]))
    names = row_names(frame, spec, lines)
    refused: set[Any] = set()  # rows whose figures are reported as not numbers
    out = pd.DataFrame(index=frame.index)
    for key, column in (("elderly", figure), ("elderly_60plus", "pop_60plus")):
        sources = spec.figures.get(key)
        if sources and (key == "elderly" or spec.group != "60+"):
            out[column] = summed(
                frame,
                sources,
                spec.written[key],
                lines,
                problems,
                names,
                check_one=key != "elderly",
                refused=refused,
            )
    if spec.group != "60+" and "pop_60plus" not in out:
        out["pop_60plus"] = np.nan
    for canon in ("residents", "households"):
        if canon in frame:
            out[canon] = frame[canon]
    excluded: list[dict[str, Any]] = []
    if spec.join == "name":
        read_as = NameColumns(
            spec.name,
            spec.street,
            spec.code,
            scalar.get("name", "name"),
            scalar.get("street", "street"),
        )
        out, matches, excluded = match_names(
            frame, out, units, streets, read_as, lines, problems, unmatched, figure
        )
    else:
        if "code" in frame:
            out.insert(0, "code", frame["code"])
        matches = by_code(frame, units, spec, lines)
    report = JoinReport(
        by=spec.join,
        age_group=spec.group,
        matches=matches,
        figures={
            k: tuple(v) for k, v in spec.written.items() if k == "elderly" or spec.group != "60+"
        },
        detected=tuple(spec.detected),
        totals=totals,
        skipped=skipped,
        unmatched=len(excluded),
        header_row=header,
        streets_filled=filled,
    )
    present = list(dict.fromkeys([*frame.columns, *out.columns]))
    return Shaped(
        out,
        lines[out.index],
        figure,
        labels,
        excluded,
        report,
        present,
        spec.failed,
        out.index.isin(list(refused)),
    )
