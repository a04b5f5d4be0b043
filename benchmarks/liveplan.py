"""The live plan of ``map.html`` in Chromium: ``python -m benchmarks.liveplan MAP.html [...]``.

For each page: its size, the time until ``window.sitingPlan`` exists, and the time of
``sitingPlan.toggle`` measured inside the page (``performance.now()`` around the call): the
proposed sites and the first 40 sites on the page switched, then switched back, so every
toggle is counted once each way. The network is cut off (every request but the file aborted),
as in a meeting room. Targets (issue 15): toggle ≤ 50 ms on the demo, ≤ 200 ms on Jinan;
Jinan's ``map.html`` ≤ 20 MB. Needs Playwright and a Chromium (``CHROMIUM`` or the system's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

TOGGLE = """(id) => {
    const start = performance.now();
    window.sitingPlan.toggle(id);
    return performance.now() - start;
}"""


def measure(page_path: Path, chromium: str) -> dict[str, float | int]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else route.abort()
            ),
        )
        page = context.new_page()
        start = time.perf_counter()
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function("() => window.sitingPlan !== undefined", timeout=120_000)
        opened = time.perf_counter() - start
        state = page.evaluate("() => window.sitingPlan.state()")
        ids = [s["id"] for s in state["new_sites"]] + page.evaluate(
            "() => window.sitingPlan.sites()"
        )[:40]
        times = [page.evaluate(TOGGLE, site) for site in ids + ids]
        browser.close()
    return {
        "size_mb": page_path.stat().st_size / 1e6,
        "open_s": opened,
        "toggles": len(times),
        "median_ms": statistics.median(times),
        "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
        "max_ms": max(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maps", nargs="+", type=Path, help="map.html files written by siting run")
    args = parser.parse_args(argv)
    chromium = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if chromium is None:
        parser.error("no Chromium found: set CHROMIUM to its path")
    print(
        f"{'map':<40} {'MB':>6} {'open s':>7} {'toggles':>8} {'median ms':>10} {'p90 ms':>7} "
        f"{'max ms':>7}"
    )
    for path in args.maps:
        r = measure(path, chromium)
        print(
            f"{str(path)[-40:]:<40} {r['size_mb']:>6.2f} {r['open_s']:>7.2f} {r['toggles']:>8} "
            f"{r['median_ms']:>10.1f} {r['p90_ms']:>7.1f} {r['max_ms']:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
