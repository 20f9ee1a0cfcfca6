"""The table of docs/behaviour.md: today's plans as sales' risk aversion rises, under
mean-variance and exact CARA.

Run from the repository root: ``python scripts/cara_table.py``.
"""

from __future__ import annotations

import dataclasses

import compmodel as cm


def main() -> None:
    today = cm.load_scenario("data/samples/acme_today.toml")
    r0 = today.departments["sales"].risk_aversion
    print(
        "| sales risk aversion | over-promising, mean–variance | over-promising, exact CARA "
        "| operating profit, mean–variance | exact CARA |"
    )
    print("|---|---|---|---|---|")
    for k in (1, 3, 10, 30):
        s = today.with_value("sales.risk_aversion", r0 * k)
        row = {}
        for rule in ("mean_variance", "cara"):
            sr = dataclasses.replace(
                s, settings=dataclasses.replace(s.settings, certainty_equivalent=rule)
            )
            row[rule] = cm.solve(sr)
        over = [row[r].levers["sales.overpromise"] for r in ("mean_variance", "cara")]
        profit = [row[r].operating_profit / 1e6 for r in ("mean_variance", "cara")]
        print(
            f"| ×{k} | {over[0]:.3f} | {over[1]:.3f} | {profit[0]:.2f}M | {profit[1]:.2f}M |".replace(
                "-", "−"
            )
        )


if __name__ == "__main__":
    main()
