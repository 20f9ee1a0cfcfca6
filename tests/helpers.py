"""Small builders shared by the tests: one-department scenarios from plain dicts."""

from __future__ import annotations

import copy
from typing import Any

import compmodel as cm

BASE = 100_000.0
TI = 0.2  # target payout = 20,000 per person


def one_component(
    component: dict[str, Any],
    *,
    metrics: dict[str, dict[str, Any]] | None = None,
    forecast: dict[str, Any] | None = None,
    modifier: dict[str, Any] | None = None,
    headcount: int = 1,
    extra_components: dict[str, dict[str, Any]] | None = None,
) -> cm.Scenario:
    """A scenario with one department (`team`) whose plan holds `component` (`c`)."""
    metrics = metrics or {
        "x": {"unit": "units", "scope": "department"},
    }
    forecast = forecast or {"x": {"mean": 100.0, "sd": 15.0}}
    comps = {"c": copy.deepcopy(component)}
    comps.update(copy.deepcopy(extra_components or {}))
    dept: dict[str, Any] = {
        "headcount": headcount,
        "base_pay": BASE,
        "target_incentive": TI,
        "components": comps,
    }
    if modifier is not None:
        dept["modifier"] = modifier
    doc = {
        "name": "test",
        "metrics": metrics,
        "forecast": forecast,
        "departments": {"team": dept},
    }
    return cm.scenario_from_dict(doc)
