"""The ``distributor`` company kind (src/compmodel/models/distributor.py) and its sample
(data/samples/distributor.toml).

Oracles first: the model's derivatives against Richardson-extrapolated central
differences, its value parts against its value, the solver's equilibria against the
direction economics gives for a change of plan or coefficient, and the benchmarks
against their definitions (no incentive: every lever at rest; first best: no lever
move raises total surplus, and its first-order conditions hold). Solves are cached per
scenario variant: each takes well under a second once numba has compiled the model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import compmodel as cm
from compmodel import kinds
from compmodel.models import build_model
from compmodel.models.distributor import (
    COEFFICIENTS,
    DISTRIBUTOR_METRICS,
    LEVERS,
    VALUE_PARTS,
    DistributorModel,
    _means_jacobian_packed,
    _softmin,
    _softmin_tangent,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "distributor.toml"
Variant = tuple[tuple[str, float], ...]


@cache
def scenario(variant: Variant = ()) -> cm.Scenario:
    """The sample with the parameter paths of ``variant`` set (in one edit)."""
    s = cm.load_scenario(SAMPLE)
    return s.with_values(dict(variant)) if variant else s


@cache
def solved(variant: Variant = ()) -> cm.Solution:
    sol = cm.solve(scenario(variant))
    assert sol.diagnostics.converged
    return sol


@cache
def model() -> DistributorModel:
    m = build_model(scenario())
    assert isinstance(m, DistributorModel)
    return m


def interior_points(n: int, seed: int) -> list[np.ndarray]:
    """``n`` lever vectors drawn inside the levers' bounds (10-90% of each range)."""
    space = model().levers
    rng = np.random.default_rng(seed)
    return [
        space.lower + (space.upper - space.lower) * rng.uniform(0.1, 0.9, space.lower.size)
        for _ in range(n)
    ]


def richardson(f: Callable[[np.ndarray], object], t: np.ndarray, j: int) -> np.ndarray:
    """d f / d t_j by Richardson extrapolation of central differences (error O(h^4))."""
    h = 1e-4 * max(1.0, abs(float(t[j])))

    def central(step: float) -> np.ndarray:
        up, dn = t.copy(), t.copy()
        up[j] += step
        dn[j] -= step
        return np.asarray((np.asarray(f(up)) - np.asarray(f(dn))) / (2.0 * step))

    return np.asarray((4.0 * central(h / 2) - central(h)) / 3.0)


def surplus_without_risk(sol: cm.Solution) -> float:
    """Gross value less everyone's effort cost: what the first best maximises."""
    return sol.gross_value - sum(d.headcount * d.effort_cost for d in sol.departments.values())


def with_coefficient(s: cm.Scenario, name: str, value: float | None) -> cm.Scenario:
    """``s`` with a coefficient set past its range checks (``None``: removed)."""
    coefs = dict(s.company.coefficients)
    if value is None:
        del coefs[name]
    else:
        coefs[name] = dataclasses.replace(coefs[name], value=value, range=None)
    return dataclasses.replace(s, company=dataclasses.replace(s.company, coefficients=coefs))


# --------------------------------------------------------------------------------------
# the kind and its sample
# --------------------------------------------------------------------------------------
def test_kind_is_registered_and_the_sample_builds_it() -> None:
    assert "distributor" in kinds.available()
    assert kinds.module_of("distributor") == "compmodel.models.distributor"
    s = scenario()
    assert s.company.kind == "distributor"
    m = model()
    assert m.metrics == tuple(DISTRIBUTOR_METRICS)
    assert m.levers.names == tuple(f"{d}.{lv}" for d, names in LEVERS.items() for lv in names)
    assert len(LEVERS) >= 4 and len(m.levers.names) >= 8
    assert 60 <= sum(d.headcount for d in s.departments.values()) <= 150
    for name, (_, scope, scale) in DISTRIBUTOR_METRICS.items():
        assert (s.metrics[name].scope, s.metrics[name].scale) == (scope, scale), name


def test_every_coefficient_is_sourced_with_a_range_and_a_comment() -> None:
    s = scenario()
    assert set(COEFFICIENTS) == set(s.company.coefficients)
    lines = SAMPLE.read_text().splitlines()
    for name in COEFFICIENTS:
        c = s.company.coefficients[name]
        assert c.unit and c.source, name
        assert c.range is not None and c.range[0] <= c.value <= c.range[1], name
        (i,) = [k for k, line in enumerate(lines) if line.startswith(f"{name} = ")]
        assert lines[i - 1].startswith("# ") and not lines[i - 1].startswith("# ----"), name


def test_sample_with_no_incentive_has_plausible_magnitudes() -> None:
    """The calibration targets the sample's comments name."""
    ni = cm.no_incentive(scenario())
    net = ni.metrics["net_sales"]
    assert 38e6 <= net <= 46e6
    assert 0.25 <= ni.metrics["gross_margin"] / net <= 0.30
    assert 0.02 <= ni.operating_profit / net <= 0.05
    assert 0.92 <= ni.metrics["fill_rate"] <= 0.96
    assert 5.5 <= ni.metrics["inventory_turns"] <= 6.5
    assert 0.80 <= ni.metrics["ontime_delivery"] <= 0.92
    assert 0.80 <= ni.metrics["customer_retention"] <= 0.92
    assert 0.003 <= ni.metrics["mispick_rate"] <= 0.007
    assert 0.75 <= ni.outcomes["warehouse_load"] <= 0.9


# --------------------------------------------------------------------------------------
# the equations: derivatives and value
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_means_jacobian_matches_richardson_differences(seed: int) -> None:
    m = model()
    for t in interior_points(2, seed):
        cols = np.arange(t.size)
        means, jac = m.means_jacobian(t, cols)
        np.testing.assert_array_equal(means, m.means(t))
        for j in range(t.size):
            fd = richardson(m.means, t, j)
            scale = np.maximum(1.0, np.abs(fd))
            np.testing.assert_allclose(jac[:, j] / scale, fd / scale, rtol=0, atol=1e-7)
        # a subset of columns in another order gives the same columns
        sub = np.array([7, 2, 0], dtype=np.int64)
        np.testing.assert_array_equal(m.means_jacobian(t, sub)[1], jac[:, sub])


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_value_gradient_matches_richardson_differences(seed: int) -> None:
    m = model()
    for t in interior_points(2, seed):
        value, grad = m.value_gradient(t)
        assert value == pytest.approx(m.gross_value(t), rel=1e-14)
        fd = np.array([richardson(m.gross_value, t, j) for j in range(t.size)])
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-6 * np.max(np.abs(fd)))


def test_value_parts_sum_to_gross_value_and_profit_nets_the_payroll() -> None:
    m = model()
    payroll = sum(d.headcount * d.base_pay for d in scenario().departments.values())
    op = list(DISTRIBUTOR_METRICS).index("operating_profit")
    for t in [m.levers.rest, *interior_points(4, 7)]:
        parts = m.value_parts(t)
        assert tuple(parts) == VALUE_PARTS
        value = m.gross_value(t)
        assert math.fsum(parts.values()) == pytest.approx(value, rel=1e-12, abs=1e-6)
        assert parts["gross_margin"] > 0
        assert all(v <= 0 for k, v in parts.items() if k != "gross_margin")
        assert m.means(t)[op] == pytest.approx(value - payroll, rel=1e-12, abs=1e-6)
        retention = m.staff_retention(t)
        assert set(retention) == set(LEVERS) and all(0 < v < 1 for v in retention.values())


def test_kernel_data_feeds_the_packed_kernel() -> None:
    m = model()
    t = interior_points(1, 8)[0]
    cols = np.array([1, 3, 5, 9], dtype=np.int64)
    means, jac = _means_jacobian_packed(t, m.kernel_data, cols)
    ref_means, ref_jac = m.means_jacobian(t, cols)
    np.testing.assert_array_equal(means, ref_means)
    np.testing.assert_array_equal(jac, ref_jac)
    assert m.compiled.means_jacobian == "_means_jacobian_packed"


def test_compiled_and_python_backends_reach_the_same_equilibrium() -> None:
    """The generic kernels compiled with this plug-in's equations (compmodel._kernels)
    and scipy's best responses on the same expectations: levers to 1e-7, total surplus
    to 1e-8."""
    s = scenario()
    fast = cm.solve(s, backend="compiled")
    slow = cm.solve(s, backend="python")
    np.testing.assert_allclose(fast.lever_vector, slow.lever_vector, rtol=0, atol=1e-7)
    assert fast.total_surplus == pytest.approx(slow.total_surplus, rel=1e-8)


def test_fingerprint_tells_models_apart() -> None:
    a, b = build_model(scenario()), build_model(scenario())
    assert isinstance(a, DistributorModel) and isinstance(b, DistributorModel)
    assert a.fingerprint == b.fingerprint
    other = build_model(scenario((("company.coefficients.holding_rate", 0.3),)))
    assert isinstance(other, DistributorModel) and other.fingerprint != a.fingerprint


def test_a_lever_fixed_by_its_bounds_has_no_derivative() -> None:
    s = scenario(
        (
            ("company.levers.delivery.punctuality.lower", 1.0),
            ("company.levers.delivery.punctuality.upper", 1.0),
        )
    )
    m = build_model(s)
    assert isinstance(m, DistributorModel)
    j = m.levers.names.index("delivery.punctuality")
    t = m.levers.rest.copy()
    assert np.all(m.means_jacobian(t, np.arange(t.size))[1][:, j] == 0.0)
    assert m.value_gradient(t)[1][j] == 0.0


# --------------------------------------------------------------------------------------
# the smooth minimum: fill rate rises with capacity and stock, and saturates
# --------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(1e-3, 1e6),
    b=st.floats(1e-3, 1e6),
    grow=st.floats(1e-3, 10.0),
    nu=st.floats(2.0, 30.0),
)
def test_softmin_is_below_both_and_rises_with_each(
    a: float, b: float, grow: float, nu: float
) -> None:
    m = _softmin(a, b, nu)
    assert min(a, b) * 2.0 ** (-1.0 / nu) * (1 - 1e-12) <= m <= min(a, b)
    assert _softmin(a * (1 + grow), b, nu) >= m * (1 - 1e-12)
    assert _softmin(a, b * (1 + grow), nu) >= m * (1 - 1e-12)
    # its tangent: the derivative in a and in b add up to d/ds softmin(s a, s b) = m / s
    da = _softmin_tangent(a, b, nu, a, 0.0, m)
    db = _softmin_tangent(a, b, nu, 0.0, b, m)
    assert da >= 0 and db >= 0
    assert da + db == pytest.approx(m, rel=1e-9)


def _at(lever: str, value: float) -> tuple[np.ndarray, DistributorModel]:
    m = model()
    t = m.levers.rest.copy()
    t[m.levers.names.index(lever)] = value
    return t, m


def fill_rate(lever: str, value: float) -> float:
    t, m = _at(lever, value)
    return float(1.0 / (1.0 + math.exp(-m.means(t)[list(m.metrics).index("fill_rate")])))


@settings(max_examples=100, deadline=None)
@given(h1=st.floats(0.2, 30.0), h2=st.floats(0.2, 30.0))
def test_fill_rate_rises_with_warehouse_capacity(h1: float, h2: float) -> None:
    """Picking speed scales picking capacity (beyond its bounds here, to see the curve)."""
    lo, hi = sorted((h1, h2))
    t, m = _at("warehouse.picking_speed", hi)
    assert fill_rate("warehouse.picking_speed", lo) <= fill_rate("warehouse.picking_speed", hi)
    assert fill_rate("warehouse.picking_speed", hi) <= m.outcomes(t)["in_stock"]


def test_fill_rate_saturates_at_stock_and_at_capacity() -> None:
    grid = np.geomspace(0.2, 200.0, 60)
    fills = np.array([fill_rate("warehouse.picking_speed", h) for h in grid])
    steps = np.diff(fills)
    assert np.all(steps >= 0) and np.all(steps[grid[1:] < 2.0] > 0)
    assert steps[-1] < 1e-6 * steps.max()  # flat once capacity is ample
    t, m = _at("warehouse.picking_speed", 200.0)
    assert fills[-1] == pytest.approx(m.outcomes(t)["in_stock"], rel=1e-9)
    # capacity short: fill is capacity over demand, a little less (the soft corner)
    t, m = _at("warehouse.picking_speed", 0.2)
    out = m.outcomes(t)
    cap_share = out["warehouse_capacity"] / out["lines_demanded"]
    assert 0.9 * cap_share < fills[0] < cap_share
    # more cover: in-stock rises towards 1, and fill towards what capacity allows
    covers = np.linspace(3.0, 40.0, 40)
    by_cover = np.array([fill_rate("purchasing.order_cover", b) for b in covers])
    steps = np.diff(by_cover)
    assert np.all(steps >= 0) and np.all(steps[covers[1:] < 16.0] > 0)
    assert steps[-1] < 1e-3 * steps[0]


# --------------------------------------------------------------------------------------
# benchmarks: no incentive and first best
# --------------------------------------------------------------------------------------
def test_no_incentive_leaves_every_lever_at_rest() -> None:
    s = scenario()
    ni = cm.no_incentive(s)
    np.testing.assert_array_equal(ni.lever_vector, model().levers.rest)
    # a plan that pays nothing moves nothing: the equilibrium is the rest point
    unpaid = scenario(tuple((f"{d}.target_incentive", 0.0) for d in LEVERS))
    eq = cm.solve(unpaid)
    np.testing.assert_allclose(eq.lever_vector, model().levers.rest, rtol=0, atol=1e-7)
    assert eq.total_surplus == pytest.approx(ni.total_surplus, rel=1e-9)


def test_first_best_maximises_total_surplus() -> None:
    s = scenario()
    fb = cm.first_best(s)
    space = model().levers
    t = fb.lever_vector
    best = surplus_without_risk(cm.evaluate(s, fb.levers))
    assert best == pytest.approx(fb.total_surplus, rel=1e-12)
    for j, name in enumerate(space.names):
        step = 1e-3 * (space.upper[j] - space.lower[j])
        for sign in (-1.0, 1.0):
            moved = min(max(t[j] + sign * step, space.lower[j]), space.upper[j])
            if moved == t[j]:
                continue
            levers = {**fb.levers, name: moved}
            assert surplus_without_risk(cm.evaluate(s, levers)) <= best + 1e-9 * abs(best), name
    # first-order conditions: the surplus gradient vanishes inside the bounds and
    # points outward at a bound
    grad = model().value_gradient(t)[1]
    grad = grad - space.headcount * (space.cost @ (t - space.rest))
    scale = np.max(np.abs(model().value_gradient(space.rest)[1]))
    for j, name in enumerate(space.names):
        if t[j] <= space.lower[j] + 1e-9:
            assert grad[j] <= 1e-6 * scale, name
        elif t[j] >= space.upper[j] - 1e-9:
            assert grad[j] >= -1e-6 * scale, name
        else:
            assert abs(grad[j]) <= 1e-5 * scale, name


def test_first_best_gives_no_discount_and_today_does() -> None:
    fb, ni, eq = cm.first_best(scenario()), cm.no_incentive(scenario()), solved()
    assert fb.levers["sales.discounting"] == 0.0
    assert eq.levers["sales.discounting"] > ni.levers["sales.discounting"]
    assert ni.levers["sales.prospecting"] < eq.levers["sales.prospecting"]
    assert eq.levers["sales.prospecting"] < fb.levers["sales.prospecting"]


# --------------------------------------------------------------------------------------
# today's equilibrium and comparative statics
# --------------------------------------------------------------------------------------
def test_today_pushes_volume_past_what_the_warehouse_serves_well() -> None:
    """Sales paid on orders discounts and sells; the warehouse loads up, fill rate,
    on-time delivery and customer retention fall, and so does operating profit."""
    ni, eq = cm.no_incentive(scenario()), solved()
    assert len(eq.diagnostics.equilibria) == 1
    assert eq.metrics["net_sales"] > ni.metrics["net_sales"]
    assert eq.outcomes["warehouse_load"] > ni.outcomes["warehouse_load"]
    for metric in ("fill_rate", "ontime_delivery", "customer_retention"):
        assert eq.metrics[metric] < ni.metrics[metric], metric
    assert eq.metrics["response_time"] > ni.metrics["response_time"]
    assert eq.operating_profit < ni.operating_profit
    assert 0.0 < eq.operating_profit / eq.metrics["net_sales"] < 0.03
    parts = {k[6:]: v for k, v in eq.outcomes.items() if k.startswith("value.")}
    assert math.fsum(parts.values()) == pytest.approx(eq.gross_value, rel=1e-12)


def _sweep(path: str, values: list[float], figure: str) -> np.ndarray:
    kind, name = figure.split(":")
    return np.array([getattr(solved(((path, v),)), kind)[name] for v in values])


@pytest.mark.parametrize(
    ("path", "values", "figure", "direction"),
    [
        # purchasing paid more on fill rate (less on turns and savings) buys more cover
        ("purchasing.weights.fill", [0.2, 0.4, 0.6, 0.8], "metrics:fill_rate", +1),
        ("purchasing.weights.fill", [0.2, 0.4, 0.6, 0.8], "levers:purchasing.order_cover", +1),
        # a discount that costs the margin more is given less (sales is paid on margin too)
        ("company.coefficients.discount_margin_cost", [0.5, 0.7, 0.85, 1.0],
         "levers:sales.discounting", -1),
        # delivery paid more on on-time delivery: more punctual, less dense routes
        ("delivery.weights.ontime", [0.1, 0.3, 0.5, 0.7], "levers:delivery.punctuality", +1),
        ("delivery.weights.ontime", [0.1, 0.3, 0.5, 0.7], "levers:delivery.route_density", -1),
        # the warehouse paid more on accuracy: more care, fewer mispicks
        ("warehouse.weights.accuracy", [0.1, 0.2, 0.4, 0.6], "levers:warehouse.accuracy", +1),
        ("warehouse.weights.accuracy", [0.1, 0.2, 0.4, 0.6], "metrics:mispick_rate", -1),
    ],
)  # fmt: skip
def test_equilibrium_moves_the_way_economics_says(
    path: str, values: list[float], figure: str, direction: int
) -> None:
    figures = _sweep(path, values, figure)
    assert np.all(direction * np.diff(figures) > 0), figures


def test_dearer_stock_means_less_cover_at_the_first_best() -> None:
    rates = [0.15, 0.2, 0.25, 0.3, 0.35]
    fbs = [cm.first_best(scenario((("company.coefficients.holding_rate", r),))) for r in rates]
    cover = np.array([fb.levers["purchasing.order_cover"] for fb in fbs])
    turns = np.array([fb.metrics["inventory_turns"] for fb in fbs])
    assert np.all(np.diff(cover) < 0), cover
    assert np.all(np.diff(turns) > 0), turns


#: A sales plan with its threshold near today's orders: pay is convex there, so more
#: effort adds pay risk as well as pay.
CONVEX = (
    ("sales.curves.orders.threshold", 3_400_000.0),
    ("sales.curves.orders.target", 4_400_000.0),
    ("sales.curves.orders.cap", 6_000_000.0),
)


def test_risk_averse_sales_sells_less_where_effort_adds_risk() -> None:
    eqs = [solved((*CONVEX, ("sales.risk_aversion", r))) for r in (0.0, 1e-5, 4e-5, 1.6e-4)]
    prospecting = np.array([e.levers["sales.prospecting"] for e in eqs])
    discounting = np.array([e.levers["sales.discounting"] for e in eqs])
    assert np.all(np.diff(prospecting) < 0), prospecting
    assert np.all(np.diff(discounting) < 0), discounting
    assert eqs[-1].departments["sales"].risk_premium > eqs[1].departments["sales"].risk_premium


def test_under_linear_pay_risk_aversion_leaves_effort_alone(tmp_path: Path) -> None:
    """Holmström-Milgrom: with pay linear in normal metrics, effort is the commission
    times the metric's response over the cost, whatever the risk aversion."""
    text = SAMPLE.read_text()
    for old, new in (
        ("cap = 5_000_000\npayout_at_cap = 2.0", 'floor = "extend"'),
        ("cap = 1_200_000\npayout_at_cap = 2.0", 'floor = "extend"'),
    ):
        assert text.count(old) == 1
        text = text.replace(old, new)
    path = tmp_path / "linear_sales.toml"
    path.write_text(text)
    s = cm.load_scenario(path)
    low = cm.solve(s.with_value("sales.risk_aversion", 1e-5))
    high = cm.solve(s.with_value("sales.risk_aversion", 1.6e-4))
    for lever in ("sales.prospecting", "sales.discounting"):
        assert high.levers[lever] == pytest.approx(low.levers[lever], rel=1e-6), lever
    assert high.departments["sales"].risk_premium > 10 * low.departments["sales"].risk_premium


# --------------------------------------------------------------------------------------
# scenario errors
# --------------------------------------------------------------------------------------
def test_missing_coefficient_names_it_and_the_sample(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("holding_rate = ")]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "no_holding_rate.toml"
    path.write_text("".join(kept))
    s = cm.load_scenario(path)
    with pytest.raises(cm.ScenarioError, match=r"holding_rate.*distributor\.toml") as info:
        cm.solve(s)
    assert info.value.field == "company.coefficients"


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda s: with_coefficient(s, "staff_retention_warehouse", 1.0),
         "company.coefficients.staff_retention_warehouse", "strictly between 0 and 1"),
        (lambda s: with_coefficient(s, "line_value", 0.0),
         "company.coefficients.line_value", "must be > 0"),
        (lambda s: with_coefficient(s, "discount_margin_cost", 1.5),
         "company.coefficients.discount_margin_cost", "share"),
        (lambda s: dataclasses.replace(s, bridges={"meetings": 1.0}),
         "bridges.meetings", "manufacturer"),
        (lambda s: s.with_value("company.levers.purchasing.forecast_effort.lower", 0.1),
         "company.levers.purchasing.forecast_effort.lower", "mix_error"),
        (lambda s: dataclasses.replace(
            s, departments={k: v for k, v in s.departments.items() if k != "delivery"},
            company=dataclasses.replace(s.company, levers={
                k: v for k, v in s.company.levers.items() if k != "delivery"})),
         "departments", "missing.*delivery"),
        (lambda s: dataclasses.replace(s, company=dataclasses.replace(s.company, levers={
            **s.company.levers,
            "warehouse": {"picking_speed": s.company.levers["warehouse"]["picking_speed"]},
        })), "company.levers.warehouse", "accuracy"),
    ],
)  # fmt: skip
def test_impossible_scenario_is_a_clear_error(
    edit: Callable[[cm.Scenario], cm.Scenario], field: str, message: str
) -> None:
    with pytest.raises(cm.ScenarioError, match=message) as info:
        DistributorModel(edit(scenario()))
    assert info.value.field == field
