"""Line of sight by what a person moves (``compmodel.equilibrium.line_of_sight``).

Oracle: the reference manufacturer written out with its ``N`` sales people, one of whom
deviates while the others stay put (:func:`n_reps`). Each rep books their own orders,
makes their own infeasible promises (their own orders late and reworked); the plant,
its load and fill rate, the customer base and its churn, the service desk and the staff
are everyone's. A rep's exact marginal
incentive there, differenced numerically, is what the solver must perceive:
``J_own + LoS (J_full - J_own)`` with ``LoS = 1/N`` at team identification 0. And the
kappa = 1 result of docs/reference-company.md (a risk-neutral sales force credited on
margin and charged its whole promise cost chooses the first-best over-promising) needs
full line of sight: it holds at lambda = 1 (tests/test_reference_company.py) and at
N = 1, not at lambda = 0 with 24 reps, who each bear only 1/24 of the company-wide part
of what their promises cost.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import compmodel as cm
from compmodel.equilibrium.backends import CompiledBackend, PythonBackend, choose_backend
from compmodel.equilibrium.problem import DepartmentProblem, Problem, build_problem
from compmodel.models import build_model
from compmodel.models.manufacturer import (
    LEVERS,
    MANUFACTURER_METRICS,
    _logistic,
    _sales,
    _softmin,
    _softplus,
    _staff,
)
from helpers import first_best_sales

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PER_REP = tuple(MANUFACTURER_METRICS)[:7]  # bookings ... promise_cost, a sales person's own


@cache
def scenario(name: str) -> cm.Scenario:
    return cm.load_scenario(SAMPLES / f"{name}.toml")


def one_rep(s: cm.Scenario) -> cm.Scenario:
    """``s`` with one sales person booking what 24 did (one market, the plant as
    loaded: bookings are the market's, shared by the reps)."""
    sales = dataclasses.replace(s.departments["sales"], headcount=1, roster=None)
    return dataclasses.replace(s, departments={**s.departments, "sales": sales})


def linear_plan(
    s: cm.Scenario, kappa: float, lam: float = 0.0, r: float | None = None
) -> cm.Scenario:
    """Sales paid 1 USD per USD of shipped margin and charged ``kappa`` of its promise
    cost (no cap, no floor), team identification ``lam``; the other departments paid
    nothing (at rest)."""
    sales = s.departments["sales"]
    tp = sales.target_incentive * sales.base_pay
    comps = {
        "margin": cm.Component(
            metric="shipped_margin",
            weight=1.0,
            payout=cm.PayoutCurve(threshold=0.0, target=tp, floor=None),
        ),
        "clawback": cm.Component(metric="promise_cost", payout=cm.Clawback(kappa)),
    }
    depts = {
        d: dataclasses.replace(v, plan=cm.Plan(components={}))
        for d, v in s.departments.items()
        if d != "sales"
    }
    depts["sales"] = dataclasses.replace(
        sales,
        plan=cm.Plan(components=comps),
        team_identification=lam,
        team_identification_provenance=None,  # lambda = 1 is past acme's range
        risk_aversion=sales.risk_aversion if r is None else r,
    )
    return dataclasses.replace(s, departments=depts, name=f"kappa {kappa}, lambda {lam}")


# --------------------------------------------------------------------------------------
# the oracle: N sales people written out
# --------------------------------------------------------------------------------------
def n_reps(model: object, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rep 0's seven metrics (:data:`PER_REP`) when rep 0's sales levers are ``x`` and
    the other ``N - 1`` reps' and every other department's are those of ``t``.

    The manufacturer's equations with the aggregates formed from all ``N`` reps: units
    ordered sum everyone's bookings; the fill rate ``U / D``, load and OTIF's load term
    are the plant's; each rep's orders are late (and defective) by the plant's terms and
    their own infeasible share; tickets sum everyone's shipped, late and defective
    units; customers stay by the company's OTIF and defect rate and the desk's response
    time (one customer base), each rep losing that share of their own margin; staff turnover follows the plant's infeasible share
    (bookings-weighted) and is charged equally to every rep.
    """
    k, pos = model._inputs, model._order  # type: ignore[attr-defined]
    n = round(k.n_sales)
    g = t[pos[8]]

    def rep(levers: np.ndarray) -> tuple[float, float, float]:
        lb, *_, phi, _, bookings = _sales(max(levers[0], 0.0), levers[1], levers[2], g, k)
        return phi, bookings, lb

    (phi_me, b_me, lb), (phi_o, b_o, _) = rep(x), rep(t[pos[:3]])
    weights, bookings, phis = (1.0, n - 1.0), (b_me, b_o), (phi_me, phi_o)
    h, q, xe, s, v = (t[pos[i]] for i in range(3, 8))
    nu = k.fill_sharpness
    demand = sum(w * b for w, b in zip(weights, bookings, strict=True)) / k.price
    kp = (
        k.n_production * k.units_per_worker * h
        * (1.0 - k.quality_time * (q - 1.0)) * (1.0 + k.overtime_output * xe) * k.floor
    )  # fmt: skip
    ks = k.n_shipping * k.units_per_shipper * s
    shipped = _softmin(_softmin(demand, kp, nu), ks, nu)
    fill = shipped / demand
    overload = _softplus(demand / min(kp, ks) - k.load_knee, k.knee_width)
    otif_plant = (
        k.otif_intercept - k.otif_load * overload + k.otif_expediting * xe
        + k.otif_dispatch * (s - 1.0)
    )  # fmt: skip
    defect_plant = (
        k.defect_intercept - k.defect_quality * (q - 1.0) + k.defect_rush * (h - 1.0)
        + k.defect_expediting * xe
    )  # fmt: skip
    otif = [_logistic(otif_plant - k.otif_infeasible * phi) for phi in phis]
    defect = [_logistic(defect_plant + k.defect_infeasible * phi) for phi in phis]
    units = [fill * b / k.price for b in bookings]
    mix = [
        k.tickets_per_unit + k.tickets_per_late_unit * (1.0 - o) + k.tickets_per_defect * d
        for o, d in zip(otif, defect, strict=True)
    ]
    tickets = sum(w * u * c for w, u, c in zip(weights, units, mix, strict=True))
    response = (
        k.response_base
        * (tickets / (k.n_customer_service * k.tickets_per_agent * v)) ** k.response_elasticity
    )
    assert response > 0 and lb > 0  # the desk serves everyone (no per-rep metric reads it)
    phi_plant = sum(w * b * p for w, b, p in zip(weights, bookings, phis, strict=True)) / (
        demand * k.price
    )
    from_promises = _staff(k, xe, phi_plant)[5] - _staff(k, xe, 0.0)[5]
    revenue = units[0] * k.price
    ontime = revenue * otif[0]
    promise_cost = (
        revenue * k.concession_rate * phi_me
        + units[0] * defect[0] * k.rework_cost
        + from_promises / n
    )
    mr = k.margin_rate
    return np.array([b_me, revenue, ontime, revenue * mr, ontime * mr, b_me - ontime, promise_cost])


def at(s: cm.Scenario) -> np.ndarray:
    """A point with over-promising caught in part, the plant past its load knee: every
    channel of the split is at work, no lever at a kink."""
    m = build_model(s)
    t = m.levers.rest.copy()
    names = list(m.levers.names)
    for lever, value in {
        "sales.prospecting": 1.12,
        "sales.overpromise": 0.15,
        "sales.collaboration": 0.05,
        "production.expediting": 0.05,
    }.items():
        t[names.index(lever)] = value
    return t


def differences(f: object, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central differences of ``f`` at ``x`` (Richardson-extrapolated), one column per
    coordinate."""
    cols = []
    for j in range(x.size):
        step = h * max(1.0, abs(x[j]))

        def central(hh: float, j: int = j) -> np.ndarray:
            up, dn = x.copy(), x.copy()
            up[j] += hh
            dn[j] -= hh
            return (np.asarray(f(up)) - np.asarray(f(dn))) / (2.0 * hh)  # type: ignore[operator]

        cols.append((4.0 * central(step / 2) - central(step)) / 3.0)
    return np.stack(cols, axis=-1)


def sales_problem(s: cm.Scenario) -> tuple[Problem, DepartmentProblem]:
    problem = build_problem(s)
    (d,) = [d for d in problem.depts if d.name == "sales"]
    return problem, d


def close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    """``got`` equals ``want`` to ``rtol`` of the largest entry of each row's scale."""
    scale = np.maximum(np.max(np.abs(want), axis=-1, keepdims=True), 1.0)
    np.testing.assert_array_less(np.abs(got - want) / scale, rtol)


# --------------------------------------------------------------------------------------
# the oracle is the model where everyone does the same
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [24, 1])
def test_the_written_out_reps_are_the_model_when_all_do_the_same(n: int) -> None:
    s = scenario("acme_margin_on_delivery")
    s = s if n == 24 else one_rep(s)
    m = build_model(s)
    t = at(s)
    idx = m.levers.index("sales")
    mine = n_reps(m, t, t[idx])
    model = m.means(t)[: len(PER_REP)]
    np.testing.assert_allclose(mine, model, rtol=1e-12)


# --------------------------------------------------------------------------------------
# what a person perceives is their exact marginal incentive among N
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [24, 1])
def test_perceived_metrics_move_as_one_rep_among_n_moves_them(n: int) -> None:
    """The solver's perceived plan means at the current levers are the metrics (exactly),
    and their derivatives are one deviating rep's among ``N`` (to 1e-6)."""
    s = scenario("acme_margin_on_delivery")
    s = s if n == 24 else one_rep(s)
    problem, d = sales_problem(s)
    m = problem.model
    assert d.plan is not None and set(d.plan.metrics) <= set(PER_REP)
    assert d.splits and np.all(d.line_of_sight == 1.0 / n)
    t = at(s)
    idx = d.levers
    mu0 = m.means(t)
    rows = [PER_REP.index(v) for v in d.plan.metrics]
    # value at the current levers: the model's, bit for bit
    np.testing.assert_array_equal(problem.perceived(d, t, t[idx], mu0)[1], mu0[rows])
    # derivatives: J_own + LoS (J_full - J_own) against the N reps differenced
    _, full = m.means_jacobian(t, idx)  # type: ignore[attr-defined]
    _, own = problem.own_means(t, t, idx)
    perceived = own + (full - own) / n
    oracle = differences(lambda x: n_reps(m, t, x), t[idx])
    close(perceived[: len(PER_REP)], oracle, 1e-6)
    np.testing.assert_array_equal(perceived[0], full[0])  # bookings: all a rep's own
    if n == 24:  # the old line of sight 1 on these metrics was the whole department's
        gap = np.abs(full[: len(PER_REP)] - oracle) / np.maximum(np.abs(oracle), 1.0)
        assert gap[PER_REP.index("ontime_margin")].max() > 0.05
        assert gap[PER_REP.index("promise_cost")].max() > 0.05


@pytest.mark.parametrize(("plan", "n"), [("margin_on_delivery", 24), ("linear", 24), ("linear", 1)])
def test_both_backends_climb_the_gradient_of_one_rep_among_n(plan: str, n: int) -> None:
    """The perceived CE's gradient at the current levers, in both backends, is the
    gradient of one deviating rep's CE among ``N`` (their pay on their own metrics of
    :func:`n_reps`, less their effort cost), to 1e-6."""
    s = scenario("acme_margin_on_delivery")
    if plan == "linear":
        s = linear_plan(s, kappa=0.5)
    s = s if n == 24 else one_rep(s)
    problem, d = sales_problem(s)
    m = problem.model
    t = at(s)
    idx = d.levers
    mu0 = m.means(t)

    def ce(x: np.ndarray) -> float:
        mu = mu0.copy()
        mu[: len(PER_REP)] = n_reps(m, t, x)
        t2 = t.copy()
        t2[idx] = x
        return problem.certainty(d, problem.plan_means(d, mu)) - problem.space.effort_cost(
            "sales", t2
        )

    oracle = differences(ce, t[idx])
    python = PythonBackend(problem)
    compiled = choose_backend(problem, "compiled")
    assert isinstance(compiled, CompiledBackend)
    for backend in (python, compiled):
        value, grad = backend.perceived_ce_and_gradient(d, t, t[idx], mu0)
        assert value == pytest.approx(ce(t[idx]), rel=1e-12)
        close(grad, oracle, 1e-6)


def test_models_without_a_split_keep_line_of_sight_one_on_individual_metrics() -> None:
    """The distributor and the linear kind declare no split: their individual-scope
    metrics are a person's own, as before (tests/test_golden.py holds their numbers)."""
    dist = scenario("distributor")
    problem = build_problem(dist)
    assert problem.caps.own_means_jacobian is None
    for d in problem.depts:
        assert not d.splits
        if d.plan is not None:
            for metric, los in zip(d.plan.metrics, d.line_of_sight, strict=True):
                if dist.metrics[metric].scope == "individual":
                    assert los == 1.0
    assert not cm.line_of_sight(dist)["split_individual"].any()
    sight = cm.line_of_sight(scenario("acme_margin_on_delivery")).set_index("department")
    assert sight.loc["sales", "split_individual"]
    assert not sight.loc["production", "split_individual"]


# --------------------------------------------------------------------------------------
# kappa = 1 gives the first best only with full line of sight
# --------------------------------------------------------------------------------------
def sales_levers(s: cm.Scenario) -> tuple[np.ndarray, float]:
    """Sales' equilibrium levers and the customer base of the year they are played in."""
    sol = cm.solve(s, tol=1e-10)
    levers = np.array([sol.levers[f"sales.{lv}"] for lv in LEVERS["sales"]])
    return levers, sol.state["customer_base"]


def test_kappa_one_gives_the_first_best_with_one_rep() -> None:
    """N = 1: line of sight 1 whatever lambda (docs/reference-company.md): the year's
    first best at the year's customer base."""
    s = linear_plan(one_rep(scenario("acme_today")), kappa=1.0, lam=0.0, r=0.0)
    got, base = sales_levers(s)
    np.testing.assert_allclose(got, first_best_sales(s, base), rtol=2e-5, atol=2e-6)


def test_kappa_one_misses_the_first_best_with_24_reps_who_see_a_24th() -> None:
    """lambda = 0, N = 24: each rep bears all of what their promises do to their own
    orders but only 1/24 of what they do through the plant's load, churn, the service
    desk and staff turnover, so they over-sell against the first best (prospecting 1.53
    against 1.21)."""
    s = linear_plan(scenario("acme_today"), kappa=1.0, lam=0.0, r=0.0)
    got, base = sales_levers(s)
    want = first_best_sales(s, base)
    # with full line of sight the same plan gives the year's first best
    full, full_base = sales_levers(linear_plan(scenario("acme_today"), kappa=1.0, lam=1.0, r=0.0))
    np.testing.assert_allclose(full, first_best_sales(s, full_base), rtol=2e-5, atol=2e-6)
    gap = np.abs(got - want) / np.maximum(1.0, np.abs(want))
    assert gap.max() > 1e-2, (got, want)
    assert got[0] > want[0]  # more prospecting: the crowding of the plant is shared
