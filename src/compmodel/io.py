"""Scenarios in and out: TOML documents, company files and roster CSVs, read and written.

The TOML format is documented in ``docs/scenario-format.md``. Reading never evaluates
anything from the file; every key is checked against the format, and a misspelled key
is reported with the nearest allowed one; every value goes through the rules of
:mod:`compmodel.validate`, the same ones a scenario built in Python or edited by
parameter path meets. Writing takes the document :mod:`compmodel.document` makes: a
temporary file beside the target is renamed over the target, so an interrupted save
leaves the old file whole.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import errno
import io
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import tomli_w

from . import caches, kinds, validate
from .document import FORMAT_VERSION, scenario_to_dict
from .errors import CompmodelError, PlanError, RosterError, ScenarioError, given
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
    Provenance,
    Roster,
    Scenario,
    Settings,
)
from .validate import keys as _keys
from .validate import name as _name
from .validate import number as _num
from .validate import text as _str

__all__ = [
    "load_roster",
    "load_scenario",
    "save_scenario",
    "scenario_folder",
    "scenario_from_dict",
    "scenario_to_dict",
]

_TOP = {
    "format_version", "name", "description", "currency", "period", "company_file",
    "settings", "company", "metrics", "forecast", "departments", "bridges",
}  # fmt: skip
_SETTINGS = {
    "participation", "payroll_tax_rate", "turnover_sensitivity", "replacement_cost",
    "allow_implausible", "certainty_equivalent", "horizon", "discount_rate",
}  # fmt: skip
_COMPANY = {"kind", "coefficients", "options", "levers", "means", "cost_cross", "model"}
_LEVER = {"rest", "cost", "value", "lower", "upper", "unit", "description"}
_MEAN = {"intercept", "loadings"}
_CROSS = {"levers", "value"}
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
# dict -> objects
# --------------------------------------------------------------------------------------
def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(where, f"must be a table, got {type(value).__name__} {value!r}")
    return dict(value)


# --------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------
def _coefficient(value: Any, where: str) -> Coefficient:
    if isinstance(value, dict):
        _keys(value, _COEF, where, required=("value",))
        rng = value.get("range")
        rng_t = None if rng is None else validate.coefficient_range(rng, f"{where}.range")
        return Coefficient(
            value=validate.check_coefficient(value["value"], rng_t, f"{where}.value"),
            unit=_str(value.get("unit", ""), f"{where}.unit"),
            range=rng_t,
            source=_str(value.get("source", ""), f"{where}.source"),
            description=_str(value.get("description", ""), f"{where}.description"),
        )
    return Coefficient(value=_num(value, where))


def _sourced(raw: Any, where: str, rule: validate.Rule) -> tuple[float, Provenance | None]:
    """A number that may be a plain number or a ``{value, unit, range, source}`` table
    like a coefficient's (a lever's ``cost``, a department's ``team_identification``):
    its value, and its unit, range and source (``None`` for a plain number). A table
    needs its ``range``: that is what sensitivity moves the number across."""
    if not isinstance(raw, dict):
        return _num(raw, where, **rule), None
    _keys(raw, _COEF, where, required=("value",))
    _num(raw["value"], f"{where}.value", **rule)  # what the number allows, first
    coef = _coefficient(raw, where)
    value = validate.check_sourced(coef.value, coef, where, rule)  # a range, inside rule
    assert coef.range is not None  # check_sourced refuses a table without one
    prov = Provenance(
        range=coef.range, unit=coef.unit, source=coef.source, description=coef.description
    )
    return value, prov


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
    d: Any, where: str, metrics: Mapping[str, Metric], base_dir: Path | None,
    roots: tuple[Path, ...],
) -> Department:  # fmt: skip
    _keys(d, _DEPT, where, required=("base_pay",))
    roster = None
    if "roster" in d:
        r = d["roster"]
        if isinstance(r, str):
            path = Path(r)
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            roster = load_roster(_confined(path, f"{where}.roster", roots))
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
    hc = validate.whole(headcount_raw, f"{where}.headcount")

    def field(key: str, default: float | None = None) -> float:
        raw = d[key] if default is None else d.get(key, default)
        return _num(raw, f"{where}.{key}", **validate.DEPARTMENT[key])

    team_identification, team_provenance = _sourced(
        d.get("team_identification", 0.0),
        f"{where}.team_identification",
        validate.DEPARTMENT["team_identification"],
    )
    quota_metric = None
    if "quota_metric" in d:
        quota_metric = _name(d["quota_metric"], metrics, f"{where}.quota_metric", "metric")
    return Department(
        headcount=hc,
        base_pay=field("base_pay"),
        target_incentive=field("target_incentive", 0.0),
        plan=_plan(d, where, metrics),
        risk_aversion=field("risk_aversion", 0.0),
        market_reference=None if "market_reference" not in d else field("market_reference"),
        team_identification=team_identification,
        team_identification_provenance=team_provenance,
        quota_metric=quota_metric,
        quota=None if "quota" not in d else field("quota"),
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


def _company(c_raw: dict[str, Any], coefs_raw: dict[str, Any]) -> Company:
    kind = _str(c_raw.get("kind", "none"), "company.kind", kinds.available())
    levers: dict[str, dict[str, Lever]] = {}
    for dn, table in _table(c_raw.get("levers", {}), "company.levers").items():
        levers[dn] = {}
        for ln, lv in _table(table, f"company.levers.{dn}").items():
            w = f"company.levers.{dn}.{ln}"
            _keys(lv, _LEVER, w)
            cost_raw, cost_provenance = _sourced(
                lv.get("cost", 1.0), f"{w}.cost", validate.LEVER["cost"]
            )
            rest, cost, value, lo, hi = validate.check_lever(
                lv.get("rest", 0.0), cost_raw, lv.get("value", 0.0),
                lv.get("lower"), lv.get("upper"), w, cost_provenance,
            )  # fmt: skip
            levers[dn][ln] = Lever(
                rest=rest,
                cost=cost,
                value=value,
                lower=lo,
                upper=hi,
                unit=_str(lv.get("unit", ""), f"{w}.unit"),
                description=_str(lv.get("description", ""), f"{w}.description"),
                cost_provenance=cost_provenance,
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


#: The largest scenario or company file read (bytes): far above any real scenario
#: (rosters that large belong in CSV files).
MAX_TOML_BYTES = 10 * 10**6
#: The largest roster CSV read: bytes and people.
MAX_CSV_BYTES = 200 * 10**6
MAX_CSV_ROWS = 1_000_000

_TOML_FIX = "save it as UTF-8 (in Notepad: Save As > Encoding: UTF-8)"
_CSV_FIX = "save it as 'CSV UTF-8' (in Excel: Save As > CSV UTF-8)"


def _path_arg(path: Any, function: str, error: type[ScenarioError]) -> Path:
    """``path`` (an argument of ``function``) as a :class:`Path`, or ``error`` saying
    that a file path is wanted (text or ``pathlib.Path``)."""
    if isinstance(path, (str, os.PathLike)):
        try:
            p = Path(path)
        except TypeError:  # a PathLike that gives bytes
            p = None
        if p is not None and str(p) not in ("", ".") and "\x00" not in str(p):
            return p
    example = "data/samples/acme.toml" if function == "load_scenario" else "sales_roster.csv"
    raise error(
        "path",
        f"must be the path of a file, as text or a pathlib.Path, got {given(path)}; "
        f"e.g. {function}({example!r})",
    )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 10**5 else f"{n:,} bytes"


def _read_bytes(path: Path, limit: int, error: type[ScenarioError], what: str) -> bytes:
    """The bytes of the file ``path`` (at most ``limit``), or ``error`` naming the file
    and what to do: not found, a folder, unreadable, too large."""
    where = str(path)
    if path.is_dir():
        raise error(where, f"is a folder, not a {what}; give the path of the {what} inside it")
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = b"" if size > limit else fh.read(limit + 1)
    except FileNotFoundError:
        raise error(where, "file not found; check the path") from None
    except IsADirectoryError:
        raise error(
            where, f"is a folder, not a {what}; give the path of the {what} inside it"
        ) from None
    except PermissionError:
        raise error(
            where, "cannot be read: permission denied; check the file's permissions"
        ) from None
    except OSError as e:
        raise error(
            where, f"cannot be read ({e.strerror or type(e).__name__}); check the path"
        ) from None
    size = max(size, len(data))
    if size > limit:
        shown, most = _mb(size), _mb(limit)
        if shown == most:
            shown, most = f"{size:,} bytes", f"{limit:,} bytes"
        raise error(
            where,
            f"is {shown}; a {what} may be at most {most}. Check that this is the "
            f"right file{'; split a larger roster' if error is RosterError else ''}",
        )
    return data


def _decode(data: bytes, where: str, error: type[ScenarioError], fix: str) -> str:
    """``data`` as UTF-8 text (a UTF-8 byte-order mark, as Notepad and Excel write it,
    is dropped), or ``error`` saying how to save the file."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise error(where, f"is UTF-32 text; {fix}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise error(where, f"is UTF-16 text ('Unicode text' in Windows); {fix}")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    head = data[:4096]
    if b"\x00" in head:
        # UTF-16 without a byte-order mark: every other byte of ASCII text is zero
        zeros = max(head[0::2].count(0), head[1::2].count(0))
        if zeros >= len(head) // 4:
            raise error(where, f"looks like UTF-16 text ('Unicode text' in Windows); {fix}")
        raise error(where, f"is not a text file (it holds zero bytes); check the path, or {fix}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            where,
            f"is not UTF-8 text (byte {e.object[e.start]:#x} at position {e.start}); "
            f"check that it is the right file, and {fix}",
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    """A scenario or company file's TOML document (see :func:`load_scenario`)."""
    where = str(path)
    text = _decode(
        _read_bytes(path, MAX_TOML_BYTES, ScenarioError, "scenario file"),
        where,
        ScenarioError,
        _TOML_FIX,
    )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(where, f"is not valid TOML: {e}") from None
    except RecursionError:
        raise ScenarioError(
            where, "is not valid TOML for compmodel: its lists or tables nest too deeply"
        ) from None


def _roots(base: Path | None, allow_dirs: Sequence[str | os.PathLike[str]]) -> tuple[Path, ...]:
    """The folders a scenario may read files from: its own (``base``, else the working
    directory) and the folders allowed explicitly."""
    if isinstance(allow_dirs, (str, bytes, os.PathLike)) or not isinstance(
        allow_dirs, (list, tuple)
    ):
        raise ScenarioError(
            "allow_dirs",
            f"must be a list of folders, got {given(allow_dirs)}; e.g. "
            "allow_dirs=['../company'] (a list even for one folder)",
        )
    for i, a in enumerate(allow_dirs):
        if not isinstance(a, (str, os.PathLike)) or str(a) == "":
            raise ScenarioError(
                f"allow_dirs[{i}]",
                f"must be a folder path, as text or a pathlib.Path, got {given(a)}",
            )
    return ((base or Path.cwd()).resolve(), *(Path(a).resolve() for a in allow_dirs))


def _confined(path: Path, where: str, roots: tuple[Path, ...]) -> Path:
    """``path``, resolved (symlinks followed), if it lies inside one of ``roots``; a
    :class:`ScenarioError` naming the way to allow it otherwise (nothing is read)."""
    real = path.resolve()
    if any(real == root or real.is_relative_to(root) for root in roots):
        return real
    folder = real.parent
    raise ScenarioError(
        where,
        f"names {str(path)!r}, outside the scenario's folder {str(roots[0])!r}: a scenario "
        "reads files only inside its own folder tree, so a file from someone else cannot "
        "reach yours. If you trust this reference, allow its folder: "
        f"load_scenario(path, allow_dirs=[{str(folder)!r}]) (on the command line: "
        f"--allow-dir {folder})",
    )


def scenario_from_dict(
    doc: Mapping[str, Any],
    *,
    base_dir: Path | str | None = None,
    company_file: Path | None = None,
    trust_code: bool = False,
    allow_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Scenario:
    """Build and validate a scenario from a TOML-like dict.

    Parameters
    ----------
    doc
        The document. If it has ``company_file``, that file (relative to ``base_dir``)
        is read and ``doc`` is merged over it.
    base_dir
        Directory relative paths (company file, rosters) are resolved against; files
        must lie inside it (default: the working directory) or ``allow_dirs``.
    company_file
        Keep this company file reference (``doc`` is then already complete).
    trust_code
        Whether code the document names (a declared model's ``company.model``) may be
        imported when the scenario is solved; recorded on the scenario, never read from
        the document.
    allow_dirs
        Further folders the document may reference files in.
    """
    if not isinstance(doc, Mapping):
        raise ScenarioError(
            "",
            f"a scenario document must be a table (a dict, as tomllib.load gives), got "
            f"{given(doc)}; to read a file use compmodel.load_scenario(path)",
        )
    if base_dir is not None and not isinstance(base_dir, (str, os.PathLike)):
        raise ScenarioError(
            "base_dir", f"must be a folder path, as text or a pathlib.Path, got {given(base_dir)}"
        )
    base = Path(base_dir) if base_dir is not None else None
    roots = _roots(base, allow_dirs)
    d = dict(doc)
    if "company_file" in d:
        ref = _str(d.pop("company_file"), "company_file")
        cpath = Path(ref)
        if not cpath.is_absolute():
            cpath = (base or Path.cwd()) / cpath
        cpath = _confined(cpath, "company_file", roots)
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
                sd=_num(f["sd"], f"{w}.sd", **validate.FORECAST["sd"]),
                individual_sd=_num(
                    f.get("individual_sd", 0.0),
                    f"{w}.individual_sd",
                    **validate.FORECAST["individual_sd"],
                ),
            )
        corr: dict[tuple[str, str], float] = {}
        for w, c, (a, b) in _pairs(
            corr_raw, "forecast.correlations", "metrics", _CORR, ("rho",), fm, "forecast metric"
        ):
            corr[(a, b)] = _num(c["rho"], f"{w}.rho", **validate.RHO)
        forecast = Forecast(metrics=fm, correlations=corr)
    # company
    c_raw = d.get("company", {})
    _keys(c_raw, _COMPANY, "company")
    coefs_raw = c_raw.get("coefficients", {})
    if not isinstance(coefs_raw, dict):
        raise ScenarioError("company.coefficients", "must be a table")
    company = _company(c_raw, coefs_raw)
    s_raw = d.get("settings", {})
    _keys(s_raw, _SETTINGS, "settings")
    discount_rate, discount_prov = _sourced(
        s_raw.get("discount_rate", 0.09), "settings.discount_rate",
        validate.SETTINGS["discount_rate"],
    )  # fmt: skip
    horizon_raw, horizon_prov = _sourced(
        s_raw.get("horizon", 5), "settings.horizon", validate.SETTINGS["horizon"]
    )
    settings = Settings(
        participation=_str(
            s_raw.get("participation", "binding"),
            "settings.participation",
            ("binding", "fixed_base"),
        ),  # type: ignore[arg-type]
        **{
            f: _num(s_raw.get(f, default), f"settings.{f}", **validate.SETTINGS[f])
            for f, default in (
                ("payroll_tax_rate", 0.0),
                ("turnover_sensitivity", 0.0),
                ("replacement_cost", 0.5),
            )
        },
        discount_rate=discount_rate,
        discount_rate_provenance=discount_prov,
        horizon=validate.years(horizon_raw, "settings.horizon"),
        horizon_provenance=horizon_prov,
        allow_implausible=validate.allow_list(
            s_raw.get("allow_implausible", []), "settings.allow_implausible"
        ),
        certainty_equivalent=_str(
            s_raw.get("certainty_equivalent", "cara"),
            "settings.certainty_equivalent",
            ("cara", "mean_variance"),
        ),  # type: ignore[arg-type]
    )
    depts_raw = d.get("departments", {})
    if not isinstance(depts_raw, dict) or not depts_raw:
        raise ScenarioError(
            "departments", "at least one department is required, e.g. [departments.sales]"
        )
    departments = {
        n: _department(v, f"departments.{n}", metrics, base, roots) for n, v in depts_raw.items()
    }
    bridges = {
        n: _num(v, f"bridges.{n}", **validate.BRIDGE)
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
        trust_code=bool(trust_code),
    )


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
            "certainty_equivalent": "cara",
            "horizon": 5,
            "discount_rate": 0.09,
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
def load_scenario(
    path: str | os.PathLike[str],
    *,
    trust_code: bool = False,
    allow_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Scenario:
    """Read and validate a scenario TOML file.

    Safe with a file from someone else: reading it runs no code and reads no file
    outside its own folder tree.

    Parameters
    ----------
    path
        The file. Relative paths inside it (``company_file``, rosters) are resolved
        against its folder, and must lie inside that folder's tree (after following
        symlinks) or one of ``allow_dirs``.
    trust_code
        Whether code the file names (a declared model's ``company.model =
        "package.module:function"``) may be imported when the scenario is solved. Off by
        default: solving such a scenario then says how to trust it. The trust is kept
        on the returned scenario (``with_value``, pickling and workers carry it), never
        in a file.
    allow_dirs
        Further folders the file may reference (a shared company file elsewhere).

    Raises
    ------
    ScenarioError
        With the location of the offending key, what is allowed and what to try; also
        when ``path`` is not a path, names a folder, or the file is not UTF-8 TOML of at
        most :data:`MAX_TOML_BYTES` (a UTF-8 byte-order mark, as Notepad writes, is
        fine; UTF-16 is refused with how to save as UTF-8).
    """
    p = _path_arg(path, "load_scenario", ScenarioError)
    doc = _read_toml(p)
    return scenario_from_dict(
        doc, base_dir=p.parent.resolve(), trust_code=trust_code, allow_dirs=allow_dirs
    )


def scenario_folder(folder: str | os.PathLike[str]) -> list[tuple[Path, Scenario]]:
    """The plans a folder holds: its ``*.toml`` files and those one folder down, in
    name order, each loaded as :func:`load_scenario` does (code never trusted), without
    the files that do not load and without the company files the others share (a
    company file alone is data: with no plans of its own it pays no incentive).

    What the dashboard's scenario picker offers and ``compmodel dashboard`` warms up.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    loaded: list[tuple[Path, Scenario]] = []
    for path in sorted(root.glob("*.toml")) + sorted(root.glob("*/*.toml")):
        try:
            loaded.append((path, load_scenario(path)))
        except CompmodelError:
            continue
    companies = {Path(s.company_file).resolve() for _, s in loaded if s.company_file}
    return [(path, s) for path, s in loaded if path.resolve() not in companies]


def save_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> Path:
    """Write ``scenario`` to ``path`` as TOML, atomically.

    The document is written to a temporary file in the same directory, flushed to disk
    and renamed over ``path``: a crash or an error leaves the old file as it was.
    A company-file reference and roster CSV paths inside the new file's folder tree are
    kept, rewritten relative to it (only what differs from the company file is
    written); files outside it are written inline, so the saved file loads again with
    no ``allow_dirs`` (:func:`load_scenario` reads only inside a file's folder tree).
    """
    target = Path(path).resolve()
    directory = target.parent
    scenario = _portable(scenario, directory)
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


def _portable(scenario: Scenario, directory: Path) -> Scenario:
    """``scenario`` with its company file and roster files inline where they lie
    outside ``directory``'s tree (a file saved there then reads nothing outside it)."""

    def inside(p: Path) -> bool:
        real = p.resolve()
        return real == directory or real.is_relative_to(directory)

    depts = {
        name: dataclasses.replace(d, roster=dataclasses.replace(d.roster, source=None))
        if d.roster is not None and d.roster.source is not None and not inside(d.roster.source)
        else d
        for name, d in scenario.departments.items()
    }
    company_file = scenario.company_file
    if company_file is not None and not inside(company_file):
        company_file = None
    return dataclasses.replace(scenario, departments=depts, company_file=company_file)


def _temp_pattern(target: Path) -> re.Pattern[str]:
    """The names :func:`_atomic_write` gives its temporary files for ``target``:
    ``.{name}.{writer pid}.{random}.tmp`` (the random part has no dot, so the temporary
    files of ``report.toml`` never match those of ``report.toml.1`` or ``report``)."""
    return re.compile(rf"\.{re.escape(target.name)}\.([0-9]{{1,10}})\.[A-Za-z0-9_]+\.tmp")


def _writer_is_dead(pid: int) -> bool:
    """True only when no process ``pid`` exists (a process we may not signal exists)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError, ValueError):  # PermissionError: it exists, keep it
        return False
    return False


def _remove_dead_writers_temps(target: Path) -> None:
    """Remove the temporary files of ``target`` left by writers that were killed.

    Only files named for ``target`` whose writer's process no longer exists are removed:
    a save running in another live process keeps its temporary file. Nothing is removed
    on Windows, where a process cannot be probed without side effects (``os.kill``
    there ends the process). Failures (a file another save already removed, a folder
    that cannot be listed) are ignored: tidying never stops a save.
    """
    if os.name == "nt":
        return
    pattern = _temp_pattern(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is not None and _writer_is_dead(int(match.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(target.parent / name)


# errors by which a platform or file system says a folder cannot be opened or fsynced
# (a tuple: compmodel.io's sets are the TOML's allowed keys, see tests/test_docs.py)
_NO_DIR_FSYNC: tuple[int, ...] = tuple(
    getattr(errno, code)
    for code in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "EBADF", "EISDIR", "EACCES", "EPERM")
    if hasattr(errno, code)
)


def _fsync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (a rename in it) to disk, on POSIX.

    Skipped on Windows, and where the platform or file system says it cannot (opening
    or fsyncing a folder refused as unsupported or not permitted); any other error
    (an I/O error) is raised: the save may not survive a power cut.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as err:
        if err.errno in _NO_DIR_FSYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def _atomic_write(target: Path) -> Iterator[BinaryIO]:
    """An open binary file that replaces ``target`` whole when the block succeeds.

    The file is a temporary file beside ``target`` (same directory, so the rename is
    atomic) named ``.{name}.{pid}.{random}.tmp`` after the writing process, given the
    old file's permissions (else the umask's). When the block ends normally the data is
    flushed to disk, the file renamed over ``target`` and, on POSIX, the folder fsynced
    so the rename itself survives a power cut; when it raises (including
    ``KeyboardInterrupt``) the temporary file is removed and ``target`` is left as it
    was. A process killed mid-write cannot remove its file: the next save of ``target``
    removes the temporary files whose writer no longer exists, and only those, so
    concurrent saves from live processes never remove each other's. Writers that take a
    path or a file object (openpyxl, python-pptx, altair) write into the yielded file.
    """
    _remove_dead_writers_temps(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
    )
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
    _fsync_directory(target.parent)


def _write_atomically(target: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``target`` through :func:`_atomic_write`."""
    with _atomic_write(target) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


# --------------------------------------------------------------------------------------
# rosters
# --------------------------------------------------------------------------------------
def _roster_rows(rows: list[dict[str, Any]], where: str, source: Path | None) -> Roster:
    people = tuple(
        Person(person=person, base=base, quota=quota, ability=ability)
        for person, base, quota, ability in validate.roster_rows(rows, where)
    )
    return Roster(people=people, source=source)


def _columns(cols: Sequence[str]) -> str:
    """The header's column names for an error message, or how many there are when they
    are not names (an error never echoes what else a file holds)."""
    if not cols:
        return "(none)"
    if all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]{0,40}", c) for c in cols):
        return ", ".join(cols)
    return f"{len(cols)} column(s) whose headers are not names"


def load_roster(path: str | os.PathLike[str]) -> Roster:
    """Read a roster CSV with columns ``person, base`` and optional ``quota, ability``.

    ``base`` is base pay (currency per period), ``quota`` the person's quota in the
    department's quota-metric unit, ``ability`` a multiplier on the person's expected
    results on individual metrics (1 = typical).

    Files as spreadsheets save them are read:

    * UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"); UTF-16 ("Unicode
      text") and other encodings are refused with how to save as UTF-8;
    * separated by ``,``, ``;`` or tabs: the separator is the one that splits the header
      into ``person`` and ``base`` (else the one giving the most columns);
    * numbers with a decimal point or a decimal comma, with or without thousands
      separators. The decimal mark is the file's: a number that can be read only one
      way (``70000,5``, ``1,11``, ``70.000,50`` for a comma; ``70000.5``, ``1.11``,
      ``72,000.00`` for a point) settles it, and the other mark is then a thousands
      separator. A file showing both is refused. With neither shown, ``72,000`` in a
      comma-separated file is 72000 (a point is decimal); in a ``;``- or tab-separated
      file ``70.000`` or ``72,000`` could be either, and is refused: write it without
      thousands separators.

    At most :data:`MAX_CSV_BYTES` and :data:`MAX_CSV_ROWS` people; each column once.

    Raises
    ------
    RosterError
        Naming the file (and the row and column) with what is allowed and the fix.
    """
    p = _path_arg(path, "load_roster", RosterError)
    try:
        stat = p.stat()
        key = (str(p.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None  # reading it below says what is wrong
    found = None if key is None else caches.ROSTERS.get(key)
    if found is not None:
        return cast(Roster, found)  # rosters are immutable: a sweep re-reads the same file
    where = str(p)
    data = _read_bytes(p, MAX_CSV_BYTES, RosterError, "roster CSV file")
    text = _decode(data, where, RosterError, _CSV_FIX)
    first = text.split("\n", 1)[0].rstrip("\r")
    delimiter = _delimiter(first)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        cols = [c.strip() for c in reader.fieldnames or []]  # "person, base" is fine
        reader.fieldnames = cols
        _header(cols, where)
        rows: list[dict[str, Any]] = []
        for row in reader:
            if len(rows) >= MAX_CSV_ROWS:
                raise RosterError(
                    where,
                    f"has more than {MAX_CSV_ROWS:,} people; a roster may have at most "
                    f"{MAX_CSV_ROWS:,}. Check that this is the right file, or model the "
                    "department with a headcount",
                )
            rows.append(dict(row))
    except csv.Error as e:
        raise RosterError(
            f"{where} row {max(reader.line_num - 1, 1)}",
            f"cannot be read as CSV ({e}); {_CSV_FIX}",
        ) from None
    _numbers(rows, where, delimiter)
    roster = _roster_rows(rows, where, p.resolve())
    if key is not None:
        caches.ROSTERS.put(key, roster)
    return roster


def _delimiter(header: str) -> str:
    """The separator of a CSV whose first line is ``header``: the one of ``,``, ``;`` and
    tab that splits it into ``person`` and ``base``, else the one giving most columns."""
    candidates = (",", ";", "\t")
    for d in candidates:
        cols = {c.strip().strip('"') for c in header.split(d)}
        if {"person", "base"} <= cols:
            return d
    return max(candidates, key=lambda d: len(header.split(d)))  # ties: the first, ","


def _header(cols: list[str], where: str) -> None:
    """Refuse a header without ``person`` and ``base``, or with a column twice."""
    seen: dict[str, int] = {}
    for i, c in enumerate(cols, start=1):
        if c in seen:
            name = repr(c) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]{0,40}", c) else "a header"
            raise RosterError(
                where,
                f"has column {name} twice (columns {seen[c]} and {i}); each column may "
                "appear once. Rename or delete one of them; the columns are person, base, "
                "quota, ability",
            )
        seen[c] = i
    missing = [c for c in ("person", "base") if c not in cols]
    if missing:
        raise RosterError(
            where,
            f"missing column(s) {', '.join(missing)}; found {_columns(cols)}. "
            "A roster needs person, base and may have quota, ability.",
        )


# a number with a decimal comma or point and maybe thousands separators: which mark it
# shows unambiguously. "72,000" and "70.000" (1 to 3 digits, one separator, 3 digits)
# could be either.
_NUMBERLIKE = re.compile(r"[+-]?[0-9][0-9.,]*")
_COMMA_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]+,(?:[0-9]{1,2}|[0-9]{4,})|[0-9]{4,},[0-9]{3}|0,[0-9]+"
    r"|[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[0-9]{1,3}(?:\.[0-9]{3}){2,})"
)
_POINT_DECIMAL = re.compile(
    r"[+-]?(?:[0-9]+\.(?:[0-9]{1,2}|[0-9]{4,})|[0-9]{4,}\.[0-9]{3}|0\.[0-9]+"
    r"|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+|[0-9]{1,3}(?:,[0-9]{3}){2,})"
)
_EITHER = re.compile(r"[+-]?[1-9][0-9]{0,2}[.,][0-9]{3}")


def _numbers(rows: list[dict[str, Any]], where: str, delimiter: str) -> None:
    """Rewrite the number cells of ``rows`` (in place) with a decimal point and no
    thousands separators, by the file's decimal mark (see :func:`load_roster`)."""
    cells = [
        (i, col, row[col].strip())
        for i, row in enumerate(rows, start=1)
        for col in ("base", "quota", "ability")
        if isinstance(row.get(col), str) and _NUMBERLIKE.fullmatch(row[col].strip())
    ]
    comma = next(((i, c) for i, c, v in cells if _COMMA_DECIMAL.fullmatch(v)), None)
    point = next(((i, c) for i, c, v in cells if _POINT_DECIMAL.fullmatch(v)), None)
    if comma and point:
        raise RosterError(
            where,
            f"mixes decimal commas (row {comma[0]}, column {comma[1]}) and decimal points "
            f"(row {point[0]}, column {point[1]}); write every number one way, e.g. "
            "70000.5, without thousands separators",
        )
    if comma:
        mark = ","
    elif point or delimiter == ",":
        mark = "."
    else:
        either = next(((i, c) for i, c, v in cells if _EITHER.fullmatch(v)), None)
        if either is None:
            return
        raise RosterError(
            f"{where} row {either[0]}, column {either[1]}",
            "could be read two ways (70.000 or 72,000: a thousands separator or a decimal "
            "mark?); write it without thousands separators (70000), and decimals as "
            "70000,5 or 70000.5",
        )
    thousands = "." if mark == "," else ","
    for i, col, v in cells:
        rows[i - 1][col] = v.replace(thousands, "").replace(",", ".")
