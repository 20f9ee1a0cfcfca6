"""Lever effort costs and team identification as sourced numbers.

A lever's ``cost`` and a department's ``team_identification`` may be written as a plain
number or as a ``{value, unit, range, source}`` table like a company coefficient: read,
checked, saved, edited by parameter path and moved by the tornado like one.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import compmodel as cm
from compmodel import charts, io
from compmodel.paths import ranged_paths, stated_range

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
TEAM = SAMPLES / "theory" / "holmstrom82.toml"  # e = theta LoS / c, LoS = (1 + lam (N-1))/N
COST = "company.levers.team.effort.cost"
LAMBDA = "team.team_identification"

SOURCED_COST = {
    "value": 2.0,
    "unit": "USD per person per year per unit^2 of the lever",
    "range": [1.0, 4.0],
    "source": "assumption for the test",
}
SOURCED_LAMBDA = {"value": 0.0, "unit": "1", "range": [0.0, 0.3], "source": "assumption"}


def _team_doc(cost: Any = SOURCED_COST, lam: Any = SOURCED_LAMBDA) -> dict[str, Any]:
    doc = tomllib.loads(TEAM.read_text(encoding="utf-8"))
    doc["company"]["levers"]["team"]["effort"]["cost"] = cost
    doc["departments"]["team"]["team_identification"] = lam
    return doc


def _team(cost: Any = SOURCED_COST, lam: Any = SOURCED_LAMBDA) -> cm.Scenario:
    return io.scenario_from_dict(_team_doc(cost, lam))


# --------------------------------------------------------------------------------------
# reading and saving
# --------------------------------------------------------------------------------------
def test_a_sourced_cost_and_lambda_are_read_like_coefficients() -> None:
    s = _team()
    lever = s.company.levers["team"]["effort"]
    assert lever.cost == 2.0  # the model reads the number where it always did
    assert lever.cost_provenance == cm.Provenance(
        range=(1.0, 4.0), unit=SOURCED_COST["unit"], source="assumption for the test"
    )
    assert lever.cost_coefficient == cm.Coefficient(
        value=2.0, unit=SOURCED_COST["unit"], range=(1.0, 4.0), source="assumption for the test"
    )
    dept = s.departments["team"]
    assert dept.team_identification == 0.0
    assert dept.team_identification_coefficient.range == (0.0, 0.3)
    # the plain forms are still read, with no provenance
    plain = _team(cost=2.0, lam=0.0)
    assert plain.company.levers["team"]["effort"].cost_provenance is None
    assert plain.departments["team"].team_identification_provenance is None
    assert plain.company.levers["team"]["effort"].cost_coefficient.plain
    assert cm.solve(plain).levers == cm.solve(s).levers


def test_the_scenario_stays_immutable() -> None:
    s = _team()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.company.levers["team"]["effort"].cost = 3.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.company.levers["team"]["effort"].cost_provenance.range = (0.0, 1.0)  # type: ignore[misc,union-attr]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.departments["team"].team_identification = 0.2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cost", "lam"),
    [(SOURCED_COST, SOURCED_LAMBDA), (2.0, 0.0), (SOURCED_COST, 0.1), (3.0, SOURCED_LAMBDA)],
)
def test_save_round_trips_both_forms(tmp_path: Path, cost: Any, lam: Any) -> None:
    s = _team(cost, lam)
    saved = cm.save_scenario(s, tmp_path / "team.toml")
    doc = tomllib.loads(saved.read_text(encoding="utf-8"))
    assert doc["company"]["levers"]["team"]["effort"]["cost"] == (
        {**cost, "value": float(cost["value"])} if isinstance(cost, dict) else cost
    )
    assert doc["departments"]["team"]["team_identification"] == lam
    again = cm.load_scenario(saved)
    assert again == s


def test_a_scenario_of_the_reference_company_saves_only_the_changed_value(
    tmp_path: Path,
) -> None:
    """Over a company file whose costs and lambdas are tables, a changed cost is written
    as the value alone and merges back into the company file's table."""
    for name in ("acme.toml", "acme_today.toml", "sales_roster.csv"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    today = cm.load_scenario(tmp_path / "acme_today.toml")
    moved = today.with_values(
        {
            "company.levers.sales.overpromise.cost": 400_000.0,
            "departments.production.team_identification": 0.2,
        }
    )
    saved = cm.save_scenario(moved, tmp_path / "moved.toml")
    doc = tomllib.loads(saved.read_text(encoding="utf-8"))
    levers = doc["company"]["levers"]
    assert levers["sales"]["overpromise"]["cost"] == {"value": 400_000.0}
    assert all(
        "cost" not in lv for d in levers.values() for n, lv in d.items() if n != "overpromise"
    )
    assert doc["departments"]["production"]["team_identification"] == {"value": 0.2}
    again = cm.load_scenario(saved)
    assert again == moved
    lever = again.company.levers["sales"]["overpromise"]
    assert lever.cost == 400_000.0
    assert lever.cost_provenance == today.company.levers["sales"]["overpromise"].cost_provenance


# --------------------------------------------------------------------------------------
# bad tables
# --------------------------------------------------------------------------------------
_COST_AT = "company.levers.team.effort.cost"
_LAMBDA_AT = "departments.team.team_identification"


@pytest.mark.parametrize(
    ("cost", "lam", "message"),
    [
        (
            {"value": 2.0, "unit": "USD", "source": "x"},
            0.0,
            f"{_COST_AT}.range: is required when the number is written as a table: give "
            "the plausible [low, high] its source supports, or write the number alone",
        ),
        (
            {"value": 5.0, "range": [1.0, 4.0]},
            0.0,
            f"{_COST_AT}.value: is 5, outside its stated range [1, 4]; change the value "
            "or widen the range",
        ),
        (
            {"value": -2.0, "range": [1.0, 4.0]},
            0.0,
            f"{_COST_AT}.value: is -2; allowed: > 0 (currency per unit squared; effort "
            "must cost something)",
        ),
        (
            {"value": 2.0, "range": [0.0, 4.0]},
            0.0,
            f"{_COST_AT}.range: low end is 0; allowed: > 0 (currency per unit squared; "
            "effort must cost something); every value of the range must be allowed "
            "(sensitivity moves the number to each end): move that end inside",
        ),
        (
            {"value": 2.0, "range": [4.0, 1.0]},
            0.0,
            f"{_COST_AT}.range: low 4 is above high 1",
        ),
        (
            {"value": 2.0, "range": [1.0, 4.0], "sorce": "x"},
            0.0,
            f"{_COST_AT}.sorce: unknown key. Did you mean 'source'? Allowed here: "
            "description, range, source, unit, value.",
        ),
        (
            2.0,
            {"value": 0.1, "source": "x"},
            f"{_LAMBDA_AT}.range: is required when the number is written as a table",
        ),
        (
            2.0,
            {"value": 0.5, "range": [0.0, 0.3]},
            f"{_LAMBDA_AT}.value: is 0.5, outside its stated range [0, 0.3]; change the "
            "value or widen the range",
        ),
        (2.0, {"value": -0.1, "range": [0.0, 0.3]}, f"{_LAMBDA_AT}.value: is -0.1; allowed: >= 0"),
        (
            2.0,
            {"value": 0.1, "range": [0.0, 1.5]},
            f"{_LAMBDA_AT}.range: high end is 1.5; allowed: <= 1; every value",
        ),
    ],
)
def test_a_bad_table_is_a_clear_error(cost: Any, lam: Any, message: str) -> None:
    with pytest.raises(cm.ScenarioError) as info:
        _team(cost, lam)
    assert str(info.value).startswith(message)


def test_a_provenance_built_in_python_is_checked_too() -> None:
    s = _team()
    lever = s.company.levers["team"]["effort"]
    outside = dataclasses.replace(lever, cost=8.0)
    with pytest.raises(cm.ScenarioError, match=rf"{_COST_AT}\.value: is 8, outside"):
        dataclasses.replace(
            s, company=dataclasses.replace(s.company, levers={"team": {"effort": outside}})
        )
    dept = dataclasses.replace(s.departments["team"], team_identification=1.0)
    with pytest.raises(cm.ScenarioError, match=rf"{_LAMBDA_AT}\.value: is 1, outside"):
        dataclasses.replace(s, departments={"team": dept})
    # without its provenance the theory's lambda = 1 is allowed again
    free = dataclasses.replace(dept, team_identification_provenance=None)
    assert dataclasses.replace(s, departments={"team": free}).get(LAMBDA) == 1.0


# --------------------------------------------------------------------------------------
# parameter paths
# --------------------------------------------------------------------------------------
def test_with_value_sets_the_value_and_keeps_the_source() -> None:
    s = _team()
    assert s.get(COST) == 2.0
    assert s.get(LAMBDA) == s.get("departments.team.team_identification") == 0.0
    moved = s.with_value(COST, 3.5).with_value("departments.team.team_identification", 0.25)
    assert moved.get(COST) == 3.5 and moved.get(LAMBDA) == 0.25
    lever = moved.company.levers["team"]["effort"]
    assert lever.cost_provenance == s.company.levers["team"]["effort"].cost_provenance
    assert moved.departments["team"].team_identification_provenance == (
        s.departments["team"].team_identification_provenance
    )
    assert s.get(COST) == 2.0  # the original is untouched
    assert moved == io.scenario_from_dict(
        _team_doc({**SOURCED_COST, "value": 3.5}, {**SOURCED_LAMBDA, "value": 0.25})
    )
    assert {COST, LAMBDA} <= set(cm.parameter_paths(s))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (COST, 4.5, rf"{_COST_AT}\.value: is 4\.5, outside its stated range \[1, 4\]"),
        (COST, 0.0, rf"{_COST_AT}\.value: is 0; allowed: > 0"),
        (LAMBDA, 0.31, rf"{_LAMBDA_AT}\.value: is 0\.31, outside its stated range \[0, 0\.3\]"),
        (
            "departments.team.team_identification",
            -0.5,
            rf"{_LAMBDA_AT}\.value: is -0\.5; allowed: >= 0",
        ),
    ],
)
def test_with_value_refuses_a_value_outside_the_range(
    path: str, value: float, message: str
) -> None:
    with pytest.raises(cm.ScenarioError, match=message):
        _team().with_value(path, value)


def test_plain_numbers_keep_their_old_bounds_by_path() -> None:
    s = _team(cost=2.0, lam=0.0)
    assert s.with_value(COST, 40.0).get(COST) == 40.0
    assert s.with_value(LAMBDA, 1.0).get(LAMBDA) == 1.0
    with pytest.raises(cm.ScenarioError, match=r"team_identification: is 1\.5; allowed"):
        s.with_value(LAMBDA, 1.5)


def test_stated_range_and_ranged_paths() -> None:
    s = _team()
    assert ranged_paths(s) == [COST, LAMBDA]
    assert stated_range(s, COST) == (1.0, 4.0)
    assert stated_range(s, LAMBDA) == stated_range(s, "departments.team.team_identification")
    assert stated_range(s, "team.risk_aversion") is None
    assert ranged_paths(_team(cost=2.0, lam=0.0)) == []
    acme = cm.load_scenario(SAMPLES / "acme_today.toml")
    ranged = ranged_paths(acme)
    for dn, levers in acme.company.levers.items():
        for ln in levers:
            assert f"company.levers.{dn}.{ln}.cost" in ranged
    for dn in acme.departments:
        assert f"{dn}.team_identification" in ranged


# --------------------------------------------------------------------------------------
# the tornado
# --------------------------------------------------------------------------------------
def test_tornado_moves_sourced_costs_and_lambdas_across_their_ranges() -> None:
    """Holmström's team of four: effort theta (1 + lam (N - 1)) / (N c), theta = 3."""
    frame = cm.tornado(_team(), figure="team.effort", progress=False)
    by = frame.set_index("path")
    assert set(by.index) == {COST, LAMBDA}
    assert (by.loc[COST, "low"], by.loc[COST, "high"]) == (1.0, 4.0)
    assert (by.loc[LAMBDA, "low"], by.loc[LAMBDA, "high"]) == (0.0, 0.3)
    assert by.loc[COST, "figure_low"] == pytest.approx(3 / (4 * 1.0), rel=1e-7)
    assert by.loc[COST, "figure_high"] == pytest.approx(3 / (4 * 4.0), rel=1e-7)
    assert by.loc[LAMBDA, "figure_low"] == pytest.approx(3 / (4 * 2.0), rel=1e-7)
    assert by.loc[LAMBDA, "figure_high"] == pytest.approx(3 * (1 + 0.3 * 3) / (4 * 2.0), rel=1e-7)
    assert list(frame["path"]) == [COST, LAMBDA]  # 0.5625 against 0.3375
    # a spread stays inside the stated range
    spread = cm.tornado(_team(), [COST], spread=0.8, figure="team.effort", progress=False)
    assert (spread.loc[0, "low"], spread.loc[0, "high"]) == (1.0, 3.6)
    # and the tornado chart names them
    assert charts.label(COST) == f"{charts.label('team.effort')}, effort cost"
    assert charts.label("departments.team.team_identification") == "Team: team identification"


def test_tornado_of_the_reference_company_lists_every_cost_and_lambda() -> None:
    """paths=None covers what has a range (checked without solving: the ends only)."""
    from compmodel.sensitivity import _ends

    acme = cm.load_scenario(SAMPLES / "acme_today.toml")
    for path in ranged_paths(acme):
        base, lo, hi = _ends(acme, path, None)
        assert lo <= base <= hi, path
        acme.with_value(path, lo)
        acme.with_value(path, hi)
    prospecting = acme.company.levers["sales"]["prospecting"].cost_provenance
    assert prospecting is not None
    assert _ends(acme, "company.levers.sales.prospecting.cost", None)[1:] == prospecting.range


# --------------------------------------------------------------------------------------
# docs/scenario-format.md
# --------------------------------------------------------------------------------------
def test_the_format_reference_quotes_real_messages() -> None:
    text = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    acme = cm.load_scenario(SAMPLES / "acme_today.toml")
    with pytest.raises(cm.ScenarioError) as info:
        acme.with_value("company.levers.sales.prospecting.cost", 600_000)
    assert str(info.value) in text
    doc = acme.to_dict()
    del doc["company"]["levers"]["sales"]["prospecting"]["cost"]["range"]
    with pytest.raises(cm.ScenarioError) as info:
        cm.scenario_from_dict(doc, base_dir=SAMPLES)
    assert str(info.value) in text


# --------------------------------------------------------------------------------------
# docs/behaviour.md: the prospecting cost derived from published responses
# --------------------------------------------------------------------------------------
def _effort_costs() -> Any:
    spec = importlib.util.spec_from_file_location(
        "effort_costs", ROOT / "scripts" / "effort_costs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["effort_costs"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_documented_prospecting_derivation_is_what_the_script_prints() -> None:
    """The page quotes the script's derivation block; the script's cost is the page's
    formula cost = a eps Y(p) / (p (p - rest)); the file's range is the derived one and
    its value the midpoint response's cost, both to the thousand (no solve: fast). The script also prints the
    response the company's own bookings equation gives at each effort (``model R``)."""
    script = _effort_costs()
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    d = script.derivation(today)
    text = (ROOT / "docs" / "behaviour.md").read_text(encoding="utf-8")
    head = "Prospecting cost from published responses"
    blocks = [b for b in re.findall(r"^```text\n(.*?)^```", text, re.S | re.M) if head in b]
    assert len(blocks) == 1, "docs/behaviour.md quotes the derivation block once"
    assert blocks[0].splitlines() == script.report(d), "re-run scripts/effort_costs.py"
    # the formula by hand, from the plan and the coefficient
    sales = today.departments["sales"]
    curve = sales.plan.components["bookings"].payout
    a = sales.base_pay * sales.target_incentive / (curve.target - curve.threshold)
    eps = today.company.coefficient("prospecting_elasticity")
    rest = today.company.levers["sales"]["prospecting"].rest
    assert d.rate == pytest.approx(a, rel=1e-15)
    for implied, r in zip(d.sources, script.RESPONSES.values(), strict=True):
        p = rest * (1 + r) ** (1 / eps)
        y = d.bookings_at_rest * (1 + r)
        assert implied.cost == pytest.approx(a * eps * y / (p * (p - rest)), rel=1e-12)
        # the first-order condition a dY/dp = cost (p - rest), with Y = Y(rest) (p/rest)^eps
        dy = eps * d.bookings_at_rest * (p / rest) ** eps / p
        assert a * dy == pytest.approx(implied.cost * (p - rest), rel=1e-12)
        # the company's own bookings answer the same effort less: only new business
        # answers it (docs/behaviour.md says so, with these numbers)
        assert 0.0 < implied.model_response < r / 3
    assert script.implied_cost(a, eps, d.bookings_at_rest, d.file_response, rest)[2] == (
        pytest.approx(d.file_cost, rel=1e-9)
    )
    lever = today.company.levers["sales"]["prospecting"]
    assert lever.cost_provenance is not None
    low, high = lever.cost_provenance.range
    assert low == round(d.cost_range[0], -3)
    assert high == round(d.cost_range[1], -3)
    assert lever.cost == round(d.central.cost, -3)  # the midpoint of the sources
