"""Behaviour against contract theory (docs/behaviour.md, "Checked against contract theory"), through the public API.

Every case is a TOML file under data/samples/theory/, loaded as a user would, with the
commission set through parameter paths. Tolerances: 1e-6 relative, 1e-9 absolute at zero.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import compmodel as cm

THEORY = Path(__file__).resolve().parents[1] / "data" / "samples" / "theory"
REL = 1e-6


def load(name: str) -> cm.Scenario:
    return cm.load_scenario(THEORY / f"{name}.toml")


def maximise_profit(s: cm.Scenario, path: str, lo: float, hi: float) -> float:
    """The commission at `path` that maximises operating profit, from a grid over it.

    In the linear-normal case profit is exactly quadratic in the commission (levers are
    linear in it), so the vertex of a least-squares parabola through a 9-point grid is
    the optimum; the fit's residuals confirm the quadratic shape.
    """
    grid = np.linspace(lo, hi, 9)
    profit = np.array([cm.solve(s.with_value(path, float(b))).operating_profit for b in grid])
    coef = np.polyfit(grid, profit, 2)
    residual = profit - np.polyval(coef, grid)
    assert np.max(np.abs(residual)) < 1e-9 * max(1.0, np.max(np.abs(profit)))
    assert coef[0] < 0  # a maximum
    return float(-coef[1] / (2 * coef[0]))


# --------------------------------------------------------------------------------------
# Holmström & Milgrom (1987): r = 0.7, c = 1.3, sigma^2 = 1.9, p = 1
# --------------------------------------------------------------------------------------
R, C, S2, P = 0.7, 1.3, 1.9, 1.0


@pytest.mark.parametrize("beta", [0.0, 0.2, 0.3664, 0.9])
def test_hm87_agent_side(beta: float) -> None:
    s = load("hm87").with_value("agent.target_incentive", beta)
    sol = cm.solve(s)
    e = beta / C
    agent = sol.departments["agent"]
    assert sol.levers["agent.effort"] == pytest.approx(e, rel=REL, abs=1e-9)
    assert agent.risk_premium == pytest.approx(R / 2 * beta**2 * S2, rel=REL, abs=1e-12)
    assert agent.effort_cost == pytest.approx(C * e**2 / 2, rel=REL, abs=1e-12)
    assert agent.certainty_equivalent == pytest.approx(0.0, abs=1e-9)  # binding
    ts = P * e - C * e**2 / 2 - R / 2 * beta**2 * S2
    assert sol.total_surplus == pytest.approx(ts, rel=REL, abs=1e-12)
    assert sol.alignment_efficiency == pytest.approx(ts / (P**2 / (2 * C)), rel=REL, abs=1e-9)


def test_hm87_optimal_commission_and_efficiency_under_binding_participation() -> None:
    """beta* = p / (1 + r c sigma^2) = 0.3664, e* = 0.2819 (Holmström & Milgrom 1987; docs/behaviour.md)."""
    s = load("hm87")
    beta_star = maximise_profit(s, "agent.target_incentive", 0.0, 1.0)
    closed = P / (1 + R * C * S2)
    assert closed == pytest.approx(0.3664, abs=5e-5)
    assert beta_star == pytest.approx(closed, rel=REL)
    sol = cm.solve(s.with_value("agent.target_incentive", closed))
    assert sol.levers["agent.effort"] == pytest.approx(0.2819, abs=5e-5)
    assert sol.alignment_efficiency == pytest.approx(1 / (1 + R * C * S2), rel=REL)


@pytest.mark.parametrize("r", [0.0, 0.7, 2.0])
def test_hm87_fixed_base_pays_half_the_value(r: float) -> None:
    """With base pay held fixed the company keeps p e - beta e: beta = p/2 for any r."""
    doc = load("hm87").to_dict()
    doc["settings"]["participation"] = "fixed_base"
    doc["departments"]["agent"]["risk_aversion"] = r
    s = cm.scenario_from_dict(doc)
    assert maximise_profit(s, "agent.target_incentive", 0.0, 1.0) == pytest.approx(P / 2, rel=REL)


def test_hm87_redeclared_as_a_function_gives_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    doc = load("hm87").to_dict()
    doc["company"]["kind"] = "declared"
    doc["company"]["model"] = "declared_models:hm87"
    doc["company"]["coefficients"] = {"p": {"value": 1.0, "unit": "USD per effort unit"}}
    del doc["company"]["means"]
    declared = cm.scenario_from_dict(doc, trust_code=True)
    for beta in (0.2, 0.3664):
        a = cm.solve(load("hm87").with_value("agent.target_incentive", beta))
        b = cm.solve(declared.with_value("agent.target_incentive", beta))
        assert b.levers["agent.effort"] == pytest.approx(a.levers["agent.effort"], rel=REL)
        assert b.total_surplus == pytest.approx(a.total_surplus, rel=REL)
        assert b.operating_profit == pytest.approx(a.operating_profit, rel=REL)


# --------------------------------------------------------------------------------------
# Holmström & Milgrom (1991): multitask
# --------------------------------------------------------------------------------------
def test_hm91_agent_side_levers_are_rest_plus_inverse_cost_times_commissions() -> None:
    s = load("hm91")
    cmat = np.array([[2.0, 0.6], [0.6, 1.5]])
    for b1, b2 in [(0.5, 0.5), (0.2, 0.7), (0.9, 0.1)]:
        # beta_i = weight_i / target_i with TI 1 and base 1: set targets
        t = s.with_values(
            {"agent.curves.quality.target": 0.5 / b1, "agent.curves.speed.target": 0.5 / b2}
        )
        sol = cm.solve(t)
        expected = np.linalg.solve(cmat, [b1, b2])
        got = [sol.levers["agent.quality"], sol.levers["agent.speed"]]
        np.testing.assert_allclose(got, expected, rtol=REL)
        rp = 0.8 / 2 * (b1**2 * 1.0 + b2**2 * 0.25)
        assert sol.departments["agent"].risk_premium == pytest.approx(rp, rel=REL)


def test_hm91_optimal_commissions_are_a_maximum_of_profit() -> None:
    """beta* = (I + r C Sigma)^-1 b: profit falls when either commission moves."""
    cmat = np.array([[2.0, 0.6], [0.6, 1.5]])
    sigma = np.diag([1.0, 0.25])
    beta = np.linalg.solve(np.eye(2) + 0.8 * cmat @ sigma, [1.0, 0.8])
    s = load("hm91")

    def profit(b1: float, b2: float) -> float:
        t = s.with_values(
            {"agent.curves.quality.target": 0.5 / b1, "agent.curves.speed.target": 0.5 / b2}
        )
        return cm.solve(t).operating_profit

    best = profit(*beta)
    t_star = np.linalg.solve(cmat, beta)
    ts = np.dot([1.0, 0.8], t_star) - t_star @ cmat @ t_star / 2 - 0.8 / 2 * beta @ sigma @ beta
    assert best == pytest.approx(ts, rel=REL)
    h = 1e-3
    for db in ([h, 0], [-h, 0], [0, h], [0, -h]):
        assert profit(*(beta + db)) < best


def test_hm91_unmeasured_task_mutes_the_measured_commission() -> None:
    """beta1* = (b1 - b2 C12/C22) / (1 + r s1^2 (C11 - C12^2/C22))."""
    s = load("hm91_unmeasured")
    closed = (1.0 - 0.8 * 0.6 / 1.5) / (1 + 0.8 * 1.0 * (2.0 - 0.36 / 1.5))
    found = maximise_profit(s, "agent.target_incentive", 0.0, 1.0)
    assert found == pytest.approx(closed, rel=REL)
    # the agent also moves the unmeasured task, against it (substitutes)
    sol = cm.solve(s.with_value("agent.target_incentive", closed))
    dt = np.linalg.solve([[2.0, 0.6], [0.6, 1.5]], [closed, 0.0])
    assert sol.levers["agent.unmeasured"] == pytest.approx(1.0 + dt[1], rel=REL)
    assert sol.levers["agent.unmeasured"] < 1.0


def test_hm91_unmeasured_task_can_make_the_commission_exactly_zero() -> None:
    """b1 = b2 C12 / C22 -> beta1* = 0: a corner, not a small number."""
    s = load("hm91_unmeasured").with_value("company.levers.agent.measured.value", 0.8 * 0.6 / 1.5)
    # profit is maximised at the lower bound 0 of the search
    found = maximise_profit(s, "agent.target_incentive", 0.0, 1.0)
    assert found == pytest.approx(0.0, abs=1e-6)
    p0 = cm.solve(s.with_value("agent.target_incentive", 0.0)).operating_profit
    p1 = cm.solve(s.with_value("agent.target_incentive", 1e-3)).operating_profit
    assert p1 < p0


# --------------------------------------------------------------------------------------
# Baker (1992, 2002)
# --------------------------------------------------------------------------------------
F = np.array([1.0, 0.5])
G = np.array([0.6, 1.2])


def test_baker_distorted_measure() -> None:
    s = load("baker")
    r, sig2 = 1.5, 0.81
    closed = F @ G / (G @ G + r * sig2)
    found = maximise_profit(s, "agent.target_incentive", 0.0, 2.0)
    assert found == pytest.approx(closed, rel=REL)
    sol = cm.solve(s.with_value("agent.target_incentive", closed))
    np.testing.assert_allclose([sol.levers["agent.a"], sol.levers["agent.b"]], G * closed, rtol=REL)
    cos2 = (F @ G) ** 2 / ((F @ F) * (G @ G))
    eff = cos2 * (G @ G) / (G @ G + r * sig2)
    assert sol.alignment_efficiency == pytest.approx(eff, rel=REL)


def test_baker_measure_orthogonal_to_value_gets_zero_weight() -> None:
    s = load("baker").with_values(
        {
            "company.means.measure.loadings.agent.a": 0.5,
            "company.means.measure.loadings.agent.b": -1.0,  # g . f = 0
        }
    )
    assert maximise_profit(s, "agent.target_incentive", 0.0, 1.0) == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------
# the department template
# --------------------------------------------------------------------------------------
def test_department_template_commissions() -> None:
    """beta_X = k^2 / (k^2 + r (sX^2 - sy^2)); beta_y = 1/(1 + r sy^2) - beta_X."""
    k, r, sy, sx = 0.7, 1.0, 0.5, 1.3
    beta_x = k**2 / (k**2 + r * (sx**2 - sy**2))
    beta_y = 1 / (1 + r * sy**2) - beta_x
    s = load("department_template")

    def scenario(by: float, bx: float) -> cm.Scenario:
        return s.with_values(
            {"dept.curves.own.target": 0.5 / by, "dept.curves.company.target": 0.5 / bx}
        )

    sol = cm.solve(scenario(beta_y, beta_x))
    # agent side: e = beta_y + beta_X (both metrics load on e), h = k beta_X
    assert sol.levers["dept.effort"] == pytest.approx(beta_y + beta_x, rel=REL)
    assert sol.levers["dept.help"] == pytest.approx(k * beta_x, rel=REL)
    best = sol.operating_profit
    h = 1e-3
    for dy, dx in ((h, 0), (-h, 0), (0, h), (0, -h)):
        assert cm.solve(scenario(beta_y + dy, beta_x + dx)).operating_profit < best
    assert s.shared_share("dept") == pytest.approx(0.5)


# --------------------------------------------------------------------------------------
# Holmström (1982): teams and line of sight
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 4, 10])
def test_team_effort_falls_as_one_over_n_and_welfare_as_2n_minus_1_over_n2(n: int) -> None:
    s = load("holmstrom82").with_value("team.headcount", n)
    sol = cm.solve(s)
    theta, c = 3.0, 2.0
    assert sol.levers["team.effort"] == pytest.approx(theta / (n * c), rel=REL)
    assert sol.alignment_efficiency == pytest.approx((2 * n - 1) / n**2, rel=REL)


def test_team_identification_restores_the_first_best() -> None:
    s = load("holmstrom82").with_value("team.team_identification", 1.0)
    sol = cm.solve(s)
    assert sol.levers["team.effort"] == pytest.approx(3.0 / 2.0, rel=REL)
    assert sol.alignment_efficiency == pytest.approx(1.0, rel=REL)
    half = cm.solve(s.with_value("team.team_identification", 0.5))
    los = (1 + 0.5 * 3) / 4
    assert half.levers["team.effort"] == pytest.approx(3.0 * los / 2.0, rel=REL)


# --------------------------------------------------------------------------------------
# non-linear curves at r = 0 (the cap and quota rows of docs/behaviour.md's table)
# --------------------------------------------------------------------------------------
def test_cap_stops_effort_short_of_the_cap() -> None:
    sol = cm.solve(load("cap"))
    e = sol.levers["rep.effort"]
    assert e == pytest.approx(69.69, abs=5e-3)
    # the first-order condition beta Phi((K - e)/s) = c e holds to solver precision
    assert 0.1 * stats.norm.cdf((80 - e) / 20) == pytest.approx(0.001 * e, rel=REL)


@pytest.mark.parametrize(("q", "printed"), [(0, 0.9837), (1, 1.445), (2, 0.5933), (3, 0.01875)])
def test_quota_bonus_effort(q: float, printed: float) -> None:
    sol = cm.solve(load("quota").with_value("rep.curves.bonus.quota", q))
    e = sol.levers["rep.effort"]
    assert e == pytest.approx(printed, rel=5e-4)
    # stationary: B phi((e - q)/s)/s = c e, and the global maximum of CE on a fine grid
    assert stats.norm.pdf(e - q) == pytest.approx(0.25 * e, rel=REL)
    grid = np.linspace(0, 5, 50_001)
    ce = stats.norm.cdf(grid - q) - 0.125 * grid**2
    assert stats.norm.cdf(e - q) - 0.125 * e**2 >= ce.max() - 1e-9


def test_quota_hump_and_collapse() -> None:
    s = load("quota")
    e = {
        q: cm.solve(s.with_value("rep.curves.bonus.quota", q)).levers["rep.effort"]
        for q in (0, 1, 2, 3)
    }
    assert e[0] < e[1] > e[2] > e[3]
    assert e[3] < 0.02 * e[1]  # out of reach: effort collapses


def test_solve_follows_the_expected_curve_not_the_curve_at_the_mean() -> None:
    """Deterministically a quota of 1 gets effort 1 (pay B at e = q); with noise the
    expected payout peaks elsewhere: 1.445, more than 10% away, and solve follows it."""
    sol = cm.solve(load("quota").with_value("rep.curves.bonus.quota", 1.0))
    e = sol.levers["rep.effort"]
    deterministic = 1.0
    assert abs(e - deterministic) / deterministic > 0.10
    assert e == pytest.approx(1.445, rel=5e-4)


# --------------------------------------------------------------------------------------
# limiting cases
# --------------------------------------------------------------------------------------
def test_zero_incentive_gives_the_no_incentive_levers() -> None:
    s = load("hm91_unmeasured").with_value("agent.target_incentive", 0.0)
    sol = cm.solve(s)
    ref = cm.no_incentive(s)
    for k, v in ref.levers.items():
        assert sol.levers[k] == pytest.approx(v, rel=REL, abs=1e-9)
    assert sol.alignment_efficiency == pytest.approx(0.0, abs=1e-9)


def test_risk_neutral_full_line_of_sight_and_measure_equal_to_value_give_first_best() -> None:
    s = load("hm87").with_values({"agent.risk_aversion": 0.0, "agent.target_incentive": 1.0})
    sol = cm.solve(s)
    fb = cm.first_best(s)
    assert sol.levers["agent.effort"] == pytest.approx(fb.levers["agent.effort"], rel=REL)
    assert fb.levers["agent.effort"] == pytest.approx(1 / C, rel=REL)
    assert sol.alignment_efficiency == pytest.approx(1.0, rel=REL)


# --------------------------------------------------------------------------------------
# several departments: a gated shared metric, and two equilibria
# --------------------------------------------------------------------------------------
TWO_DEPTS = """
name = "two departments, gated shared metric"
[settings]
participation = "binding"
[company]
kind = "linear"
[company.levers.sales.effort]
cost = 1.0
value = 1.0
lower = 0.0
upper = 4.0
[company.levers.ops.effort]
cost = 1.5
value = 1.0
lower = 0.0
upper = 4.0
[company.means.bookings]
loadings = { "sales.effort" = 1.0 }
[company.means.otif]
intercept = -0.5
loadings = { "ops.effort" = 1.0, "sales.effort" = -0.3 }
[metrics.bookings]
unit = "units"
[metrics.otif]
unit = "share"
scope = "company"
scale = "logit"
[forecast.bookings]
sd = 0.5
[forecast.otif]
sd = 0.4
[[forecast.correlations]]
metrics = ["bookings", "otif"]
rho = -0.2
[departments.sales]
headcount = 1
base_pay = 1.0
target_incentive = 1.0
risk_aversion = 0.5
market_reference = 0.0
[departments.sales.components.bookings]
metric = "bookings"
weight = 0.7
threshold = 0.0
target = 1.0
cap = 3.0
gate = { metric = "otif", threshold = 0.5 }
[departments.sales.components.otif]
metric = "otif"
weight = 0.3
threshold = 0.4
target = 0.8
cap = 0.95
[departments.ops]
headcount = 1
base_pay = 1.0
target_incentive = 1.0
risk_aversion = 0.5
market_reference = 0.0
[departments.ops.components.otif]
metric = "otif"
weight = 1.0
threshold = 0.4
target = 0.8
cap = 0.95
"""


def _two(tmp_path: Path) -> cm.Scenario:
    (tmp_path / "two.toml").write_text(TWO_DEPTS)
    return cm.load_scenario(tmp_path / "two.toml")


def test_brute_force_grid_confirms_each_best_response(tmp_path: Path) -> None:
    from compmodel.equilibrium.backends import choose_backend
    from compmodel.equilibrium.problem import build_problem

    s = _two(tmp_path)
    sol = cm.solve(s)
    t = sol.lever_vector
    p = build_problem(s)
    b = choose_backend(p, "auto")
    mu0 = p.model.means(t)
    for i, d in enumerate(p.depts):
        grid = np.linspace(0.0, 4.0, 401)
        values = [b.perceived_ce(d, t, np.array([x]), mu0) for x in grid]
        best = grid[int(np.argmax(values))]
        assert t[i] == pytest.approx(best, abs=0.01)
        # and nothing on the grid beats the reported response
        assert b.perceived_ce(d, t, t[d.levers], mu0) >= max(values) - 1e-9


def test_quota_case_with_two_equilibria_reports_both() -> None:
    s = load("coordination")  # data/samples/theory/coordination.toml
    sol = cm.solve(s)
    eqs = sol.diagnostics.equilibria
    assert len(eqs) == 2
    efforts = sorted(e.levers["a.effort"] for e in eqs)
    assert efforts[0] == pytest.approx(0.0, abs=1e-6)
    assert efforts[1] > 1.0
    # the selected one has the highest total surplus, and the note says so
    assert sol.levers["a.effort"] == pytest.approx(efforts[1], rel=REL)
    assert any("2 equilibria" in n for n in sol.diagnostics.notes)
    # a warm start at the other equilibrium never changes the selection
    low = cm.solve(s.with_value("a.curves.bonus.quota", 5.0))
    again = cm.solve(s, warm_start=low)
    assert dict(again.levers) == pytest.approx(dict(sol.levers), rel=REL)
    assert len(again.diagnostics.equilibria) == 2


def test_not_settling_raises_a_numbered_checklist() -> None:
    s = load("hm91")
    with pytest.raises(cm.ConvergenceError, match=r"(?s)1\. .*2\. .*3\. "):
        cm.solve(s, max_sweeps=1, tol=1e-15)


# --------------------------------------------------------------------------------------
# analytic pay moments against simulate
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["plain", "gated", "modified"])
def test_analytic_pay_agrees_with_simulate(tmp_path: Path, variant: str) -> None:
    doc = _two(tmp_path).to_dict()
    sales = doc["departments"]["sales"]
    if variant == "plain":
        del sales["components"]["bookings"]["gate"]
    if variant == "modified":
        sales["modifier"] = {
            "metric": "otif", "threshold": 0.5, "target": 0.8, "cap": 0.95,
            "payout_at_threshold": 0.5, "payout_at_cap": 1.3,
        }  # fmt: skip
    s = cm.scenario_from_dict(doc)
    n = 200_000
    # any levers will do for this check: evaluate() avoids a solve
    sol = cm.evaluate(s, {"sales.effort": 1.2, "ops.effort": 0.9})
    sim = cm.simulate(s, n_draws=n, seed=2, solution=sol)
    for dept, out in sim.solution.departments.items():
        draws = sim.draws[dept]
        se = math.sqrt(out.incentive_variance / n)
        assert abs(draws.mean() - out.incentive_mean) < 4 * se
        centred = draws - draws.mean()
        se_var = math.sqrt(np.mean(centred**4) - np.var(draws) ** 2) / math.sqrt(n)
        assert abs(np.var(draws, ddof=1) - out.incentive_variance) < 4 * se_var


def test_simulate_same_seed_same_numbers(tmp_path: Path) -> None:
    s = _two(tmp_path)
    sol = cm.evaluate(s, {"sales.effort": 1.2, "ops.effort": 0.9})
    a = cm.simulate(s, n_draws=2_000, seed=9, solution=sol)
    b = cm.simulate(s, n_draws=2_000, seed=9, solution=sol)
    c = cm.simulate(s, n_draws=2_000, seed=10, solution=sol)
    assert not np.array_equal(a.draws["bill"], c.draws["bill"])
    np.testing.assert_array_equal(a.draws["bill"], b.draws["bill"])
    assert a.profit["p10"] < a.profit["p50"] < a.profit["p90"]


# --------------------------------------------------------------------------------------
# hypothesis: the rewarded signal rises with its commission
# --------------------------------------------------------------------------------------
@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.floats(0.05, 1.0), st.floats(0.05, 1.0), st.floats(0.0, 0.5))
def test_rewarded_signal_weakly_rises_in_its_commission(b1: float, b2: float, db: float) -> None:
    s = load("hm91")

    def signal(beta1: float) -> float:
        t = s.with_values(
            {"agent.curves.quality.target": 0.5 / beta1, "agent.curves.speed.target": 0.5 / b2}
        )
        return cm.solve(t).metrics["quality_score"]

    assert signal(b1 + db) >= signal(b1) - 1e-9


# --------------------------------------------------------------------------------------
# the general LEN response, several departments: t_d = rest_d + C_d^-1 sum_k LoS_k M_kd beta_k
# --------------------------------------------------------------------------------------
@st.composite
def linear_companies(draw: st.DrawFn) -> tuple[dict, dict]:
    n_depts = draw(st.integers(1, 3))
    depts = [f"d{i}" for i in range(n_depts)]
    metrics = ["m0", "m1", "m2"]
    scopes = {"m0": "individual", "m1": "department", "m2": "company"}
    doc: dict = {
        "name": "random linear company",
        "company": {"kind": "linear", "levers": {}, "means": {}},
        "metrics": {m: {"unit": "u", "scope": scopes[m]} for m in metrics},
        "forecast": {m: {"sd": draw(st.floats(0.1, 2.0))} for m in metrics},
        "departments": {},
    }
    loadings: dict[str, dict[str, float]] = {m: {} for m in metrics}
    for d in depts:
        n_lev = draw(st.integers(1, 2))
        doc["company"]["levers"][d] = {}
        for j in range(n_lev):
            name = f"l{j}"
            doc["company"]["levers"][d][name] = {
                "rest": draw(st.floats(-1.0, 1.0)),
                "cost": draw(st.floats(0.5, 3.0)),
                "value": draw(st.floats(0.0, 2.0)),
            }
            for m in metrics:
                loadings[m][f"{d}.{name}"] = draw(st.floats(-1.0, 1.0))
        weights = np.asarray([draw(st.floats(0.1, 1.0)) for _ in metrics])
        weights = weights / weights.sum()
        comps = {
            m: {"metric": m, "weight": float(w), "threshold": 0.0, "target": 1.0, "floor": "extend"}
            for m, w in zip(metrics, weights, strict=True)
        }
        comps["m2"]["weight"] = 1.0 - comps["m0"]["weight"] - comps["m1"]["weight"]
        doc["departments"][d] = {
            "headcount": draw(st.integers(1, 6)),
            "base_pay": 1.0,
            "target_incentive": draw(st.floats(0.0, 1.5)),
            "risk_aversion": draw(st.floats(0.0, 1.0)),
            "team_identification": draw(st.floats(0.0, 1.0)),
            "market_reference": 0.0,
            "components": comps,
        }
    doc["company"]["means"] = {m: {"loadings": loadings[m]} for m in metrics}
    return doc, scopes


@settings(derandomize=True, max_examples=20, deadline=None)
@given(linear_companies())
def test_len_response_of_every_department(case: tuple[dict, dict]) -> None:
    doc, scopes = case
    s = cm.scenario_from_dict(doc)
    sol = cm.solve(s)
    for d, dd in doc["departments"].items():
        levers = doc["company"]["levers"][d]
        names = list(levers)
        n = dd["headcount"]
        los = {
            m: 1.0 if scopes[m] == "individual" else (1 + dd["team_identification"] * (n - 1)) / n
            for m in scopes
        }
        beta = {m: dd["target_incentive"] * c["weight"] for m, c in dd["components"].items()}
        grad = np.array(
            [
                sum(
                    los[m] * doc["company"]["means"][m]["loadings"][f"{d}.{ln}"] * beta[m]
                    for m in scopes
                )
                for ln in names
            ]
        )
        cmat = np.diag([levers[ln]["cost"] for ln in names])
        expected = np.array([levers[ln]["rest"] for ln in names]) + np.linalg.solve(cmat, grad)
        got = np.array([sol.levers[f"{d}.{ln}"] for ln in names])
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert len(sol.diagnostics.equilibria) == 1


def test_warm_search_follows_the_branch_it_starts_on(tmp_path: Path) -> None:
    """search='warm' is continuation: from the low equilibrium it stays there, says so."""
    s = load("coordination")  # data/samples/theory/coordination.toml
    low = cm.solve(s.with_value("a.curves.bonus.quota", 5.0))
    assert low.levers["a.effort"] == pytest.approx(0.0, abs=1e-6)
    warm = cm.solve(s, warm_start=low, search="warm")
    assert warm.levers["a.effort"] == pytest.approx(0.0, abs=1e-6)
    assert warm.diagnostics.search == "warm"
    assert len(warm.diagnostics.equilibria) == 1
    assert any("search='all'" in n for n in warm.diagnostics.notes)
    # the full search finds the better one
    assert cm.solve(s, warm_start=low).levers["a.effort"] > 1.0


def test_warm_search_reaches_the_closed_form() -> None:
    s = load("hm87")
    start = cm.solve(s.with_value("agent.target_incentive", 0.3))
    warm = cm.solve(s, warm_start=start, search="warm")
    assert warm.levers["agent.effort"] == pytest.approx(0.3664 / 1.3, rel=REL)
    assert warm.alignment_efficiency == pytest.approx(cm.solve(s).alignment_efficiency, rel=REL)
    assert warm.diagnostics.first_best is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"search": "warm"}, "search='warm' follows a previous solution"),
        ({"search": "fast"}, "allowed: 'all'"),
    ],
)
def test_bad_search_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(cm.ScenarioError, match=message):
        cm.solve(load("hm87"), **kwargs)
