"""How sales is credited, and the two clawbacks, as parameter paths.

A company kind that lets a plan choose *when* a sale counts (booked, shipped, delivered on
time, on its margin) declares the crediting metrics and its clawback forms
(:class:`compmodel.models.Crediting`; the reference manufacturer does). This module turns
them into parameter paths that :meth:`Scenario.with_value
<compmodel.Scenario.with_value>`, :func:`compmodel.sweep`, :func:`compmodel.tornado` and
the dashboard all use:

=================================  ======================================================
path                               value
=================================  ======================================================
``sales.crediting``                the metric the commission is credited on (a name,
                                   e.g. ``"ontime_margin"``): the department's curve
                                   component on a crediting metric moves to it, its
                                   points rescaled by the ratio of the two metrics at an
                                   equilibrium of the scenario being edited
``sales.clawbacks.cost_share``     share kappa of what a person's orders cost the company
                                   taken back (0 removes the clawback; at most 1)
``sales.clawbacks.late_share``     share of the commission's rate taken back on late or
                                   cancelled orders (0 removes it; at most 1)
=================================  ======================================================

No new TOML key: crediting is read from the commission component's metric, a clawback
from the clawback component on its metric (``kind = "clawback"``).

Rescaling keeps behaviour comparable: a curve with its target at 2 million booked moves,
on on-time margin, to 2 million x margin x OTIF at the equilibrium, so the same effort
reaches the same attainment. The equilibrium is ``at=`` when given (the dashboard passes
the one on screen), else one :func:`~compmodel.solve` of the scenario being edited.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from . import paths
from .errors import ParameterPathError, ScenarioError
from .models import Crediting, crediting_of
from .plans import Clawback, Component, PayoutCurve
from .scenario import Scenario
from .solve import Solution, solve

__all__ = ["commission_component", "credit_on", "crediting_metrics"]


def _declared(scenario: Scenario) -> Crediting | None:
    return crediting_of(scenario.company.kind)


def crediting_metrics(scenario: Scenario) -> dict[str, str]:
    """The metrics ``scenario``'s commission can be credited on, with how each reads
    (``{"bookings": "at booking", ...}``); empty when its company declares none."""
    declared = _declared(scenario)
    if declared is None:
        return {}
    return {m: label for m, label in declared.metrics.items() if m in scenario.metrics}


def commission_component(scenario: Scenario, department: str) -> str | None:
    """The name of ``department``'s curve component on a crediting metric, if any."""
    credit = crediting_metrics(scenario)
    dept = scenario.departments.get(department)
    if not credit or dept is None:
        return None
    for name, comp in dept.plan.components.items():
        if comp.metric in credit and isinstance(comp.payout, PayoutCurve):
            return name
    return None


def credit_on(
    scenario: Scenario,
    metric: str,
    *,
    department: str = "sales",
    at: Solution | None = None,
) -> Scenario:
    """Credit a department's commission on another metric of the order's life.

    The department's component on a crediting metric (bookings, shipped revenue,
    on-time revenue, shipped or on-time margin) is moved to ``metric``, its curve's
    points scaled by the ratio of the two metrics' expected values at ``at`` (an
    equilibrium of ``scenario``; one solve when left out), so the same behaviour reaches
    the same attainment. The same as ``scenario.with_value(f"{department}.crediting",
    metric, at=at)``.

    Raises
    ------
    ParameterPathError
        If ``metric`` is not a crediting metric of the scenario, or the department has
        no curve component on one.
    ScenarioError
        If either metric is not positive at the equilibrium (the curve cannot be
        rescaled).
    """
    out: Scenario = paths.with_value(scenario, f"{department}.crediting", metric, at=at)
    return out


# --------------------------------------------------------------------------------------
# the path handlers
# --------------------------------------------------------------------------------------
class _CreditingPath:
    rescales = True

    def applies(self, scenario: Scenario, department: str) -> bool:
        return commission_component(scenario, department) is not None

    def choices(self, scenario: Scenario, department: str) -> tuple[str, ...]:
        return tuple(crediting_metrics(scenario))

    def bounds(self, scenario: Scenario, department: str) -> None:
        return None

    def get(self, scenario: Scenario, department: str) -> str:
        key = commission_component(scenario, department)
        assert key is not None  # applies() was checked by the path module
        return scenario.departments[department].plan.components[key].metric

    def set(self, scenario: Scenario, department: str, value: Any, at: Any) -> Scenario:
        key = commission_component(scenario, department)
        assert key is not None  # applies() was checked by the path module
        plan = scenario.departments[department].plan
        comp = plan.components[key]
        if comp.metric == value:
            return scenario
        sol = at if at is not None else solve(scenario)
        path = f"{department}.crediting"
        if not isinstance(sol, Solution):
            raise ParameterPathError(
                path, f"at= must be a Solution of the scenario (compmodel.solve), got {sol!r}"
            )
        missing = [m for m in (comp.metric, value) if m not in sol.metrics]
        if missing:
            raise ParameterPathError(
                path,
                f"the equilibrium given with at= has no {missing[0]!r}; pass a solution "
                "of this scenario, or leave at= out to solve it",
            )
        before, after = sol.metrics[comp.metric], sol.metrics[value]
        if not (before > 0 and after > 0):
            raise ScenarioError(
                path,
                f"{comp.metric} ({before:,.0f}) and {value} ({after:,.0f}) must both be "
                "positive at the equilibrium to rescale the curve",
            )
        k = after / before
        curve = comp.payout
        assert isinstance(curve, PayoutCurve)  # commission_component picks curves
        scaled = dataclasses.replace(
            curve,
            threshold=curve.threshold * k,
            target=curve.target * k,
            cap=None if curve.cap is None else curve.cap * k,
            extra_points=tuple((x * k, y) for x, y in curve.extra_points),
        )
        components = dict(plan.components)
        components[key] = dataclasses.replace(comp, metric=value, payout=scaled)
        return scenario.with_department(
            department, plan=dataclasses.replace(plan, components=components)
        )


class _ClawbackPath:
    rescales = True  # adds or removes a component

    def __init__(self, form: str) -> None:
        self.form = form

    def _spec(self, scenario: Scenario) -> tuple[str, str, bool] | None:
        declared = _declared(scenario)
        if declared is None or self.form not in declared.clawbacks:
            return None
        spec = declared.clawbacks[self.form]
        return spec if spec[1] in scenario.metrics else None

    def _existing(self, scenario: Scenario, department: str, metric: str) -> str | None:
        for name, comp in scenario.departments[department].plan.components.items():
            if comp.metric == metric and isinstance(comp.payout, Clawback):
                return name
        return None

    def applies(self, scenario: Scenario, department: str) -> bool:
        return (
            self._spec(scenario) is not None
            and commission_component(scenario, department) is not None
        )

    def choices(self, scenario: Scenario, department: str) -> None:
        return None

    def bounds(self, scenario: Scenario, department: str) -> tuple[float, float]:
        return (0.0, 1.0)

    def get(self, scenario: Scenario, department: str) -> float:
        spec = self._spec(scenario)
        assert spec is not None  # applies() was checked by the path module
        key = self._existing(scenario, department, spec[1])
        if key is None:
            return 0.0
        payout = scenario.departments[department].plan.components[key].payout
        assert isinstance(payout, Clawback)
        return float(payout.share)

    def set(self, scenario: Scenario, department: str, value: Any, at: Any) -> Scenario:
        spec = self._spec(scenario)
        assert spec is not None  # applies() was checked by the path module
        name, metric, of_rate = spec
        share = float(value)
        key = self._existing(scenario, department, metric)
        where = f"departments.{department}.components.{key or name}"
        plan = scenario.departments[department].plan
        components = dict(plan.components)
        if share == 0.0:
            if key is None:
                return scenario
            del components[key]
        else:
            try:
                if key is not None:
                    old = components[key]
                    claw = dataclasses.replace(cast(Clawback, old.payout), share=share)
                    components[key] = dataclasses.replace(old, payout=claw)
                else:
                    rate_of = commission_component(scenario, department) if of_rate else None
                    claw = Clawback(share=share, rate_of=rate_of)
                    components[name] = Component(metric=metric, payout=claw)
            except ScenarioError as e:
                raise e.at(where) from None
        return scenario.with_department(
            department, plan=dataclasses.replace(plan, components=components)
        )


paths.register("crediting", _CreditingPath())
paths.register("clawbacks.cost_share", _ClawbackPath("cost_share"))
paths.register("clawbacks.late_share", _ClawbackPath("late_share"))
