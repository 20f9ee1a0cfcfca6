"""Parameter paths: one name for every setting of a scenario, read and changed in place.

A *parameter path* names a number (or a choice) in a :class:`~compmodel.Scenario`; the
same paths drive :meth:`Scenario.with_value <compmodel.Scenario.with_value>`, sweeps,
tornados, the optimiser and the dashboard:

====================================  ==================================================
path                                  addresses
====================================  ==================================================
``sales.weights.bookings``            the weight of component ``bookings``; the other
                                      weighted components are rescaled proportionally
                                      so the weights still sum to 1
``sales.shared_share``                total weight on company-scope metrics; shared and
                                      own components are rescaled within each group
``sales.curves.bookings.cap``         a field of component ``bookings`` (``threshold``,
                                      ``target``, ``cap``, ``payout_at_cap``, ...)
``sales.components.x.tiers.1.rate``   any number inside a component, list items by index
``sales.gates.bookings.threshold``    the gate threshold of a component
``sales.modifier.cap``                a field of the department's modifier
``sales.target_incentive``            a department field (``base_pay``, ``headcount``,
                                      ``risk_aversion``, ``market_reference``, ...)
``company.coefficients.NAME``         a company-model coefficient's value
``company.levers.DEPT.LEVER.cost``    a lever's effort cost (its value, when written
                                      as a ``{value, unit, range, source}`` table)
``sales.team_identification``         a department's team identification (likewise)
``forecast.bookings.sd``              a metric forecast (``mean``, ``sd``,
                                      ``individual_sd``)
``settings.payroll_tax_rate``         a scenario setting
``bridges.NAME``                      a bridge's setting
====================================  ==================================================

Full paths into the TOML document (``departments.sales.components.bookings.weight``) are
accepted too. Modules above this one add *derived* paths with :func:`register`: settings
that move several numbers at once, such as how sales is credited
(``sales.crediting``, :mod:`compmodel.crediting`).

An edit changes the dataclass tree directly (no document round trip) and checks what
changed with the validators a loaded file goes through (:mod:`compmodel.validate`):
a value a file may not hold raises the same :class:`~compmodel.errors.ScenarioError`
here (a sourced number outside its stated range included). :func:`stated_range` gives
the range of a sourced number and :func:`ranged_paths` lists every path that has one.
An unknown path raises :class:`~compmodel.errors.ParameterPathError` naming the
nearest valid paths. This module imports nothing above the scenario dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, cast

import numpy as np

from . import validate
from .document import scenario_to_dict, sourced_at
from .errors import ParameterPathError, PlanError, ScenarioError
from .plans import (
    Clawback,
    Component,
    Gate,
    LumpSum,
    Modifier,
    PayoutCurve,
    Plan,
    RateTable,
    Tier,
)

__all__ = [
    "DerivedPath",
    "bounds",
    "choices",
    "get",
    "is_categorical",
    "parameter_paths",
    "ranged_paths",
    "register",
    "rescales",
    "stated_range",
    "with_range_widened",
    "with_value",
    "with_values",
]

Value = float | str


# --------------------------------------------------------------------------------------
# derived paths, registered from above
# --------------------------------------------------------------------------------------
class DerivedPath(Protocol):
    """A setting that is not one number of the tree: ``<department>.<suffix>``.

    Registered with :func:`register`; the handler reads and sets it on a scenario.
    """

    #: whether setting it changes other numbers (or depends on an equilibrium), so
    #: several of them are applied one after another, never validated together
    rescales: bool

    def applies(self, scenario: Any, department: str) -> bool:
        """Whether ``department`` of ``scenario`` has this setting."""
        ...

    def choices(self, scenario: Any, department: str) -> tuple[str, ...] | None:
        """The allowed values of a categorical setting; ``None`` for a number."""
        ...

    def get(self, scenario: Any, department: str) -> Value:
        """The current value."""
        ...

    def bounds(self, scenario: Any, department: str) -> tuple[float, float] | None:
        """The range a number may take (``None``: unbounded or categorical)."""
        ...

    def set(self, scenario: Any, department: str, value: Value, at: Any) -> Any:
        """A copy of ``scenario`` with the setting at ``value`` (``at``: an equilibrium
        of ``scenario`` the handler may use instead of solving)."""
        ...


_DERIVED: dict[str, DerivedPath] = {}


def register(suffix: str, handler: DerivedPath) -> None:
    """Make ``<department>.<suffix>`` a parameter path handled by ``handler``."""
    _DERIVED[suffix] = handler


class _CapAtRate:
    """``<department>.curves.<component>.cap_at_rate``: the cap of a payout curve moved
    with the slope above target kept, so the payout at the cap moves with it (lower the
    cap, lower the most anyone can earn). ``curves.<component>.cap`` moves the cap with
    ``payout_at_cap`` held, which steepens the curve as the cap comes down."""

    rescales = True  # payout_at_cap follows

    def __init__(self, component: str) -> None:
        self.component = component

    def _curve(self, scenario: Any, department: str) -> PayoutCurve | None:
        comp = scenario.departments[department].plan.components.get(self.component)
        payout = getattr(comp, "payout", None)
        if isinstance(payout, PayoutCurve) and payout.cap is not None:
            return payout
        return None

    def applies(self, scenario: Any, department: str) -> bool:
        return self._curve(scenario, department) is not None

    def choices(self, scenario: Any, department: str) -> None:
        return None

    def get(self, scenario: Any, department: str) -> float:
        curve = self._curve(scenario, department)
        assert curve is not None and curve.cap is not None  # applies() was checked
        return float(curve.cap)

    def bounds(self, scenario: Any, department: str) -> None:
        return None

    def set(self, scenario: Any, department: str, value: Value, at: Any) -> Any:
        curve = self._curve(scenario, department)
        assert curve is not None and curve.cap is not None  # applies() was checked
        base = f"{department}.curves.{self.component}"
        cap = float(value)
        if curve.payout_at_cap is None:  # the threshold-to-target slope runs on: kept
            return with_value(scenario, f"{base}.cap", cap)
        beyond = [x for x, _ in curve.extra_points if (x - curve.target) * (curve.cap - x) > 0]
        if beyond:
            raise ScenarioError(
                f"departments.{department}.components.{self.component}",
                "has points between its target and cap, so the slope above target is not "
                f"one number; move {base}.cap (payout at the cap held) or edit the points",
            )
        span = curve.cap - curve.target
        slope = (curve.payout_at_cap - 1.0) / span if span else 0.0
        return with_values(
            scenario,
            {f"{base}.cap": cap, f"{base}.payout_at_cap": 1.0 + slope * (cap - curve.target)},
        )


def _derived(scenario: Any, path: str) -> tuple[str, DerivedPath] | None:
    dept, _, suffix = path.partition(".")
    if dept not in scenario.departments:
        return None
    handler: DerivedPath | None = _DERIVED.get(suffix)
    if handler is None:
        parts = suffix.split(".")
        if len(parts) == 3 and parts[0] == "curves" and parts[2] == "cap_at_rate":
            handler = _CapAtRate(parts[1])
    if handler is None:
        return None
    return dept, handler


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def get(scenario: Any, path: str) -> Value:
    """The value at ``path`` (a number; text for a categorical path such as crediting)."""
    _check_path(path)
    found = _derived(scenario, path)
    if found is not None:
        dept, handler = found
        _require(handler, scenario, dept, path)
        return handler.get(scenario, dept)
    parts = path.split(".")
    if len(parts) == 2 and parts[1] == "shared_share":
        return shared_share(scenario, _dept_of(scenario, path))
    keys = _resolve(path, scenario)
    value = _read(scenario, keys)
    if value is None:  # an optional number not set (a cap, a mean): nothing to read
        raise ParameterPathError(
            path, "does not address a number in this scenario" + _suggest(path, scenario)
        )
    return float(value)


def with_value(scenario: Any, path: str, value: Value, *, at: Any = None) -> Any:
    """A copy of ``scenario`` with ``path`` set to ``value``, checked.

    Setting ``<dept>.weights.<component>`` rescales the department's other weighted
    components proportionally (equally if they are all zero) so the weights still sum
    to 1. Setting ``<dept>.shared_share`` rescales the components on company-scope
    metrics and the others proportionally within each group. ``at`` is an equilibrium
    of ``scenario`` (a :class:`~compmodel.Solution`) for derived paths that depend on
    one (crediting); other paths ignore it.
    """
    _check_path(path)
    found = _derived(scenario, path)
    if found is not None:
        dept, handler = found
        _require(handler, scenario, dept, path)
        choices = handler.choices(scenario, dept)
        if choices is not None:
            if value not in choices:
                near = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ParameterPathError(
                    path,
                    f"is {value!r}; allowed: {', '.join(repr(c) for c in choices)}.{hint}",
                )
            return handler.set(scenario, dept, value, at)
        return handler.set(scenario, dept, _number(value, path), at)
    v = _number(value, path)
    parts = path.split(".")
    if len(parts) == 2 and parts[1] == "shared_share":
        return _set_shared_share(scenario, _dept_of(scenario, path), v)
    weight = _weight_of(parts)
    if weight is not None:
        return _set_weight(scenario, *weight, v)
    return _apply(scenario, [(_resolve(path, scenario, allow_unset=True), v)])


def with_values(scenario: Any, values: Mapping[str, Value], *, at: Any = None) -> Any:
    """A copy with several paths set, in the order given.

    Plain numbers are set together and checked once (so a threshold and a target can
    move past each other); weights, shares and derived paths are set one at a time.
    """
    items = list(values.items())
    for path, _ in items:
        _check_path(path)
    if len(items) > 1 and not any(rescales(scenario, p) or _derived(scenario, p) for p, _ in items):
        changes = [(_resolve(p, scenario, allow_unset=True), _number(v, p)) for p, v in items]
        return _apply(scenario, changes)
    out = scenario
    for path, value in items:
        out = with_value(out, path, value, at=at if out is scenario else None)
    return out


def rescales(scenario: Any, path: str) -> bool:
    """Whether setting ``path`` changes other numbers too (weights, shares, derived)."""
    parts = path.split(".")
    if _weight_of(parts) is not None or (len(parts) == 2 and parts[1] == "shared_share"):
        return True
    found = _derived(scenario, path)
    return found is not None and found[1].rescales


def is_categorical(scenario: Any, path: str) -> bool:
    """Whether ``path`` takes a name (crediting) rather than a number."""
    found = _derived(scenario, path)
    return found is not None and found[1].choices(scenario, found[0]) is not None


def choices(scenario: Any, path: str) -> tuple[str, ...] | None:
    """The names a categorical path allows (``None`` for a number)."""
    found = _derived(scenario, path)
    if found is None:
        return None
    _require(found[1], scenario, found[0], path)
    return found[1].choices(scenario, found[0])


def bounds(scenario: Any, path: str) -> tuple[float, float] | None:
    """The range a derived numeric path may take (a clawback's share: 0 to 1)."""
    found = _derived(scenario, path)
    if found is None:
        return None
    _require(found[1], scenario, found[0], path)
    return found[1].bounds(scenario, found[0])


def parameter_paths(scenario: Any) -> list[str]:
    """Every parameter path of ``scenario``: each number, shared shares and the derived
    paths (crediting, clawbacks) its departments have."""
    doc = scenario_to_dict(scenario)
    doc.pop("format_version", None)
    paths = [_short(k) for k in _numeric_leaves(doc, ())]
    paths += [f"{d}.shared_share" for d in scenario.departments]
    paths += [
        f"{d}.{suffix}"
        for suffix, handler in _DERIVED.items()
        for d in scenario.departments
        if handler.applies(scenario, d)
    ]
    paths += [
        f"{d}.curves.{c}.cap_at_rate"
        for d, dept in scenario.departments.items()
        for c in dept.plan.components
        if _CapAtRate(c).applies(scenario, d)
    ]
    return sorted(set(paths))


def _sourced_keys(scenario: Any, path: str) -> tuple[str | int, ...] | None:
    """The document keys of ``path`` when it may hold a stated range (a coefficient, a
    lever's cost, a team identification, a setting), else ``None``."""
    _check_path(path)
    parts = path.split(".")
    if (
        _derived(scenario, path) is not None
        or _weight_of(parts) is not None
        or (len(parts) == 2 and parts[1] == "shared_share")
    ):
        return None
    keys = _resolve(path, scenario)
    return keys if sourced_at(tuple(map(str, keys))) else None


def _provenance_at(scenario: Any, keys: tuple[str | int, ...]) -> Any:
    """What carries the range at ``keys`` (from :func:`_sourced_keys`): the
    :class:`~compmodel.Coefficient` or the :class:`~compmodel.Provenance`, or ``None``."""
    if keys[0] == "company" and keys[1] == "coefficients":
        return scenario.company.coefficients[keys[2]]
    if keys[0] == "company":  # a lever's cost
        return scenario.company.levers[keys[2]][keys[3]].cost_provenance
    if keys[0] == "departments":
        return scenario.departments[keys[1]].team_identification_provenance
    return getattr(scenario.settings, f"{keys[1]}_provenance", None)


def stated_range(scenario: Any, path: str) -> tuple[float, float] | None:
    """The stated range of the sourced number at ``path`` (a company coefficient, a
    lever's ``cost``, a department's ``team_identification``, the ``horizon`` or
    ``discount_rate`` setting written as a ``{value, unit, range, source}`` table);
    ``None`` for any other path or a number written alone.

    Raises
    ------
    ParameterPathError
        If ``path`` addresses no number of ``scenario``.
    """
    keys = _sourced_keys(scenario, path)
    info = None if keys is None else _provenance_at(scenario, keys)
    rng = None if info is None else info.range
    return None if rng is None else (float(rng[0]), float(rng[1]))


def with_range_widened(scenario: Any, path: str, value: float) -> Any:
    """``scenario`` with the stated range of the sourced number at ``path`` widened to
    hold ``value`` (the value itself unchanged); ``scenario`` itself where ``path`` has
    no stated range or the range holds ``value`` already. What lets a prior's tail, or
    a breakeven search, set a number beyond the range its source supports."""
    keys = _sourced_keys(scenario, path)
    info = None if keys is None else _provenance_at(scenario, keys)
    if keys is None or info is None or info.range is None:
        return scenario
    lo, hi = info.range
    if lo <= value <= hi:
        return scenario
    wider = dataclasses.replace(info, range=(min(lo, value), max(hi, value)))
    replace = dataclasses.replace
    if keys[1] == "coefficients":
        coefs = {**scenario.company.coefficients, str(keys[2]): wider}
        return replace(scenario, company=replace(scenario.company, coefficients=coefs))
    if keys[0] == "company":  # a lever's cost
        levers = {d: dict(ls) for d, ls in scenario.company.levers.items()}
        lever = levers[str(keys[2])][str(keys[3])]
        levers[str(keys[2])][str(keys[3])] = replace(lever, cost_provenance=wider)
        return replace(scenario, company=replace(scenario.company, levers=levers))
    if keys[0] == "departments":
        dept = replace(scenario.departments[keys[1]], team_identification_provenance=wider)
        return replace(scenario, departments={**scenario.departments, keys[1]: dept})
    settings = replace(scenario.settings, **{f"{keys[1]}_provenance": wider})
    return replace(scenario, settings=settings)


def ranged_paths(scenario: Any) -> list[str]:
    """Every parameter path whose number has a stated range, in the file's order: the
    company coefficients (``company.coefficients.NAME``), then the levers' effort costs
    (``company.levers.DEPT.LEVER.cost``), then the departments' team identification
    (``DEPT.team_identification``), then the settings that value a change over years
    (``settings.horizon``, ``settings.discount_rate``) where they state a range. What
    :func:`compmodel.chance_it_pays` draws by default; :func:`compmodel.tornado` moves
    all but the settings (a steady state's profit does not depend on them)."""
    out = [
        f"company.coefficients.{name}"
        for name, c in scenario.company.coefficients.items()
        if c.range is not None
    ]
    out += [
        f"company.levers.{dn}.{ln}.cost"
        for dn, levers in scenario.company.levers.items()
        for ln, lv in levers.items()
        if lv.cost_provenance is not None
    ]
    out += [
        f"{dn}.team_identification"
        for dn, dept in scenario.departments.items()
        if dept.team_identification_provenance is not None
    ]
    out += [
        f"settings.{f}"
        for f in ("horizon", "discount_rate")
        if getattr(scenario.settings, f"{f}_provenance", None) is not None
    ]
    return out


def shared_share(scenario: Any, department: str) -> float:
    """Total weight on company-scope metrics in a department's plan."""
    dept = scenario.departments[department]
    return float(
        sum(
            c.weight or 0.0
            for c in dept.plan.components.values()
            if scenario.metrics[c.metric].scope == "company"
        )
    )


# --------------------------------------------------------------------------------------
# reading paths
# --------------------------------------------------------------------------------------
def _check_path(path: object) -> None:
    if not isinstance(path, str):
        raise ParameterPathError(
            str(path),
            "a parameter path must be a dotted string such as 'sales.weights.bookings'",
        )


def _require(handler: DerivedPath, scenario: Any, dept: str, path: str) -> None:
    if not handler.applies(scenario, dept):
        raise ParameterPathError(
            path, f"{dept} has no such setting in this scenario" + _suggest(path, scenario)
        )


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterPathError(path, f"value must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterPathError(path, f"value must be finite, got {v}")
    return v


def _dept_of(scenario: Any, path: str) -> str:
    name = path.split(".")[0]
    if name not in scenario.departments:
        raise ParameterPathError(
            path,
            f"unknown department {name!r}; departments: {sorted(scenario.departments)}"
            + _suggest(path, scenario),
        )
    return name


def _weight_of(parts: list[str]) -> tuple[str, str] | None:
    """``(department, component)`` when the path is a weight (any spelling)."""
    if len(parts) == 3 and parts[1] == "weights":
        return parts[0], parts[2]
    if (
        len(parts) == 5
        and parts[0] == "departments"
        and parts[2] in ("components", "curves")
        and parts[4] == "weight"
    ):
        return parts[1], parts[3]
    if len(parts) == 4 and parts[1] in ("components", "curves") and parts[3] == "weight":
        return parts[0], parts[2]
    return None


def _suggest(path: str, scenario: Any) -> str:
    near = difflib.get_close_matches(path, parameter_paths(scenario), n=3, cutoff=0.5)
    if near:
        return ". Did you mean " + " or ".join(repr(p) for p in near) + "?"
    return ". List the valid paths with compmodel.parameter_paths(scenario)."


def _is_coefficient(keys: Sequence[str | int]) -> bool:
    return len(keys) == 3 and keys[0] == "company" and keys[1] == "coefficients"


def _numeric_leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        if sourced_at(prefix) and "value" in node:  # a sourced table: one number
            return [prefix]
        for k, v in node.items():
            out += _numeric_leaves(v, (*prefix, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _numeric_leaves(v, (*prefix, str(i)))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.append(prefix)
    return out


def _short(keys: tuple[str, ...]) -> str:
    if len(keys) >= 2 and keys[0] == "departments":
        dept, rest = keys[1], keys[2:]
        if len(rest) >= 3 and rest[0] == "components":
            comp, field_ = rest[1], rest[2:]
            if field_ == ("weight",):
                return f"{dept}.weights.{comp}"
            if field_[0] == "gate":
                return f"{dept}.gates.{comp}." + ".".join(field_[1:])
            return f"{dept}.curves.{comp}." + ".".join(field_)
        return f"{dept}." + ".".join(rest)
    return ".".join(keys)


# the tree, seen as the TOML document sees it: children of each node by document key.
# A child is an object, a number, None (an optional number not set) or _TEXT.
_TEXT = object()
_SETTINGS_NUMBERS = tuple(validate.SETTINGS)
_DEPT_NUMBERS = tuple(validate.DEPARTMENT)


def _children(node: Any, keys: Sequence[str | int]) -> Mapping[str, Any] | Sequence[Any] | None:
    """The children of ``node`` (at document location ``keys``), or ``None`` for a leaf."""
    n = len(keys)
    if n == 0:
        out: dict[str, Any] = {
            "settings": node.settings,
            "company": node.company,
            "departments": node.departments,
            "bridges": node.bridges,
            "metrics": {m: _TEXT for m in node.metrics},
            **dict.fromkeys(("name", "description", "currency", "period"), _TEXT),
        }
        if node.forecast is not None:
            out["forecast"] = node.forecast
        return out
    head = keys[0]
    if isinstance(node, Mapping):
        return node
    if head == "company" and n == 3 and keys[1] == "coefficients":
        return {"value": node.value, **dict.fromkeys(("unit", "source", "description"), _TEXT)}
    if isinstance(node, (list, tuple)):
        return node
    if head == "settings" and n == 1:
        return {
            "participation": _TEXT,
            "certainty_equivalent": _TEXT,
            **{f: getattr(node, f) for f in _SETTINGS_NUMBERS},
        }
    if head == "company" and n == 1:
        return {
            "coefficients": node.coefficients,
            "levers": node.levers,
            "means": node.means,
            "cost_cross": [{"value": v} for _, v in node.cost_cross],
            "options": node.options,
            "kind": _TEXT,
            "model": _TEXT,
        }
    if head == "company" and keys[1] == "levers" and n == 4:
        return {
            **{f: getattr(node, f) for f in validate.LEVER},
            **dict.fromkeys(("unit", "description"), _TEXT),
        }
    if head == "company" and keys[1] == "means" and n == 3:
        return {"intercept": node.intercept, "loadings": node.loadings}
    if head == "forecast" and n == 1:
        out = dict(node.metrics)
        out["correlations"] = [{"rho": r} for r in node.correlations.values()]
        return out
    if head == "forecast" and n == 2:
        return {"mean": node.mean, "sd": node.sd, "individual_sd": node.individual_sd}
    if head == "departments" and n == 2:
        out = {f: getattr(node, f) for f in _DEPT_NUMBERS}
        out.update(dict.fromkeys(("description", "quota_metric"), _TEXT))
        if node.roster is not None and node.roster.source is None:
            out["roster"] = node.roster.people
        out["components"] = node.plan.components
        if node.plan.modifier is not None:
            out["modifier"] = node.plan.modifier
        return out
    if head == "departments" and keys[2] == "roster" and n == 4:
        return {"person": _TEXT, "base": node.base, "quota": node.quota, "ability": node.ability}
    if isinstance(node, Component):
        out = _payout_children(node.payout)
        out.update(dict.fromkeys(("metric", "kind", "description"), _TEXT))
        if node.weight is not None:
            out["weight"] = node.weight
        if node.gate is not None:
            out["gate"] = node.gate
        return out
    if isinstance(node, Gate):
        return {"metric": _TEXT, "threshold": node.threshold}
    if isinstance(node, Modifier):
        return {"metric": _TEXT, **_payout_children(node.curve)}
    if isinstance(node, Tier):
        return {"rate": node.rate, "up_to": node.up_to}
    return None


def _payout_children(p: Any) -> dict[str, Any]:
    if isinstance(p, PayoutCurve):
        return {
            "threshold": p.threshold,
            "target": p.target,
            "cap": p.cap,
            "payout_at_threshold": p.payout_at_threshold,
            "payout_at_cap": p.payout_at_cap,
            "floor": _TEXT if p.floor is None else p.floor,
            "extra_points": p.extra_points,
            "step": _TEXT,
        }
    if isinstance(p, RateTable):
        return {"target": p.target, "tiers": p.tiers, "mode": _TEXT, "basis": _TEXT}
    if isinstance(p, LumpSum):
        return {"quota": p.quota, "amount": p.amount}
    if isinstance(p, Clawback):
        return {"share": p.share, "rate_of": _TEXT}
    return {}


#: optional numbers a path may set where the scenario has none yet, by the table that
#: holds them: a curve's cap, a forecast's mean, a lever's bounds (as a file may add them)
_MAY_ADD = {"cap", "payout_at_cap", "amount", "mean", "lower", "upper"}


def _doc_keys(path: str, scenario: Any) -> list[str]:
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise ParameterPathError(path, "is not a parameter path" + _suggest(path, scenario))
    head = parts[0]
    if head in ("departments", "company", "forecast", "settings", "metrics", "bridges"):
        return parts
    if head in scenario.departments:
        rest = parts[1:]
        if len(rest) >= 3 and rest[0] in ("curves", "components"):
            return ["departments", head, "components", *rest[1:]]
        if len(rest) == 2 and rest[0] == "weights":
            return ["departments", head, "components", rest[1], "weight"]
        if len(rest) >= 3 and rest[0] == "gates":
            return ["departments", head, "components", rest[1], "gate", *rest[2:]]
        return ["departments", head, *rest]
    raise ParameterPathError(
        path,
        f"does not start with a department ({', '.join(scenario.departments)}) or "
        "'company', 'forecast', 'settings'" + _suggest(path, scenario),
    )


def _resolve(path: str, scenario: Any, allow_unset: bool = False) -> tuple[str | int, ...]:
    """The document keys of the number at ``path`` (checked against ``scenario``)."""
    keys = _doc_keys(path, scenario)
    node: Any = scenario
    out: list[str | int] = []
    i = 0
    while i < len(keys):
        k = keys[i]
        kids = _children(node, out)
        if isinstance(kids, (list, tuple)):
            if not k.isdigit() or int(k) >= len(kids):
                raise ParameterPathError(
                    path, f"index {k!r} is not in 0..{len(kids) - 1}" + _suggest(path, scenario)
                )
            out.append(int(k))
            node = kids[int(k)]
            i += 1
            continue
        if kids is not None and k not in kids:
            # keys that hold dots themselves ("dept.lever" loadings): join path parts
            for j in range(i + 2, len(keys) + 1):
                joined = ".".join(keys[i:j])
                if joined in kids:
                    k, i = joined, j - 1
                    break
        if kids is None or k not in kids:
            raise ParameterPathError(
                path, "does not address a number in this scenario" + _suggest(path, scenario)
            )
        out.append(k)
        node = cast(Mapping[str, Any], kids)[k]
        i += 1
    if _is_coefficient(out):
        return tuple(out)
    if node is None:
        if allow_unset and out[-1] in _MAY_ADD:
            return tuple(out)
        raise ParameterPathError(
            path, "does not address a number in this scenario" + _suggest(path, scenario)
        )
    if isinstance(node, bool) or not isinstance(node, (int, float, np.integer, np.floating)):
        raise ParameterPathError(
            path, "addresses a table or text, not a number" + _suggest(path, scenario)
        )
    return tuple(out)


def _read(scenario: Any, keys: Sequence[str | int]) -> float | None:
    node: Any = scenario
    for i, k in enumerate(keys):
        kids = _children(node, keys[:i])
        node = kids[k]  # type: ignore[index]
    if _is_coefficient(keys):
        return float(node.value)
    return None if node is None else float(node)


# --------------------------------------------------------------------------------------
# changing the tree
# --------------------------------------------------------------------------------------
def _evolve(obj: Any, **changes: Any) -> Any:
    """A copy of a frozen dataclass with ``changes``, not validated again (the caller
    checks what changed); mapping fields are given as read-only mappings. Only the
    fields are copied: nothing an object remembered about its old values comes along."""
    new = object.__new__(type(obj))
    for f in _FIELDS.get(type(obj)) or _fields_of(type(obj)):
        object.__setattr__(new, f, changes[f] if f in changes else getattr(obj, f))
    return new


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(cls: type) -> tuple[str, ...]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    _FIELDS[cls] = names
    return names


def _frozen(d: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(d)


def _apply(scenario: Any, changes: Sequence[tuple[tuple[str | int, ...], float]]) -> Any:
    """Set each ``(document keys, value)``: grouped by the object that holds them, each
    object rebuilt once, then the sections that changed checked once."""
    groups: dict[tuple[str | int, ...], list[tuple[tuple[str | int, ...], float]]] = {}
    for keys, v in changes:
        groups.setdefault(_owner(keys), []).append((keys, v))
    s = scenario
    checks: dict[tuple[Any, ...], Callable[[Any], None]] = {}
    for owner, items in groups.items():
        s = _set_in(s, owner, items, checks)
    for check in checks.values():
        check(s)
    return s


def _owner(keys: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The location of the object that holds the number at ``keys``."""
    head = keys[0]
    if head == "departments" and len(keys) >= 4 and keys[2] in ("components", "modifier"):
        return tuple(keys[: 4 if keys[2] == "components" else 3])
    if head == "departments" and len(keys) >= 3 and keys[2] == "roster":
        return tuple(keys[:3])
    if head == "departments":
        return tuple(keys[:2])
    if head == "company" and keys[1] in ("levers",):
        return tuple(keys[:4])
    if head == "company" and keys[1] == "means":
        return tuple(keys[:3])
    if head == "company":
        return tuple(keys[:2])
    return tuple(keys[:2]) if head == "forecast" else tuple(keys[:1])


def _where(keys: Sequence[str | int]) -> str:
    out = ""
    for k in keys:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _set_in(
    s: Any,
    owner: tuple[str | int, ...],
    items: list[tuple[tuple[str | int, ...], float]],
    checks: dict[tuple[Any, ...], Callable[[Any], None]],
) -> Any:
    head = owner[0]
    rest = [(keys[len(owner) :], v) for keys, v in items]
    if head == "settings":
        fields = {str(k[0]): v for k, v in rest}
        for f, v in fields.items():
            prov = getattr(s.settings, f"{f}_provenance", None)
            where = f"settings.{f}"
            fields[f] = validate.check_sourced(v, prov, where, validate.SETTINGS[f])
            if f == "horizon":
                fields[f] = validate.years(fields[f], where)
        return _evolve(s, settings=_evolve(s.settings, **fields))
    if head == "bridges":
        bridges = dict(s.bridges)
        for k, v in rest:
            bridges[str(k[0])] = validate.number(v, f"bridges.{k[0]}", **validate.BRIDGE)
        return _evolve(s, bridges=_frozen(bridges))
    if head == "forecast":
        return _set_forecast(s, owner, rest, checks)
    if head == "company":
        return _set_company(s, owner, rest, checks)
    return _set_department(s, owner, rest, checks)


def _set_forecast(
    s: Any,
    owner: tuple[str | int, ...],
    rest: list[tuple[tuple[str | int, ...], float]],
    checks: dict[tuple[Any, ...], Callable[[Any], None]],
) -> Any:
    fc = s.forecast
    if owner[1] == "correlations":
        corr = dict(fc.correlations)
        pairs = list(corr)
        for k, v in rest:
            i = int(k[0])
            corr[pairs[i]] = validate.number(v, f"forecast.correlations[{i}].rho", **validate.RHO)
        checks[("correlations",)] = validate.check_correlations
        return _evolve(s, forecast=_evolve(fc, correlations=_frozen(corr)))
    m = str(owner[1])
    fields = {}
    for k, v in rest:
        f = str(k[0])
        fields[f] = validate.number(v, f"forecast.{m}.{f}", **validate.FORECAST[f])
    metrics = dict(fc.metrics)
    metrics[m] = dataclasses.replace(fc.metrics[m], **fields)
    checks[("forecast",)] = validate.check_forecast
    return _evolve(s, forecast=_evolve(fc, metrics=_frozen(metrics)))


def _set_company(
    s: Any,
    owner: tuple[str | int, ...],
    rest: list[tuple[tuple[str | int, ...], float]],
    checks: dict[tuple[Any, ...], Callable[[Any], None]],
) -> Any:
    co = s.company
    section = owner[1]
    if section == "coefficients":
        coefs = dict(co.coefficients)
        for k, v in rest:
            name = str(k[0])
            c = coefs[name]
            value = validate.check_coefficient(v, c.range, f"company.coefficients.{name}.value")
            coefs[name] = _evolve(c, value=value)
        return _evolve(s, company=_evolve(co, coefficients=_frozen(coefs)))
    if section == "levers":
        dn, ln = str(owner[2]), str(owner[3])
        lv = co.levers[dn][ln]
        fields = {str(k[0]): v for k, v in rest}
        new = dataclasses.replace(lv, **fields)
        where = f"company.levers.{dn}.{ln}"
        validate.check_lever(
            new.rest, new.cost, new.value, new.lower, new.upper, where, new.cost_provenance
        )
        dept_levers = dict(co.levers[dn])
        dept_levers[ln] = new
        levers = dict(co.levers)
        levers[dn] = _frozen(dept_levers)
        checks[("cost", dn)] = functools.partial(_cost_check, department=dn)
        return _evolve(s, company=_evolve(co, levers=_frozen(levers)))
    if section == "means":
        mn = str(owner[2])
        mm = co.means[mn]
        intercept, loadings = mm.intercept, dict(mm.loadings)
        for k, v in rest:
            if k[0] == "intercept":
                intercept = validate.number(v, f"company.means.{mn}.intercept")
            else:
                loadings[str(k[1])] = validate.number(v, f"company.means.{mn}.loadings.{k[1]}")
        means = dict(co.means)
        means[mn] = _evolve(mm, intercept=intercept, loadings=_frozen(loadings))
        return _evolve(s, company=_evolve(co, means=_frozen(means)))
    if section == "cost_cross":
        cross = list(co.cost_cross)
        for k, v in rest:
            i = int(k[0])
            cross[i] = (cross[i][0], validate.number(v, f"company.cost_cross[{i}].value"))
            dn = cross[i][0][0].split(".")[0]
            checks[("cost", dn)] = functools.partial(_cost_check, department=dn)
        return _evolve(s, company=_evolve(co, cost_cross=tuple(cross)))
    # options: free-form numbers the model reads
    options = _set_nested(dict(co.options), rest)
    return _evolve(s, company=_evolve(co, options=_frozen(options)))


def _cost_check(s: Any, department: str) -> None:
    validate.check_cost_matrix(s, department)


def _department_check(s: Any, department: str) -> None:
    validate.check_department(s, department)


def _set_nested(d: Any, rest: list[tuple[tuple[str | int, ...], float]]) -> Any:
    out = copy.deepcopy(d)
    for k, v in rest:
        node = out
        for key in k[:-1]:
            node = node[key]
        old = node[k[-1]]
        node[k[-1]] = int(v) if isinstance(old, int) and float(v).is_integer() else v
    return out


def _set_department(
    s: Any,
    owner: tuple[str | int, ...],
    rest: list[tuple[tuple[str | int, ...], float]],
    checks: dict[tuple[Any, ...], Callable[[Any], None]],
) -> Any:
    dn = str(owner[1])
    dept = s.departments[dn]
    w = f"departments.{dn}"
    if len(owner) == 2:
        fields: dict[str, Any] = {}
        for k, v in rest:
            f = str(k[0])
            if f == "headcount":
                fields[f] = validate.whole(v, f"{w}.headcount")
            elif f == "team_identification":  # inside its stated range, if it has one
                fields[f] = validate.check_sourced(
                    v, dept.team_identification_provenance, f"{w}.{f}", validate.DEPARTMENT[f]
                )
            else:
                fields[f] = validate.number(v, f"{w}.{f}", **validate.DEPARTMENT[f])
        new = _evolve(dept, **fields)
    elif owner[2] == "roster":
        people = list(dept.roster.people)
        for k, v in rest:
            i, f = int(k[0]), str(k[1])
            people[i] = dataclasses.replace(people[i], **{f: v})
        new = _evolve(dept, roster=_evolve(dept.roster, people=tuple(people)))
    else:
        plan = dept.plan
        if owner[2] == "modifier":
            mod = plan.modifier
            curve = _rebuild_payout(mod.curve, rest, f"{w}.modifier")
            new_plan = _rebuild_plan(plan, {}, dataclasses.replace(mod, curve=curve), w)
        else:
            cn = str(owner[3])
            comp = plan.components[cn]
            new_comp = _rebuild_component(comp, rest, f"{w}.components.{cn}")
            new_plan = _rebuild_plan(plan, {cn: new_comp}, plan.modifier, w)
        new = _evolve(dept, plan=new_plan)
    depts = dict(s.departments)
    depts[dn] = new
    checks[("department", dn)] = functools.partial(_department_check, department=dn)
    return _evolve(s, departments=_frozen(depts))


def _rebuild_component(
    comp: Component, rest: list[tuple[tuple[str | int, ...], float]], where: str
) -> Component:
    payout_changes = [(k, v) for k, v in rest if k[0] not in ("weight", "gate")]
    payout = _rebuild_payout(comp.payout, payout_changes, where) if payout_changes else comp.payout
    changes: dict[str, Any] = {"payout": payout}
    for k, v in rest:
        if k[0] == "weight":
            changes["weight"] = v
        elif k[0] == "gate":
            gate = comp.gate
            if gate is not None:
                changes["gate"] = dataclasses.replace(gate, threshold=v)
    try:
        return dataclasses.replace(comp, **changes)
    except PlanError as e:
        raise e.at(where) from None


def _rebuild_payout(
    payout: Any, rest: list[tuple[tuple[str | int, ...], float]], where: str
) -> Any:
    fields: dict[str, Any] = {}
    for k, v in rest:
        f = str(k[0])
        if f == "extra_points":
            pts = [list(p) for p in fields.get(f, payout.extra_points)]
            pts[int(k[1])][int(k[2])] = v
            fields[f] = tuple(tuple(p) for p in pts)
        elif f == "tiers":
            tiers = list(fields.get(f, payout.tiers))
            tiers[int(k[1])] = dataclasses.replace(tiers[int(k[1])], **{str(k[2]): v})
            fields[f] = tuple(tiers)
        else:
            fields[f] = v
    try:
        return dataclasses.replace(payout, **fields)
    except PlanError as e:
        raise e.at(where) from None


def _rebuild_plan(
    plan: Plan, components: Mapping[str, Component], modifier: Any, where: str
) -> Plan:
    comps = dict(plan.components)
    comps.update(components)
    try:
        return Plan(components=comps, modifier=modifier)
    except PlanError as e:
        raise e.at(where) from None


# --------------------------------------------------------------------------------------
# weights and shared shares
# --------------------------------------------------------------------------------------
def _weighted(plan: Plan) -> list[str]:
    return [n for n, c in plan.components.items() if c.weight is not None]


def _with_weights(s: Any, dn: str, weights: Mapping[str, float]) -> Any:
    dept = s.departments[dn]
    plan = dept.plan
    comps = {}
    w = f"departments.{dn}"
    for n, v in weights.items():
        try:
            comps[n] = dataclasses.replace(plan.components[n], weight=v)
        except PlanError as e:
            raise e.at(f"{w}.components.{n}") from None
    new_plan = _rebuild_plan(plan, comps, plan.modifier, w)
    depts = dict(s.departments)
    depts[dn] = _evolve(dept, plan=new_plan)
    out = _evolve(s, departments=_frozen(depts))
    validate.check_department(out, dn)
    return out


def _set_weight(s: Any, dept: str, comp: str, w: float) -> Any:
    path = f"{dept}.weights.{comp}"
    if dept not in s.departments:
        _dept_of(s, path)
    plan = s.departments[dept].plan
    if comp not in plan.components or plan.components[comp].weight is None:
        raise ParameterPathError(
            path, f"{dept} has no weighted component {comp!r}" + _suggest(path, s)
        )
    if not 0.0 <= w <= 1.0:
        raise ParameterPathError(path, f"weight {w} is outside the allowed range 0..1")
    others = [n for n in _weighted(plan) if n != comp]
    if not others:
        if abs(w - 1.0) > 1e-12:
            raise ParameterPathError(
                path,
                f"{comp!r} is {dept}'s only weighted component, so its weight must be 1; "
                "add another component first",
            )
        return s
    rest = sum(float(plan.components[n].weight) for n in others)
    new: dict[str, float] = {}
    for n in others:
        if rest > 0:
            new[n] = float(plan.components[n].weight) * (1.0 - w) / rest
        else:
            new[n] = (1.0 - w) / len(others)
    new[comp] = w
    return _with_weights(s, dept, new)


def _set_shared_share(s: Any, dept: str, share: float) -> Any:
    path = f"{dept}.shared_share"
    if not 0.0 <= share <= 1.0:
        raise ParameterPathError(path, f"shared-outcome share {share} is outside 0..1")
    plan = s.departments[dept].plan
    weighted = _weighted(plan)
    shared = [n for n in weighted if s.metrics[plan.components[n].metric].scope == "company"]
    own = [n for n in weighted if n not in shared]
    new: dict[str, float] = {}
    for group, total, label in ((shared, share, "company-scope"), (own, 1.0 - share, "own")):
        cur = sum(float(plan.components[n].weight) for n in group)
        if total > 0 and not group:
            raise ParameterPathError(
                path,
                f"{dept} has no weighted component on a {label} metric to give weight "
                f"{total:g} to; add one first",
            )
        for n in group:
            old = float(plan.components[n].weight)
            new[n] = old * total / cur if cur > 0 else total / len(group)
    return _with_weights(s, dept, new)
