"""Move each coefficient of the reference company to each end of its range, one at a
time, and check that every today -> aligned direction holds (issue 4).

Run: ``.venv/bin/python scripts/range_robustness.py`` (about 20 minutes: two solves per
end). One line per end: ``name value OK|FAIL <figures> otif_today=... op today->aligned``.
It becomes a parametrized test once a solve costs well under a second.
"""

from __future__ import annotations

import time
from pathlib import Path

import compmodel as cm
from compmodel.models.manufacturer import COEFFICIENTS

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


def main() -> int:
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    aligned = cm.load_scenario(SAMPLES / "acme_aligned.toml")
    failures = 0
    for name in COEFFICIENTS:
        rng = today.company.coefficients[name].range
        assert rng is not None, name
        for end in rng:
            t0 = time.perf_counter()
            path = f"company.coefficients.{name}"
            a = figures(cm.solve(today.with_value(path, end), tol=1e-6))
            b = figures(cm.solve(aligned.with_value(path, end), tol=1e-6))
            bad = [k for k, sign in WANT.items() if not sign * (b[k] - a[k]) > 0]
            failures += bool(bad)
            print(
                f"{name} {end:g} {'OK' if not bad else 'FAIL ' + ','.join(bad)} "
                f"otif_today={a['otif']:.3f} op {a['operating_profit'] / 1e6:.2f}->"
                f"{b['operating_profit'] / 1e6:.2f} ({time.perf_counter() - t0:.0f}s)",
                flush=True,
            )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
