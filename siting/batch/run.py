"""Folder batches: scenarios run one after another in this process, or each as a task on Dask
(a ``LocalCluster`` of one worker process per core, or a running cluster by its scheduler
address); then one table and one map across them (:mod:`siting.batch.summary`).

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
  through one :class:`~siting.pipeline.cache.RunCache`; on Dask through a cache kept in each worker
  process (the last :data:`WORKER_NETWORKS` networks), with the scenarios that share a network
  file sent to one worker (:func:`plan`; the preference is loose, so an idle worker may still
  take one, and a lost worker's share goes to the others).
* ``batch_summary.csv`` (English columns) and ``batch_summary.xlsx`` (Chinese headers), one row
  per scenario in the order given, and ``province_map.html``, the counties coloured by the share
  of the elderly covered after the plan, in the batch folder: the same whichever way it ran.

A worker runs one scenario at a time (a lock per process): a run's warnings are collected with
:func:`warnings.catch_warnings`, which is per process, so two runs in two threads of one
process could trade warnings. Start workers with ``--nthreads 1`` and as many processes as
cores.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting._errors import SitingError
from siting.batch.outcome import BatchError, BatchResult, Outcome
from siting.io.write import InterruptedAfterSwap, output_folder
from siting.pipeline.cache import RunCache

if TYPE_CHECKING:
    from siting.pipeline.stages import RunResult
    from siting.scenario import Scenario

log = logging.getLogger(__name__)

Describe = Callable[["Scenario", "RunResult", Path, dict[str, Path]], list[str]]
"""``describe(scenario, result, out_dir, written)``: the lines to print for a finished run."""

WORKER_NETWORKS = 4
"""Walking networks (and their cost matrices) a Dask worker keeps for the next scenarios."""

STAGING_PREFIX = ".siting-batch-"


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
    import geopandas as gpd

    from siting.outputs import tables as report

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
    # the 街道/乡镇 dissolved, in metres; 0.2 m closes the slivers between neighbours that
    # coordinates rounded file by file leave (they would show as lines inside the county)
    whole = res.inputs.streets.to_crs(res.crs).buffer(0.2).union_all().buffer(-0.2)
    outline = gpd.GeoSeries([whole], crs=res.crs).to_crs(4326).iloc[0].simplify(1e-5)
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
    from siting.outputs import folder
    from siting.pipeline import stages as pipeline

    out_dir = Path(out_dir)
    where = Path(staging) if staging is not None else out_dir
    with _RUN_LOCK:
        use = _WORKER_CACHE if cache is None else cache
        hits, start = use.hits, time.perf_counter()
        res: RunResult | None = None
        try:
            res = pipeline.run(sc, cache=use)
            try:
                written = folder.write_all(res, where)
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
    from siting.outputs.folder import OUTPUTS

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
        from siting.batch.summary import write_summary

        written = write_summary(outcomes, root)
    return BatchResult(
        tuple(outcomes),
        sum(o.reused for o in outcomes),
        workers,
        written,
        time.perf_counter() - start,
    )


def _bar(total: int, progress: bool) -> Any:
    """The progress bar (a no-op one when ``progress`` is false)."""
    from tqdm import tqdm

    class Bar(tqdm):
        # no monitor thread (tqdm starts one even for a disabled bar): with a second thread
        # in the process, each run's pictures would be drawn in a thread instead of a forked
        # process (siting.outputs._background), and a serial batch would take longer
        monitor_interval = 0

    return Bar(total=total, desc="scenarios", unit="run", disable=not progress)


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
            preload=["siting.batch"],  # dask_setup: imports done while the cluster starts
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
    from siting._version import __version__

    versions = client.run(_version, on_error="return")
    broken = {w: f"{type(v).__name__}: {v}" for w, v in versions.items() if not isinstance(v, str)}
    if broken:
        raise BatchError(
            f"Dask worker(s) cannot run siting: {broken}; install the package (siting "
            f"{__version__}) on every worker, with read access to the inputs and write access "
            "to the output folder at the same paths"
        )
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        raise BatchError(
            f"Dask workers run another siting version than this one ({__version__}): {wrong}; "
            "install the same version everywhere"
        )
    return sorted(versions)


def dask_setup(worker: object) -> None:
    """Dask's preload hook (``dask worker ADDRESS --preload siting.batch``; the LocalCluster
    of ``--scheduler local`` uses it too): the pipeline and the writers imported when the
    worker starts, not in its first scenario."""
    import siting.outputs.tables
    import siting.outputs.webmap.page
    import siting.pipeline.stages  # noqa: F401


def _version() -> str:
    from siting._version import __version__

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
            stage = out.parent.resolve() / f"{STAGING_PREFIX}{token}"  # workers: other cwd
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
