"""Exact CARA: the certainty equivalent ``-(1/r) log E[exp(-r pay)]`` of compmodel.cara.

Oracles: ``scipy.integrate.quad`` (nested for two metrics) of ``exp(-r pay)`` on the raw
pay function (the plan's payout in currency as a function of the metric, evaluated
point by point), shifted by its largest exponent so nothing overflows; Monte Carlo with
10^6 draws at the files' risk aversion; and the identity ``CE = E - (r/2) Var`` for pay
linear in normal noise (Holmström & Milgrom 1987, the LEN model: exact there).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special

import compmodel as cm
from compmodel.cara import log_diff_ndtr, log_mgf, log_ndtr
from compmodel.moments import _gl_rule
from compmodel.pay import PayMoments, person_plan, third_cumulant
from helpers import COMPONENTS as SHAPES
from helpers import one_component

R_FILE = 2e-5  # sales' risk aversion in data/samples/acme.toml, per USD
RISK = (R_FILE, 10 * R_FILE, 30 * R_FILE)

COMPONENTS = {
    name: SHAPES[name]
    for name in ("capped", "stepped", "tiered_marginal", "tiered_retroactive", "lump_sum")
}
TWO_METRICS = {
    "x": {"unit": "units", "scope": "department"},
    "g": {"unit": "share", "scope": "company", "scale": "logit"},
}
TWO_FORECAST = {"x": {"mean": 100.0, "sd": 15.0}, "g": {"mean": 1.2, "sd": 0.5}}
GATED = {**COMPONENTS["capped"], "gate": {"metric": "g", "threshold": 0.8}}
MODIFIER = {
    "metric": "g", "threshold": 0.6, "target": 0.8, "cap": 0.95,
    "payout_at_threshold": 0.5, "payout_at_cap": 1.3,
}  # fmt: skip


def _moments(s: cm.Scenario) -> tuple[PayMoments, np.ndarray]:
    dept = s.departments["team"]
    pp = person_plan(s, dept, dept.base_pay, dept.quota, 1.0)
    return PayMoments.of(pp), pp.mean


def _pay_function(s: cm.Scenario):
    """Pay in currency as a function of the metrics (x, g): the plan's components,
    gate and modifier evaluated point by point."""
    dept = s.departments["team"]
    pp = person_plan(s, dept, dept.base_pay, dept.quota, 1.0)

    def pay(values: dict[int, float]) -> float:
        total = 0.0
        for _, var, poly, gate in pp.components:
            part = float(poly(values[var]))
            if gate is not None:
                part *= float(gate[1](values[gate[0]]))
            total += part
        if pp.modifier is not None:
            total *= float(pp.modifier[1](values[pp.modifier[0]]))
        return total

    return pp, pay


def _axis_points(pp, var: int) -> list[float]:
    """Every breakpoint on metric ``var``, in ``z`` (where the integrand has kinks)."""
    pts: list[float] = []
    polys = [poly for _, v, poly, _ in pp.components if v == var]
    polys += [g[1] for *_, g in pp.components if g is not None and g[0] == var]
    if pp.modifier is not None and pp.modifier[0] == var:
        polys.append(pp.modifier[1])
    mu, sd = pp.mean[var], math.sqrt(pp.cov[var, var])
    for poly in polys:
        for b in poly.breaks:
            if pp.logit[var]:
                if 0 < b < 1:
                    pts.append((special.logit(b) - mu) / sd)
            else:
                pts.append((b - mu) / sd)
    return sorted(p for p in set(pts) if -14 < p < 14)


def _quad_ce(s: cm.Scenario, r: float) -> float:
    """``-(1/r) log E[exp(-r pay)]`` by adaptive quadrature (nested for two metrics)."""
    pp, pay = _pay_function(s)
    n = len(pp.metrics)
    mu, sd = pp.mean, np.sqrt(np.diag(pp.cov))

    def value(var: int, z: float) -> float:
        v = mu[var] + sd[var] * z
        return float(special.expit(v)) if pp.logit[var] else float(v)

    grid = np.linspace(-14, 14, 281)
    if n == 1:
        expo = [-r * pay({0: value(0, z)}) - 0.5 * z * z for z in grid]
    else:
        expo = [
            -r * pay({0: value(0, a), 1: value(1, b)}) - 0.5 * (a * a + b * b)
            for a in grid[::4]
            for b in grid[::4]
        ]
    shift = max(expo)

    def one(f, points):
        edges = [-14.0, *points, 14.0]
        return sum(
            integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=400)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )

    norm = 1.0 / math.sqrt(2.0 * math.pi)
    if n == 1:
        total = one(
            lambda z: math.exp(-r * pay({0: value(0, z)}) - 0.5 * z * z - shift) * norm,
            _axis_points(pp, 0),
        )
    else:
        inner_pts, outer_pts = _axis_points(pp, 0), _axis_points(pp, 1)

        def outer(b: float) -> float:
            gb = value(1, b)
            return one(
                lambda a: (
                    math.exp(-r * pay({0: value(0, a), 1: gb}) - 0.5 * (a * a + b * b) - shift)
                    * norm
                    * norm
                ),
                inner_pts,
            )

        total = one(outer, outer_pts)
    return -(shift + math.log(total)) / r


CASES = [(name, r) for name in COMPONENTS for r in RISK]


@pytest.mark.parametrize(("name", "r"), CASES)
def test_one_metric_plans_against_quadrature(name: str, r: float) -> None:
    """Capped, stepped, tiered (marginal, retroactive) and lump-sum plans: CE to 1e-8."""
    s = one_component(COMPONENTS[name])
    mom, mean = _moments(s)
    ce = mom.certainty(mean, r, "cara")
    assert ce == pytest.approx(_quad_ce(s, r), rel=1e-8)


@pytest.mark.parametrize("r", RISK)
@pytest.mark.parametrize("kind", ["gated", "modified", "share"])
def test_two_metric_plans_against_nested_quadrature(kind: str, r: float) -> None:
    """A gate on a share, a modifier on a share, and a payout on a share next to one on
    a normal metric: CE to 1e-8 against nested adaptive quadrature of the raw pay."""
    if kind == "gated":
        s = one_component(GATED, metrics=TWO_METRICS, forecast=TWO_FORECAST)
    elif kind == "modified":
        s = one_component(
            COMPONENTS["capped"], metrics=TWO_METRICS, forecast=TWO_FORECAST, modifier=MODIFIER
        )
    else:
        on_share = {"metric": "g", "weight": 0.5, "threshold": 0.6, "target": 0.8, "cap": 0.95}
        s = one_component(
            {**COMPONENTS["capped"], "weight": 0.5},
            metrics=TWO_METRICS,
            forecast=TWO_FORECAST,
            extra_components={"s": on_share},
        )
    mom, mean = _moments(s)
    assert mom.cara_arrays is not None
    ce = mom.certainty(mean, r, "cara")
    assert ce == pytest.approx(_quad_ce(s, r), rel=1e-8)
    # the stated error bound is below the allowance, max(1e-6 sd(pay), 0.01)
    _, v = mom(mean)
    assert mom.cara_error(mean, r) <= max(1e-6 * math.sqrt(v), 0.01)


@pytest.mark.parametrize("kind", ["capped", "gated"])
def test_monte_carlo_agrees_at_the_files_risk_aversion(kind: str) -> None:
    """10^6 draws of the metrics: the sample mean of exp(-r pay) within 4 standard
    errors of exp(L)."""
    if kind == "gated":
        s = one_component(GATED, metrics=TWO_METRICS, forecast=TWO_FORECAST)
    else:
        s = one_component(COMPONENTS["capped"])
    mom, mean = _moments(s)
    pp, _ = _pay_function(s)
    rng = np.random.default_rng(20261202)
    draws = {}
    for i in range(len(pp.metrics)):
        v = rng.normal(pp.mean[i], math.sqrt(pp.cov[i, i]), 1_000_000)
        draws[i] = special.expit(v) if pp.logit[i] else v
    pay = np.zeros(1_000_000)
    for _, var, poly, gate in pp.components:
        part = poly(draws[var])
        if gate is not None:
            part = part * gate[1](draws[gate[0]])
        pay += part
    x = np.exp(-R_FILE * pay)
    exact = math.exp(mom.log_mgf(mean, R_FILE)[0])
    assert abs(x.mean() - exact) < 4 * x.std() / 1000.0


def test_linear_pay_on_normal_noise_is_mean_variance_exactly() -> None:
    """LEN (Holmström & Milgrom 1987): for pay a + b X, X ~ N(mu, s^2), the CARA CE is
    E - (r/2) Var; the closed form of one unbroken linear piece says so to rounding."""
    gx, gw = _gl_rule(12)
    a, b, mu, sd = 1_000.0, 150.0, 100.0, 15.0
    for r in (1e-6, 2e-4, 6e-4, 0.05):
        lm, d = log_mgf(np.empty(0), np.array([[a, b]]), False, mu, sd, r, gx, gw)
        assert -lm / r == pytest.approx(a + b * mu - 0.5 * r * b * b * sd * sd, rel=1e-13)
        assert d == pytest.approx(-r * b, rel=1e-13)


def test_log_normal_cdf_in_both_tails() -> None:
    """log Phi against scipy.special.log_ndtr, and differences deep in a tail where
    Phi(b) - Phi(a) would cancel to 0 in floating point."""
    for x in (-60.0, -37.5, -20.0001, -19.99, -5.0, 0.0, 3.0, 6.5, 12.0):
        assert log_ndtr(x) == pytest.approx(special.log_ndtr(x), rel=1e-13, abs=1e-300)
    # Phi(-30) - Phi(-31): both ~1e-198; the difference from the series
    exact = special.log_ndtr(-30.0) + math.log(
        -math.expm1(special.log_ndtr(-31.0) - special.log_ndtr(-30.0))
    )
    assert log_diff_ndtr(-31.0, -30.0) == pytest.approx(exact, rel=1e-12)
    assert log_diff_ndtr(30.0, 31.0) == pytest.approx(exact, rel=1e-12)  # by symmetry
    assert log_diff_ndtr(1.0, 1.0) == -math.inf


def test_gradient_in_the_means_matches_differences() -> None:
    """Stein's identity under the tilted measure, against central differences, on a
    gated plan at risk aversion x30."""
    s = one_component(GATED, metrics=TWO_METRICS, forecast=TWO_FORECAST)
    mom, mean = _moments(s)
    r = RISK[-1]
    _, grad = mom.log_mgf(mean, r)
    for i, h in enumerate((1e-3, 1e-5)):
        up, dn = mean.copy(), mean.copy()
        up[i] += h
        dn[i] -= h
        fd = (mom.log_mgf(up, r)[0] - mom.log_mgf(dn, r)[0]) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6)


def test_mean_variance_stays_an_option() -> None:
    """settings.certainty_equivalent = "mean_variance" gives E - (r/2) Var, and the two
    rules differ on a capped plan at high risk aversion."""
    s = one_component(COMPONENTS["capped"])
    mom, mean = _moments(s)
    e, v = mom(mean)
    r = RISK[-1]
    assert mom.certainty(mean, r, "mean_variance") == pytest.approx(e - 0.5 * r * v, rel=1e-14)
    assert abs(mom.certainty(mean, r, "cara") - (e - 0.5 * r * v)) > 1.0  # USD


def test_the_setting_round_trips_and_is_checked(tmp_path) -> None:
    s = cm.load_scenario("data/samples/acme_today.toml")
    assert s.settings.certainty_equivalent == "cara"
    mv = dataclasses.replace(
        s, settings=dataclasses.replace(s.settings, certainty_equivalent="mean_variance")
    )
    path = tmp_path / "mv.toml"
    cm.save_scenario(mv, path)
    assert cm.load_scenario(path).settings.certainty_equivalent == "mean_variance"
    text = path.read_text().replace('"mean_variance"', '"exact"')
    path.write_text(text)
    with pytest.raises(cm.ScenarioError, match=r"certainty_equivalent.*cara.*mean_variance"):
        cm.load_scenario(path)


def test_correlated_metrics_fall_back_to_mean_variance_and_say_so() -> None:
    """A gate on a metric correlated with the payout's is outside the exact integration:
    the CE is mean-variance there and ``exact_cara`` is false (solve then notes it)."""
    forecast = {**TWO_FORECAST, "correlations": [{"metrics": ["x", "g"], "rho": 0.6}]}
    s = one_component(GATED, metrics=TWO_METRICS, forecast=forecast)
    mom, mean = _moments(s)
    assert mom.cara_arrays is None and not mom.exact_cara
    e, v = mom(mean)
    assert mom.certainty(mean, 6e-4, "cara") == pytest.approx(e - 3e-4 * v, rel=1e-14)


def test_third_cumulant_against_monte_carlo() -> None:
    """kappa_3 of a gated plan on correlated metrics by joint integration, against 2e6
    draws (within 4 standard errors): the estimate solve reports for mean-variance."""
    forecast = {**TWO_FORECAST, "correlations": [{"metrics": ["x", "g"], "rho": 0.6}]}
    s = one_component(GATED, metrics=TWO_METRICS, forecast=forecast)
    pp, _ = _pay_function(s)
    rng = np.random.default_rng(7)
    z = rng.multivariate_normal(pp.mean, pp.cov, 2_000_000)
    x = {i: special.expit(z[:, i]) if pp.logit[i] else z[:, i] for i in range(2)}
    pay = np.zeros(len(z))
    for _, var, poly, gate in pp.components:
        part = poly(x[var])
        if gate is not None:
            part = part * gate[1](x[gate[0]])
        pay += part
    cubes = (pay - pay.mean()) ** 3
    assert abs(third_cumulant(pp) - cubes.mean()) < 4 * cubes.std() / math.sqrt(len(cubes))


def test_solve_reports_the_mean_variance_fallback_with_its_error() -> None:
    """The department template (own and company metrics correlated) with a cap on the
    own metric: pay is not normal and its metrics are correlated, so the CE is
    mean-variance; solve says so, with (r^2/6) kappa_3 against the risk premium."""
    s = cm.load_scenario("data/samples/theory/department_template.toml")
    sol = cm.solve(s.with_value("dept.components.own.cap", 1.5))
    (note,) = [n for n in sol.diagnostics.notes if "mean-variance" in n]
    assert "dept" in note and "kappa_3" in note and "of the risk premium" in note
    assert not [n for n in cm.solve(s).diagnostics.notes if "mean-variance" in n]
