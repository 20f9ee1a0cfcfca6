"""Every reported equilibrium is verified: no department gains by deviating.

An independent deviation search (a dense grid over each department's bounded levers plus
scipy refinement, written here, not the library's verifier) on generated scenarios of the
``linear`` kind with quotas, caps and gates; a solver patched to return a perturbed point
is caught; the numeric options of ``solve`` are validated; the issue's case
(``risk_aversion = 1e12``) is verified or refused.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize

import compmodel as cm
from compmodel.equilibrium import selection
from compmodel.equilibrium.backends import PythonBackend
from compmodel.equilibrium.gauss_seidel import Settled
from compmodel.equilibrium.problem import build_problem

THEORY = Path(__file__).resolve().parents[1] / "data" / "samples" / "theory"
UPPER = 3.0  # every lever of the generated scenarios lies in [0, UPPER]


# --------------------------------------------------------------------------------------
# generated scenarios: two departments, own and joint metrics, quotas, caps and gates
# --------------------------------------------------------------------------------------
def _component(draw: Any, own: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["curve", "capped", "lump_sum", "gated"]))
    target = draw(st.floats(0.5, 2.5))
    if kind == "lump_sum":
        metric = draw(st.sampled_from([own, "joint"]))
        quota = target if metric == own else 2.0 * target
        return {"metric": metric, "kind": "lump_sum", "quota": quota, "weight": 1.0}
    comp: dict[str, Any] = {
        "metric": own,
        "weight": 1.0,
        "threshold": draw(st.floats(0.0, 0.8)) * target,
        "target": target,
    }
    if kind in ("capped", "gated"):
        comp["cap"] = target * draw(st.floats(1.1, 1.8))
        comp["payout_at_cap"] = draw(st.floats(1.05, 2.0))
    if kind == "gated":
        comp["gate"] = {"metric": "joint", "threshold": draw(st.floats(0.5, 3.0))}
    return comp


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    """A ``linear`` scenario: departments ``a`` (one or two levers) and ``b`` (one),
    each paid on its own metric and perhaps on the joint one, with quotas, caps and
    gates; every lever bounded in [0, UPPER]."""
    two = draw(st.booleans())
    levers: dict[str, dict[str, Any]] = {
        "a": {"effort": {"cost": draw(st.floats(0.3, 2.0)), "value": 1.0}},
        "b": {"effort": {"cost": draw(st.floats(0.3, 2.0)), "value": 1.0}},
    }
    own_a = {"a.effort": 1.0}
    if two:
        levers["a"]["care"] = {"cost": draw(st.floats(0.3, 2.0)), "value": 0.5}
        own_a["a.care"] = draw(st.floats(0.2, 1.0))
    for lv in levers.values():
        for spec in lv.values():
            spec.update(lower=0.0, upper=UPPER)
    depts = {}
    for name, own in (("a", "own_a"), ("b", "own_b")):
        comps = {"first": _component(draw, own)}
        if draw(st.booleans()):
            comps["second"] = _component(draw, own)
            weight = draw(st.floats(0.2, 0.8))
            comps["first"]["weight"], comps["second"]["weight"] = weight, 1.0 - weight
        depts[name] = {
            "headcount": draw(st.integers(1, 3)),
            "base_pay": 1.0,
            "target_incentive": draw(st.floats(0.2, 1.0)),
            "risk_aversion": draw(st.sampled_from([0.0, 0.5, 2.0])),
            "market_reference": 1.0,
            "components": comps,
        }
    return {
        "name": "generated",
        "company": {
            "kind": "linear",
            "levers": levers,
            "means": {
                "own_a": {"loadings": own_a},
                "own_b": {"loadings": {"b.effort": 1.0}},
                "joint": {"loadings": {"a.effort": 1.0, "b.effort": 1.0}},
            },
        },
        "metrics": {
            "own_a": {"unit": "units", "scope": "individual"},
            "own_b": {"unit": "units", "scope": "individual"},
            "joint": {"unit": "units", "scope": "company"},
        },
        "forecast": {m: {"sd": draw(st.floats(0.2, 1.0))} for m in ("own_a", "own_b", "joint")},
        "departments": depts,
    }


def best_deviation(s: cm.Scenario, levers: dict[str, float]) -> list[tuple[str, float, float]]:
    """Per department: (name, the largest CE gain found by deviating, allowed gain), by a
    dense grid over its levers' bounds (401 points for one lever, 61 x 61 for two) and
    scipy refinement (bounded Powell) from the five best grid points and the point."""
    p = build_problem(s)
    ce_of = PythonBackend(p).perceived_ce
    names = p.space.names
    t = np.array([levers[n] for n in names])
    mu0 = p.model.means(t)
    out = []
    for d in p.depts:
        idx = d.levers
        if idx.size == 0:
            continue
        lo, hi = p.space.lower[idx], p.space.upper[idx]  # unbounded: the levers +- 5
        lo = np.where(np.isfinite(lo), lo, t[idx] - 5.0)
        hi = np.where(np.isfinite(hi), hi, t[idx] + 5.0)

        def f(x: np.ndarray, d: Any = d) -> float:
            return ce_of(d, t, np.clip(x, lo, hi), mu0)

        n = 401 if idx.size == 1 else 61
        axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
        pts = np.array(list(itertools.product(*axes)))
        values = np.array([f(x) for x in pts])
        ce = f(t[idx])
        best = float(values.max())
        for x0 in [*pts[np.argsort(values)[-5:]], t[idx]]:
            res = optimize.minimize(
                lambda x: -f(x), x0, method="Powell", bounds=list(zip(lo, hi, strict=True)),
                options={"xtol": 1e-10, "ftol": 1e-14},
            )  # fmt: skip
            best = max(best, -float(res.fun))
        target = s.departments[d.name].target_payout
        out.append((d.name, best - ce, max(1e-9 * abs(ce), 1e-6 * target)))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=scenarios())
def test_no_reported_equilibrium_has_a_profitable_deviation(doc: dict[str, Any]) -> None:
    s = cm.scenario_from_dict(doc)
    try:
        sol = cm.solve(s)
    except cm.ConvergenceError as e:  # refused, never silently wrong: the message says why
        assert "1." in str(e)
        return
    assert sol.diagnostics.verified == "global"
    for point in sol.diagnostics.equilibria:
        for name, gain, allowed in best_deviation(s, dict(point.levers)):
            assert gain <= allowed, (name, gain, allowed, dict(point.levers))


# --------------------------------------------------------------------------------------
# a solver patched to report a point that is not an equilibrium
# --------------------------------------------------------------------------------------
def _coordination() -> cm.Scenario:
    return cm.load_scenario(THEORY / "coordination.toml")


def _perturbed(real: Any, warm_only: bool = False) -> Any:
    """``nash`` as patched: what the real one reaches, a.effort moved by 0.4."""

    def nash(*args: Any, **kwargs: Any) -> Settled:
        t, ok, sweeps, resid = real(*args, **kwargs)
        if warm_only and not kwargs.get("warm", False):
            return Settled(t, ok, sweeps, resid)
        t = t.copy()
        t[0] = 0.4 + t[0] if t[0] < 2.0 else t[0] - 0.4  # a.effort, inside [0, 3]
        return Settled(t, ok, sweeps, resid)

    return nash


def test_a_perturbed_point_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every point the sweeps report is moved off the equilibrium, the one more search
    from the deviation too: verification refuses it, naming the department and move."""
    s = _coordination()
    monkeypatch.setattr(selection, "nash", _perturbed(selection.nash))
    with pytest.raises(cm.ConvergenceError) as err:
        cm.solve(s)
    msg = str(err.value)
    assert "not an equilibrium" in msg and "a gains" in msg and "effort" in msg
    assert "1. " in msg and "2. " in msg


def test_a_perturbed_point_is_followed_to_the_equilibrium(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the reported points are perturbed (the search from the deviation is the real
    one): the point reached from the deviation is verified and reported instead."""
    s = _coordination()
    clean = cm.solve(s)
    real = selection.nash
    monkeypatch.setattr(selection, "nash", _perturbed(real))
    monkeypatch.setattr(selection, "_continue", _real_continue(real))
    sol = cm.solve(s)
    assert sol.diagnostics.verified == "global"
    assert all("verification" in p.starts for p in sol.diagnostics.equilibria)
    found = {tuple(np.round(list(p.levers.values()), 6)) for p in sol.diagnostics.equilibria}
    want = {tuple(np.round(list(p.levers.values()), 6)) for p in clean.diagnostics.equilibria}
    assert found and found <= want


def _real_continue(real: Any) -> Any:
    """``selection._continue`` with the real ``nash`` (the patched one perturbs)."""
    original = selection._continue

    def cont(*args: Any, **kwargs: Any) -> Any:
        patched = selection.nash
        selection.nash = real
        try:
            return original(*args, **kwargs)
        finally:
            selection.nash = patched

    return cont


def test_a_perturbed_warm_point_falls_back_to_the_full_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _coordination()
    first = cm.solve(s)
    monkeypatch.setattr(selection, "nash", _perturbed(selection.nash, warm_only=True))
    sol = cm.solve(s, warm_start=first, search="warm")
    assert sol.diagnostics.search == "all"
    assert any("failed the check" in n and "a gains" in n for n in sol.diagnostics.notes)
    assert dict(sol.levers) == pytest.approx(dict(first.levers), abs=1e-6)


def test_verification_reports_the_check() -> None:
    s = cm.load_scenario(THEORY / "quota.toml")
    sol = cm.solve(s)
    assert sol.diagnostics.verified == "global"
    moved = s.with_value("rep.curves.bonus.quota", 1.1)
    warm = cm.solve(moved, warm_start=sol, search="warm")
    assert warm.diagnostics.search == "warm"
    assert warm.diagnostics.verified == "global"  # not concave: the grid too
    hm87 = cm.load_scenario(THEORY / "hm87.toml")  # linear pay: concave, the local check
    h = cm.solve(hm87)
    assert cm.solve(hm87, warm_start=h, search="warm").diagnostics.verified == "local"
    assert cm.first_best(hm87).diagnostics.verified == ""


# --------------------------------------------------------------------------------------
# the case: risk_aversion = 1e12
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["baker", "hm87", "hm91", "holmstrom82"])
def test_a_huge_risk_aversion_is_verified_or_refused(name: str) -> None:
    """At e273b87 the solver reported three equilibria here and selected a point the
    department could leave: now every point is verified (its CE is -1e11: gains within
    1e-9 of it, a note says the levers are imprecise) or the input is refused."""
    s = cm.load_scenario(THEORY / f"{name}.toml")
    dept = next(iter(s.departments))
    try:
        s = s.with_value(f"{dept}.risk_aversion", 1e12)
        sol = cm.solve(s)
    except (cm.ScenarioError, cm.ConvergenceError) as e:
        assert str(e)
        return
    assert sol.diagnostics.verified == "global"
    assert any("imprecise" in n for n in sol.diagnostics.notes)
    for point in sol.diagnostics.equilibria:
        for dname, gain, allowed in best_deviation(s, dict(point.levers)):
            assert gain <= allowed, (dname, gain, allowed)


# --------------------------------------------------------------------------------------
# numeric options
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tol", [math.nan, -1.0, 0.0, 0.5, math.inf, "1e-8", True, None])
def test_tol_outside_its_range_is_refused(tol: Any) -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    with pytest.raises(cm.ScenarioError, match=r"allowed: a number above 0 and at most 0\.01") as e:
        cm.solve(s, tol=tol)
    assert e.value.field == "tol"


@pytest.mark.parametrize("max_sweeps", [0, -3, 1.5, 200.0, True, "200", None])
def test_max_sweeps_outside_its_range_is_refused(max_sweeps: Any) -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    with pytest.raises(cm.ScenarioError, match="allowed: a whole number of at least 1") as e:
        cm.solve(s, max_sweeps=max_sweeps)
    assert e.value.field == "max_sweeps"


def test_numeric_options_inside_their_range_are_taken() -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    a = cm.solve(s, tol=1e-2, max_sweeps=np.int64(50))
    b = cm.solve(s, tol=1e-12, max_sweeps=1000)
    assert a.diagnostics.verified == b.diagnostics.verified == "global"


@pytest.mark.parametrize(("option", "value"), [("search", "fast"), ("backend", "numba")])
def test_search_and_backend_name_what_is_allowed(option: str, value: str) -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    with pytest.raises(cm.ScenarioError, match="allowed:"):
        cm.solve(s, **{option: value})
