"""``siting`` command line: parse, call the stages, print a short summary. Nothing else."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from siting._errors import OutputError, SitingError

log = logging.getLogger("siting")


def _out_dir(requested: Path | None, name: str, *, overwrite: bool) -> Path:
    """The output folder: ``maps/<scenario name>/`` by default.

    A folder that already holds files is reused only if a previous ``siting run`` wrote it
    (its ``summary.json`` says so) or ``--overwrite`` is given; nothing else is replaced.
    """
    out = requested if requested is not None else Path("maps") / name
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {str(out)!r} is a file, not a folder; choose a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        summary = out / "summary.json"
        ours = False
        if summary.is_file():
            try:
                ours = json.loads(summary.read_text(encoding="utf-8")).get("generator") == "siting"
            except (ValueError, OSError):
                ours = False
        if not ours:
            raise OutputError(
                f"output folder {str(out)!r} already holds files that siting did "
                "not write; choose another --out or pass --overwrite"
            )
    return out


def _run(args: argparse.Namespace) -> int:
    from siting import maps, pipeline, report, scenario

    sc = scenario.load(args.scenario)
    out = _out_dir(args.out, sc.name, overwrite=args.overwrite)
    res = pipeline.run(sc)
    written = report.write(res, out)
    tables = report.tables(res)
    written["map"] = maps.write_map(res, tables["proposed_sites"], out / "map.html")
    s = report.summary(res, tables)
    before, after = s["covered_before"], s["covered_after"]
    print(
        f"scenario {sc.name}: {s['elderly_total']:,.0f} elderly (60+) in {s['communities']} 社区/村"
    )
    print(
        f"  circles: 社区 {s['urban_radius_m']:.0f} m ({sc.coverage.urban_minutes:g} min at "
        f"{s['walk_speed_mps']:g} m/s), 村 {s['rural_radius_m']:.0f} m, on the walking network"
    )
    print(f"  covered before: {before['elderly']:>10,.0f}  ({before['share']:.1%})")
    print(
        f"  covered after:  {after['elderly']:>10,.0f}  ({after['share']:.1%}) with "
        f"{len(s['new_sites'])} new site(s); model {s['model']['status']}, "
        f"gap {s['model']['gap']:.2%}"
    )
    print(f"  out of reach of every candidate: {s['uncoverable']['elderly']:,.0f} elderly")
    short = [r for r in s["land_check"] if r["shortfall_m2"] > 0 and r["unit"] != "total"]
    print(
        f"  land at {s['land_rule']['figure']:g} m²/resident: {len(short)} of "
        f"{len(s['land_check']) - 1} 街道/乡镇 short before the proposed sites"
    )
    comp = tables["compliance"]
    failing = comp[comp["pass"] == False]  # noqa: E712
    print(
        f"  rules ({res.rules.set_id}): {len(comp)} checks, {len(failing)} failing "
        f"({failing['rule'].nunique()} rules), {int(comp['pass'].isna().sum())} without data"
    )
    print(f"  outputs in {out}/: " + ", ".join(sorted(p.name for p in written.values())))
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
    from siting import demo

    for role, path in demo.generate(args.data_dir).items():
        print(f"{role:12s} {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siting", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every stage")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its map and tables")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default maps/<scenario name>/)"
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an output folder that holds other files",
    )
    run.set_defaults(func=_run)
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
    try:
        return int(args.func(args))
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
