"""Scenarios: metrics, forecasts, departments, rosters, company settings.

A :class:`Scenario` is an immutable value: a tree of frozen dataclasses, checked when it
is built (:mod:`compmodel.validate`). Change it with :meth:`Scenario.with_value`, which
takes a *parameter path* (one syntax for every number in a scenario; the same paths drive
sweeps, the optimiser and the dashboard; see :mod:`compmodel.paths`), edits the tree
directly and checks what changed; or with :meth:`Scenario.with_department`,
:meth:`Scenario.with_curve` and :func:`dataclasses.replace`, which check it all again.
Scenarios compare by value and pickle as they are (process pools, dask workers).

Units: money is in the scenario's ``currency`` per ``period`` per person; metric values
are in each metric's ``unit``; risk aversion is per currency unit.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from . import paths, validate
from ._pickling import PicklesProxies
from .document import scenario_to_dict
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
    "Provenance",
    "Roster",
    "Scenario",
    "Settings",
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
class Provenance:
    """The unit, plausible range and source of a number kept elsewhere: a lever's
    ``cost`` (:class:`Lever`) or a department's ``team_identification``
    (:class:`Department`), written in TOML as a ``{value, unit, range, source}`` table
    exactly like a :class:`Coefficient`.

    The value itself stays where the model reads it (``Lever.cost``,
    ``Department.team_identification``); this holds what a coefficient carries beside
    it. ``range`` is ``(low, high)`` in ``unit``, required (it is what sensitivity
    moves the number across), and must contain the value.
    """

    range: tuple[float, float]
    unit: str = ""
    source: str = ""
    description: str = ""

    def coefficient(self, value: float) -> Coefficient:
        """The number as a :class:`Coefficient` with this unit, range and source."""
        return Coefficient(
            value=value,
            unit=self.unit,
            range=self.range,
            source=self.source,
            description=self.description,
        )


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
class Forecast(PicklesProxies):
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
    source: Path | None = field(default=None, compare=False)  # where, not what

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
    team_identification_provenance
        Its unit, plausible range and source when the file gives it as a
        ``{value, unit, range, source}`` table (``None``: a plain number). A value
        outside the range is refused, as a coefficient's is.
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
    team_identification_provenance: Provenance | None = None

    @property
    def team_identification_coefficient(self) -> Coefficient:
        """``team_identification`` with its unit, range and source (a plain
        :class:`Coefficient` without them)."""
        prov = self.team_identification_provenance
        if prov is None:
            return Coefficient(value=self.team_identification)
        return prov.coefficient(self.team_identification)

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
        the cost is ``cost/2 (t - rest)^2`` per person (plus cross terms). It sets how
        strongly the department answers its pay.
    value
        Company gross value per person per unit of the lever (currency per period),
        for the ``linear`` model; other models compute value themselves.
    lower, upper
        Bounds (``None``: unbounded).
    cost_provenance
        The cost's unit, plausible range and source when the file gives ``cost`` as a
        ``{value, unit, range, source}`` table (``None``: a plain number). A cost
        outside the range is refused, as a coefficient's value is.
    """

    rest: float = 0.0
    cost: float = 1.0
    value: float = 0.0
    lower: float | None = None
    upper: float | None = None
    unit: str = ""
    description: str = ""
    cost_provenance: Provenance | None = None

    @property
    def cost_coefficient(self) -> Coefficient:
        """``cost`` with its unit, range and source (a plain :class:`Coefficient`
        without them)."""
        if self.cost_provenance is None:
            return Coefficient(value=self.cost)
        return self.cost_provenance.coefficient(self.cost)


@dataclass(frozen=True)
class MeanModel(PicklesProxies):
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
class Company(PicklesProxies):
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
        ``"package.module:function"`` for ``kind = "declared"`` (imported only from a
        scenario loaded with ``trust_code=True``), or the function itself (code you pass
        in Python is trusted).
    options
        Other settings of the model.
    """

    kind: str = "none"
    coefficients: Mapping[str, Coefficient] = field(default_factory=dict)
    levers: Mapping[str, Mapping[str, Lever]] = field(default_factory=dict)
    means: Mapping[str, MeanModel] = field(default_factory=dict)
    cost_cross: tuple[tuple[tuple[str, str], float], ...] = ()
    model: str | Callable[..., Any] | None = None
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

    ``certainty_equivalent`` is how a person values uncertain pay: ``"cara"`` (exact for
    constant absolute risk aversion, ``-(1/r) log E[exp(-r pay)]``) or
    ``"mean_variance"`` (``E - (r/2) Var``, the standard approximation, exact for pay
    linear in normal noise).

    ``horizon`` (years, a whole number 1-50) and ``discount_rate`` (a share a year) are
    how :func:`compmodel.pnl` values a change over the years: the net present value of
    the first ``horizon`` years, the steady state after them reported apart. Either may
    be written as a ``{value, unit, range, source}`` table like a coefficient's; its
    unit, range and source are then kept in ``horizon_provenance`` /
    ``discount_rate_provenance`` (:class:`Provenance`), and the range is what
    :func:`compmodel.chance_it_pays` draws it from.

    ``allow_implausible`` lists parameter paths (``"sales.target_incentive"``) whose
    plausibility guards are waived: a value there may pass a limit of
    :data:`compmodel.validate.PLAUSIBLE` (a target incentive above 300% of base pay, a
    share's point outside 0-1 ...) that is otherwise refused as a likely slip.
    """

    participation: Literal["binding", "fixed_base"] = "binding"
    payroll_tax_rate: float = 0.0
    turnover_sensitivity: float = 0.0
    replacement_cost: float = 0.5
    allow_implausible: tuple[str, ...] = ()
    certainty_equivalent: Literal["cara", "mean_variance"] = "cara"
    horizon: int = 5
    discount_rate: float = 0.09
    horizon_provenance: Provenance | None = None
    discount_rate_provenance: Provenance | None = None

    def __post_init__(self) -> None:
        if isinstance(self.allow_implausible, list):  # a list from Python: kept hashable
            object.__setattr__(self, "allow_implausible", tuple(self.allow_implausible))


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
class Scenario(PicklesProxies):
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
    #: whether code the scenario names (``company.model`` of a declared kind) may be
    #: imported: set by ``load_scenario(..., trust_code=True)``, never read from a file;
    #: :meth:`with_value`, pickling and workers carry it
    trust_code: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _frozen_map(self.metrics))
        object.__setattr__(self, "departments", _frozen_map(self.departments))
        object.__setattr__(self, "bridges", _frozen_map(self.bridges))
        validate.check_scenario(self)

    # ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The scenario as a plain dict (the TOML document, company file merged in)."""
        return scenario_to_dict(self)

    def get(self, path: str) -> float:
        """The number at a parameter path (see :mod:`compmodel.paths`).

        A categorical path (``"sales.crediting"``) is read with
        :func:`compmodel.paths.get`, which returns its name.
        """
        value = paths.get(self, path)
        if isinstance(value, str):
            raise ParameterPathError(
                path,
                f"takes a name ({value!r} here), not a number; read it with "
                "compmodel.paths.get(scenario, path)",
            )
        return value

    def shared_share(self, department: str) -> float:
        """Total weight on company-scope metrics in a department's plan."""
        return paths.shared_share(self, department)

    def with_value(self, path: str, value: float | str, *, at: Any = None) -> Scenario:
        """A copy with the setting at ``path`` set to ``value`` (checked).

        Setting ``<dept>.weights.<component>`` rescales the department's other
        weighted components proportionally (equally if they are all zero) so the weights
        still sum to 1. Setting ``<dept>.shared_share`` rescales the components on
        company-scope metrics and the others proportionally within each group.
        ``<dept>.crediting`` takes a metric's name and rescales the commission curve at
        an equilibrium: ``at`` (a :class:`~compmodel.Solution` of this scenario), else
        one solve (see :mod:`compmodel.crediting`).
        """
        out: Scenario = paths.with_value(self, path, value, at=at)
        return out

    def with_values(self, values: Mapping[str, float | str], *, at: Any = None) -> Scenario:
        """A copy with several parameter paths set, in the order given."""
        out: Scenario = paths.with_values(self, values, at=at)
        return out

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
