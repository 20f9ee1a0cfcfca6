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
from collections.abc import Mapping, Sequence
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
    "Lever",
    "MeanModel",
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
    Under a behaviour model the mean comes from the model and may be left out
    (``None``): ``sd``, ``individual_sd`` and the correlations are then the noise.
    """

    mean: float | None
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
class Lever:
    """A behaviour a department chooses, per person.

    Parameters
    ----------
    rest
        The lever's value with no incentive (t-bar), in the lever's unit.
    cost
        Curvature of the private effort cost, currency per period per (unit)^2:
        the cost is ``cost/2 (t - rest)^2`` per person (plus cross terms).
    value
        Company gross value per person per unit of the lever (currency per period),
        for the ``linear`` model; other models compute value themselves.
    lower, upper
        Bounds (``None``: unbounded).
    """

    rest: float = 0.0
    cost: float = 1.0
    value: float = 0.0
    lower: float | None = None
    upper: float | None = None
    unit: str = ""
    description: str = ""


@dataclass(frozen=True)
class MeanModel:
    """How a metric's mean depends on levers (``linear`` model).

    ``mean = intercept + sum loadings[d.l] * lever d.l`` on the metric's latent scale
    (the logit for shares). A loading is the department's effect: the change in the
    metric when every person of department ``d`` moves lever ``l`` by one unit. One
    person alone moves a department- or company-scope metric by ``loading / N``.
    """

    intercept: float = 0.0
    loadings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loadings", _frozen_map(self.loadings))


@dataclass(frozen=True)
class Company:
    """The company model section.

    Attributes
    ----------
    kind
        ``"none"`` (plans and a forecast only), ``"linear"`` (metrics linear in levers,
        quadratic effort costs, value linear in levers) or ``"declared"`` (a user
        function, named by ``model = "package.module:function"``).
    coefficients
        Named model numbers, each with unit, range and source.
    levers
        Per department, its levers.
    means
        Per metric, its mean as a function of levers (``linear``).
    cost_cross
        Off-diagonal effort-cost terms ``((lever a, lever b), value)`` within a
        department: the cost gains ``value (t_a - rest_a)(t_b - rest_b)``.
    model
        ``"package.module:function"`` for ``kind = "declared"``.
    options
        Other settings of the model.
    """

    kind: str = "none"
    coefficients: Mapping[str, Coefficient] = field(default_factory=dict)
    levers: Mapping[str, Mapping[str, Lever]] = field(default_factory=dict)
    means: Mapping[str, MeanModel] = field(default_factory=dict)
    cost_cross: tuple[tuple[tuple[str, str], float], ...] = ()
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficients", _frozen_map(self.coefficients))
        object.__setattr__(
            self, "levers", _frozen_map({d: _frozen_map(v) for d, v in self.levers.items()})
        )
        object.__setattr__(self, "means", _frozen_map(self.means))
        object.__setattr__(self, "cost_cross", tuple(self.cost_cross))
        object.__setattr__(self, "options", _frozen_map(self.options))

    def coefficient(self, name: str) -> float:
        """The value of a coefficient."""
        return float(self.coefficients[name].value)


@dataclass(frozen=True)
class Settings:
    """Scenario settings.

    ``participation`` is ``"binding"`` (base pay adjusts so CE equals the market) or
    ``"fixed_base"``; ``payroll_tax_rate`` is the employer's tax on incentive pay
    (share). Under ``fixed_base``, a department whose certainty equivalent falls short
    of its market reference loses ``turnover_sensitivity x shortfall / market`` of its
    people per period (share; 0 turns the effect off), each costing
    ``replacement_cost x base pay`` to replace.
    """

    participation: Literal["binding", "fixed_base"] = "binding"
    payroll_tax_rate: float = 0.0
    turnover_sensitivity: float = 0.0
    replacement_cost: float = 0.5


def _replaced(obj: Any, changes: Mapping[str, Any], where: str) -> Any:
    """``dataclasses.replace(obj, **changes)``, refusing a field ``obj`` does not have
    with the allowed ones and the nearest name."""
    import dataclasses

    allowed = [f.name for f in dataclasses.fields(obj)]
    for key in changes:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ScenarioError(
                f"{where}.{key}",
                f"not a field of a {type(obj).__name__}.{hint} Allowed: {', '.join(allowed)}.",
            )
    return dataclasses.replace(obj, **changes)


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
    bridges: Mapping[str, float] = field(default_factory=dict)
    company_file: Path | None = field(default=None, compare=False)
    base_dir: Path | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen_map(self.metrics))
        object.__setattr__(self, "departments", _frozen_map(self.departments))
        object.__setattr__(self, "bridges", _frozen_map(self.bridges))
        from .io import validate_scenario

        validate_scenario(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its TOML document (mapping proxies do not pickle): process pools
        # and dask workers receive the same scenario, validated again on arrival
        from .io import scenario_from_dict

        return (_rebuild, (scenario_from_dict, self.to_dict(), self.base_dir, self.company_file))

    # ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The scenario as a plain dict (the TOML document, company file merged in)."""
        from .io import scenario_to_dict

        return scenario_to_dict(self)

    def _document(self) -> dict[str, Any]:
        """:meth:`to_dict`, made once per scenario (it is immutable) for reading only."""
        doc: dict[str, Any] | None = self.__dict__.get("_doc")
        if doc is None:
            doc = self.to_dict()
            object.__setattr__(self, "_doc", doc)
        return doc

    def get(self, path: str) -> float:
        """The number at a parameter path (see the module docstring)."""
        if path.endswith(".shared_share") and path.count(".") == 1:
            return self.shared_share(self._dept_of(path))
        doc = self._document()
        keys = _resolve(path, doc, self)
        node: Any = doc
        for k in keys:
            node = node[k]
        if _is_coefficient(keys) and isinstance(node, dict):
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
        elif _rescales(parts):
            # every spelling of a weight path rescales the other weights
            dept, comp = (parts[1], parts[3]) if parts[0] == "departments" else (parts[0], parts[2])
            _set_weight(doc, self, dept, comp, v)
        else:
            _set_leaf(doc, self, path, v)
        return scenario_from_dict(doc, base_dir=self.base_dir, company_file=self.company_file)

    def with_values(self, values: Mapping[str, float]) -> Scenario:
        """A copy with several parameter paths set, in the order given."""
        from .io import scenario_from_dict

        plain = (
            all(isinstance(p, str) and not _rescales(p.split(".")) for p in values)
            and len(values) > 1
        )
        if not plain:  # weights and shares rescale others: one at a time
            out = self
            for path, value in values.items():
                out = out.with_value(path, value)
            return out
        # plain numbers: set them all in one document, validate once
        doc = self.to_dict()
        for path, value in values.items():
            _set_leaf(doc, self, path, _number(value, path))
        return scenario_from_dict(doc, base_dir=self.base_dir, company_file=self.company_file)

    def with_department(self, name: str, **changes: Any) -> Scenario:
        """A copy with fields of department ``name`` replaced (e.g. ``plan=new_plan``)."""
        import dataclasses

        depts = dict(self.departments)
        depts[name] = _replaced(self._department(name), changes, f"departments.{name}")
        return dataclasses.replace(self, departments=depts)

    def _department(self, name: str) -> Department:
        if name not in self.departments:
            raise ScenarioError(
                "departments", f"unknown department {name!r}; known: {sorted(self.departments)}"
            )
        return self.departments[name]

    def with_curve(self, department: str, component: str, **changes: Any) -> Scenario:
        """A copy with the shape of one component's payout rule changed.

        For what a parameter path cannot say: remove a cap (``cap=None,
        payout_at_cap=None``), pay in steps (``step=True``), add points between
        threshold and cap (``extra_points=((2.5e6, 1.2),)``), or move several points at
        once. ``changes`` are fields of the component's rule (:class:`~compmodel.plans.PayoutCurve`,
        :class:`~compmodel.plans.RateTable`, :class:`~compmodel.plans.LumpSum` or
        :class:`~compmodel.plans.Clawback`); the new rule is validated as when loaded.

        Examples
        --------
        >>> uncapped = today.with_curve("sales", "bookings", cap=None, payout_at_cap=None)  # doctest: +SKIP
        """
        import dataclasses

        plan = self._department(department).plan
        if component not in plan.components:
            raise ScenarioError(
                f"departments.{department}.plan",
                f"unknown component {component!r}; components: {list(plan.components)}",
            )
        comp = plan.components[component]
        rule = _replaced(comp.payout, changes, f"departments.{department}.plan.{component}")
        components = dict(plan.components)
        components[component] = dataclasses.replace(comp, payout=rule)
        return self.with_department(
            department, plan=dataclasses.replace(plan, components=components)
        )

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


def _is_coefficient(keys: Sequence[str | int]) -> bool:
    """Whether a document location is a company coefficient (``{value, unit, ...}``)."""
    return len(keys) == 3 and keys[0] == "company" and keys[1] == "coefficients"


def _numeric_leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    if isinstance(node, dict):
        if _is_coefficient(prefix) and "value" in node:
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


def _rebuild(
    from_dict: Any, doc: dict[str, Any], base_dir: Path | None, company_file: Path | None
) -> Scenario:
    out: Scenario = from_dict(doc, base_dir=base_dir, company_file=company_file)
    return out


def _rescales(parts: list[str]) -> bool:
    """Whether setting this path rescales other numbers (a weight or a shared share)."""
    return (
        (len(parts) == 2 and parts[1] == "shared_share")
        or (len(parts) == 3 and parts[1] == "weights")
        or (
            len(parts) == 5
            and parts[0] == "departments"
            and parts[2] in ("components", "curves")
            and parts[4] == "weight"
        )
        or (len(parts) == 4 and parts[1] in ("components", "curves") and parts[3] == "weight")
    )


def _set_leaf(doc: dict[str, Any], scenario: Scenario, path: str, v: float) -> None:
    """Set the number at ``path`` in ``doc`` (a coefficient's ``value``; whole numbers
    stay integers where the document had one)."""
    keys = _resolve(path, doc, scenario, allow_new_leaf=True)
    node: Any = doc
    for k in keys[:-1]:
        node = node[k]
    leaf = keys[-1]
    old = node.get(leaf) if isinstance(node, dict) else node[leaf]
    if _is_coefficient(keys) and isinstance(old, dict):
        old["value"] = v
    elif isinstance(old, int) and not isinstance(old, bool) and float(v).is_integer():
        node[leaf] = int(v)
    else:
        node[leaf] = v


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
    if head in ("departments", "company", "forecast", "settings", "metrics", "bridges"):
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
    i = 0
    while i < len(keys):
        k = keys[i]
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise ParameterPathError(
                    path, f"index {k!r} is not in 0..{len(node) - 1}" + _suggest(path, scenario)
                )
            out.append(int(k))
            node = node[int(k)]
            i += 1
            continue
        if isinstance(node, dict) and k not in node:
            # keys that hold dots themselves ("dept.lever" loadings): join path parts
            for j in range(i + 2, len(keys) + 1):
                joined = ".".join(keys[i:j])
                if joined in node:
                    k = joined
                    i = j - 1
                    break
        last = i == len(keys) - 1
        if not isinstance(node, dict) or (
            k not in node
            and not (
                last
                and allow_new_leaf
                and isinstance(node, dict)
                and (
                    (k in _CURVE_KEYS and "metric" in node)
                    or (k in ("mean", "individual_sd") and "sd" in node)
                    or (k in ("lower", "upper") and "cost" in node and "rest" in node)
                )
            )
        ):
            raise ParameterPathError(
                path, "does not address a number in this scenario" + _suggest(path, scenario)
            )
        out.append(k)
        node = node.get(k)
        i += 1
    if node is not None and not (
        (isinstance(node, (int, float)) and not isinstance(node, bool))
        or (_is_coefficient(out) and isinstance(node, dict))
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
