"""Which columns of a bureau's population table hold the figures: one 60+ column, or age bands
(60-64岁 … 85岁及以上, 周岁 or not, 至/~/— between) summed from the age asked for, each band
checked to be listed once and the chain to have no gap."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from siting._messages import Problems, preview
from siting._record import preview_zh, warn
from siting.io.tables import clean_text

log = logging.getLogger(__name__)


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


@dataclass
class TableSpec:
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


def table_spec(
    frame: pd.DataFrame,
    scalar: Mapping[str, str],
    lists: Mapping[str, list[str]],
    join: str | None,
    group: str,
    problems: Problems,
) -> TableSpec:
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
    return TableSpec(
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


def figure_columns(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    cols = [c for v in spec.figures.values() for c in v]
    cols += [c for c in ("residents", "households") if c in frame]
    return list(dict.fromkeys(cols))


AGE_GROUPS = {"60+": 60, "65+": 65, "80+": 80}
"""Age groups a run can count, by the lowest age in the group."""


_DASHES = "-~—–至到"


_BAND = re.compile(rf"^(\d{{1,3}})(?:周岁|岁)?[{_DASHES}]+(\d{{1,3}})(?:周岁|岁)?$")


_OPEN_BAND = re.compile(r"^(\d{1,3})(?:周岁|岁)?(?:及以上|及其以上|以上|\+)$")


_BAND_NOISE = ("老年人口", "老年人", "人口", "人数", "老人", "(人)", "人")
