"""compmodel.charts: the numbers plotted are the library's numbers, and every chart renders.

Each chart's ``data`` is compared with the frame or solution it was drawn from (the
oracle is the library call, not the chart code), plus the facts a reader relies on:
a payout curve pays the target incentive at target and nothing below threshold, a
profit walk's steps add up to the difference in operating profit, the ladder's share
of the gap at the equilibrium is the alignment efficiency. Each chart is rendered to PNG
through vl-convert, offline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

import compmodel as cm
from compmodel import charts
from compmodel.sensitivity import figure_of

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _linear_gain(today: cm.Scenario, proposal: cm.Scenario) -> float:
    """A gain with a known zero line, for the where-it-pays chart (no solve)."""
    return 10.0 * (proposal.get("company.coefficients.load_knee") - 0.843) + 0.1 * (
        proposal.get("company.coefficients.customer_otif") - 4.0
    )


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    aligned = cm.load_scenario(SAMPLES / "acme_aligned.toml")
    s1, s2 = cm.solve(today), cm.solve(aligned)
    one = cm.sweep(aligned, {"sales.shared_share": [0.0, 0.25, 0.5]}, progress=False)
    two = cm.sweep(
        aligned,
        {"sales.shared_share": [0.0, 0.5], "sales.target_incentive": [0.6, 0.8]},
        progress=False,
    )
    return {
        "today": today,
        "aligned": aligned,
        "s1": s1,
        "s2": s2,
        "cmp": cm.compare({"today": s1, "aligned": s2}),
        "sim": cm.simulate(aligned, seed=3, n_draws=2_000, solution=s2),
        "walk": cm.profit_waterfall(s1, s2),
        "wl": cm.winners_losers(
            today, aligned, n_draws=2_000, before_solution=s1, after_solution=s2
        ),
        "one": one,
        "two": two,
        "tornado": cm.tornado(
            aligned,
            paths=["company.coefficients.price", "company.coefficients.overpromise_win"],
            progress=False,
        ),
        "bridges": cm.bridge_values(
            dataclasses.replace(
                today, name="today with meetings", bridges={"meetings": 4.0, "rotation_days": 5.0}
            )
        ),
        "where": cm.where_it_pays(
            today,
            aligned,
            "company.coefficients.load_knee",
            "company.coefficients.customer_otif",
            grid=5,
            gain=_linear_gain,
            progress=False,
        ),
        "ladder": {
            "no incentive": cm.no_incentive(aligned),
            "aligned": s2,
            "first best": cm.first_best(aligned),
        },
    }


def _layer_data(chart: alt.TopLevelMixin) -> pd.DataFrame:
    data = chart.data
    assert isinstance(data, pd.DataFrame)
    return data


# --------------------------------------------------------------------------------------
def test_payout_curve_pays_the_target_incentive_at_target(world: dict[str, Any]) -> None:
    today = world["today"]
    sales = today.departments["sales"]
    comp = sales.plan.components["bookings"]
    curve = comp.payout
    chart = charts.payout_curve(today, "sales", "bookings", marker=2.1e6)
    data = _layer_data(chart)
    at_target = comp.weight * sales.target_incentive * sales.base_pay
    marks = chart.layer[2].data.set_index("mark")
    assert marks.loc["target", "metric_value"] == curve.target
    assert marks.loc["target", "payout"] == pytest.approx(at_target, rel=1e-12)
    assert marks.loc["threshold", "payout"] == pytest.approx(curve.payout_at_threshold * at_target)
    assert marks.loc["cap", "payout"] == pytest.approx(curve.payout_at_cap * at_target)
    assert "expected" in marks.index
    below = data[data["metric_value"] < curve.threshold]
    above = data[data["metric_value"] > curve.cap]
    assert len(below) > 0 and (below["payout"] == 0).all()
    assert len(above) > 0 and np.allclose(above["payout"], curve.payout_at_cap * at_target)
    # linear between threshold and target, as the curve's points say
    mid = (curve.threshold + curve.target) / 2
    i = int(np.argmin(abs(data["metric_value"] - mid)))
    x = data["metric_value"].iloc[i]
    expected = at_target * (x - curve.threshold) / (curve.target - curve.threshold)
    assert data["payout"].iloc[i] == pytest.approx(expected, rel=1e-9)


def test_payout_curve_refuses_unknown_names(world: dict[str, Any]) -> None:
    with pytest.raises(cm.ScenarioError, match="allowed"):
        charts.payout_curve(world["today"], "marketing", "bookings")
    with pytest.raises(cm.ScenarioError, match="bookings"):
        charts.payout_curve(world["today"], "sales", "margin")


def test_behaviour_shift_plots_each_solutions_levers(world: dict[str, Any]) -> None:
    chart = charts.behaviour_shift(world["cmp"], scenario=world["today"])
    data = chart.data
    for label, sol in (("today", world["s1"]), ("aligned", world["s2"])):
        rows = data[data["scenario"] == label]
        got = {
            f"{d}.{lv}": v
            for d, lv, v in zip(rows["department"], rows["lever"], rows["value"], strict=True)
        }
        assert got == pytest.approx(dict(sol.levers), abs=0)
    # a fixed axis from the levers' bounds, so a slider does not move it
    uppers = [
        lv.upper
        for ls in world["today"].company.levers.values()
        for lv in ls.values()
        if lv.upper is not None
    ]
    assert chart.to_dict()["encoding"]["x"]["scale"]["domain"] == [0.0, max(uppers)]


def test_outcomes_show_both_values_and_which_way_is_better(world: dict[str, Any]) -> None:
    """Each figure's change is flagged by its own direction: up is better for OTIF and
    bookings, down for defects and the compensation bill.

    Today -> aligned in the steady state moves every outcome the better way (fewer
    over-promised quotes win less, but the customers kept raise the customer base by
    more, so steady bookings rise) except the bill, which rises. A higher-is-better
    figure that falls is shown on year 1 of the change (today's customer base, before
    the customers kept have reordered): bookings and revenue fall there."""
    chart = charts.outcomes(world["cmp"], scenario=world["today"], domain=(-0.5, 0.5))
    data = chart.data.set_index("figure")
    for name in charts.DEFAULT_OUTCOMES:
        assert data.loc[name, "before"] == figure_of(world["s1"], name)
        assert data.loc[name, "after"] == figure_of(world["s2"], name)
    assert data.loc["otif", "change"] > 0 and data.loc["otif", "better"]
    # lower is better for defects: a fall is an improvement
    assert data.loc["defect_rate", "change"] < 0 and data.loc["defect_rate", "better"]
    # lower is better for the bill: a rise is not
    bill = data.loc["compensation_bill"]
    assert bill["change"] > 0 and not bill["better"] and bill["status"] == "worse"
    assert data.loc["bookings", "change"] > 0 and data.loc["bookings", "better"]
    assert data.loc["otif", "text"] == (
        f"{world['s1'].metrics['otif']:.1%} → {world['s2'].metrics['otif']:.1%}"
    )
    assert chart.to_dict()["layer"][0]["encoding"]["x"]["scale"]["domain"] == [-0.5, 0.5]
    # year 1: higher is better for bookings, and they fall
    (year1,) = cm.pnl(world["aligned"], world["today"], horizon=1).solutions
    first = charts.outcomes(cm.compare({"today": world["s1"], "aligned, year 1": year1}),
                            scenario=world["today"]).data.set_index("figure")  # fmt: skip
    assert first.loc["bookings", "after"] == figure_of(year1, "bookings")
    assert first.loc["bookings", "change"] < 0 and not first.loc["bookings", "better"]
    assert first.loc["bookings", "status"] == "worse"
    assert first.loc["otif", "change"] > 0 and first.loc["otif", "better"]


def test_outcomes_refuse_a_figure_not_in_the_comparison(world: dict[str, Any]) -> None:
    with pytest.raises(cm.ScenarioError, match="not a company figure"):
        charts.outcomes(world["cmp"], figures=["happiness"])
    with pytest.raises(cm.ScenarioError, match="compare"):
        charts.outcomes(world["walk"])


def test_profit_waterfall_steps_add_up_to_the_change_in_profit(world: dict[str, Any]) -> None:
    chart = charts.profit_waterfall(world["walk"], scenario=world["today"])
    data = chart.data
    first, last = data.iloc[0], data.iloc[-1]
    assert first["end"] == world["s1"].operating_profit
    assert last["end"] == world["s2"].operating_profit
    drivers = data.iloc[1:-1]
    assert drivers["amount"].sum() == pytest.approx(
        world["s2"].operating_profit - world["s1"].operating_profit, rel=1e-9
    )
    # each bar starts where the previous one ended
    assert np.allclose(drivers["start"].to_numpy(), data["end"].iloc[:-2].to_numpy())
    assert set(drivers["kind"]) <= {"gain", "loss"}
    assert (drivers.loc[drivers["amount"] < 0, "kind"] == "loss").all()
    with pytest.raises(cm.ScenarioError, match="profit_waterfall"):
        charts.profit_waterfall(world["cmp"].reset_index())


def test_compensation_bill_shows_the_simulated_quantiles_and_the_cap(
    world: dict[str, Any],
) -> None:
    sim = world["sim"]
    data = charts.compensation_bill(sim, domain=(0, 3e6)).data
    summary = sim.summary.set_index("department")
    caps = sim.budget.departments.set_index("department")["max_exposure"]
    assert list(data["department"]) == [charts.label(d) for d in caps.index]
    for row, dept in zip(data.itertuples(), caps.index, strict=True):
        assert row.p10 == summary.loc[dept, "incentive_p10"]
        assert row.p50 == summary.loc[dept, "incentive_p50"]
        assert row.p90 == summary.loc[dept, "incentive_p90"]
        assert row.cap == caps[dept]
        assert row.p10 <= row.p50 <= row.p90 <= row.cap


def test_attainment_and_winners_losers_are_the_people_frames(world: dict[str, Any]) -> None:
    sim = world["sim"]
    data = charts.attainment(sim).data
    sales = sim.people[sim.people["department"] == "sales"]
    assert list(data["person"]) == list(sales["person"])
    assert np.array_equal(data["attainment"], sales["attainment_mean"])
    assert np.array_equal(data["share_at_or_above_quota"], sales["share_at_or_above_quota"])
    with pytest.raises(cm.ScenarioError, match="no per-person quotas"):
        charts.attainment(sim, department="production")

    wl = world["wl"]
    data = charts.winners_losers(wl).data
    assert np.array_equal(data["change_ce"], wl["change_ce"])
    expect = np.where(
        wl["below_market_after"],
        "below market after",
        np.where(wl["change_ce"] > 0, "gains", "loses"),
    )
    assert list(data["status"]) == list(expect)


def test_sweep_line_marks_the_best_value(world: dict[str, Any]) -> None:
    frame = world["one"]
    data = charts.sweep_line(frame, "operating_profit", scenario=world["aligned"]).data
    rows = frame[(frame["section"] == "company") & (frame["figure"] == "operating_profit")]
    assert list(data["setting"]) == list(rows["sales.shared_share"])
    assert list(data["value"]) == list(rows["value"])
    assert data.loc[data["best"], "value"].item() == rows["value"].max()
    # lower is better for defects: the best point is the minimum
    data = charts.sweep_line(frame, "defect_rate", scenario=world["aligned"]).data
    assert data.loc[data["best"], "value"].item() == data["value"].min()
    # a lever by its dotted name
    data = charts.sweep_line(frame, "sales.overpromise").data
    rows = frame[(frame["department"] == "sales") & (frame["figure"] == "overpromise")]
    assert list(data["value"]) == list(rows["value"])
    with pytest.raises(cm.ScenarioError, match="one-parameter sweep"):
        charts.sweep_line(world["two"])
    with pytest.raises(cm.ScenarioError, match="not in this sweep"):
        charts.sweep_line(frame, "happiness")


def test_a_lever_has_no_best_point_and_paths_read_as_words(world: dict[str, Any]) -> None:
    """More over-promising is not "best": only figures with a direction get a marker."""
    chart = charts.sweep_line(world["one"], "sales.overpromise", scenario=world["aligned"])
    assert not chart.data["best"].any()
    assert "best" not in chart.to_dict()["title"]["subtitle"]
    assert charts.label("sales.curves.bookings.cap") == "Sales: bookings curve, cap"
    assert charts.label("sales.weights.otif") == "Sales: weight on otif"
    assert charts.label("bridges.meetings") == "Cross-department meetings"
    assert charts.label("bridges.other") == "Bridge: other"
    assert charts.label("sales.shared_share & production.shared_share") == (
        "Shared share: sales, production"
    )


def test_profit_waterfall_between_two_variants_of_one_scenario_keeps_both_ends(
    world: dict[str, Any],
) -> None:
    variant = world["today"].with_value("sales.target_incentive", 0.9)
    walk = cm.profit_waterfall(world["s1"], cm.solve(variant))
    data = charts.profit_waterfall(walk).data
    assert data["driver"].is_unique
    assert data["driver"].iloc[0].startswith("before: ")
    assert data["driver"].iloc[-1].startswith("after: ")


def test_profit_waterfall_is_called_a_profit_walk_on_screen(world: dict[str, Any]) -> None:
    title = charts.profit_waterfall(world["walk"]).to_dict()["title"]
    assert title["text"] == "Profit walk: Acme today → Acme aligned"


def test_old_chart_names_warn_and_return_what_the_new_ones_return(
    world: dict[str, Any],
) -> None:
    walk = world["walk"]
    with pytest.warns(DeprecationWarning, match="charts.waterfall_frame"):
        old_frame = charts.bridge_frame(walk)
    pd.testing.assert_frame_equal(old_frame, charts.waterfall_frame(walk), check_exact=True)
    new = charts.profit_waterfall(walk, scenario=world["today"], domain=(0.0, 5e6))
    with pytest.warns(DeprecationWarning, match="charts.profit_waterfall") as record:
        old = charts.profit_bridge(walk, scenario=world["today"], domain=(0.0, 5e6))
    (warning,) = [w for w in record if "profit_waterfall" in str(w.message)]
    assert warning.filename == __file__  # stacklevel=2: it points at the caller
    pd.testing.assert_frame_equal(old.data, new.data, check_exact=True)
    assert old.to_dict() == new.to_dict()
    assert "profit_bridge" not in charts.__all__


def test_sweep_heatmap_holds_every_grid_point(world: dict[str, Any]) -> None:
    frame = world["two"]
    data = charts.sweep_heatmap(frame, scenario=world["aligned"]).data
    rows = frame[(frame["section"] == "company") & (frame["figure"] == "operating_profit")]
    assert len(data) == 4
    assert list(data["y"]) == list(rows["sales.shared_share"])
    assert list(data["x"]) == list(rows["sales.target_incentive"])
    assert list(data["value"]) == list(rows["value"])
    assert data["best"].sum() == 1 and data.loc[data["best"], "value"].item() == rows["value"].max()


def test_tornado_plots_both_ends_in_rank_order(world: dict[str, Any]) -> None:
    frame = world["tornado"]
    data = charts.tornado(frame, scenario=world["aligned"]).data
    for r in frame.itertuples():
        mine = data[data["path"] == r.path].set_index("which")
        assert mine.loc["low", "delta"] == r.delta_low
        assert mine.loc["high", "delta"] == r.delta_high
        assert mine.loc["low", "setting"] == r.low
        assert (mine["rank"] == r.rank).all()


def test_value_ladder_share_of_gap_is_alignment_efficiency(world: dict[str, Any]) -> None:
    data = charts.value_ladder(world["ladder"], scenario=world["aligned"]).data
    assert list(data["total_surplus"]) == [s.total_surplus for s in world["ladder"].values()]
    assert data["share_of_gap"].iloc[0] == 0.0 and data["share_of_gap"].iloc[-1] == 1.0
    assert data["share_of_gap"].iloc[1] == pytest.approx(world["s2"].alignment_efficiency, rel=1e-9)
    # one equilibrium and the scenario: the benchmarks are solved for you
    same = charts.value_ladder(world["s2"], scenario=world["aligned"]).data
    assert np.allclose(same["total_surplus"], data["total_surplus"], rtol=1e-9)
    with pytest.raises(cm.ScenarioError, match="scenario="):
        charts.value_ladder(world["s2"])


def test_bridge_values_plots_net_value_and_breakeven(world: dict[str, Any]) -> None:
    frame = world["bridges"]
    data = charts.bridge_values(frame, scenario=world["today"]).data
    assert np.array_equal(data["net_value"], frame["net_value"])
    assert np.array_equal(data["breakeven"], frame["breakeven"], equal_nan=True)
    paying = data["net_value"] > 0
    assert (data.loc[paying, "status"] == "pays for itself").all()
    assert (data.loc[~paying, "status"] == "costs more than it adds").all()
    for row, be in zip(data.itertuples(), frame["breakeven"], strict=True):
        assert ("breaks even at" in row.text) == bool(np.isfinite(be))


# --------------------------------------------------------------------------------------
CHARTS: dict[str, Callable[[dict[str, Any]], alt.TopLevelMixin]] = {
    "payout_curve": lambda w: charts.payout_curve(w["today"], "sales", "bookings"),
    "behaviour_shift": lambda w: charts.behaviour_shift(w["cmp"], scenario=w["today"]),
    "outcomes": lambda w: charts.outcomes(w["cmp"], scenario=w["today"]),
    "profit_waterfall": lambda w: charts.profit_waterfall(w["walk"], scenario=w["today"]),
    "compensation_bill": lambda w: charts.compensation_bill(w["sim"]),
    "attainment": lambda w: charts.attainment(w["sim"]),
    "winners_losers": lambda w: charts.winners_losers(w["wl"]),
    "sweep_line": lambda w: charts.sweep_line(w["one"], scenario=w["aligned"]),
    "sweep_heatmap": lambda w: charts.sweep_heatmap(w["two"], scenario=w["aligned"]),
    "tornado": lambda w: charts.tornado(w["tornado"], scenario=w["aligned"]),
    "bridge_values": lambda w: charts.bridge_values(w["bridges"], scenario=w["today"]),
    "value_ladder": lambda w: charts.value_ladder(w["ladder"], scenario=w["aligned"]),
    "where_it_pays": lambda w: charts.where_it_pays(w["where"]),
}


def test_the_gallery_covers_every_chart() -> None:
    public = {
        n for n in charts.__all__ if n not in ("DEFAULT_OUTCOMES", "enable_notebook", "label")
    }
    assert public == set(CHARTS)


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_renders_offline_to_png(world: dict[str, Any], name: str) -> None:
    chart = CHARTS[name](world)
    spec = chart.to_dict()
    assert spec["title"]["text"], "every chart has a title a reader can follow"
    png = vlc.vegalite_to_png(spec, scale=1.0)
    assert png[:8] == PNG_MAGIC
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert width > 300 and height > 100


def test_charts_do_not_change_the_frames_they_read(world: dict[str, Any]) -> None:
    before = world["walk"].copy()
    charts.profit_waterfall(world["walk"])
    pd.testing.assert_frame_equal(world["walk"], before)
    tiny = dataclasses.replace(world["today"], name="renamed")
    assert charts.payout_curve(tiny, "sales", "bookings").data.equals(
        charts.payout_curve(world["today"], "sales", "bookings").data
    )
