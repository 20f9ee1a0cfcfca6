"""What a solve returns: the levers, metrics, pay and company figures of a solution,
with how it was found (:class:`SolveDiagnostics`), and how a solution is built from a
problem at given levers (:func:`build_solution`).

Money is in the scenario's currency per period; metrics are expected values in each
metric's unit (shares as shares).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import special

from .._pickling import PicklesProxies
from ..models import TURNOVER_PART
from ..moments import PiecewisePoly, logit_expectations_with_score
from ..scenario import Scenario
from .participation import participation

if TYPE_CHECKING:
    from .problem import Problem

__all__ = [
    "DepartmentOutcome",
    "EquilibriumPoint",
    "Kind",
    "Pay",
    "Solution",
    "SolveDiagnostics",
    "SteadyState",
    "build_solution",
    "efficiency",
    "trivial_diagnostics",
]

Kind = Literal["equilibrium", "first_best", "no_incentive", "levers"]
#: How a solution pays its people: ``"plans"`` (base pay after participation plus each
#: plan's incentive), ``"market"`` (a fixed wage equal to the market reference: no
#: incentive plan) or ``"forcing"`` (a fixed wage of market reference plus effort cost,
#: paid only at the stated levers: the forcing contract that implements them).
Pay = Literal["plans", "market", "forcing"]


@dataclass(frozen=True)
class DepartmentOutcome(PicklesProxies):
    """Pay and effort of one department's representative person (currency per period).

    ``base_pay`` is after the participation adjustment; ``expected_pay`` is base plus
    expected incentive; ``retention`` the share of people staying (1 unless
    ``fixed_base`` with a turnover sensitivity, or the model's levers drive people away).
    Under a benchmark's fixed wage (:data:`Pay` ``"market"`` or ``"forcing"``) the
    incentive, its variance and its risk premium are 0 and ``base_pay`` is the wage.
    """

    department: str
    headcount: int
    levers: Mapping[str, float]
    incentive_mean: float
    incentive_variance: float
    risk_premium: float
    effort_cost: float
    base_pay: float
    expected_pay: float
    certainty_equivalent: float
    market_reference: float | None
    retention: float


@dataclass(frozen=True)
class EquilibriumPoint(PicklesProxies):
    """An equilibrium reached from a starting profile, with its total surplus."""

    levers: Mapping[str, float]
    total_surplus: float
    starts: tuple[str, ...]


@dataclass(frozen=True)
class SteadyState:
    """Where a company's years settle.

    Attributes
    ----------
    name
        The state (``"customer_base"``).
    value
        Its steady value ``C*`` (USD of orders a year for the customer base).
    residual
        ``|F(C*) - C*|``, in the state's unit.
    slope
        ``dG/dC`` at ``C*`` (secant estimate): below 0 where the steady state is stable
        (the path of years returns to it).
    evaluations
        Equilibrium solves it took.
    fixed_points
        Every fixed point found (the scan's, when it ran), ascending; ``value`` is one.
    start
        The state the path started from (the selected fixed point is the first one
        the path meets from there).
    """

    name: str
    value: float
    residual: float
    slope: float
    evaluations: int
    fixed_points: tuple[float, ...]
    start: float


@dataclass(frozen=True)
class SolveDiagnostics(PicklesProxies):
    """How the solution was found.

    ``equilibria`` lists every distinct equilibrium reached (``selected`` is the index
    of the one reported); ``notes`` says when several exist or a start failed.
    ``first_best`` holds the first-best levers of the year solved (a starting profile
    of its search) and ``first_best_of`` a digest of what they depend on (the model's
    equations and coefficients, effort costs, bounds, headcounts and the backend): a
    warm start reuses ``first_best`` exactly when the digest matches. Without dynamics
    the efficiency is measured against them; where customers carry over, the year is
    the one at the steady customer base (a plan that moves it moves them) and the
    efficiency is measured against the steady first best (:func:`compmodel.first_best`).
    ``search`` is ``"all"`` (every starting profile) or ``"warm"`` (followed from a
    previous solution only; see :func:`compmodel.solve`). ``verified`` names the check
    every reported equilibrium passed (:mod:`compmodel.equilibrium.verification`):
    ``"global"`` (a grid over each department's levers plus climbs: no department gains
    by deviating), ``"local"`` (a warm search: climbs from each department's levers,
    the grid for non-concave plans only); ``""`` where nothing was solved for (first
    best, no incentive, given levers).
    """

    converged: bool
    iterations: int
    residual: float
    equilibria: tuple[EquilibriumPoint, ...]
    selected: int
    notes: tuple[str, ...]
    first_best: Mapping[str, float] | None = None
    search: str = "all"
    first_best_of: str | None = None
    verified: str = ""
    #: where the years settle, for a model whose customers carry over (None: no dynamics)
    steady_state: SteadyState | None = None


@dataclass(frozen=True)
class Solution(PicklesProxies):
    """The outcome of a scenario at some levers.

    Money is in the scenario's currency per period; ``metrics`` are expected values in
    each metric's unit (shares as shares). ``compensation_bill`` is base plus expected
    incentive pay of all people; ``payroll_tax`` the employer's tax on the incentive
    part; ``turnover_cost`` what replacing leavers costs (those the levers drive away,
    already netted in ``gross_value``, and those pay below the market drives away);
    ``operating_profit`` is gross value less the bill, the tax and the pay-driven
    turnover. The benchmarks pay fixed wages (no incentive: the market reference; first
    best: a forcing contract, the market reference plus the effort cost), so they have
    no payroll tax and no pay-driven turnover.
    """

    scenario: str
    kind: Kind
    levers: Mapping[str, float]
    metrics: Mapping[str, float]
    departments: Mapping[str, DepartmentOutcome]
    gross_value: float
    total_surplus: float
    compensation_bill: float
    turnover_cost: float
    payroll_tax: float
    operating_profit: float
    alignment_efficiency: float | None
    outcomes: Mapping[str, float]
    diagnostics: SolveDiagnostics
    #: the company kind whose model gave it (its labels and tiles: compmodel.models.info_of)
    company_kind: str = "none"
    #: the state the year started from, for a model whose customers carry over
    #: (``{"customer_base": C}``, USD of orders a year; empty without dynamics)
    state: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def lever_vector(self) -> np.ndarray:
        return np.array(list(self.levers.values()), dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per figure (section, department, figure, value)."""
        return pd.DataFrame(self._records(), columns=["section", "department", "figure", "value"])

    def _records(self) -> list[tuple[str, str, str, float]]:
        """The rows of :meth:`to_frame` as tuples (what a sweep collects per point)."""
        rows: list[tuple[str, str, str, float]] = []
        for name, v in self.levers.items():
            d, lv = name.split(".", 1)
            rows.append(("levers", d, lv, v))
        rows += [("metrics", "", m, v) for m, v in self.metrics.items()]
        for d, o in self.departments.items():
            for f in (
                "incentive_mean", "incentive_variance", "risk_premium", "effort_cost",
                "base_pay", "expected_pay", "certainty_equivalent", "retention",
            ):  # fmt: skip
                rows.append(("pay", d, f, getattr(o, f)))
        rows += [("outcomes", "", m, v) for m, v in self.outcomes.items()]
        for f in (
            "gross_value", "total_surplus", "compensation_bill", "turnover_cost", "payroll_tax",
            "operating_profit", "alignment_efficiency",
        ):  # fmt: skip
            v = getattr(self, f)
            if v is None:  # undefined efficiency: left out (diagnostics.notes says why)
                continue
            rows.append(("company", "", f, v))
        return rows


def expected_metric(scenario: Scenario, metric: str, latent_mean: float) -> float:
    """A metric's expected value in its unit from its latent mean: a share's expectation
    over its noise (the logit-normal integral), else the mean itself."""
    met = scenario.metrics[metric]
    if met.scale != "logit":
        return float(latent_mean)
    f = scenario.forecast.metrics.get(metric) if scenario.forecast is not None else None
    sd = 0.0 if f is None else math.hypot(f.sd, f.individual_sd)
    if sd <= 0.0:
        return float(special.expit(latent_mean))
    return logit_expectations_with_score(_IDENTITY, latent_mean, sd)[0]  # compiled, same rule


_IDENTITY = PiecewisePoly.from_pieces([], [[0.0, 1.0]])  # f(x) = x


def _department(problem: Problem, i: int, mu: np.ndarray, t: np.ndarray) -> DepartmentOutcome:
    """One department's pay, effort and participation at levers ``t`` (means ``mu``)."""
    d = problem.depts[i]
    dept = problem.scenario.departments[d.name]
    e, v, rp = problem.risk_premium(d, problem.plan_means(d, mu))
    cost = problem.space.effort_cost(d.name, t)
    joined = participation(problem.scenario.settings, d.name, dept, e, rp, cost)
    names = problem.space.names
    return DepartmentOutcome(
        department=d.name,
        headcount=d.headcount,
        levers=MappingProxyType({names[j].split(".", 1)[1]: float(t[j]) for j in d.levers}),
        incentive_mean=e,
        incentive_variance=v,
        risk_premium=rp,
        effort_cost=cost,
        base_pay=joined.base_pay,
        expected_pay=joined.base_pay + e,
        certainty_equivalent=joined.certainty_equivalent,
        market_reference=dept.market_reference,
        retention=joined.retention,
    )


def _fixed_wage(problem: Problem, i: int, t: np.ndarray, pay: Pay) -> DepartmentOutcome:
    """One department's pay under a fixed wage at levers ``t`` (currency per period per
    person): the market reference (its stated base pay without one), plus, under a
    forcing contract (``pay="forcing"``), the effort cost at ``t``. No incentive, so no
    variance and no risk premium; the pay meets the market, so nobody leaves over pay
    (``retention`` 1; the levers' own effect is applied by :func:`build_solution`)."""
    d = problem.depts[i]
    dept = problem.scenario.departments[d.name]
    cost = problem.space.effort_cost(d.name, t)
    market = dept.market_reference
    wage = (dept.base_pay if market is None else market) + (cost if pay == "forcing" else 0.0)
    names = problem.space.names
    return DepartmentOutcome(
        department=d.name,
        headcount=d.headcount,
        levers=MappingProxyType({names[j].split(".", 1)[1]: float(t[j]) for j in d.levers}),
        incentive_mean=0.0,
        incentive_variance=0.0,
        risk_premium=0.0,
        effort_cost=cost,
        base_pay=wage,
        expected_pay=wage,
        certainty_equivalent=wage - cost,
        market_reference=market,
        retention=1.0,
    )


def build_solution(
    problem: Problem,
    t: np.ndarray,
    kind: Kind,
    diagnostics: SolveDiagnostics,
    efficiency: float | None,
    *,
    pay: Pay = "plans",
) -> Solution:
    """The solution of ``problem`` at levers ``t``: metrics, each department's pay and
    participation, and the company's figures (currency per period).

    ``pay`` says how people are paid (:data:`Pay`): by their plans (``"plans"``, an
    equilibrium or given levers), or a fixed wage (``"market"``: no incentive;
    ``"forcing"``: the first best's forcing contract). The bill, payroll tax, turnover
    and operating profit follow from that pay the same way in every case; a fixed wage
    bears no risk, so its total surplus carries no risk premium.
    """
    s, model = problem.scenario, problem.model
    mu = model.means(t)
    metrics = {m: expected_metric(s, m, float(mu[i])) for i, m in enumerate(model.metrics)}
    staff = getattr(model, "staff_retention", None)
    lever_retention: Mapping[str, float] = staff(t) if staff is not None else {}
    depts: dict[str, DepartmentOutcome] = {}
    bill = tax = turnover = 0.0  # turnover: from pay below the market (fixed_base)
    for i, d in enumerate(problem.depts):
        out = _department(problem, i, mu, t) if pay == "plans" else _fixed_wage(problem, i, t, pay)
        stay = float(lever_retention.get(d.name, 1.0))
        pay_leavers = stay * (1.0 - out.retention)
        out = dataclasses.replace(out, retention=out.retention * stay)
        depts[d.name] = out
        bill += d.headcount * out.expected_pay
        tax += d.headcount * out.incentive_mean * s.settings.payroll_tax_rate
        turnover += d.headcount * pay_leavers * s.settings.replacement_cost * out.base_pay
    value = model.gross_value(t)
    parts = getattr(model, "value_parts", None)
    lever_turnover = -float(parts(t).get(TURNOVER_PART, 0.0)) if parts is not None else 0.0
    return Solution(
        scenario=s.name,
        kind=kind,
        levers=MappingProxyType(problem.space.as_dict(t)),
        metrics=MappingProxyType(metrics),
        departments=MappingProxyType(depts),
        gross_value=value,
        total_surplus=problem.total_surplus(t, risk=pay == "plans"),
        compensation_bill=bill,
        turnover_cost=turnover + lever_turnover,
        payroll_tax=tax,
        operating_profit=value - bill - tax - turnover,
        alignment_efficiency=efficiency,
        outcomes=MappingProxyType(dict(model.outcomes(t))),
        diagnostics=diagnostics,
        company_kind=s.company.kind,
        state=MappingProxyType(_state_of(model)),
    )


def _state_of(model: object) -> dict[str, float]:
    """The state a dynamic model's year starts from (empty without dynamics)."""
    name = getattr(model, "state_name", None)
    return {} if name is None else {name: float(model.state)}  # type: ignore[attr-defined]


def trivial_diagnostics(
    t: np.ndarray, names: tuple[str, ...], total_surplus: float, start: str
) -> SolveDiagnostics:
    """Diagnostics of a solution found without a search (first best, no incentive,
    given levers)."""
    pt = EquilibriumPoint(
        MappingProxyType(dict(zip(names, map(float, t), strict=True))), total_surplus, (start,)
    )
    return SolveDiagnostics(True, 0, 0.0, (pt,), 0, ())


def efficiency(problem: Problem, t: np.ndarray, fb: np.ndarray) -> tuple[float | None, str]:
    """Alignment efficiency ``(TS - TS_none) / (TS_fb - TS_none)`` at ``t`` and, when it
    is undefined, a note saying why."""
    ts_none = problem.total_surplus(problem.space.rest, risk=False)
    ts_fb = problem.total_surplus(fb, risk=False)
    denom = ts_fb - ts_none
    if abs(denom) <= 1e-12 * max(1.0, abs(ts_fb)):
        return None, "alignment efficiency is undefined: first best adds nothing over no incentive"
    return (problem.total_surplus(t) - ts_none) / denom, ""
