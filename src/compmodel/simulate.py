"""Monte Carlo at the equilibrium: per-person pay, the compensation bill and profit.

``simulate`` solves the scenario (or takes a solution), sets each modelled metric's mean
to its equilibrium value (in the year the solution starts from: for a company whose
customers carry over, the solution's customer base), and draws the noise of
``[forecast]`` through every person's plan (rosters included: ability scales a person's
expected results on individual metrics, their quota scales their targets; levers are
the department's). The draws come from ``numpy.random.default_rng(seed)`` in a fixed
order: the same seed gives the same numbers.

Base pay is deterministic: each person's base (from the roster, or the department's),
moved by the department's participation adjustment under ``binding``. Gross value is
the model's expected value (its noise is not modelled), so profit varies with the
compensation bill only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ._pickling import PicklesProxies
from .budget import CommissionBudget, check_draws, commission_budget
from .models import build_model
from .scenario import Forecast, MetricForecast, Scenario
from .solve import Solution, solve

__all__ = ["Simulation", "equilibrium_forecast", "simulate"]


@dataclass(frozen=True)
class Simulation(PicklesProxies):
    """Distributions at the equilibrium (currency per period).

    Attributes
    ----------
    solution
        The equilibrium simulated.
    budget
        The commission budget at the equilibrium means (exact moments and draws of
        incentive pay; its ``people`` frame has per-person attainment).
    summary
        Per department and in total: mean, sd, P10, P50, P90 of incentive pay and of the
        compensation bill (base + incentive).
    profit
        Mean, P10, P50 and P90 of operating profit.
    people
        Per person: base (after participation), expected incentive and total pay,
        attainment, probability of reaching quota.
    draws
        ``"<department>"`` incentive draws, ``"bill"`` and ``"profit"`` draws.
    """

    solution: Solution
    budget: CommissionBudget
    summary: pd.DataFrame
    profit: pd.Series
    people: pd.DataFrame
    draws: Mapping[str, np.ndarray] = field(repr=False)
    n_draws: int
    seed: int

    def quantiles(self, q: tuple[float, ...] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Quantiles of every drawn series (rows: series, columns: q)."""
        return pd.DataFrame({k: np.quantile(v, q) for k, v in self.draws.items()}, index=list(q)).T


def equilibrium_forecast(scenario: Scenario, solution: Solution) -> Scenario:
    """A copy of ``scenario`` whose forecast means are the equilibrium's latent means.

    For a company model with dynamics the means are those of the year the solution
    starts from (``solution.state``: for :func:`compmodel.solve`, the steady customer
    base), not of the model's default year (the steady state at rest)."""
    model = build_model(scenario)
    name = getattr(model, "state_name", None)
    if name is not None and name in solution.state:
        model = model.with_state(solution.state[name])  # type: ignore[attr-defined]
    mu = model.means(solution.lever_vector)
    fc = scenario.forecast
    if fc is None:  # solve() already refused this
        raise AssertionError("unreachable: a solved scenario has a forecast")
    metrics = dict(fc.metrics)
    for i, m in enumerate(model.metrics):
        if m in metrics:
            metrics[m] = dataclasses.replace(metrics[m], mean=float(mu[i]))
        else:
            metrics[m] = MetricForecast(mean=float(mu[i]), sd=0.0)
    return dataclasses.replace(
        scenario, forecast=Forecast(metrics=metrics, correlations=dict(fc.correlations))
    )


def simulate(
    scenario: Scenario,
    n_draws: int = 10_000,
    seed: int = 0,
    *,
    solution: Solution | None = None,
) -> Simulation:
    """Draw outcomes at the equilibrium of ``scenario``.

    Parameters
    ----------
    scenario
        A scenario with a company model.
    n_draws
        Monte Carlo draws (>= 100, and few enough to fit in
        :data:`compmodel.budget.MAX_DRAW_MEMORY`).
    seed
        Seed of ``numpy.random.default_rng`` (a whole number >= 0).
    solution
        The equilibrium to simulate (default: ``solve(scenario)``).

    Returns
    -------
    Simulation

    Raises
    ------
    ScenarioError
        If ``n_draws`` or ``seed`` is not allowed (checked before solving).
    """
    # the bill, incentive and profit series kept here, and the budget's copies
    check_draws(n_draws, seed, scenario, extra_series=6)
    sol = solution if solution is not None else solve(scenario)
    eq = equilibrium_forecast(scenario, sol)
    budget = commission_budget(eq, n_draws=n_draws, seed=seed)
    tax = scenario.settings.payroll_tax_rate
    rows = []
    bill_total = np.zeros(n_draws)
    incentive_total = np.zeros(n_draws)
    people = budget.people.copy()
    shifts = {}
    who = people["department"].to_numpy()
    base, count = people["base"].to_numpy(dtype=float), people["count"].to_numpy(dtype=float)
    all_base = 0.0
    known: dict[str, Mapping[Any, Any]] = {
        str(row["department"]): row for row in budget.departments.to_dict("records")
    }
    for dn, dept in scenario.departments.items():
        out = sol.departments[dn]
        shift = out.base_pay - dept.base_pay  # participation adjustment per person
        shifts[dn] = shift
        mask = who == dn
        base_total = float(((base[mask] + shift) * count[mask]).sum())
        all_base += base_total
        inc = budget.draws[dn]
        bill_total += base_total + inc
        incentive_total += inc
        rows.append(_stats(dn, inc, base_total, known.get(dn)))
    # operating profit with the expected pay replaced by each draw's pay; the rest of the
    # P&L (gross value, which already nets the turnover the levers cause, and the
    # turnover pay below the market causes) is the equilibrium's
    profit = (
        sol.operating_profit + sol.compensation_bill + sol.payroll_tax
        - bill_total - tax * incentive_total
    )  # fmt: skip
    rows.append(_stats("total", incentive_total, all_base))
    shifted = base + np.array([shifts[d] for d in who], dtype=float)
    people["base"] = shifted
    people["expected_pay"] = shifted + people["expected_payout"].to_numpy(dtype=float)
    draws = dict(budget.draws)
    draws.pop("total", None)
    draws["incentive"] = incentive_total
    draws["bill"] = bill_total
    draws["profit"] = profit
    return Simulation(
        solution=sol,
        budget=budget,
        summary=pd.DataFrame(rows),
        profit=pd.Series(_profit_stats(profit), name="operating_profit"),
        people=people,
        draws=MappingProxyType(draws),
        n_draws=int(n_draws),
        seed=int(seed),
    )


def _stats(
    name: str,
    incentive: np.ndarray,
    base_total: float,
    known: Mapping[Any, Any] | None = None,
) -> dict[str, float | str]:
    """Incentive and bill statistics; the bill is ``base_total`` plus the incentive,
    so its quantiles are the incentive's shifted (one sort, not two). ``known``: the
    budget's row for these same draws (``mc_mean``, ``sd``, ``p10``/``p50``/``p90``),
    which then are not computed again."""
    n = incentive.size
    if known is not None:
        q_i = np.array([known["p10"], known["p50"], known["p90"]], dtype=float)
        mean, sd = float(known["mc_mean"]), float(known["sd"])
    else:
        q_i = np.quantile(incentive, [0.1, 0.5, 0.9])
        mean = float(incentive.mean())
        sd = float(incentive.std(ddof=1))
    return {
        "department": name,
        "incentive_mean": mean,
        "incentive_se": sd / math.sqrt(n),
        "incentive_sd": sd,
        "incentive_p10": float(q_i[0]),
        "incentive_p50": float(q_i[1]),
        "incentive_p90": float(q_i[2]),
        "bill_mean": base_total + mean,
        "bill_p10": base_total + float(q_i[0]),
        "bill_p50": base_total + float(q_i[1]),
        "bill_p90": base_total + float(q_i[2]),
    }


def _profit_stats(profit: np.ndarray) -> dict[str, float]:
    q = np.quantile(profit, [0.1, 0.5, 0.9])
    return {
        "mean": float(profit.mean()),
        "p10": float(q[0]),
        "p50": float(q[1]),
        "p90": float(q[2]),
    }
