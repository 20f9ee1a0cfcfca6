"""Scenarios in and out: TOML documents, company files, roster CSVs, validation.

The TOML format is documented in ``docs/scenario-format.md``. Reading never evaluates
anything from the file; every key is checked against the format, and a misspelled key
is reported with the nearest allowed one. Saving writes a temporary file beside the
target and renames it over the target, so an interrupted save leaves the old file whole.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import math
import os
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import tomli_w

from .errors import PlanError, RosterError, ScenarioError
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
from .scenario import (
    Coefficient,
    Company,
    Department,
    Forecast,
    Lever,
    MeanModel,
    Metric,
    MetricForecast,
    Person,
    Roster,
    Scenario,
    Settings,
)

__all__ = [
    "load_roster",
    "load_scenario",
    "save_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "validate_scenario",
]

FORMAT_VERSION = 1

_TOP = {
    "format_version", "name", "description", "currency", "period", "company_file",
    "settings", "company", "metrics", "forecast", "departments", "bridges",
}  # fmt: skip
_SETTINGS = {"participation", "payroll_tax_rate", "turnover_sensitivity", "replacement_cost"}
_COMPANY = {"kind", "coefficients", "options", "levers", "means", "cost_cross", "model"}
_LEVER = {"rest", "cost", "value", "lower", "upper", "unit", "description"}
_MEAN = {"intercept", "loadings"}
_CROSS = {"levers", "value"}
COMPANY_KINDS = ("none", "linear", "declared", "manufacturer")
_COEF = {"value", "unit", "range", "source", "description"}
_METRIC = {"unit", "direction", "scope", "scale", "description"}
_FORECAST = {"mean", "sd", "individual_sd"}
_CORR = {"metrics", "rho"}
_DEPT = {
    "headcount", "base_pay", "target_incentive", "risk_aversion", "market_reference",
    "team_identification", "quota_metric", "quota", "roster", "description",
    "components", "modifier",
}  # fmt: skip
_CURVE = {
    "threshold", "target", "cap", "payout_at_threshold", "payout_at_cap", "floor",
    "step", "extra_points",
}  # fmt: skip
_RATE = {"target", "tiers", "mode", "basis"}
_LUMP = {"quota", "amount"}
_COMP_COMMON = {"metric", "kind", "weight", "gate", "description"}
_CLAW = {"share", "rate_of"}
_KINDS = {"curve": _CURVE, "rate_table": _RATE, "lump_sum": _LUMP, "clawback": _CLAW}
_GATE = {"metric", "threshold"}
_TIER = {"rate", "up_to"}
_PERSON = {"person", "base", "quota", "ability"}


# --------------------------------------------------------------------------------------
# small checkers
# --------------------------------------------------------------------------------------
def _keys(table: Any, allowed: set[str], where: str, required: tuple[str, ...] = ()) -> None:
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


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(where, f"must be a table, got {type(value).__name__} {value!r}")
    return dict(value)


def _num(
    value: Any,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    hint: str = "",
) -> float:
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


def _str(value: Any, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise ScenarioError(where, f"must be text, got {value!r}")
    if choices is not None and value not in choices:
        near = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ScenarioError(
            where, f"is {value!r}; allowed: {', '.join(repr(c) for c in choices)}.{hint}"
        )
    return value


def _name(value: Any, known: Mapping[str, Any], where: str, what: str) -> str:
    s = _str(value, where)
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


# --------------------------------------------------------------------------------------
# dict -> objects
# --------------------------------------------------------------------------------------
def _coefficient(value: Any, where: str) -> Coefficient:
    if isinstance(value, dict):
        _keys(value, _COEF, where, required=("value",))
        rng = value.get("range")
        rng_t: tuple[float, float] | None = None
        if rng is not None:
            if not isinstance(rng, list) or len(rng) != 2:
                raise ScenarioError(f"{where}.range", "must be [low, high]")
            lo = _num(rng[0], f"{where}.range")
            hi = _num(rng[1], f"{where}.range")
            if lo > hi:
                raise ScenarioError(f"{where}.range", f"low {lo:g} is above high {hi:g}")
            rng_t = (lo, hi)
        v = _num(value["value"], f"{where}.value")
        if rng_t is not None and not rng_t[0] <= v <= rng_t[1]:
            raise ScenarioError(
                f"{where}.value",
                f"is {v:g}, outside its stated range [{rng_t[0]:g}, {rng_t[1]:g}]; "
                "change the value or widen the range",
            )
        return Coefficient(
            value=v,
            unit=_str(value.get("unit", ""), f"{where}.unit"),
            range=rng_t,
            source=_str(value.get("source", ""), f"{where}.source"),
            description=_str(value.get("description", ""), f"{where}.description"),
        )
    return Coefficient(value=_num(value, where))


def _curve(t: dict[str, Any], where: str) -> PayoutCurve:
    _keys(t, _CURVE | _COMP_COMMON, where, required=("threshold", "target"))
    floor = t.get("floor", 0.0)
    if isinstance(floor, str):
        if floor != "extend":
            raise ScenarioError(f"{where}.floor", f"is {floor!r}; allowed: a number or 'extend'")
        floor_v: float | None = None
    else:
        floor_v = _num(floor, f"{where}.floor")
    extra = t.get("extra_points", [])
    if not isinstance(extra, list):
        raise ScenarioError(
            f"{where}.extra_points",
            f"must be a list of [metric value, payout] pairs, got {extra!r}",
        )
    for i, pt in enumerate(extra):
        if not isinstance(pt, list) or len(pt) != 2:
            raise ScenarioError(
                f"{where}.extra_points[{i}]",
                f"must be a [metric value, payout] pair, got {pt!r}",
            )
    step = t.get("step", False)
    if not isinstance(step, bool):
        raise ScenarioError(f"{where}.step", f"must be true or false, got {step!r}")
    try:
        return PayoutCurve(
            threshold=_num(t["threshold"], f"{where}.threshold"),
            target=_num(t["target"], f"{where}.target"),
            cap=None if "cap" not in t else _num(t["cap"], f"{where}.cap"),
            payout_at_threshold=_num(
                t.get("payout_at_threshold", 0.0), f"{where}.payout_at_threshold"
            ),
            payout_at_cap=None
            if "payout_at_cap" not in t
            else _num(t["payout_at_cap"], f"{where}.payout_at_cap"),
            floor=floor_v,
            step=step,
            extra_points=tuple(tuple(p) for p in extra),
        )
    except PlanError as e:
        raise e.at(where) from None


def _component(t: Any, where: str, metrics: Mapping[str, Metric]) -> Component:
    if not isinstance(t, dict):
        raise ScenarioError(where, "must be a table")
    kind = _str(t.get("kind", "curve"), f"{where}.kind", tuple(_KINDS))
    _keys(t, _KINDS[kind] | _COMP_COMMON, where, required=("metric",))
    metric = _name(t["metric"], metrics, f"{where}.metric", "metric")
    payout: PayoutCurve | RateTable | LumpSum | Clawback
    try:
        if kind == "curve":
            payout = _curve({k: v for k, v in t.items() if k not in _COMP_COMMON}, where)
        elif kind == "rate_table":
            _keys(t, _RATE | _COMP_COMMON, where, required=("target", "tiers"))
            tiers_raw = t["tiers"]
            if not isinstance(tiers_raw, list):
                raise ScenarioError(f"{where}.tiers", "must be a list of {up_to, rate} tables")
            tiers = []
            for i, tr in enumerate(tiers_raw):
                _keys(tr, _TIER, f"{where}.tiers[{i}]", required=("rate",))
                tiers.append(
                    Tier(
                        rate=_num(tr["rate"], f"{where}.tiers[{i}].rate"),
                        up_to=None
                        if "up_to" not in tr
                        else _num(tr["up_to"], f"{where}.tiers[{i}].up_to"),
                    )
                )
            payout = RateTable(
                target=_num(t["target"], f"{where}.target"),
                tiers=tuple(tiers),
                mode=_str(t.get("mode", "marginal"), f"{where}.mode", ("marginal", "retroactive")),  # type: ignore[arg-type]
                basis=_str(
                    t.get("basis", "attainment"), f"{where}.basis", ("attainment", "metric")
                ),  # type: ignore[arg-type]
            )
        elif kind == "clawback":
            _keys(t, _CLAW | _COMP_COMMON, where, required=("share",))
            payout = Clawback(
                share=_num(t["share"], f"{where}.share"),
                rate_of=None if "rate_of" not in t else _str(t["rate_of"], f"{where}.rate_of"),
            )
        else:
            _keys(t, _LUMP | _COMP_COMMON, where, required=("quota",))
            payout = LumpSum(
                quota=_num(t["quota"], f"{where}.quota"),
                amount=None if "amount" not in t else _num(t["amount"], f"{where}.amount"),
            )
        gate = None
        if "gate" in t:
            g = t["gate"]
            _keys(g, _GATE, f"{where}.gate", required=("metric", "threshold"))
            gate = Gate(
                metric=_name(g["metric"], metrics, f"{where}.gate.metric", "metric"),
                threshold=_num(g["threshold"], f"{where}.gate.threshold"),
            )
        weight = None if "weight" not in t else _num(t["weight"], f"{where}.weight")
        return Component(
            metric=metric,
            payout=payout,
            weight=weight,
            gate=gate,
            description=_str(t.get("description", ""), f"{where}.description"),
        )
    except PlanError as e:
        if e.field.startswith(where):
            raise
        raise e.at(where) from None


def _plan(d: dict[str, Any], where: str, metrics: Mapping[str, Metric]) -> Plan:
    comps_raw = d.get("components", {})
    if not isinstance(comps_raw, dict):
        raise ScenarioError(f"{where}.components", "must be a table of named components")
    comps = {n: _component(c, f"{where}.components.{n}", metrics) for n, c in comps_raw.items()}
    modifier = None
    if "modifier" in d:
        m = d["modifier"]
        _keys(m, _CURVE | {"metric"}, f"{where}.modifier", required=("metric",))
        modifier = Modifier(
            metric=_name(m["metric"], metrics, f"{where}.modifier.metric", "metric"),
            curve=_curve({k: v for k, v in m.items() if k != "metric"}, f"{where}.modifier"),
        )
    try:
        return Plan(components=comps, modifier=modifier)
    except PlanError as e:
        raise e.at(where) from None


def _department(
    d: Any, where: str, metrics: Mapping[str, Metric], base_dir: Path | None
) -> Department:
    _keys(d, _DEPT, where, required=("base_pay",))
    roster = None
    if "roster" in d:
        r = d["roster"]
        if isinstance(r, str):
            path = Path(r)
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            roster = load_roster(path)
        elif isinstance(r, list):
            for i, row in enumerate(r):
                if not isinstance(row, dict):
                    raise RosterError(
                        f"{where}.roster[{i}]",
                        f"must be a table like {{person = 'ann', base = 70000}}, got {row!r}",
                    )
            roster = _roster_rows([dict(row) for row in r], f"{where}.roster", None)
        else:
            raise ScenarioError(
                f"{where}.roster", "must be a CSV path or a list of {person, base, ...} tables"
            )
    headcount_raw = d.get("headcount", len(roster) if roster is not None else None)
    if headcount_raw is None:
        raise ScenarioError(f"{where}.headcount", "is required (or give a roster)")
    hc = _num(headcount_raw, f"{where}.headcount", low=0)
    if not hc.is_integer():
        raise ScenarioError(f"{where}.headcount", f"is {hc:g}; it must be a whole number")
    quota_metric = None
    if "quota_metric" in d:
        quota_metric = _name(d["quota_metric"], metrics, f"{where}.quota_metric", "metric")
    return Department(
        headcount=int(hc),
        base_pay=_num(d["base_pay"], f"{where}.base_pay", low=0),
        target_incentive=_num(
            d.get("target_incentive", 0.0),
            f"{where}.target_incentive",
            low=0,
            high=10,
            hint=" (a share of base pay: 0.25 is 25%)",
        ),
        plan=_plan(d, where, metrics),
        risk_aversion=_num(d.get("risk_aversion", 0.0), f"{where}.risk_aversion", low=0),
        market_reference=None
        if "market_reference" not in d
        else _num(d["market_reference"], f"{where}.market_reference", low=0),
        team_identification=_num(
            d.get("team_identification", 0.0), f"{where}.team_identification", low=0, high=1
        ),
        quota_metric=quota_metric,
        quota=None
        if "quota" not in d
        else _num(d["quota"], f"{where}.quota", low=0, low_open=True),
        roster=roster,
        description=_str(d.get("description", ""), f"{where}.description"),
    )


def _pairs(
    raw: Any,
    where: str,
    key: str,
    allowed: set[str],
    required: tuple[str, ...],
    known: Mapping[str, Any],
    what: str,
) -> list[tuple[str, dict[str, Any], tuple[str, str]]]:
    """Validate a list of tables that each name two different known things under ``key``."""
    if not isinstance(raw, list):
        raise ScenarioError(where, f"must be a list of {{{key}, {', '.join(required)}}} tables")
    out = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        _keys(item, allowed, w, required=(key, *required))
        pair = item[key]
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
            raise ScenarioError(f"{w}.{key}", f"must name two different {what}s")
        a = _name(pair[0], known, f"{w}.{key}", what)
        b = _name(pair[1], known, f"{w}.{key}", what)
        out.append((w, item, (a, b)))
    return out


def _opt_num(t: dict[str, Any], key: str, where: str) -> float | None:
    return None if key not in t else _num(t[key], f"{where}.{key}")


_COMPANIES: dict[str, Company] = {}  # parsed company sections (immutable), by their text


def _company(c_raw: dict[str, Any], coefs_raw: dict[str, Any]) -> Company:
    kind = _str(c_raw.get("kind", "none"), "company.kind", COMPANY_KINDS)
    levers: dict[str, dict[str, Lever]] = {}
    for dn, table in _table(c_raw.get("levers", {}), "company.levers").items():
        levers[dn] = {}
        for ln, lv in _table(table, f"company.levers.{dn}").items():
            w = f"company.levers.{dn}.{ln}"
            _keys(lv, _LEVER, w)
            lo, hi = _opt_num(lv, "lower", w), _opt_num(lv, "upper", w)
            if lo is not None and hi is not None and lo > hi:
                raise ScenarioError(f"{w}.upper", f"is {hi:g}, below lower {lo:g}")
            rest = _num(lv.get("rest", 0.0), f"{w}.rest")
            if (lo is not None and rest < lo) or (hi is not None and rest > hi):
                raise ScenarioError(
                    f"{w}.rest",
                    f"is {rest:g}, outside the lever's bounds [{'-inf' if lo is None else lo}, "
                    f"{'inf' if hi is None else hi}]; move it inside or widen the bounds",
                )
            levers[dn][ln] = Lever(
                rest=rest,
                cost=_num(
                    lv.get("cost", 1.0),
                    f"{w}.cost",
                    low=0,
                    low_open=True,
                    hint=" (currency per unit squared; effort must cost something)",
                ),
                value=_num(lv.get("value", 0.0), f"{w}.value"),
                lower=lo,
                upper=hi,
                unit=_str(lv.get("unit", ""), f"{w}.unit"),
                description=_str(lv.get("description", ""), f"{w}.description"),
            )
    known = {f"{d}.{ln}" for d, ls in levers.items() for ln in ls}
    means: dict[str, MeanModel] = {}
    for mn, mt in _table(c_raw.get("means", {}), "company.means").items():
        w = f"company.means.{mn}"
        _keys(mt, _MEAN, w)
        loads = {}
        for ref, v in _table(mt.get("loadings", {}), f"{w}.loadings").items():
            _name(ref, {k: None for k in known}, f"{w}.loadings.{ref}", "lever")
            loads[ref] = _num(v, f"{w}.loadings.{ref}")
        means[mn] = MeanModel(
            intercept=_num(mt.get("intercept", 0.0), f"{w}.intercept"), loadings=loads
        )
    cross = []
    lever_names = {k: None for k in known}
    for w, item, (a, b) in _pairs(
        c_raw.get("cost_cross", []), "company.cost_cross", "levers", _CROSS, ("value",),
        lever_names, "lever",
    ):  # fmt: skip
        if a.split(".")[0] != b.split(".")[0]:
            raise ScenarioError(f"{w}.levers", "cross costs link levers of one department")
        cross.append(((a, b), _num(item["value"], f"{w}.value")))
    model = None
    if "model" in c_raw:
        model = _str(c_raw["model"], "company.model")
        if ":" not in model:
            raise ScenarioError(
                "company.model", f"is {model!r}; write it as 'package.module:function'"
            )
    if model is not None and kind != "declared":
        raise ScenarioError(
            "company.model",
            f"is set but company.kind is {kind!r}; a model function is used only with "
            "kind = 'declared'. Set the kind, or remove `model`.",
        )
    if kind == "declared" and model is None:
        raise ScenarioError(
            "company.model", "kind = 'declared' needs model = 'package.module:function'"
        )
    return Company(
        kind=kind,
        coefficients={
            n: _coefficient(v, f"company.coefficients.{n}") for n, v in coefs_raw.items()
        },
        levers=levers,
        means=means,
        cost_cross=tuple(cross),
        model=model,
        options=_table(c_raw.get("options", {}), "company.options"),
    )


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; lists, values and ``components`` tables replace."""
    out = dict(base)
    for k, v in over.items():
        if k in out and isinstance(out[k], dict) and isinstance(v, dict) and k != "components":
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(str(path), "file not found; check the path") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(str(path), f"is not valid TOML: {e}") from None


def scenario_from_dict(
    doc: Mapping[str, Any],
    *,
    base_dir: Path | str | None = None,
    company_file: Path | None = None,
) -> Scenario:
    """Build and validate a scenario from a TOML-like dict.

    Parameters
    ----------
    doc
        The document. If it has ``company_file``, that file (relative to ``base_dir``)
        is read and ``doc`` is merged over it.
    base_dir
        Directory relative paths (company file, rosters) are resolved against.
    company_file
        Keep this company file reference (``doc`` is then already complete).
    """
    base = Path(base_dir) if base_dir is not None else None
    d = dict(doc)
    if "company_file" in d:
        ref = _str(d.pop("company_file"), "company_file")
        cpath = Path(ref)
        if not cpath.is_absolute():
            cpath = (base or Path.cwd()) / cpath
        company_doc = _read_toml(cpath)
        for dept in (company_doc.get("departments") or {}).values():
            if isinstance(dept, dict) and isinstance(dept.get("roster"), str):
                rp = Path(dept["roster"])
                if not rp.is_absolute():
                    dept["roster"] = str((cpath.parent / rp).resolve())
        if "company_file" in company_doc:
            raise ScenarioError("company_file", "a company file may not reference another one")
        d = _deep_merge(company_doc, d)
        company_file = cpath.resolve()
    _keys(d, _TOP, "")
    if "format_version" in d and d["format_version"] != FORMAT_VERSION:
        raise ScenarioError(
            "format_version",
            f"is {d['format_version']!r}; this version of compmodel reads {FORMAT_VERSION}",
        )
    # metrics
    metrics_raw = d.get("metrics", {})
    _keys(metrics_raw, set(metrics_raw) if isinstance(metrics_raw, dict) else set(), "metrics")
    metrics: dict[str, Metric] = {}
    for n, m in metrics_raw.items():
        w = f"metrics.{n}"
        _keys(m, _METRIC, w, required=("unit",))
        metrics[n] = Metric(
            unit=_str(m["unit"], f"{w}.unit"),
            direction=_str(m.get("direction", "higher"), f"{w}.direction", ("higher", "lower")),  # type: ignore[arg-type]
            scope=_str(
                m.get("scope", "department"), f"{w}.scope", ("individual", "department", "company")
            ),  # type: ignore[arg-type]
            scale=_str(m.get("scale", "normal"), f"{w}.scale", ("normal", "logit")),  # type: ignore[arg-type]
            description=_str(m.get("description", ""), f"{w}.description"),
        )
    # forecast
    forecast = None
    if "forecast" in d:
        f_raw = _table(d["forecast"], "forecast")
        corr_raw = f_raw.pop("correlations", [])
        fm: dict[str, MetricForecast] = {}
        for n, f in f_raw.items():
            w = f"forecast.{n}"
            _name(n, metrics, w, "metric")
            _keys(f, _FORECAST, w, required=("sd",))
            fm[n] = MetricForecast(
                mean=None if "mean" not in f else _num(f["mean"], f"{w}.mean"),
                sd=_num(f["sd"], f"{w}.sd", low=0),
                individual_sd=_num(f.get("individual_sd", 0.0), f"{w}.individual_sd", low=0),
            )
        corr: dict[tuple[str, str], float] = {}
        for w, c, (a, b) in _pairs(
            corr_raw, "forecast.correlations", "metrics", _CORR, ("rho",), fm, "forecast metric"
        ):
            corr[(a, b)] = _num(c["rho"], f"{w}.rho", low=-1, high=1)
        forecast = Forecast(metrics=fm, correlations=corr)
    # company
    c_raw = d.get("company", {})
    _keys(c_raw, _COMPANY, "company")
    coefs_raw = c_raw.get("coefficients", {})
    if not isinstance(coefs_raw, dict):
        raise ScenarioError("company.coefficients", "must be a table")
    key = repr(c_raw)  # the company section as written (floats repr exactly)
    company = _COMPANIES.get(key)
    if company is None:  # a sweep over plan settings re-reads the same company
        company = _company(c_raw, coefs_raw)
        if len(_COMPANIES) >= 32:
            _COMPANIES.pop(next(iter(_COMPANIES)))
        _COMPANIES[key] = company
    s_raw = d.get("settings", {})
    _keys(s_raw, _SETTINGS, "settings")
    settings = Settings(
        participation=_str(
            s_raw.get("participation", "binding"),
            "settings.participation",
            ("binding", "fixed_base"),
        ),  # type: ignore[arg-type]
        payroll_tax_rate=_num(
            s_raw.get("payroll_tax_rate", 0.0), "settings.payroll_tax_rate", low=0, high=1
        ),
        turnover_sensitivity=_num(
            s_raw.get("turnover_sensitivity", 0.0), "settings.turnover_sensitivity", low=0
        ),
        replacement_cost=_num(
            s_raw.get("replacement_cost", 0.5),
            "settings.replacement_cost",
            low=0,
            hint=" (a share of base pay per leaver)",
        ),
    )
    depts_raw = d.get("departments", {})
    if not isinstance(depts_raw, dict) or not depts_raw:
        raise ScenarioError(
            "departments", "at least one department is required, e.g. [departments.sales]"
        )
    departments = {
        n: _department(v, f"departments.{n}", metrics, base) for n, v in depts_raw.items()
    }
    bridges = {
        n: _num(v, f"bridges.{n}", low=0, hint=" (a bridge's setting: 0 turns it off)")
        for n, v in _table(d.get("bridges", {}), "bridges").items()
    }
    return Scenario(
        name=_str(d.get("name", "unnamed"), "name"),
        bridges=bridges,
        description=_str(d.get("description", ""), "description"),
        currency=_str(d.get("currency", "USD"), "currency"),
        period=_str(d.get("period", "year"), "period"),
        metrics=metrics,
        departments=departments,
        forecast=forecast,
        company=company,
        settings=settings,
        company_file=company_file,
        base_dir=base,
    )


# --------------------------------------------------------------------------------------
# cross-field validation
# --------------------------------------------------------------------------------------
def _check_cost_matrices(s: Scenario) -> None:
    """Each department's effort-cost matrix must be positive definite."""
    for dn, levers in s.company.levers.items():
        names = [f"{dn}.{ln}" for ln in levers]
        pos = {n: i for i, n in enumerate(names)}
        cmat = np.diag([lv.cost for lv in levers.values()]).astype(float)
        for (a, b), v in s.company.cost_cross:
            if a in pos and b in pos:
                cmat[pos[a], pos[b]] += v
                cmat[pos[b], pos[a]] += v
        if cmat.size and float(np.linalg.eigvalsh(cmat).min()) <= 0:
            raise ScenarioError(
                f"company.levers.{dn}",
                "the effort-cost matrix is not positive definite: the cross costs are too "
                "large against the levers' own costs (for two levers |value| must be below "
                "sqrt(cost_a * cost_b)); lower the cost_cross values or raise the costs",
            )


def validate_scenario(s: Scenario) -> None:
    """Check what a single field cannot: names, directions, units, coverage."""
    _num(s.settings.payroll_tax_rate, "settings.payroll_tax_rate", low=0, high=1)
    for dn in s.company.levers:
        _name(dn, s.departments, f"company.levers.{dn}", "department")
    _check_cost_matrices(s)
    for mn in s.company.means:
        _name(mn, s.metrics, f"company.means.{mn}", "metric")
    if s.company.kind == "none" and s.forecast is not None:
        for mn, f in s.forecast.metrics.items():
            if f.mean is None:
                raise ScenarioError(
                    f"forecast.{mn}.mean",
                    "is required when there is no company model (company.kind = 'none'); "
                    "give the metric's expected value",
                )
    for cn, coef in s.company.coefficients.items():
        cw = f"company.coefficients.{cn}"
        v = _num(coef.value, f"{cw}.value")
        if coef.range is not None and not coef.range[0] <= v <= coef.range[1]:
            raise ScenarioError(
                f"{cw}.value",
                f"is {v:g}, outside its stated range [{coef.range[0]:g}, {coef.range[1]:g}]; "
                "change the value or widen the range",
            )
    for dn, dept in s.departments.items():
        w = f"departments.{dn}"
        hc = _num(dept.headcount, f"{w}.headcount", low=0)
        if not float(hc).is_integer():
            raise ScenarioError(f"{w}.headcount", f"is {hc:g}; it must be a whole number")
        _num(dept.base_pay, f"{w}.base_pay", low=0)
        _num(dept.target_incentive, f"{w}.target_incentive", low=0, high=10)
        _num(dept.risk_aversion, f"{w}.risk_aversion", low=0)
        _num(dept.team_identification, f"{w}.team_identification", low=0, high=1)
        if dept.market_reference is not None:
            _num(dept.market_reference, f"{w}.market_reference", low=0)
        if dept.quota is not None:
            _num(dept.quota, f"{w}.quota", low=0, low_open=True)
        if dept.roster is not None and dept.roster.source is None:
            _roster_rows(
                [
                    {"person": p.person, "base": p.base, "quota": p.quota, "ability": p.ability}
                    for p in dept.roster.people
                ],
                f"{w}.roster",
                None,
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
            _name(comp.metric, s.metrics, f"{cw}.metric", "metric")
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
                    f"a rate table pays on volume, but {comp.metric!r} is lower-is-better; "
                    "use a curve",
                )
            if metric.scale == "logit":
                if isinstance(p, RateTable):
                    raise ScenarioError(
                        f"{cw}.kind", f"a rate table cannot pay on the share {comp.metric!r}"
                    )
            used.append((f"{cw}.metric", comp.metric))
            if comp.gate is not None:
                _name(comp.gate.metric, s.metrics, f"{cw}.gate.metric", "metric")
                used.append((f"{cw}.gate.metric", comp.gate.metric))
        if dept.plan.modifier is not None:
            mod = dept.plan.modifier
            _name(mod.metric, s.metrics, f"{w}.modifier.metric", "metric")
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
    if s.forecast is not None:
        for m, f in s.forecast.metrics.items():
            _name(m, s.metrics, f"forecast.{m}", "metric")
            if f.mean is not None:
                _num(f.mean, f"forecast.{m}.mean")
            _num(f.sd, f"forecast.{m}.sd", low=0)
            _num(f.individual_sd, f"forecast.{m}.individual_sd", low=0)
            if f.individual_sd > 0 and s.metrics[m].scope != "individual":
                raise ScenarioError(
                    f"forecast.{m}.individual_sd",
                    f"only individual-scope metrics have per-person noise; {m!r} is "
                    f"{s.metrics[m].scope}-scope",
                )
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


# --------------------------------------------------------------------------------------
# objects -> dict
# --------------------------------------------------------------------------------------
def _curve_dict(c: PayoutCurve) -> dict[str, Any]:
    out: dict[str, Any] = {"threshold": c.threshold, "target": c.target}
    if c.cap is not None:
        out["cap"] = c.cap
    if c.payout_at_threshold != 0.0:
        out["payout_at_threshold"] = c.payout_at_threshold
    if c.payout_at_cap is not None:
        out["payout_at_cap"] = c.payout_at_cap
    if c.floor is None:
        out["floor"] = "extend"
    elif c.floor != 0.0:
        out["floor"] = c.floor
    if c.step:
        out["step"] = True
    if c.extra_points:
        out["extra_points"] = [list(p) for p in c.extra_points]
    return out


def _component_dict(c: Component) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": c.metric}
    p = c.payout
    if isinstance(p, PayoutCurve):
        if c.weight is not None:
            out["weight"] = c.weight
        out.update(_curve_dict(p))
    elif isinstance(p, RateTable):
        out["kind"] = "rate_table"
        out["target"] = p.target
        out["mode"] = p.mode
        out["basis"] = p.basis
        out["tiers"] = [
            {"rate": t.rate, **({"up_to": t.up_to} if t.up_to is not None else {})} for t in p.tiers
        ]
    elif isinstance(p, Clawback):
        out["kind"] = "clawback"
        out["share"] = p.share
        if p.rate_of is not None:
            out["rate_of"] = p.rate_of
    else:
        out["kind"] = "lump_sum"
        if c.weight is not None:
            out["weight"] = c.weight
        out["quota"] = p.quota
        if p.amount is not None:
            out["amount"] = p.amount
    if c.gate is not None:
        out["gate"] = {"metric": c.gate.metric, "threshold": c.gate.threshold}
    if c.description:
        out["description"] = c.description
    return out


def _lever_dict(lv: Lever) -> dict[str, Any]:
    out: dict[str, Any] = {"rest": lv.rest, "cost": lv.cost, "value": lv.value}
    if lv.lower is not None:
        out["lower"] = lv.lower
    if lv.upper is not None:
        out["upper"] = lv.upper
    if lv.unit:
        out["unit"] = lv.unit
    if lv.description:
        out["description"] = lv.description
    return out


def _coef_dict(c: Coefficient) -> Any:
    if c.plain:
        return c.value
    out: dict[str, Any] = {"value": c.value}
    if c.unit:
        out["unit"] = c.unit
    if c.range is not None:
        out["range"] = list(c.range)
    if c.source:
        out["source"] = c.source
    if c.description:
        out["description"] = c.description
    return out


def scenario_to_dict(s: Scenario, roster_dir: Path | None = None) -> dict[str, Any]:
    """The complete document of a scenario (company file merged in).

    Rosters read from a CSV are written as the CSV's path, relative to ``roster_dir``
    when given (else absolute); rosters built in Python are written inline.
    """
    doc: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": s.name}
    if s.description:
        doc["description"] = s.description
    doc["currency"] = s.currency
    doc["period"] = s.period
    doc["settings"] = {
        "participation": s.settings.participation,
        "payroll_tax_rate": s.settings.payroll_tax_rate,
        "turnover_sensitivity": s.settings.turnover_sensitivity,
        "replacement_cost": s.settings.replacement_cost,
    }
    comp: dict[str, Any] = {"kind": s.company.kind}
    if s.company.model is not None:
        comp["model"] = s.company.model
    if s.company.coefficients:
        comp["coefficients"] = {n: _coef_dict(c) for n, c in s.company.coefficients.items()}
    if s.company.levers:
        comp["levers"] = {
            d: {n: _lever_dict(lv) for n, lv in ls.items()} for d, ls in s.company.levers.items()
        }
    if s.company.means:
        comp["means"] = {
            m: {"intercept": mm.intercept, "loadings": dict(mm.loadings)}
            for m, mm in s.company.means.items()
        }
    if s.company.cost_cross:
        comp["cost_cross"] = [{"levers": list(p), "value": v} for p, v in s.company.cost_cross]
    if s.company.options:
        comp["options"] = dict(s.company.options)
    doc["company"] = comp
    doc["metrics"] = {}
    for n, m in s.metrics.items():
        md: dict[str, Any] = {
            "unit": m.unit,
            "direction": m.direction,
            "scope": m.scope,
            "scale": m.scale,
        }
        if m.description:
            md["description"] = m.description
        doc["metrics"][n] = md
    if s.forecast is not None:
        fd: dict[str, Any] = {}
        for n, f in s.forecast.metrics.items():
            fd[n] = {"sd": f.sd} if f.mean is None else {"mean": f.mean, "sd": f.sd}
            if f.individual_sd:
                fd[n]["individual_sd"] = f.individual_sd
        if s.forecast.correlations:
            fd["correlations"] = [
                {"metrics": [a, b], "rho": r} for (a, b), r in s.forecast.correlations.items()
            ]
        doc["forecast"] = fd
    depts: dict[str, Any] = {}
    for n, dpt in s.departments.items():
        dd: dict[str, Any] = {
            "headcount": dpt.headcount,
            "base_pay": dpt.base_pay,
            "target_incentive": dpt.target_incentive,
            "risk_aversion": dpt.risk_aversion,
            "team_identification": dpt.team_identification,
        }
        if dpt.description:
            dd["description"] = dpt.description
        if dpt.market_reference is not None:
            dd["market_reference"] = dpt.market_reference
        if dpt.quota_metric is not None:
            dd["quota_metric"] = dpt.quota_metric
        if dpt.quota is not None:
            dd["quota"] = dpt.quota
        if dpt.roster is not None:
            if dpt.roster.source is not None:
                src = dpt.roster.source
                dd["roster"] = (
                    os.path.relpath(src, roster_dir) if roster_dir is not None else str(src)
                )
            else:
                dd["roster"] = [
                    {
                        "person": p.person,
                        "base": p.base,
                        **({"quota": p.quota} if p.quota is not None else {}),
                        "ability": p.ability,
                    }
                    for p in dpt.roster.people
                ]
        dd["components"] = {cn: _component_dict(c) for cn, c in dpt.plan.components.items()}
        if dpt.plan.modifier is not None:
            dd["modifier"] = {
                "metric": dpt.plan.modifier.metric,
                **_curve_dict(dpt.plan.modifier.curve),
            }
        depts[n] = dd
    doc["departments"] = depts
    if s.bridges:
        doc["bridges"] = dict(s.bridges)
    return doc


_NO_DEFAULT = object()


def _default_at(where: tuple[str, ...]) -> Any:
    """The value the reader assumes when the key at ``where`` is absent."""
    top = {"currency": "USD", "period": "year"}
    if len(where) == 1:
        return top.get(where[0], _NO_DEFAULT)
    table, key = where[0], where[-1]
    if table == "settings" and len(where) == 2:
        return {
            "participation": "binding",
            "payroll_tax_rate": 0.0,
            "turnover_sensitivity": 0.0,
            "replacement_cost": 0.5,
        }.get(key, _NO_DEFAULT)
    if table == "company" and where == ("company", "kind"):
        return "none"
    if table == "metrics" and len(where) == 3:
        return {"direction": "higher", "scope": "department", "scale": "normal"}.get(
            key, _NO_DEFAULT
        )
    if table == "departments" and len(where) == 3:
        return {"risk_aversion": 0.0, "team_identification": 0.0, "target_incentive": 0.0}.get(
            key, _NO_DEFAULT
        )
    return _NO_DEFAULT


def _layer(
    full: dict[str, Any], base: dict[str, Any], where: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What ``full`` adds to or changes in ``base`` (inverse of :func:`_deep_merge`)."""
    out: dict[str, Any] = {}
    for k, v in full.items():
        if k not in base:
            if _default_at((*where, k)) != v:
                out[k] = v
        elif isinstance(v, dict) and isinstance(base[k], dict) and k != "components":
            sub = _layer(v, base[k], (*where, k))
            if sub:
                out[k] = sub
        elif v != base[k]:
            out[k] = v
    return out


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------
def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario TOML file.

    Relative paths inside it (``company_file``, rosters) are resolved against the
    file's directory.

    Raises
    ------
    ScenarioError
        With the location of the offending key, what is allowed and what to try.
    """
    p = Path(path)
    doc = _read_toml(p)
    return scenario_from_dict(doc, base_dir=p.parent.resolve())


def save_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write ``scenario`` to ``path`` as TOML, atomically.

    The document is written to a temporary file in the same directory, flushed to disk
    and renamed over ``path``: a crash or an error leaves the old file as it was.
    A company-file reference and roster CSV paths are kept, rewritten relative to the
    new location; only what differs from the company file is written.
    """
    target = Path(path).resolve()
    directory = target.parent
    doc = scenario_to_dict(scenario, roster_dir=directory)
    if scenario.company_file is not None:
        base = _read_toml(scenario.company_file)
        layered = {
            "format_version": FORMAT_VERSION,
            "company_file": os.path.relpath(scenario.company_file, directory),
            **{k: v for k, v in _layer(doc, base).items() if k != "format_version"},
        }
        if scenario_from_dict(layered, base_dir=directory) != scenario:
            raise ScenarioError(
                "company_file",
                "this scenario removes a value that its company file sets, which a "
                "scenario file cannot express; set the value explicitly instead of "
                "removing it, or save a copy without the company file "
                "(dataclasses.replace(scenario, company_file=None))",
            )
        doc = layered
    _write_atomically(target, tomli_w.dumps(doc))
    return target


@contextlib.contextmanager
def _atomic_write(target: Path) -> Iterator[BinaryIO]:
    """An open binary file that replaces ``target`` whole when the block succeeds.

    The file is a temporary file beside ``target`` (same directory, so the rename is
    atomic), given the old file's permissions (else the umask's). When the block ends
    normally the data is flushed to disk and the file renamed over ``target``; when it
    raises (including ``KeyboardInterrupt``) the temporary file is removed and
    ``target`` is left as it was. Writers that take a path or a file object (openpyxl,
    python-pptx, altair) write into the yielded file.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        # mkstemp makes the file owner-only: keep the old file's mode, else the umask's
        if target.exists():
            mode = target.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        try:
            fh = os.fdopen(fd, "wb")
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_atomically(target: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``target`` through :func:`_atomic_write`."""
    with _atomic_write(target) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


# --------------------------------------------------------------------------------------
# rosters
# --------------------------------------------------------------------------------------
def _roster_rows(rows: list[dict[str, Any]], where: str, source: Path | None) -> Roster:
    people: list[Person] = []
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
        name = str(row["person"]).strip()
        if name in seen:
            raise RosterError(
                rw,
                f"person {name!r} appears twice (rows {seen[name]} and {i}); each person "
                "must appear once",
            )
        seen[name] = i

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
        people.append(
            Person(
                person=name,
                base=base,
                quota=num("quota", True, None),
                ability=num("ability", True, 1.0) or 1.0,
            )
        )
    if not people:
        raise RosterError(where, "has no people")
    return Roster(people=tuple(people), source=source)


def load_roster(path: str | os.PathLike[str]) -> Roster:
    """Read a roster CSV with columns ``person, base`` and optional ``quota, ability``.

    ``base`` is base pay (currency per period), ``quota`` the person's quota in the
    department's quota-metric unit, ``ability`` a multiplier on the person's expected
    results on individual metrics (1 = typical).
    """
    p = Path(path)
    try:
        stat = p.stat()
        key = (str(p.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None  # reading it below says what is wrong
    if key is not None and key in _ROSTERS:
        return _ROSTERS[key]  # rosters are immutable: a sweep re-reads the same file
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            cols = reader.fieldnames or []
            missing = [c for c in ("person", "base") if c not in cols]
            if missing:
                raise RosterError(
                    str(p),
                    f"missing column(s) {', '.join(missing)}; found {', '.join(cols) or '(none)'}. "
                    "A roster needs person, base and may have quota, ability.",
                )
            rows = [dict(r) for r in reader]
    except FileNotFoundError:
        raise RosterError(str(p), "roster file not found; check the path") from None
    except UnicodeDecodeError as e:
        raise RosterError(
            str(p),
            f"is not UTF-8 text (byte {e.object[e.start]:#x} at position {e.start}); "
            "save it as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8)",
        ) from None
    roster = _roster_rows(rows, str(p), p.resolve())
    if key is not None:
        if len(_ROSTERS) >= 64:
            _ROSTERS.pop(next(iter(_ROSTERS)))
        _ROSTERS[key] = roster
    return roster


# rosters read, by (resolved path, modification time in ns, size): a changed file is read again
_ROSTERS: dict[tuple[str, int, int], Roster] = {}
