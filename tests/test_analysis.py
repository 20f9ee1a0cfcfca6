"""compare, the plan-cost sheet, winners and losers, and participation with turnover."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import compmodel as cm

THEORY = Path(__file__).resolve().parents[1] / "data" / "samples" / "theory"

SALES = """
name = "a sales team with a roster"
[settings]
participation = "fixed_base"
payroll_tax_rate = 0.08
[company]
kind = "linear"
[company.levers.sales.effort]
rest = 0.0
cost = 400.0          # USD per (effort unit)^2 per rep
value = 0.0
lower = 0.0
upper = 100.0
[company.means.bookings]
intercept = 800000.0  # USD per rep with no extra effort
loadings = { "sales.effort" = 10000.0 }   # USD of bookings per effort unit
[company.means.revenue]
intercept = 24000000.0
loadings = { "sales.effort" = 240000.0 }
[metrics.bookings]
unit = "USD"
scope = "individual"
[metrics.revenue]
unit = "USD"
scope = "company"
[forecast.bookings]
sd = 50000.0
individual_sd = 150000.0
[forecast.revenue]
sd = 1000000.0
[departments.sales]
roster = "reps.csv"
base_pay = 70000.0
target_incentive = 0.0
risk_aversion = 0.0
market_reference = 120000.0
quota_metric = "bookings"
quota = 1000000.0
[departments.sales.components.commission]
metric = "bookings"
kind = "rate_table"
target = 1000000.0
mode = "marginal"
tiers = [ { up_to = 1.0, rate = 0.04 }, { rate = 0.06 } ]
"""

ROSTER = "person,base,quota,ability\nann,72000,1200000,1.2\nbob,68000,900000,0.9\ncat,70000,1000000,1.0\n"


@pytest.fixture
def sales(tmp_path: Path) -> cm.Scenario:
    (tmp_path / "reps.csv").write_text(ROSTER)
    (tmp_path / "sales.toml").write_text(SALES)
    return cm.load_scenario(tmp_path / "sales.toml")


def test_compare_has_one_row_per_figure_and_deltas() -> None:
    s = cm.load_scenario(THEORY / "hm87.toml")
    t = s.with_value("agent.target_incentive", 0.5)
    table = cm.compare({"today": s, "proposal": t})
    assert list(table.columns) == ["today", "proposal", "proposal - today"]
    a, b = cm.solve(s), cm.solve(t)
    row = table.loc[("levers", "agent", "effort")]
    assert row["today"] == pytest.approx(a.levers["agent.effort"])
    assert row["proposal"] == pytest.approx(b.levers["agent.effort"])
    profit = table.loc[("company", "", "operating_profit")]
    assert profit["proposal - today"] == pytest.approx(b.operating_profit - a.operating_profit)
    same = cm.compare({"a": s, "b": s})
    np.testing.assert_allclose(same["b - a"].to_numpy(), 0.0, atol=1e-12)
    for figure in ("total_surplus", "alignment_efficiency", "compensation_bill"):
        assert ("company", "", figure) in table.index


def test_cost_sheet_figures(sales: cm.Scenario) -> None:
    sheet = cm.cost_sheet(sales, n_draws=40_000, seed=1).set_index("department")
    row = sheet.loc["sales"]
    sol = cm.solve(sales)
    e = sol.levers["sales.effort"]
    assert row["headcount"] == 3
    # at target each rep books their quota: 4% of it
    assert row["payout_at_target"] == pytest.approx(0.04 * (1.2e6 + 0.9e6 + 1.0e6))
    assert row["target_incentive_per_person"] == pytest.approx(0.04 * 3.1e6 / 3)
    assert row["ote_per_person"] == pytest.approx((210_000 + 0.04 * 3.1e6) / 3)
    assert row["pay_mix"] == pytest.approx(210_000 / (210_000 + 0.04 * 3.1e6))
    assert row["leverage"] == math.inf and row["payout_at_cap"] == math.inf  # uncapped
    # share of reps at or above quota: each rep's attainment is normal
    sd = math.hypot(50_000, 150_000)
    mean = 800_000 + 10_000 * e
    reach = [
        stats.norm.sf(1.0, a * mean / 1e6, sd / 1e6) for a in (1.2, 0.9, 1.0)
    ]  # person k's bookings scale with quota/1e6; attainment = bookings / quota
    assert row["share_at_or_above_quota"] == pytest.approx(np.mean(reach), abs=0.01)
    assert row["payout_p90"] > row["payout_expected"]
    revenue = sol.metrics["revenue"]
    assert row["cost_share_of_revenue"] == pytest.approx(row["incentive_cost"] / revenue)
    assert row["incentive_cost"] == pytest.approx(1.08 * row["payout_expected"])
    assert "cost_share_of_gross_margin" not in sheet.columns  # no gross margin: left out
    with_budget = cm.cost_sheet(sales, n_draws=2_000, budgets={"sales": 100_000.0})
    b = with_budget.set_index("department").loc["sales"]
    assert b["cost_minus_budget"] == pytest.approx(b["incentive_cost"] - 100_000.0)


def test_winners_and_losers_per_person(sales: cm.Scenario) -> None:
    richer = sales.with_value("sales.curves.commission.tiers.1.rate", 0.08)
    table = cm.winners_losers(sales, richer, n_draws=2_000).set_index("person")
    assert list(table.index) == ["ann", "bob", "cat"]
    assert table["winner"].all()  # a richer accelerator: everyone's CE rises
    assert (table["change_pay"] > 0).all()
    # ann (ability 1.2, bigger quota) gains most
    assert table.loc["ann", "change_pay"] == table["change_pay"].max()
    # CE below the 120,000 market for someone whose pay stays low
    assert table.loc["bob", "below_market_after"] == bool(table.loc["bob", "ce_after"] < 120_000)
    poorer = sales.with_value("sales.curves.commission.tiers.0.rate", 0.01)
    down = cm.winners_losers(sales, poorer, n_draws=2_000)
    assert not down["winner"].any()


def test_fixed_base_turnover_costs_money(sales: cm.Scenario) -> None:
    calm = cm.solve(sales)
    assert calm.departments["sales"].retention == 1.0  # sensitivity 0: off
    nervous = cm.solve(sales.with_values({"settings.turnover_sensitivity": 2.0}))
    out = nervous.departments["sales"]
    gap = (120_000 - out.certainty_equivalent) / 120_000
    assert gap > 0
    assert out.retention == pytest.approx(1 - 2.0 * gap)
    cost = 3 * (1 - out.retention) * 0.5 * 70_000
    assert nervous.turnover_cost == pytest.approx(cost)
    assert nervous.operating_profit == pytest.approx(calm.operating_profit - cost, rel=1e-9)


def test_binding_participation_needs_a_market_reference() -> None:
    doc = cm.load_scenario(THEORY / "hm87.toml").to_dict()
    del doc["departments"]["agent"]["market_reference"]
    s = cm.scenario_from_dict(doc)
    with pytest.raises(cm.ScenarioError, match="market_reference"):
        cm.solve(s)


def test_solution_frame_is_tidy() -> None:
    sol = cm.solve(cm.load_scenario(THEORY / "department_template.toml"))
    f = sol.to_frame()
    assert list(f.columns) == ["section", "department", "figure", "value"]
    assert set(f["section"]) >= {"levers", "metrics", "pay", "company"}
    assert not f["value"].isna().any()


def test_no_company_model_is_a_clear_error() -> None:
    s = cm.load_scenario(
        Path(__file__).resolve().parents[1] / "data" / "samples" / "budget_today.toml"
    )
    with pytest.raises(cm.ScenarioError, match="company model"):
        cm.solve(s)


def test_line_of_sight_follows_headcount_identification_and_bridges() -> None:
    """``(1 + lambda (N - 1)) / N``: 1/N with no identification; the reference company's
    unofficial leaders raise lambda by ``leader_identification x U / 5`` (U leaders)."""
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    today = cm.load_scenario(samples / "acme_today.toml")
    frame = cm.line_of_sight(today).set_index("department")
    for name, dept in today.departments.items():
        assert frame.loc[name, "headcount"] == dept.headcount
        assert frame.loc[name, "line_of_sight"] == pytest.approx(1 / dept.headcount, rel=1e-15)
    assert frame.loc["sales", "shared_share"] == today.shared_share("sales")

    leaders = today.with_value("bridges.unofficial_leaders", 5.0)
    lam = today.company.coefficient("leader_identification")
    frame = cm.line_of_sight(leaders).set_index("department")
    assert frame.loc["sales", "team_identification"] == 0.0
    assert frame.loc["sales", "team_identification_effective"] == pytest.approx(lam)
    assert frame.loc["sales", "line_of_sight"] == pytest.approx((1 + lam * 23) / 24, rel=1e-12)
    half = cm.line_of_sight(today.with_value("bridges.unofficial_leaders", 2.5))
    assert half.set_index("department").loc["production", "team_identification_effective"] == (
        pytest.approx(lam / 2)
    )
