"""Province batch: the same fictional province run serially, on a Dask ``LocalCluster`` and on
a scheduler and workers started separately on this machine; the outputs checked identical.

``python -m benchmarks batch [--counties N]`` generates N counties
(``python -m siting.demo province``; every output a run writes by default: tables, summary,
map, report, PNG, GeoPackage) and runs them three ways, each in a fresh Python process of its
own, with :func:`siting.batch.run_batch`:

* serial     -- one after another in that process (networks reused as ``siting run DIR`` does);
* local      -- ``--scheduler local``: a ``LocalCluster`` of one single-threaded worker process
                per core, started inside the batch (its start is part of the batch's time);
* scheduler  -- ``dask scheduler`` and one ``dask worker --nthreads 1 --preload siting.batch``
                per core, started beforehand as separate processes (their start is reported
                apart, as for a cluster that is already up).

Per mode: the batch's seconds (``run_batch``, cluster start included for ``local``), the
ratio of the serial batch's seconds to it, the process's wall time, the peak memory (RSS) of
each process that ran scenarios, and whether every file under the output folder equals the
serial batch's (:func:`siting.batch.summary.differences`). Target (issue 17): >= 1.6x serial on
2 cores, identical outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _one(mode: str, scenarios: Path, out: Path) -> None:
    """Run the batch once (in this process) and print its figures as one JSON line."""
    from siting import scenario
    from siting.batch.run import run_batch

    items = [(scenario.load(p), out / p.stem) for p in sorted(scenarios.glob("*.yaml"))]
    before = _cpu_seconds()
    result = run_batch(items, out, scheduler=None if mode == "serial" else mode)
    cpu = _cpu_seconds() - before  # this process and the children it waited for
    peaks: dict[str, float] = {}
    for o in result.outcomes:
        if o.peak_rss_mib is not None:
            peaks[o.worker] = max(peaks.get(o.worker, 0.0), o.peak_rss_mib)
    print(
        "BATCH "
        + json.dumps(
            {
                "seconds": result.seconds,
                "failed": [o.name for o in result.failed],
                "reused": result.reused,
                "workers": result.workers,
                "peaks": peaks,
                "cores": cpu / result.seconds,
            }
        )
    )


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


_SPIN = """
import time
t = time.perf_counter()
s = 0
for i in range(12_000_000):
    s += i * i % 7
print(time.perf_counter() - t)
"""


def _ceiling(processes: int) -> tuple[float, float, float]:
    """What this machine gives ``processes`` CPU-bound processes at once: the seconds of one
    pure-Python loop alone, the mean seconds of the same loop in ``processes`` processes
    started together, and the resulting ceiling on any speed-up (processes x alone /
    together; on a machine whose cores share nothing it equals ``processes``)."""

    def spin(n: int) -> list[float]:
        procs = [
            subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True)
            for _ in range(n)
        ]
        return [float(p.communicate()[0]) for p in procs]

    alone = min(spin(1)[0] for _ in range(2))
    together = sum(spin(processes)) / processes
    return alone, together, processes * alone / together


@dataclass(frozen=True)
class Figures:
    seconds: float  # run_batch's
    wall: float  # the whole process's
    failed: list[str]
    workers: int
    peaks: dict[str, float]  # peak RSS (MiB) of each process that ran scenarios
    cores: float  # CPU seconds of the batch's process and its waited-for children per second


def _run(mode: str, scenarios: Path, out: Path) -> Figures:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.batch", mode, str(scenarios), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    line = next((x for x in done.stdout.splitlines() if x.startswith("BATCH ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{mode} batch failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    got = json.loads(line[len("BATCH ") :])
    return Figures(got["seconds"], wall, got["failed"], got["workers"], got["peaks"], got["cores"])


def _dask(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _cluster(tmp: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]], float]:
    """A scheduler and ``workers`` single-threaded workers (with nannies, as a cluster runs
    them), each started as its own process; returns the address and the seconds until every
    worker had connected."""
    from distributed import Client

    start = time.perf_counter()
    file = tmp / "scheduler.json"
    scheduler = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    worker = ["worker", "--scheduler-file", str(file), "--host", "127.0.0.1", "--nthreads", "1"]
    worker += ["--no-dashboard", "--preload", "siting.batch"]
    procs = [_dask([*scheduler, "--scheduler-file", str(file)], tmp / "scheduler.log")]
    procs += [_dask(worker, tmp / f"worker{k}.log") for k in range(workers)]
    while not file.is_file() or not file.read_text():
        time.sleep(0.1)
    address = str(json.loads(file.read_text())["address"])
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs, time.perf_counter() - start


def main(counties: int) -> int:
    from dask.system import CPU_COUNT

    from siting.batch.summary import differences
    from siting.demo.province import generate

    tmp = Path(tempfile.mkdtemp(prefix="siting-bench-batch-"))
    try:
        generate(tmp / "province", counties=counties)
        scenarios = tmp / "province" / "scenarios"
        rows: list[tuple[str, str, Figures, str]] = []
        print(f"province: {counties} counties, {CPU_COUNT} cores; load {os.getloadavg()}")
        alone, together, ceiling = _ceiling(CPU_COUNT)
        print(
            f"this machine: a CPU-bound loop takes {alone:.2f} s alone, {together:.2f} s with "
            f"{CPU_COUNT} copies at once: any {CPU_COUNT}-process speed-up over one core is at "
            f"most {ceiling:.2f}x"
        )
        serial = _run("serial", scenarios, tmp / "serial")
        rows.append(("serial (one process)", "serial", serial, ""))
        print(f"serial done; load {os.getloadavg()}")
        local = _run("local", scenarios, tmp / "local")
        rows.append(("LocalCluster (--scheduler local)", "local", local, ""))
        print(f"local done; load {os.getloadavg()}")
        address, procs, started = _cluster(tmp, CPU_COUNT)
        try:
            apart = _run(address, scenarios, tmp / "apart")
        finally:
            for proc in procs:
                _stop(proc)
        note = f"cluster up in {started:.1f} s before"
        rows.append(("dask scheduler + workers", "apart", apart, note))
        print(f"scheduler done; load {os.getloadavg()}")
        base = serial.seconds
        print(
            f"\n{'mode':34s} {'workers':>7s} {'batch s':>8s} {'x serial':>8s} {'wall s':>7s} "
            f"{'peak MiB per worker':>20s}  identical  note"
        )
        for name, folder, r, remark in rows:
            same = "yes" if not differences(tmp / "serial", tmp / folder) else "NO"
            if r.failed:
                same = f"failed: {r.failed}"
            peaks = " / ".join(f"{p:.0f}" for p in sorted(r.peaks.values()))
            print(
                f"{name:34s} {max(r.workers, 1):7d} {r.seconds:8.1f} {base / r.seconds:8.2f} "
                f"{r.wall:7.1f} {peaks:>20s}  {same:9s}  {remark}"
            )
        worst = min(base / local.seconds, base / apart.seconds)
        print(
            f"the serial batch kept {serial.cores:.2f} cores busy on average (pictures drawn in "
            f"a forked process, service areas on every core): the most {CPU_COUNT} workers can "
            f"gain over it here is about {ceiling / serial.cores:.2f}x"
        )
        print(
            f"RESULT batch counties={counties} serial_s={base:.1f} "
            f"local_ratio={base / local.seconds:.2f} scheduler_ratio={base / apart.seconds:.2f} "
            f"target=1.6 met={'yes' if worst >= 1.6 else 'no'} "
            f"machine_ceiling={ceiling:.2f} serial_cores={serial.cores:.2f}"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    _one(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
