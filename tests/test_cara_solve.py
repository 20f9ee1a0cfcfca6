"""Exact CARA in the equilibrium: each department's solved levers are its best response
to the others by brute force on an independent CE, and where mean-variance misleads.

The oracle CE of a department is ``-(1/r) log E[exp(-r pay)]`` by ``scipy.integrate.quad``
on the raw pay function (nested for a gate), at the plan means a person perceives
(``Problem.perceived``: the company model and line of sight, which other tests check);
the best response is a grid over the department's levers (5 points per lever between
its bounds) polished by L-BFGS-B on central differences of that CE. Levers agree to
1e-6 (relative to ``max(1, |lever|)``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

import compmodel as cm
from compmodel.equilibrium.backends import choose_backend
from compmodel.equilibrium.problem import DepartmentProblem, Problem, build_problem
from compmodel.equilibrium.selection import find_equilibrium
from compmodel.equilibrium.steady import at_state, has_dynamics

SAMPLES = ["acme_today", "acme_otif_gate", "acme_aligned", "acme_margin_on_delivery", "distributor"]


def _quad(f, points: list[float]) -> float:
    edges = [-14.0, *sorted(p for p in set(points) if -14.0 < p < 14.0), 14.0]
    return sum(
        integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=400)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )


def _oracle_pay_ce(d: DepartmentProblem, means: np.ndarray) -> float:
    """The CE of a person's incentive pay at these plan means, by quadrature."""
    pp, r = d.plan, d.risk_aversion
    assert pp is not None
    sd = np.sqrt(np.diag(pp.cov))
    if r == 0.0:
        raise AssertionError("the oracle is for r > 0")

    def metric(var: int, z: float) -> float:
        v = means[var] + sd[var] * z
        return float(special.expit(v)) if pp.logit[var] else float(v)

    def kinks(var: int, polys: list) -> list[float]:
        out = []
        for poly in polys:
            for b in poly.breaks:
                if pp.logit[var]:
                    if 0 < b < 1:
                        out.append((special.logit(b) - means[var]) / sd[var])
                else:
                    out.append((b - means[var]) / sd[var])
        return out

    norm = 1.0 / math.sqrt(2.0 * math.pi)
    gated = [c for c in pp.components if c[3] is not None]
    assert pp.modifier is None and len(gated) <= 1
    total_log = 0.0
    by_var: dict[int, list] = {}
    for _, var, poly, gate in pp.components:
        if gate is None:
            by_var.setdefault(var, []).append(poly)
    for var, polys in by_var.items():
        zs = np.linspace(-14, 14, 561)
        expo = [-r * sum(float(p(metric(var, z))) for p in polys) - 0.5 * z * z for z in zs]
        shift = max(expo)
        val = _quad(
            lambda z, var=var, polys=polys, shift=shift: (
                math.exp(-r * sum(float(p(metric(var, z))) for p in polys) - 0.5 * z * z - shift)
                * norm
            ),
            kinks(var, polys),
        )
        total_log += shift + math.log(val)
    for _, var, poly, (gvar, gpoly) in gated:
        # E[exp(-r f(X) 1{G passes})] = P(fail) + E[1{pass}] E[exp(-r f(X))], by nested
        # quadrature of the raw product over (X, G)
        zs = np.linspace(-14, 14, 141)
        shift = max(-r * float(poly(metric(var, z))) - 0.5 * z * z for z in zs)

        inner: dict[float, float] = {}  # the inner integral per value of the gate

        def outer(b: float, var=var, poly=poly, gvar=gvar, gpoly=gpoly, shift=shift) -> float:
            gate_value = float(gpoly(metric(gvar, b)))
            if gate_value not in inner:
                inner[gate_value] = _quad(
                    lambda a: (
                        math.exp(
                            -r * float(poly(metric(var, a))) * gate_value - 0.5 * a * a - shift
                        )
                        * norm
                    ),
                    kinks(var, [poly]),
                )
            return inner[gate_value] * math.exp(-0.5 * b * b) * norm

        val = _quad(outer, kinks(gvar, [gpoly]))
        total_log += shift + math.log(val)
    return -total_log / r


def _best_response(problem: Problem, d: DepartmentProblem, t: np.ndarray) -> np.ndarray:
    sp = problem.space
    mu0 = problem.model.means(t)
    lo, hi = sp.lower[d.levers], sp.upper[d.levers]

    def ce(x: np.ndarray) -> float:
        t2, means = problem.perceived(d, t, np.clip(x, lo, hi), mu0)
        return _oracle_pay_ce(d, means) - sp.effort_cost(d.name, t2)

    grid = [np.linspace(a, b, 5) for a, b in zip(lo, hi, strict=True)]
    best = max((np.array(p) for p in itertools.product(*grid)), key=ce)
    best = max([best, t[d.levers].copy()], key=ce)

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        g = np.empty(x.size)
        for j in range(x.size):
            h = 1e-5 * max(1.0, abs(x[j]))
            up, dn = x.copy(), x.copy()
            up[j] = min(x[j] + h, hi[j])
            dn[j] = max(x[j] - h, lo[j])
            g[j] = (ce(up) - ce(dn)) / (up[j] - dn[j])
        return -ce(x), -g

    res = optimize.minimize(
        neg, best, jac=True, method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)),
        options={"ftol": 0.0, "gtol": 1e-9, "maxiter": 500},
    )  # fmt: skip
    return np.asarray(res.x)


def _year_problem(s: cm.Scenario, sol: cm.Solution) -> Problem:
    """The problem the solution is an equilibrium of: for a company whose customers carry
    over, the year at the solution's steady customer base (the static problem at the
    model's default state is another year, whose best responses differ)."""
    problem = build_problem(s)
    if has_dynamics(problem):
        (value,) = sol.state.values()
        problem = at_state(problem, value)
    return problem


def _check(s: cm.Scenario, departments: list[str] | None = None) -> None:
    sol = cm.solve(s)
    problem = _year_problem(s, sol)
    t = np.array([sol.levers[n] for n in problem.space.names])
    if has_dynamics(problem):  # the year it was solved at is a steady state
        state = problem.model.state  # type: ignore[attr-defined]
        assert problem.model.next_state(t) == pytest.approx(state, rel=1e-6)  # type: ignore[attr-defined]
    for d in problem.depts:
        if not d.levers.size or d.plan is None or d.risk_aversion == 0.0:
            continue
        if departments is not None and d.name not in departments:
            continue
        x = _best_response(problem, d, t)
        solved = t[d.levers]
        gap = np.abs(x - solved) / np.maximum(1.0, np.abs(solved))
        assert gap.max() <= 1e-6, (
            d.name,
            dict(zip(problem.space.names, t, strict=True)),
            x,
            solved,
        )


def _sales_times(s: cm.Scenario, k: float) -> cm.Scenario:
    return s.with_value("sales.risk_aversion", s.departments["sales"].risk_aversion * k)


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_department_best_responds_at_the_files_risk_aversion(sample: str) -> None:
    _check(cm.load_scenario(f"data/samples/{sample}.toml"))


@pytest.mark.parametrize("sample", SAMPLES)
def test_sales_best_responds_at_ten_times_its_risk_aversion(sample: str) -> None:
    s = _sales_times(cm.load_scenario(f"data/samples/{sample}.toml"), 10.0)
    _check(s, ["sales"])


@pytest.mark.parametrize("k", [1.0, 3.0, 10.0, 30.0])
def test_sweep_of_sales_risk_aversion_on_todays_plans(k: float) -> None:
    """At every risk aversion from x1 to x30, sales' levers under CARA are its best
    response by the oracle."""
    _check(_sales_times(cm.load_scenario("data/samples/acme_today.toml"), k), ["sales"])


def _overpromise(s: cm.Scenario, k: float, rule: str, state: float | None = None) -> float:
    """Sales' over-promising at ``k`` times its risk aversion under ``rule``: at the steady
    state ``cm.solve`` finds, or (``state``) in the year with that customer base."""
    sk = _sales_times(s, k)
    sk = dataclasses.replace(
        sk, settings=dataclasses.replace(sk.settings, certainty_equivalent=rule)
    )
    if state is None:
        return cm.solve(sk).levers["sales.overpromise"]
    p = at_state(build_problem(sk), state)
    t, _, _ = find_equilibrium(
        p, choose_backend(p, "auto"), None, 1e-8, 200, follow=False, failed=str
    )
    return float(t[p.space.names.index("sales.overpromise")])


def test_where_mean_variance_points_the_wrong_way() -> None:
    """Today's plans (a capped bookings commission): from x3 to x10 sales' risk aversion,
    mean-variance has over-promising *rise*, exact CARA has it fall, as a risk-averse
    person's should when the cap truncates the upside (docs/behaviour.md gives the table).

    Since customers carry over (issue 20) each figure is a steady state, and the rise
    under mean-variance is much smaller there than the 0.214 -> 0.241 of the static
    model: today's plans keep a customer base of about 34.2M, well below the 39.7M of no
    incentive (the model's default state), so bookings sit further below the cap (a
    rep's expected bookings at today's levers 2.05M against 2.28M; cap 3M, sd 0.40M)
    and there is less truncated upside for mean-variance to mis-charge. At the steady states
    over-promising goes 0.2019 -> 0.2059 under mean-variance (a rise of 0.0040, far
    above the solver's 1e-8) and 0.1926 -> 0.1382 under CARA. In the year with the no
    incentive customer base, where the cap bites harder, the old margin still holds:
    mean-variance 0.228 -> 0.277, CARA 0.215 -> 0.153."""
    s = cm.load_scenario("data/samples/acme_today.toml")
    mv = [_overpromise(s, k, "mean_variance") for k in (3.0, 10.0)]
    cara = [_overpromise(s, k, "cara") for k in (3.0, 10.0)]
    assert mv[1] > mv[0] + 0.002
    assert cara[1] < cara[0] - 0.05
    assert mv == pytest.approx([0.2019, 0.2059], abs=5e-4)
    assert cara == pytest.approx([0.1926, 0.1382], abs=5e-4)
    # the same year at the customer base of no incentive: the cap binds harder
    rest = build_problem(s).model.state  # type: ignore[attr-defined]
    mv = [_overpromise(s, k, "mean_variance", rest) for k in (3.0, 10.0)]
    cara = [_overpromise(s, k, "cara", rest) for k in (3.0, 10.0)]
    assert mv[1] > mv[0] + 0.02
    assert cara[1] < cara[0] - 0.05
