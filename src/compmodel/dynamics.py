"""Year by year: the P&L a change of plans shows, from the year it starts to its steady state.

A company model with dynamics (the ``manufacturer`` kind) hands a customer base from
one year to the next (:mod:`compmodel.equilibrium.steady`): each year every department
plays the equilibrium of the plans in force at that year's customer base, and the year
hands on ``customer_retention x revenue``. :func:`compmodel.solve` reports the steady
state; :func:`pnl` follows the years from a starting scenario's steady state (today's)
under a proposal until its own.

Money is what each year's P&L shows (operating profit with realised lines only:
nothing imputed in it; imputed costs, such as salaried time in meetings, are reported
apart). Out of scope, and said so in the docs: commission timing (pay is counted in the
year its results are), working capital, tax on profit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .equilibrium.backends import choose_backend
from .equilibrium.problem import build_problem
from .equilibrium.results import Solution, build_solution
from .equilibrium.selection import find_equilibrium
from .equilibrium.steady import at_state, has_dynamics
from .errors import ScenarioError
from .scenario import Scenario
from .solve import solve

__all__ = ["ProfitPath", "pnl"]

#: the lines of a year's P&L after the model's value parts (USD, signed: costs negative)
PAY_LINES = ("base_payroll", "incentive_pay", "payroll_tax", "pay_turnover")


@dataclass(frozen=True)
class ProfitPath:
    """A proposal's P&L year by year from a starting scenario's steady state.

    Attributes
    ----------
    scenario, start
        The proposal's and the starting scenario's names.
    years
        One row per year (index ``year``: 0 is the start's steady state, the year before
        the change; 1 to ``horizon`` the proposal in force), one column per P&L line
        (USD a year, costs negative): the model's lines of gross value (its
        ``value.*`` parts), then base payroll, incentive pay, payroll tax on it and the
        cost of pay-driven turnover, then ``operating_profit`` (their sum), ``revenue``
        and the state the year started from (``customer_base``).
    imputed
        Imputed costs per year (USD a year, positive): opportunity costs that no P&L
        shows (salaried time in meetings); never inside ``operating_profit``.
    solutions
        Each year's solution (years 1 to ``horizon``).
    start_solution, steady
        The start's and the proposal's steady states (:func:`compmodel.solve`).
    horizon, discount_rate
        Years counted and the discount rate a year.
    npv
        Net present value of the proposal's operating profit over years 1 to
        ``horizon`` (USD, year ``y`` discounted by ``(1 + r)^y``).
    npv_gain
        The same of the gain over the start's steady operating profit (USD): what the
        change is worth over the horizon.
    terminal_gain
        The steady-state gain after the horizon, as a perpetuity at present value:
        ``(OP_steady - OP_start) / r / (1 + r)^horizon`` (USD). Reported apart: the
        headline :attr:`npv_gain` does not include it.
    payback_year
        The first year whose cumulative discounted gain is at least 0 (``None``:
        never, within the horizon and the steady state after it).
    """

    scenario: str
    start: str
    years: pd.DataFrame
    imputed: pd.DataFrame
    solutions: tuple[Solution, ...]
    start_solution: Solution
    steady: Solution
    horizon: int
    discount_rate: float
    npv: float
    npv_gain: float
    terminal_gain: float
    payback_year: int | None

    def summary(self) -> str:
        """One sentence: the gain over the horizon, the steady-state gain and payback."""
        gain = self.steady.operating_profit - self.start_solution.operating_profit
        pay = "never" if self.payback_year is None else f"in year {self.payback_year}"
        return (
            f"{self.scenario} against {self.start}: NPV of the gain over {self.horizon} "
            f"years at {self.discount_rate:.1%} is USD {self.npv_gain:,.0f} (steady-state "
            f"gain USD {gain:,.0f} a year, worth USD {self.terminal_gain:,.0f} after the "
            f"horizon, reported apart); it pays back {pay}."
        )


def _lines(sol: Solution, scenario: Scenario) -> dict[str, float]:
    """A solution's P&L lines (USD a year, costs negative)."""
    base_payroll = math.fsum(
        scenario.departments[d].headcount * o.base_pay for d, o in sol.departments.items()
    )
    parts = {k: v for k, v in sol.outcomes.items() if k.startswith("value.")}
    pay_turnover = sol.gross_value - sol.compensation_bill - sol.payroll_tax - sol.operating_profit
    out = dict(parts)
    out["base_payroll"] = -base_payroll
    out["incentive_pay"] = -(sol.compensation_bill - base_payroll)
    out["payroll_tax"] = -sol.payroll_tax
    out["pay_turnover"] = -pay_turnover
    out["operating_profit"] = sol.operating_profit
    out["revenue"] = float(sol.metrics.get("revenue", math.nan))
    out["customer_base"] = float(next(iter(sol.state.values()), math.nan))
    return out


def pnl(
    scenario: Scenario,
    start: Scenario | None = None,
    horizon: int | None = None,
    discount_rate: float | None = None,
) -> ProfitPath:
    """The P&L year by year when ``scenario``'s plans replace ``start``'s.

    Parameters
    ----------
    scenario
        The proposal (a scenario with a company model).
    start
        The scenario in force before (default: ``scenario`` itself, whose path is then
        its steady state every year). Year 0 is its steady state; year 1 starts with its
        customer base.
    horizon
        Years to count, a whole number 1-50 (default ``scenario.settings.horizon``).
    discount_rate
        A share a year, in (0, 0.5] (default ``scenario.settings.discount_rate``).

    Returns
    -------
    ProfitPath
        The years' lines, the NPV of the gain and the payback year. For a kind without
        dynamics every year is the steady state: the gain is the same each year.

    Raises
    ------
    ScenarioError
        If ``horizon`` or ``discount_rate`` is out of range, or the two scenarios are
        not of one company model.
    """
    h = scenario.settings.horizon if horizon is None else horizon
    r = scenario.settings.discount_rate if discount_rate is None else discount_rate
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or not 1 <= h <= 50:
        raise ScenarioError("horizon", f"is {h!r}; allowed: a whole number of years from 1 to 50")
    number = isinstance(r, (int, float, np.floating)) and not isinstance(r, bool)
    if not number or not math.isfinite(float(r)) or not 0.0 < float(r) <= 0.5:
        raise ScenarioError(
            "discount_rate",
            f"is {r!r}; allowed: a share a year above 0 and at most 0.5 (e.g. 0.09)",
        )
    r = float(r)
    first = start if start is not None else scenario
    if first.company.kind != scenario.company.kind:
        raise ScenarioError(
            "start",
            f"is of company kind {first.company.kind!r}, the proposal of "
            f"{scenario.company.kind!r}: a P&L path needs one company model; start from "
            "a scenario of the same company file",
        )
    before = solve(first)
    steady = solve(scenario, start_state=next(iter(before.state.values()), None))
    p = build_problem(scenario)
    rows = {0: _lines(before, first)}
    imputed = {0: _imputed(before)}
    sols: list[Solution] = []
    if has_dynamics(p):
        state = float(next(iter(before.state.values())))
        warm: Solution | None = before if tuple(before.levers) == p.space.names else None
        for y in range(1, h + 1):
            q = at_state(p, state)
            # year 1: every starting profile; later years follow the year before (the
            # path's people carry their behaviour on), verified each year
            t, diag, _ = find_equilibrium(
                q, choose_backend(q, "auto"), warm, 1e-8, 200, follow=y > 1,
                failed=functools.partial(_unsettled, y),
            )  # fmt: skip
            sol = build_solution(q, t, "equilibrium", diag, None)
            sols.append(sol)
            rows[y] = _lines(sol, scenario)
            imputed[y] = _imputed(sol)
            warm = sol
            state = float(q.model.next_state(t))  # type: ignore[attr-defined]
    else:
        for y in range(1, h + 1):
            sols.append(steady)
            rows[y] = _lines(steady, scenario)
            imputed[y] = _imputed(steady)
    years = pd.DataFrame.from_dict(rows, orient="index")
    years.index.name = "year"
    op0 = before.operating_profit
    disc = np.array([(1.0 + r) ** -y for y in range(1, h + 1)])
    ops = years.loc[1:, "operating_profit"].to_numpy(dtype=float)
    npv = float(ops @ disc)
    npv_gain = float((ops - op0) @ disc)
    steady_gain = steady.operating_profit - op0
    terminal = steady_gain / r * (1.0 + r) ** -h
    cumulative = np.cumsum((ops - op0) * disc)
    payback: int | None = None
    if (cumulative.size and cumulative[-1] >= 0) or steady_gain > 0:
        payback = _payback(cumulative, steady_gain, r, h)
    return ProfitPath(
        scenario=scenario.name,
        start=first.name,
        years=years,
        imputed=pd.DataFrame.from_dict(imputed, orient="index").rename_axis("year"),
        solutions=tuple(sols),
        start_solution=before,
        steady=steady,
        horizon=int(h),
        discount_rate=r,
        npv=npv,
        npv_gain=npv_gain,
        terminal_gain=float(terminal),
        payback_year=payback,
    )


def _unsettled(year: int, resid: float) -> str:
    return (
        f"year {year} of the path did not settle (last relative change {resid:.3g}); "
        "compmodel.solve on the scenario lists what to try"
    )


def _imputed(sol: Solution) -> dict[str, float]:
    """A solution's imputed costs (outcomes named ``imputed.*``), positive."""
    return {
        k.split(".", 1)[1]: float(v) for k, v in sol.outcomes.items() if k.startswith("imputed.")
    }


def _payback(cumulative: np.ndarray, steady_gain: float, r: float, h: int) -> int | None:
    """The first year the cumulative discounted gain reaches 0, continuing with the
    steady-state gain after the horizon (up to 100 years); ``None``: never."""
    for y, c in enumerate(cumulative, start=1):
        if c >= 0.0:
            return y
    c = float(cumulative[-1]) if cumulative.size else 0.0
    if steady_gain <= 0:
        return None
    for y in range(h + 1, 101):
        c += steady_gain * (1.0 + r) ** -y
        if c >= 0.0:
            return y
    return None
