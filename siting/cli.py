"""``siting`` command line: parse, call the stages, print a short summary. Nothing else."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting._errors import InputFileNotFoundError, ScenarioError, SitingError
from siting.io.write import InterruptedAfterSwap

if TYPE_CHECKING:
    from siting.pipeline.stages import RunCache, RunResult
    from siting.scenario import Scenario

log = logging.getLogger("siting")
_WRITTEN: list[Path] = []  # output folders this command has swapped in, for the last message


def _out_dir(requested: Path | None, name: str, *, overwrite: bool) -> Path:
    """The output folder: ``maps/<scenario name>/`` by default, checked by
    :func:`siting.folder.check_out_dir` (a folder of others' files needs ``--overwrite``)."""
    from siting.outputs.folder import check_out_dir

    out = requested if requested is not None else Path("maps") / name
    return check_out_dir(out, overwrite=overwrite)


def _scenario_files(paths: list[Path]) -> list[Path]:
    """The scenario files named, a folder standing for every ``*.yaml`` in it (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise InputFileNotFoundError(f"folder {str(path)!r} holds no *.yaml scenario")
            files += found
        else:
            files.append(path)
    return files


def _run(args: argparse.Namespace) -> int:
    from siting import scenario
    from siting.pipeline import stages as pipeline

    loaded = [scenario.load(path) for path in _scenario_files(args.scenario)]
    names = [sc.name for sc in loaded]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ScenarioError(
            f"scenario names must be unique in one run (they name the output "
            f"folders); used more than once: {twice}"
        )
    batch = len(loaded) > 1
    outs = [
        _out_dir(
            args.out / sc.name if (batch and args.out) else args.out,
            sc.name,
            overwrite=args.overwrite,
        )
        for sc in loaded
    ]
    if batch or args.scheduler is not None:  # siting.batch: serial or on Dask, a table, a map
        return _run_batch(args, list(zip(loaded, outs, strict=True)), batch=batch)
    for line in _run_one(loaded[0], outs[0], pipeline.RunCache()):
        print(line)
    return 0


def _run_batch(args: argparse.Namespace, items: list[tuple[Scenario, Path]], *, batch: bool) -> int:
    """A folder of scenarios (or ``--scheduler``): :func:`siting.batch.run_batch`, serial or
    on Dask; a failed scenario is reported and the others finish; exit status 2 (bad input)
    or 3 (anything else) when one failed."""
    from siting.batch.run import run_batch

    if not args.verbose:  # Dask logs every worker's start and stop at INFO
        logging.getLogger("distributed").setLevel(logging.ERROR)
    result = run_batch(
        items,
        (args.out or Path("maps")) if batch else None,
        scheduler=args.scheduler,
        describe=_lines,
        progress=batch and sys.stderr.isatty(),
        on_published=_WRITTEN.append,
    )
    if batch:
        on = f" on {result.workers} Dask worker(s)" if args.scheduler is not None else ""
        print(
            f"{len(items)} scenarios; networks and cost matrices reused {result.reused} time(s){on}"
        )
        print("批量汇总：" + "、".join(str(p) for p in result.written.values()))
    if not result.failed:
        return 0
    print(
        f"error: {len(result.failed)} of {len(items)} scenario(s) failed; the others were "
        "written (batch_summary.csv lists every scenario's status):",
        file=sys.stderr,
    )
    for o in result.failed:
        print(f"  {o.name}: {o.error}", file=sys.stderr)
    return 3 if any(o.unexpected for o in result.failed) else 2


def _scheduler(value: str) -> str:
    """``--scheduler``: ``local`` or a Dask scheduler address."""
    if value == "local" or "://" in value or value.rpartition(":")[2].isdigit():
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r}: give `local` or a scheduler address such as tcp://10.0.0.5:8786"
    )


def _run_one(sc: Scenario, out: Path, cache: RunCache) -> list[str]:
    """Run one scenario, write its outputs, and return the summary lines to print."""
    from siting.outputs import folder
    from siting.pipeline import stages as pipeline

    res = pipeline.run(sc, cache=cache)
    try:
        written = folder.write_all(res, out)
    except InterruptedAfterSwap:
        _WRITTEN.append(out)
        raise
    _WRITTEN.append(out)
    return _lines(sc, res, out, written)


def _lines(sc: Scenario, res: RunResult, out: Path, written: dict[str, Path]) -> list[str]:
    """The summary lines printed for one scenario whose outputs are in ``out``."""
    from siting.outputs import labels_zh
    from siting.outputs import tables as report

    lines: list[str] = []
    s = report.summary(res, report.tables(res))
    before, after = s["covered_before"], s["covered_after"]
    lines.append(
        f"情景 {sc.name}：{res.inputs.age_label}老人 {s['elderly_total']:,.0f} 人，"
        f"{s['communities']} 个社区/村"
    )
    lines.append(
        f"  服务圈：社区 {s['urban_radius_m']:.0f} 米（步行 {sc.coverage.urban_minutes:g} 分钟，"
        f"{s['walk_speed_mps']:g} 米/秒），村 {s['rural_radius_m']:.0f} 米，按步行路网计算"
    )
    lines.append(f"  规划前覆盖：{before['elderly']:>10,.0f} 人（{before['share']:.1%}）")
    status = labels_zh.status_zh(s["model"]["status"])
    lines.append(
        f"  规划后覆盖：{after['elderly']:>10,.0f} 人（{after['share']:.1%}），"
        f"新建站点 {len(s['new_sites'])} 处；求解状态：{status}，"
        f"最优性差距 {s['model']['gap']:.2%}"
    )
    if "served" in s:  # a capacitated model: the circle counts people its places cannot take
        served, over = s["served"], s["over_capacity"]
        lines.append(
            f"  其中容量内服务：{served['elderly']:>8,.0f} 人（{served['share']:.1%}）；"
            f"服务圈内但超出设施容量：{over['elderly']:,.0f} 人（{over['share']:.1%}）"
            "（模型的目标与最优性证明针对容量内服务人数）"
        )
    model = s["model"]
    if model["name"] == "pcenter":
        lines.append(
            f"  至站点最长步行距离：{model['worst_walk_m']:,.0f} 米（新建 {model['p']} 处站点"
            f"无法短于 {model['bound_m']:,.0f} 米；"
            f"考虑的步行距离至多 {model['max_walk_m']:,.0f} 米）"
        )
    elif model["name"] == "pmedian":
        lines.append(
            f"  至最近站点步行距离：平均 {model['mean_walk_m']:,.0f} 米，最长 "
            f"{model['worst_walk_m']:,.0f} 米；{model['unassigned']:,.0f} 名老人距所有站点超过 "
            f"{model['max_walk_m']:,.0f} 米"
        )
    lines.append(f"  任何候选点均无法覆盖：{s['uncoverable']['elderly']:,.0f} 人")
    units = [r for r in s["land_check"] if r["unit"] != "total"]
    short = [r for r in units if r["pass"] is False]
    unknown = [r for r in units if r["pass"] is None]  # facilities without a land figure
    lines.append(
        f"  用地（每常住人口 {s['land_rule']['figure']:g} m²）：规划前 "
        f"{len(units)} 个街道/乡镇中 {len(short)} 个不足"
        + (f"，{len(unknown)} 个无法判断（设施缺用地面积）" if unknown else "")
    )
    lines.append(
        f"  规则检查（{res.rules.set_id}）：共 {s['compliance_checks']} 项，"
        f"未达标 {s['compliance_failures']} 项，无数据 {s['compliance_no_data']} 项"
    )
    lines.append(f"  输出目录 {out}/：" + "、".join(sorted(p.name for p in written.values())))
    if res.warnings:
        lines.append(f"  警告 {len(res.warnings)} 条（另见 summary.json 和 report.xlsx）：")
        lines += [f"  ! [{n.code}] {n.text}" for n in res.warnings]
    return lines


def _check_data(args: argparse.Namespace) -> int:
    from siting import scenario
    from siting.checkdata import check_data, exit_code, format_report

    try:
        findings = check_data(scenario.load(args.scenario))
    except SitingError as exc:
        print(f"✘ must fix  scenario     {exc}\n\n1 problem(s) to fix, 0 to check")
        return 1
    print(format_report(findings))
    return exit_code(findings)


def _compare(args: argparse.Namespace) -> int:
    from siting import scenario
    from siting.outputs.comparison import compare
    from siting.pipeline.stages import RunCache

    folders, cache = [], RunCache()
    for path in args.runs:
        if path.suffix in (".yaml", ".yml"):
            sc = scenario.load(path)
            out = _out_dir(None, sc.name, overwrite=args.overwrite)
            _run_one(sc, out, cache)
            folders.append(out)
        else:
            folders.append(path)
    paths = compare(folders, _out_dir(args.out, "compare", overwrite=args.overwrite))
    print(f"compared {len(folders)} runs: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _rules(args: argparse.Namespace) -> int:
    from siting.rules.book import available_sets, format_rules, load_rules

    if args.set is None:
        print("rule sets: " + ", ".join(available_sets()))
        print("show one with: siting rules list SET")
        return 0
    print(format_rules(load_rules(args.set)))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from siting.demo import district as demo

    for role, path in demo.generate(args.data_dir).items():
        print(f"{role:12s} {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siting", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every stage")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its map and tables")
    run.add_argument(
        "scenario", type=Path, nargs="+", help="scenario YAML files, or folders of them"
    )
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default maps/<scenario name>/)"
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an output folder that holds other files",
    )
    run.add_argument(
        "--scheduler",
        type=_scheduler,
        default=None,
        help="run each scenario as a Dask task: `local` (a cluster of one worker process per "
        "core) or a running scheduler's address (tcp://host:8786)",
    )
    run.set_defaults(func=_run)
    chk = sub.add_parser("check-data", help="check every input of a scenario, compute nothing")
    chk.add_argument("scenario", type=Path)
    chk.set_defaults(func=_check_data)
    cmp = sub.add_parser("compare", help="side-by-side table and difference map of runs")
    cmp.add_argument(
        "runs", type=Path, nargs="+", help="run folders (maps/NAME) or scenario files (run first)"
    )
    cmp.add_argument("--out", type=Path, default=Path("maps") / "compare")
    cmp.add_argument("--overwrite", action="store_true")
    cmp.set_defaults(func=_compare)
    rules = sub.add_parser("rules", help="the rule book: sets, figures and their sources")
    rules.add_argument("action", choices=["list"])
    rules.add_argument(
        "set",
        nargs="?",
        default=None,
        help="a rule set, e.g. henan/puyang (default: list the sets)",
    )
    rules.set_defaults(func=_rules)
    demo = sub.add_parser("demo", help="regenerate the built-in demo city's data files")
    demo.add_argument("data_dir", type=Path, nargs="?", default=Path("data"))
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _WRITTEN.clear()
    try:
        return int(args.func(args))
    except SitingError as exc:
        print(f"error: {exc}{_folders_note()}", file=sys.stderr)
        return 2
    except InterruptedAfterSwap:
        done = ", ".join(map(str, _WRITTEN))
        print(
            f"interrupted: every folder written holds its complete new set ({done})",
            file=sys.stderr,
        )
        return 130
    except KeyboardInterrupt:
        print(f"interrupted{_folders_note()}", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"error: unexpected failure ({type(exc).__name__}: {exc}){_folders_note()}. Run "
            "again with -v for the traceback, and please report it",
            file=sys.stderr,
        )
        return 3


def _folders_note() -> str:
    """What a stopped command left: the folders whose new sets were swapped in hold them
    whole; every other output folder keeps its previous complete set."""
    if not _WRITTEN:
        return "; the output folder being written keeps its previous complete set"
    return (
        "; complete new sets were written in "
        + ", ".join(map(str, _WRITTEN))
        + "; every other output folder keeps its previous complete set"
    )


class _Forgiving:
    """A standard stream that, once its reader has gone (``siting run DIR | head -1``), or
    when it was closed (``>&-``), drops what is written: the run goes on and ends with its
    own status instead of stopping midway on BrokenPipeError (a full device, ``> /dev/full``,
    likewise: the outputs are the files, the lines only report them)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._gone = stream is None

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return int(self._stream.write(text))
            except (OSError, ValueError):  # the reader left; a closed or full file
                self._gone = True
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._gone = True

    def isatty(self) -> bool:
        return not self._gone and bool(self._stream.isatty())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # handled as Ctrl-C: the folder being written keeps its old set


def console() -> None:
    """The ``siting`` command: :func:`main`, then a quick exit.

    SIGTERM is handled as Ctrl-C (the temporary folder removed, the picture process
    stopped, exit 130); stdout and stderr that are closed, or whose reader has gone, drop
    what is written rather than stopping the run. When :func:`main` returns, every output
    has been written, closed and swapped in; letting the interpreter then tear down every
    module (pandas, matplotlib, GDAL, PROJ...) took 0.3-0.5 s of a 6 s demo run for nothing.
    The exit handlers still run (logging's flush, weakref finalizers, multiprocessing's
    clean-up) and the standard streams are flushed before the process ends with main's
    status. An exception main lets through (``-v``) ends the usual way, with its traceback.
    """
    import atexit
    import os
    import signal

    sys.stdout = _Forgiving(sys.stdout)
    sys.stderr = _Forgiving(sys.stderr)
    signal.signal(signal.SIGTERM, _terminated)
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
