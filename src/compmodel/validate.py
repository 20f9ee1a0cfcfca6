"""Validators: which values a scenario may hold, said once.

Every way a scenario comes to be goes through these checks: a TOML file read by
:mod:`compmodel.io`, a :class:`~compmodel.scenario.Scenario` built in Python (its
``__post_init__``) and an edit by parameter path (:mod:`compmodel.paths`, which checks
only what changed). A value refused in a file is refused, with the same message, when set
by path.

Each rule names its location the way the TOML document does
(``departments.sales.base_pay``), what is allowed and what to try. This module sits below
the scenario dataclasses: it reads their attributes and builds none of them, so it
imports nothing of compmodel but :mod:`compmodel.errors` and :mod:`compmodel.plans`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np

from .errors import RosterError, ScenarioError
from .plans import PayoutCurve, RateTable

__all__ = [
    "BRIDGE",
    "CURRENCY",
    "DEPARTMENT",
    "FORECAST",
    "LEVER",
    "NAME",
    "RHO",
    "SETTINGS",
    "check_bridges",
    "check_coefficient",
    "check_company",
    "check_cost_matrix",
    "check_department",
    "check_forecast",
    "check_lever",
    "check_names",
    "check_scenario",
    "check_settings",
    "currency",
    "identifier",
    "keys",
    "name",
    "number",
    "roster_rows",
    "text",
]


class Rule(TypedDict, total=False):
    """Bounds of a number: ``low``/``high`` (inclusive unless ``low_open``), a hint."""

    low: float
    high: float
    low_open: bool
    hint: str


#: A department's numbers (``departments.<name>.<field>``).
DEPARTMENT: Mapping[str, Rule] = {
    "headcount": {"low": 0},
    "base_pay": {"low": 0},
    "target_incentive": {"low": 0, "high": 10, "hint": " (a share of base pay: 0.25 is 25%)"},
    "risk_aversion": {"low": 0},
    "market_reference": {"low": 0},
    "team_identification": {"low": 0, "high": 1},
    "quota": {"low": 0, "low_open": True},
}
#: ``settings.<field>``.
SETTINGS: Mapping[str, Rule] = {
    "payroll_tax_rate": {"low": 0, "high": 1},
    "turnover_sensitivity": {"low": 0},
    "replacement_cost": {"low": 0, "hint": " (a share of base pay per leaver)"},
}
#: ``company.levers.<department>.<lever>.<field>``.
LEVER: Mapping[str, Rule] = {
    "rest": {},
    "cost": {"low": 0, "low_open": True, "hint": " (currency per unit squared; effort must cost something)"},
    "value": {},
    "lower": {},
    "upper": {},
}  # fmt: skip
#: ``forecast.<metric>.<field>``.
FORECAST: Mapping[str, Rule] = {"mean": {}, "sd": {"low": 0}, "individual_sd": {"low": 0}}
#: ``forecast.correlations[i].rho``.
RHO: Rule = {"low": -1, "high": 1}
#: ``bridges.<name>``.
BRIDGE: Rule = {"low": 0, "hint": " (a bridge's setting: 0 turns it off)"}
#: The names a scenario's keys hold (departments, metrics, levers, components, bridges,
#: coefficients): a letter or ``_``, then letters, digits and ``_``. Names reach charts,
#: dashboards, workbooks and parameter paths, so they hold no markup, spaces or dots.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: ``currency``: a three-letter code in capitals (ISO 4217: USD, EUR, GBP ...).
CURRENCY = re.compile(r"^[A-Z]{3}$")


# --------------------------------------------------------------------------------------
# single values
# --------------------------------------------------------------------------------------
def keys(table: Any, allowed: set[str], where: str, required: tuple[str, ...] = ()) -> None:
    """A table holds only ``allowed`` keys (the nearest one named) and every ``required``."""
    if not isinstance(table, dict):
        raise ScenarioError(where, f"must be a table, got {type(table).__name__} {table!r}")
    for k in table:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), sorted(allowed), n=1, cutoff=0.6)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ScenarioError(
                f"{where}.{k}" if where else str(k),
                f"unknown key.{hint} Allowed here: {', '.join(sorted(allowed))}.",
            )
    for k in required:
        if k not in table:
            raise ScenarioError(f"{where}.{k}" if where else k, "is required but missing")


def number(
    value: Any,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a finite float inside ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ScenarioError(
            where, f"must be a number, got {value!r} ({type(value).__name__}){hint}"
        )
    v = float(value)
    if not math.isfinite(v):
        raise ScenarioError(where, f"must be a finite number, got {v}{hint}")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        rng = f"{op} {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise ScenarioError(where, f"is {v:g}; allowed: {rng}{hint}")
    if high is not None and v > high:
        raise ScenarioError(where, f"is {v:g}; allowed: <= {high:g}{hint}")
    return v


def whole(value: Any, where: str) -> int:
    """A headcount: a whole number >= 0."""
    v = number(value, where, **DEPARTMENT["headcount"])
    if not v.is_integer():
        raise ScenarioError(where, f"is {v:g}; it must be a whole number")
    return int(v)


def text(value: Any, where: str, choices: tuple[str, ...] | None = None) -> str:
    """``value`` as text, one of ``choices`` when given (the nearest one named)."""
    if not isinstance(value, str):
        raise ScenarioError(where, f"must be text, got {value!r}")
    if choices is not None and value not in choices:
        near = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ScenarioError(
            where, f"is {value!r}; allowed: {', '.join(repr(c) for c in choices)}.{hint}"
        )
    return value


def _toml_key(key: str) -> str:
    """``key`` as a TOML document writes it: bare when it can be, else quoted."""
    if NAME.match(key):
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def identifier(value: Any, where: str, what: str) -> str:
    """``value`` is a name a scenario may use as a key (:data:`NAME`); ``where`` is the
    table that holds it, e.g. ``departments`` for a department's name."""
    if not isinstance(value, str):
        raise ScenarioError(where, f"a {what} name must be text, got {value!r}")
    if NAME.match(value):
        return value
    try_ = re.sub(r"[^A-Za-z0-9_]+", "_", value).strip("_") or what
    if not NAME.match(try_):
        try_ = "_" + try_
    raise ScenarioError(
        f"{where}.{_toml_key(value)}" if where else _toml_key(value),
        f"{value!r} is not allowed as a {what} name; allowed: a letter or underscore, then "
        f"letters, digits or underscores (the pattern {NAME.pattern}), with no spaces, "
        f"dots or punctuation. Try {try_!r}.",
    )


def currency(value: Any, where: str = "currency") -> str:
    """``value`` is a currency code: three capital letters (:data:`CURRENCY`)."""
    if isinstance(value, str) and CURRENCY.match(value):
        return value
    hint = ""
    if isinstance(value, str) and CURRENCY.match(value.strip().upper()):
        hint = f" Try {value.strip().upper()!r}."
    raise ScenarioError(
        where,
        f"is {value!r}; allowed: a three-letter currency code in capitals (the pattern "
        f"{CURRENCY.pattern}), e.g. 'USD', 'EUR' or 'GBP'.{hint}",
    )


def name(value: Any, known: Mapping[str, Any], where: str, what: str) -> str:
    """``value`` names one of ``known`` (a metric, department, lever ...)."""
    s = text(value, where)
    if s not in known:
        near = difflib.get_close_matches(s, list(known), n=1, cutoff=0.5)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ScenarioError(
            where,
            f"unknown {what} {s!r}.{hint} Known: {', '.join(sorted(known)) or '(none)'}; "
            f"declare it under [{what}s] first."
            if what == "metric"
            else f"unknown {what} {s!r}.{hint} Known: {', '.join(sorted(known))}.",
        )
    return s


def coefficient_range(value: Any, where: str) -> tuple[float, float]:
    """A coefficient's ``range = [low, high]``."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ScenarioError(where, "must be [low, high]")
    lo, hi = number(value[0], where), number(value[1], where)
    if lo > hi:
        raise ScenarioError(where, f"low {lo:g} is above high {hi:g}")
    return lo, hi


def check_coefficient(value: Any, rng: tuple[float, float] | None, where: str) -> float:
    """A coefficient's value (``where`` ends in ``.value``), inside its stated range."""
    v = number(value, where)
    if rng is not None and not rng[0] <= v <= rng[1]:
        raise ScenarioError(
            where,
            f"is {v:g}, outside its stated range [{rng[0]:g}, {rng[1]:g}]; "
            "change the value or widen the range",
        )
    return v


def check_lever(
    rest: Any, cost: Any, value: Any, lower: Any, upper: Any, where: str
) -> tuple[float, float, float, float | None, float | None]:
    """A lever's numbers: bounds in order, the rest value inside them, a positive cost."""
    lo = None if lower is None else number(lower, f"{where}.lower")
    hi = None if upper is None else number(upper, f"{where}.upper")
    if lo is not None and hi is not None and lo > hi:
        raise ScenarioError(f"{where}.upper", f"is {hi:g}, below lower {lo:g}")
    r = number(rest, f"{where}.rest")
    if (lo is not None and r < lo) or (hi is not None and r > hi):
        raise ScenarioError(
            f"{where}.rest",
            f"is {r:g}, outside the lever's bounds [{'-inf' if lo is None else lo}, "
            f"{'inf' if hi is None else hi}]; move it inside or widen the bounds",
        )
    c = number(cost, f"{where}.cost", **LEVER["cost"])
    return r, c, number(value, f"{where}.value"), lo, hi


def roster_rows(
    rows: list[dict[str, Any]], where: str
) -> list[tuple[str, float, float | None, float]]:
    """Roster rows (from a CSV or a TOML list) as ``(person, base, quota, ability)``.

    ``base`` is >= 0, ``quota`` and ``ability`` > 0 when given, each person once.
    """
    out: list[tuple[str, float, float | None, float]] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        rw = f"{where} row {i}"
        missing = [c for c in ("person", "base") if c not in row or row[c] in (None, "")]
        if missing:
            raise RosterError(rw, f"missing value in column(s) {', '.join(missing)}")
        if None in row:
            spill = row.get(None)  # type: ignore[call-overload]
            extra = spill if isinstance(spill, list) else [spill]
            n_cols = len([c for c in row if c is not None])
            raise RosterError(
                rw,
                f"has {n_cols + len(extra)} values but the header has {n_cols} columns; "
                'quote values that contain commas ("72,000") or drop thousands separators',
            )
        unknown = [c for c in row if c not in _PERSON]
        if unknown:
            raise RosterError(
                rw, f"unknown column(s) {unknown}; allowed: {', '.join(sorted(_PERSON))}"
            )
        person = str(row["person"]).strip()
        if person in seen:
            raise RosterError(
                rw,
                f"person {person!r} appears twice (rows {seen[person]} and {i}); each person "
                "must appear once",
            )
        seen[person] = i

        def num(
            col: str,
            low_open: bool,
            default: float | None,
            _row: dict[str, Any] = row,
            _rw: str = rw,
        ) -> float | None:
            raw = _row.get(col, "")
            if raw in ("", None):
                return default
            try:
                v = float(raw)
            except (TypeError, ValueError):
                raise RosterError(f"{_rw}, column {col}", f"{raw!r} is not a number") from None
            if not math.isfinite(v):
                raise RosterError(f"{_rw}, column {col}", f"{raw!r} is not a finite number")
            if v < 0 or (low_open and v == 0):
                raise RosterError(
                    f"{_rw}, column {col}", f"is {v:g}; allowed: {'>' if low_open else '>='} 0"
                )
            return v

        base = num("base", False, None)
        if base is None:  # pragma: no cover - presence is checked above
            raise RosterError(rw, "missing value in column base")
        out.append((person, base, num("quota", True, None), num("ability", True, 1.0) or 1.0))
    if not out:
        raise RosterError(where, "has no people")
    return out


_PERSON = {"person", "base", "quota", "ability"}


# --------------------------------------------------------------------------------------
# sections of a scenario (``s`` is a compmodel.Scenario; read, never built, here)
# --------------------------------------------------------------------------------------
def check_cost_matrix(s: Any, department: str) -> None:
    """A department's effort-cost matrix is positive definite."""
    levers = s.company.levers.get(department)
    if not levers:
        return
    names = [f"{department}.{ln}" for ln in levers]
    pos = {n: i for i, n in enumerate(names)}
    cmat = np.diag([lv.cost for lv in levers.values()]).astype(float)
    for (a, b), v in s.company.cost_cross:
        if a in pos and b in pos:
            cmat[pos[a], pos[b]] += v
            cmat[pos[b], pos[a]] += v
    if float(np.linalg.eigvalsh(cmat).min()) <= 0:
        raise ScenarioError(
            f"company.levers.{department}",
            "the effort-cost matrix is not positive definite: the cross costs are too "
            "large against the levers' own costs (for two levers |value| must be below "
            "sqrt(cost_a * cost_b)); lower the cost_cross values or raise the costs",
        )


def check_names(s: Any) -> None:
    """Every name the scenario uses as a key matches :data:`NAME`, and the currency
    :data:`CURRENCY`: nothing a file names can become markup, script or a formula."""
    currency(s.currency)
    for m in s.metrics:
        identifier(m, "metrics", "metric")
    for dn, dept in s.departments.items():
        identifier(dn, "departments", "department")
        for cn in dept.plan.components:
            identifier(cn, f"departments.{dn}.components", "component")
    for dn, levers in s.company.levers.items():
        identifier(dn, "company.levers", "department")
        for ln in levers:
            identifier(ln, f"company.levers.{dn}", "lever")
    for mn, mean in s.company.means.items():
        identifier(mn, "company.means", "metric")
        for ref in mean.loadings:
            for part in str(ref).split("."):  # "department.lever"
                identifier(part, f"company.means.{mn}.loadings", "lever")
    for cn in s.company.coefficients:
        identifier(cn, "company.coefficients", "coefficient")
    for b in s.bridges:
        identifier(b, "bridges", "bridge")
    if s.forecast is not None:
        for m in s.forecast.metrics:
            identifier(m, "forecast", "metric")


def check_settings(s: Any) -> None:
    """``settings``: the numbers inside their ranges."""
    for f, rule in SETTINGS.items():
        number(getattr(s.settings, f), f"settings.{f}", **rule)
    text(s.settings.participation, "settings.participation", ("binding", "fixed_base"))


def check_bridges(s: Any) -> None:
    """``bridges``: every setting >= 0."""
    for b, v in s.bridges.items():
        number(v, f"bridges.{b}", **BRIDGE)


def check_company(s: Any) -> None:
    """``company``: levers of known departments with sound numbers and cost matrices,
    means of known metrics, coefficients inside their ranges."""
    for dn, levers in s.company.levers.items():
        name(dn, s.departments, f"company.levers.{dn}", "department")
        for ln, lv in levers.items():
            check_lever(lv.rest, lv.cost, lv.value, lv.lower, lv.upper, f"company.levers.{dn}.{ln}")
        check_cost_matrix(s, dn)
    for mn in s.company.means:
        name(mn, s.metrics, f"company.means.{mn}", "metric")
    for cn, coef in s.company.coefficients.items():
        check_coefficient(coef.value, coef.range, f"company.coefficients.{cn}.value")
    if s.company.kind == "none" and s.forecast is not None:
        for mn, f in s.forecast.metrics.items():
            if f.mean is None:
                raise ScenarioError(
                    f"forecast.{mn}.mean",
                    "is required when there is no company model (company.kind = 'none'); "
                    "give the metric's expected value",
                )


def check_department(s: Any, dn: str) -> None:
    """One department: its numbers, roster, quota, and a plan that pays on known,
    forecast metrics in their better direction."""
    dept = s.departments[dn]
    w = f"departments.{dn}"
    whole(dept.headcount, f"{w}.headcount")
    for f in ("base_pay", "target_incentive", "risk_aversion", "team_identification"):
        number(getattr(dept, f), f"{w}.{f}", **DEPARTMENT[f])
    for f in ("market_reference", "quota"):
        if getattr(dept, f) is not None:
            number(getattr(dept, f), f"{w}.{f}", **DEPARTMENT[f])
    if dept.roster is not None and dept.roster.source is None:
        roster_rows(
            [
                {"person": p.person, "base": p.base, "quota": p.quota, "ability": p.ability}
                for p in dept.roster.people
            ],
            f"{w}.roster",
        )
    if dept.roster is not None and len(dept.roster) != dept.headcount:
        raise ScenarioError(
            f"{w}.headcount",
            f"is {dept.headcount} but the roster lists {len(dept.roster)} people; "
            "remove headcount (it then comes from the roster) or fix the roster",
        )
    if dept.quota_metric is not None and dept.quota_metric not in s.metrics:
        raise ScenarioError(f"{w}.quota_metric", f"unknown metric {dept.quota_metric!r}")
    if dept.roster is not None and any(p.quota is not None for p in dept.roster.people):
        if dept.quota is None or dept.quota_metric is None:
            raise ScenarioError(
                f"{w}.quota_metric" if dept.quota_metric is None else f"{w}.quota",
                "the roster has a quota column, so the department needs `quota_metric` "
                "(the metric quotas are in) and `quota` (the representative person's "
                "quota, which the plan's thresholds are written for)",
            )
    used: list[tuple[str, str]] = []
    for cn, comp in dept.plan.components.items():
        cw = f"{w}.components.{cn}"
        name(comp.metric, s.metrics, f"{cw}.metric", "metric")
        metric = s.metrics[comp.metric]
        p = comp.payout
        if isinstance(p, PayoutCurve) and p.direction != metric.direction:
            raise ScenarioError(
                f"{cw}.target",
                f"the curve rises toward {'higher' if p.direction == 'higher' else 'lower'} "
                f"values but {comp.metric!r} is {metric.direction}-is-better; put the "
                "target on the better side of the threshold",
            )
        if isinstance(p, RateTable) and metric.direction != "higher":
            raise ScenarioError(
                f"{cw}.kind",
                f"a rate table pays on volume, but {comp.metric!r} is lower-is-better; use a curve",
            )
        if metric.scale == "logit" and isinstance(p, RateTable):
            raise ScenarioError(
                f"{cw}.kind", f"a rate table cannot pay on the share {comp.metric!r}"
            )
        used.append((f"{cw}.metric", comp.metric))
        if comp.gate is not None:
            name(comp.gate.metric, s.metrics, f"{cw}.gate.metric", "metric")
            used.append((f"{cw}.gate.metric", comp.gate.metric))
    if dept.plan.modifier is not None:
        mod = dept.plan.modifier
        name(mod.metric, s.metrics, f"{w}.modifier.metric", "metric")
        if mod.curve.direction != s.metrics[mod.metric].direction:
            raise ScenarioError(
                f"{w}.modifier.target",
                f"the modifier curve's direction does not match {mod.metric!r} "
                f"({s.metrics[mod.metric].direction}-is-better)",
            )
        used.append((f"{w}.modifier.metric", mod.metric))
    if s.forecast is not None:
        for where, m in used:
            if m not in s.forecast.metrics:
                raise ScenarioError(
                    where,
                    f"metric {m!r} is used by a plan but has no forecast; add "
                    f"[forecast.{m}] with mean and sd",
                )


def check_forecast(s: Any) -> None:
    """The forecast: known metrics, sound numbers, per-person noise only where a metric
    is individual, correlations that are jointly possible."""
    if s.forecast is None:
        return
    for m, f in s.forecast.metrics.items():
        name(m, s.metrics, f"forecast.{m}", "metric")
        if f.mean is not None:
            number(f.mean, f"forecast.{m}.mean")
        number(f.sd, f"forecast.{m}.sd", **FORECAST["sd"])
        number(f.individual_sd, f"forecast.{m}.individual_sd", **FORECAST["individual_sd"])
        if f.individual_sd > 0 and s.metrics[m].scope != "individual":
            raise ScenarioError(
                f"forecast.{m}.individual_sd",
                f"only individual-scope metrics have per-person noise; {m!r} is "
                f"{s.metrics[m].scope}-scope",
            )
    for i, rho in enumerate(s.forecast.correlations.values()):
        number(rho, f"forecast.correlations[{i}].rho", **RHO)
    check_correlations(s)


def check_correlations(s: Any) -> None:
    """The forecast's correlation matrix is positive semi-definite."""
    names = list(s.forecast.metrics)
    if names:
        r = s.forecast.correlation_matrix(names)
        low = float(np.linalg.eigvalsh(r).min())
        if low < -1e-10:
            raise ScenarioError(
                "forecast.correlations",
                f"the correlations are not jointly possible (the matrix has a "
                f"negative eigenvalue {low:.3g}); reduce the largest correlations",
            )


def check_scenario(s: Any) -> None:
    """Every check above: the names and currency first, then in the order a file is
    read: settings, company, departments, forecast, bridges."""
    check_names(s)
    check_settings(s)
    check_company(s)
    for dn in s.departments:
        check_department(s, dn)
    check_forecast(s)
    check_bridges(s)
