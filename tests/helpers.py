"""Small builders shared by the tests: one-department scenarios from plain dicts, the
payout shapes, and the reference company's first-best sales levers."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from scipy import optimize

import compmodel as cm
from compmodel.models import build_model

BASE = 100_000.0
TI = 0.2  # target payout = 20,000 per person

#: One component of each payout shape on the metric ``x`` (``y`` for lower-is-better),
#: shared by the moment and exact-CARA tests.
COMPONENTS = {
    "linear": {"metric": "x", "weight": 1.0, "threshold": 80.0, "target": 100.0},
    "linear_extended": {
        "metric": "x", "weight": 1.0, "threshold": 80.0, "target": 100.0, "floor": "extend",
    },
    "capped": {
        "metric": "x", "weight": 1.0, "threshold": 80.0, "target": 100.0, "cap": 115.0,
        "payout_at_cap": 1.6, "payout_at_threshold": 0.25, "floor": 0.1,
    },
    "stepped": {
        "metric": "x", "weight": 1.0, "threshold": 85.0, "target": 100.0, "cap": 120.0,
        "payout_at_threshold": 0.5, "payout_at_cap": 1.5, "step": True,
        "extra_points": [[110.0, 1.2]],
    },
    "tiered_marginal": {
        "metric": "x", "kind": "rate_table", "target": 100.0, "mode": "marginal",
        "tiers": [{"up_to": 0.9, "rate": 100.0}, {"up_to": 1.1, "rate": 200.0}, {"rate": 350.0}],
    },
    "tiered_retroactive": {
        "metric": "x", "kind": "rate_table", "target": 100.0, "mode": "retroactive",
        "tiers": [{"up_to": 0.9, "rate": 100.0}, {"up_to": 1.1, "rate": 150.0}, {"rate": 180.0}],
    },
    "lump_sum": {"metric": "x", "kind": "lump_sum", "quota": 105.0, "amount": 7_500.0},
    "lower_is_better": {
        "metric": "y", "weight": 1.0, "threshold": 30.0, "target": 20.0, "cap": 12.0,
        "payout_at_cap": 1.5,
    },
}  # fmt: skip


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


def first_best_sales(s: cm.Scenario, customer_base: float | None = None) -> np.ndarray:
    """Sales levers that maximise the year's gross value less sales' effort, others at
    rest, in a year that starts with ``customer_base`` (default: the model's own, the
    steady state at rest) for a kind whose customers carry over."""
    m = build_model(s)
    if customer_base is not None:
        m = m.with_state(customer_base)  # type: ignore[attr-defined]
    idx = m.levers.index("sales")
    n = s.departments["sales"].headcount

    def neg(x: np.ndarray) -> float:
        t = m.levers.rest.copy()
        t[idx] = x
        return -(m.gross_value(t) - n * m.levers.effort_cost("sales", t)) / 1e6

    bounds = list(zip(m.levers.lower[idx], m.levers.upper[idx], strict=True))
    best = None
    for x0 in (m.levers.rest[idx], np.array([1.2, 0.3, 0.1])):
        r = optimize.minimize(neg, x0, method="L-BFGS-B", bounds=bounds,
                              options={"ftol": 1e-15, "gtol": 1e-10})  # fmt: skip
        if best is None or r.fun < best.fun:
            best = r
    assert best is not None
    return np.asarray(best.x)
