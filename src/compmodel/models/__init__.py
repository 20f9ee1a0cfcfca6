"""Company models: how all departments' levers map to metrics, value and effort costs.

Every model implements :class:`CompanyModel`:

* ``levers`` — the lever space: names ``"department.lever"``, no-incentive values
  (t-bar), bounds and the quadratic effort-cost matrix per department;
* ``means(t)`` — the mean of every modelled metric on its latent scale (the logit for
  shares) given the lever vector ``t`` (representative person of each department);
* ``gross_value(t)`` — the company's gross value, currency per period (all people);
* ``outcomes(t)`` — further named figures the model reports (may be empty).

Effort cost per person is ``1/2 (t_d - rest_d)' C_d (t_d - rest_d)`` for department
``d`` (currency per period), from the levers' ``cost`` and ``cost_cross`` entries.

Kinds: ``linear`` (:mod:`compmodel.models.linear`), ``declared``
(:mod:`compmodel.models.declared`) and ``manufacturer``
(:mod:`compmodel.models.manufacturer`, the reference company).

A model may also offer, and the solver then uses:

* ``value_parts(t)`` — signed parts of gross value (for profit walks);
* ``staff_retention(t)`` — per department, the share of people staying before pay
  against the market (turnover the levers cause, already costed in gross value);
* ``team_identification(department, base)`` — team identification after the model's
  own effects (the manufacturer's unofficial-leaders bridge);
* ``own_means_jacobian(t, t0, columns)`` — the split of individual-scope metrics into
  what a person moves alone and what everyone moves together (below).

Line of sight by what a person moves. The levers are a representative person's: ``t``
moves every person of a department together. A person moving their own levers alone
moves the company-wide aggregates (load, OTIF through load, customer churn, staff
turnover, ...) by ``1/N`` of the department's effect, and perceives
``LoS = (1 + lambda (N - 1)) / N`` of it (:mod:`compmodel.equilibrium.line_of_sight`).
A model whose individual-scope metrics contain such aggregates says so with
``own_means_jacobian(t, t0, columns) -> (own, jacobian)``: every metric evaluated with
the levers at ``t`` but every company-wide aggregate frozen at its value at ``t0`` (the
current levers of everybody; ``t`` differs from it in one department's levers), and its
exact derivatives in the levers ``columns`` (with the aggregates held). A person then
perceives an individual-scope metric ``v`` as ``own_v(t) + LoS (m_v(t) - own_v(t))``,
whose value at ``t = t0`` is ``m_v(t0)`` (``own_v(t0) = m_v(t0)``). A model without it
has no split: its individual-scope metrics are a person's own (line of sight 1), as are
those of ``linear``, ``declared`` and ``distributor``. Department- and company-scope
metrics are shared whatever the model says. The compiled path takes the split from
``CompiledEquations.own_means_jacobian``; a model that offers it in Python but not
compiled is solved in Python. ``split_metrics`` (optional, a set of metric names) names
the individual-scope metrics that have a company-wide part; without it every
individual-scope metric of a splitting model is split (the same numbers, a second
evaluation of the model where none is needed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np

from .. import kinds
from ..errors import ScenarioError
from ..scenario import Scenario

__all__ = [
    "GROSS_MARGIN",
    "REVENUE",
    "TURNOVER_PART",
    "Bridge",
    "Capabilities",
    "CompanyModel",
    "CompiledEquations",
    "Crediting",
    "Display",
    "Format",
    "KindInfo",
    "Kpi",
    "LeverSpace",
    "build_model",
    "capabilities",
    "crediting_of",
    "display_of",
    "info_of",
    "register_kind",
    "value_label",
]


@dataclass(frozen=True)
class LeverSpace:
    """All levers of a scenario, in a fixed order (departments, then levers).

    Attributes
    ----------
    names
        ``"department.lever"`` for each lever.
    departments
        Department of each lever.
    rest, lower, upper
        No-incentive values and bounds (``-inf``/``inf`` when unbounded).
    cost
        Block-diagonal effort-cost matrix C (per person; currency per unit squared).
    headcount
        Headcount of each lever's department.
    """

    names: tuple[str, ...]
    departments: tuple[str, ...]
    rest: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray
    headcount: np.ndarray

    @functools.cached_property
    def _blocks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each department's lever positions and its block of ``cost`` (built once)."""
        out = {}
        for dep in dict.fromkeys(self.departments):
            idx = np.array([i for i, d in enumerate(self.departments) if d == dep], int)
            out[dep] = (idx, self.cost[np.ix_(idx, idx)])
        return out

    def index(self, department: str) -> np.ndarray:
        """Positions of a department's levers."""
        block = self._blocks.get(department)
        return block[0].copy() if block is not None else np.empty(0, int)

    def effort_cost(self, department: str, t: np.ndarray) -> float:
        """Effort cost per person of ``department`` at the full lever vector ``t``."""
        block = self._blocks.get(department)
        if block is None:
            return 0.0
        idx, cost = block
        dev = t[idx] - self.rest[idx]
        return float(0.5 * dev @ cost @ dev)

    def total_effort_cost(self, t: np.ndarray) -> float:
        """Effort cost of everyone at ``t``: ``sum_d N_d c_d(t)`` (cost is block diagonal)."""
        dev = t - self.rest
        return float(0.5 * dev @ (self.cost * self.headcount[:, None]) @ dev)

    def clip(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(t, self.lower, self.upper), dtype=float)

    def as_dict(self, t: np.ndarray) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, t, strict=True)}


@dataclass(frozen=True)
class CompiledEquations:
    """A plug-in's equations in numba, for the solver's compiled path.

    ``module`` holds ``means_jacobian(t, data, columns) -> (means, jacobian)`` (exact
    derivatives in the levers ``columns``, shapes ``(metrics,)`` and ``(metrics,
    columns)``) or, without exact derivatives, ``means(t, data) -> means`` (the kernels
    then take central differences in compiled code); ``data`` is the model's
    ``kernel_data``. Both are numba-jitted module-level functions (``compmodel._jit.jit``);
    keep the equations' compiled callees in the same module, which names the kernels'
    cache (see :mod:`compmodel._kernels`). ``auto``: whether ``backend="auto"`` takes the
    compiled path; a model small enough that its Python path takes milliseconds sets it
    false, so nobody waits for the kernels' first compile (``backend="compiled"`` still
    takes them). ``own_means_jacobian`` (optional) names the compiled split of
    individual-scope metrics, ``(t, t0, data, columns) -> (own means, jacobian)``: the
    Python capability of the same name (module docstring) in compiled code.
    """

    module: str
    means_jacobian: str | None = None
    means: str | None = None
    auto: bool = True
    own_means_jacobian: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a model offers beyond :class:`CompanyModel`, read once by :func:`capabilities`.

    Attributes
    ----------
    compiled
        Its compiled equations and their data (``None``: the Python path only).
    means_jacobian
        ``(t, columns) -> (means, jacobian)`` in Python (else central differences).
    value_gradient
        ``t -> (gross value, gradient)`` (else differences).
    fingerprint
        Everything the equations read besides the levers (equal fingerprints, equal
        model): lets the solver reuse a first best across plan changes.
    value_metric
        The metric whose mean is gross value less a constant (the base payroll), which
        the compiled first best pays the planner; ``None`` if the model has none.
    own_means_jacobian
        ``(t, t0, columns) -> (own means, jacobian)``: individual-scope metrics with the
        company-wide aggregates frozen at ``t0`` (module docstring); ``None``: no split,
        individual-scope metrics are a person's own.
    """

    compiled: tuple[CompiledEquations, Any] | None = None
    means_jacobian: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    value_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
    fingerprint: tuple[object, ...] | None = None
    value_metric: str | None = None
    bridge_costs: Mapping[str, float] | None = None
    own_means_jacobian: (
        Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None
    ) = None


def capabilities(model: CompanyModel) -> Capabilities:
    """The optional capabilities ``model`` declares (attributes of the same names;
    compiled equations as ``compiled`` with their data as ``kernel_data``)."""
    compiled = getattr(model, "compiled", None)
    value_metric = getattr(model, "value_metric", None)
    return Capabilities(
        compiled=None if compiled is None else (compiled, model.kernel_data),  # type: ignore[attr-defined]
        means_jacobian=getattr(model, "means_jacobian", None),
        value_gradient=getattr(model, "value_gradient", None),
        fingerprint=getattr(model, "fingerprint", None),
        value_metric=value_metric if value_metric in model.metrics else None,
        bridge_costs=getattr(model, "bridge_costs", None),
        own_means_jacobian=getattr(model, "own_means_jacobian", None),
    )


class CompanyModel(Protocol):
    """What the solver needs from a company model."""

    levers: LeverSpace
    metrics: tuple[str, ...]

    def means(self, t: np.ndarray) -> np.ndarray:
        """Latent means of ``metrics`` (in that order) at lever vector ``t``."""
        ...

    def gross_value(self, t: np.ndarray) -> float:
        """Company gross value at ``t`` (currency per period, all people)."""
        ...

    def outcomes(self, t: np.ndarray) -> Mapping[str, float]:
        """Further named figures (currency or metric units); may be empty."""
        ...


def lever_space(scenario: Scenario) -> LeverSpace:
    """The lever space declared in ``[company.levers]`` and ``cost_cross``."""
    names, depts, rest, lo, hi, diag, hc = [], [], [], [], [], [], []
    for d in scenario.departments:
        for ln, lv in scenario.company.levers.get(d, {}).items():
            names.append(f"{d}.{ln}")
            depts.append(d)
            rest.append(lv.rest)
            lo.append(-np.inf if lv.lower is None else lv.lower)
            hi.append(np.inf if lv.upper is None else lv.upper)
            diag.append(lv.cost)
            hc.append(scenario.departments[d].headcount)
    cost = np.diag(np.asarray(diag, dtype=float))
    pos = {n: i for i, n in enumerate(names)}
    for (a, b), v in scenario.company.cost_cross:
        cost[pos[a], pos[b]] += v
        cost[pos[b], pos[a]] += v
    # positive definiteness of each block is checked when the scenario is validated
    return LeverSpace(
        names=tuple(names),
        departments=tuple(depts),
        rest=np.asarray(rest, dtype=float),
        lower=np.asarray(lo, dtype=float),
        upper=np.asarray(hi, dtype=float),
        cost=cost,
        headcount=np.asarray(hc, dtype=float),
    )


@dataclass(frozen=True)
class Crediting:
    """What a kind of company declares about crediting sales and clawing pay back.

    Attributes
    ----------
    metrics
        The metrics a commission can be credited on, in the order of an order's life,
        each with how a person reads it (``"bookings": "at booking"``).
    clawbacks
        Clawback forms by name (``"cost_share"``): the component's name in a plan, the
        metric it takes back on, and whether it takes a share of the commission's rate
        (``True``: late orders) or of the metric itself (``False``: a cost).
    """

    metrics: Mapping[str, str]
    clawbacks: Mapping[str, tuple[str, str, bool]]


#: How a figure is shown: currency, a share (0-1, shown in %), a count, hours, an index.
Format = Literal["money", "share", "count", "hours", "index"]


#: The value part (``value_parts``) that is turnover the levers cause: the solution reports
#: it with turnover from pay below the market, not among the model's own drivers.
TURNOVER_PART = "staff_turnover"
#: The conventional names of a model's metrics (or outcomes) for company revenue and
#: gross margin (currency per period), where a kind declares no others.
REVENUE, GROSS_MARGIN = "revenue", "gross_margin"


@dataclass(frozen=True)
class Display:
    """How every face shows a metric, lever, outcome or value part: a reader's ``label``,
    its ``unit``, the ``format`` of its numbers and a one-line ``meaning``."""

    label: str
    unit: str = ""
    format: Format = "index"
    meaning: str = ""


@dataclass(frozen=True)
class Kpi:
    """A figure worth a tile on the dashboard: a metric of the model (its expected value
    at the equilibrium) or a company figure of the solution."""

    name: str
    label: str
    better: Literal["higher", "lower"]
    format: Format
    meaning: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Bridge:
    """A bridge between departments that a kind models (``[bridges]`` in a scenario).

    ``limit`` is the largest setting that makes sense (a dashboard slider's end),
    ``effect`` the coefficient that carries its first effect (its breakeven is reported
    by :func:`compmodel.bridge_values`), ``unit`` the setting's unit and ``format`` how
    its numbers read (a ``share`` of quotes, a ``count`` of days or meetings).
    """

    label: str
    unit: str
    limit: float
    effect: str
    meaning: str = ""
    format: Format = "count"

    @property
    def display(self) -> Display:
        """The bridge's entry in the display table."""
        return Display(self.label, self.unit, self.format, self.meaning)


@dataclass(frozen=True)
class KindInfo:
    """What a company kind declares for every face beyond its equations.

    Attributes
    ----------
    kpis
        The dashboard's tiles beyond the company figures every kind has.
    story
        The levers (``"department.lever"``) and metrics a comparison shows.
    bridges, presets, crediting
        Its bridges between departments, the presets a consultant clicks, how its sales
        can be credited.
    labels
        The display table: for each metric, outcome and lever (``"department.lever"``)
        a reader's name, unit, format and meaning (every chart, export and tile reads
        it; bridges carry theirs in :class:`Bridge`, see :meth:`display`).
    value_labels
        A reader's name for each value part (the profit walk's drivers).
    outcomes
        The metrics and outcomes an outcomes chart shows by default.
    revenue_metric, margin_metric
        The metrics or outcomes holding company revenue and gross margin (the cost
        sheet's shares).
    """

    kpis: tuple[Kpi, ...] = ()
    story: tuple[Kpi, ...] = ()
    bridges: Mapping[str, Bridge] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    crediting: Crediting | None = None
    labels: Mapping[str, Display] = field(default_factory=dict)
    value_labels: Mapping[str, str] = field(default_factory=dict)
    outcomes: tuple[str, ...] = ()
    revenue_metric: str | None = REVENUE
    margin_metric: str | None = GROSS_MARGIN

    def __post_init__(self) -> None:
        for name in ("bridges", "presets", "labels", "value_labels"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def display(self, name: str) -> Display | None:
        """The display entry of a metric, outcome or lever ``name``, or of a bridge
        (``"bridges.<name>"`` or its bare name); ``None`` when the kind declares none."""
        if name in self.labels:
            return self.labels[name]
        bridge = self.bridges.get(name.removeprefix("bridges."))
        return None if bridge is None else bridge.display


_KINDS: dict[str, Callable[[Scenario], CompanyModel]] = {}
_INFO: dict[str, KindInfo] = {}


def register_kind(
    kind: str,
    builder: Callable[[Scenario], CompanyModel],
    *,
    info: KindInfo | None = None,
) -> None:
    """Make ``company.kind = kind`` build its model with ``builder(scenario)``; ``info``
    is what the kind declares for the dashboard, exports and parameter paths."""
    _KINDS[kind] = builder
    _INFO[kind] = info if info is not None else KindInfo()


def info_of(kind: str) -> KindInfo:
    """What a company kind declares (nothing for ``"none"`` or an unknown kind)."""
    if kind not in _INFO and kind in kinds.available() and kind != "none":
        kinds.load(kind)  # its module registers it (and what it declares)
    return _INFO.get(kind, KindInfo())


def display_of(name: str, *, kind: str | None = None, by_label: bool = False) -> Display | None:
    """How a metric, outcome, lever (``"department.lever"``) or bridge (``"bridges.<name>"``)
    reads, from ``kind``'s display table or, without ``kind``, from the first kind that
    declares it (the shipped kinds are loaded to ask them); ``by_label``: the entry whose
    label is ``name``. ``None`` when none does."""
    if kind is not None:
        infos: Iterable[KindInfo] = (info_of(kind),)
    else:
        for shipped in kinds.BUILTIN:
            info_of(shipped)
        infos = tuple(_INFO.values())
    for info in infos:
        if not by_label:
            shown = info.display(name)
            if shown is not None:
                return shown
            continue
        for shown in (*info.labels.values(), *(b.display for b in info.bridges.values())):
            if shown.label == name:
                return shown
    return None


def value_label(name: str, kind: str) -> str:
    """A reader's name for a value part of ``kind`` (a profit-walk driver)."""
    return info_of(kind).value_labels.get(name, name.replace("_", " "))


def crediting_of(kind: str) -> Crediting | None:
    """The crediting a company kind declares (``None``: its plans pick no crediting)."""
    return info_of(kind).crediting


def build_model(scenario: Scenario) -> CompanyModel:
    """The company model of a scenario.

    Raises
    ------
    ScenarioError
        If the scenario has no company model (``kind = "none"``).
    """
    kind = scenario.company.kind
    if kind == "none":
        raise ScenarioError(
            "company.kind",
            "is 'none': behaviour needs a company model. Set company.kind to 'linear' "
            "(with [company.levers] and [company.means]) or 'declared'; see "
            "docs/scenario-format.md. For a budget without behaviour use "
            "compmodel.commission_budget.",
        )
    if kind not in _KINDS:
        kinds.load(kind)  # its module registers it
    if kind not in _KINDS:
        raise ScenarioError(
            "company.kind",
            f"the module {kinds.module_of(kind)!r} of kind {kind!r} did not register a "
            "model; it should call compmodel.models.register_kind",
        )
    return _KINDS[kind](scenario)
