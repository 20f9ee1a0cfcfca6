"""Explaining operating profit: the profit walk, the gain split and what each bridge is worth.

Money is in the scenario's currency per period. Operating profit is

    gross value parts (for the reference manufacturer: gross margin, expediting,
        rework, bridge costs, overhead)
    - turnover (lever-driven and pay-driven)
    - compensation (base + incentive pay, and payroll tax on incentive pay),

so a change between two scenarios splits into those drivers exactly. Imputed costs
(``imputed.*`` outcomes, such as salaried time in meetings) are not in operating profit
and not among the drivers.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import pandas as pd
from scipy import optimize

from .errors import ConvergenceError, ScenarioError
from .models import TURNOVER_PART, build_model, capabilities, info_of, value_label
from .scenario import Scenario
from .solve import Solution, solve

__all__ = ["BridgeValue", "GainSplit", "bridge_values", "gain_split", "profit_waterfall"]

#: The drivers every kind has (a kind names its value parts: KindInfo.value_labels).
_LABELS = {
    "turnover": "turnover",
    "compensation": "compensation",
    "gross_value": "gross value",
}


def _solved(s: Scenario | Solution) -> Solution:
    return s if isinstance(s, Solution) else solve(s)


def profit_drivers(sol: Solution) -> dict[str, float]:
    """Operating profit of a solution as signed drivers that sum to it.

    Drivers are the model's value parts (``value.*`` outcomes; ``gross value`` for
    models without them), turnover (lever-driven and pay-driven) and compensation
    (the bill plus payroll tax on incentive pay).
    """
    parts = {k[len("value.") :]: v for k, v in sol.outcomes.items() if k.startswith("value.")}
    out: dict[str, float] = {}
    if parts:
        for k, v in parts.items():
            if k != TURNOVER_PART:  # part of turnover below
                out[k] = float(v)
    else:
        out["gross_value"] = sol.gross_value
    out["turnover"] = -sol.turnover_cost
    out["compensation"] = -(sol.compensation_bill + sol.payroll_tax)
    return out


def profit_waterfall(a: Scenario | Solution, b: Scenario | Solution) -> pd.DataFrame:
    """The profit walk: the change in operating profit from ``a`` to ``b``, driver by driver.

    Parameters
    ----------
    a, b
        Scenarios (solved here) or solutions of the same company model.

    Returns
    -------
    pandas.DataFrame
        Columns ``step`` (``"start"``, ``"driver"`` or ``"end"``), ``driver`` (the
        model's value parts, for the reference manufacturer gross margin, expediting,
        rework, bridge costs and overhead; then turnover and compensation), ``amount``
        (currency per period; for drivers the change, for start and end the operating
        profit) and ``cumulative``. The drivers sum to the end minus the start (to
        rounding; ``attrs["residual"]`` holds it).
    """
    sa = _solved(a)
    sb = _solved(b)
    da, db = profit_drivers(sa), profit_drivers(sb)
    if set(da) != set(db):
        raise ScenarioError(
            "scenarios",
            "the two solutions come from different company models (their profit drivers "
            f"differ: {sorted(set(da) ^ set(db))}); compare scenarios of one company",
        )
    rows = [{"step": "start", "driver": f"{sa.scenario}: operating profit",
             "amount": sa.operating_profit}]  # fmt: skip
    for k in da:
        label = _LABELS.get(k) or value_label(k, sa.company_kind)
        rows.append({"step": "driver", "driver": label, "amount": db[k] - da[k]})
    rows.append({"step": "end", "driver": f"{sb.scenario}: operating profit",
                 "amount": sb.operating_profit})  # fmt: skip
    frame = pd.DataFrame(rows)
    drivers = frame["step"] == "driver"
    frame["cumulative"] = sa.operating_profit + frame["amount"].where(drivers, 0.0).cumsum()
    frame.loc[frame["step"] == "end", "cumulative"] = sb.operating_profit
    total = math.fsum(frame.loc[drivers, "amount"])
    frame.attrs["residual"] = (sb.operating_profit - sa.operating_profit) - total
    return frame


def profit_bridge(a: Scenario | Solution, b: Scenario | Solution) -> pd.DataFrame:
    """Deprecated: use :func:`profit_waterfall` (the same frame; "bridges" are between departments)."""
    warnings.warn(
        "compmodel.profit_bridge is deprecated; use compmodel.profit_waterfall",
        DeprecationWarning,
        stacklevel=2,
    )
    return profit_waterfall(a, b)


def _without_bridges(s: Scenario, names: list[str] | None = None) -> Scenario:
    off = {k: (0.0 if names is None or k in names else v) for k, v in s.bridges.items()}
    return dataclasses.replace(s, bridges=off, name=f"{s.name} without bridges")


@dataclass(frozen=True)
class GainSplit:
    """How much of a proposal's operating-profit gain the plan change and the bridges bring.

    The gain from the baseline to the proposal is two changes: the plans and the bridges.
    Each can be made first, and each order splits the gain differently (they interact:
    in the reference company shared pay and bridges both curb infeasible promises, so
    whichever comes second finds less to do). ``plan_change`` and ``bridges`` are the
    Shapley values: each change's share averaged over the two orders, so the split does
    not depend on an order nobody chose. They sum to ``total``. All amounts are in the
    scenario's currency per period.

    Attributes
    ----------
    baseline, proposal
        The two scenarios solved.
    plans_only
        The proposal's plans with its bridges off (the plans-first middle step).
    bridges_only
        The baseline's plans with the proposal's bridges (the bridges-first middle step).
    plan_change, bridges
        The Shapley split: ``(plans_first[i] + bridges_first[i]) / 2``.
    total
        Operating profit of the proposal minus the baseline's.
    plans_first
        ``(plan change, bridges)`` with the plans changed first: plans only against the
        baseline, then the proposal against plans only.
    bridges_first
        ``(plan change, bridges)`` with the bridges switched on first: the proposal
        against bridges only, then bridges only against the baseline.
    """

    baseline: Solution
    plans_only: Solution
    proposal: Solution
    plan_change: float
    bridges: float
    total: float
    bridges_only: Solution
    plans_first: tuple[float, float]
    bridges_first: tuple[float, float]


def _with_bridges_of(baseline: Scenario, proposal: Scenario) -> Scenario:
    return dataclasses.replace(
        baseline,
        bridges=dict(proposal.bridges),
        name=f"{baseline.name} with the bridges of {proposal.name}",
    )


def gain_split(baseline: Scenario, proposal: Scenario, *, tol: float = 1e-8) -> GainSplit:
    """Split the operating-profit gain from ``baseline`` to ``proposal``, free of order.

    Solves four scenarios: the baseline, the proposal, the proposal's plans with its
    bridges off (plans first) and the baseline's plans with the proposal's bridges
    (bridges first). Each order gives a split of the gain; the reported
    ``plan_change`` and ``bridges`` are their average (the Shapley value of the two
    changes), and both orders are kept (``plans_first``, ``bridges_first``).

    Parameters
    ----------
    baseline, proposal
        Scenarios of one company model; the proposal usually changes plans and
        switches bridges on.
    tol
        Passed to :func:`compmodel.solve`.

    Returns
    -------
    GainSplit
        Amounts in the scenario's currency per period.
    """
    base = solve(baseline, tol=tol)
    plans = solve(_without_bridges(proposal), tol=tol)
    full = solve(proposal, tol=tol, warm_start=plans)
    bridged = solve(_with_bridges_of(baseline, proposal), tol=tol, warm_start=base)
    total = full.operating_profit - base.operating_profit
    plans_first = (
        plans.operating_profit - base.operating_profit,
        full.operating_profit - plans.operating_profit,
    )
    bridges_first = (
        full.operating_profit - bridged.operating_profit,
        bridged.operating_profit - base.operating_profit,
    )
    return GainSplit(
        baseline=base,
        plans_only=plans,
        proposal=full,
        plan_change=0.5 * (plans_first[0] + bridges_first[0]),
        bridges=0.5 * (plans_first[1] + bridges_first[1]),
        total=total,
        bridges_only=bridged,
        plans_first=plans_first,
        bridges_first=bridges_first,
    )


@dataclass(frozen=True)
class BridgeValue:
    """What one bridge is worth in a scenario (currency per period).

    ``net_value`` is operating profit with the bridge minus without it (other bridges
    as they are), after what it costs in cash and in capacity (realised lines only);
    ``cost`` its direct cash cost; ``imputed_cost`` what it costs that no P&L shows
    (the ``imputed.*`` outcomes with it minus without it: for the reference
    manufacturer, salaried time in meetings), outside ``net_value``;
    ``effect_coefficient`` the coefficient that sets its effect, at ``effect_value``;
    ``breakeven`` the value of that coefficient at which the bridge pays for all it
    costs, ``net_value = imputed_cost`` (for a bridge without imputed cost, where the
    net value is zero; ``None`` when not asked for, or when the difference keeps its
    sign over the coefficient's whole range: ``breakeven_note`` says which).
    """

    bridge: str
    setting: float
    net_value: float
    cost: float
    imputed_cost: float
    effect_coefficient: str
    effect_value: float
    breakeven: float | None
    breakeven_note: str


def bridge_values(scenario: Scenario, *, breakeven: bool = True, tol: float = 1e-7) -> pd.DataFrame:
    """Each switched-on bridge's net value after cost, its imputed cost and the
    breakeven of its effect.

    Parameters
    ----------
    scenario
        A scenario of the manufacturer model with some ``[bridges]`` on.
    breakeven
        Also find, by Brent's method on solves, the effect coefficient at which the
        bridge's net value equals its imputed cost (zero for most bridges): bracketed
        between 0 and the current value, or, for a bridge that loses money, up to 8
        times the current value (about 5-15 solves per bridge).
    tol
        Passed to :func:`compmodel.solve` (looser than its default: a breakeven needs
        many solves, some far from the calibrated values).

    Returns
    -------
    pandas.DataFrame
        One row per bridge: the fields of :class:`BridgeValue`.
    """
    declared = info_of(scenario.company.kind).bridges
    if not declared:
        raise ScenarioError(
            "company.kind",
            f"is {scenario.company.kind!r}, which models no bridges between departments; "
            "bridges belong to a kind that declares them (the reference 'manufacturer')",
        )
    on = [b for b, v in scenario.bridges.items() if v > 0]
    if not on:
        raise ScenarioError(
            "bridges",
            "no bridge is switched on; set e.g. bridges.meetings = 4 (see "
            "data/samples/acme_aligned.toml)",
        )
    full = solve(scenario, tol=tol)
    costs = capabilities(build_model(scenario)).bridge_costs or {}
    rows = []
    for b in on:
        effect = declared[b].effect
        off = solve(_without_bridges(scenario, [b]), tol=tol, warm_start=full)
        net = full.operating_profit - off.operating_profit
        if b not in costs:
            raise ScenarioError(
                f"bridges.{b}",
                f"the {scenario.company.kind!r} model reports no cost for this bridge; a kind "
                "that declares bridges reports each one's cost as bridge_costs",
            )
        cost = float(costs[b])
        imputed = _imputed(full) - _imputed(off)
        k0 = scenario.company.coefficient(effect)
        be: float | None = None
        note = "not asked for"
        if breakeven:
            what = "net value less its imputed cost" if imputed else "net value"
            be, note = _breakeven(
                scenario, b, effect, off.operating_profit + imputed, net - imputed, full, tol,
                what,
            )  # fmt: skip
        rows.append(
            dataclasses.asdict(
                BridgeValue(b, float(scenario.bridges[b]), net, cost, imputed, effect, k0, be, note)
            )
        )
    return pd.DataFrame(rows)


def _imputed(sol: Solution) -> float:
    """A solution's imputed costs (``imputed.*`` outcomes, positive), summed."""
    return math.fsum(float(v) for k, v in sol.outcomes.items() if k.startswith("imputed."))


def _breakeven(
    s: Scenario,
    bridge: str,
    effect: str,
    op_off: float,
    net_now: float,
    warm: Solution,
    tol: float,
    what: str = "net value",
) -> tuple[float | None, str]:
    """Effect coefficient where the bridge's net value is zero (Brent's method on solves).

    The net value at effect ``k`` is operating profit there less ``op_off`` (operating
    profit without the bridge, plus the bridge's imputed cost where the breakeven is
    against it); ``net_now`` is its value today. The root is bracketed first between 0
    and the current value, then, when the bridge loses money today, between the current
    value and 2, 4 and 8 times it. ``what`` names the difference in the note.
    """
    k_now = float(s.company.coefficients[effect].value)
    cache: dict[float, float] = {k_now: net_now}

    def net_at(k: float) -> float:
        if k not in cache:
            s2 = _with_unchecked(s, effect, k)
            cache[k] = solve(s2, tol=tol, warm_start=warm).operating_profit - op_off
        return cache[k]

    if k_now <= 0.0:
        return None, f"{effect} is {k_now:g}: no effect to scale"
    points = [0.0, k_now, 2.0 * k_now, 4.0 * k_now, 8.0 * k_now]
    lo_i = 0 if net_at(0.0) * net_now <= 0.0 else 1
    for a, b in zip(points[lo_i:], points[lo_i + 1 :], strict=False):
        try:
            fa, fb = net_at(a), net_at(b)
        except ConvergenceError:
            return None, f"the equilibrium did not settle at {effect} = {b:g}"
        if fa == 0.0:
            return a, "exact"
        if fa * fb < 0.0:
            root = optimize.brentq(net_at, a, b, xtol=1e-4 * k_now, rtol=1e-6, maxiter=30)
            return float(root), "Brent's method on solves"
    values = ", ".join(f"{k:g}: {net_at(k):,.0f}" for k in points if k in cache)
    return None, (f"{what} keeps its sign for {effect} from 0 to 8 times its value ({values})")


def _with_unchecked(s: Scenario, name: str, value: float) -> Scenario:
    """``s`` with coefficient ``name`` set to ``value``, its range widened to hold it."""
    c = s.company.coefficients[name]
    lo, hi = c.range if c.range is not None else (value, value)
    new = dataclasses.replace(c, value=value, range=(min(lo, value), max(hi, value)))
    coefs = dict(s.company.coefficients)
    coefs[name] = new
    return dataclasses.replace(s, company=dataclasses.replace(s.company, coefficients=coefs))
