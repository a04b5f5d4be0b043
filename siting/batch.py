"""Folder batches: scenarios run one after another in this process, or each as a task on Dask
(a ``LocalCluster`` of one worker process per core, or a running cluster by its scheduler
address); then one table and one map across them.

What a batch guarantees, on Dask as in one process:

* every scenario's folder ``OUT/<name>/`` holds exactly what a single run writes, swapped in as
  one complete set (:func:`siting.io.write.output_folder`). On Dask a worker writes the set into
  a staging folder beside it (``OUT/.siting-batch-<token>/``) and this process -- the only one
  that touches ``OUT/<name>/`` -- swaps the first finished set in. A worker lost mid-scenario
  costs a rerun of that scenario elsewhere (Dask moves the task); a half-written staging folder
  is never published, and a scenario is published once even if it ran twice.
* a failed scenario (bad input, or a worker that kept dying on it) is reported with its error
  while the others finish; :attr:`BatchResult.failed` lists them.
* networks and cost matrices are reused across the scenarios of one network: in one process
  through one :class:`~siting.cache.RunCache`; on Dask through a cache kept in each worker
  process (the last :data:`WORKER_NETWORKS` networks), with the scenarios that share a network
  file sent to one worker (:func:`plan`; the preference is loose, so an idle worker may still
  take one, and a lost worker's share goes to the others).
* ``batch_summary.csv`` (English columns) and ``batch_summary.xlsx`` (Chinese headers), one row
  per scenario in the order given, and ``province_map.html``, the counties coloured by the share
  of the elderly covered after the plan, in the batch folder.

A worker runs one scenario at a time (a lock per process): a run's warnings are collected with
:func:`warnings.catch_warnings`, which is per process, so two runs in two threads of one
process could trade warnings. Start workers with ``--nthreads 1`` and as many processes as
cores.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from siting._errors import SitingError
from siting.cache import RunCache
from siting.io.write import InterruptedAfterSwap, output_folder, write_csv, write_with

if TYPE_CHECKING:
    from siting.pipeline import RunResult
    from siting.scenario import Scenario

log = logging.getLogger(__name__)

Describe = Callable[["Scenario", "RunResult", Path, dict[str, Path]], list[str]]
"""``describe(scenario, result, out_dir, written)``: the lines to print for a finished run."""

WORKER_NETWORKS = 4
"""Walking networks (and their cost matrices) a Dask worker keeps for the next scenarios."""

STAGING_PREFIX = ".siting-batch-"


class BatchError(SitingError, RuntimeError):
    """A batch cannot start: the scheduler cannot be reached, or its workers lack siting."""


@dataclass(frozen=True)
class Outcome:
    """One scenario of a batch: its row of the batch table, what to print, where it ran."""

    name: str
    county_code: str
    county: str
    status: str  # "ok" or "error"
    error: str = ""
    figures: dict[str, Any] = field(default_factory=dict)  # the row's numbers (batch table)
    lines: tuple[str, ...] = ()
    outline_wkb: bytes | None = None  # the county (union of its 街道/乡镇), WGS-84
    tiles: str = "osm"
    unexpected: bool = False  # an error that is not a SitingError (a bug, or a lost worker)
    reused: int = 0  # networks and cost matrices this run took from the cache
    seconds: float = 0.0
    worker: str = "local"
    peak_rss_mib: float | None = None  # peak memory of the process that ran it
    staged: str | None = None  # Dask: the staging folder holding the written set


@dataclass(frozen=True)
class BatchResult:
    """Every scenario's :class:`Outcome` in the order given, and what the batch wrote."""

    outcomes: tuple[Outcome, ...]
    reused: int
    workers: int  # Dask workers seen at the start; 0 for a batch run in this process
    written: dict[str, Path]  # batch_summary.csv / .xlsx and province_map.html, by key
    seconds: float

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "ok"]


# --------------------------------------------------------------------------- one scenario

_RUN_LOCK = threading.Lock()
_WORKER_CACHE = RunCache()


def _trim(cache: RunCache, keep: int) -> None:
    """Drop the oldest networks beyond ``keep``, with their cost matrices and notes."""
    while len(cache.networks) > keep:
        key = next(iter(cache.networks))
        del cache.networks[key]
        cache.notes.pop(key, None)
        for m in [m for m in cache.matrices if m[: len(key)] == key]:
            del cache.matrices[m]


def _where() -> str:
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:  # not inside a worker
            pass
    return "local"


def _peak_rss_mib() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _county(sc: Scenario, res: RunResult | None) -> tuple[str, str]:
    if res is not None:
        return res.compliance_data.district_code, res.compliance_data.district_name
    return sc.district.code or "", sc.district.name or ""


def _figures(res: RunResult) -> tuple[dict[str, Any], bytes]:
    """The batch-table figures of a run, as its ``summary.json`` has them, and its outline."""
    from siting import report

    s = report.summary(res, report.tables(res))
    total = next(r for r in s["land_check"] if r["unit"] == "total")
    figures = {
        "age_group": s["age_group"],
        "elderly": s["elderly_total"],
        "covered_before": s["covered_before"]["elderly"],
        "share_before": s["covered_before"]["share"],
        "covered_after": s["covered_after"]["elderly"],
        "share_after": s["covered_after"]["share"],
        "new_sites": len(s["new_sites"]),
        "land_shortfall_m2": total["shortfall_m2"],
        "land_shortfall_after_m2": total["shortfall_after_m2"],
        "rule_checks": s["compliance_checks"],
        "rule_failures": s["compliance_failures"],
        "rule_no_data": s["compliance_no_data"],
        "warnings": len(s["warnings"]),
    }
    outline = res.inputs.streets.to_crs(4326).union_all().simplify(1e-5)
    return figures, outline.wkb


def run_scenario(
    sc: Scenario,
    out_dir: str | Path,
    *,
    staging: str | Path | None = None,
    describe: Describe | None = None,
    cache: RunCache | None = None,
    on_written: Callable[[Path], object] | None = None,
) -> Outcome:
    """Run one scenario of a batch and write its outputs; never raises for a failed run.

    The set is written into ``out_dir`` or, given ``staging``, into that folder instead (to be
    published later by :func:`publish`); ``describe`` gets ``out_dir`` either way. ``cache``
    None: the cache of this process (a Dask worker's), trimmed to :data:`WORKER_NETWORKS`.
    One scenario runs at a time in a process (see the module notes).
    """
    from siting import pipeline, report

    out_dir = Path(out_dir)
    where = Path(staging) if staging is not None else out_dir
    with _RUN_LOCK:
        use = _WORKER_CACHE if cache is None else cache
        hits, start = use.hits, time.perf_counter()
        res: RunResult | None = None
        try:
            res = pipeline.run(sc, cache=use)
            try:
                written = report.write_all(res, where)
            except InterruptedAfterSwap:
                if on_written is not None:
                    on_written(where)
                raise
            if on_written is not None:
                on_written(where)
            shown = {k: out_dir / p.relative_to(where) for k, p in written.items()}
            lines = describe(sc, res, out_dir, shown) if describe is not None else []
            figures, outline = _figures(res)
        except Exception as exc:
            log.info("scenario %s failed", sc.name, exc_info=True)
            code, name = _county(sc, res)
            return Outcome(
                sc.name,
                code,
                name,
                "error",
                error=str(exc) if isinstance(exc, SitingError) else f"{type(exc).__name__}: {exc}",
                lines=(f"情景 {sc.name}：运行失败 — {exc}",),
                unexpected=not isinstance(exc, SitingError),
                seconds=time.perf_counter() - start,
                worker=_where(),
                peak_rss_mib=_peak_rss_mib(),
            )
        finally:
            if cache is None:
                _trim(use, WORKER_NETWORKS)
        code, name = _county(sc, res)
        return Outcome(
            sc.name,
            code,
            name,
            "ok",
            figures=figures,
            lines=tuple(lines),
            outline_wkb=outline,
            tiles=sc.output.tiles,
            reused=use.hits - hits,
            seconds=time.perf_counter() - start,
            worker=_where(),
            peak_rss_mib=_peak_rss_mib(),
            staged=None if staging is None else str(where),
        )


def publish(staged: Path, out_dir: Path) -> Path:
    """Swap a set written into ``staged`` in as ``out_dir``'s complete set (files of the
    user's own in ``out_dir`` are kept, as for a single run); ``staged`` is emptied."""
    from siting.report import OUTPUTS

    with output_folder(out_dir, outputs=OUTPUTS) as tmp:
        for entry in sorted(staged.iterdir()):
            os.replace(entry, tmp / entry.name)
    shutil.rmtree(staged, ignore_errors=True)
    return out_dir


# --------------------------------------------------------------------------- the batch


def network_source(sc: Scenario) -> str:
    """What the scenarios sharing a walking network have in common: the network file, or
    for a download the 街道 boundaries it is cut to."""
    net = sc.inputs.network
    if net.path is not None:
        return str(Path(net.path).resolve())
    return f"download:{Path(sc.inputs.streets.path).resolve()}"


def plan(scenarios: Sequence[Scenario], workers: Sequence[str]) -> dict[str, str]:
    """The worker each scenario that shares its network with another should run on: each
    such group to one worker, the largest groups first to the least loaded worker. A
    scenario alone with its network gets no preference (any free worker takes it)."""
    groups: dict[str, list[str]] = {}
    for sc in scenarios:
        groups.setdefault(network_source(sc), []).append(sc.name)
    load = dict.fromkeys(sorted(workers), 0)
    chosen: dict[str, str] = {}
    if not load:
        return chosen
    for names in sorted(groups.values(), key=lambda g: (-len(g), g[0])):
        if len(names) < 2:
            continue
        worker = min(load, key=lambda w: (load[w], w))
        load[worker] += len(names)
        chosen |= dict.fromkeys(names, worker)
    return chosen


def run_batch(
    items: Sequence[tuple[Scenario, Path]],
    root: Path | None,
    *,
    scheduler: str | None = None,
    describe: Describe | None = None,
    echo: Callable[[str], object] = print,
    progress: bool = False,
    on_published: Callable[[Path], object] | None = None,
) -> BatchResult:
    """Run every ``(scenario, output folder)`` and, given ``root``, write the batch table and
    the province map there.

    ``scheduler``: None runs the scenarios one after another in this process; ``"local"``
    starts a Dask ``LocalCluster`` (one single-threaded worker process per core) for this
    batch; an address (``tcp://host:8786``) uses a running cluster. ``echo`` gets each
    scenario's lines (``describe``'s, or its error) as it finishes; ``on_published`` each
    output folder as its new set is in place.
    """
    start = time.perf_counter()
    if scheduler is None:
        outcomes, workers = _serial(items, describe, echo, progress, on_published), 0
    else:
        outcomes, workers = _on_dask(items, scheduler, describe, echo, progress, on_published)
    written: dict[str, Path] = {}
    if root is not None:
        written = write_summary(outcomes, root)
    return BatchResult(
        tuple(outcomes),
        sum(o.reused for o in outcomes),
        workers,
        written,
        time.perf_counter() - start,
    )


def _bar(total: int, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="scenarios", unit="run", disable=not progress)


def _serial(
    items: Sequence[tuple[Scenario, Path]],
    describe: Describe | None,
    echo: Callable[[str], object],
    progress: bool,
    on_published: Callable[[Path], object] | None,
) -> list[Outcome]:
    cache = RunCache()
    outcomes = []
    with _bar(len(items), progress) as bar:
        for sc, out in items:
            o = run_scenario(sc, out, describe=describe, cache=cache, on_written=on_published)
            for line in o.lines:
                (bar.write if progress else echo)(line)
            bar.update()
            outcomes.append(o)
    return outcomes


def _client(scheduler: str) -> tuple[Any, Any]:
    """A Dask client, and the LocalCluster it started (None for an address)."""
    from dask.system import CPU_COUNT
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=CPU_COUNT,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Dask's own log lines only when siting's are wanted (-v)
            silence_logs=logging.WARNING if log.isEnabledFor(logging.INFO) else logging.CRITICAL,
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="20s"), None
    except (OSError, TimeoutError) as exc:
        raise BatchError(
            f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or use "
            "`--scheduler local`"
        ) from exc


def _check_workers(client: Any) -> list[str]:
    """The workers now connected, each checked to run this version of siting."""
    from siting import __version__

    try:
        versions = client.run(_version)
    except Exception as exc:
        raise BatchError(
            f"a Dask worker cannot run siting ({type(exc).__name__}: {exc}); install the "
            f"package (siting {__version__}) on every worker, with read access to the inputs "
            "and write access to the output folder at the same paths"
        ) from exc
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        raise BatchError(
            f"Dask workers run another siting version than this one ({__version__}): {wrong}; "
            "install the same version everywhere"
        )
    return sorted(versions)


def _version() -> str:
    from siting import __version__

    return __version__


def _on_dask(
    items: Sequence[tuple[Scenario, Path]],
    scheduler: str,
    describe: Describe | None,
    echo: Callable[[str], object],
    progress: bool,
    on_published: Callable[[Path], object] | None,
) -> tuple[list[Outcome], int]:
    from distributed import as_completed

    client, cluster = _client(scheduler)
    token = uuid.uuid4().hex[:12]
    stages: set[Path] = set()
    try:
        if cluster is not None:
            client.wait_for_workers(len(cluster.workers))
        workers = _check_workers(client)
        prefer = plan([sc for sc, _ in items], workers)
        futures = {}
        for i, (sc, out) in enumerate(items):
            stage = out.parent / f"{STAGING_PREFIX}{token}"
            stage.mkdir(parents=True, exist_ok=True)
            stages.add(stage)
            staged = tempfile.mkdtemp(prefix=f"{sc.name}.", dir=stage)
            os.rmdir(staged)  # a unique name, free for the worker's own swap
            extra: dict[str, Any] = {}
            if sc.name in prefer:
                extra = {"workers": [prefer[sc.name]], "allow_other_workers": True}
            fut = client.submit(
                run_scenario,
                sc,
                out,
                staging=staged,
                describe=describe,
                key=f"siting-scenario-{token}-{i}",  # one task group: Dask queues it
                pure=False,
                **extra,
            )
            futures[fut] = (sc, out)
        found: dict[str, Outcome] = {}
        with _bar(len(items), progress) as bar:
            for fut in as_completed(list(futures)):
                sc, out = futures[fut]
                o = _outcome(fut, sc)
                if o.status == "ok" and o.staged is not None:
                    o = _published(o, out, on_published)
                found[sc.name] = o
                for line in o.lines:
                    (bar.write if progress else echo)(line)
                bar.update()
                fut.release()
        return [found[sc.name] for sc, _ in items], len(workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        for stage in stages:
            shutil.rmtree(stage, ignore_errors=True)


def _published(o: Outcome, out: Path, on_published: Callable[[Path], object] | None) -> Outcome:
    """Publish a staged set; a set that cannot be moved in fails its scenario, not the batch."""
    assert o.staged is not None
    try:
        publish(Path(o.staged), out)
    except OSError as exc:
        error = f"its outputs could not be moved into {str(out)!r}: {exc}"
        return replace(o, status="error", error=error, lines=(*o.lines, f"  ✘ {error}"))
    if on_published is not None:
        on_published(out)
    return o


def _outcome(fut: Any, sc: Scenario) -> Outcome:
    """A finished task's outcome; a task Dask gave up on (its worker died again and again)
    as a failed scenario."""
    try:
        return fut.result()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return Outcome(
            sc.name,
            sc.district.code or "",
            sc.district.name or "",
            "error",
            error=f"Dask could not run it ({reason})",
            lines=(f"情景 {sc.name}：运行失败 — Dask 无法完成（{reason}）",),
            unexpected=True,
        )


# --------------------------------------------------------------------------- outputs

COLUMNS = {
    "county_code": "区县代码",
    "county": "区县",
    "scenario": "情景",
    "age_group": "年龄组",
    "elderly": "老人数",
    "covered_before": "规划前覆盖老人",
    "share_before": "规划前覆盖率",
    "covered_after": "规划后覆盖老人",
    "share_after": "规划后覆盖率",
    "new_sites": "新建站点数",
    "land_shortfall_m2": "规划前用地缺口 (m²)",
    "land_shortfall_after_m2": "规划后用地缺口 (m²)",
    "rule_checks": "规则检查项",
    "rule_failures": "规则未达标项",
    "rule_no_data": "规则无数据项",
    "warnings": "警告条数",
    "status": "状态",
    "error": "错误信息",
}
"""The batch table's columns (CSV) and their Chinese headers (xlsx)."""

_PERCENT = ("share_before", "share_after")


def summary_table(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per scenario, in the batch's order (:data:`COLUMNS`)."""
    rows = [
        {
            "county_code": o.county_code,
            "county": o.county,
            "scenario": o.name,
            **o.figures,
            "status": o.status,
            "error": o.error,
        }
        for o in outcomes
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_summary(outcomes: Sequence[Outcome], root: Path) -> dict[str, Path]:
    """``batch_summary.csv``, ``batch_summary.xlsx`` and ``province_map.html`` in ``root``."""
    table = summary_table(outcomes)
    return {
        "csv": write_csv(root / "batch_summary.csv", table),
        "xlsx": _write_xlsx(table, root / "batch_summary.xlsx"),
        "map": write_province_map(outcomes, root / "province_map.html"),
    }


def _write_xlsx(table: pd.DataFrame, path: Path) -> Path:
    from siting._text import text_cells

    shown = table.assign(status=table["status"].map({"ok": "成功", "error": "失败"}))

    def fill(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            shown.rename(columns=COLUMNS).to_excel(xl, sheet_name="批量汇总", index=False)
            ws = xl.book["批量汇总"]
            for j, column in enumerate(shown.columns, start=1):
                cells = list(ws.iter_rows(min_col=j, max_col=j))
                if column in _PERCENT:
                    for (cell,) in cells[1:]:
                        cell.number_format = "0.0%"
                width = max(len(str(c.value or "")) for (c,) in cells[:200])
                ws.column_dimensions[cells[0][0].column_letter].width = min(max(8, width + 2), 60)
            ws.freeze_panes = "A2"
            text_cells(xl.book)

    return write_with(path, fill)


PROVINCE_BINS = (
    (0.5, "#b2182b", "低于 50%"),
    (0.6, "#ef8a62", "50–60%"),
    (0.7, "#fddbc7", "60–70%"),
    (0.8, "#d9f0d3", "70–80%"),
    (0.9, "#a6dba0", "80–90%"),
    (math.inf, "#1b7837", "90% 及以上"),
)
"""Colours of a county's share covered after the plan (upper bound exclusive, colour, label)."""
FAILED_COLOUR = "#bdbdbd"


def _colour(share: float) -> str:
    return next(c for upper, c, _ in PROVINCE_BINS if share < upper)


def _county_frame(outcomes: Sequence[Outcome]) -> Any:
    """One row per county with an outline: its worst share after the plan and a tooltip."""
    import geopandas as gpd
    import shapely

    from siting._text import html_table, html_text

    rows = []
    by_code: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_code.setdefault(o.county_code or o.name, []).append(o)
    for code, runs in by_code.items():
        outline = next((o.outline_wkb for o in runs if o.outline_wkb is not None), None)
        if outline is None:
            continue
        ok = [o for o in runs if o.status == "ok"]
        shares = [float(o.figures["share_after"]) for o in ok]
        lines = [
            (
                o.name,
                f"{o.figures['share_before']:.1%} → {o.figures['share_after']:.1%}，"
                f"新建 {o.figures['new_sites']} 处"
                if o.status == "ok"
                else f"运行失败：{o.error[:200]}",
            )
            for o in runs
        ]
        tip = f"<b>{html_text(runs[0].county)}</b>（{html_text(code)}）" + html_table(
            [("情景", "规划前 → 规划后覆盖率"), *lines]
        )
        rows.append(
            {
                "tip": tip,
                "fill": _colour(min(shares)) if shares else FAILED_COLOUR,
                "geometry": shapely.from_wkb(outline),
            }
        )
    return gpd.GeoDataFrame(rows, columns=["tip", "fill", "geometry"], crs=4326)


def _province_legend(outcomes: Sequence[Outcome], note: str) -> str:
    from siting._text import html_text
    from siting.maps import _swatch

    def row(colour: str, text: str) -> str:
        swatch = _swatch(f"background:{colour};opacity:.75;width:16px;height:11px")
        return f"<div style='white-space:nowrap'>{swatch}{html_text(text)}</div>"

    ok = [o for o in outcomes if o.status == "ok"]
    failed = [o for o in outcomes if o.status != "ok"]
    counties = len({o.county_code or o.name for o in outcomes})
    failures = "".join(
        f"<li>{html_text(o.name)}（{html_text(o.county or o.county_code)}）："
        f"{html_text(o.error[:300])}</li>"
        for o in failed[:20]
    )
    more = f"<li>另有 {len(failed) - 20} 个</li>" if len(failed) > 20 else ""
    return (
        "<div id='siting-province-legend' style='position:fixed;bottom:24px;left:12px;"
        "z-index:9999;background:rgba(255,255,255,.94);padding:6px 10px;border:1px solid #999;"
        "border-radius:4px;font:12px sans-serif;max-width:360px;max-height:calc(100vh - 140px);"
        "overflow-y:auto'>"
        f"<b>各区县规划后老人覆盖率</b><br>{counties} 个区县，{len(outcomes)} 个情景"
        f"（成功 {len(ok)}，失败 {len(failed)}）<br>"
        "<span style='color:#666'>一个区县有多个情景时按其中最低的规划后覆盖率着色</span>"
        + "".join(row(c, t) for _, c, t in PROVINCE_BINS)
        + row(FAILED_COLOUR, "运行失败")
        + (
            "<hr><b>运行失败的情景</b><ul style='margin:2px 0;padding-left:16px'>"
            f"{failures}{more}</ul>"
            if failed
            else ""
        )
        + (f"<hr><div style='color:#b35806'>{html_text(note)}</div>" if note else "")
        + "</div>"
    )


def write_province_map(outcomes: Sequence[Outcome], path: Path) -> Path:
    """The province map: every county outline coloured by its share covered after the plan
    (:data:`PROVINCE_BINS`), its scenarios in the tooltip, failed runs listed in the legend.
    Offline like the run's map; every text from data escaped (:mod:`siting._text`)."""
    import folium

    from siting._offline import PageHtml, make_offline
    from siting._tiles import provider, shifter
    from siting.maps import MapControls, filled_layer

    chosen = {o.tiles for o in outcomes if o.status == "ok"}
    tiles = provider(chosen.pop() if len(chosen) == 1 else "osm")
    frame = _county_frame(outcomes)
    fmap = folium.Map(tiles=None, zoom_snap=0.25)
    folium.TileLayer(
        tiles.url, name=tiles.label, attr=tiles.attribution, subdomains=tiles.subdomains
    ).add_to(fmap)
    if not frame.empty:
        shown = shifter(tiles.coord_system)(frame)
        filled_layer(
            shown, edge="#444444", weight=1.0, opacity=0.75, highlight=True, name="区县覆盖率"
        ).add_to(fmap)
        b = shown.total_bounds
        fmap.fit_bounds([(b[1], b[0]), (b[3], b[2])], padding_top_left=(380, 40))
        MapControls(fmap, whole=b).add_to(fmap)
    else:
        fmap.location = [34.0, 113.5]
        fmap.options["zoom"] = 7
    fmap.get_root().html.add_child(  # type: ignore[attr-defined]
        PageHtml(_province_legend(outcomes, tiles.note))
    )
    page = make_offline(fmap)
    return write_with(path, lambda tmp: page.save(str(tmp)))


# --------------------------------------------------------------------------- comparing sets

_FOLIUM_ID = re.compile(rb"[0-9a-f]{32}")
_XLSX_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def comparable(path: Path) -> bytes:
    """A file's bytes without what differs between two runs of the same scenario by
    construction: folium's random element ids (``map.html``, renumbered in order of first
    appearance), the workbook's creation time (``docProps/core.xml`` of an ``.xlsx``; every
    other part compared as is), the GeoPackage's ``last_change`` times (its SQL dump), a
    ``.dbf``'s date of last update. Any other file: its bytes."""
    data = path.read_bytes()
    if path.suffix == ".html":
        seen: dict[bytes, bytes] = {}
        return _FOLIUM_ID.sub(lambda m: seen.setdefault(m.group(0), b"id%d" % len(seen)), data)
    if path.suffix == ".xlsx":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = [
                name.encode() + b"\0" + _XLSX_TIME.sub(rb"\1\2", z.read(name))
                for name in sorted(z.namelist())
            ]
        return b"\0\0".join(parts)
    if path.suffix == ".gpkg":
        import sqlite3

        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            dump = "\n".join(db.iterdump())
        finally:
            db.close()
        return _ISO_TIME.sub("T", dump).encode()
    if path.suffix == ".dbf" and len(data) > 4:
        return data[:1] + b"\0\0\0" + data[4:]
    return data


RUN_TIMES = frozenset({"timings.json"})
"""Files that hold run times, different at every run: left out of :func:`differences`."""


def differences(a: Path, b: Path) -> list[str]:
    """The files (relative paths) under folders ``a`` and ``b`` that differ beyond what two
    runs of the same scenarios must (:func:`comparable`; ``timings.json`` left out), or that
    only one holds. Empty: the two sets are the same."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and p.name not in RUN_TIMES
        }

    left, right = files(a), files(b)
    differ = sorted(left ^ right)
    for name in sorted(left & right):
        if comparable(a / name) != comparable(b / name):
            differ.append(name)
    return differ
