"""compmodel.where: where a proposal pays, how likely it is to, and the order-free gain split.

The oracles are independent of the code under test: the gain at each grid point against
solving the two scenarios directly; the zero line against a gain that is linear in the
two parameters (its zero line is known in closed form, and contourpy's linear
interpolation along the grid's edges is exact for it); the prior's 5% and 95% quantiles
against the stated range; the probability against a gain that is positive exactly when
one parameter is above its prior median (1/2); the Shapley split against its two orders.

The default gain (the net present value by compmodel.dynamics) is not tested here: it is
wired and tested once that module lands. These tests use ``gain="operating_profit"``
and module-level gain functions (so a process pool can ship them).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import compmodel as cm
from compmodel import charts
from compmodel.where import prior_of

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
KNEE = "company.coefficients.load_knee"  # range 0.8 to 0.9
OTIF = "company.coefficients.customer_otif"  # range 2.5 to 5.5


# gains that need no solve (module level: they pickle)
def linear_gain(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """Zero on x = 0.843 - 0.01 (y - 4) (x: load knee, y: customer_otif); no grid point
    of a 5 x 5 grid lies on it."""
    return 10.0 * (proposal.get(KNEE) - 0.843) + 0.1 * (proposal.get(OTIF) - 4.0)


def above_median(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """Positive exactly when the load knee is above its prior median (0.85)."""
    return 1.0 if proposal.get(KNEE) > 0.85 else -1.0


def drawn_knee(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """The load knee both scenarios were built with (they must agree)."""
    assert today.get(KNEE) == proposal.get(KNEE)
    return proposal.get(KNEE)


def always_positive(today: cm.Scenario, proposal: cm.Scenario) -> float:
    return 1.0


def unsettled_above_knee(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """Does not settle where the drawn knee is above 0.85; else the knee minus 0.84."""
    knee = proposal.get(KNEE)
    if knee > 0.85:
        raise cm.ConvergenceError(f"knee {knee:.3f}: the test's unsettled corner")
    return knee - 0.84


def not_finite(today: cm.Scenario, proposal: cm.Scenario) -> float:
    return math.nan


def _op_gain(today: cm.Scenario, proposal: cm.Scenario) -> float:
    return cm.solve(proposal).operating_profit - cm.solve(today).operating_profit


# --------------------------------------------------------------------------------------
# where it pays
# --------------------------------------------------------------------------------------
def test_gain_at_each_grid_point_is_the_direct_solves(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    r = cm.where_it_pays(
        today, aligned, KNEE, OTIF, grid=3, gain="operating_profit", progress=False
    )
    assert r.x_path == KNEE and r.y_path == OTIF and r.points == 9
    assert np.array_equal(r.x_values, np.linspace(0.8, 0.9, 3))  # the stated ranges
    assert np.array_equal(r.y_values, np.linspace(2.5, 5.5, 3))
    assert r.gain.shape == (3, 3)
    for i, yv in enumerate(r.y_values):  # rows y, columns x
        for j, xv in enumerate(r.x_values):
            at = {KNEE: float(xv), OTIF: float(yv)}
            assert r.gain[i, j] == _op_gain(today.with_values(at), aligned.with_values(at))
    assert r.share_positive == np.count_nonzero(r.gain > 0) / 9
    assert r.seconds > 0 and r.gain_name == "operating_profit" and r.currency == "USD"
    with pytest.raises(ValueError):
        r.gain[0, 0] = 0.0  # read-only: the result is a value
    frame = r.frame()
    assert list(frame.columns) == [KNEE, OTIF, "gain", "positive"]
    assert len(frame) == 9
    row = frame.iloc[5]  # y slowest: y_values[1], x_values[2]
    assert (row[KNEE], row[OTIF], row["gain"]) == (r.x_values[2], r.y_values[1], r.gain[1, 2])


def test_zero_contour_lies_on_the_known_line(today: cm.Scenario, aligned: cm.Scenario) -> None:
    r = cm.where_it_pays(today, aligned, KNEE, OTIF, grid=5, gain=linear_gain, progress=False)
    xx, yy = np.meshgrid(r.x_values, r.y_values)
    assert np.allclose(r.gain, 10.0 * (xx - 0.843) + 0.1 * (yy - 4.0), rtol=0, atol=1e-12)
    assert len(r.zero_contour) == 1
    (line,) = r.zero_contour
    assert line.ndim == 2 and line.shape[1] == 2 and len(line) >= 2
    on_line = 10.0 * (line[:, 0] - 0.843) + 0.1 * (line[:, 1] - 4.0)
    assert np.max(np.abs(on_line)) < 1e-9
    # it crosses the whole grid: from y = 2.5 to y = 5.5
    assert line[:, 1].min() == pytest.approx(2.5, abs=1e-12)
    assert line[:, 1].max() == pytest.approx(5.5, abs=1e-12)
    # by hand: gain > 0 where x > 0.843 - 0.01 (y - 4): 2 + 2 + 3 + 3 + 3 of 25 points
    assert r.share_positive == pytest.approx(13 / 25, abs=1e-15)


def test_no_zero_line_where_the_gain_keeps_its_sign(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    r = cm.where_it_pays(
        today, aligned, KNEE, (OTIF, 3.0, 4.0), grid=2, gain=always_positive, progress=False
    )
    assert r.zero_contour == () and r.share_positive == 1.0
    assert np.array_equal(r.y_values, [3.0, 4.0])  # the tuple form, inside the range
    assert any("no zero line" in note for note in r.notes)


def test_the_chart_has_the_heatmap_and_the_zero_line(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    r = cm.where_it_pays(today, aligned, KNEE, OTIF, grid=5, gain=linear_gain, progress=False)
    chart = charts.where_it_pays(r)
    spec = chart.to_dict()  # vega-lite, data inline: nothing fetched
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rect", "line"]
    line = spec["layer"][1]
    assert line["encoding"]["detail"]["field"] == "line"  # polylines do not join
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domainMid"] == 0
    assert "url" not in str(spec.get("data")) and "datasets" in spec
    cells = chart.data
    assert isinstance(cells, pd.DataFrame) and len(cells) == 25
    assert np.array_equal(cells["gain"], r.gain.ravel())
    drawn = line["data"]
    rows = spec["datasets"][drawn["name"]]
    assert len(rows) == len(r.zero_contour[0])


# --------------------------------------------------------------------------------------
# chance it pays
# --------------------------------------------------------------------------------------
def test_prior_quantiles_are_the_range_ends(today: cm.Scenario) -> None:
    cases = {
        "collaboration_catch": "lognormal",  # 8 in (5, 12): nearer the middle in logs
        "defect_intercept": "normal",  # below 0: normal, unbounded
        "load_knee": "normal",  # 0.85 in (0.8, 0.9): 28 sd above 0, nothing cut off
    }
    for name, family in cases.items():
        c = today.company.coefficients[name]
        assert c.range is not None
        prior = prior_of(today, f"company.coefficients.{name}")
        assert prior.family == family
        lo, hi = prior.ppf([0.05, 0.95])
        assert lo == pytest.approx(c.range[0], rel=1e-9)
        assert hi == pytest.approx(c.range[1], rel=1e-9)
        assert prior.cdf(c.range[0]) == pytest.approx(0.05, abs=1e-9)
    # truncated to positive values: the mass below 0 is cut off, and the quantiles move
    # inward by that mass (5000 in (2000, 8000): 0.3% of the normal lies below 0)
    cost = prior_of(today, "company.coefficients.leader_cost")
    cut = cost.truncated_mass
    assert cost.family == "normal" and 0.001 < cut < 0.01
    assert cost.cdf(2000.0) == pytest.approx((0.05 - cut) / (1 - cut), rel=1e-9)
    assert cost.ppf(1e-12) > 0.0
    # domains: a share stays in [0, 1], a positive range stays positive
    share = prior_of(today, "company.coefficients.staff_retention_leadership")  # 0.85-0.95
    assert (share.lower, share.upper) == (0.0, 1.0) and share.truncated_mass > 0
    assert share.ppf(1 - 1e-15) <= 1.0
    quality = prior_of(today, "company.coefficients.quality_time")  # 'share of ... per ...'
    assert (quality.lower, quality.upper) == (0.0, math.inf)
    assert prior_of(today, "company.coefficients.defect_intercept").lower == -math.inf
    # a whole-number parameter is rounded
    heads = prior_of(today, ("sales.headcount", 20, 28))
    assert heads.integral
    drawn = heads.ppf(np.linspace(0.01, 0.99, 25))
    assert np.array_equal(drawn, np.round(drawn)) and drawn.min() >= 0


def test_probability_where_it_is_known(today: cm.Scenario, aligned: cm.Scenario) -> None:
    c = cm.chance_it_pays(today, aligned, n=200, seed=3, gain=above_median, progress=False)
    from compmodel.paths import ranged_paths

    # every stated range: 61 coefficients, 9 effort costs, 5 team identifications,
    # horizon and discount rate
    assert c.paths == tuple(ranged_paths(today)) and len(c.paths) == 77
    assert abs(c.probability - 0.5) <= 3 * c.standard_error
    assert c.standard_error == pytest.approx(math.sqrt(c.probability * (1 - c.probability) / 200))
    assert list(c.draws.columns) == [*c.paths, "gain", "unsettled"] and len(c.draws) == 200
    assert c.unsettled == 0 and (c.draws["unsettled"] == "").all()
    assert str(c.n) in c.summary() and "%" in c.summary()


def test_draws_beyond_a_stated_range_are_evaluated(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    c = cm.chance_it_pays(
        today, aligned, n=40, seed=1, paths=[KNEE], gain=drawn_knee, progress=False
    )
    knee = c.draws[KNEE]
    assert knee.min() < 0.8 and knee.max() > 0.9  # the prior's tails: 10% outside the range
    assert np.array_equal(c.draws["gain"], knee)  # each scenario built with its draw
    assert np.sort(knee.to_numpy())[[2, 37]] == pytest.approx([0.8, 0.9], abs=0.01)


def test_unsettled_draws_are_recorded_not_fatal(today: cm.Scenario, aligned: cm.Scenario) -> None:
    kw = {"paths": [KNEE], "gain": unsettled_above_knee, "progress": False}
    c = cm.chance_it_pays(today, aligned, n=40, seed=2, **kw)
    knee, gain = c.draws[KNEE].to_numpy(), c.draws["gain"].to_numpy()
    high = knee > 0.85
    assert c.unsettled == int(high.sum()) == 20  # the prior's median is the file's 0.85
    assert np.isnan(gain[high]).all() and np.isfinite(gain[~high]).all()
    assert c.draws["unsettled"][high].str.contains("unsettled corner").all()
    assert c.draws["unsettled"][~high].eq("").all()
    # the probability is over the settled draws: knee in (0.84, 0.85] pays, below not
    settled = knee[~high]
    assert c.probability == pytest.approx(np.mean(settled > 0.84))
    assert "20 draws did not settle" in c.summary() and "of 20 draws" in c.summary()
    with pytest.raises(cm.ConvergenceError, match="none of the 8 draws settled"):
        cm.chance_it_pays(
            today, aligned, n=8, seed=2, paths=[(KNEE, 0.9, 0.95)],
            gain=unsettled_above_knee, progress=False,
        )  # fmt: skip


SOURCED = ("company.levers.sales.overpromise.cost", "sales.team_identification",
           "settings.horizon", "settings.discount_rate")  # fmt: skip


def drawn_sourced(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """The horizon both scenarios were built with; the other sourced draws must agree."""
    for p in SOURCED:
        assert today.get(p) == proposal.get(p), p
    return float(proposal.get("settings.horizon"))


def test_every_stated_range_is_a_prior_and_tails_are_evaluated(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    """By default every number with a stated range is drawn (coefficients, effort costs,
    team identification, horizon, discount rate); a draw beyond a lever cost's or a
    setting's stated range is still set (its range widened), as a coefficient's is."""
    from compmodel.paths import ranged_paths

    assert set(SOURCED) <= set(ranged_paths(today))
    c = cm.chance_it_pays(today, aligned, n=60, seed=4, paths=list(SOURCED),
                          gain=drawn_sourced, progress=False)  # fmt: skip
    h = c.draws["settings.horizon"]
    assert np.array_equal(h, np.round(h)) and h.min() >= 1  # whole years
    assert h.min() < 3 or h.max() > 10  # 10% of the prior lies outside 3-10
    assert np.array_equal(c.draws["gain"], h)
    cost = c.draws[SOURCED[0]]
    assert cost.min() < 75_000 or cost.max() > 1_200_000
    assert (c.draws[SOURCED[3]] > 0).all()


def test_same_seed_same_numbers(today: cm.Scenario, aligned: cm.Scenario) -> None:
    runs = [
        cm.chance_it_pays(
            today,
            aligned,
            n=8,
            seed=s,
            paths=[KNEE, OTIF],
            gain="operating_profit",
            progress=False,
        )
        for s in (7, 7, 8)
    ]
    pd.testing.assert_frame_equal(runs[0].draws, runs[1].draws, check_exact=True)
    assert runs[0].probability == runs[1].probability
    assert runs[0].seed == 7 and runs[0].n == 8
    assert not runs[0].draws.equals(runs[2].draws)
    row = runs[0].draws.iloc[2]  # a draw's gain is the two scenarios solved at it
    values = [(p, float(row[p])) for p in runs[0].paths]

    def at(s: cm.Scenario) -> cm.Scenario:
        coefs = dict(s.company.coefficients)
        for p, v in values:
            name = p.rpartition(".")[2]
            c = coefs[name]
            lo, hi = c.range or (v, v)
            coefs[name] = dataclasses.replace(c, value=v, range=(min(lo, v), max(hi, v)))
        return dataclasses.replace(s, company=dataclasses.replace(s.company, coefficients=coefs))

    assert row["gain"] == _op_gain(at(today), at(aligned))


def test_a_process_pool_gives_the_serial_answer(today: cm.Scenario, aligned: cm.Scenario) -> None:
    kw = {"gain": "operating_profit", "progress": False}
    serial_c = cm.chance_it_pays(today, aligned, n=8, seed=7, paths=[KNEE, OTIF], **kw)
    serial_w = cm.where_it_pays(today, aligned, KNEE, OTIF, grid=3, **kw)
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        pooled_c = cm.chance_it_pays(
            today, aligned, n=8, seed=7, paths=[KNEE, OTIF], executor=pool, **kw
        )
        pooled_w = cm.where_it_pays(today, aligned, KNEE, OTIF, grid=3, executor=pool, **kw)
    pd.testing.assert_frame_equal(serial_c.draws, pooled_c.draws, check_exact=True)
    assert serial_c.probability == pooled_c.probability
    assert np.array_equal(serial_w.gain, pooled_w.gain)


# --------------------------------------------------------------------------------------
# the gain split, free of order
# --------------------------------------------------------------------------------------
def test_gain_split_is_the_shapley_average_of_both_orders(
    today: cm.Scenario, aligned: cm.Scenario
) -> None:
    s = cm.gain_split(today, aligned)
    base, full = s.baseline.operating_profit, s.proposal.operating_profit
    plans, bridged = s.plans_only.operating_profit, s.bridges_only.operating_profit
    assert s.plans_first == (plans - base, full - plans)
    assert s.bridges_first == (full - bridged, bridged - base)
    expected = cm.solve(dataclasses.replace(today, bridges=dict(aligned.bridges)))
    # both steady states: customer bases found to 1e-9 relative (steady.XTOL) from
    # different first points, so profits agree to a few 1e-9 (seen: 2.1e-9)
    assert bridged == pytest.approx(expected.operating_profit, rel=1e-8)
    assert s.plan_change == pytest.approx((s.plans_first[0] + s.bridges_first[0]) / 2, rel=1e-12)
    assert s.bridges == pytest.approx((s.plans_first[1] + s.bridges_first[1]) / 2, rel=1e-12)
    assert s.plan_change + s.bridges == pytest.approx(s.total, rel=1e-12)
    assert s.total == full - base
    for order in (s.plans_first, s.bridges_first):
        assert sum(order) == pytest.approx(s.total, rel=1e-12)


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
def test_errors_name_the_fix(today: cm.Scenario, aligned: cm.Scenario) -> None:
    kw = {"gain": always_positive, "progress": False}
    with pytest.raises(cm.ParameterPathError, match="Did you mean"):
        cm.where_it_pays(today, aligned, "company.coefficients.load_kne", OTIF, **kw)
    for grid in (1, 102, 2.0, True):
        with pytest.raises(cm.ScenarioError, match=r"grid.*2 to 101"):
            cm.where_it_pays(today, aligned, KNEE, OTIF, grid=grid, **kw)
    with pytest.raises(cm.ScenarioError, match=r"no stated range.*\(path, low, high\)"):
        cm.where_it_pays(today, aligned, KNEE, "sales.target_incentive", **kw)
    with pytest.raises(cm.ScenarioError, match=r"with_value refuses.*0\.8 <= low < high <= 0\.9"):
        cm.where_it_pays(today, aligned, (KNEE, 0.7, 0.9), OTIF, **kw)
    with pytest.raises(cm.ScenarioError, match=r"low 0\.9 must be below high 0\.8"):
        cm.where_it_pays(today, aligned, (KNEE, 0.9, 0.8), OTIF, **kw)
    with pytest.raises(cm.ScenarioError, match="same path"):
        cm.where_it_pays(today, aligned, KNEE, KNEE, **kw)
    with pytest.raises(cm.ScenarioError, match="allowed: 'npv', 'operating_profit'"):
        cm.where_it_pays(today, aligned, KNEE, OTIF, gain="profit")
    with pytest.raises(cm.ScenarioError, match="finite"):
        cm.where_it_pays(today, aligned, KNEE, OTIF, grid=2, gain=not_finite, progress=False)
    with cf.ProcessPoolExecutor(max_workers=1) as pool:  # no worker starts: refused first
        with pytest.raises(cm.ScenarioError, match="module level"):
            cm.where_it_pays(
                today, aligned, KNEE, OTIF, executor=pool, gain=lambda a, b: 0.0, progress=False
            )
    for n in (1, 0, 2.5):
        with pytest.raises(cm.ScenarioError, match=r"n: .*2 to 100000"):
            cm.chance_it_pays(today, aligned, n=n, **kw)
    with pytest.raises(cm.ScenarioError, match="seed"):
        cm.chance_it_pays(today, aligned, seed=-1, **kw)
    with pytest.raises(
        cm.ScenarioError, match=r"no prior.*\('sales.target_incentive', low, high\)"
    ):
        cm.chance_it_pays(today, aligned, paths=["sales.target_incentive"], **kw)
    with pytest.raises(cm.ParameterPathError, match="Did you mean"):
        cm.chance_it_pays(today, aligned, paths=["company.coefficients.load_kne"], **kw)
    with pytest.raises(cm.ScenarioError, match="once"):
        cm.chance_it_pays(today, aligned, paths=[KNEE, (KNEE, 0.8, 0.9)], **kw)
    with pytest.raises(cm.ScenarioError, match="empty"):
        cm.chance_it_pays(today, aligned, paths=[], **kw)
