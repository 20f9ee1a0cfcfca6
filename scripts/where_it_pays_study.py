"""Where and how likely the aligned plans pay on the reference company: the studies too
long for CI, with their output committed in docs/studies/where-it-pays.md.

Run: ``.venv/bin/python scripts/where_it_pays_study.py [--workers 2]`` (about 10
minutes on 2 cores). It writes the file with the seconds each study took and the commit
it ran at; docs/reference-company.md quotes it.

* ``compmodel.chance_it_pays(today, aligned, n=200, seed=0)``: the probability that the
  NPV of the gain over the horizon is positive, every stated range an independent prior
  (its central 90%), Latin hypercube draws;
* ``compmodel.where_it_pays(today, aligned, x=addressable_market, y=customer_otif,
  grid=11)``: the NPV of the gain over the two coefficients that decide it most plainly
  (the plant's load and how much customers punish late deliveries), with its zero line.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import subprocess
import time
from pathlib import Path

import compmodel as cm

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "studies" / "where-it-pays.md"
SAMPLES = ROOT / "data" / "samples"


def _unsettled(chance: cm.ChancePays) -> list[str]:
    """The draws that did not settle, each with its message, or nothing."""
    bad = chance.draws[chance.draws["unsettled"] != ""]
    if bad.empty:
        return ["Every draw settled.", ""]
    return [
        f"{len(bad)} draw(s) did not settle and are left out of the probability:",
        "",
        *(f"* draw {i}: {msg}" for i, msg in bad["unsettled"].items()),
        "",
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--grid", type=int, default=11)
    args = ap.parse_args()
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    aligned = cm.load_scenario(SAMPLES / "acme_aligned.toml")
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    with cf.ProcessPoolExecutor(args.workers) as pool:
        t0 = time.perf_counter()
        chance = cm.chance_it_pays(today, aligned, n=args.n, seed=0, executor=pool, progress=False)
        t_chance = time.perf_counter() - t0
        t0 = time.perf_counter()
        where = cm.where_it_pays(
            today, aligned, "company.coefficients.addressable_market",
            "company.coefficients.customer_otif", grid=args.grid, executor=pool, progress=False,
        )  # fmt: skip
        t_where = time.perf_counter() - t0
    gains = where.gain
    lines = [
        "# Where the aligned plans pay (reference company)",
        "",
        f"Written by `scripts/where_it_pays_study.py` at commit {rev} on {args.workers} "
        "processes; not run in CI (too long), rerun it after a change to the model or the "
        "samples. The gain is the net present value of operating profit over "
        f"{today.settings.horizon} years at {today.settings.discount_rate:.0%}, moving from "
        "today's steady state to the aligned plans (`compmodel.pnl`).",
        "",
        "## How likely it pays",
        "",
        f"`compmodel.chance_it_pays(today, aligned, n={args.n}, seed=0)`: "
        f"{chance.summary()} ({t_chance:.0f} s). Every number with a stated range (the "
        "company coefficients, the levers' effort costs, each department's team "
        "identification, the horizon and the discount rate) is an independent prior "
        "whose central 90% is that range.",
        "",
        "| NPV of the gain | USD |",
        "|---|---|",
        *(
            f"| {q} | {chance.draws['gain'].quantile(v):,.0f} |"
            for q, v in (("5th percentile", 0.05), ("median", 0.5), ("95th percentile", 0.95))
        ),
        "",
        *_unsettled(chance),
        "## Where it pays",
        "",
        f"`compmodel.where_it_pays(today, aligned, x=addressable_market, y=customer_otif, "
        f"grid={args.grid})` ({t_where:.0f} s, {where.points} points): NPV of the gain, "
        "USD millions; rows `customer_otif`, columns `addressable_market` (USD millions).",
        "",
        "| customer_otif \\ market | "
        + " | ".join(f"{x / 1e6:.0f}" for x in where.x_values)
        + " |",
        "|---|" + "---|" * len(where.x_values),
        *(
            f"| {y:.2f} | " + " | ".join(f"{g / 1e6:.2f}" for g in row) + " |"
            for y, row in zip(where.y_values, gains, strict=True)
        ),
        "",
        f"Share of the grid where it pays: {where.share_positive:.0%}. The zero line "
        + (
            "runs through "
            + "; ".join(
                f"({c[0, 0] / 1e6:.0f}M, {c[0, 1]:.2f}) to ({c[-1, 0] / 1e6:.0f}M, {c[-1, 1]:.2f})"
                for c in where.zero_contour
            )
            if where.zero_contour
            else "does not cross the grid"
        )
        + ".",
        "",
    ]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(OUT.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
