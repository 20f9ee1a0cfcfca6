"""Scenarios: TOML round trips, company files, rosters and parameter paths."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

import compmodel as cm

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    for f in ("budget_today.toml", "sales_roster.csv"):
        shutil.copy(SAMPLES / f, tmp_path / f)
    return tmp_path / "budget_today.toml"


def test_round_trip_keeps_every_value(sample: Path, tmp_path: Path) -> None:
    s = cm.load_scenario(sample)
    out = tmp_path / "again.toml"
    cm.save_scenario(s, out)
    t = cm.load_scenario(out)
    assert t == s
    # and a second save is byte-identical (a stable, reviewable format)
    out2 = tmp_path / "again2.toml"
    cm.save_scenario(t, out2)
    assert out.read_text() == out2.read_text()


def test_saving_elsewhere_keeps_what_the_new_folder_holds(sample: Path, tmp_path: Path) -> None:
    """A roster inside the new file's folder tree stays a relative path; one outside is
    written inline, so the copy loads again without allow_dirs."""
    s = cm.load_scenario(sample)
    roster = s.departments["sales"].roster
    assert roster is not None and roster.source is not None
    up = roster.source.parent.parent  # a folder above: the roster is inside its tree
    cm.save_scenario(s, up / "copy.toml")
    doc = tomllib.loads((up / "copy.toml").read_text())
    assert doc["departments"]["sales"]["roster"] == os.path.relpath(roster.source, up)
    assert cm.load_scenario(up / "copy.toml") == s
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    cm.save_scenario(s, sub / "copy.toml")
    doc = tomllib.loads((sub / "copy.toml").read_text())
    assert isinstance(doc["departments"]["sales"]["roster"], list)  # inline
    assert cm.load_scenario(sub / "copy.toml") == s


def test_company_file_is_merged_and_kept_on_save(tmp_path: Path) -> None:
    (tmp_path / "company.toml").write_text(
        """
currency = "EUR"
[company]
kind = "none"
[company.coefficients]
win_rate_per_overpromise = { value = 0.04, unit = "share per promise", range = [0.0, 0.1], source = "assumed" }
churn_cost = 250000.0
[metrics.x]
unit = "units"
[forecast.x]
mean = 100.0
sd = 10.0
[departments.team]
headcount = 5
base_pay = 50000.0
target_incentive = 0.1
[departments.team.components.c]
metric = "x"
weight = 1.0
threshold = 80.0
target = 100.0
"""
    )
    scen = tmp_path / "proposal.toml"
    scen.write_text(
        """
company_file = "company.toml"
name = "proposal"
[departments.team]
target_incentive = 0.15
"""
    )
    s = cm.load_scenario(scen)
    assert s.currency == "EUR"
    assert s.departments["team"].target_incentive == 0.15
    assert s.departments["team"].headcount == 5
    coef = s.company.coefficients["win_rate_per_overpromise"]
    assert coef.range == (0.0, 0.1) and coef.unit == "share per promise"
    assert s.get("company.coefficients.win_rate_per_overpromise") == 0.04
    # change a coefficient and save: only the differences are written, the reference kept
    s2 = s.with_value("company.coefficients.win_rate_per_overpromise", 0.06)
    cm.save_scenario(s2, scen)
    doc = tomllib.loads(scen.read_text())
    assert doc["company_file"] == "company.toml"
    assert "metrics" not in doc
    assert doc["company"]["coefficients"]["win_rate_per_overpromise"]["value"] == 0.06
    again = cm.load_scenario(scen)
    assert again == s2
    assert again.company.coefficients["win_rate_per_overpromise"].range == (0.0, 0.1)


def test_inline_roster_round_trips(tmp_path: Path) -> None:
    doc = {
        "name": "inline",
        "metrics": {"b": {"unit": "USD", "scope": "individual"}},
        "forecast": {"b": {"mean": 1e6, "sd": 1e5}},
        "departments": {
            "sales": {
                "base_pay": 70_000.0,
                "quota_metric": "b",
                "quota": 1e6,
                "roster": [
                    {"person": "ann", "base": 72_000.0, "quota": 1.2e6, "ability": 1.1},
                    {"person": "bob", "base": 68_000.0, "quota": 0.9e6},
                ],
                "components": {
                    "c": {"metric": "b", "kind": "lump_sum", "quota": 1e6, "amount": 5000.0}
                },
            }
        },
    }
    s = cm.scenario_from_dict(doc)
    assert s.departments["sales"].headcount == 2
    cm.save_scenario(s, tmp_path / "s.toml")
    assert cm.load_scenario(tmp_path / "s.toml") == s


# --------------------------------------------------------------------------------------
# parameter paths
# --------------------------------------------------------------------------------------
def test_sweeping_a_single_weight_keeps_the_plan_valid(sample: Path) -> None:
    s = cm.load_scenario(sample)
    before = s.departments["customer_service"].plan.weights()
    for w in np.linspace(0.0, 1.0, 11):
        t = s.with_value("customer_service.weights.response_time", float(w))
        weights = t.departments["customer_service"].plan.weights()
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)
        assert weights["response_time"] == pytest.approx(w)
        assert t.get("customer_service.weights.response_time") == pytest.approx(w)
    # three components: the others keep their proportions
    doc = s.to_dict()
    comps = doc["departments"]["customer_service"]["components"]
    comps["tickets_closed"]["weight"] = 0.5
    comps["extra"] = {"metric": "otif", "weight": 0.2, "threshold": 0.7, "target": 0.8}
    s3 = cm.scenario_from_dict(doc, base_dir=s.base_dir)
    t3 = s3.with_value("customer_service.weights.extra", 0.6)
    w3 = t3.departments["customer_service"].plan.weights()
    assert w3["tickets_closed"] / w3["response_time"] == pytest.approx(0.5 / 0.3)
    assert sum(w3.values()) == pytest.approx(1.0)
    assert before == s.departments["customer_service"].plan.weights()  # s unchanged


def test_shared_share_rescales_within_groups(sample: Path) -> None:
    s = cm.load_scenario(sample)
    doc = s.to_dict()
    comps = doc["departments"]["customer_service"]["components"]
    comps["tickets_closed"]["weight"] = 0.5
    comps["response_time"]["weight"] = 0.3
    comps["profit"] = {
        "metric": "operating_profit", "weight": 0.15, "threshold": 6e6, "target": 9e6,
    }  # fmt: skip
    comps["otif"] = {"metric": "otif", "weight": 0.05, "threshold": 0.7, "target": 0.85}
    s = cm.scenario_from_dict(doc, base_dir=s.base_dir)
    assert s.get("customer_service.shared_share") == pytest.approx(0.2)
    t = s.with_value("customer_service.shared_share", 0.6)
    w = t.departments["customer_service"].plan.weights()
    assert w["profit"] + w["otif"] == pytest.approx(0.6)
    assert w["profit"] / w["otif"] == pytest.approx(3.0)
    assert w["tickets_closed"] / w["response_time"] == pytest.approx(5 / 3)
    assert sum(w.values()) == pytest.approx(1.0)
    with pytest.raises(cm.ParameterPathError, match="no weighted component on a company-scope"):
        s.with_value("production.shared_share", 0.3)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("leadership.curves.operating_profit.cap", 14_000_000.0),
        ("leadership.curves.otif.threshold", 0.7),
        ("leadership.gates.otif.threshold", 4_000_000.0),
        ("sales.curves.commission.tiers.1.rate", 0.028),
        ("sales.curves.club.amount", 8_000.0),
        ("sales.quota", 2_100_000.0),
        ("production.target_incentive", 0.1),
        ("production.headcount", 65),
        ("forecast.otif.sd", 0.4),
        ("settings.payroll_tax_rate", 0.08),
        ("departments.shipping.components.units_shipped.target", 42_000.0),
    ],
)
def test_any_number_is_addressable(sample: Path, path: str, value: float) -> None:
    s = cm.load_scenario(sample)
    t = s.with_value(path, value)
    assert t.get(path) == pytest.approx(value)
    assert s.get(path) != pytest.approx(value)
    assert path in cm.parameter_paths(s) or path.startswith("departments.")


def test_setting_a_missing_optional_field_adds_it(sample: Path) -> None:
    s = cm.load_scenario(sample)
    doc = s.to_dict()
    del doc["departments"]["production"]["components"]["throughput"]["cap"]
    del doc["departments"]["production"]["components"]["throughput"]["payout_at_cap"]
    s = cm.scenario_from_dict(doc, base_dir=s.base_dir)
    t = s.with_value("production.curves.throughput.cap", 47_000.0)
    assert t.departments["production"].plan.components["throughput"].payout.cap == 47_000.0


def test_unknown_path_names_the_nearest(sample: Path) -> None:
    s = cm.load_scenario(sample)
    with pytest.raises(cm.ParameterPathError, match=r"customer_service\.weights\.tickets_closed"):
        s.with_value("customer_service.weights.ticket_closed", 0.5)
    with pytest.raises(cm.ParameterPathError, match="Did you mean"):
        s.get("leadership.curves.operating_profit.capp")
    with pytest.raises(cm.ParameterPathError, match="department"):
        s.with_value("marketing.target_incentive", 0.1)


def test_weights_path_cannot_leave_the_plan_invalid(sample: Path) -> None:
    s = cm.load_scenario(sample)
    with pytest.raises(cm.ParameterPathError, match=r"0\.\.1"):
        s.with_value("customer_service.weights.response_time", 1.2)
    with pytest.raises(cm.ParameterPathError, match="only weighted component"):
        s.with_value("production.weights.throughput", 0.5)


def test_with_department_and_with_values_return_validated_copies(sample: Path) -> None:
    s = cm.load_scenario(sample)
    t = s.with_department("production", headcount=70, target_incentive=0.1)
    assert t.departments["production"].headcount == 70
    assert s.departments["production"].headcount == 60
    with pytest.raises(cm.ScenarioError, match="headcount"):
        s.with_department("production", headcount=-1)
    u = s.with_values({"production.target_incentive": 0.12, "forecast.otif.mean": 1.6})
    assert u.get("production.target_incentive") == 0.12
    assert u.get("forecast.otif.mean") == 1.6


def test_every_spelling_of_a_weight_path_rescales(sample: Path) -> None:
    s = cm.load_scenario(sample)
    for path in (
        "customer_service.weights.response_time",
        "customer_service.components.response_time.weight",
        "customer_service.curves.response_time.weight",
        "departments.customer_service.components.response_time.weight",
    ):
        w = s.with_value(path, 0.45).departments["customer_service"].plan.weights()
        assert w == pytest.approx({"tickets_closed": 0.55, "response_time": 0.45})


def test_company_file_rosters_resolve_against_the_company_file(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "sales_roster.csv", tmp_path / "sales_roster.csv")
    (tmp_path / "company.toml").write_text(
        """
[metrics.bookings]
unit = "USD"
scope = "individual"
[departments.sales]
roster = "sales_roster.csv"
base_pay = 70000.0
quota_metric = "bookings"
quota = 2000000.0
"""
    )
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "s.toml").write_text(
        """
company_file = "../company.toml"
[departments.sales.components.club]
metric = "bookings"
kind = "lump_sum"
quota = 2400000.0
amount = 6000.0
description = "President's Club"
"""
    )
    with pytest.raises(cm.ScenarioError, match=r"company_file: .*outside.*allow_dirs"):
        cm.load_scenario(tmp_path / "plans" / "s.toml")  # the company file is a folder up
    s = cm.load_scenario(tmp_path / "plans" / "s.toml", allow_dirs=[tmp_path])
    assert s.departments["sales"].headcount == 24
    assert s.departments["sales"].plan.components["club"].description == "President's Club"
    cm.save_scenario(s, tmp_path / "plans" / "s.toml")  # the company written inline
    assert cm.load_scenario(tmp_path / "plans" / "s.toml") == s


def test_saving_keeps_the_file_mode(sample: Path) -> None:
    sample.chmod(0o644)
    cm.save_scenario(cm.load_scenario(sample), sample)
    assert sample.stat().st_mode & 0o777 == 0o644


def test_company_model_paths_list_every_lever_field() -> None:
    s = cm.load_scenario(SAMPLES / "theory" / "hm91.toml")
    paths = cm.parameter_paths(s)
    for p in (
        "company.levers.agent.quality.cost",
        "company.levers.agent.quality.rest",
        "company.levers.agent.quality.value",
        "company.cost_cross.0.value",
        "company.means.quality_score.loadings.agent.quality",
    ):
        assert p in paths
        assert s.get(p) == pytest.approx(s.with_value(p, s.get(p)).get(p))
    assert "company.levers.agent.quality" not in paths
    with pytest.raises(cm.ParameterPathError, match="table or text"):
        s.get("company.levers.agent.quality")
    # a forecast mean, optional under a company model, can be added by path
    t = s.with_value("forecast.quality_score.mean", 0.5)
    assert t.forecast is not None and t.forecast.metrics["quality_score"].mean == 0.5


def test_model_function_only_with_declared_kind() -> None:
    doc = cm.load_scenario(SAMPLES / "theory" / "hm87.toml").to_dict()
    doc["company"]["model"] = "declared_models:hm87"
    with pytest.raises(cm.ScenarioError, match="kind = 'declared'"):
        cm.scenario_from_dict(doc)


def test_with_curve_reshapes_one_payout_rule_and_validates_it() -> None:
    today = cm.load_scenario(
        Path(__file__).resolve().parents[1] / "data" / "samples" / "acme_today.toml"
    )
    uncapped = today.with_curve("sales", "bookings", cap=None, payout_at_cap=None)
    curve = uncapped.departments["sales"].plan.components["bookings"].payout
    assert curve.cap is None and curve.max_payout() == float("inf")
    assert today.departments["sales"].plan.components["bookings"].payout.cap == 3.0e6
    assert uncapped.departments["production"] == today.departments["production"]
    stepped = today.with_curve("sales", "bookings", step=True)
    assert stepped.departments["sales"].plan.components["bookings"].payout.step
    with pytest.raises(cm.ScenarioError, match="Did you mean 'cap'"):
        today.with_curve("sales", "bookings", capp=1.0)
    with pytest.raises(cm.PlanError, match="cap must be at or beyond the target"):
        today.with_curve("sales", "bookings", cap=0.5e6)
    with pytest.raises(cm.ScenarioError, match="components"):
        today.with_curve("sales", "margin", cap=1.0)
    with pytest.raises(cm.ScenarioError, match="unknown department"):
        today.with_curve("marketing", "bookings", cap=1.0)


def test_a_roster_changed_on_disk_is_read_again(tmp_path: Path) -> None:
    """Rosters are remembered by path, modification time and size (a sweep re-reads
    the same file at every point); editing the file gives the new people."""
    path = tmp_path / "team.csv"
    path.write_text("person,base\nana,60000\nbo,62000\n", encoding="utf-8")
    first = cm.load_roster(path)
    assert cm.load_roster(path) is first
    path.write_text("person,base\nana,60000\nbo,62000\ncy,65000\n", encoding="utf-8")
    again = cm.load_roster(path)
    assert [p.person for p in again.people] == ["ana", "bo", "cy"]
    path.unlink()
    with pytest.raises(cm.RosterError, match="not found"):
        cm.load_roster(path)
