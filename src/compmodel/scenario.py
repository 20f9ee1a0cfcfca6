"""Scenarios: metrics, forecasts, departments, rosters, company settings, parameter paths.

A :class:`Scenario` is immutable. Change it with :meth:`Scenario.with_value`, which takes a
*parameter path* (one syntax for every number in a scenario; the same paths drive sweeps,
the optimiser and the dashboard) and returns a new, validated scenario:

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
``forecast.bookings.sd``              a metric forecast (``mean``, ``sd``,
                                      ``individual_sd``)
``settings.payroll_tax_rate``         a scenario setting
====================================  ==================================================

Full paths into the TOML document (``departments.sales.components.bookings.weight``) are
accepted too. An unknown path raises :class:`~compmodel.errors.ParameterPathError` naming
the nearest valid paths.

Units: money is in the scenario's ``currency`` per ``period`` per person; metric values
are in each metric's ``unit``; risk aversion is per currency unit.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from .errors import ParameterPathError, ScenarioError
from .plans import Direction, Plan

__all__ = [
    "Coefficient",
    "Company",
    "Department",
    "Forecast",
    "Metric",
    "MetricForecast",
    "Person",
    "Roster",
    "Scenario",
    "Settings",
    "parameter_paths",
]

Scope = Literal["individual", "department", "company"]
Scale = Literal["normal", "logit"]


def _frozen_map(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class Coefficient:
    """A model coefficient with its unit, plausible range and source.

    Written in TOML either as a plain number or as ``{value, unit, range, source}``.
    ``range`` is machine-readable: ``(low, high)`` in the same unit.
    """

    value: float
    unit: str = ""
    range: tuple[float, float] | None = None
    source: str = ""
    description: str = ""

    @property
    def plain(self) -> bool:
        """Whether it carries nothing but a value (saved as a plain number)."""
        return not (self.unit or self.range or self.source or self.description)


@dataclass(frozen=True)
class Metric:
    """A measured outcome.

    Parameters
    ----------
    unit
        Unit of the metric's values (``"USD"``, ``"units"``, ``"share"``, ``"hours"``).
    direction
        ``"higher"`` or ``"lower"`` is better.
    scope
        ``"individual"`` (each person has their own), ``"department"`` or ``"company"``
        (shared: one value for everyone).
    scale
        ``"normal"``: Gaussian in its own unit; ``"logit"``: a share whose logit is
        Gaussian (stays inside 0-1).
    """

    unit: str
    direction: Direction = "higher"
    scope: Scope = "department"
    scale: Scale = "normal"
    description: str = ""


@dataclass(frozen=True)
class MetricForecast:
    """Forecast of one metric for a representative person.

    For ``"normal"`` metrics ``mean`` and ``sd`` are in the metric's unit; for
    ``"logit"`` metrics they are on the logit scale (``mean = 1.5`` is a median share of
    ``1/(1+e^-1.5) = 0.818``). ``individual_sd`` is per-person noise, independent
    across people, on top of the common ``sd`` (individual-scope metrics only).
    """

    mean: float
    sd: float
    individual_sd: float = 0.0


@dataclass(frozen=True)
class Forecast:
    """Means, standard deviations and correlations of the metrics (common noise)."""

    metrics: Mapping[str, MetricForecast]
    correlations: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen_map(self.metrics))
        object.__setattr__(self, "correlations", _frozen_map(self.correlations))  # type: ignore[arg-type]

    def rho(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        return float(self.correlations.get((a, b), self.correlations.get((b, a), 0.0)))

    def correlation_matrix(self, names: list[str]) -> np.ndarray:
        n = len(names)
        r = np.eye(n)
        for i in range(n):
            for j in range(i + 1, n):
                r[i, j] = r[j, i] = self.rho(names[i], names[j])
        return r


@dataclass(frozen=True)
class Person:
    """One row of a roster: base pay (currency), quota (quota-metric unit), ability."""

    person: str
    base: float
    quota: float | None = None
    ability: float = 1.0


@dataclass(frozen=True)
class Roster:
    """Per-person table of a department. ``source`` is the CSV it came from, if any."""

    people: tuple[Person, ...]
    source: Path | None = None

    def __len__(self) -> int:
        return len(self.people)


@dataclass(frozen=True)
class Department:
    """A department: its people, pay and plan.

    Parameters
    ----------
    headcount
        Number of people (>= 0). With a roster, the roster's length.
    base_pay
        Base pay per person (currency per period); with a roster, each person's own.
    target_incentive
        Target incentive as a share of base pay (0.25: 25% of base at target).
    risk_aversion
        Coefficient of absolute risk aversion r (per currency unit).
    market_reference
        What the department's people could earn elsewhere (currency per period; total
        pay, for the participation constraint).
    team_identification
        lambda in [0, 1]: how much a person cares about colleagues' pay from shared
        metrics (line of sight ``(1 + lambda (N-1))/N``).
    plan
        The department's plan.
    quota_metric, quota
        The metric each person's roster quota refers to, and the representative
        person's quota (metric unit): a person's thresholds and forecast on that
        metric scale by ``their quota / quota``.
    roster
        Optional per-person table.
    """

    headcount: int
    base_pay: float
    target_incentive: float
    plan: Plan
    risk_aversion: float = 0.0
    market_reference: float | None = None
    team_identification: float = 0.0
    quota_metric: str | None = None
    quota: float | None = None
    roster: Roster | None = None
    description: str = ""

    @property
    def target_payout(self) -> float:
        """Target incentive per representative person (currency per period)."""
        return self.target_incentive * self.base_pay

    @property
    def ote(self) -> float:
        """On-target earnings per representative person: base + incentive at target."""
        tp = self.target_payout
        return self.base_pay + sum(c.at_target(tp) for c in self.plan.components.values())

    @property
    def pay_mix(self) -> float:
        """Share of OTE paid as base (0.7 is a '70/30' mix)."""
        return self.base_pay / self.ote if self.ote > 0 else math.nan


@dataclass(frozen=True)
class Company:
    """The company model section.

    ``kind`` names the company model (``"none"`` until a behaviour model is chosen;
    the behaviour models fill this in). ``coefficients`` are the model's numbers;
    ``options`` its other settings.
    """

    kind: str = "none"
    coefficients: Mapping[str, Coefficient] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficients", _frozen_map(self.coefficients))
        object.__setattr__(self, "options", _frozen_map(self.options))


@dataclass(frozen=True)
class Settings:
    """Scenario settings.

    ``participation`` is ``"binding"`` (base pay adjusts so CE equals the market) or
    ``"fixed_base"``; ``payroll_tax_rate`` is the employer's tax on incentive pay
    (share).
    """

    participation: Literal["binding", "fixed_base"] = "binding"
    payroll_tax_rate: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A company model, its metrics and forecast, departments with plans, settings.

    Build one from TOML with :func:`compmodel.load_scenario`, or in Python with the
    dataclasses of this module. Immutable: change it with :meth:`with_value` or
    :func:`dataclasses.replace`.
    """

    name: str
    metrics: Mapping[str, Metric]
    departments: Mapping[str, Department]
    forecast: Forecast | None = None
    company: Company = field(default_factory=Company)
    settings: Settings = field(default_factory=Settings)
    currency: str = "USD"
    period: str = "year"
    description: str = ""
    company_file: Path | None = field(default=None, compare=False)
    base_dir: Path | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen_map(self.metrics))
        object.__setattr__(self, "departments", _frozen_map(self.departments))
        from .io import validate_scenario

        validate_scenario(self)

    # ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The scenario as a plain dict (the TOML document, company file merged in)."""
        from .io import scenario_to_dict

        return scenario_to_dict(self)

    def get(self, path: str) -> float:
        """The number at a parameter path (see the module docstring)."""
        if path.endswith(".shared_share") and path.count(".") == 1:
            return self.shared_share(self._dept_of(path))
        doc = self.to_dict()
        keys = _resolve(path, doc, self)
        node: Any = doc
        for k in keys:
            node = node[k]
        if isinstance(node, dict) and "value" in node:
            node = node["value"]
        return float(node)

    def shared_share(self, department: str) -> float:
        """Total weight on company-scope metrics in a department's plan."""
        dept = self.departments[department]
        return float(
            sum(
                c.weight or 0.0
                for c in dept.plan.components.values()
                if self.metrics[c.metric].scope == "company"
            )
        )

    def with_value(self, path: str, value: float) -> Scenario:
        """A copy with the number at ``path`` set to ``value`` (validated).

        Setting ``<dept>.weights.<component>`` rescales the department's other
        weighted components proportionally (equally if they are all zero) so the weights
        still sum to 1. Setting ``<dept>.shared_share`` rescales the components on
        company-scope metrics and the others proportionally within each group.
        """
        from .io import scenario_from_dict

        if not isinstance(path, str):
            raise ParameterPathError(
                str(path),
                "a parameter path must be a dotted string such as 'sales.weights.bookings'",
            )
        v = _number(value, path)
        doc = self.to_dict()
        parts = path.split(".")
        if len(parts) == 2 and parts[1] == "shared_share":
            _set_shared_share(doc, self, self._dept_of(path), v)
        elif len(parts) == 3 and parts[1] == "weights":
            _set_weight(doc, self, parts[0], parts[2], v)
        elif (
            len(parts) == 5
            and parts[0] == "departments"
            and parts[2] in ("components", "curves")
            and parts[4] == "weight"
        ) or (len(parts) == 4 and parts[1] in ("components", "curves") and parts[3] == "weight"):
            # every spelling of a weight path rescales the other weights
            dept, comp = (parts[1], parts[3]) if parts[0] == "departments" else (parts[0], parts[2])
            _set_weight(doc, self, dept, comp, v)
        else:
            keys = _resolve(path, doc, self, allow_new_leaf=True)
            node: Any = doc
            for k in keys[:-1]:
                node = node[k]
            leaf = keys[-1]
            old = node.get(leaf) if isinstance(node, dict) else node[leaf]
            if isinstance(old, dict) and "value" in old:
                old["value"] = v
            elif isinstance(old, int) and not isinstance(old, bool) and float(v).is_integer():
                node[leaf] = int(v)
            else:
                node[leaf] = v
        return scenario_from_dict(doc, base_dir=self.base_dir, company_file=self.company_file)

    def with_values(self, values: Mapping[str, float]) -> Scenario:
        """A copy with several parameter paths set, in the order given."""
        out = self
        for path, value in values.items():
            out = out.with_value(path, value)
        return out

    def with_department(self, name: str, **changes: Any) -> Scenario:
        """A copy with fields of department ``name`` replaced (e.g. ``plan=new_plan``)."""
        import dataclasses

        if name not in self.departments:
            raise ScenarioError(
                "departments", f"unknown department {name!r}; known: {sorted(self.departments)}"
            )
        allowed = [f.name for f in dataclasses.fields(Department)]
        for key in changes:
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ScenarioError(
                    f"departments.{name}.{key}",
                    f"unknown field.{hint} Allowed: {', '.join(allowed)}.",
                )
        depts = dict(self.departments)
        depts[name] = dataclasses.replace(depts[name], **changes)
        return dataclasses.replace(self, departments=depts)

    def _dept_of(self, path: str) -> str:
        name = path.split(".")[0]
        if name not in self.departments:
            raise ParameterPathError(
                path,
                f"unknown department {name!r}; departments: {sorted(self.departments)}"
                + _suggest(path, self),
            )
        return name


# --------------------------------------------------------------------------------------
# parameter paths
# --------------------------------------------------------------------------------------
def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterPathError(path, f"value must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterPathError(path, f"value must be finite, got {v}")
    return v


def _numeric_leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        if (
            "value" in node
            and isinstance(node["value"], (int, float))
            and not isinstance(node["value"], bool)
        ):
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
    if len(keys) == 3 and keys[0] == "company" and keys[1] == "coefficients":
        return ".".join(keys)
    return ".".join(keys)


def parameter_paths(scenario: Scenario) -> list[str]:
    """Every parameter path that addresses a number in ``scenario``."""
    doc = scenario.to_dict()
    doc.pop("format_version", None)
    paths = [_short(k) for k in _numeric_leaves(doc, ())]
    paths += [f"{d}.shared_share" for d in scenario.departments]
    return sorted(set(paths))


def _suggest(path: str, scenario: Scenario) -> str:
    near = difflib.get_close_matches(path, parameter_paths(scenario), n=3, cutoff=0.5)
    if near:
        return ". Did you mean " + " or ".join(repr(p) for p in near) + "?"
    return ". List the valid paths with compmodel.parameter_paths(scenario)."


_CURVE_KEYS = {
    "threshold", "target", "cap", "payout_at_threshold", "payout_at_cap", "floor",
    "quota", "amount", "weight",
}  # fmt: skip


def _resolve(
    path: str, doc: dict[str, Any], scenario: Scenario, allow_new_leaf: bool = False
) -> list[str | int]:
    """Translate a parameter path into keys of the TOML document."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise ParameterPathError(path, "is not a parameter path" + _suggest(path, scenario))
    head = parts[0]
    if head in ("departments", "company", "forecast", "settings", "metrics"):
        keys: list[str] = parts
    elif head in scenario.departments:
        rest = parts[1:]
        if len(rest) >= 3 and rest[0] in ("curves", "components"):
            keys = ["departments", head, "components", *rest[1:]]
        elif len(rest) == 2 and rest[0] == "weights":
            keys = ["departments", head, "components", rest[1], "weight"]
        elif len(rest) >= 3 and rest[0] == "gates":
            keys = ["departments", head, "components", rest[1], "gate", *rest[2:]]
        else:
            keys = ["departments", head, *rest]
    else:
        raise ParameterPathError(
            path,
            f"does not start with a department ({', '.join(scenario.departments)}) or "
            "'company', 'forecast', 'settings'" + _suggest(path, scenario),
        )
    node: Any = doc
    out: list[str | int] = []
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise ParameterPathError(
                    path, f"index {k!r} is not in 0..{len(node) - 1}" + _suggest(path, scenario)
                )
            out.append(int(k))
            node = node[int(k)]
            continue
        if not isinstance(node, dict) or (
            k not in node
            and not (
                last
                and allow_new_leaf
                and k in _CURVE_KEYS
                and isinstance(node, dict)
                and "metric" in node
            )
        ):
            raise ParameterPathError(
                path, "does not address a number in this scenario" + _suggest(path, scenario)
            )
        out.append(k)
        node = node.get(k)
    if node is not None and not (
        (isinstance(node, (int, float)) and not isinstance(node, bool))
        or (isinstance(node, dict) and "value" in node)
    ):
        raise ParameterPathError(
            path, "addresses a table or text, not a number" + _suggest(path, scenario)
        )
    return out


def _components(doc: dict[str, Any], dept: str) -> dict[str, Any]:
    comps: dict[str, Any] = doc["departments"][dept].get("components", {})
    return comps


def _set_weight(doc: dict[str, Any], scenario: Scenario, dept: str, comp: str, w: float) -> None:
    path = f"{dept}.weights.{comp}"
    if dept not in scenario.departments:
        scenario._dept_of(path)
    comps = _components(doc, dept)
    if comp not in comps or "weight" not in comps[comp]:
        raise ParameterPathError(
            path, f"{dept} has no weighted component {comp!r}" + _suggest(path, scenario)
        )
    if not 0.0 <= w <= 1.0:
        raise ParameterPathError(path, f"weight {w} is outside the allowed range 0..1")
    others = [n for n, c in comps.items() if n != comp and "weight" in c]
    if not others:
        if abs(w - 1.0) > 1e-12:
            raise ParameterPathError(
                path,
                f"{comp!r} is {dept}'s only weighted component, so its weight must be 1; "
                "add another component first",
            )
        return
    old = float(comps[comp]["weight"])
    rest = sum(float(comps[n]["weight"]) for n in others)
    for n in others:
        if rest > 0:
            comps[n]["weight"] = float(comps[n]["weight"]) * (1.0 - w) / rest
        else:
            comps[n]["weight"] = (1.0 - w) / len(others)
    comps[comp]["weight"] = w
    del old


def _set_shared_share(doc: dict[str, Any], scenario: Scenario, dept: str, s: float) -> None:
    path = f"{dept}.shared_share"
    if not 0.0 <= s <= 1.0:
        raise ParameterPathError(path, f"shared-outcome share {s} is outside 0..1")
    comps = _components(doc, dept)
    shared = [
        n for n, c in comps.items()
        if "weight" in c and scenario.metrics[c["metric"]].scope == "company"
    ]  # fmt: skip
    own = [n for n, c in comps.items() if "weight" in c and n not in shared]
    for group, total, label in ((shared, s, "company-scope"), (own, 1.0 - s, "own")):
        cur = sum(float(comps[n]["weight"]) for n in group)
        if total > 0 and not group:
            raise ParameterPathError(
                path,
                f"{dept} has no weighted component on a {label} metric to give weight "
                f"{total:g} to; add one first",
            )
        for n in group:
            comps[n]["weight"] = (
                float(comps[n]["weight"]) * total / cur if cur > 0 else total / len(group)
            )


def _check(cond: bool, field_: str, message: str) -> None:
    if not cond:
        raise ScenarioError(field_, message)
