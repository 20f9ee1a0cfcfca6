"""Move each coefficient of the reference company to each end of its range, one at a
time, and check that every today -> aligned direction holds (issue 4); then each lever's
effort cost and each department's team identification, which state ranges as the
coefficients do.

Run: ``.venv/bin/python scripts/range_robustness.py`` (two solves per end, on a process
pool of every core: about 5 minutes on 2 cores). One line per end:
``name value OK|FAIL <figures> otif_today=... op today->aligned``, where ``name`` is a
coefficient's name or a parameter path (``company.levers.sales.overpromise.cost``,
``sales.team_identification``). An end listed in :data:`KNOWN_FLIPS` is marked
``(known)``: the story fails there and the range says so; it is not narrowed to hide
it. ``tests/test_reference_company.py`` runs the same check on every end and marks
the known ones as expected failures (strict: one that starts to hold fails the test).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from pathlib import Path

import compmodel as cm
from compmodel.models.manufacturer import COEFFICIENTS
from compmodel.paths import stated_range

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
WANT = {  # +1: aligned above today; -1: below
    "overpromise": -1, "otif": 1, "customer_retention": 1, "operating_profit": 1,
    "alignment_efficiency": 1, "production": 1, "shipping": 1, "customer_service": 1,
}  # fmt: skip


def figures(sol: cm.Solution) -> dict[str, float]:
    eff = sol.alignment_efficiency
    return {
        "overpromise": sol.levers["sales.overpromise"],
        "otif": sol.metrics["otif"],
        "customer_retention": sol.metrics["customer_retention"],
        "operating_profit": sol.operating_profit,
        "alignment_efficiency": float("nan") if eff is None else eff,
        **{d: sol.departments[d].retention for d in ("production", "shipping", "customer_service")},
    }


#: Range ends where the story fails, ``(name, end) -> what fails``: the figures that
#: move the wrong way from today to aligned, and ``otif_today`` where today's OTIF
#: leaves the 0.60-0.95 the test asks of it. Found by running this script on the
#: steady states (customers carrying over); each is reported, never hidden by
#: narrowing its range. All three are production's staff retention, which the aligned
#: plans raise by 4 points at the file's values but lower by a few tenths of a point
#: where today's plans hurt the plant less or the aligned plans ask more of it: with
#: ``infeasible_stress`` at 1.0 (impossible promises stress the plant half as much)
#: 69.7% -> 69.3%; with over-promising's effort cost at 1,200,000 (x4: today's reps
#: over-promise on 9% of quotes, not 20%) 69.0% -> 68.7%; with expediting's effort cost
#: at 10,000 (x0.25: production expedites far more under the aligned plans) 63.1% ->
#: 63.0%. Every other direction holds there, and operating profit still rises (+1.16M,
#: +0.27M and +1.17M a year). At 75,000 (x0.25 of over-promising's cost), a known
#: failure before customers carried over, the story now holds (today's OTIF 0.82).
KNOWN_FLIPS: dict[tuple[str, float], tuple[str, ...]] = {
    ("infeasible_stress", 1.0): ("production",),
    ("company.levers.sales.overpromise.cost", 1_200_000.0): ("production",),
    ("company.levers.production.expediting.cost", 10_000.0): ("production",),
}


def sourced_paths(today: cm.Scenario) -> list[str]:
    """Every lever's effort cost and every department's team identification, then the
    settings that value a change over the years (horizon, discount rate)."""
    out = [f"company.levers.{d}.{ln}.cost" for d, ls in today.company.levers.items() for ln in ls]
    out += [f"{d}.team_identification" for d in today.departments]
    return [*out, "settings.horizon", "settings.discount_rate"]


def ends() -> list[tuple[str, float]]:
    """Every (coefficient, range end) of the reference company, then every (parameter
    path, range end) of its levers' effort costs and departments' team identification."""
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    out = []
    for name in COEFFICIENTS:
        rng = today.company.coefficients[name].range
        if rng is None:
            raise ValueError(f"coefficient {name} has no range in acme.toml")
        out += [(name, float(rng[0])), (name, float(rng[1]))]
    for path in sourced_paths(today):
        rng = stated_range(today, path)
        if rng is None:
            raise ValueError(f"{path} has no range in acme.toml")
        out += [(path, rng[0]), (path, rng[1])]
    return out


def at_end(name: str, end: float) -> tuple[dict[str, float], dict[str, float]]:
    """Figures of today's and the aligned plans with ``name`` (a coefficient's name or a
    parameter path) at ``end``."""
    path = name if "." in name else f"company.coefficients.{name}"
    today = cm.load_scenario(SAMPLES / "acme_today.toml").with_value(path, end)
    aligned = cm.load_scenario(SAMPLES / "acme_aligned.toml").with_value(path, end)
    a, b = figures(cm.solve(today, tol=1e-6)), figures(cm.solve(aligned, tol=1e-6))
    if path.startswith("settings."):
        # no steady-state figure depends on them: the NPV of the change does
        a["npv_gain"], b["npv_gain"] = 0.0, cm.pnl(aligned, start=today).npv_gain
    return a, b


def wrong_way(a: dict[str, float], b: dict[str, float]) -> list[str]:
    """Figures that do not move from today (``a``) to aligned (``b``) as the story says
    (the NPV of the change, where it was computed, must be positive)."""
    want = {**WANT, "npv_gain": 1}
    return [k for k, sign in want.items() if k in a and not sign * (b[k] - a[k]) > 0]


def all_ends(workers: int | None = None) -> dict[tuple[str, float], tuple[dict, dict]]:
    todo = ends()
    with cf.ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        results = list(pool.map(at_end, *zip(*todo, strict=True)))
    return dict(zip(todo, results, strict=True))


def main() -> int:
    failures = 0
    for (name, end), (a, b) in all_ends().items():
        bad = wrong_way(a, b)
        known = KNOWN_FLIPS.get((name, end))
        failures += bool(bad) and not known
        note = f" (known: {','.join(known)})" if known else ""
        print(
            f"{name} {end:g} {'OK' if not bad else 'FAIL ' + ','.join(bad)}{note} "
            f"otif_today={a['otif']:.3f} op {a['operating_profit'] / 1e6:.2f}->"
            f"{b['operating_profit'] / 1e6:.2f}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
