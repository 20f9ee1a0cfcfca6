"""Bad input gives a compmodel error that a user can act on.

Every error must (a) be the right compmodel exception class, (b) name the offending
field by its dotted location (``err.field``, also the start of the message), (c) say what
is allowed and (d) where the code offers one, the fix. The inputs are written the way a
user writes them: small TOML scenario files and roster CSVs in ``tmp_path``, built from a
minimal valid scenario with one thing changed.

The cases that began as documented defects (Python-built objects validated less than
TOML, bare exceptions from CSV decoding, tuple paths) are fixed and now pass as plain tests.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import compmodel as cm
import compmodel.io as cm_io

# --------------------------------------------------------------------------------------
# a minimal valid scenario, in the user's own words
# --------------------------------------------------------------------------------------
HEADER = """\
format_version = 1
name = "error-message tests"
currency = "USD"
period = "year"
"""

METRICS = """
[metrics.bookings]
unit = "USD"
direction = "higher"
scope = "individual"

[metrics.response_time]
unit = "hours"
direction = "lower"
scope = "department"

[metrics.profit]
unit = "USD"
scope = "company"
"""

FORECAST = """
[forecast.bookings]
mean = 1_000_000.0
sd = 100_000.0

[forecast.response_time]
mean = 20.0
sd = 4.0

[forecast.profit]
mean = 5_000_000.0
sd = 1_000_000.0
"""

DEPARTMENTS = """
[departments.sales]
headcount = 3
base_pay = 70_000.0
target_incentive = 0.0

[departments.sales.components.commission]
metric = "bookings"
kind = "rate_table"
target = 1_000_000.0
mode = "retroactive"
tiers = [
  { up_to = 0.9, rate = 0.01 },
  { up_to = 1.0, rate = 0.02 },
  { rate = 0.03 },
]

[departments.support]
headcount = 4
base_pay = 50_000.0
target_incentive = 0.1

[departments.support.components.speed]
metric = "response_time"
weight = 0.6
threshold = 30.0
target = 20.0
cap = 12.0
payout_at_cap = 1.5

[departments.support.components.profit_share]
metric = "profit"
weight = 0.4
threshold = 4_000_000.0
target = 5_000_000.0
cap = 7_000_000.0
payout_at_cap = 2.0
gate = { metric = "profit", threshold = 3_000_000.0 }
"""

ROSTER = """\
person,base,quota
rep-01,70000,1000000
rep-02,72000,1200000
rep-03,68000,800000
"""

# the sales department reads its people from roster.csv instead of giving a headcount
SALES_WITH_ROSTER = """\
roster = "roster.csv"
quota_metric = "bookings"
quota = 1_000_000.0
"""

SPEED = "departments.support.components.speed"
PROFIT_SHARE = "departments.support.components.profit_share"
COMMISSION = "departments.sales.components.commission"


class Workspace:
    """A directory holding one scenario file (and maybe a roster) under test."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def scenario_path(self) -> Path:
        return self.root / "scenario.toml"

    @property
    def roster_path(self) -> Path:
        return self.root / "roster.csv"

    def toml(
        self,
        replace: dict[str, str] | None = None,
        *,
        append: str = "",
        forecast: bool = True,
        replace_all: dict[str, str] | None = None,
    ) -> str:
        """The minimal scenario with each ``old`` text (which must occur once) replaced."""
        text = HEADER + METRICS + (FORECAST if forecast else "") + DEPARTMENTS
        for old, new in (replace or {}).items():
            assert text.count(old) == 1, f"{old!r} must occur exactly once in the scenario"
            text = text.replace(old, new)
        for old, new in (replace_all or {}).items():
            assert old in text, f"{old!r} does not occur in the scenario"
            text = text.replace(old, new)
        return text + append

    def write(self, text: str) -> Path:
        self.scenario_path.write_text(text, encoding="utf-8")
        return self.scenario_path

    def load(self, replace: dict[str, str] | None = None, **kwargs: Any) -> cm.Scenario:
        """Write the (changed) scenario and read it back as the user would."""
        return cm.load_scenario(self.write(self.toml(replace, **kwargs)))

    def load_with_roster(
        self, csv_text: str, *, department: str = SALES_WITH_ROSTER, data: bytes | None = None
    ) -> cm.Scenario:
        """Sales with its people in roster.csv (``department`` replaces its headcount)."""
        if data is None:
            self.roster_path.write_text(csv_text, encoding="utf-8")
        else:
            self.roster_path.write_bytes(data)
        return self.load({"headcount = 3\n": department})


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path.resolve())


def test_the_minimal_scenario_is_valid(ws: Workspace) -> None:
    """Control: every error below comes from the one thing each test changes."""
    s = ws.load()
    assert set(s.departments) == {"sales", "support"}
    s = ws.load_with_roster(ROSTER)
    assert s.departments["sales"].headcount == 3
    assert cm.commission_budget(s, n_draws=200).diagnostics.n_draws == 200


# --------------------------------------------------------------------------------------
# checking an error
# --------------------------------------------------------------------------------------
def assert_error(
    err: BaseException,
    *,
    field: str,
    allowed: tuple[str, ...] | str = (),
    fix: str | None = None,
) -> None:
    """``err`` is a compmodel error at ``field`` whose message holds the given parts."""
    assert isinstance(err, cm.CompmodelError)
    assert isinstance(err, ValueError), "input errors are ValueErrors too"
    assert isinstance(err, cm.ScenarioError)
    assert err.field == field
    msg = str(err)
    assert msg.startswith(f"{field}: "), msg
    for part in (allowed,) if isinstance(allowed, str) else allowed:
        assert part in msg, f"{part!r} not in {msg!r}"
    if fix is not None:
        assert fix in msg, f"fix {fix!r} not in {msg!r}"


# Every bad input, by name; test_only_compmodel_exceptions_escape runs them all.
BadInput = Callable[[Workspace], object]
BAD_INPUTS: dict[str, BadInput] = {}
# bad inputs that today escape as a non-compmodel exception or pass silently: the defect
NO_COMPMODEL_ERROR: dict[str, str] = {}


def bad_input(name: str, fn: BadInput) -> BadInput:
    assert name not in BAD_INPUTS, name
    BAD_INPUTS[name] = fn
    return fn


def _load(ws: Workspace, replace: dict[str, str] | None = None, **kw: Any) -> cm.Scenario:
    return ws.load(replace, **kw)


def edited(name: str, replace: dict[str, str] | None = None, **kw: Any) -> BadInput:
    """Register and return 'load the minimal scenario with this edit'."""
    return bad_input(name, functools.partial(_load, replace=replace, **kw))


def raised(fn: BadInput, ws: Workspace, exc: type[BaseException], match: str) -> Any:
    with pytest.raises(exc, match=match) as info:
        fn(ws)
    return info.value


# --------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------
WEIGHTS_OVER_ONE = edited("weights_sum_toml", {"weight = 0.4": "weight = 0.5"})


def test_weights_not_summing_to_one_in_toml(ws: Workspace) -> None:
    err = raised(WEIGHTS_OVER_ONE, ws, cm.PlanError, r"weights sum to 1\.1 ")
    assert_error(
        err,
        field="departments.support.components",
        allowed=("speed = 0.6", "profit_share = 0.5", "they must sum to 1"),
        fix="Scenario.with_value('<dept>.weights.<component>', w)",
    )


def _plan_with_weights(ws: Workspace) -> cm.Plan:
    def component(weight: float) -> cm.Component:
        return cm.Component(
            metric="bookings",
            payout=cm.PayoutCurve(threshold=800_000.0, target=1_000_000.0),
            weight=weight,
        )

    return cm.Plan(components={"bookings": component(0.7), "pipeline": component(0.2)})


PLAN_WEIGHTS = bad_input("weights_sum_python_plan", _plan_with_weights)


def test_weights_not_summing_to_one_building_a_plan_in_python(ws: Workspace) -> None:
    err = raised(PLAN_WEIGHTS, ws, cm.PlanError, r"weights sum to 0\.9 ")
    assert_error(
        err,
        field="components",
        allowed=("bookings = 0.7", "pipeline = 0.2", "they must sum to 1"),
        fix="with_value(",
    )


# --------------------------------------------------------------------------------------
# payout curves
# --------------------------------------------------------------------------------------
CAP_BELOW_TARGET = edited("cap_below_target", {"cap = 7_000_000.0": "cap = 4_500_000.0"})
CAP_ABOVE_TARGET_LOWER = edited("cap_above_target_lower_is_better", {"cap = 12.0": "cap = 25.0"})


def test_cap_below_target_on_a_higher_is_better_curve(ws: Workspace) -> None:
    err = raised(CAP_BELOW_TARGET, ws, cm.PlanError, r"4500000\.0 is below the target 5000000\.0")
    assert_error(
        err,
        field=f"{PROFIT_SHARE}.cap",
        allowed="(>= 5000000.0)",
        fix="Raise the cap or lower the target",
    )


def test_cap_above_target_on_a_lower_is_better_curve(ws: Workspace) -> None:
    err = raised(CAP_ABOVE_TARGET_LOWER, ws, cm.PlanError, r"25\.0 is above the target 20\.0")
    assert_error(
        err,
        field=f"{SPEED}.cap",
        allowed="(<= 20.0)",
        fix="Lower the cap or raise the target",  # not "raise the cap": lower is better
    )
    assert "raise the cap" not in str(err).lower()


EXTRA_POINT_FALLING = edited(
    "extra_point_payout_falls",
    {"payout_at_cap = 2.0": "payout_at_cap = 2.0\nextra_points = [[6_000_000.0, 0.9]]"},
)
EXTRA_POINT_OUTSIDE = edited(
    "extra_point_beyond_cap",
    {"payout_at_cap = 2.0": "payout_at_cap = 2.0\nextra_points = [[8_000_000.0, 2.5]]"},
)
EXTRA_POINT_BELOW = edited(
    "extra_point_below_threshold",
    {"payout_at_cap = 2.0": "payout_at_cap = 2.0\nextra_points = [[3_000_000.0, 0.0]]"},
)


def test_curve_points_out_of_order(ws: Workspace) -> None:
    err = raised(EXTRA_POINT_FALLING, ws, cm.PlanError, r"points out of order")
    assert_error(
        err,
        field=f"{PROFIT_SHARE}.extra_points",
        allowed=(
            "payout falls from 1.0 at 5000000.0 to 0.9 at 6000000.0",
            "payouts must not fall as the metric improves",
        ),
    )


@pytest.mark.parametrize(
    "bad", [EXTRA_POINT_OUTSIDE, EXTRA_POINT_BELOW], ids=["beyond_cap", "below_threshold"]
)
def test_extra_point_outside_threshold_to_cap(ws: Workspace, bad: BadInput) -> None:
    err = raised(bad, ws, cm.PlanError, r"is outside the curve")
    assert_error(
        err,
        field=f"{PROFIT_SHARE}.extra_points[0]",
        allowed="allowed between the threshold 4000000.0 and the cap 7000000.0",
    )


EXTRA_POINT_SCALAR = edited(
    "extra_point_not_a_pair",
    {"payout_at_cap = 2.0": "payout_at_cap = 2.0\nextra_points = [6_000_000.0]"},
)


def test_extra_point_that_is_not_a_pair(ws: Workspace) -> None:
    err = raised(EXTRA_POINT_SCALAR, ws, cm.ScenarioError, r"must be a \[metric value, payout\]")
    assert_error(err, field=f"{PROFIT_SHARE}.extra_points[0]", allowed=("pair", "6000000.0"))


CURVE_DIRECTION = edited(
    "curve_direction_disagrees",
    {"threshold = 30.0": "threshold = 12.0", "cap = 12.0": "cap = 30.0"},
)
MODIFIER_DIRECTION = edited(
    "modifier_direction_disagrees",
    append='\n[departments.support.modifier]\nmetric = "response_time"\n'
    "threshold = 10.0\ntarget = 20.0\n",
)


def test_curve_direction_disagrees_with_metric_direction(ws: Workspace) -> None:
    err = raised(CURVE_DIRECTION, ws, cm.ScenarioError, r"rises toward higher values")
    assert_error(
        err,
        field=f"{SPEED}.target",
        allowed="'response_time' is lower-is-better",
        fix="put the target on the better side of the threshold",
    )


def test_modifier_direction_disagrees_with_metric_direction(ws: Workspace) -> None:
    err = raised(MODIFIER_DIRECTION, ws, cm.ScenarioError, r"modifier curve's direction")
    assert_error(err, field="departments.support.modifier.target", allowed="(lower-is-better)")


# --------------------------------------------------------------------------------------
# departments: headcount and base pay
# --------------------------------------------------------------------------------------
NEGATIVE_HEADCOUNT = edited("negative_headcount", {"headcount = 4": "headcount = -2"})
FRACTIONAL_HEADCOUNT = edited("non_integer_headcount", {"headcount = 4": "headcount = 2.5"})
NEGATIVE_BASE_PAY = edited("negative_base_pay", {"base_pay = 50_000.0": "base_pay = -50_000.0"})


def test_negative_headcount(ws: Workspace) -> None:
    err = raised(NEGATIVE_HEADCOUNT, ws, cm.ScenarioError, r"is -2; allowed: >= 0")
    assert_error(err, field="departments.support.headcount", allowed="allowed: >= 0")


def test_non_integer_headcount(ws: Workspace) -> None:
    err = raised(FRACTIONAL_HEADCOUNT, ws, cm.ScenarioError, r"is 2\.5")
    assert_error(err, field="departments.support.headcount", allowed="must be a whole number")


def test_negative_base_pay(ws: Workspace) -> None:
    err = raised(NEGATIVE_BASE_PAY, ws, cm.ScenarioError, r"is -50000; allowed: >= 0")
    assert_error(err, field="departments.support.base_pay", allowed="allowed: >= 0")


# --------------------------------------------------------------------------------------
# names: metrics
# --------------------------------------------------------------------------------------
UNKNOWN_COMPONENT_METRIC = edited(
    "unknown_metric_in_component",
    {'metric = "response_time"': 'metric = "response_tme"'},
)
UNKNOWN_GATE_METRIC = edited(
    "unknown_metric_in_gate",
    {'gate = { metric = "profit"': 'gate = { metric = "proft"'},
)


@pytest.mark.parametrize(
    ("bad", "field", "typo", "right"),
    [
        (UNKNOWN_COMPONENT_METRIC, f"{SPEED}.metric", "response_tme", "response_time"),
        (UNKNOWN_GATE_METRIC, f"{PROFIT_SHARE}.gate.metric", "proft", "profit"),
    ],
    ids=["component", "gate"],
)
def test_unknown_metric(ws: Workspace, bad: BadInput, field: str, typo: str, right: str) -> None:
    err = raised(bad, ws, cm.ScenarioError, rf"unknown metric '{typo}'")
    assert_error(
        err,
        field=field,
        allowed="Known: bookings, profit, response_time",
        fix=f"Did you mean {right!r}?",
    )
    assert "declare it under [metrics] first" in str(err)


# --------------------------------------------------------------------------------------
# NaN and infinity (TOML allows `nan` and `inf`)
# --------------------------------------------------------------------------------------
NON_FINITE = [
    ("nan_base_pay", "base_pay = 50_000.0", "base_pay = nan",
     "departments.support.base_pay", "nan"),
    ("nan_tier_rate", "rate = 0.02 }", "rate = nan }",
     f"{COMMISSION}.tiers[1].rate", "nan"),
    ("nan_extra_point", "payout_at_cap = 2.0", "payout_at_cap = 2.0\nextra_points = [[6e6, nan]]",
     f"{PROFIT_SHARE}.extra_points[0]", "nan"),
    ("inf_cap", "cap = 12.0", "cap = -inf", f"{SPEED}.cap", "-inf"),
    ("inf_forecast_sd", "sd = 4.0", "sd = inf", "forecast.response_time.sd", "inf"),
    ("inf_weight", "weight = 0.6", "weight = +inf", f"{SPEED}.weight", "inf"),
]  # fmt: skip
for _name, _old, _new, *_ in NON_FINITE:
    edited(_name, {_old: _new})


@pytest.mark.parametrize(
    ("name", "field", "shown"),
    [(n, f, s) for n, _, _, f, s in NON_FINITE],
    ids=[n for n, *_ in NON_FINITE],
)
def test_non_finite_number_in_toml(ws: Workspace, name: str, field: str, shown: str) -> None:
    err = raised(BAD_INPUTS[name], ws, cm.ScenarioError, rf"must be a finite number, got {shown}")
    assert_error(err, field=field, allowed="must be a finite number")


# --------------------------------------------------------------------------------------
# misspelled keys
# --------------------------------------------------------------------------------------
TYPOS = [
    # id, old, new, field, the key it should suggest
    ("top_level", None, None, "departmnts", "departments"),
    ("department", "base_pay = 50_000.0", "base_pya = 50_000.0",
     "departments.support.base_pya", "base_pay"),
    ("component", "threshold = 30.0", "treshold = 30.0", f"{SPEED}.treshold", "threshold"),
    ("metric", 'scope = "company"', 'scoep = "company"', "metrics.profit.scoep", "scope"),
    ("rate_tier", "rate = 0.02 }", "rat = 0.02 }", f"{COMMISSION}.tiers[1].rat", "rate"),
    ("gate", "threshold = 3_000_000.0", "treshold = 3_000_000.0",
     f"{PROFIT_SHARE}.gate.treshold", "threshold"),
    ("forecast", "sd = 4.0", "sdd = 4.0", "forecast.response_time.sdd", "sd"),
]  # fmt: skip
for _id, _old, _new, *_ in TYPOS:
    if _old is None:  # every [departments.*] header spelled `departmnts`
        edited(f"typo_{_id}", replace_all={"[departments.": "[departmnts."})
    else:
        edited(f"typo_{_id}", {_old: _new})
edited("typo_settings", append="\n[settings]\npayroll_tax_rte = 0.0765\n")


@pytest.mark.parametrize(
    ("name", "field", "right"),
    [(f"typo_{i}", f, r) for i, _, _, f, r in TYPOS]
    + [("typo_settings", "settings.payroll_tax_rte", "payroll_tax_rate")],
    ids=[i for i, *_ in TYPOS] + ["settings"],
)
def test_misspelled_key_suggests_the_right_one(
    ws: Workspace, name: str, field: str, right: str
) -> None:
    err = raised(BAD_INPUTS[name], ws, cm.ScenarioError, rf"unknown key\. Did you mean {right!r}\?")
    assert_error(err, field=field, allowed=("Allowed here:", right), fix=f"Did you mean {right!r}?")


# --------------------------------------------------------------------------------------
# wrong types
# --------------------------------------------------------------------------------------
WRONG_TYPES = [
    ("base_pay_text", "base_pay = 50_000.0", 'base_pay = "lots"',
     "departments.support.base_pay", "'lots' (str)"),
    ("headcount_text", "headcount = 4", 'headcount = "four"',
     "departments.support.headcount", "'four' (str)"),
    ("weight_quoted_number", "weight = 0.6", 'weight = "0.6"', f"{SPEED}.weight", "'0.6' (str)"),
    ("rate_percent_text", "rate = 0.02 }", 'rate = "2%" }',
     f"{COMMISSION}.tiers[1].rate", "'2%' (str)"),
    ("forecast_sd_bool", "sd = 4.0", "sd = true", "forecast.response_time.sd", "True (bool)"),
]  # fmt: skip
for _id, _old, _new, *_ in WRONG_TYPES:
    edited(f"wrong_type_{_id}", {_old: _new})


@pytest.mark.parametrize(
    ("name", "field", "got"),
    [(f"wrong_type_{i}", f, g) for i, _, _, f, g in WRONG_TYPES],
    ids=[i for i, *_ in WRONG_TYPES],
)
def test_wrong_type(ws: Workspace, name: str, field: str, got: str) -> None:
    err = raised(BAD_INPUTS[name], ws, cm.ScenarioError, rf"must be a number, got {re.escape(got)}")
    assert_error(err, field=field, allowed="must be a number")


FORECAST_NOT_A_TABLE = edited(
    "forecast_not_a_table",
    forecast=False,
    replace={'period = "year"\n': 'period = "year"\nforecast = "next year"\n'},
)
OPTIONS_NOT_A_TABLE = edited(
    "company_options_not_a_table", append='\n[company]\nkind = "none"\noptions = 5\n'
)


@pytest.mark.parametrize(
    ("bad", "field", "got"),
    [
        (FORECAST_NOT_A_TABLE, "forecast", "str 'next year'"),
        (OPTIONS_NOT_A_TABLE, "company.options", "int 5"),
    ],
    ids=["forecast", "company_options"],
)
def test_table_given_as_a_value(ws: Workspace, bad: BadInput, field: str, got: str) -> None:
    err = raised(bad, ws, cm.ScenarioError, rf"must be a table, got {got}")
    assert_error(err, field=field, allowed="must be a table")


# --------------------------------------------------------------------------------------
# rosters
# --------------------------------------------------------------------------------------
def _roster_case(
    name: str, csv_text: str, *, department: str = SALES_WITH_ROSTER, data: bytes | None = None
) -> BadInput:
    return bad_input(
        name,
        lambda ws: ws.load_with_roster(csv_text, department=department, data=data),
    )


ROSTER_MISSING_COLUMN = _roster_case(
    "roster_missing_column", "person,quota\nrep-01,1000000\nrep-02,1200000\n"
)
ROSTER_NON_NUMERIC_BASE = _roster_case(
    "roster_non_numeric_base", ROSTER.replace("rep-02,72000", "rep-02,seventy-two k")
)
ROSTER_DUPLICATE = _roster_case("roster_duplicate_person", ROSTER.replace("rep-03", "rep-01"))
ROSTER_EMPTY_VALUE = _roster_case("roster_empty_base", ROSTER.replace("rep-02,72000", "rep-02,"))
ROSTER_NEGATIVE_BASE = _roster_case(
    "roster_negative_base", ROSTER.replace("rep-02,72000", "rep-02,-72000")
)
ROSTER_HEADCOUNT = _roster_case(
    "roster_headcount_disagrees", ROSTER, department=SALES_WITH_ROSTER + "headcount = 5\n"
)
ROSTER_QUOTA_WITHOUT_DEPT_QUOTA = _roster_case(
    "roster_quota_without_department_quota", ROSTER, department='roster = "roster.csv"\n'
)


def test_roster_missing_column(ws: Workspace) -> None:
    err = raised(ROSTER_MISSING_COLUMN, ws, cm.RosterError, r"missing column\(s\) base")
    assert_error(
        err,
        field=str(ws.roster_path),
        allowed=("found person, quota", "A roster needs person, base and may have quota, ability"),
    )


def test_roster_non_numeric_base(ws: Workspace) -> None:
    err = raised(ROSTER_NON_NUMERIC_BASE, ws, cm.RosterError, r"'seventy-two k' is not a number")
    assert_error(err, field=f"{ws.roster_path} row 2, column base", allowed="is not a number")


def test_roster_duplicate_person_names_both_rows(ws: Workspace) -> None:
    err = raised(ROSTER_DUPLICATE, ws, cm.RosterError, r"person 'rep-01' appears twice")
    assert_error(
        err,
        field=f"{ws.roster_path} row 3",
        allowed=("(rows 1 and 3)", "each person must appear once"),
    )


def test_roster_empty_value(ws: Workspace) -> None:
    err = raised(ROSTER_EMPTY_VALUE, ws, cm.RosterError, r"missing value in column\(s\) base")
    assert_error(err, field=f"{ws.roster_path} row 2")


def test_roster_negative_base(ws: Workspace) -> None:
    err = raised(ROSTER_NEGATIVE_BASE, ws, cm.RosterError, r"is -72000; allowed: >= 0")
    assert_error(err, field=f"{ws.roster_path} row 2, column base", allowed="allowed: >= 0")


def test_headcount_disagrees_with_roster_length(ws: Workspace) -> None:
    err = raised(ROSTER_HEADCOUNT, ws, cm.ScenarioError, r"is 5 but the roster lists 3 people")
    assert_error(
        err,
        field="departments.sales.headcount",
        fix="remove headcount (it then comes from the roster) or fix the roster",
    )


def test_roster_with_quota_but_department_without_quota(ws: Workspace) -> None:
    err = raised(ROSTER_QUOTA_WITHOUT_DEPT_QUOTA, ws, cm.ScenarioError, r"has a quota column")
    # both are missing: the first one, quota_metric, is named
    assert_error(err, field="departments.sales.quota_metric", allowed=("`quota_metric`", "`quota`"))


ROSTER_QUOTA_WITHOUT_QUOTA_METRIC = _roster_case(
    "roster_quota_without_quota_metric",
    ROSTER,
    department='roster = "roster.csv"\nquota = 1_000_000.0\n',
)


def test_roster_with_quota_but_department_without_quota_metric(ws: Workspace) -> None:
    err = raised(ROSTER_QUOTA_WITHOUT_QUOTA_METRIC, ws, cm.ScenarioError, r"quota column")
    assert_error(err, field="departments.sales.quota_metric", allowed="`quota_metric`")


ROSTER_LONG_ROW = _roster_case(
    "roster_row_with_extra_value", ROSTER.replace("rep-02,72000,1200000", "rep-02,72,000,1200000")
)


def test_roster_row_with_more_values_than_columns(ws: Workspace) -> None:
    err = raised(ROSTER_LONG_ROW, ws, cm.RosterError, r"row 2")
    assert "None" not in str(err)
    assert re.search(r"4 values.*3 columns|more values than", str(err))


ROSTER_NOT_UTF8 = _roster_case(
    "roster_not_utf8", "", data="person,base\nJosé,70000\n".encode("cp1252")
)
NO_COMPMODEL_ERROR["roster_not_utf8"] = "UnicodeDecodeError"


def test_roster_that_is_not_utf8(ws: Workspace) -> None:
    err = raised(ROSTER_NOT_UTF8, ws, cm.RosterError, r"UTF-8")
    assert_error(err, field=str(ws.roster_path), allowed="UTF-8")


INLINE_ROSTER_NOT_TABLES = edited(
    "inline_roster_not_tables", {"headcount = 3\n": "roster = [70000, 72000, 68000]\n"}
)


def test_inline_roster_of_numbers(ws: Workspace) -> None:
    err = raised(INLINE_ROSTER_NOT_TABLES, ws, cm.RosterError, r"must be a table like")
    assert_error(
        err,
        field="departments.sales.roster[0]",
        allowed=("{person = 'ann', base = 70000}", "got 70000"),
    )


# --------------------------------------------------------------------------------------
# forecast and company
# --------------------------------------------------------------------------------------
IMPOSSIBLE_CORRELATIONS = edited(
    "impossible_correlations",
    append="""
[[forecast.correlations]]
metrics = ["bookings", "response_time"]
rho = 0.9

[[forecast.correlations]]
metrics = ["bookings", "profit"]
rho = 0.9

[[forecast.correlations]]
metrics = ["response_time", "profit"]
rho = -0.9
""",
)


def test_correlations_that_are_not_jointly_possible(ws: Workspace) -> None:
    err = raised(IMPOSSIBLE_CORRELATIONS, ws, cm.ScenarioError, r"not jointly possible")
    assert_error(
        err,
        field="forecast.correlations",
        allowed="negative eigenvalue",
        fix="reduce the largest correlations",
    )


COEFFICIENT_OUT_OF_RANGE = edited(
    "coefficient_outside_range",
    append="""
[company]
kind = "none"

[company.coefficients.effort_elasticity]
value = 1.5
range = [0.0, 1.0]
source = "test"
""",
)


def test_coefficient_outside_its_stated_range(ws: Workspace) -> None:
    err = raised(COEFFICIENT_OUT_OF_RANGE, ws, cm.ScenarioError, r"outside its stated range")
    assert_error(
        err,
        field="company.coefficients.effort_elasticity.value",
        allowed=("is 1.5", "[0, 1]"),
        fix="change the value or widen the range",
    )


# --------------------------------------------------------------------------------------
# rate tables
# --------------------------------------------------------------------------------------
RETRO_FALLING = edited(
    "retroactive_rates_fall", {"{ up_to = 1.0, rate = 0.02 }": "{ up_to = 1.0, rate = 0.005 }"}
)
RATE_TABLE_WEIGHT = edited(
    "rate_table_with_weight", {'kind = "rate_table"': 'kind = "rate_table"\nweight = 1.0'}
)


def test_retroactive_rate_table_with_falling_rates(ws: Workspace) -> None:
    err = raised(RETRO_FALLING, ws, cm.PlanError, r"is 0\.005, below the previous tier's 0\.01")
    assert_error(
        err,
        field=f"{COMMISSION}.tiers[1].rate",
        allowed="would cut pay when volume rises",
        fix="Use rising rates or mode = 'marginal'",
    )


def test_rate_table_with_a_weight(ws: Workspace) -> None:
    err = raised(RATE_TABLE_WEIGHT, ws, cm.PlanError, r"takes no weight")
    assert_error(
        err,
        field=f"{COMMISSION}.weight",
        allowed="pays its rates in currency",
        fix="remove `weight` (or use a curve component)",
    )


# --------------------------------------------------------------------------------------
# parameter paths
# --------------------------------------------------------------------------------------
def _with_value(ws: Workspace, path: Any, value: Any) -> cm.Scenario:
    return ws.load().with_value(path, value)


def path_case(name: str, path: Any, value: Any) -> BadInput:
    return bad_input(name, functools.partial(_with_value, path=path, value=value))


PATH_TYPO = path_case("path_unknown_field", "support.curves.speed.tresh", 25.0)
PATH_UNKNOWN_DEPT = path_case("path_unknown_department", "suport.base_pay", 1.0)
PATH_UNKNOWN_DEPT_WEIGHT = path_case("path_unknown_department_weight", "suport.weights.speed", 0.5)
PATH_TEXT = path_case("path_to_text_field", "support.components.speed.metric", 1.0)
PATH_WEIGHT_RANGE = path_case("path_weight_above_one", "support.weights.speed", 1.5)
PATH_WEIGHT_NEGATIVE = path_case("path_weight_negative", "support.weights.speed", -0.1)
PATH_NAN = path_case("path_value_nan", "support.base_pay", math.nan)
PATH_NP_NAN = path_case("path_weight_numpy_nan", "support.weights.speed", np.float64("nan"))


def test_unknown_parameter_path_names_the_nearest_valid_ones(ws: Workspace) -> None:
    err = raised(PATH_TYPO, ws, cm.ParameterPathError, r"does not address a number")
    assert isinstance(err, KeyError)
    assert_error(
        err,
        field="support.curves.speed.tresh",
        fix="Did you mean 'support.curves.speed.threshold'",
    )
    # every suggestion is itself a valid path
    suggested = re.findall(r"'([^']+)'", str(err).split("Did you mean", 1)[1])
    assert suggested
    assert set(suggested) <= set(cm.parameter_paths(ws.load()))


@pytest.mark.parametrize(
    ("bad", "path", "says"),
    [
        (PATH_UNKNOWN_DEPT, "suport.base_pay", "does not start with a department (sales, support)"),
        (PATH_UNKNOWN_DEPT_WEIGHT, "suport.weights.speed", "departments: ['sales', 'support']"),
    ],
    ids=["field", "weight"],
)
def test_unknown_department_in_parameter_path(
    ws: Workspace, bad: BadInput, path: str, says: str
) -> None:
    err = raised(bad, ws, cm.ParameterPathError, re.escape(says))
    fixed = path.replace("suport", "support")
    assert_error(err, field=path, allowed=says, fix=f"Did you mean {fixed!r}")
    assert isinstance(ws.load().get(fixed), float)


def test_parameter_path_to_a_text_field(ws: Workspace) -> None:
    err = raised(PATH_TEXT, ws, cm.ParameterPathError, r"addresses a table or text, not a number")
    assert_error(err, field="support.components.speed.metric", fix="Did you mean 'support.curves")
    with pytest.raises(cm.ParameterPathError, match=r"not a number"):
        ws.load().get("support.components.speed.metric")


@pytest.mark.parametrize(
    ("bad", "w"), [(PATH_WEIGHT_RANGE, "1.5"), (PATH_WEIGHT_NEGATIVE, "-0.1")], ids=["1.5", "-0.1"]
)
def test_parameter_path_weight_outside_zero_to_one(ws: Workspace, bad: BadInput, w: str) -> None:
    err = raised(bad, ws, cm.ParameterPathError, rf"weight {re.escape(w)} is outside")
    assert_error(err, field="support.weights.speed", allowed="the allowed range 0..1")


@pytest.mark.parametrize(
    ("bad", "path"),
    [(PATH_NAN, "support.base_pay"), (PATH_NP_NAN, "support.weights.speed")],
    ids=["float_nan", "numpy_nan"],
)
def test_parameter_path_value_nan(ws: Workspace, bad: BadInput, path: str) -> None:
    err = raised(bad, ws, cm.ParameterPathError, r"value must be finite, got nan")
    assert_error(err, field=path, allowed="must be finite")


def test_every_listed_parameter_path_can_be_read(ws: Workspace) -> None:
    """The paths suggested by "Did you mean" come from this list, so each must work."""
    s = ws.load()
    bad = []
    for p in cm.parameter_paths(s):
        try:
            s.get(p)
        except cm.ParameterPathError:
            bad.append(p)
    assert bad == []


PATH_NOT_TEXT = path_case("path_not_a_string", ("support", "base_pay"), 1.0)
NO_COMPMODEL_ERROR["path_not_a_string"] = "AttributeError: 'tuple' object has no attribute 'split'"


def test_parameter_path_that_is_not_a_string(ws: Workspace) -> None:
    err = raised(PATH_NOT_TEXT, ws, cm.ParameterPathError, r"(?i)string|text")
    assert "support" in err.field


def _with_department(ws: Workspace, name: str, **changes: Any) -> cm.Scenario:
    return ws.load().with_department(name, **changes)


DEPT_UNKNOWN = bad_input(
    "with_department_unknown", functools.partial(_with_department, name="suport", base_pay=1.0)
)
DEPT_TYPO = bad_input(
    "with_department_misspelled_field",
    functools.partial(_with_department, name="support", base_pya=55_000.0),
)


def test_with_department_unknown_department(ws: Workspace) -> None:
    err = raised(DEPT_UNKNOWN, ws, cm.ScenarioError, r"unknown department 'suport'")
    assert_error(err, field="departments", allowed="known: ['sales', 'support']")


def test_with_department_misspelled_field(ws: Workspace) -> None:
    err = raised(DEPT_TYPO, ws, cm.ScenarioError, r"base_pya")
    assert_error(err, field="departments.support.base_pya", fix="Did you mean 'base_pay'?")


# --------------------------------------------------------------------------------------
# commission budget
# --------------------------------------------------------------------------------------
def _budget(ws: Workspace, n_draws: int = 20_000, forecast: bool = True) -> object:
    return cm.commission_budget(ws.load(forecast=forecast), n_draws=n_draws)


BUDGET_FEW_DRAWS = bad_input("budget_n_draws_10", functools.partial(_budget, n_draws=10))
BUDGET_99_DRAWS = bad_input("budget_n_draws_99", functools.partial(_budget, n_draws=99))
BUDGET_NO_FORECAST = bad_input("budget_no_forecast", functools.partial(_budget, forecast=False))


@pytest.mark.parametrize("bad", [BUDGET_FEW_DRAWS, BUDGET_99_DRAWS], ids=["10", "99"])
def test_commission_budget_with_too_few_draws(ws: Workspace, bad: BadInput) -> None:
    err = raised(bad, ws, cm.ScenarioError, r"is \d+; allowed: a whole number >= 100")
    assert_error(err, field="n_draws", allowed="a whole number >= 100")


def test_commission_budget_without_a_forecast(ws: Workspace) -> None:
    err = raised(BUDGET_NO_FORECAST, ws, cm.ScenarioError, r"needs a forecast")
    assert_error(err, field="forecast", fix="add [forecast.<metric>] tables with mean and sd")


# --------------------------------------------------------------------------------------
# the Python API validates as strictly as the TOML reader
# --------------------------------------------------------------------------------------
def _python_scenario(**dept_changes: Any) -> cm.Scenario:
    """One department built with the dataclasses, as a notebook user would."""
    forecast = dept_changes.pop("forecast", None) or cm.Forecast(
        metrics={"bookings": cm.MetricForecast(mean=1_000_000.0, sd=100_000.0)}
    )
    company = dept_changes.pop("company", cm.Company())
    metric = dept_changes.pop("metric", "bookings")
    plan = cm.Plan(
        components={
            "bookings": cm.Component(
                metric=metric,
                payout=cm.PayoutCurve(threshold=800_000.0, target=1_000_000.0),
                weight=1.0,
            )
        }
    )
    dept = dict(headcount=3, base_pay=70_000.0, target_incentive=0.1, plan=plan)
    dept.update(dept_changes)
    return cm.Scenario(
        name="python",
        metrics={"bookings": cm.Metric(unit="USD", scope="individual")},
        departments={"sales": cm.Department(**dept)},
        forecast=forecast,
        company=company,
    )


def _people(*rows: tuple[str, float]) -> cm.Roster:
    return cm.Roster(people=tuple(cm.Person(person=n, base=b) for n, b in rows))


PYTHON_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # id, Department changes, expected field, expected text; all are defects today
    ("headcount_2.5", {"headcount": 2.5}, "departments.sales.headcount", "whole number"),
    ("headcount_nan", {"headcount": math.nan}, "departments.sales.headcount", "finite"),
    ("target_incentive_nan", {"target_incentive": math.nan},
     "departments.sales.target_incentive", "finite"),
    ("target_incentive_negative", {"target_incentive": -0.1},
     "departments.sales.target_incentive", ">= 0"),
    ("base_pay_text", {"base_pay": "lots"}, "departments.sales.base_pay", "must be a number"),
    ("forecast_sd_nan",
     {"forecast": cm.Forecast(metrics={"bookings": cm.MetricForecast(1e6, math.nan)})},
     "forecast.bookings.sd", "finite"),
    ("roster_negative_base",
     {"roster": _people(("a", 70_000.0), ("b", -1.0), ("c", 1.0))},
     "departments.sales.roster", ">= 0"),
    ("roster_duplicate_person",
     {"roster": _people(("a", 70_000.0), ("b", 1.0), ("a", 1.0))},
     "departments.sales.roster", "appears twice"),
    ("coefficient_outside_range",
     {"company": cm.Company(coefficients={"e": cm.Coefficient(value=1.5, range=(0.0, 1.0))})},
     "company.coefficients.e.value", "outside its stated range"),
    ("unknown_metric_lists_known", {"metric": "bokings"},
     "departments.sales.components.bookings.metric", "Did you mean 'bookings'?"),
]  # fmt: skip

PYTHON_DEFECTS = {
    "headcount_2.5": "io.validate_scenario accepts Department(headcount=2.5) built in Python "
    "(only the TOML reader checks for a whole number); commission_budget then raises a "
    "bare TypeError ('float' object cannot be interpreted as an integer)",
    "headcount_nan": "io.validate_scenario accepts Department(headcount=nan) (nan < 0 is False)",
    "target_incentive_nan": "io.validate_scenario does not check target_incentive; "
    "Department(target_incentive=nan) is accepted and commission_budget silently returns "
    "NaN expected payouts",
    "target_incentive_negative": "io.validate_scenario does not check target_incentive; "
    "-0.1 is accepted from Python (the TOML reader requires >= 0)",
    "base_pay_text": "io.validate_scenario: Department(base_pay='lots') raises a bare "
    "TypeError ('<' not supported between 'str' and 'int')",
    "forecast_sd_nan": "io.validate_scenario does not check forecast numbers; "
    "MetricForecast(sd=nan) is accepted and commission_budget silently returns NaN",
    "roster_negative_base": "io.validate_scenario does not check a Roster built in Python; "
    "Person(base=-1) is accepted (load_roster rejects it)",
    "roster_duplicate_person": "io.validate_scenario does not check a Roster built in "
    "Python; the same person twice is accepted (load_roster rejects it)",
    "coefficient_outside_range": "io.validate_scenario does not check Coefficient.range; "
    "Coefficient(value=1.5, range=(0, 1)) is accepted from Python (the TOML reader "
    "rejects it)",
    "unknown_metric_lists_known": "io.validate_scenario: an unknown component metric built "
    "in Python gives only \"unknown metric 'bokings'\", without the known metrics or a "
    "'Did you mean' (the TOML reader gives both)",
}

for _id, _changes, *_ in PYTHON_CASES:
    bad_input(f"python_{_id}", lambda ws, _c=_changes: _python_scenario(**_c))
    if _id != "unknown_metric_lists_known":  # that one raises a ScenarioError already
        NO_COMPMODEL_ERROR[f"python_{_id}"] = PYTHON_DEFECTS[_id]


@pytest.mark.parametrize(
    ("name", "field", "says"),
    [
        pytest.param(
            f"python_{i}",
            f,
            s,
            id=i,
        )
        for i, _, f, s in PYTHON_CASES
    ],
)
def test_python_api_validates_like_the_toml_reader(
    ws: Workspace, name: str, field: str, says: str
) -> None:
    err = raised(BAD_INPUTS[name], ws, cm.ScenarioError, re.escape(says))
    assert err.field.startswith(field)


def test_numpy_integers_are_numbers() -> None:
    curve = cm.PayoutCurve(threshold=np.int64(80), target=100.0)  # type: ignore[arg-type]
    assert curve.threshold == 80.0


# --------------------------------------------------------------------------------------
# every bad input raises a compmodel error, never a bare Python/numpy one
# --------------------------------------------------------------------------------------
def _shown_chain(err: BaseException) -> Iterator[BaseException]:
    """The exceptions a traceback of ``err`` would show."""
    e: BaseException | None = err
    while e is not None:
        yield e
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            n,
            marks=[],
        )
        for n in BAD_INPUTS
    ],
)
def test_only_compmodel_exceptions_escape(ws: Workspace, name: str) -> None:
    try:
        BAD_INPUTS[name](ws)
    except cm.CompmodelError as err:
        assert isinstance(err, ValueError)
        assert err.field or str(err)
        leaked = [
            type(e).__name__ for e in _shown_chain(err) if not isinstance(e, cm.CompmodelError)
        ]
        assert leaked == [], f"the traceback also shows {leaked}"
    except Exception as err:
        pytest.fail(f"{name}: {type(err).__module__}.{type(err).__name__} escaped: {err}")
    else:
        pytest.fail(f"{name}: the bad input was accepted without an error")


def test_the_bad_inputs_are_all_registered() -> None:
    assert len(BAD_INPUTS) >= 60
    assert set(NO_COMPMODEL_ERROR) <= set(BAD_INPUTS)


# --------------------------------------------------------------------------------------
# atomic save
# --------------------------------------------------------------------------------------
class _DiskFull:
    """A file whose write stops halfway with ENOSPC."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def write(self, text: str) -> int:
        self._fh.write(text[: len(text) // 2])
        self._fh.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _raise(exc: BaseException) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return boom


_real_fdopen = os.fdopen

INTERRUPTIONS: dict[str, tuple[Any, str, Callable[..., Any], type[BaseException]]] = {
    "disk_full_mid_write": (
        cm_io.os,
        "fdopen",
        lambda *a, **k: _DiskFull(_real_fdopen(*a, **k)),
        OSError,
    ),
    "fsync_fails": (cm_io.os, "fsync", _raise(OSError(5, "Input/output error")), OSError),
    "rename_fails": (cm_io.os, "replace", _raise(PermissionError(13, "denied")), OSError),
    "ctrl_c_before_rename": (cm_io.os, "replace", _raise(KeyboardInterrupt()), KeyboardInterrupt),
    "serialising_fails": (cm_io.tomli_w, "dumps", _raise(TypeError("not TOML")), TypeError),
}


@pytest.mark.parametrize("how", list(INTERRUPTIONS))
def test_interrupted_save_leaves_the_old_file_whole(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = ws.write(ws.toml())
    old_bytes = path.read_bytes()
    scenario = cm.load_scenario(path)
    changed = scenario.with_value("support.base_pay", 55_000.0)
    before = sorted(os.listdir(ws.root))

    target, attr, replacement, expected = INTERRUPTIONS[how]
    with monkeypatch.context() as m:
        m.setattr(target, attr, replacement)
        with pytest.raises(expected):
            cm.save_scenario(changed, path)

    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(ws.root)) == before, "a temporary file was left behind"
    assert cm.load_scenario(path) == scenario


def test_uninterrupted_save_replaces_the_file(ws: Workspace) -> None:
    """Control for the test above: without the interruption the file does change."""
    path = ws.write(ws.toml())
    old_bytes = path.read_bytes()
    changed = cm.load_scenario(path).with_value("support.base_pay", 55_000.0)
    before = sorted(os.listdir(ws.root))
    assert cm.save_scenario(changed, path) == path
    assert path.read_bytes() != old_bytes
    assert sorted(os.listdir(ws.root)) == before
    assert cm.load_scenario(path) == changed
    assert cm.load_scenario(path).departments["support"].base_pay == 55_000.0
