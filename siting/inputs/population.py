"""Population tables as a 民政局 hands them over, made tidy for
:func:`siting.io.read.join_population`.

A bureau's workbook is rarely the tidy ``code, elderly_60plus, residents, households`` table:

- it is keyed by **name** (``社区（村）名称``) with suffixes that differ from the boundary layer
  (``衡苑社区居委会`` for ``衡苑社区``, ``新庄村委会`` for ``新庄村``), the same village name in two
  街道, and the 街道 as a name column (often merged cells, so written once per block);
- it gives **age bands** (``60-64岁 … 85岁及以上``) instead of one 60+ column;
- it has **total rows** (合计, 总计, 小计, 全区 …, or a row with figures and no name);
- a **title** sits above the header (found by :func:`siting.io.tables.find_header`).

:func:`shape` turns such a table into the tidy one: total rows skipped and checked against the
rows they sum (a recorded warning either way), band columns summed into the age group's figure,
names matched to the boundary layer's 社区/村 **within their 街道** (:mod:`siting.io.names`),
every match listed in a :class:`JoinReport` (``join_report.csv``). Names that match nothing or
more than one 社区/村 stop the run, naming the rows, the closest boundary names in that 街道 and
the fix. Nothing is guessed: a name either matches one 社区/村 or is reported.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from siting._messages import Problems, preview
from siting._record import preview_zh, warn
from siting.inputs.names import (
    REPORT_COLUMNS,
    NameColumns,
    as_written,
    match_names,
    street_key,
    unit_key,
)
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

AGE_GROUPS = {"60+": 60, "65+": 65, "80+": 80}
"""Age groups a run can count, by the lowest age in the group."""

# committee suffixes of a 社区/村 name, longest first: the unit keeps its 社区 / 村
_GRAND_MARKERS = ("合计", "总计", "共计")
_SUB_MARKERS = ("小计",)
_WHOLE_AREAS = ("全区", "全县", "全市", "全镇", "全乡", "全街道", "全旗")
_SERIAL_HEADERS = {"序号", "序", "编号", "行号"}
_DASHES = "-~—–至到"
_BAND = re.compile(rf"^(\d{{1,3}})(?:周岁|岁)?[{_DASHES}]+(\d{{1,3}})(?:周岁|岁)?$")
_OPEN_BAND = re.compile(r"^(\d{1,3})(?:周岁|岁)?(?:及以上|及其以上|以上|\+)$")
_BAND_NOISE = ("老年人口", "老年人", "人口", "人数", "老人", "(人)", "人")


def age_band(header: object) -> tuple[int, float] | None:
    """The ages a column header stands for: ``60-64岁`` -> (60, 64), ``85岁及以上`` ->
    (85, inf); None for any other header. Full-width digits, ``～``, ``周岁`` and a trailing
    人口/人数 are read."""
    text = clean_text(header)
    for noise in _BAND_NOISE:
        if text.endswith(noise) and len(text) > len(noise):
            text = text[: -len(noise)]
            break
    closed = _BAND.match(text)
    if closed:
        low, high = int(closed.group(1)), int(closed.group(2))
        return (low, float(high)) if low <= high else None
    opened = _OPEN_BAND.match(text)
    if opened:
        return int(opened.group(1)), float("inf")
    return None


def band_columns(headers: Iterable[object], lowest: int) -> tuple[list[str] | None, str]:
    """The columns that together give the population aged ``lowest`` and over, read from age-band
    headers: one open band from ``lowest`` (``60岁及以上``), or bands that tile the ages from
    ``lowest`` up with one open band last, no gap and no overlap. Returns (columns, "") or
    (None, why not)."""
    bands = {str(h): b for h in headers if (b := age_band(h)) is not None}
    if not bands:
        return None, "the table has no age-band columns"
    across = [h for h, (low, high) in bands.items() if low < lowest <= high]
    if across:
        return None, (
            f"the age band(s) {preview(across)} straddle the age {lowest}: no set of bands "
            f"gives the ages {lowest} and over"
        )
    whole = [h for h, (low, high) in bands.items() if low == lowest and high == float("inf")]
    if len(whole) == 1:
        return whole, ""
    if len(whole) > 1:
        return None, f"several columns give the ages {lowest}+: {preview(whole)}"
    upper = sorted(((b, h) for h, b in bands.items() if b[0] >= lowest), key=lambda x: x[0])
    chain, expect = [], float(lowest)
    for (low, high), h in upper:
        if low != expect or expect == float("inf"):
            found = ", ".join(repr(x) for _, x in upper)
            return None, (
                f"the age bands from {lowest} up ({found}) do not follow each other without "
                f"a gap or an overlap"
            )
        chain.append(h)
        expect = high + 1
    if not chain or expect != float("inf"):
        shown = ", ".join(repr(h) for h in bands)
        return None, f"the age bands ({shown}) do not cover the ages {lowest} and over"
    return chain, ""


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


@dataclass
class _Spec:
    """What the table's columns are, once the scenario's mapping is applied."""

    join: str
    name: str | None
    street: str | None
    code: str | None
    figures: dict[str, list[str]]  # elderly / elderly_60plus -> columns (as renamed)
    written: dict[str, list[str]]  # the same, as the file names them
    detected: list[str]
    group: str
    failed: bool  # the age group's figure cannot be read: reported


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
    spec = _spec(frame, scalar, lists, join, age_group, problems)
    kinds = _row_kinds(frame, spec)
    data = kinds == "data"
    filled = _fill_streets(frame, spec, kinds) if spec.street else 0
    totals = _totals(frame, spec, kinds, lines, source, scalar)
    skipped = tuple(int(x) for x in lines[kinds == "skip"])
    if skipped:
        log.info("%s: rows %s hold no name, code or figure: passed over", source, preview(skipped))
    frame, lines = frame[data], lines[data]
    figure = "elderly_60plus" if spec.group == "60+" else "elderly"
    labels = {c: src for c, src in scalar.items() if c in ("residents", "households", "code")}
    labels[figure] = " + ".join(spec.written.get("elderly", [figure]))
    names = _row_names(frame, spec, lines)
    refused: set[Any] = set()  # rows whose figures are reported as not numbers
    out = pd.DataFrame(index=frame.index)
    for key, column in (("elderly", figure), ("elderly_60plus", "pop_60plus")):
        sources = spec.figures.get(key)
        if sources and (key == "elderly" or spec.group != "60+"):
            out[column] = _summed(
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
        matches = _by_code(frame, units, spec, lines)
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


def _spec(
    frame: pd.DataFrame,
    scalar: Mapping[str, str],
    lists: Mapping[str, list[str]],
    join: str | None,
    group: str,
    problems: Problems,
) -> _Spec:
    present = list(frame.columns)
    if join is None:  # the Python API: by code when the table has codes, else by name
        join = "name" if "code" not in frame and "name" in frame else "code"
    if join == "name" and "name" not in frame:
        problems.add(
            f"column {scalar.get('name', 'name')!r} (name) is missing (columns present: "
            f"{preview(present, 20)}); a join by name needs the 社区/村 name column: map it "
            "with `columns: {name: 社区（村）名称}`"
        )
    street = "street" if "street" in scalar or "street" in frame else None
    if street and "street" not in frame:
        problems.add(
            f"column {scalar['street']!r} (street) is missing (columns present: "
            f"{preview(present, 20)})"
        )
        street = None
    mapped = {k for k in ("elderly", "elderly_60plus") if k in scalar or k in lists}
    if group == "60+" and mapped == {"elderly", "elderly_60plus"}:
        problems.add(
            "`columns` maps both `elderly` and `elderly_60plus` for the age group 60+: give one"
        )
    if group != "60+" and mapped == {"elderly_60plus"}:
        problems.add(
            f"`columns.elderly_60plus` is the 60+ figure, but the age group is {group}: map "
            f"the {group} column(s) as `columns: {{elderly: ...}}` (`elderly_60plus` beside it "
            "gives the rules per 60+ population their figure)"
        )
    figures: dict[str, list[str]] = {}
    detected: list[str] = []
    failed = False
    own = _mapped_figure(
        frame, scalar, lists, ["elderly", "elderly_60plus"][: 1 + (group == "60+")]
    )
    if own is None:
        files = ["elderly_60plus", "elderly"] if group == "60+" else ["elderly"]
        own = next(([c] for c in files if c in frame), None)
    if own is None:
        cols, why = band_columns(frame.columns, AGE_GROUPS[group])
        if cols:
            own = cols
            detected.append("elderly")
            log.info("the %s figure is the sum of the age bands %s", group, cols)
        elif why != "the table has no age-band columns":
            failed = True
            problems.add(
                f"no column gives the {group} figure: {why}; map the column(s) with "
                f"`columns: {{elderly: [...]}}` (one column, or a list of age-band columns to "
                "add up)"
            )
    if own is not None:
        figures["elderly"] = own
    if group != "60+":
        ratio = _mapped_figure(frame, scalar, lists, ["elderly_60plus"])
        if ratio is None and "elderly_60plus" in frame:
            ratio = ["elderly_60plus"]
        if ratio:
            figures["elderly_60plus"] = ratio
    # the columns the scenario lists for each figure, against the ages the figure stands for
    keys = ["elderly", "elderly_60plus"][: 1 + (group == "60+")]
    given = next((k for k in keys if k in lists or k in scalar), None)
    checks = [(given, AGE_GROUPS[group])] if given and own is not None and not detected else []
    if group != "60+" and "elderly_60plus" in figures and "elderly_60plus" in {*lists, *scalar}:
        checks.append(("elderly_60plus", 60))
    for key, lowest in checks:
        assert key is not None
        listed = lists[key] if key in lists else [scalar[key]]
        if not _check_listed(listed, key, lowest, key in lists, problems):
            failed = True
    for cols in figures.values():
        for col in cols:
            if col not in frame:
                failed = True
                problems.add(f"column {col!r} is missing (columns present: {preview(present, 20)})")
    written_as = dict(scalar)
    return _Spec(
        join=join,
        name="name" if "name" in frame else None,
        street=street,
        code="code" if "code" in frame else None,
        figures={k: [c for c in v if c in frame] for k, v in figures.items()},
        written={k: [written_as.get(c, c) for c in v] for k, v in figures.items()},
        detected=detected,
        group=group,
        failed=failed,
    )


def _check_listed(
    listed: list[str], key: str, lowest: int, is_list: bool, problems: Problems
) -> bool:
    """The columns ``columns.<key>`` lists, against the ages ``lowest`` and over: each listed
    once and, when every header reads as an age band (:func:`age_band`), covering those ages
    exactly (from ``lowest`` up, no gap, no overlap, the last band open). A list with headers
    that are not ages is accepted with a recorded warning. False when a problem was added."""
    doubled = [c for c in dict.fromkeys(listed) if listed.count(c) > 1]
    shown = "[" + ", ".join(listed) + "]"
    if doubled:
        problems.add(
            f"`columns.{key}` lists the column(s) {preview(doubled)} more than once "
            f"({shown}): each would be added up again; list every column once"
        )
        return False
    bands = [age_band(c) for c in listed]
    if any(b is None for b in bands):
        if is_list:
            unread = [c for c, b in zip(listed, bands, strict=True) if b is None]
            warn(
                "population_bands_unchecked",
                f"the {lowest}+ figure is the sum of the columns {shown}; the ages of "
                f"{preview(unread)} cannot be read from their headers, so it is not checked "
                f"that these columns cover the ages {lowest} and over once each: check them",
                listed,
                zh=f"{lowest} 岁及以上人数是 {shown} 各列之和；无法从表头读出 {preview_zh(unread)} "
                f"的年龄，因此未核对这些列是否恰好各覆盖一次 {lowest} 岁及以上的年龄：请自行核对",
            )
        return True
    read = [(b, c) for b, c in zip(bands, listed, strict=True) if b is not None]
    order = sorted(read, key=lambda x: x[0])
    faults: list[str] = []
    expect = float(lowest)
    for (low, high), col in order:
        if low > expect:
            ages = f"{_age(expect)}-{low - 1}" if low - 1 > expect else _age(expect)
            faults.append(f"the ages {ages} are in none of them (a gap before {col!r})")
        elif low < expect:
            if low < lowest:
                faults.append(
                    f"{col!r} holds ages below {lowest}, which the {lowest}+ figure leaves out"
                )
            else:
                faults.append(
                    f"{col!r} overlaps the band(s) before it (ages {low}-{_age(expect - 1)})"
                )
        expect = max(expect, high + 1)
    if expect != float("inf"):
        faults.append(f"the ages {_age(expect)} and over are in none of them (no open last band)")
    if not faults:
        return True
    tiled = [
        g
        for g, start in AGE_GROUPS.items()
        if start != lowest and band_columns(listed, start)[0] == [c for _, c in order]
    ]
    other = f', or set `age_group: "{tiled[0]}"` if that is the figure meant' if tiled else ""
    problems.add(
        f"`columns.{key}` lists the age bands {shown} for the ages {lowest} and over, but "
        + "; ".join(faults)
        + f": list the band columns that cover the ages {lowest} and over once each, without "
        f"a gap or an overlap{other}"
    )
    return False


def _age(value: float) -> str:
    return "∞" if value == float("inf") else str(int(value))


def _mapped_figure(
    frame: pd.DataFrame,
    scalar: Mapping[str, str],
    lists: Mapping[str, list[str]],
    keys: list[str],
) -> list[str] | None:
    """The columns the scenario maps to the first of ``keys`` it maps (renamed when one)."""
    for key in keys:
        if key in lists:
            return lists[key]
        if key in scalar:
            return [key]
    return None


def _figure_columns(frame: pd.DataFrame, spec: _Spec) -> list[str]:
    cols = [c for v in spec.figures.values() for c in v]
    cols += [c for c in ("residents", "households") if c in frame]
    return list(dict.fromkeys(cols))


def _blank(values: pd.Series) -> pd.Series:
    return values.map(lambda v: clean_text(v) == "")


def _row_kinds(frame: pd.DataFrame, spec: _Spec) -> pd.Series:
    """``data``, ``grand`` (合计…), ``sub`` (小计, or a 街道's row with figures and no name) or
    ``skip`` (no name, code or figure: headings and notes)."""
    kinds = pd.Series("data", index=frame.index, dtype=object)
    if frame.empty:
        return kinds
    serial = [c for c in frame.columns if clean_text(c) in _SERIAL_HEADERS]
    ids = [c for c in (spec.code, spec.name) if c]
    ident = list(dict.fromkeys([*ids, *([spec.street] if spec.street else []), *serial]))
    ident += [frame.columns[0]] if frame.columns[0] not in ident else []
    texts = frame[ident].map(clean_text)
    grand = texts.apply(
        lambda r: (
            any(m in t for t in r for m in _GRAND_MARKERS) or any(t in _WHOLE_AREAS for t in r)
        ),
        axis=1,
    )
    sub = texts.apply(lambda r: any(m in t for t in r for m in _SUB_MARKERS), axis=1)
    figures = _figure_columns(frame, spec)
    has_figures = (
        ~frame[figures].apply(_blank).all(axis=1) if figures else pd.Series(False, frame.index)
    )
    no_id = (texts[ids] == "").all(axis=1) if ids else pd.Series(False, index=frame.index)
    in_street = texts[spec.street].ne("") if spec.street else pd.Series(False, index=frame.index)
    kinds[no_id & has_figures & in_street] = "sub"
    kinds[no_id & has_figures & ~in_street] = "grand"
    kinds[no_id & ~has_figures] = "skip"
    kinds[sub] = "sub"
    kinds[grand & ~sub] = "grand"
    return kinds


def _fill_streets(frame: pd.DataFrame, spec: _Spec, kinds: pd.Series) -> int:
    """A 街道 written once per block (merged cells) filled down into the data rows below it."""
    assert spec.street is not None
    col = frame[spec.street]
    written = ~_blank(col)
    carried = col.where(written & (kinds != "grand")).ffill()
    fill = ~written & (kinds == "data") & carried.notna()
    frame.loc[fill, spec.street] = carried[fill]
    return int(fill.sum())


def _numbers(values: pd.Series) -> pd.Series:
    from siting.io.tables import as_numbers

    return as_numbers(values)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _totals(
    frame: pd.DataFrame,
    spec: _Spec,
    kinds: pd.Series,
    lines: pd.Series,
    source: str,
    scalar: Mapping[str, str],
) -> tuple[str, ...]:
    """Each total row against the rows it sums (to 0.5 per figure), in one recorded warning."""
    totals = kinds.index[kinds.isin(["grand", "sub"])]
    if not len(totals):
        return ()
    figures = _figure_columns(frame, spec)
    named = {c: scalar.get(c, c) for c in figures}
    values = frame[figures].apply(_numbers) if figures else pd.DataFrame(index=frame.index)
    data = kinds == "data"
    keys = _street_keys(frame, spec, totals) if spec.street else None
    order = list(kinds.index)
    out = []
    zh = []  # the same lines in Chinese, for the documents people read
    for label in totals:
        candidates = _sum_candidates(label, kinds, data, keys, order, lines)
        given = values.loc[label].dropna()
        shown = ", ".join(f"{named[c]} {_fmt(v)}" for c, v in given.items())
        text = _row_text(frame, label, spec)
        verdict = "no figures to check"
        verdict_zh = "无数值可核对"
        if len(given) and candidates:
            verdict = ""
            for what, rows in candidates:
                diff = given - values.loc[rows, list(given.index)].sum()
                if (diff.abs() <= 0.5).all():
                    verdict = f"equals the sum of {what}: verified"
                    verdict_zh = f"等于{_what_zh(what)}之和：已核实"
                    break
            if not verdict:
                what, rows = candidates[0]
                diff = given - values.loc[rows, list(given.index)].sum()
                off = ", ".join(
                    f"{named[c]} {'+' if d > 0 else ''}{_fmt(d)}"
                    for c, d in diff.items()
                    if abs(d) > 0.5
                )
                verdict = f"does NOT equal the sum of {what}: off by {off}"
                verdict_zh = f"不等于{_what_zh(what)}之和：相差 {off}"
        out.append(f"row {int(lines[label])} {text!r} ({shown}) {verdict}")
        zh.append(f"第 {int(lines[label])} 行 {text!r}（{shown}）{verdict_zh}")
    warn(
        "population_total_rows",
        f"{source}: {len(out)} total/subtotal row(s) skipped (they are not 社区/村): "
        + "; ".join(out)
        + (
            "; a total that does not add up means rows are missing, repeated or mistyped: "
            "check the table"
            if any("NOT" in o for o in out)
            else ""
        ),
        [f"row {int(lines[t])}" for t in totals],
        zh=f"{source}：跳过 {len(out)} 个合计/小计行（它们不是社区/村）："
        + "；".join(zh)
        + (
            "；合计与各行之和不符，说明有行缺失、重复或填错：请核对该表"
            if any("NOT" in o for o in out)
            else ""
        ),
    )
    return tuple(out)


def _street_keys(frame: pd.DataFrame, spec: _Spec, totals: pd.Index) -> pd.Series:
    """Each row's 街道 for comparison; a total row with an empty 街道 cell takes the 街道 its
    label names (``李庄镇小计`` -> 李庄镇)."""
    assert spec.street is not None
    keys = frame[spec.street].map(street_key)
    for label in totals:
        if not keys[label]:
            text = clean_text(_row_text(frame, label, spec))
            for marker in (*_SUB_MARKERS, *_GRAND_MARKERS):
                text = text.replace(marker, "")
            keys[label] = street_key(text)
    return keys


def _what_zh(what: str) -> str:
    """A set of rows as :func:`_sum_candidates` names it, in Chinese."""
    if what == "all the other rows":
        return "其余所有行"
    if m := re.fullmatch(r"the rows of its 街道 \((\d+)\)", what):
        return f"所属街道的 {m[1]} 行"
    if m := re.fullmatch(r"its 街道's rows (\d+)-(\d+) above it", what):
        return f"其上方所属街道的第 {m[1]}-{m[2]} 行"
    if m := re.fullmatch(r"rows (\d+)-(\d+)", what):
        return f"第 {m[1]}-{m[2]} 行"
    return what


def _sum_candidates(
    label: Any,
    kinds: pd.Series,
    data: pd.Series,
    keys: pd.Series | None,
    order: list[Any],
    lines: pd.Series,
) -> list[tuple[str, list[Any]]]:
    """The sets of data rows a total row may sum, most likely first: all rows (合计), the rows
    of its 街道, the block of rows above it, the block below it."""
    at = order.index(label)
    boundaries = [i for i, k in enumerate(kinds) if k in ("grand", "sub")]
    above = [i for i in boundaries if i < at]
    below = [i for i in boundaries if i > at]
    start, end = (above[-1] + 1 if above else 0), (below[0] if below else len(order))
    block_above = [order[i] for i in range(start, at) if data.iloc[i]]
    block_below = [order[i] for i in range(at + 1, end) if data.iloc[i]]
    everything = [x for x, d in zip(order, data, strict=True) if d]
    same_street: list[Any] = []
    street_above: list[Any] = []  # its 街道's rows above it since the previous total
    if keys is not None:
        street = keys[label]
        if not street and kinds[label] == "sub":  # 小计 in a merged block: the 街道 above it
            street = next(
                (keys[order[i]] for i in range(at - 1, start - 1, -1) if data.iloc[i]), ""
            )
        if street and keys[label]:
            same_street = [x for x in everything if keys[x] == street]
        if street:
            street_above = [x for x in block_above if keys[x] == street]
    out: list[tuple[str, list[Any]]] = []
    if kinds[label] == "grand":
        out.append(("all the other rows", everything))
    if same_street:
        out.append((f"the rows of its 街道 ({len(same_street)})", same_street))
    if street_above and street_above != block_above and street_above != same_street:
        first, last = int(lines[street_above[0]]), int(lines[street_above[-1]])
        out.append((f"its 街道's rows {first}-{last} above it", street_above))
    for block in (block_above, block_below):
        if block:
            first, last = int(lines[block[0]]), int(lines[block[-1]])
            out.append((f"rows {first}-{last}", block))
    if kinds[label] != "grand":
        out.append(("all the other rows", everything))
    return [(w, r) for w, r in out if r]


def _row_text(frame: pd.DataFrame, label: Any, spec: _Spec) -> str:
    cells = [frame.at[label, c] for c in frame.columns[:4] if c not in _figure_columns(frame, spec)]
    texts = [str(c).strip() for c in cells if clean_text(c)]
    return " ".join(texts) or "(no name)"


def _row_names(frame: pd.DataFrame, spec: _Spec, lines: pd.Series) -> pd.Series:
    """Each row as messages name it: its code, or its name as written."""
    col = spec.code if spec.join == "code" and spec.code else spec.name
    if col is None:
        return lines.map(lambda n: f"row {n}")
    return frame[col].map(lambda v: "" if clean_text(v) == "" else str(v).strip())


def _summed(
    frame: pd.DataFrame,
    cols: list[str],
    written: list[str],
    lines: pd.Series,
    problems: Problems,
    names: pd.Series,
    *,
    check_one: bool = False,
    refused: set[Any],
) -> pd.Series:
    """One column as written (checked later like any figure, unless ``check_one``), or several
    added up: each a number >= 0 (text is refused; an empty cell leaves the sum empty, for
    ``nan_policy``)."""
    if len(cols) == 1 and not check_one:
        return frame[cols[0]]
    total = pd.Series(0.0, index=frame.index)
    for col, label in zip(cols, written, strict=True):
        raw = frame[col]
        values = _numbers(raw)
        text = values.isna() & ~_blank(raw)
        negative = values < 0
        for bad, what, fix in (
            (text, "text that is not a number", "write the number of people (0 for none)"),
            (negative, "negative figures", "population counts cannot be negative"),
        ):
            if bad.any():
                refused.update(bad.index[bad])
                problems.add(
                    f"{'age-band ' if len(cols) > 1 else ''}column {label!r} holds {what} on rows "
                    f"{preview(lines[bad].astype(int).tolist())} ({_pairs(names[bad], raw[bad])})"
                    f"; {fix}"
                )
        total = total + values
    return total


def _pairs(names: pd.Series, values: pd.Series) -> str:
    items = [f"{n}: {v!r}" for n, v in zip(names, values, strict=True)]
    return ", ".join(items[:10]) + (f", ... ({len(items)} in all)" if len(items) > 10 else "")


def _by_code(
    frame: pd.DataFrame, units: pd.DataFrame, spec: _Spec, lines: pd.Series
) -> pd.DataFrame:
    """The join report of a join by code (every row, ``how`` = code)."""
    if spec.code is None:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    from siting.io.tables import string_ids

    codes = string_ids(frame[spec.code])
    known = codes.isin(units.index)
    names = units["name"].reindex(codes[known]).to_numpy()
    return pd.DataFrame(
        {
            "row": lines[known].astype(int).to_numpy(),
            "name_as_written": as_written(frame, spec.name)[known].to_numpy(),
            "street_as_written": as_written(frame, spec.street)[known].to_numpy(),
            "code": codes[known].to_numpy(),
            "matched_name": names,
            "how": "code",
        },
        columns=REPORT_COLUMNS,
    )
