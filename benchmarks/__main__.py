"""``python -m benchmarks coverage|models|walks --size small|medium|large`` (coverage also
``--jinan``), ``python -m benchmarks whatif``, ``python -m benchmarks pipeline --size large``,
``python -m benchmarks batch [--counties N]``."""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = parser.add_subparsers(dest="what", required=True)
    cov = sub.add_parser("coverage", help="walking-distance engine vs scipy vs networkx")
    where = cov.add_mutually_exclusive_group(required=True)
    where.add_argument("--size", choices=["small", "medium", "large"])
    where.add_argument("--jinan", action="store_true", help="the real Jinan road network")
    cov.add_argument("--repeats", type=int, default=5)
    cov.add_argument(
        "--skip-networkx",
        action="store_true",
        help="leave out the slow baseline (ratios are then against scipy)",
    )
    mod = sub.add_parser("models", help="MCLP/LSCP vs plain HiGHS and spopt")
    mod.add_argument("--size", choices=["small", "medium", "large"], required=True)
    mod.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds for each baseline (HiGHS, spopt)"
    )
    mod.add_argument(
        "--our-limit",
        type=float,
        default=None,
        help="seconds for siting's solvers (default: the issue's target for the size)",
    )
    mod.add_argument("--skip-spopt", action="store_true")
    sub.add_parser("whatif", help="Study.evaluate of a plan vs a full rerun (demo, medium city)")
    walks = sub.add_parser("walks", help="p-median, p-center, capacitated MCLP at city scale")
    walks.add_argument("--size", choices=["small", "medium", "large"], required=True)
    walks.add_argument("--time-limit", type=float, default=60.0)
    pipe = sub.add_parser("pipeline", help="a city-sized scenario end to end (issue 18)")
    pipe.add_argument("--size", choices=["small", "medium", "large"], default="large")
    bat = sub.add_parser("batch", help="a province batch: serial vs Dask LocalCluster vs cluster")
    bat.add_argument("--counties", type=int, default=16)
    args = parser.parse_args()
    if args.what == "coverage":
        from benchmarks.coverage import main as coverage

        return coverage(
            "jinan" if args.jinan else "city", args.size, args.repeats, args.skip_networkx
        )
    if args.what == "models":
        from benchmarks.models import main as models

        return models(args.size, args.time_limit, args.skip_spopt, args.our_limit)
    if args.what == "whatif":
        from benchmarks.whatif import main as whatif

        return whatif()
    if args.what == "walks":
        from benchmarks.walks import main as walks_main

        return walks_main(args.size, args.time_limit)
    if args.what == "pipeline":
        from benchmarks.pipeline import main as pipeline

        return pipeline(args.size)
    if args.what == "batch":
        from benchmarks.batch import main as batch_main

        return batch_main(args.counties)
    return 2


if __name__ == "__main__":
    sys.exit(main())
