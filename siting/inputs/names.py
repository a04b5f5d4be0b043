"""社区/村 and 街道/乡镇 names as bureaus write them, matched to the boundary layers.

A population table keyed by name writes ``衡苑社区居委会`` where the boundary layer says
``衡苑社区``, ``新庄村委会`` for ``新庄村``, ``人民路街道办事处`` for ``人民路街道``; and the same
village name can stand in two 街道. :func:`unit_key` and :func:`street_key` read such names
alike (NFKC, spaces, committee suffixes; 社区/村 and 镇/乡 kept), and :func:`match_names`
finds each row's 社区/村 **within its 街道**: a code given beside the name first, then the exact
name, then the normalised one. A name matching nothing, or more than one 社区/村, is reported
with the rows as written, the closest boundary names of that 街道 and the fix; nothing is
guessed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from siting._messages import Problems, preview
from siting._record import warn
from siting.io.tables import clean_text

REPORT_COLUMNS = ["row", "name_as_written", "street_as_written", "code", "matched_name", "how"]
"""Columns of ``join_report.csv``: the file's line, the name and 街道 as the table writes them,
the 社区/村 code and boundary name it was joined to, and how (exact / normalised / code)."""

_COMMUNITY_SUFFIXES = ("社区居民委员会", "社区居委会", "社区服务中心", "居民委员会", "居委会")
_VILLAGE_SUFFIXES = ("村民委员会", "村委会")
_STREET_SUFFIXES = ("街道办事处", "街道办", "办事处", "街道", "街办")
_TOWN_OFFICES = ("人民政府", "政府")  # 城关镇人民政府 / 城关镇政府 -> 城关镇 (镇/乡 kept)


def unit_key(name: object) -> str:
    """A 社区/村 name without its committee suffix, keeping 社区 / 村 themselves.

    ``衡苑社区居委会`` and ``衡苑居委会`` -> ``衡苑社区``; ``新庄村委会`` and
    ``新庄村村民委员会`` -> ``新庄村``; ``XX社区服务中心`` -> ``XX社区``; a doubled 村 at the end
    is one (``桑村村`` -> ``桑村``, so that ``桑村村民委员会`` meets it). NFKC and spaces removed
    (:func:`clean_text`).

    >>> unit_key("衡苑社区居委会"), unit_key("新庄 村委会"), unit_key("刘路村村民委员会")
    ('衡苑社区', '新庄村', '刘路村')
    """
    text = clean_text(name)
    for suffix in _COMMUNITY_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            base = text[: -len(suffix)]
            return base if base.endswith("社区") else base + "社区"
    for suffix in _VILLAGE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)] + "村"
            break
    while text.endswith("村村"):
        text = text[:-1]
    return text


def street_key(name: object) -> str:
    """A 街道/乡镇 name for comparison: 街道办事处 / 街道办 / 街办 / 办事处 / 街道 and
    人民政府 / 政府 dropped, 镇 and 乡 kept (``李庄街道`` and ``李庄镇`` are two units).

    >>> street_key("人民路街道办事处"), street_key("新华街办"), street_key("李庄镇人民政府")
    ('人民路', '新华', '李庄镇')
    >>> street_key("城关镇政府"), street_key("王营乡政府")
    ('城关镇', '王营乡')
    """
    text = clean_text(name)
    for office in _TOWN_OFFICES:
        if text.endswith(office) and len(text) > len(office):
            text = text[: -len(office)]
            break
    for suffix in _STREET_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


class NameColumns(NamedTuple):
    """The table's columns a join by name reads (canonical names; None: absent), and how the
    file names the name and 街道 columns, for messages."""

    name: str | None
    street: str | None
    code: str | None
    name_label: str = "name"
    street_label: str = "street"


def as_written(frame: pd.DataFrame, col: str | None) -> pd.Series:
    if col is None:
        return pd.Series("", index=frame.index)
    return frame[col].map(lambda v: "" if clean_text(v) == "" else str(v).strip())


@dataclass
class _Pools:
    """The boundary 社区/村 by 街道 (None: the whole district), by exact and normalised name."""

    exact: dict[tuple[str | None, str], list[str]]
    keyed: dict[tuple[str | None, str], list[str]]
    names: dict[str | None, list[str]]  # every boundary name of a 街道 (for the closest ones)

    @classmethod
    def of(cls, units: pd.DataFrame) -> _Pools:
        exact: dict[tuple[str | None, str], list[str]] = {}
        keyed: dict[tuple[str | None, str], list[str]] = {}
        names: dict[str | None, list[str]] = {}
        for code, name, street in zip(
            units.index, units["name"], units["street_code"], strict=True
        ):
            for pool in (str(street), None):
                exact.setdefault((pool, str(name).strip()), []).append(str(code))
                keyed.setdefault((pool, unit_key(name)), []).append(str(code))
                names.setdefault(pool, []).append(str(name))
        return cls(exact, keyed, names)


def _resolve_streets(
    values: pd.Series,
    lines: pd.Series,
    units: pd.DataFrame,
    streets: pd.DataFrame | None,
    problems: Problems,
    label: str,
) -> pd.Series:
    """The 街道/乡镇 code of each row's 街道 cell (a 9-digit code or a name); None when empty
    or not found (reported)."""
    from siting.io.tables import string_ids

    codes = set(units["street_code"].astype(str))
    by_key: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    if streets is not None:
        codes |= set(streets.index.astype(str))
        for code, name in zip(streets.index, streets["name"], strict=True):
            by_key.setdefault(street_key(name), []).append(str(code))
            names[str(code)] = str(name)
    text = string_ids(values)
    out = pd.Series(None, index=values.index, dtype=object)
    missing: dict[str, list[int]] = {}
    twice: dict[str, list[str]] = {}
    for value in pd.unique(text.dropna()):
        rows = text == value
        cleaned = clean_text(value)
        if not cleaned:
            continue
        if cleaned in codes:
            out[rows] = cleaned
            continue
        found = by_key.get(street_key(cleaned), [])
        if len(found) == 1:
            out[rows] = found[0]
        elif found:
            twice[str(value)] = found
        else:
            missing[str(value)] = lines[rows].astype(int).tolist()
    if missing:
        if streets is None:
            problems.add(
                f"column {label!r} names 街道/乡镇 by name ({preview(list(missing), 5)}) but no "
                "街道/乡镇 layer was given to match them to: pass `streets=` (the run does) or "
                "write the 9-digit codes"
            )
        else:
            keys = {street_key(n): n for n in names.values()}
            listed = "; ".join(
                f"{v!r} (rows {preview(r, 5)}; closest: "
                f"{preview([keys[k] for k in _closest(street_key(v), keys)])})"
                for v, r in list(missing.items())[:10]
            )
            problems.add(
                f"column {label!r} names {len(missing)} 街道/乡镇 that are not in the 街道/乡镇 "
                f"layer: {listed}; correct the names (or the layer's), or give the 9-digit codes"
            )
    for value, found in twice.items():
        problems.add(
            f"column {label!r}: {value!r} matches {len(found)} 街道/乡镇 "
            f"({', '.join(f'{names[c]} {c}' for c in found)}); give the 9-digit code instead"
        )
    return out


def match_names(
    frame: pd.DataFrame,
    out: pd.DataFrame,
    units: pd.DataFrame,
    streets: pd.DataFrame | None,
    cols: NameColumns,
    lines: pd.Series,
    problems: Problems,
    unmatched: str,
    figure: str,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    """Each row's 社区/村 by its name within its 街道: a code in the table's code column first,
    then the exact name, then the normalised one (:func:`unit_key`)."""
    from siting.io.tables import string_ids

    if cols.name is None:
        return out.assign(code=None).iloc[:0], pd.DataFrame(columns=REPORT_COLUMNS), []
    name_label, street_label = cols.name_label, cols.street_label
    written = as_written(frame, cols.name)
    street_written = as_written(frame, cols.street)
    street_codes = (
        _resolve_streets(frame[cols.street], lines, units, streets, problems, street_label)
        if cols.street
        else pd.Series(None, index=frame.index, dtype=object)
    )
    bad_street = ~street_written.eq("") & street_codes.isna()
    given_codes = string_ids(frame[cols.code]) if cols.code else pd.Series(None, index=frame.index)
    pools = _Pools.of(units)
    street_names = _street_names(units, streets)
    codes = pd.Series(None, index=frame.index, dtype=object)
    how = pd.Series("", index=frame.index, dtype=object)
    lost: list[Any] = []
    twice: list[str] = []
    unknown: list[Any] = []  # rows whose code is no 社区/村 of the layer: matched by name
    for label in frame.index:
        if bad_street[label]:
            continue  # reported with the 街道 column
        pool = street_codes[label]
        pool = None if pool is None or pd.isna(pool) else str(pool)
        given = given_codes[label]
        if given is not None and not pd.isna(given) and str(given).strip():
            if str(given) in units.index:
                codes[label], how[label] = str(given), "code"
                continue
            unknown.append(label)
        name = written[label]
        found = pools.exact.get((pool, name), [])
        kind = "exact"
        if len(found) != 1:
            found, kind = pools.keyed.get((pool, unit_key(name)), []), "normalised"
        if len(found) == 1:
            codes[label], how[label] = found[0], kind
        elif found:
            where = f"in {street_names.get(pool, pool)}" if pool else "(no 街道 given)"
            choices = ", ".join(
                f"{units.at[c, 'name']!r} ({c}, "
                f"{street_names.get(str(units.at[c, 'street_code']), '')})"
                for c in found
            )
            twice.append(f"row {int(lines[label])} {name!r} {where} matches {choices}")
        else:
            lost.append(label)
    if twice:
        problems.add(
            f"column {name_label!r}: {len(twice)} name(s) match more than one 社区/村: "
            + "; ".join(twice[:10])
            + (f"; ... ({len(twice)} in all)" if len(twice) > 10 else "")
            + "; "
            + (
                "map the table's 街道 column (`columns: {street: 街道}`) so names are matched "
                "within their 街道, "
                if cols.street is None
                else ""
            )
            + "write the name exactly as the boundary layer does, or add a code column "
            "(`columns: {code: 区划代码}`)"
        )
    excluded = _unmatched_names(
        lost,
        written,
        street_written,
        street_codes,
        lines,
        out,
        pools,
        street_names,
        problems,
        unmatched,
        name_label,
        figure,
    )
    _claimed_twice(codes, written, lines, units, problems)
    keep = codes.notna() & ~codes.duplicated()
    result = out[keep].copy()
    result.insert(0, "code", codes[keep])
    matches = pd.DataFrame(
        {
            "row": lines[keep].astype(int).to_numpy(),
            "name_as_written": written[keep].to_numpy(),
            "street_as_written": street_written[keep].to_numpy(),
            "code": codes[keep].to_numpy(),
            "matched_name": units["name"].reindex(codes[keep]).to_numpy(),
            "how": how[keep].to_numpy(),
        },
        columns=REPORT_COLUMNS,
    )
    _code_name_mismatch(matches, units)
    if unknown:
        warn(
            "population_code_unknown",
            f"{len(unknown)} row(s) give a code that is no 社区/村 of the boundary layer and were "
            "matched by their name instead: "
            + "; ".join(
                f"row {int(lines[x])} {given_codes[x]!r} {written[x]!r}"
                + (f" -> {codes[x]}" if codes[x] is not None else " (no match)")
                for x in unknown[:10]
            )
            + " (correct the codes, or leave them empty)",
            [str(given_codes[x]) for x in unknown],
            zh=f"{len(unknown)} 行给出的代码不是边界图层中的社区/村，已改按名称匹配："
            + "；".join(
                f"第 {int(lines[x])} 行 {given_codes[x]!r} {written[x]!r}"
                + (f" -> {codes[x]}" if codes[x] is not None else "（未匹配）")
                for x in unknown[:10]
            )
            + "（请更正代码，或将其留空）",
        )
    return result, matches, excluded


def _closest(key: str, keys: Iterable[str]) -> list[str]:
    """The three keys nearest to ``key`` (difflib's ratio), however far."""
    return difflib.get_close_matches(key, list(keys), 3, 0)


def _street_names(units: pd.DataFrame, streets: pd.DataFrame | None) -> dict[str | None, str]:
    if streets is not None:
        return {str(c): str(n) for c, n in zip(streets.index, streets["name"], strict=True)}
    return {str(c): f"街道 {c}" for c in units["street_code"].unique()}


def _unmatched_names(
    lost: list[Any],
    written: pd.Series,
    street_written: pd.Series,
    street_codes: pd.Series,
    lines: pd.Series,
    out: pd.DataFrame,
    pools: _Pools,
    street_names: Mapping[str | None, str],
    problems: Problems,
    unmatched: str,
    name_label: str,
    figure: str,
) -> list[dict[str, Any]]:
    """Rows whose name is no 社区/村 of their 街道: left out under ``unmatched: exclude``
    (listed), else reported with the closest boundary names of that 街道."""
    if not lost:
        return []
    where: dict[Any, str] = {}
    for label in lost:
        pool = street_codes[label]
        pool = None if pool is None or pd.isna(pool) else str(pool)
        name = written[label]
        candidates = {unit_key(n): n for n in pools.names.get(pool, [])}
        close = _closest(unit_key(name), candidates)
        street = f"{street_written[label]!r}, " if street_written[label] else ""
        area = f"in {street_names.get(pool, pool)}" if pool else "in the district"
        nearest = ", ".join(repr(candidates[k]) for k in close) or "none"
        where[label] = f"{street}not {area}; closest there: {nearest}"
    listed = [f"row {int(lines[x])} {written[x]!r} ({where[x]})" for x in lost]
    if unmatched == "exclude":
        elderly = (
            pd.to_numeric(out[figure], errors="coerce")
            if figure in out
            else pd.Series(np.nan, index=out.index)
        )
        return [
            {
                "code": written[x] or f"row {int(lines[x])}",
                "elderly_60plus": float(elderly[x]),
                "reason": f"row {int(lines[x])}: a name without a boundary polygon ({where[x]}; "
                "unmatched: exclude)",
            }
            for x in lost
        ]
    problems.add(
        f"column {name_label!r}: {len(lost)} row(s) name a 社区/村 that the boundary layer does "
        "not have in that 街道: "
        + "; ".join(listed[:10])
        + (f"; ... ({len(listed)} in all)" if len(listed) > 10 else "")
        + "; correct the names in the table (or in the boundary layer), check the row's 街道, "
        "or set `unmatched: exclude` to leave out rows that have no polygon (development zones; "
        "listed in summary.json)"
    )
    return []


def _claimed_twice(
    codes: pd.Series, written: pd.Series, lines: pd.Series, units: pd.DataFrame, problems: Problems
) -> None:
    dup = codes[codes.notna() & codes.duplicated(keep=False)]
    if dup.empty:
        return
    listed = []
    for code in pd.unique(dup):
        rows = dup.index[dup == code]
        who = ", ".join(f"row {int(lines[r])} {written[r]!r}" for r in rows)
        listed.append(f"{who} all match {units.at[code, 'name']!r} ({code})")
    problems.add(
        f"{len(listed)} 社区/村 matched by more than one row: "
        + "; ".join(listed[:10])
        + "; each 社区/村 needs exactly one row: remove the repeated row, or correct its name "
        "or 街道"
    )


def _code_name_mismatch(matches: pd.DataFrame, units: pd.DataFrame) -> None:
    """Rows joined by their code whose name is another 社区/村's: recorded, the code wins."""
    by_code = matches[matches["how"] == "code"]
    differ = [
        r
        for r in by_code.itertuples()
        if r.name_as_written and unit_key(r.name_as_written) != unit_key(r.matched_name)
    ]
    if differ:
        warn(
            "population_code_name_differ",
            f"{len(differ)} row(s) joined by their code name another 社区/村 than the boundary "
            "layer: "
            + "; ".join(
                f"row {r.row} {r.name_as_written!r} -> {r.code} {r.matched_name!r}"
                for r in differ[:10]
            )
            + " (the code was used; correct the name or the code)",
            [r.code for r in differ],
            zh=f"{len(differ)} 行按代码匹配，但所填名称与边界图层中该代码的社区/村不同："
            + "；".join(
                f"第 {r.row} 行 {r.name_as_written!r} -> {r.code} {r.matched_name!r}"
                for r in differ[:10]
            )
            + "（已按代码匹配；请更正名称或代码）",
        )
