"""Payout curves, rate tables and plans: worked values and hypothesis properties."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import compmodel as cm
from compmodel.errors import PlanError
from compmodel.moments import PiecewisePoly, normal_expectation
from compmodel.plans import Clawback, Component, PayoutCurve, Plan, RateTable, Tier
from helpers import one_component

PROFILE = settings(derandomize=True, max_examples=150, deadline=None)


# --------------------------------------------------------------------------------------
# worked values
# --------------------------------------------------------------------------------------
def test_curve_values_higher_is_better() -> None:
    c = cm.PayoutCurve(
        threshold=80, target=100, cap=120, payout_at_threshold=0.5, payout_at_cap=2.0
    )
    f = c.to_poly()
    xs = [50, 79.999, 80, 90, 100, 110, 120, 150]
    assert f(xs).tolist() == pytest.approx([0, 0, 0.5, 0.75, 1.0, 1.5, 2.0, 2.0])


def test_curve_values_lower_is_better_and_negative_target() -> None:
    # response time in hours: 30 h pays nothing, 20 h pays target, 12 h caps at 1.5
    c = cm.PayoutCurve(threshold=30, target=20, cap=12, payout_at_cap=1.5)
    assert c.direction == "lower"
    assert c.to_poly()([40, 30, 25, 20, 16, 12, 5]).tolist() == pytest.approx(
        [0, 0, 0.5, 1.0, 1.25, 1.5, 1.5]
    )
    # a target below zero: a cost overrun metric, target -5%, threshold 0%
    d = cm.PayoutCurve(threshold=0.0, target=-0.05, floor=None)
    assert d.to_poly()([0.05, 0.0, -0.05, -0.10]).tolist() == pytest.approx([-1.0, 0.0, 1.0, 2.0])


def test_uncapped_curve_continues_and_cap_defaults_to_same_slope() -> None:
    c = cm.PayoutCurve(threshold=80, target=100)
    assert c.to_poly()([140]).tolist() == pytest.approx([3.0])
    assert c.max_payout() == math.inf
    capped = cm.PayoutCurve(threshold=80, target=100, cap=110)
    assert capped.points[-1] == (110.0, 1.5)


def test_step_curve() -> None:
    c = cm.PayoutCurve(
        threshold=90, target=100, cap=120, payout_at_threshold=0.5, payout_at_cap=1.5,
        step=True, extra_points=((110, 1.25),),
    )  # fmt: skip
    assert c.to_poly()([89, 90, 99, 100, 109, 110, 119, 120, 200]).tolist() == pytest.approx(
        [0, 0.5, 0.5, 1.0, 1.0, 1.25, 1.25, 1.5, 1.5]
    )


def test_rate_tables_marginal_and_retroactive() -> None:
    tiers = (cm.Tier(0.02, 0.9), cm.Tier(0.03, 0.99), cm.Tier(0.04))
    retro = cm.RateTable(target=1_000_000, tiers=tiers, mode="retroactive")
    marg = cm.RateTable(target=1_000_000, tiers=tiers, mode="marginal")
    v = 1_200_000
    assert retro.to_poly()(v) == pytest.approx(0.04 * v)
    assert marg.to_poly()(v) == pytest.approx(0.02 * 900_000 + 0.03 * 90_000 + 0.04 * 210_000)
    assert retro.to_poly()(-5.0) == 0.0
    assert retro.at_target() == pytest.approx(40_000)


def test_ote_and_pay_mix() -> None:
    s = one_component({"metric": "x", "weight": 1.0, "threshold": 80, "target": 100})
    dept = s.departments["team"]
    assert dept.target_payout == pytest.approx(20_000)
    assert dept.ote == pytest.approx(120_000)
    assert dept.pay_mix == pytest.approx(100_000 / 120_000)


def test_objects_are_immutable() -> None:
    import dataclasses

    s = one_component({"metric": "x", "weight": 1.0, "threshold": 80, "target": 100})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.departments["other"] = s.departments["team"]  # type: ignore[index]
    with pytest.raises(TypeError):
        s.departments["team"].plan.components["d"] = None  # type: ignore[index]


# --------------------------------------------------------------------------------------
# hypothesis properties
# --------------------------------------------------------------------------------------
@st.composite
def curves(draw: st.DrawFn) -> cm.PayoutCurve:
    direction = draw(st.sampled_from([1.0, -1.0]))
    # no subnormal thresholds: scaled by a quota ratio they underflow to 0 (hypothesis
    # draws them from the constants it finds in the code, so which modules a run has
    # imported decided whether this test saw 5e-324)
    threshold = draw(st.floats(-1e4, 1e4, allow_subnormal=False))
    gap = draw(st.floats(0.5, 1e3))
    target = threshold + direction * gap
    capped = draw(st.booleans())
    cap = target + direction * draw(st.floats(0.0, 1e3)) if capped else None
    pt = draw(st.floats(0.0, 1.0))
    floor = draw(st.floats(0.0, 1.0)) * pt
    step = draw(st.booleans())
    pc = 1.0 + draw(st.floats(0.0, 2.0)) if capped else None
    return cm.PayoutCurve(
        threshold=threshold, target=target, cap=cap, payout_at_threshold=pt,
        payout_at_cap=pc, floor=floor, step=step,
    )  # fmt: skip


@PROFILE
@given(curves(), st.lists(st.floats(-3e4, 3e4), min_size=2, max_size=40))
def test_curves_are_monotone_and_respect_floor_and_cap(c: cm.PayoutCurve, xs: list[float]) -> None:
    sign = 1.0 if c.direction == "higher" else -1.0
    ordered = sorted(xs, key=lambda x: sign * x)  # worse to better
    pay = c.to_poly()(ordered)
    assert np.all(np.diff(pay) >= -1e-9)
    assert np.all(pay >= (c.floor or 0.0) - 1e-12)
    if c.cap is not None:
        assert np.all(pay <= c.max_payout() + 1e-9)


@PROFILE
@given(
    st.lists(st.floats(0.0, 0.06), min_size=1, max_size=4),
    st.lists(st.floats(0.05, 0.6), min_size=3, max_size=3),
    st.floats(0.0, 3e6),
)
def test_marginal_never_pays_more_than_retroactive(
    rates: list[float], gaps: list[float], volume: float
) -> None:
    rates = sorted(rates)
    bounds = np.cumsum(gaps)[: len(rates) - 1]
    tiers = tuple(
        cm.Tier(r, float(bounds[i]) if i < len(rates) - 1 else None) for i, r in enumerate(rates)
    )
    retro = cm.RateTable(target=1e6, tiers=tiers, mode="retroactive").to_poly()(volume)
    marg = cm.RateTable(target=1e6, tiers=tiers, mode="marginal").to_poly()(volume)
    assert marg <= retro + 1e-6
    assert marg >= 0.0


@PROFILE
@given(
    st.lists(st.floats(0.05, 1.0), min_size=2, max_size=4),
    st.floats(60.0, 140.0),
    st.floats(1.0, 40.0),
)
def test_component_payouts_sum_to_the_plans(raw: list[float], mu: float, sd: float) -> None:
    """Expected payouts of components add up to the plan's, whichever way computed."""
    w = np.asarray(raw) / np.sum(raw)
    w[-1] = 1.0 - w[:-1].sum()
    comps = {
        f"k{i}": {
            "metric": "x", "weight": float(wi), "threshold": 70.0 + 5 * i,
            "target": 100.0 + 3 * i, "cap": 120.0 + 4 * i, "payout_at_cap": 1.5 + 0.1 * i,
        }
        for i, wi in enumerate(w)
    }  # fmt: skip
    first = comps.pop("k0")
    s = one_component(first, forecast={"x": {"mean": mu, "sd": sd}}, extra_components=comps)
    b = cm.commission_budget(s, n_draws=200, seed=0)
    dept = s.departments["team"]
    # one polynomial for the whole plan, integrated at once
    plan_poly = PiecewisePoly.constant(0.0)
    for c in dept.plan.components.values():
        plan_poly = plan_poly + c.money_poly("higher", dept.target_payout)
    plan_mean = float(normal_expectation(plan_poly, mu, sd))
    assert b.components["expected"].sum() == pytest.approx(plan_mean, rel=1e-10)
    assert b.departments.loc[0, "expected"] == pytest.approx(plan_mean, rel=1e-10)
    # and draw by draw in the simulation
    x = np.linspace(mu - 4 * sd, mu + 4 * sd, 101)
    per_component = sum(
        c.money_poly("higher", dept.target_payout)(x) for c in dept.plan.components.values()
    )
    np.testing.assert_allclose(per_component, plan_poly(x), rtol=1e-12, atol=1e-9)


@PROFILE
@given(curves(), st.floats(0.1, 10.0))
def test_quota_scaling_is_the_same_curve_in_attainment(c: cm.PayoutCurve, k: float) -> None:
    f = c.to_poly()
    g = f.scaled_x(k)
    xs = np.linspace(-2e4, 2e4, 57)
    np.testing.assert_allclose(g(xs * k), f(xs), rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------------------
# clawbacks
# --------------------------------------------------------------------------------------
def test_clawback_takes_back_a_share_of_the_referenced_rate() -> None:
    commission = Component("bookings", RateTable(2_000_000.0, (Tier(0.03),)))
    late = Component("late_bookings", Clawback(0.5, rate_of="commission"))
    cost = Component("promise_cost", Clawback(0.25))
    plan = Plan({"commission": commission, "late": late, "cost": cost})
    assert plan.clawback_rate("late", 60_000.0) == pytest.approx(0.03, rel=1e-15)
    assert plan.clawback_rate("cost", 60_000.0) == 1.0
    poly = late.money_poly("lower", 60_000.0, 1.0, plan.clawback_rate("late", 60_000.0))
    assert poly(100_000.0) == pytest.approx(-1_500.0, rel=1e-15)  # half of 3% of 100k
    assert cost.money_poly("lower", 60_000.0)(40_000.0) == pytest.approx(-10_000.0)
    assert late.at_target(60_000.0) == 0.0 and late.max_payout(60_000.0) == 0.0


def test_clawback_of_a_curve_uses_its_payout_per_unit_at_target() -> None:
    curve = Component("margin", PayoutCurve(threshold=0.0, target=750_000.0), weight=1.0)
    claw = Component("late", Clawback(1.0, rate_of="margin"))
    plan = Plan({"margin": curve, "claw": claw})
    assert plan.clawback_rate("claw", 60_000.0) == pytest.approx(60_000.0 / 750_000.0)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Component("x", Clawback(0.5), weight=0.2), "takes no weight"),
        (lambda: Clawback(1.5), "0 <= share <= 1"),
        (
            lambda: Plan({"c": Component("x", Clawback(0.5, rate_of="nope"))}),
            "must name a paying component",
        ),
    ],
)
def test_clawback_errors_say_what_is_allowed(build: Callable[[], object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        build()
