"""The TOML document of a scenario: the objects as plain tables, lists and numbers.

:func:`scenario_to_dict` is what :func:`compmodel.save_scenario` writes, what
:meth:`Scenario.to_dict <compmodel.Scenario.to_dict>` returns and what an export's content
hash covers. It reads a scenario's attributes and builds nothing, so it sits below
:mod:`compmodel.scenario` (which calls it) and :mod:`compmodel.io` (which writes it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .plans import Clawback, Component, PayoutCurve, RateTable

__all__ = ["FORMAT_VERSION", "scenario_to_dict", "sourced_at"]

#: The version of the scenario format this compmodel reads and writes.
FORMAT_VERSION = 1


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


def sourced_at(keys: tuple[str, ...]) -> bool:
    """Whether the document location ``keys`` holds a number that may be written as a
    ``{value, unit, range, source}`` table (one number, its ``value``): a company
    coefficient, a lever's ``cost``, a department's ``team_identification``, the
    ``horizon`` or ``discount_rate`` setting."""
    n = len(keys)
    if n == 3 and keys[:2] == ("company", "coefficients"):
        return True
    if n == 2 and keys[0] == "settings" and keys[1] in ("horizon", "discount_rate"):
        return True
    if n == 5 and keys[:2] == ("company", "levers") and keys[4] == "cost":
        return True
    return n == 3 and keys[0] == "departments" and keys[2] == "team_identification"


def _sourced_dict(value: float, info: Any) -> Any:
    """``value`` as a plain number, or with ``info``'s unit, range, source and
    description (a :class:`~compmodel.Coefficient` or :class:`~compmodel.Provenance`)
    as a table, empty fields left out."""
    if info is None:
        return value
    out: dict[str, Any] = {"value": value}
    if info.unit:
        out["unit"] = info.unit
    if info.range is not None:
        out["range"] = list(info.range)
    if info.source:
        out["source"] = info.source
    if info.description:
        out["description"] = info.description
    return out


def _lever_dict(lv: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rest": lv.rest,
        "cost": _sourced_dict(lv.cost, lv.cost_provenance),
        "value": lv.value,
    }
    if lv.lower is not None:
        out["lower"] = lv.lower
    if lv.upper is not None:
        out["upper"] = lv.upper
    if lv.unit:
        out["unit"] = lv.unit
    if lv.description:
        out["description"] = lv.description
    return out


def _coef_dict(c: Any) -> Any:
    return _sourced_dict(c.value, None if c.plain else c)


def scenario_to_dict(s: Any, roster_dir: Path | None = None) -> dict[str, Any]:
    """The complete document of a :class:`~compmodel.Scenario` (company file merged in).

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
    hp = getattr(s.settings, "horizon_provenance", None)
    if s.settings.horizon != 5 or hp is not None:
        doc["settings"]["horizon"] = _sourced_dict(s.settings.horizon, hp)
    dp = getattr(s.settings, "discount_rate_provenance", None)
    if s.settings.discount_rate != 0.09 or dp is not None:
        doc["settings"]["discount_rate"] = _sourced_dict(s.settings.discount_rate, dp)
    if s.settings.certainty_equivalent != "cara":
        doc["settings"]["certainty_equivalent"] = s.settings.certainty_equivalent
    allow = getattr(s.settings, "allow_implausible", ())
    if allow:
        doc["settings"]["allow_implausible"] = list(allow)
    comp: dict[str, Any] = {"kind": s.company.kind}
    model = s.company.model
    if callable(model):  # a function passed in Python: written as the name to import
        model = f"{getattr(model, '__module__', '?')}:{getattr(model, '__qualname__', '?')}"
    if model is not None:
        comp["model"] = model
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
            "team_identification": _sourced_dict(
                dpt.team_identification, dpt.team_identification_provenance
            ),
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
