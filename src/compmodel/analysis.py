"""Comparing scenarios: the comparison table, the plan-cost sheet, winners and losers.

Money is in the scenario's currency per period; "per person" figures are for the
department's representative person unless a roster gives each person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .equilibrium.line_of_sight import line_of_sight
from .errors import ScenarioError
from .models import info_of
from .scenario import Scenario
from .simulate import simulate
from .solve import Solution, solve

__all__ = ["compare", "cost_sheet", "line_of_sight", "winners_losers"]


def compare(scenarios: Mapping[str, Scenario | Solution]) -> pd.DataFrame:
    """One tidy table of figures, one column per scenario, with deltas.

    Parameters
    ----------
    scenarios
        Name -> scenario (solved here) or solution, e.g.
        ``{"today": s1, "proposal": s2}``. The first is the baseline.

    Returns
    -------
    pandas.DataFrame
        Index ``(section, department, figure)``: levers, metrics, pay per department
        (incentive mean and variance, risk premium, effort cost, base, expected pay,
        CE, retention), model outcomes and company figures (gross value, total
        surplus, compensation bill, turnover cost, operating profit, alignment
        efficiency). Columns: each scenario, then ``"<name> - <baseline>"`` for the
        others.
    """
    if len(scenarios) < 1:
        raise ScenarioError("scenarios", "give at least one scenario, e.g. {'today': s}")
    frames = []
    for name, s in scenarios.items():
        sol = s if isinstance(s, Solution) else solve(s)
        f = sol.to_frame().set_index(["section", "department", "figure"])["value"]
        frames.append(f.rename(name))
    table = pd.concat(frames, axis=1)
    names = list(scenarios)
    base = names[0]
    for n in names[1:]:
        table[f"{n} - {base}"] = table[n] - table[base]
    return table


def _revenue(sol: Solution, key: str | None) -> float | None:
    if key is None:
        return None
    if key in sol.outcomes:
        return float(sol.outcomes[key])
    if key in sol.metrics:
        return float(sol.metrics[key])
    return None


def cost_sheet(
    scenario: Scenario,
    *,
    n_draws: int = 10_000,
    seed: int = 0,
    revenue: str | None = None,
    gross_margin: str | None = None,
    budgets: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The CFO's plan-cost sheet, per department (role).

    Parameters
    ----------
    scenario
        A scenario with a company model.
    n_draws, seed
        Monte Carlo for P90 and the share of people at or above quota.
    revenue, gross_margin
        Names of the model outcomes or metrics holding company revenue and gross margin
        (currency per period); by default those the company kind declares
        (:attr:`compmodel.models.KindInfo.revenue_metric`, ``margin_metric``). The cost
        shares are left out when absent.
    budgets
        Incentive budget per department (currency per period, total) for the
        cost-against-budget columns.

    Returns
    -------
    pandas.DataFrame
        Per department: headcount; per person base, target incentive, OTE, pay mix
        (base share of OTE), leverage (most the plan can pay over the target incentive;
        ``inf`` if uncapped); totals of payout at target, expected (equilibrium), P90
        and at cap; share of people at or above quota; incentive cost with payroll tax;
        its share of revenue and of gross margin; budget and cost against it; expected
        pay per person relative to the lowest-paid department.
    """
    sim = simulate(scenario, n_draws=n_draws, seed=seed)
    sol = sim.solution
    tax = scenario.settings.payroll_tax_rate
    people = sim.people
    info = info_of(scenario.company.kind)
    rev = _revenue(sol, revenue if revenue is not None else info.revenue_metric)
    gm = _revenue(sol, gross_margin if gross_margin is not None else info.margin_metric)
    rows = []
    for dn, dept in scenario.departments.items():
        p = people[people["department"] == dn]
        count = p["count"].to_numpy(dtype=float)
        n = float(count.sum())
        target = float((p["target_payout"] * count).sum())
        at_cap = float((p["max_payout"] * count).sum())
        expected = float((p["expected_payout"] * count).sum())
        base = float((p["base"] * count).sum())
        reach = p["share_at_or_above_quota"].to_numpy(dtype=float)
        share_quota = float(np.sum(reach * count) / n) if n and np.all(np.isfinite(reach)) else None
        cost = expected * (1.0 + tax)
        row: dict[str, object] = {
            "department": dn,
            "headcount": dept.headcount,
            "base_per_person": base / n if n else 0.0,
            "target_incentive_per_person": target / n if n else 0.0,
            "ote_per_person": (base + target) / n if n else 0.0,
            "pay_mix": base / (base + target) if base + target > 0 else 1.0,
            "leverage": at_cap / target if target > 0 else math.inf if at_cap > 0 else 0.0,
            "payout_at_target": target,
            "payout_expected": expected,
            "payout_p90": float(np.quantile(sim.draws[dn], 0.9)),
            "payout_at_cap": at_cap,
            "share_at_or_above_quota": share_quota,
            "incentive_cost": cost,
            "expected_pay_per_person": (base + expected) / n if n else 0.0,
        }
        if rev is not None and rev > 0:
            row["cost_share_of_revenue"] = cost / rev
        if gm is not None and gm > 0:
            row["cost_share_of_gross_margin"] = cost / gm
        if budgets is not None and dn in budgets:
            row["budget"] = float(budgets[dn])
            row["cost_minus_budget"] = cost - float(budgets[dn])
        rows.append(row)
    sheet = pd.DataFrame(rows)
    lowest = sheet["expected_pay_per_person"].replace(0.0, np.nan).min()
    sheet["pay_ratio_to_lowest"] = sheet["expected_pay_per_person"] / lowest
    return sheet


def winners_losers(
    before: Scenario,
    after: Scenario,
    *,
    n_draws: int = 10_000,
    seed: int = 0,
    before_solution: Solution | None = None,
    after_solution: Solution | None = None,
) -> pd.DataFrame:
    """Per person: expected pay and certainty equivalent before and after, and who falls
    below the market.

    ``before_solution`` and ``after_solution``, when given, are the scenarios'
    equilibria (from :func:`compmodel.solve`), which are then not solved again.

    A person's CE is their base (after participation) plus expected incentive, minus
    their risk premium (the budget's ``risk_premium``: exact CARA, or ``r/2`` times
    their pay variance under ``settings.certainty_equivalent = "mean_variance"``) and
    their department's effort cost per person.

    Returns
    -------
    pandas.DataFrame
        department, person, expected pay and CE under each scenario, the changes,
        ``below_market_after`` (CE after below the department's market reference) and
        ``winner`` (CE rises).
    """
    frames = []
    for label, s, given in (
        ("before", before, before_solution),
        ("after", after, after_solution),
    ):
        sim = simulate(s, n_draws=n_draws, seed=seed, solution=given)
        p = sim.people.copy()
        cost = p["department"].map(
            {d: sim.solution.departments[d].effort_cost for d in s.departments}
        )
        p[f"expected_pay_{label}"] = p["expected_pay"]
        p[f"ce_{label}"] = p["expected_pay"] - p["risk_premium"] - cost
        market = p["department"].map({d: s.departments[d].market_reference for d in s.departments})
        p[f"market_{label}"] = market
        frames.append(
            p[["department", "person", f"expected_pay_{label}", f"ce_{label}", f"market_{label}"]]
        )
    out = frames[0].merge(frames[1], on=["department", "person"], how="outer")
    out["change_pay"] = out["expected_pay_after"] - out["expected_pay_before"]
    out["change_ce"] = out["ce_after"] - out["ce_before"]
    out["below_market_after"] = out["ce_after"] < out["market_after"].astype(float)
    scale = np.maximum(1.0, out[["ce_before", "ce_after"]].abs().max(axis=1))
    out["winner"] = out["change_ce"] > 1e-9 * scale
    return out.drop(columns=["market_before"])
