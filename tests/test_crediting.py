"""Crediting and clawbacks are parameter paths: with_value, sweep, tornado, dashboard.

``<dept>.crediting`` moves the commission to another metric of the order's life and
rescales its curve by the ratio of the two metrics at an equilibrium (so the same effort
reaches the same attainment); ``<dept>.clawbacks.cost_share`` and ``.late_share`` add,
change or (at 0) remove the two clawback forms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import compmodel as cm
from compmodel import paths
from compmodel.errors import ParameterPathError, PlanError, ScenarioError

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def today_solution(today: cm.Scenario) -> cm.Solution:
    return cm.solve(today)


def test_crediting_is_a_categorical_path_of_sales_only(today: cm.Scenario) -> None:
    own = cm.parameter_paths(today)
    assert {"sales.crediting", "sales.clawbacks.cost_share", "sales.clawbacks.late_share"} <= set(
        own
    )
    assert not [p for p in own if p.endswith(".crediting") and not p.startswith("sales.")]
    assert paths.get(today, "sales.crediting") == "bookings"
    assert paths.choices(today, "sales.crediting") == (
        "bookings", "shipped_revenue", "ontime_revenue", "shipped_margin", "ontime_margin",
    )  # fmt: skip
    assert today.get("sales.clawbacks.cost_share") == 0.0
    with pytest.raises(ParameterPathError, match="takes a name"):
        today.get("sales.crediting")
    hm87 = cm.load_scenario(SAMPLES / "theory" / "hm87.toml")
    assert not [p for p in cm.parameter_paths(hm87) if "credit" in p or "claw" in p]
    agent = next(iter(hm87.departments))
    with pytest.raises(ParameterPathError, match="no such setting"):
        hm87.with_value(f"{agent}.crediting", "bookings")


def test_crediting_rescales_the_curve_by_the_metrics_ratio_at_the_equilibrium(
    today: cm.Scenario, today_solution: cm.Solution
) -> None:
    before = today.departments["sales"].plan.components["bookings"].payout
    out = today.with_value("sales.crediting", "ontime_revenue", at=today_solution)
    comp = out.departments["sales"].plan.components["bookings"]
    k = today_solution.metrics["ontime_revenue"] / today_solution.metrics["bookings"]
    assert comp.metric == "ontime_revenue"
    assert isinstance(before, cm.PayoutCurve) and isinstance(comp.payout, cm.PayoutCurve)
    assert comp.payout.threshold == before.threshold * k
    assert comp.payout.target == before.target * k
    assert before.cap is not None and comp.payout.cap == before.cap * k
    assert comp.weight == 1.0 and 0.5 < k < 1.0  # late orders are not credited
    # without at= it solves the scenario being edited: the same numbers
    assert today.with_value("sales.crediting", "ontime_revenue") == out
    assert cm.credit_on(today, "ontime_revenue", at=today_solution) == out
    assert paths.get(out, "sales.crediting") == "ontime_revenue"
    # crediting on what it already is credited on changes nothing
    assert today.with_value("sales.crediting", "bookings") is today


def test_crediting_refuses_what_it_cannot_do(
    today: cm.Scenario, today_solution: cm.Solution
) -> None:
    with pytest.raises(
        ParameterPathError, match=r"allowed: 'bookings'.*Did you mean 'ontime_margin'"
    ):
        today.with_value("sales.crediting", "ontime_margn", at=today_solution)
    with pytest.raises(ParameterPathError, match="value must be a number"):
        today.with_value("sales.clawbacks.cost_share", "half")
    with pytest.raises(
        PlanError, match=r"departments\.sales\.components\.clawback\.share.*0 <= share <= 1"
    ):
        today.with_value("sales.clawbacks.cost_share", 1.5)
    with pytest.raises(PlanError, match="share"):
        today.with_value("sales.clawbacks.late_share", -0.1)


def test_clawbacks_add_change_and_remove_their_component(today: cm.Scenario) -> None:
    one = today.with_value("sales.clawbacks.cost_share", 0.3)
    claw = one.departments["sales"].plan.components["clawback"]
    assert claw.metric == "promise_cost" and claw.payout == cm.Clawback(share=0.3)
    two = one.with_value("sales.clawbacks.late_share", 0.5)
    late = two.departments["sales"].plan.components["late_clawback"]
    assert late.metric == "late_bookings"
    assert late.payout == cm.Clawback(share=0.5, rate_of="bookings")
    assert two.get("sales.clawbacks.late_share") == 0.5
    assert (
        two.with_value("sales.clawbacks.cost_share", 0.2).get("sales.curves.clawback.share") == 0.2
    )
    gone = two.with_value("sales.clawbacks.cost_share", 0.0).with_value(
        "sales.clawbacks.late_share", 0.0
    )
    assert gone == today
    # a file's own clawback is the one the path reads and moves
    mod = cm.load_scenario(SAMPLES / "acme_margin_on_delivery.toml")
    assert mod.get("sales.clawbacks.cost_share") == mod.get("sales.curves.clawback.share") == 0.1
    # with_values applies derived paths one after another
    both = today.with_values({"sales.clawbacks.cost_share": 0.3, "sales.clawbacks.late_share": 0.5})
    assert both == two


def test_sweep_over_crediting_names_matches_the_dashboard(today: cm.Scenario) -> None:
    from compmodel.live import Dashboard

    names = ["bookings", "ontime_margin"]
    frame = cm.sweep(today, {"sales.crediting": names}, progress=False)
    profit = frame.query("section == 'company' and figure == 'operating_profit'")
    by_name = dict(zip(profit["sales.crediting"], profit["value"], strict=True))
    dash = Dashboard(today, save_dir="/tmp/compmodel-test-saves")
    for name in names:
        dash.reset()  # from today's plans, as each sweep point is
        dash.set_value("sales.crediting", name)
        assert dash.note.value == "" or "not applied" not in dash.note.value
        # the same plan exactly; the same equilibrium to the solver's tolerance (the
        # dashboard follows the one on screen, search="warm"; the sweep searches anew)
        assert dash.scenario == today.with_value("sales.crediting", name)
        assert dash.solution.operating_profit == pytest.approx(by_name[name], rel=1e-7)
    with pytest.raises(ScenarioError, match="takes names from"):
        cm.sweep(today, {"sales.crediting": ["bookings", "revenue"]}, progress=False)


def test_clawbacks_sweep_and_tornado(today: cm.Scenario) -> None:
    frame = cm.sweep(today, {"sales.clawbacks.cost_share": [0.0, 0.5, 1.0]}, progress=False)
    over = frame.query("section == 'levers' and department == 'sales' and figure == 'overpromise'")
    assert list(over["sales.clawbacks.cost_share"]) == [0.0, 0.5, 1.0]
    promised = over["value"].to_numpy()  # charged for what it costs, sales promises less
    assert np.all(np.diff(promised) <= 0) and promised[0] > 0.1 > promised[-1]
    mod = cm.load_scenario(SAMPLES / "acme_margin_on_delivery.toml")
    tor = cm.tornado(mod, ["sales.clawbacks.cost_share"], spread=0.5, progress=False)
    row = tor.iloc[0]
    assert (row["low"], row["base"], row["high"]) == pytest.approx((0.05, 0.1, 0.15))
    assert row["figure_low"] == pytest.approx(
        cm.solve(mod.with_value("sales.clawbacks.cost_share", 0.05)).operating_profit, rel=1e-9
    )
    with pytest.raises(ScenarioError, match=r"takes a name.*compmodel\.sweep"):
        cm.tornado(today, ["sales.crediting"], spread=0.2, progress=False)
    with pytest.raises(ScenarioError, match="is 0"):
        cm.tornado(today, ["sales.clawbacks.cost_share"], spread=0.2, progress=False)
