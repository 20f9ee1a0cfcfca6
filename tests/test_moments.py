"""Exact pay moments against independent adaptive quadrature and against Monte Carlo.

Oracles: scipy.integrate.quad (adaptive Gauss-Kronrod, a different method from the
library's closed forms and Gauss-Legendre rules) at tolerances far below 1e-10, and a
1,000,000-draw simulation through the public `commission_budget`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

import compmodel as cm
from compmodel.moments import (
    PiecewisePoly,
    logit_expectation,
    logit_expectations_with_score,
    normal_expectation,
    normal_expectations_with_score,
)
from helpers import BASE, COMPONENTS, TI, one_component

TARGET_PAYOUT = BASE * TI
MU, SD = 100.0, 15.0


def _scenario(name: str) -> cm.Scenario:
    comp = COMPONENTS[name]
    if name == "lower_is_better":
        return one_component(
            comp,
            metrics={"y": {"unit": "hours", "direction": "lower"}},
            forecast={"y": {"mean": 21.0, "sd": 5.0}},
        )
    return one_component(comp)


def _money_function(name: str):
    s = _scenario(name)
    dept = s.departments["team"]
    comp = dept.plan.components["c"]
    direction = s.metrics[comp.metric].direction
    poly = comp.money_poly(direction, TARGET_PAYOUT)
    return poly, s


def _quad_moments(f, mu, sd, breaks):
    """E[f(X)] and E[f(X)^2] by adaptive quadrature split at the breaks."""
    edges = [-np.inf, *sorted(b for b in breaks), np.inf]

    def integrate_power(k):
        total = 0.0
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            val, _ = integrate.quad(
                lambda x: f(x) ** k * stats.norm.pdf(x, mu, sd),
                a, b, epsabs=1e-13, epsrel=1e-13, limit=500,
            )  # fmt: skip
            total += val
        return total

    m1 = integrate_power(1)
    m2 = integrate_power(2)
    return m1, m2 - m1 * m1


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_closed_form_matches_adaptive_quadrature(name: str) -> None:
    poly, s = _money_function(name)
    fc = s.forecast.metrics[next(iter(s.forecast.metrics))]
    q_mean, q_var = _quad_moments(lambda x: float(poly(x)), fc.mean, fc.sd, poly.breaks)
    b = cm.commission_budget(s, n_draws=200, seed=0)
    mean = b.components.loc[0, "expected"]
    var = b.covariances["team"].loc["c", "c"]
    assert mean == pytest.approx(q_mean, rel=1e-10)
    assert var == pytest.approx(q_var, rel=1e-10)
    assert b.diagnostics.methods == ("closed form",)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_closed_form_matches_monte_carlo(name: str) -> None:
    s = _scenario(name)
    n = 1_000_000
    b = cm.commission_budget(s, n_draws=n, seed=1)
    exact = b.components.loc[0, "expected"]
    sd = b.components.loc[0, "sd_per_person"]
    draws = b.draws["team"]
    assert abs(draws.mean() - exact) < 4 * sd / math.sqrt(n)
    # the variance too: standard error of a sample variance ~ sqrt(mu4 - sigma^4)/sqrt(n)
    centred = draws - draws.mean()
    se_var = math.sqrt(np.mean(centred**4) - np.var(draws) ** 2) / math.sqrt(n)
    assert abs(np.var(draws, ddof=1) - sd**2) < 4 * se_var


# --------------------------------------------------------------------------------------
# gates and modifiers: two- and three-dimensional integrals
# --------------------------------------------------------------------------------------
GATED_METRICS = {
    "x": {"unit": "units", "scope": "department"},
    "g": {"unit": "units", "scope": "company"},
}
GATED_FORECAST = {
    "x": {"mean": MU, "sd": SD},
    "g": {"mean": 50.0, "sd": 10.0},
    "correlations": [{"metrics": ["x", "g"], "rho": 0.6}],
}
GATED = {
    "metric": "x", "weight": 1.0, "threshold": 80.0, "target": 100.0, "cap": 120.0,
    "payout_at_cap": 2.0, "gate": {"metric": "g", "threshold": 45.0},
}  # fmt: skip
MODIFIER = {
    "metric": "g", "threshold": 30.0, "target": 50.0, "cap": 70.0,
    "payout_at_threshold": 0.5, "payout_at_cap": 1.5,
}  # fmt: skip


def _gated_reference() -> tuple[float, float]:
    """E and Var of f(X) 1{G >= 45} by outer adaptive quadrature over X.

    Given X = x, G is normal with mean 50 + 0.6*10*(x-100)/15 and sd 10*sqrt(1-0.36),
    so P(G >= 45 | x) is a normal tail: the integrand is f(x)^k P(G >= 45 | x) phi(x).
    """
    s = one_component(GATED, metrics=GATED_METRICS, forecast=GATED_FORECAST)
    poly = s.departments["team"].plan.components["c"].money_poly("higher", TARGET_PAYOUT)
    rho, sg = 0.6, 10.0

    def p_gate(x):
        m = 50.0 + rho * sg * (x - MU) / SD
        return stats.norm.sf(45.0, m, sg * math.sqrt(1 - rho**2))

    out = []
    for k in (1, 2):
        total = 0.0
        edges = [-np.inf, 80.0, 100.0, 120.0, np.inf]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            total += integrate.quad(
                lambda x: float(poly(x)) ** k * p_gate(x) * stats.norm.pdf(x, MU, SD),
                a, b, epsabs=1e-12, epsrel=1e-13, limit=500,
            )[0]  # fmt: skip
        out.append(total)
    return out[0], out[1] - out[0] ** 2


def test_gated_component_matches_quadrature_and_reports_bound() -> None:
    s = one_component(GATED, metrics=GATED_METRICS, forecast=GATED_FORECAST)
    b = cm.commission_budget(s, n_draws=200, seed=0)
    mean, var = _gated_reference()
    assert b.components.loc[0, "expected"] == pytest.approx(mean, rel=1e-10)
    assert b.covariances["team"].loc["c", "c"] == pytest.approx(var, rel=1e-10)
    assert "quadrature" in b.diagnostics.methods
    assert b.diagnostics.max_error_bound < 1e-6 * mean


def _modified_reference() -> tuple[float, float]:
    """E and Var of m(G) f(X) by nested adaptive quadrature (outer G, inner X | G)."""
    s = one_component(
        COMPONENTS["capped"], metrics=GATED_METRICS, forecast=GATED_FORECAST, modifier=MODIFIER
    )
    poly = s.departments["team"].plan.components["c"].money_poly("higher", TARGET_PAYOUT)
    mod = s.departments["team"].plan.modifier.curve.to_poly()
    rho, sg = 0.6, 10.0
    sd_x = SD * math.sqrt(1 - rho**2)

    def inner(g, k):
        m = MU + rho * SD * (g - 50.0) / sg
        total = 0.0
        edges = [-np.inf, 80.0, 100.0, 115.0, np.inf]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            total += integrate.quad(
                lambda x: float(poly(x)) ** k * stats.norm.pdf(x, m, sd_x),
                a, b, epsabs=1e-12, epsrel=1e-12,
            )[0]  # fmt: skip
        return total

    out = []
    for k in (1, 2):
        total = 0.0
        edges = [-np.inf, 30.0, 50.0, 70.0, np.inf]
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            total += integrate.quad(
                lambda g: float(mod(g)) ** k * inner(g, k) * stats.norm.pdf(g, 50.0, sg),
                a, b, epsabs=1e-11, epsrel=1e-12,
            )[0]  # fmt: skip
        out.append(total)
    return out[0], out[1] - out[0] ** 2


def test_modified_component_matches_nested_quadrature() -> None:
    s = one_component(
        COMPONENTS["capped"], metrics=GATED_METRICS, forecast=GATED_FORECAST, modifier=MODIFIER
    )
    b = cm.commission_budget(s, n_draws=200, seed=0)
    mean, var = _modified_reference()
    assert b.components.loc[0, "expected"] == pytest.approx(mean, rel=1e-10)
    assert b.covariances["team"].loc["c", "c"] == pytest.approx(var, rel=1e-9)


def test_gate_plus_modifier_three_dimensional_against_monte_carlo() -> None:
    """Gate on g, modifier on h, component on x: a 3-D integral; checked by simulation."""
    metrics = {**GATED_METRICS, "h": {"unit": "USD", "scope": "company"}}
    forecast = {
        **GATED_FORECAST,
        "h": {"mean": 9.0, "sd": 2.0},
        "correlations": [
            {"metrics": ["x", "g"], "rho": 0.6},
            {"metrics": ["x", "h"], "rho": 0.3},
            {"metrics": ["g", "h"], "rho": 0.5},
        ],
    }
    modifier = {
        "metric": "h", "threshold": 6.0, "target": 9.0, "cap": 12.0,
        "payout_at_threshold": 0.5, "payout_at_cap": 1.5,
    }  # fmt: skip
    s = one_component(GATED, metrics=metrics, forecast=forecast, modifier=modifier)
    n = 1_000_000
    b = cm.commission_budget(s, n_draws=n, seed=3)
    exact = b.components.loc[0, "expected"]
    sd = b.components.loc[0, "sd_per_person"]
    assert abs(b.draws["team"].mean() - exact) < 4 * sd / math.sqrt(n)
    assert abs(b.draws["team"].std(ddof=1) - sd) < 4 * sd / math.sqrt(2 * n) * 1.5
    assert b.diagnostics.max_error_bound < 1e-6 * exact


def test_covariance_between_components_on_correlated_metrics() -> None:
    s = one_component(
        COMPONENTS["capped"] | {"weight": 0.6},
        metrics=GATED_METRICS,
        forecast=GATED_FORECAST,
        extra_components={
            "d": {"metric": "g", "weight": 0.4, "threshold": 40.0, "target": 50.0, "cap": 65.0}
        },
    )
    n = 400_000
    b = cm.commission_budget(s, n_draws=n, seed=5)
    cov = b.covariances["team"]
    assert cov.loc["c", "d"] > 0  # positively correlated metrics
    # the bill's simulated variance agrees with the sum of the covariance matrix
    total_var = float(cov.to_numpy().sum())
    draws = b.draws["team"]
    centred = draws - draws.mean()
    se_var = math.sqrt(np.mean(centred**4) - np.var(draws) ** 2) / math.sqrt(n)
    assert abs(np.var(draws, ddof=1) - total_var) < 4 * se_var


# --------------------------------------------------------------------------------------
# shares on the logit scale
# --------------------------------------------------------------------------------------
def test_capped_curve_on_otif_share_matches_logistic_normal_quadrature() -> None:
    """A capped OTIF curve, logit mean 1.5 and sd 0.5 (median OTIF 81.8%)."""
    comp = {
        "metric": "otif", "weight": 1.0, "threshold": 0.75, "target": 0.85, "cap": 0.95,
        "payout_at_cap": 1.5,
    }  # fmt: skip
    s = one_component(
        comp,
        metrics={"otif": {"unit": "share", "scope": "company", "scale": "logit"}},
        forecast={"otif": {"mean": 1.5, "sd": 0.5}},
    )
    b = cm.commission_budget(s, n_draws=200, seed=0)
    poly = s.departments["team"].plan.components["c"].money_poly("higher", TARGET_PAYOUT)

    def moment(k):
        total = 0.0
        cuts = [-np.inf, *special.logit([0.75, 0.85, 0.95]), np.inf]
        for a, c in zip(cuts[:-1], cuts[1:], strict=True):
            total += integrate.quad(
                lambda y: float(poly(special.expit(y))) ** k * stats.norm.pdf(y, 1.5, 0.5),
                a, c, epsabs=1e-12, epsrel=1e-13, limit=500,
            )[0]  # fmt: skip
        return total

    m1, m2 = moment(1), moment(2)
    assert b.components.loc[0, "expected"] == pytest.approx(m1, rel=1e-10)
    assert b.covariances["team"].loc["c", "c"] == pytest.approx(m2 - m1 * m1, rel=1e-10)
    # treating the share as Gaussian (same mean and sd of the share) gives another answer
    share_mean, _ = integrate.quad(
        lambda y: special.expit(y) * stats.norm.pdf(y, 1.5, 0.5), -30, 30
    )
    share_m2, _ = integrate.quad(
        lambda y: special.expit(y) ** 2 * stats.norm.pdf(y, 1.5, 0.5), -30, 30
    )
    gaussian = float(normal_expectation(poly, share_mean, math.sqrt(share_m2 - share_mean**2)))
    assert abs(gaussian - m1) / m1 > 0.01


@pytest.mark.parametrize(("mu", "sigma"), [(-2.0, 0.3), (0.0, 1.0), (3.0, 2.5), (1.0, 8.0)])
def test_logit_expectation_accuracy_across_shapes(mu: float, sigma: float) -> None:
    poly = PiecewisePoly.from_pieces([0.2, 0.5, 0.9], [[0.0], [-0.4, 2.0], [0.1, 1.0], [1.0]])
    ref = sum(
        integrate.quad(
            lambda y: float(poly(special.expit(y))) * stats.norm.pdf(y, mu, sigma),
            a, b, epsabs=1e-14, epsrel=1e-13, limit=500,
        )[0]
        for a, b in zip(
            [-np.inf, *special.logit([0.2, 0.5, 0.9])],
            [*special.logit([0.2, 0.5, 0.9]), np.inf],
            strict=True,
        )
    )  # fmt: skip
    assert logit_expectation(poly, mu, sigma) == pytest.approx(ref, rel=1e-10, abs=1e-13)


# --------------------------------------------------------------------------------------
# limiting cases
# --------------------------------------------------------------------------------------
def test_zero_noise_gives_the_curve_at_the_mean() -> None:
    s = one_component(COMPONENTS["capped"], forecast={"x": {"mean": 107.0, "sd": 0.0}})
    b = cm.commission_budget(s, n_draws=200, seed=0)
    # 107 is 7/15 of the way from target (1.0) to cap (1.6): 1.28 x 20,000
    assert b.components.loc[0, "expected"] == pytest.approx(1.28 * TARGET_PAYOUT, rel=1e-12)
    assert b.covariances["team"].loc["c", "c"] == pytest.approx(0.0, abs=1e-9)


def test_linear_curve_without_floor_is_exactly_linear() -> None:
    """E[a + b X] = a + b mu and Var = b^2 sigma^2 for a curve extended both ways."""
    s = one_component(COMPONENTS["linear_extended"])
    b = cm.commission_budget(s, n_draws=200, seed=0)
    slope = TARGET_PAYOUT / 20.0  # 0 at 80, 20,000 at 100
    assert b.components.loc[0, "expected"] == pytest.approx(slope * (MU - 80.0), rel=1e-12)
    assert b.covariances["team"].loc["c", "c"] == pytest.approx(slope**2 * SD**2, rel=1e-12)


# --------------------------------------------------------------------------------------
# the compiled kernels the solver calls, against the formulas they compile
# --------------------------------------------------------------------------------------
#: a random piecewise polynomial: how many breaks, its degree, the seed of its numbers
_SHAPE = {
    "n_breaks": st.integers(min_value=0, max_value=4),
    "degree": st.integers(min_value=0, max_value=3),
    "seed": st.integers(min_value=0, max_value=2**32 - 1),
}


def _spread_breaks(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """``n`` breakpoints in ``[lo, hi]``, evenly spaced then jittered (strictly apart)."""
    step = (hi - lo) / (n + 1)
    return lo + step * (np.arange(1, n + 1) + rng.uniform(-0.4, 0.4, n))


def _numpy_normal(poly: PiecewisePoly, mu: float, sigma: float) -> float:
    """The vectorised closed form (an array of means skips the compiled kernel)."""
    return float(normal_expectation(poly, np.array([mu]), sigma)[0])


@settings(max_examples=150, deadline=None)
@given(
    **_SHAPE,
    mu=st.floats(min_value=-5.0, max_value=5.0),
    sigma=st.floats(min_value=0.05, max_value=4.0),
)
def test_compiled_normal_moments_and_score(
    n_breaks: int, degree: int, mu: float, sigma: float, seed: int
) -> None:
    """Values agree with the vectorised closed form; scores with Stein's identity,
    ``E[p(X) Z] = sigma d/dmu E[p(X)]``, checked by a central difference."""
    rng = np.random.default_rng(seed)
    breaks = _spread_breaks(rng, n_breaks, -4.0, 4.0)
    coefs = rng.normal(size=(2, n_breaks + 1, degree + 1))
    values, scores = normal_expectations_with_score(breaks, coefs, mu, sigma)
    h = 1e-5
    for k in range(2):
        poly = PiecewisePoly(breaks, coefs[k])
        assert values[k] == pytest.approx(_numpy_normal(poly, mu, sigma), abs=1e-12)
        slope = _numpy_normal(poly, mu + h, sigma) - _numpy_normal(poly, mu - h, sigma)
        assert scores[k] == pytest.approx(sigma * slope / (2 * h), rel=1e-6, abs=1e-7)


@settings(max_examples=150, deadline=None)
@given(
    **_SHAPE,
    mu=st.floats(min_value=-4.0, max_value=4.0),
    sigma=st.floats(min_value=0.05, max_value=3.0),
)
def test_compiled_logit_moments_and_score(
    n_breaks: int, degree: int, mu: float, sigma: float, seed: int
) -> None:
    """``E[f]``, ``E[f Z]``, ``E[f^2]``, ``E[f^2 Z]`` of ``f = poly(expit(Y))`` against
    the library's quadrature (values) and a central difference (scores)."""
    rng = np.random.default_rng(seed)
    breaks = _spread_breaks(rng, n_breaks, 0.02, 0.98)
    poly = PiecewisePoly(breaks, rng.normal(size=(n_breaks + 1, degree + 1)))
    ef, efz, ef2, ef2z = logit_expectations_with_score(poly, mu, sigma)
    sq = poly * poly
    assert ef == pytest.approx(logit_expectation(poly, mu, sigma), abs=1e-12)
    assert ef2 == pytest.approx(logit_expectation(sq, mu, sigma), abs=1e-12)
    h = 1e-5
    for z_moment, p in ((efz, poly), (ef2z, sq)):
        slope = (logit_expectation(p, mu + h, sigma) - logit_expectation(p, mu - h, sigma)) / (
            2 * h
        )
        assert z_moment == pytest.approx(sigma * slope, rel=1e-6, abs=1e-7)


def test_compiled_kernels_reproduce_a_published_value() -> None:
    """``E[max(X, 0)] = sigma phi(mu/sigma) + mu Phi(mu/sigma)``: Bachelier's (1900)
    price of a call struck at 0 on a normal underlying, to rounding."""
    mu, sigma = 0.3, 1.7
    ramp = np.array([[[0.0, 0.0], [0.0, 1.0]]])
    value, score = normal_expectations_with_score(np.array([0.0]), ramp, mu, sigma)
    d = mu / sigma
    assert value[0] == pytest.approx(sigma * stats.norm.pdf(d) + mu * stats.norm.cdf(d), rel=1e-14)
    # Stein: E[max(X,0) Z] = sigma * P(X > 0)
    assert score[0] == pytest.approx(sigma * stats.norm.cdf(d), rel=1e-14)


@settings(max_examples=25, deadline=None)
@given(
    logit0=st.booleans(),
    logit1=st.booleans(),
    rho=st.floats(min_value=-0.9, max_value=0.9),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_compiled_nested_quadrature_matches_the_vectorised_rule(
    logit0: bool, logit1: bool, rho: float, seed: int
) -> None:
    """Two correlated metrics: the compiled nested rule (per-node inner grids) and the
    vectorised one (a shared inner grid) are two quadratures of the same integral."""
    from compmodel.moments import _nested, _nested_batch

    rng = np.random.default_rng(seed)

    def poly(logit: bool) -> PiecewisePoly:
        lo, hi = (0.05, 0.95) if logit else (-2.0, 2.0)
        breaks = np.sort(rng.uniform(lo, hi, 2))
        return PiecewisePoly(breaks, rng.normal(size=(3, 2)))

    polys = [poly(logit0), poly(logit1)]
    sd = np.array([0.4, 0.3]) if logit0 else np.array([1.0, 0.3])
    sd[1] = 0.3 if logit1 else 1.2
    cov = np.array([[1.0, rho], [rho, 1.0]]) * np.outer(sd, sd)
    mean = rng.normal(0.0, 0.5, 2)
    for refine in (1, 2):
        compiled = _nested(polys, [logit0, logit1], mean, cov, refine)
        vectorised = float(_nested_batch(polys, [logit0, logit1], mean[None, :], cov, refine)[0])
        assert compiled == pytest.approx(vectorised, rel=1e-9, abs=1e-11)
