"""Adversarial review tests for behaviour: solve, first_best, no_incentive, evaluate,
simulate, compare, cost_sheet and winners_losers.

Each test builds a tiny scenario with a linear company model and asserts what a careful
user would expect; the reason is given in a comment. The defects these tests found (kinks
with noiseless metrics, evaluate's errors and efficiency) are fixed.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate, special, stats

import compmodel as cm

THEORY = Path(__file__).resolve().parents[1] / "data" / "samples" / "theory"

LINEAR_COMP = {
    "c": {"metric": "x", "weight": 1.0, "threshold": 0.0, "target": 1.0, "floor": "extend"}
}


def dept(**kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "headcount": 1,
        "base_pay": 1.0,
        "target_incentive": 0.5,
        "risk_aversion": 0.0,
        "market_reference": 0.0,
        "components": copy.deepcopy(LINEAR_COMP),
    }
    d.update(kw)
    return d


def build(
    *,
    levers: dict[str, Any] | None = None,
    means: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    forecast: dict[str, Any] | None = None,
    depts: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> cm.Scenario:
    """One department `a` with lever `effort` (cost 1, value 1) and metric x = effort.

    The default plan pays 0.5 per unit of x (base 1, target incentive 0.5, target 1).
    """
    doc = {
        "name": "review",
        "settings": settings if settings is not None else {"participation": "binding"},
        "company": {
            "kind": "linear",
            "levers": levers
            if levers is not None
            else {"a": {"effort": {"cost": 1.0, "value": 1.0}}},
            "means": means if means is not None else {"x": {"loadings": {"a.effort": 1.0}}},
        },
        "metrics": metrics if metrics is not None else {"x": {"unit": "u", "scope": "individual"}},
        "forecast": forecast if forecast is not None else {"x": {"sd": 1.0}},
        "departments": depts if depts is not None else {"a": dept()},
    }
    return cm.scenario_from_dict(copy.deepcopy(doc))


def perceived(s: cm.Scenario, levers: dict[str, float], d: str) -> float:
    """CE without base of a one-person department at given levers (line of sight 1)."""
    o = cm.evaluate(s, levers).departments[d]
    return o.incentive_mean - o.risk_premium - o.effort_cost


def assert_finite_frame(sol: cm.Solution) -> None:
    """No NaN/inf in to_frame(); an undefined efficiency is left out, not NaN."""
    f = sol.to_frame()
    if sol.alignment_efficiency is None:
        assert "alignment_efficiency" not in set(f["figure"])
    values = f["value"].to_numpy(dtype=float)
    assert np.all(np.isfinite(values)), f[~np.isfinite(values)]


# --------------------------------------------------------------------------------------
# corner solutions: a bound must come back exactly (within 1e-9)
# --------------------------------------------------------------------------------------
def test_upper_bound_corner_is_exact() -> None:
    # unconstrained optimum 0.5 (commission 0.5, cost 1) and first best 1.0 are both
    # above the upper bound 0.3: both must sit exactly on it
    s = build(levers={"a": {"effort": {"cost": 1.0, "value": 1.0, "lower": 0.0, "upper": 0.3}}})
    assert cm.solve(s).levers["a.effort"] == pytest.approx(0.3, abs=1e-9)
    assert cm.first_best(s).levers["a.effort"] == pytest.approx(0.3, abs=1e-9)


def test_negative_loading_lower_bound_corner_is_exact() -> None:
    # x = -effort: paying on x rewards lowering effort, which stops at the lower bound
    s = build(
        levers={
            "a": {"effort": {"rest": 1.0, "cost": 1.0, "value": 1.0, "lower": 0.7, "upper": 2.0}}
        },
        means={"x": {"loadings": {"a.effort": -1.0}}},
    )
    assert cm.solve(s).levers["a.effort"] == pytest.approx(0.7, abs=1e-9)
    # first best: value 1 per unit, cost 1 -> rest + 1 = 2.0, the upper bound
    assert cm.first_best(s).levers["a.effort"] == pytest.approx(2.0, abs=1e-9)


def test_two_levers_one_at_bound_one_interior() -> None:
    # separable costs: e1 wants 0.5 but is capped at 0.2; e2 is interior at 0.5
    s = build(
        levers={"a": {"e1": {"cost": 1.0, "value": 1.0, "lower": 0.0, "upper": 0.2},
                      "e2": {"cost": 1.0, "value": 0.0, "lower": -1.0, "upper": 1.0}}},
        means={"x": {"loadings": {"a.e1": 1.0, "a.e2": 1.0}}},
    )  # fmt: skip
    sol = cm.solve(s)
    assert sol.levers["a.e1"] == pytest.approx(0.2, abs=1e-9)
    assert sol.levers["a.e2"] == pytest.approx(0.5, abs=1e-9)
    fb = cm.first_best(s)
    assert fb.levers["a.e1"] == pytest.approx(0.2, abs=1e-9)
    assert fb.levers["a.e2"] == pytest.approx(0.0, abs=1e-9)  # e2 has no value


def test_quota_bonus_corner_at_upper_bound() -> None:
    # quota.toml with q = 1: e* = 0.9837 unbounded; an upper bound of 0.5 binds exactly
    s = cm.load_scenario(THEORY / "quota.toml").with_value("company.levers.rep.effort.upper", 0.5)
    assert cm.solve(s).levers["rep.effort"] == pytest.approx(0.5, abs=1e-9)


def test_department_without_plan_stays_at_rest() -> None:
    # no plan: no reason to move from rest, whatever the value of the lever
    s = build(
        levers={
            "a": {"effort": {"rest": 0.2, "cost": 1.0, "value": -1.0, "lower": 0.1, "upper": 0.3}}
        },
        depts={"a": {"headcount": 1, "base_pay": 1.0, "market_reference": 0.0}},
    )
    assert cm.solve(s).levers["a.effort"] == pytest.approx(0.2, abs=1e-9)
    assert cm.first_best(s).levers["a.effort"] == pytest.approx(0.1, abs=1e-9)
    assert cm.no_incentive(s).levers["a.effort"] == pytest.approx(0.2, abs=1e-12)


# --------------------------------------------------------------------------------------
# kinks of deterministic plans (sd = 0): the exact optimum sits on the kink
# --------------------------------------------------------------------------------------
def test_cap_deterministic_answer_is_the_cap() -> None:
    # cap.toml's header: "deterministic answer: 80" (0.1 - 0.001 e > 0 up to the cap)
    s = cm.load_scenario(THEORY / "cap.toml").with_value("forecast.sales.sd", 0.0)
    assert cm.solve(s).levers["rep.effort"] == pytest.approx(80.0, rel=1e-6)


def test_lower_is_better_cap_kink_deterministic() -> None:
    # pay 1 per second below 10 s, capped at 7 s; marginal cost 0.01 e < 1 up to e = 3,
    # so the optimum is exactly the cap e = 3 (x = 7)
    s = build(
        metrics={"x": {"unit": "s", "scope": "individual", "direction": "lower"}},
        means={"x": {"intercept": 10.0, "loadings": {"a.effort": -1.0}}},
        forecast={"x": {"sd": 0.0}},
        levers={"a": {"effort": {"cost": 0.01, "value": 1.0, "lower": 0.0, "upper": 10.0}}},
        depts={"a": dept(target_incentive=1.0, components={"c": {
            "metric": "x", "weight": 1.0, "threshold": 10.0, "target": 9.0, "cap": 7.0,
            "payout_at_cap": 3.0, "floor": 0.0}})},
    )  # fmt: skip
    sol = cm.solve(s)
    assert sol.departments["a"].incentive_mean == pytest.approx(3.0, rel=1e-9)
    assert sol.levers["a.effort"] == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize(("q", "e"), [(1.0, 1.0), (2.0, 2.0), (3.0, 0.0)])
def test_quota_deterministic(q: float, e: float) -> None:
    # sd = 0: reach the quota exactly iff B = 1 > c q^2 / 2 = q^2 / 8, else stay at rest
    s = (
        cm.load_scenario(THEORY / "quota.toml")
        .with_value("forecast.sales.sd", 0.0)
        .with_value("departments.rep.components.bonus.quota", q)
    )
    assert cm.solve(s).levers["rep.effort"] == pytest.approx(e, rel=1e-6, abs=1e-9)


def test_sd_zero_linear_plan_no_nan() -> None:
    # deterministic metric: no variance, no risk premium, nothing undefined
    s = build(forecast={"x": {"sd": 0.0}}, depts={"a": dept(risk_aversion=2.0)})
    sol = cm.solve(s)
    a = sol.departments["a"]
    assert sol.levers["a.effort"] == pytest.approx(0.5, abs=1e-9)
    assert a.incentive_variance == 0.0
    assert a.risk_premium == 0.0
    assert_finite_frame(sol)
    sim = cm.simulate(s, n_draws=200, seed=0)
    assert not sim.summary.isna().any().any()
    assert sim.summary.loc[0, "incentive_sd"] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------------------
# lower-is-better metrics and logit metrics
# --------------------------------------------------------------------------------------
def test_lower_is_better_curve_linear_model() -> None:
    # response time x = 10 - effort; pays 0.5 per second below 10 s: e* = 0.5, pay 0.25
    s = build(
        metrics={"x": {"unit": "s", "scope": "individual", "direction": "lower"}},
        means={"x": {"intercept": 10.0, "loadings": {"a.effort": -1.0}}},
        depts={"a": dept(components={"c": {"metric": "x", "weight": 1.0, "threshold": 10.0,
                                           "target": 9.0, "floor": "extend"}})},
    )  # fmt: skip
    sol = cm.solve(s)
    assert sol.levers["a.effort"] == pytest.approx(0.5, rel=1e-8)
    assert sol.metrics["x"] == pytest.approx(9.5, rel=1e-9)
    assert sol.departments["a"].incentive_mean == pytest.approx(0.25, rel=1e-8)
    assert sol.departments["a"].incentive_variance == pytest.approx(0.25, rel=1e-9)


@pytest.mark.parametrize(("mean", "sd"), [(6.0, 0.5), (0.0, 8.0), (6.0, 3.0), (12.0, 3.0)])
def test_logit_extreme_latent_means(mean: float, sd: float) -> None:
    # expected share and pay moments must match direct quadrature of expit(N(mu, sd^2)),
    # and the lever must be a local maximum of the perceived CE
    s = build(
        metrics={"x": {"unit": "share", "scope": "department", "scale": "logit"}},
        means={"x": {"intercept": mean, "loadings": {"a.effort": 0.1}}},
        forecast={"x": {"sd": sd}},
        depts={"a": dept(risk_aversion=1.0, components={"c": {
            "metric": "x", "weight": 1.0, "threshold": 0.5, "target": 1.0, "floor": "extend"}})},
    )  # fmt: skip
    sol = cm.solve(s)
    assert_finite_frame(sol)
    e = sol.levers["a.effort"]
    mu = mean + 0.1 * e

    def moment(k: int) -> float:
        return integrate.quad(
            lambda z: special.expit(mu + sd * z) ** k * stats.norm.pdf(z), -40, 40, limit=500
        )[0]

    m1, m2 = moment(1), moment(2)
    assert sol.metrics["x"] == pytest.approx(m1, rel=1e-9)
    a = sol.departments["a"]
    assert a.incentive_mean == pytest.approx(m1 - 0.5, rel=1e-7, abs=1e-12)
    assert a.incentive_variance == pytest.approx(m2 - m1**2, rel=1e-6, abs=1e-14)
    best = perceived(s, {"a.effort": e}, "a")
    for x in (e * 1.01 + 1e-6, max(e * 0.99 - 1e-6, 0.0)):
        assert best >= perceived(s, {"a.effort": x}, "a") - 1e-12


# --------------------------------------------------------------------------------------
# odd departments
# --------------------------------------------------------------------------------------
def test_headcount_zero_department() -> None:
    # nobody in the department: no value, no pay; the representative still responds
    s = build(depts={"a": dept(headcount=0)})
    sol = cm.solve(s)
    assert sol.levers["a.effort"] == pytest.approx(0.5, abs=1e-9)
    assert sol.gross_value == 0.0
    assert sol.compensation_bill == 0.0
    assert sol.total_surplus == 0.0
    # first best adds nothing over no incentive: undefined efficiency (documented)
    assert sol.alignment_efficiency is None
    sim = cm.simulate(s, n_draws=200, seed=0)
    assert not sim.summary.isna().any().any()
    assert sim.profit.notna().all()
    sheet = cm.cost_sheet(s, n_draws=200)
    assert sheet.loc[0, "payout_expected"] == 0.0


def test_department_with_plan_but_no_levers() -> None:
    # b has no levers and is paid on a company metric moved only by a's levers
    s = build(
        metrics={"x": {"unit": "u", "scope": "company"}},
        depts={"a": dept(headcount=2),
               "b": dept(headcount=3, base_pay=2.0, risk_aversion=1.0, market_reference=1.0)},
    )  # fmt: skip
    sol = cm.solve(s)
    # a: LoS = 1/2 with team identification 0 -> e = 0.5 * 0.5 = 0.25
    assert sol.levers["a.effort"] == pytest.approx(0.25, rel=1e-8)
    b = sol.departments["b"]
    assert dict(b.levers) == {}
    assert b.effort_cost == 0.0
    # b's pay: 2 * 0.5 = 1 per unit of x (E x = 0.25, sd 1)
    assert b.incentive_mean == pytest.approx(0.25, rel=1e-8)
    assert b.incentive_variance == pytest.approx(1.0, rel=1e-9)
    assert b.certainty_equivalent == pytest.approx(1.0, abs=1e-9)  # binding
    assert_finite_frame(sol)
    sim = cm.simulate(s, n_draws=4000, seed=3)
    assert not sim.summary.isna().any().any()
    # Monte Carlo bill agrees with the exact bill within 5 standard errors
    tot = sim.summary.set_index("department").loc["total"]
    assert abs(tot["bill_mean"] - sol.compensation_bill) < 5 * tot["incentive_se"]


def test_scenario_without_levers() -> None:
    # a company model with metrics but no levers: everything is trivially at rest
    s = build(levers={}, means={"x": {"intercept": 1.0}})
    sol = cm.solve(s)
    assert dict(sol.levers) == {}
    assert sol.departments["a"].incentive_mean == pytest.approx(0.5, rel=1e-12)
    # nothing to compile: the compiled backend gives the same, without a kernel
    assert cm.solve(s, backend="compiled").departments["a"].incentive_mean == (
        sol.departments["a"].incentive_mean
    )
    assert dict(cm.first_best(s).levers) == {}
    assert cm.evaluate(s, {}).departments["a"].incentive_mean == pytest.approx(0.5)


# --------------------------------------------------------------------------------------
# participation
# --------------------------------------------------------------------------------------
def test_fixed_base_without_market_reference() -> None:
    # no market to compare with: nobody leaves, no turnover cost, CE is computed as is
    s = build(
        settings={"participation": "fixed_base", "turnover_sensitivity": 0.5,
                  "replacement_cost": 0.3},
        depts={"a": {"headcount": 3, "base_pay": 1.0, "target_incentive": 0.5,
                     "risk_aversion": 0.5, "components": copy.deepcopy(LINEAR_COMP)}},
    )  # fmt: skip
    sol = cm.solve(s)
    a = sol.departments["a"]
    assert a.market_reference is None
    assert a.retention == 1.0
    assert sol.turnover_cost == 0.0
    assert a.base_pay == 1.0
    assert a.certainty_equivalent == pytest.approx(
        a.base_pay + a.incentive_mean - a.risk_premium - a.effort_cost, rel=1e-12
    )
    assert_finite_frame(sol)
    wl = cm.winners_losers(s, s, n_draws=200)
    assert not wl["below_market_after"].any()  # no market: nobody is "below" it
    assert not wl["winner"].any()  # same scenario: nobody wins


# --------------------------------------------------------------------------------------
# rosters, seeds, simulate
# --------------------------------------------------------------------------------------
def test_ability_scales_expected_results_in_simulate() -> None:
    # ability 1.2: 20% higher expected results on an individual normal metric, hence
    # 20% higher expected pay under a linear plan with threshold 0
    roster = [{"person": "p1", "base": 1.0, "ability": 1.0},
              {"person": "p2", "base": 1.0, "ability": 1.2}]  # fmt: skip
    d = dept(roster=roster)
    del d["headcount"]
    s = build(means={"x": {"intercept": 10.0, "loadings": {"a.effort": 1.0}}}, depts={"a": d})
    sim = cm.simulate(s, n_draws=2000, seed=1)
    p = sim.people.set_index("person")
    assert p.loc["p2", "expected_payout"] == pytest.approx(1.2 * p.loc["p1", "expected_payout"])
    assert p.loc["p1", "expected_payout"] == pytest.approx(0.5 * 10.5, rel=1e-8)
    # the same base for both: pay differs by the incentive only
    assert p.loc["p2", "expected_pay"] - p.loc["p1", "expected_pay"] == pytest.approx(
        0.2 * 5.25, rel=1e-8
    )


def test_same_seed_same_numbers() -> None:
    s = build(forecast={"x": {"sd": 1.0}}, depts={"a": dept(headcount=3, risk_aversion=0.3)})
    a = cm.simulate(s, n_draws=500, seed=7)
    b = cm.simulate(s, n_draws=500, seed=7)
    c = cm.simulate(s, n_draws=500, seed=8)
    assert a.summary.equals(b.summary)
    assert a.profit.equals(b.profit)
    for k in a.draws:
        np.testing.assert_array_equal(a.draws[k], b.draws[k])
    assert not np.array_equal(a.draws["bill"], c.draws["bill"])
    assert not a.summary.isna().any().any()


def test_simulate_given_solution_matches_solve() -> None:
    s = cm.load_scenario(THEORY / "department_template.toml")
    sol = cm.solve(s)
    sim1 = cm.simulate(s, n_draws=300, seed=2)
    sim2 = cm.simulate(s, n_draws=300, seed=2, solution=sol)
    assert sim1.summary.equals(sim2.summary)


# --------------------------------------------------------------------------------------
# compare, evaluate
# --------------------------------------------------------------------------------------
def test_compare_accepts_solution() -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    sol = cm.solve(s)
    t = cm.compare({"scenario": s, "solution": sol})
    assert list(t.columns) == ["scenario", "solution", "solution - scenario"]
    assert np.allclose(t["solution - scenario"].to_numpy(dtype=float), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "levers",
    [{}, {"a.effort": 0.1, "b.x": 1.0}, {"a.effort": 3.0}, {"a.effort": -0.1},
     {"a.effort": math.nan}, {"a.effort": math.inf}],
)  # fmt: skip
def test_evaluate_bad_levers_raise_scenario_error(levers: dict[str, float]) -> None:
    s = build(levers={"a": {"effort": {"cost": 1.0, "value": 1.0, "lower": 0.0, "upper": 2.0}}})
    with pytest.raises(cm.ScenarioError):
        cm.evaluate(s, levers)


@pytest.mark.parametrize("value", ["abc", None])
def test_evaluate_non_numeric_lever(value: object) -> None:
    s = build()
    with pytest.raises(cm.ScenarioError, match=r"a\.effort"):
        cm.evaluate(s, {"a.effort": value})  # type: ignore[dict-item]


def test_evaluate_out_of_bounds_names_the_lever() -> None:
    s = build(levers={"a": {"effort": {"cost": 1.0, "value": 1.0, "lower": 0.0, "upper": 2.0}}})
    with pytest.raises(cm.ScenarioError, match=r"a\.effort"):
        cm.evaluate(s, {"a.effort": 3.0})


def test_evaluate_at_equilibrium_reproduces_solve() -> None:
    # docs/behaviour.md: evaluate "gives the same figures at levers you choose"
    s = cm.load_scenario(THEORY / "department_template.toml")
    sol = cm.solve(s)
    ev = cm.evaluate(s, dict(sol.levers))
    for f in ("gross_value", "total_surplus", "compensation_bill", "operating_profit"):
        assert getattr(ev, f) == pytest.approx(getattr(sol, f), rel=1e-12, abs=1e-12)
    for d, o in sol.departments.items():
        assert ev.departments[d].certainty_equivalent == pytest.approx(
            o.certainty_equivalent, abs=1e-12
        )


def test_evaluate_reports_alignment_efficiency() -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    sol = cm.solve(s)
    ev = cm.evaluate(s, dict(sol.levers))
    assert ev.alignment_efficiency is not None
    assert ev.alignment_efficiency == pytest.approx(sol.alignment_efficiency, rel=1e-9)


def test_solution_frames_finite_on_theory_samples() -> None:
    # Solution.to_frame() of solve / first_best / no_incentive: no NaN or inf
    for name in ("hm87", "hm91", "baker", "department_template", "holmstrom82", "cap", "quota"):
        s = cm.load_scenario(THEORY / f"{name}.toml")
        for sol in (cm.solve(s), cm.first_best(s)):
            assert_finite_frame(sol)


def test_warm_start_never_changes_selection() -> None:
    q = cm.load_scenario(THEORY / "quota.toml")
    other = cm.solve(q.with_value("departments.rep.components.bonus.quota", 2.0))
    cold = cm.solve(q)
    warm = cm.solve(q, warm_start=other)
    assert warm.levers["rep.effort"] == pytest.approx(cold.levers["rep.effort"], abs=1e-9)


def test_fixed_base_turnover_and_profit_identity() -> None:
    # CE = 1 + 0.25 - 0.125 - 0.125 = 1 against a market of 2: shortfall 50%, so
    # retention 1 - 0.5 * 0.5 = 0.75; turnover 4 * 0.25 * 0.3 * base 1 = 0.3;
    # profit = value - bill - tax on incentive - turnover (docs/behaviour.md)
    s = build(
        settings={
            "participation": "fixed_base",
            "turnover_sensitivity": 0.5,
            "replacement_cost": 0.3,
            "payroll_tax_rate": 0.1,
        },
        depts={"a": dept(headcount=4, risk_aversion=1.0, market_reference=2.0)},
    )
    sol = cm.solve(s)
    a = sol.departments["a"]
    assert a.certainty_equivalent == pytest.approx(1.0, rel=1e-9)
    assert a.retention == pytest.approx(0.75, rel=1e-9)
    assert sol.turnover_cost == pytest.approx(0.3, rel=1e-9)
    expected = sol.gross_value - sol.compensation_bill - 0.1 * 4 * a.incentive_mean - 0.3
    assert sol.operating_profit == pytest.approx(expected, rel=1e-12)
    sim = cm.simulate(s, n_draws=2000, seed=0)
    assert not sim.summary.isna().any().any()
    se = sim.summary.loc[0, "incentive_se"]
    assert abs(sim.profit["mean"] - sol.operating_profit) < 5 * 1.1 * se
