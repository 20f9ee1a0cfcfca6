"""Validators: which values a scenario may hold, said once.

Every way a scenario comes to be goes through these checks: a TOML file read by
:mod:`compmodel.io`, a :class:`~compmodel.scenario.Scenario` built in Python (its
``__post_init__``) and an edit by parameter path (:mod:`compmodel.paths`, which checks
only what changed). A value refused in a file is refused, with the same message, when set
by path.

Each rule names its location the way the TOML document does
(``departments.sales.base_pay``), what is allowed and what to try. This module sits below
the scenario dataclasses: it reads their attributes and builds none of them, so it
imports nothing of compmodel but :mod:`compmodel.errors`, :mod:`compmodel.plans` and
:mod:`compmodel.document` (the paths ``allow_implausible`` may list).

Plausibility guards (:data:`PLAUSIBLE`) refuse values that are most likely slips, in a
finance reader's words with the fix, unless ``[settings] allow_implausible`` lists the
value's parameter path. Like every rule here they read only the section they check, so
an edit is judged as the file would be.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any, TypedDict

import numpy as np

from .document import scenario_to_dict, sourced_at
from .errors import RosterError, ScenarioError
from .plans import PayoutCurve, RateTable

__all__ = [
    "BRIDGE",
    "CURRENCY",
    "DEPARTMENT",
    "FORECAST",
    "LEVER",
    "NAME",
    "PLAUSIBLE",
    "RESERVED",
    "RHO",
    "SETTINGS",
    "allow_list",
    "canonical_path",
    "check_allowed",
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
    "check_sourced",
    "currency",
    "guard_department",
    "guard_forecast",
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
    "discount_rate": {
        "low": 0,
        "low_open": True,
        "high": 0.5,
        "hint": " (a share a year, e.g. a WACC of 0.09)",
    },
    "horizon": {"low": 1, "high": 50, "hint": " (whole years)"},
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
#: Names a department may not take: a parameter path that starts with one of them
#: addresses that section of the scenario (:mod:`compmodel.paths`), so the department's
#: own settings could not be reached.
RESERVED = ("bridges", "company", "departments", "forecast", "metrics", "settings")
#: The plausibility guards' limits. A value beyond one is most likely a slip (5 written
#: for 5%, 85 for 85%, extra zeros) and is refused with the fix, unless its parameter
#: path is listed under ``[settings] allow_implausible``:
#:
#: * ``target_incentive``: at most 3 (300% of base pay);
#: * ``ote_market``: on-target earnings, ``base_pay x (1 + target_incentive)``, at most
#:   3x the department's ``market_reference`` (when it is > 0);
#: * ``ability``: a roster person's ability in (0, 10];
#: * ``money``: money amounts (base pay, market reference, lump sums, forecast means and
#:   sds of money metrics) below 1e12 in magnitude;
#: * ``money_rate``: a rate table's rate on a money metric at most 1 (100% of the money);
#: * ``sd_scale``: a forecast sd (and individual sd) at most 10x the metric's scale,
#:   ``max(|mean|, 1)``; with no mean (a company model sets it) 1 for a share (its sd
#:   is in logits), else only the money limit applies;
#:
#: and the points of a plan on a share (``scale = "logit"``: thresholds, targets, caps,
#: extra points, lump-sum quotas, gate and modifier points) lie in [0, 1].
PLAUSIBLE: Mapping[str, float] = {
    "target_incentive": 3.0,
    "ote_market": 3.0,
    "ability": 10.0,
    "money": 1e12,
    "money_rate": 1.0,
    "sd_scale": 10.0,
}


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


def years(value: Any, where: str) -> int:
    """``settings.horizon``: a whole number of years from 1 to 50."""
    v = number(value, where, **SETTINGS["horizon"])
    if v != int(v):
        raise ScenarioError(where, f"is {v:g}; allowed: a whole number of years from 1 to 50")
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


def check_sourced(value: Any, provenance: Any, where: str, rule: Rule) -> float:
    """A number that may be written as a ``{value, unit, range, source}`` table (a
    lever's ``cost``, a department's ``team_identification``; ``provenance`` is its
    :class:`~compmodel.Provenance` or ``None`` for a plain number).

    The value meets ``rule`` (at ``where``, or ``where.value`` for a table); a table's
    range is ``[low, high]`` with both ends meeting ``rule`` too (sensitivity moves the
    number to each end), and contains the value, as a coefficient's does.
    """
    if provenance is None:
        return number(value, where, **rule)
    v = number(value, f"{where}.value", **rule)
    rng = getattr(provenance, "range", None)
    if rng is None:
        raise ScenarioError(
            f"{where}.range",
            "is required when the number is written as a table: give the plausible "
            "[low, high] its source supports, or write the number alone",
        )
    lo, hi = coefficient_range(rng, f"{where}.range")
    for end, label in ((lo, "low"), (hi, "high")):
        try:
            number(end, f"{where}.range", **rule)
        except ScenarioError as err:
            raise ScenarioError(
                f"{where}.range",
                f"{label} end {err.detail}; every value of the range "
                "must be allowed (sensitivity moves the number to each end): move that "
                "end inside",
            ) from None
    return check_coefficient(v, (lo, hi), f"{where}.value")


def check_lever(
    rest: Any,
    cost: Any,
    value: Any,
    lower: Any,
    upper: Any,
    where: str,
    cost_provenance: Any = None,
) -> tuple[float, float, float, float | None, float | None]:
    """A lever's numbers: bounds in order, the rest value inside them, a positive cost
    (inside its stated range when it has one: ``cost_provenance``)."""
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
    c = check_sourced(cost, cost_provenance, f"{where}.cost", LEVER["cost"])
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
        if dn in RESERVED:
            raise ScenarioError(
                f"departments.{dn}",
                f"{dn!r} is reserved and cannot name a department: a parameter path that "
                f"starts with {dn!r} addresses the scenario's [{dn}] section, so this "
                f"department's settings could not be reached. Reserved: "
                f"{', '.join(RESERVED)}. Try {dn + '_team'!r}.",
            )
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
    """``settings``: the numbers inside their ranges, ``allow_implausible`` a list of
    texts (that they are parameter paths is :func:`check_allowed`'s)."""
    for f, rule in SETTINGS.items():
        prov = getattr(s.settings, f"{f}_provenance", None)
        check_sourced(getattr(s.settings, f), prov, f"settings.{f}", rule)
    years(s.settings.horizon, "settings.horizon")
    text(s.settings.participation, "settings.participation", ("binding", "fixed_base"))
    text(
        getattr(s.settings, "certainty_equivalent", "cara"),
        "settings.certainty_equivalent",
        ("cara", "mean_variance"),
    )
    allow_list(getattr(s.settings, "allow_implausible", ()))


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
            check_lever(
                lv.rest, lv.cost, lv.value, lv.lower, lv.upper, f"company.levers.{dn}.{ln}",
                lv.cost_provenance,
            )  # fmt: skip
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
    for f in ("base_pay", "target_incentive", "risk_aversion"):
        number(getattr(dept, f), f"{w}.{f}", **DEPARTMENT[f])
    check_sourced(
        dept.team_identification,
        dept.team_identification_provenance,
        f"{w}.team_identification",
        DEPARTMENT["team_identification"],
    )
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
    guard_department(s, dn)


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
    guard_forecast(s)


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
    read: settings, company, departments, forecast, bridges; last, that the paths
    ``settings.allow_implausible`` lists exist."""
    check_names(s)
    check_settings(s)
    check_company(s)
    for dn in s.departments:
        check_department(s, dn)
    check_forecast(s)
    check_bridges(s)
    check_allowed(s)


# --------------------------------------------------------------------------------------
# plausibility guards (limits in PLAUSIBLE; waived per value by allow_implausible)
# --------------------------------------------------------------------------------------
def canonical_path(path: str) -> str:
    """``path`` in the short form :func:`compmodel.parameter_paths` lists: a full
    document path (``departments.sales.components.x.threshold``) and the ``components``
    spelling become ``sales.curves.x.threshold``, ``sales.gates.x.threshold`` or
    ``sales.weights.x``."""
    parts = path.split(".")
    if len(parts) >= 2 and parts[0] == "departments":
        parts = parts[1:]
    if len(parts) >= 4 and parts[1] == "components":
        dept, comp, rest = parts[0], parts[2], parts[3:]
        if rest == ["weight"]:
            return f"{dept}.weights.{comp}"
        if rest[0] == "gate":
            return ".".join([dept, "gates", comp, *rest[1:]])
        return ".".join([dept, "curves", comp, *rest])
    return ".".join(parts)


def allow_list(value: Any, where: str = "settings.allow_implausible") -> tuple[str, ...]:
    """``allow_implausible`` as read from a file: a list of parameter paths (texts)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(e, str) for e in value):
        raise ScenarioError(
            where,
            'must be a list of parameter paths, e.g. ["sales.target_incentive"]; got '
            + (
                "a list holding something other than text"
                if isinstance(value, (list, tuple))
                else f"a {type(value).__name__}"
            ),
        )
    return tuple(value)


def _allowance(s: Any) -> frozenset[str]:
    entries = getattr(s.settings, "allow_implausible", ())
    return frozenset(canonical_path(e) for e in entries if isinstance(e, str))


def _guard(allow: frozenset[str], path: str, message: str, also: tuple[str, ...] = ()) -> None:
    """Refuse the value at ``path`` with ``message`` unless ``path`` (or one of
    ``also``) is listed under ``[settings] allow_implausible``."""
    if path in allow or any(p in allow for p in also):
        return
    raise ScenarioError(
        path,
        f"{message} (or list {path!r} under [settings] allow_implausible if you mean it)",
    )


def _money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) < 1e15 else f"{v:g}"


def _pct(v: float) -> str:
    return f"{v * 100:g}%"


def _is_money(s: Any, metric: Any) -> bool:
    return bool(metric.unit == s.currency or metric.unit == "money")


def _too_much_money(allow: frozenset[str], path: str, v: float | None, s: Any) -> None:
    if v is not None and abs(v) >= PLAUSIBLE["money"]:
        _guard(
            allow,
            path,
            f"is {v:g} {s.currency}, beyond a trillion ({PLAUSIBLE['money']:g}); did you type "
            f"extra zeros? Money is per person per {s.period}",
        )


def _plan_points(p: Any) -> list[tuple[str, float]]:
    """The points of a payout rule in the metric's unit, by field path."""
    if isinstance(p, PayoutCurve):
        out = [("threshold", p.threshold), ("target", p.target)]
        if p.cap is not None:
            out.append(("cap", p.cap))
        out += [(f"extra_points.{i}.0", float(x)) for i, (x, _) in enumerate(p.extra_points)]
        return out
    if isinstance(p, RateTable):
        out = [("target", p.target)]
        if p.basis == "metric":
            out += [
                (f"tiers.{i}.up_to", t.up_to) for i, t in enumerate(p.tiers) if t.up_to is not None
            ]
        return out
    quota = getattr(p, "quota", None)  # a lump sum
    return [] if quota is None else [("quota", float(quota))]


def _department_points(s: Any, dn: str) -> list[tuple[str, str, float]]:
    """Every point of a department's plan as ``(path, metric, value)``."""
    plan = s.departments[dn].plan
    out: list[tuple[str, str, float]] = []
    for cn, comp in plan.components.items():
        out += [(f"{dn}.curves.{cn}.{f}", comp.metric, v) for f, v in _plan_points(comp.payout)]
        if comp.gate is not None:
            out.append((f"{dn}.gates.{cn}.threshold", comp.gate.metric, comp.gate.threshold))
    if plan.modifier is not None:
        mod = plan.modifier
        out += [(f"{dn}.modifier.{f}", mod.metric, v) for f, v in _plan_points(mod.curve)]
    return out


def guard_department(s: Any, dn: str) -> None:
    """A department's values are plausible (:data:`PLAUSIBLE`): target incentive,
    on-target earnings against the market, money amounts, abilities, a share metric's
    plan points in [0, 1], rates on money metrics."""
    allow = _allowance(s)
    dept = s.departments[dn]
    cur, per = s.currency, s.period
    ti = float(dept.target_incentive)
    if ti > PLAUSIBLE["target_incentive"]:
        _guard(
            allow,
            f"{dn}.target_incentive",
            f"{ti:g} means {_pct(ti)} of base pay; did you mean {ti:g}%? write {ti / 100:g}",
        )
    for f in ("base_pay", "market_reference"):
        _too_much_money(allow, f"{dn}.{f}", getattr(dept, f), s)
    mr = dept.market_reference
    if mr is not None and mr > 0:
        base = float(dept.base_pay)
        ote = base * (1.0 + ti)
        if ote > PLAUSIBLE["ote_market"] * mr:
            if ti >= 1:
                field = f"{dn}.target_incentive"
                fix = (
                    f"a target incentive of {ti:g} is {_pct(ti)} of base pay: did you mean "
                    f"{ti:g}%? write {ti / 100:g}"
                )
            else:
                field = f"{dn}.base_pay"
                fix = (
                    f"check that base_pay and market_reference are both per person per {per}, "
                    f"in {cur}"
                )
            _guard(
                allow,
                field,
                f"on-target earnings of {_money(ote)} {cur} (base pay {_money(base)} x "
                f"(1 + target incentive {ti:g})) are {ote / mr:.3g}x the market reference of "
                f"{_money(mr)}, above the plausible {PLAUSIBLE['ote_market']:g}x; {fix}",
                also=(
                    f"{dn}.target_incentive",
                    f"{dn}.base_pay",
                    f"{dn}.market_reference",
                ),
            )
    if dept.roster is not None:
        for i, p in enumerate(dept.roster.people):
            if p.ability > PLAUSIBLE["ability"]:
                _guard(
                    allow,
                    f"{dn}.roster.{i}.ability",
                    f"the ability of roster row {i + 1} is {p.ability:g}; ability multiplies "
                    "a person's expected results (1 is typical, 1.2 is 20% above), so "
                    f"allowed: above 0 and at most {PLAUSIBLE['ability']:g}; if it is a "
                    f"percentage ({p.ability:g} for {p.ability:g}%), write {p.ability / 100:g}",
                )
            _too_much_money(allow, f"{dn}.roster.{i}.base", p.base, s)
    for path, m, v in _department_points(s, dn):
        metric = s.metrics.get(m)
        if metric is not None and metric.scale == "logit" and not 0.0 <= v <= 1.0:
            fix = (
                f"did you write {v:g} for {v:g}%? write {v / 100:g}"
                if 1.0 < v <= 100.0
                else "write it as a share between 0 and 1 (0.85 is 85%)"
            )
            _guard(
                allow,
                path,
                f"is {v:g}, but {m!r} is a share (scale = 'logit') whose points lie between "
                f"0 and 1, so this point is never reached; {fix}",
            )
    for cn, comp in dept.plan.components.items():
        metric = s.metrics.get(comp.metric)
        p = comp.payout
        if metric is None:
            continue
        if isinstance(p, RateTable) and _is_money(s, metric):
            for i, t in enumerate(p.tiers):
                if t.rate > PLAUSIBLE["money_rate"]:
                    _guard(
                        allow,
                        f"{dn}.curves.{cn}.tiers.{i}.rate",
                        f"a rate of {t.rate:g} on {comp.metric!r} (in {cur}) pays "
                        f"{_pct(t.rate)} of the money, {t.rate:g} {cur} per {cur}; did you "
                        f"mean {t.rate:g}%? write {t.rate / 100:g}",
                    )
        amount = getattr(p, "amount", None)
        if isinstance(amount, (int, float)):
            _too_much_money(allow, f"{dn}.curves.{cn}.amount", float(amount), s)


def _sd_scale(s: Any, m: str) -> tuple[float, str] | None:
    """The scale a forecast sd of metric ``m`` is judged against, with the rule, or
    ``None`` when the forecast does not say it (a company model sets the mean of a
    metric that is not a share). Only the forecast and the metric are read, so an edit
    of the forecast is judged as the file would be."""
    f = s.forecast.metrics[m]
    if f.mean is not None:
        return max(abs(float(f.mean)), 1.0), "max(|mean|, 1)"
    if s.metrics[m].scale == "logit":
        return 1.0, "1 logit, for a share whose mean the company model sets"
    return None


def guard_forecast(s: Any) -> None:
    """The forecast's values are plausible (:data:`PLAUSIBLE`): money below a trillion,
    sds at most 10x the metric's scale."""
    if s.forecast is None:
        return
    allow = _allowance(s)
    for m, f in s.forecast.metrics.items():
        metric = s.metrics[m]
        if _is_money(s, metric):
            for fld in ("mean", "sd", "individual_sd"):
                _too_much_money(allow, f"forecast.{m}.{fld}", getattr(f, fld), s)
        found = None
        for fld in ("sd", "individual_sd"):
            v = float(getattr(f, fld))
            if v <= PLAUSIBLE["sd_scale"]:
                continue  # below any scale's limit: no need to find the scale
            found = found or _sd_scale(s, m)
            if found is not None and v > PLAUSIBLE["sd_scale"] * found[0]:
                unit = "logits" if metric.scale == "logit" else repr(metric.unit)
                _guard(
                    allow,
                    f"forecast.{m}.{fld}",
                    f"is {v:g}, more than {PLAUSIBLE['sd_scale']:g}x the metric's scale of "
                    f"{found[0]:g} ({found[1]}): the forecast would be almost all "
                    f"noise; did you type extra zeros? An sd is one standard deviation, in "
                    f"{unit}",
                )


def _leaves(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The document keys of every number of a scenario's document (a coefficient, lever
    cost or team identification written as a table is one number: its value)."""
    if isinstance(node, dict):
        if sourced_at(prefix) and "value" in node:
            return [prefix]
        return [k for key, v in node.items() for k in _leaves(v, (*prefix, str(key)))]
    if isinstance(node, list):
        return [k for i, v in enumerate(node) for k in _leaves(v, (*prefix, str(i)))]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return [prefix]
    return []


def _known_paths(s: Any) -> set[str]:
    """The parameter paths of ``s`` that name one number (what
    :func:`compmodel.parameter_paths` lists but the derived ones, computed here from the
    document because :mod:`compmodel.paths` sits above this module), and the people of
    rosters read from a CSV, which that list leaves out."""
    doc = scenario_to_dict(s)
    doc.pop("format_version", None)
    out = {canonical_path(".".join(k)) for k in _leaves(doc, ())}
    out.update(f"{dn}.shared_share" for dn in s.departments)
    for dn, dept in s.departments.items():
        if dept.roster is not None and dept.roster.source is not None:
            for i in range(len(dept.roster)):
                out.update(f"{dn}.roster.{i}.{f}" for f in ("base", "quota", "ability"))
    return out


def check_allowed(s: Any) -> None:
    """Every path ``settings.allow_implausible`` lists is a parameter path of ``s``
    (an unknown one is named with the nearest)."""
    entries = getattr(s.settings, "allow_implausible", ())
    if not entries:
        return
    known = _known_paths(s)
    for e in entries:
        if canonical_path(e) in known:
            continue
        near = difflib.get_close_matches(canonical_path(e), sorted(known), n=1, cutoff=0.5)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ScenarioError(
            "settings.allow_implausible",
            f"{e!r} is not a parameter path of this scenario.{hint} List the allowed ones "
            "with compmodel.parameter_paths(scenario), e.g. 'sales.target_incentive'.",
        )
