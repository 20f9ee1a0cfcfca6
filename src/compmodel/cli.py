"""Command line: ``python -m compmodel budget SCENARIO.toml``.

Prints the commission budget of a scenario as a table a finance reader can check.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import pandas as pd

from .budget import commission_budget
from .errors import CompmodelError
from .io import load_scenario


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "uncapped"
    return f"{x:,.0f}"


def budget_table(path: str, n_draws: int, seed: int) -> str:
    """The budget of the scenario at ``path`` as printable text."""
    scenario = load_scenario(path)
    b = commission_budget(scenario, n_draws=n_draws, seed=seed)
    f = b.to_frame()
    table = pd.DataFrame(
        {
            "department": f["department"],
            "people": f["headcount"].map(lambda v: f"{v:.0f}"),
            "base": f["base_total"].map(_money),
            "at target": f["target_total"].map(_money),
            "mix": f["pay_mix"].map(lambda v: f"{100 * v:.0f}/{100 - 100 * v:.0f}"),
            "expected": f["expected"].map(_money),
            "P10": f["p10"].map(_money),
            "P50": f["p50"].map(_money),
            "P90": f["p90"].map(_money),
            "most owed": f["max_exposure"].map(_money),
        }
    )
    d = b.diagnostics
    lines = [
        f"Commission budget: {b.scenario}",
        f"{b.currency} per {b.period}, department totals; incentive pay only "
        "(base pay shown for the mix)",
        "",
        table.to_string(index=False),
        "",
        f"expected: exact ({', '.join(d.methods)}; largest error bound "
        f"{d.max_error_bound:.1e}); P10/P50/P90: {d.n_draws:,} Monte Carlo draws, "
        f"seed {d.seed}; simulated means within {d.max_abs_z:.1f} standard errors of "
        "the exact ones.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compmodel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    pb = sub.add_parser("budget", help="print the commission budget of a scenario")
    pb.add_argument("scenario", help="scenario TOML file, e.g. data/samples/budget_today.toml")
    pb.add_argument("--draws", type=int, default=20_000, help="Monte Carlo draws")
    pb.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    try:
        print(budget_table(args.scenario, args.draws, args.seed))
    except CompmodelError as e:
        print(f"compmodel: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
