"""Side-by-side comparison of finished runs: a table (CSV, Excel, HTML) and a difference map.

Reads each run's ``summary.json``, ``coverage_by_community.csv`` and ``land_check.csv`` (so it
compares exactly what was reported), and the 社区/村 boundaries the first run read.

Text from the runs (scenario and 社区/村 names) is made inert with :mod:`siting._text`: the
CSVs are read back as written (a neutralised ``'=...`` name is the name again), HTML text is
escaped, the map's tooltips travel as escaped GeoJSON properties, and spreadsheet cells beginning
with ``= + - @`` are text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from siting._errors import InputDataError
from siting._offline import PageHtml, make_offline
from siting._text import html_text, read_csv_frame, text_cells
from siting.io.read import read_boundaries
from siting.io.write import output_folder, write_csv, write_text, write_with
from siting.maps import MapControls, filled_layer


def _load_run(folder: Path) -> dict[str, Any]:
    summary = folder / "summary.json"
    if not summary.is_file():
        raise InputDataError(
            f"{folder}: no summary.json; give folders written by `siting run` "
            "(or scenario files, which are run first)"
        )
    data = json.loads(summary.read_text(encoding="utf-8"))
    # siting's CSVs put a ' before text beginning with = + - @: read the names back as written
    comm = read_csv_frame(
        pd.read_csv(
            folder / "coverage_by_community.csv",
            encoding="utf-8-sig",
            dtype={"code": str, "street_code": str},
        )
    )
    land = read_csv_frame(
        pd.read_csv(folder / "land_check.csv", encoding="utf-8-sig", dtype={"unit": str})
    )
    return {"summary": data, "communities": comm, "land": land, "folder": folder}


def table(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per measure, one column per scenario."""
    rows: dict[str, list[object]] = {}

    def add(label: str, values: list[object]) -> None:
        rows[label] = values

    sums = [r["summary"] for r in runs]
    lands = [r["land"].iloc[-1] for r in runs]
    add("步行速度 walk speed (m/s)", [s["walk_speed_mps"] for s in sums])
    add("一刻钟半径 urban radius (m)", [round(s["urban_radius_m"]) for s in sums])
    add("一公里半径 rural radius (m)", [round(s["rural_radius_m"]) for s in sums])
    add("年龄口径 age group", [s.get("age_group", "60+") for s in sums])
    add("老年人口 elderly", [round(s["elderly_total"]) for s in sums])
    for key, label in (
        ("covered_before", "规划前覆盖 covered before"),
        ("covered_after", "规划后覆盖 covered after"),
    ):
        add(f"{label} (人)", [round(s[key]["elderly"]) for s in sums])
        add(f"{label} (%)", [round(100 * s[key]["share"], 1) for s in sums])
    add("新建站点 new sites", [len(s["new_sites"]) for s in sums])
    add(
        "新建站点编号 site ids (build order)",
        [" ".join(x["id"] for x in s["new_sites"]) for s in sums],
    )
    add("服务圈内 in reach (人)", [round(s["covered_after"]["elderly"]) for s in sums])
    add(
        "已服务 served within capacity (人)",
        [s["served"]["elderly"] if "served" in s else "未建模 capacity not modelled" for s in sums],
    )
    add(
        "超出容量 in reach, over capacity (人)",
        [
            s["over_capacity"]["elderly"] if "over_capacity" in s else "未建模 not modelled"
            for s in sums
        ],
    )
    add(
        "无法覆盖 out of every site's reach (人)",
        [round(s["uncoverable"]["elderly"]) for s in sums],
    )
    add(STATUS_ROW, [s["model"]["status"] for s in sums])
    add("最优性差距 gap (%)", [round(100 * s["model"]["gap"], 2) for s in sums])
    add("规则未达标 rule failures", [s["compliance_failures"] for s in sums])
    add("用地缺口 land shortfall before (m²)", [round(x["shortfall_m2"]) for x in lands])
    add("用地缺口 land shortfall after (m²)", [round(x["shortfall_after_m2"]) for x in lands])
    return pd.DataFrame(rows, index=_distinct([s["scenario"] for s in sums])).T


def _distinct(names: list[str]) -> list[str]:
    """Column names for the runs: a scenario name used twice gets its position (``demo (2)``),
    so no two columns of the table look alike."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if names.count(name) == 1 else f"{name} ({seen[name]})")
    return out


def difference_map(runs: list[dict[str, Any]]) -> folium.Map:
    """社区/村 coloured by the change in share covered, last scenario against the first."""
    first, last = runs[0], runs[-1]
    path = Path(first["summary"]["inputs"]["inputs.communities.path"])
    polys = read_boundaries(path, level="communities")[["geometry"]]
    shares = pd.concat(
        {r["summary"]["scenario"]: r["communities"].set_index("code")["share_after"] for r in runs},
        axis=1,
    )
    geo = gpd.GeoDataFrame(polys.join(shares, how="inner"))
    a, b = first["summary"]["scenario"], last["summary"]["scenario"]
    geo["delta"] = geo[b] - geo[a]
    names = first["communities"].set_index("code")["name"]
    geo["tip"] = [
        f"<b>{html_text(names.get(code, code))}</b> {html_text(code)}<br>"
        + "<br>".join(f"{html_text(s)}: {row[s]:.1%}" for s in shares.columns)
        for code, row in geo.iterrows()
    ]
    geo["fill"] = [
        ("#1a9850" if d > 0.005 else "#d73027" if d < -0.005 else "#f7f7f7") for d in geo["delta"]
    ]
    bounds = geo.total_bounds
    fmap = folium.Map(
        location=((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2),
        zoom_start=13,
        tiles="OpenStreetMap",
    )
    name = f"覆盖率变化 {b} − {a}"  # escaped by filled_layer
    filled_layer(geo, edge="#555555", weight=0.6, opacity=0.6, name=name).add_to(fmap)
    legend = (
        f"<div style='position:fixed;bottom:24px;left:12px;z-index:9999;background:#fff;"
        f"padding:8px;border:1px solid #999;font:12px sans-serif'><b>规划后覆盖率变化</b><br>"
        f"{html_text(b)} 对比 {html_text(a)}<br><span style='color:#1a9850'>■</span> 提高"
        f" <span style='color:#d73027'>■</span> 降低 <span style='color:#999'>■</span> 不变"
        "</div>"
    )
    fmap.get_root().html.add_child(PageHtml(legend))  # type: ignore[attr-defined]
    fmap.fit_bounds([(bounds[1], bounds[0]), (bounds[3], bounds[2])])
    MapControls(fmap).add_to(fmap)  # the fullscreen button and the metric scale bar
    return make_offline(fmap)


def _html_table(frame: pd.DataFrame) -> str:
    """``frame`` as an HTML table, every label and value escaped."""

    def cell(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

    head = "".join(f"<th>{html_text(c)}</th>" for c in frame.columns)
    body = "".join(
        f"<tr><th>{html_text(label)}</th>"
        + "".join(f"<td>{html_text(cell(v))}</td>" for v in row)
        + "</tr>"
        for label, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"


def compare_table(runs: list[Any]) -> pd.DataFrame:
    """The comparison table (one row per measure, one column per scenario) of finished runs:
    run folders (``maps/NAME``) or :class:`~siting.pipeline.RunResult` objects."""
    from siting.pipeline import RunResult

    loaded = []
    for run in runs:
        if isinstance(run, RunResult):
            tabs = run.tables
            loaded.append({"summary": run.summary, "land": tabs["land_check"]})
        else:
            loaded.append(_load_run(Path(run)))
    if len(loaded) < 2:
        raise InputDataError("compare needs at least two runs")
    return table(loaded)


OUTPUTS = ("compare.csv", "compare.xlsx", "compare.html", "compare_map.html")
"""The names ``siting compare`` writes (a previous comparison's are replaced, never mixed)."""


def compare(folders: list[Path], out: Path) -> dict[str, Path]:
    """Write ``compare.csv``, ``compare.xlsx``, ``compare.html`` and ``compare_map.html`` into
    ``out``, swapped in as one set (:func:`siting.io.write.output_folder`)."""
    if len(folders) < 2:
        raise InputDataError("compare needs at least two runs")
    runs = [_load_run(f) for f in folders]
    frame = table(runs)
    out = Path(out)
    with output_folder(out, outputs=OUTPUTS) as tmp:
        paths = _write(runs, frame, tmp)
    return {key: out / path.relative_to(tmp) for key, path in paths.items()}


STATUS_ROW = "模型状态 model status"


def _for_readers(frame: pd.DataFrame) -> pd.DataFrame:
    """The spreadsheet's copy: the model status in Chinese (``compare.csv`` keeps the
    model's own words for scripts)."""
    from siting.report import status_zh

    out = frame.copy()
    if STATUS_ROW in out.index:
        out.loc[STATUS_ROW] = [status_zh(str(v)) for v in out.loc[STATUS_ROW]]
    return out


def _write(runs: list[dict[str, Any]], frame: pd.DataFrame, out: Path) -> dict[str, Path]:
    paths = {"csv": write_csv(out / "compare.csv", frame.reset_index(names="指标 measure"))}

    def excel(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            _for_readers(frame).to_excel(xl, sheet_name="情景对比", index_label="指标 measure")
            text_cells(xl.book)  # a scenario name beginning with = is text, not a formula

    paths["xlsx"] = write_with(out / "compare.xlsx", excel)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>情景对比</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid "
        "#999;padding:4px 8px;text-align:right}th{background:#eee}</style></head><body>"
        "<h1>情景对比 scenario comparison</h1>"
        + _html_table(frame)
        + "<p><a href='compare_map.html'>覆盖率变化地图 difference map</a></p></body></html>"
    )
    paths["html"] = write_text(out / "compare.html", page)
    fmap = difference_map(runs)
    paths["map"] = write_with(out / "compare_map.html", lambda tmp: fmap.save(str(tmp)))
    return paths
