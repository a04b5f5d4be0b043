"""``siting check-data``: every input check of a scenario, nothing computed, one report.

The checks are the ones every ``siting run`` applies (:mod:`siting.inputs.checks`, through
:func:`siting.pipeline.prepared`), run in collecting mode: each input is read with the same
readers, every problem is listed (one failing file does not hide the next), and the stages a
run goes through before its model (network, demand points, snapping) are run so that everything
a run would warn about is reported here first.
"""

from __future__ import annotations

from siting._errors import SitingError
from siting._record import recording
from siting.inputs.findings import Finding, counts, from_error
from siting.scenario import Scenario


def check_data(sc: Scenario) -> list[Finding]:
    """Read and check every input of ``sc``; errors are what must be fixed before a run."""
    from siting.pipeline import stages as pipeline
    from siting.problem import demand

    found: list[Finding] = []
    with recording() as rec:
        prep = pipeline.prepared(sc, findings=found)
        if prep is not None:
            try:
                communities = prep.inputs.communities.to_crs(prep.crs)
                pts = demand.demand_points(communities, prep.net)
                pipeline.placed_sites(sc, prep.inputs, prep, communities, pts)
            except SitingError as exc:
                found.append(from_error("demand", exc))
    found += [
        Finding("warning", n.code, n.message, code=n.code, ids=n.ids, message_zh=n.message_zh)
        for n in rec.notes
    ]
    return found


def format_report(findings: list[Finding]) -> str:
    mark = {"error": "✘ must fix", "warning": "! check", "ok": "✔"}
    lines = [f"{mark[f.level]:11s} {f.item:12s} {f.message}" for f in findings]
    errors, warns = counts(findings)
    lines.append(f"\n{errors} problem(s) to fix, {warns} to check")
    return "\n".join(lines)


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(f.level == "error" for f in findings) else 0
