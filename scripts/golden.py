"""Golden file: the library's outputs at one commit, to prove a refactoring changes nothing.

What it records
---------------
For each scenario case (the four acme scenarios, ``budget_today`` and the nine theory
cases of ``data/samples/theory``) every public call that applies, in this order:

* ``solve``, ``first_best``, ``no_incentive``: the solution's levers (and their order),
  every metric and outcome, gross value, total surplus, compensation bill, turnover
  cost, payroll tax, operating profit, alignment efficiency, every field of each
  department's outcome, and the diagnostics (converged, sweeps, residual, notes, search,
  first-best levers, the number of equilibria, which is selected, and each
  equilibrium's levers, total surplus and starting profiles);
* ``commission_budget`` (20,000 draws, seed 0: the defaults at e273b87): its
  department, component and people frames, the covariances, the total row of
  ``to_frame()``, the diagnostics, and per drawn series the mean, sd, min, max,
  quantiles and a SHA-256 of the draws' bytes;
* ``simulate`` (10,000 draws, seed 0): the summary, profit and people frames, the
  same statistics and hash of every drawn series, and the budget at the equilibrium
  (recorded as above; it is the commission budget of the acme and theory cases, whose
  forecasts have no means of their own).

A call that raises is recorded as ``{"error": {"type": ..., "message": ...}}``.

The ``dashboard`` case builds ``compmodel.live.Dashboard(acme_today.toml)`` and applies
:data:`DASHBOARD_STEPS` with ``set_value``, recording after construction and after each
step: whether the change applied, the note, the KPIs, the solution (as above), the
simulation's summary, profit and draws, and the data of the four charts.

Floats are stored as ``{"hex": float.hex(x), "value": x}`` (``value`` for the reader;
the comparison uses ``hex``; non-finite values are written as ``"nan"``/``"inf"``).

Usage (from the repository root, with the code to test importable as ``compmodel``)::

    python scripts/golden.py record tests/golden/7eb269c.json      # each case in a fresh process
    python scripts/golden.py check tests/golden/7eb269c.json       # the same, then compare
    python scripts/golden.py check tests/golden/7eb269c.json --cases acme_today dashboard
    python scripts/golden.py check tests/golden/7eb269c.json --in-process   # one process
    python scripts/golden.py check tests/golden/7eb269c.json --tolerance    # not bit for bit
    python scripts/golden.py case acme_today                       # one case's JSON on stdout
    python scripts/golden.py list                                  # the case names

``check`` prints every difference (path, old, new, absolute and relative difference) and
exits with 1 if there is any. Bit for bit (the default) compares every float's hex;
``--tolerance`` compares levers within ``--lever-atol`` (absolute), every other float
within ``--money-rtol`` (relative), integers and strings exactly, and skips the
draws' hashes. :func:`compare` does the same for a test. Compiled kernels may round
differently on another CPU: the golden file records the CPU it was made on (``meta``).

After the restructuring, map the dashboard's old control names to the new ones in
:data:`CONTROL_PATHS` (the one place a step becomes a call: :func:`apply_step`).
"""

from __future__ import annotations

import os

# one BLAS thread, as in tests/conftest.py (set before numpy loads; the environment wins)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import compmodel as cm  # noqa: E402

if TYPE_CHECKING:
    from compmodel.live import Dashboard

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
FORMAT = 1

THEORY = (
    "baker", "cap", "coordination", "department_template", "hm87", "hm91",
    "hm91_unmeasured", "holmstrom82", "quota",
)  # fmt: skip
#: Scenario cases: name -> scenario file (relative to the repository root).
SCENARIOS: dict[str, str] = {
    "acme_today": "data/samples/acme_today.toml",
    "acme_aligned": "data/samples/acme_aligned.toml",
    "acme_margin_on_delivery": "data/samples/acme_margin_on_delivery.toml",
    "acme_otif_gate": "data/samples/acme_otif_gate.toml",
    "budget_today": "data/samples/budget_today.toml",
    **{f"theory/{n}": f"data/samples/theory/{n}.toml" for n in THEORY},
}
DASHBOARD = "dashboard"
DASHBOARD_SCENARIO = "data/samples/acme_today.toml"
CASES: tuple[str, ...] = (*SCENARIOS, DASHBOARD)

BUDGET_DRAWS, BUDGET_SEED = 20_000, 0  # commission_budget's defaults at e273b87
SIM_DRAWS, SIM_SEED = 10_000, 0  # simulate's (and the dashboard's) defaults
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)

#: The dashboard's slider moves, in order: (control path, value). Each must apply (its
#: note empty). No department of acme_today pays on both own and company-wide results,
#: so ``<dept>.shared_share`` is refused there (a note, nothing applied) and is not a step.
DASHBOARD_STEPS: list[tuple[str, float | str]] = [
    ("leadership.weights.revenue", 0.3),  # a weight: operating_profit's becomes 0.7
    ("sales.curves.bookings.cap", 3_500_000.0),  # a curve's cap
    ("sales.target_incentive", 0.5),
    ("production.curves.throughput.threshold", 37_000.0),  # a curve's threshold
    ("sales.crediting", "ontime_margin"),  # crediting: the bookings curve moves, rescaled
    ("sales.clawback_cost", 0.3),  # adds a clawback of 30% of the orders' cost
    ("sales.clawback_late", 0.5),  # adds a clawback of 50% of late bookings' commission
    ("bridges.joint_sales_calls", 0.2),
    ("company.coefficients.margin_rate", 0.47),
    ("sales.crediting", "shipped_margin"),  # crediting again, with the clawbacks in place
    ("sales.clawback_cost", 0.0),  # removes the cost clawback
    ("sales.clawback_late", 0.0),  # removes the late clawback
]

#: Control path at e273b87 -> the path the code under test takes for it (empty at
#: e273b87; the clawbacks became parameter paths of compmodel.crediting since).
CONTROL_PATHS: dict[str, str] = {
    "sales.clawback_cost": "sales.clawbacks.cost_share",
    "sales.clawback_late": "sales.clawbacks.late_share",
}


def apply_step(dashboard: Dashboard, path: str, value: float | str) -> None:
    """Apply one dashboard step: the one place a step becomes a call."""
    dashboard.set_value(CONTROL_PATHS.get(path, path), value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# encoding: floats as hex, frames keyed by their label columns
# --------------------------------------------------------------------------------------
def encode_float(x: float) -> dict[str, Any]:
    """``{"hex": ..., "value": ...}``; the value of a non-finite float as a string."""
    return {"hex": x.hex(), "value": x if math.isfinite(x) else repr(x)}


def encode(x: Any) -> Any:
    """A JSON tree of ``x``: floats encoded, numpy scalars and arrays made plain."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return encode_float(float(x))
    if isinstance(x, Mapping):
        out = {str(k): encode(v) for k, v in x.items()}
        if len(out) != len(x):
            raise ValueError(f"keys collide as strings: {list(x)}")
        return out
    if isinstance(x, (list, tuple, np.ndarray)):
        return [encode(v) for v in x]
    raise TypeError(f"cannot record {type(x).__name__}: {x!r}")


def frame_record(frame: pd.DataFrame, keys: Sequence[str]) -> dict[str, Any]:
    """A frame as its column order and ``{"key1/key2": {column: value}}``."""
    rows: dict[str, Any] = {}
    for row in frame.to_dict("records"):
        label = "/".join(str(row[k]) for k in keys)
        if label in rows:
            raise ValueError(f"duplicate row {label!r} keyed by {list(keys)}")
        rows[label] = {str(c): v for c, v in row.items() if c not in keys}
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def draws_record(draws: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Per drawn series: size, mean, sd, min, max, quantiles and a hash of the bytes."""
    out: dict[str, Any] = {}
    for name, v in draws.items():
        a = np.ascontiguousarray(v, dtype="<f8")
        out[name] = {
            "size": int(a.size),
            "mean": float(a.mean()),
            "sd": float(a.std(ddof=1)),
            "min": float(a.min()),
            "max": float(a.max()),
            "quantiles": dict(zip(map(str, QUANTILES), np.quantile(a, QUANTILES), strict=True)),
            "sha256": {"sha256": hashlib.sha256(a.tobytes()).hexdigest()},
        }
    return out


def error_record(exc: BaseException) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


def guarded(compute: Callable[[], Any], record: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``record(compute())``, or the error ``compute`` raised (recording errors raise)."""
    try:
        value = compute()
    except Exception as exc:
        return error_record(exc)
    return record(value)


# --------------------------------------------------------------------------------------
# what is recorded of each result
# --------------------------------------------------------------------------------------
_DEPARTMENT_FIELDS = (
    "department", "headcount", "levers", "incentive_mean", "incentive_variance",
    "risk_premium", "effort_cost", "base_pay", "expected_pay", "certainty_equivalent",
    "market_reference", "retention",
)  # fmt: skip
_SOLUTION_FIELDS = (
    "scenario", "kind", "levers", "metrics", "outcomes", "gross_value", "total_surplus",
    "compensation_bill", "turnover_cost", "payroll_tax", "operating_profit",
    "alignment_efficiency",
)  # fmt: skip


def solution_record(sol: cm.Solution) -> dict[str, Any]:
    diag = sol.diagnostics
    rec: dict[str, Any] = {f: getattr(sol, f) for f in _SOLUTION_FIELDS}
    rec["lever_order"] = list(sol.levers)
    rec["departments"] = {
        d: {f: getattr(o, f) for f in _DEPARTMENT_FIELDS} for d, o in sol.departments.items()
    }
    rec["diagnostics"] = {
        "converged": diag.converged,
        "iterations": diag.iterations,
        "residual": diag.residual,
        "n_equilibria": len(diag.equilibria),
        "selected": diag.selected,
        "equilibria": [
            {"levers": e.levers, "total_surplus": e.total_surplus, "starts": list(e.starts)}
            for e in diag.equilibria
        ],
        "notes": list(diag.notes),
        "first_best_levers": diag.first_best,
        "search": diag.search,
    }
    return rec


def budget_record(b: cm.CommissionBudget) -> dict[str, Any]:
    total = b.to_frame().iloc[-1].to_dict()
    diag = b.diagnostics
    return {
        "scenario": b.scenario,
        "currency": b.currency,
        "period": b.period,
        "departments": frame_record(b.departments, ["department"]),
        "components": frame_record(b.components, ["department", "component"]),
        "people": frame_record(b.people, ["department", "person"]),
        "covariances": {
            d: {str(r): dict(c.loc[r]) for r in c.index} for d, c in b.covariances.items()
        },
        "total": total,
        "diagnostics": {
            "max_error_bound": diag.max_error_bound,
            "methods": list(diag.methods),
            "n_draws": diag.n_draws,
            "seed": diag.seed,
            "max_abs_z": diag.max_abs_z,
        },
        "draws": draws_record(b.draws),
    }


def simulation_summary(sim: cm.Simulation) -> dict[str, Any]:
    return {
        "n_draws": sim.n_draws,
        "seed": sim.seed,
        "summary": frame_record(sim.summary, ["department"]),
        "profit": sim.profit.to_dict(),
        "draws": draws_record(sim.draws),
    }


def simulation_record(sim: cm.Simulation) -> dict[str, Any]:
    return {
        **simulation_summary(sim),  # its draws' quantiles are what sim.quantiles() gives
        "people": frame_record(sim.people, ["department", "person"]),
        "budget": budget_record(sim.budget),
        "solution_operating_profit": sim.solution.operating_profit,
    }


# --------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------
def scenario_case(rel: str) -> dict[str, Any]:
    out: dict[str, Any] = {"file": rel}
    try:
        s = cm.load_scenario(ROOT / rel)
    except Exception as exc:
        out["load"] = error_record(exc)
        return out
    out["solve"] = guarded(lambda: cm.solve(s), solution_record)
    out["first_best"] = guarded(lambda: cm.first_best(s), solution_record)
    out["no_incentive"] = guarded(lambda: cm.no_incentive(s), solution_record)
    out["commission_budget"] = guarded(
        lambda: cm.commission_budget(s, n_draws=BUDGET_DRAWS, seed=BUDGET_SEED), budget_record
    )
    out["simulate"] = guarded(
        lambda: cm.simulate(s, n_draws=SIM_DRAWS, seed=SIM_SEED), simulation_record
    )
    return out


#: The dashboard's chart names now -> at e273b87 (the profit waterfall was "bridge").
CHART_NAMES: dict[str, str] = {"waterfall": "bridge"}


def _as_recorded(name: str, data: Any) -> Any:
    """A chart's data as e273b87 recorded it: levers were named by the rule
    ``"Sales: overpromise"`` (department, then the lever's key in words); they now read
    as the kind's display table says (``"Sales: over-promising"``)."""
    if name != "behaviour":
        return data
    return [
        {
            **row,
            "name": f"{row['department'].replace('_', ' ').capitalize()}: "
            f"{row['lever'].replace('_', ' ')}",
        }
        for row in data
    ]


def _dashboard_state(d: Dashboard) -> dict[str, Any]:
    note = str(d.note.value)
    return {
        "applied": "not applied" not in note,
        "note": note,
        "kpis": dict(d.kpis),
        "solution": solution_record(d.solution),
        "simulation": simulation_summary(d.simulation),
        "charts": {CHART_NAMES.get(n, n): _as_recorded(n, d.live[n].data) for n in sorted(d.live)},
    }


def dashboard_case() -> dict[str, Any]:
    from compmodel.live import Dashboard

    with tempfile.TemporaryDirectory(prefix="golden-dashboard-") as tmp:
        d = Dashboard(ROOT / DASHBOARD_SCENARIO, n_draws=SIM_DRAWS, seed=SIM_SEED, save_dir=tmp)
        states = [{"step": None, **_dashboard_state(d)}]
        for path, value in DASHBOARD_STEPS:
            apply_step(d, path, value)
            states.append({"step": {"path": path, "value": value}, **_dashboard_state(d)})
    return {"file": DASHBOARD_SCENARIO, "states": states}


def compute_case(name: str) -> Any:
    """One case's JSON tree, computed in this process."""
    if name == DASHBOARD:
        raw = dashboard_case()
    elif name in SCENARIOS:
        raw = scenario_case(SCENARIOS[name])
    else:
        raise SystemExit(f"unknown case {name!r}; cases: {', '.join(CASES)}")
    return encode(raw)


def _run_fresh(name: str) -> Any:
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "case", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise RuntimeError(f"case {name!r} failed (exit {r.returncode}):\n{r.stderr}")
    doc = json.loads(r.stdout)
    if doc["compmodel"] != cm.__file__:
        raise RuntimeError(
            f"case {name!r} imported compmodel from {doc['compmodel']}, this process from "
            f"{cm.__file__}: run both with the same PYTHONPATH"
        )
    return doc["result"]


def compute_cases(names: Sequence[str], *, fresh: bool = True, jobs: int = 1) -> dict[str, Any]:
    """Each case's JSON tree: in a fresh process each (``fresh``), or in this one."""
    out: dict[str, Any] = {}
    start = time.perf_counter()

    def run(name: str) -> tuple[str, Any, float]:
        t = time.perf_counter()
        result = _run_fresh(name) if fresh else compute_case(name)
        return name, result, time.perf_counter() - t

    if fresh and jobs > 1:
        with ThreadPoolExecutor(jobs) as pool:
            done = list(pool.map(run, names))
    else:
        done = [run(n) for n in names]
    for name, result, seconds in done:
        print(f"  {name:<28} {seconds:6.2f} s", file=sys.stderr)
        out[name] = result
    how = "a fresh process each" if fresh else "in process"
    print(f"{len(names)} cases ({how}) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out


def meta() -> dict[str, Any]:
    import llvmlite.binding  # type: ignore[import-untyped]
    import numba
    import scipy

    def git(*args: str) -> str:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    return {
        "format": FORMAT,
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "src", "data")),
        "compmodel": cm.__file__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "cpu": llvmlite.binding.get_host_cpu_name(),
        "budget": {"n_draws": BUDGET_DRAWS, "seed": BUDGET_SEED},
        "simulate": {"n_draws": SIM_DRAWS, "seed": SIM_SEED},
        "quantiles": list(QUANTILES),
    }


# --------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------
MISSING = "<missing>"
#: Keys under which every float is a lever (the behaviour chart's data are levers too).
_LEVER_KEYS = frozenset({"levers", "first_best_levers", "behaviour"})


@dataclasses.dataclass(frozen=True)
class Difference:
    """One difference: where (path in the JSON), old and new values, and by how much."""

    path: tuple[str | int, ...]
    old: Any
    new: Any
    abs_diff: float | None = None
    rel_diff: float | None = None

    @property
    def where(self) -> str:
        out = ""
        for p in self.path:
            if isinstance(p, int):
                out += f"[{p}]"
            elif p.isidentifier():
                out += f".{p}" if out else p
            else:
                out += f"[{p!r}]"
        return out

    def __str__(self) -> str:
        text = f"{self.where}: {_show(self.old)} -> {_show(self.new)}"
        if self.abs_diff is not None:
            text += f"  (abs {self.abs_diff:.3g}, rel {self.rel_diff:.3g})"
        return text


def _is_float(x: Any) -> bool:
    return isinstance(x, dict) and set(x) == {"hex", "value"}


def _is_hash(x: Any) -> bool:
    return isinstance(x, dict) and set(x) == {"sha256"}


def _show(x: Any) -> str:
    if _is_float(x):
        return f"{float.fromhex(x['hex'])!r} [{x['hex']}]"
    text = json.dumps(x, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def compare(
    old: Any,
    new: Any,
    *,
    exact: bool = True,
    lever_atol: float = 1e-8,
    money_rtol: float = 1e-8,
) -> list[Difference]:
    """Every difference between two recorded trees (empty: the same).

    ``exact``: floats bit for bit (their hex), everything else equal. Otherwise a float
    under a ``levers``, ``first_best_levers`` or ``behaviour`` (chart) key agrees
    within ``lever_atol`` (absolute), any other float within ``money_rtol`` (relative
    to the larger magnitude); NaN equals NaN; integers, strings, booleans and missing
    or extra keys must match exactly; the draws' SHA-256 are not compared.
    """
    out: list[Difference] = []
    _walk(old, new, (), out, exact, lever_atol, money_rtol)
    return out


def _walk(
    old: Any,
    new: Any,
    path: tuple[str | int, ...],
    out: list[Difference],
    exact: bool,
    lever_atol: float,
    money_rtol: float,
) -> None:
    if _is_float(old) and _is_float(new):
        if old["hex"] == new["hex"]:
            return
        a, b = float.fromhex(old["hex"]), float.fromhex(new["hex"])
        diff = abs(a - b) if math.isfinite(a) and math.isfinite(b) else math.inf
        rel = diff / max(abs(a), abs(b)) if diff < math.inf and max(abs(a), abs(b)) > 0 else diff
        if not exact:
            both_nan = math.isnan(a) and math.isnan(b)
            lever = any(isinstance(p, str) and p in _LEVER_KEYS for p in path)
            if both_nan or a == b or (diff <= lever_atol if lever else rel <= money_rtol):
                return
        out.append(Difference(path, old, new, diff, rel))
    elif _is_hash(old) and _is_hash(new):
        if exact and old != new:
            out.append(Difference(path, old, new))
    elif isinstance(old, dict) and isinstance(new, dict) and not (_is_float(old) or _is_float(new)):
        for k in sorted(old.keys() | new.keys()):
            if k not in new:
                out.append(Difference((*path, k), old[k], MISSING))
            elif k not in old:
                out.append(Difference((*path, k), MISSING, new[k]))
            else:
                _walk(old[k], new[k], (*path, k), out, exact, lever_atol, money_rtol)
    elif isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            _walk(a, b, (*path, i), out, exact, lever_atol, money_rtol)
        for i in range(len(new), len(old)):
            out.append(Difference((*path, i), old[i], MISSING))
        for i in range(len(old), len(new)):
            out.append(Difference((*path, i), MISSING, new[i]))
    elif type(old) is not type(new) or old != new:
        out.append(Difference(path, old, new))


#: Cases whose numbers moved on purpose since the golden file was recorded, and why: they
#: are held within tolerance (:func:`compare_moved`) until the file is regenerated
#: (``record``). Empty since 81fc040, whose record replaced 36589f5's (exact CARA, line
#: of sight by channel and benchmarks paid their own way moved numbers on purpose: see
#: tests/test_golden.py).
MOVED: dict[str, str] = {}

#: With :data:`MOVED`: keys whose change is the point (the search's own precision and
#: sweep count) or a statistic of a difference that magnifies a relative change (a
#: Monte Carlo z score of the gap to the exact mean, held within an absolute 1e-6).
_PRECISION_KEYS = frozenset({"residual", "max_abs_z"})


def _moved_within(d: Difference) -> bool:
    """Whether a difference of a :data:`MOVED` case is within its tolerance."""
    keys = {p for p in d.path if isinstance(p, str)}
    if _is_hash(d.old) and _is_hash(d.new):
        return True  # draws of moved means
    if d.path and d.path[-1] == "iterations":
        return True  # sweeps: how the search went, not what it found
    if not (_is_float(d.old) and _is_float(d.new)) or d.abs_diff is None:
        return False
    if d.path and d.path[-1] in _PRECISION_KEYS:
        return d.abs_diff <= 1e-6
    if keys & _LEVER_KEYS:
        return d.abs_diff <= 1e-8 * max(1.0, abs(float.fromhex(d.old["hex"])))
    return d.abs_diff <= 1e-12 or (d.rel_diff is not None and d.rel_diff <= 1e-8)


def compare_moved(old: Any, new: Any) -> list[Difference]:
    """The differences of a :data:`MOVED` case beyond tolerance: levers within 1e-8
    relative to ``max(1, |lever|)``, money within 1e-8 relative (or 1e-12 absolute
    around zero), the search's residual and Monte Carlo z scores within 1e-6 absolute,
    sweep counts and the draws' hashes free; the number of equilibria, the selection,
    names and every other count exactly."""
    return [d for d in compare(old, new, exact=True) if not _moved_within(d)]


def compare_cases(
    golden: Mapping[str, Any], new: Mapping[str, Any], names: Sequence[str], **tolerances: Any
) -> list[Difference]:
    """Differences between the golden file's cases ``names`` and ``new``'s."""
    out: list[Difference] = []
    for name in names:
        if name not in golden["cases"]:
            out.append(Difference(("cases", name), MISSING, "(computed)"))
            continue
        for d in compare(golden["cases"][name], new[name], **tolerances):
            out.append(Difference(("cases", name, *d.path), d.old, d.new, d.abs_diff, d.rel_diff))
    return out


def load_golden(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        doc: dict[str, Any] = json.load(f)
    if doc.get("meta", {}).get("format") != FORMAT:
        raise SystemExit(f"{path}: not a golden file of format {FORMAT}")
    return doc


def dumps(doc: Any) -> str:
    """The golden file's text: sorted keys, indent 1, strict JSON, a final newline."""
    return json.dumps(doc, sort_keys=True, indent=1, allow_nan=False, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------
def _record(args: argparse.Namespace) -> int:
    names = args.cases or list(CASES)
    cases = compute_cases(names, fresh=True, jobs=args.jobs)
    if DASHBOARD in cases:
        refused = [
            (s["step"]["path"], s["note"]) for s in cases[DASHBOARD]["states"] if not s["applied"]
        ]
        if refused:
            raise SystemExit(f"dashboard steps not applied (fix DASHBOARD_STEPS): {refused}")
    out = Path(args.golden)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps({"meta": meta(), "cases": cases}), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    golden = load_golden(args.golden)
    names = args.cases or list(golden["cases"])
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; cases: {', '.join(CASES)}")
    print(f"compmodel from {cm.__file__}", file=sys.stderr)
    now, then = meta(), golden["meta"]
    for key in ("python", "numpy", "scipy", "pandas", "numba", "cpu"):
        if now[key] != then[key]:
            print(f"note: {key} {then[key]} when recorded, {now[key]} now", file=sys.stderr)
    new = compute_cases(names, fresh=not args.in_process, jobs=args.jobs)
    exact = [n for n in names if args.tolerance or n not in MOVED]
    diffs = compare_cases(
        golden,
        new,
        exact,
        exact=not args.tolerance,
        lever_atol=args.lever_atol,
        money_rtol=args.money_rtol,
    )
    for name in names:
        if name not in exact and name in golden["cases"]:  # moved on purpose: MOVED says why
            diffs += [
                Difference(("cases", name, *d.path), d.old, d.new, d.abs_diff, d.rel_diff)
                for d in compare_moved(golden["cases"][name], new[name])
            ]
    for d in diffs:
        print(d)
    missing = [n for n in CASES if n not in golden["cases"]]
    if missing and not args.cases:
        print(f"note: cases not in {args.golden}: {missing}", file=sys.stderr)
    mode = "within tolerance" if args.tolerance else "bit for bit"
    print(
        f"{len(diffs)} difference(s) in {len(names)} case(s) against {args.golden} ({mode})",
        file=sys.stderr,
    )
    return 1 if diffs else 0


def _case(args: argparse.Namespace) -> int:
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the JSON only
        result = compute_case(args.name)
    sys.stdout.write(json.dumps({"compmodel": cm.__file__, "result": result}, allow_nan=False))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="compute every case (a fresh process each) and write")
    rec.add_argument("golden", help="the golden file to write")
    rec.add_argument("--cases", nargs="+", choices=CASES, help="only these cases")
    rec.add_argument("--jobs", type=int, default=1, help="cases run at once (default 1)")
    rec.set_defaults(run=_record)
    chk = sub.add_parser("check", help="recompute and compare with a golden file")
    chk.add_argument("golden", help="the golden file to compare with")
    chk.add_argument("--cases", nargs="+", help="only these cases (default: the file's)")
    chk.add_argument("--in-process", action="store_true", help="every case in this process")
    chk.add_argument("--jobs", type=int, default=1, help="fresh processes at once (default 1)")
    chk.add_argument("--tolerance", action="store_true", help="compare within tolerances")
    chk.add_argument("--lever-atol", type=float, default=1e-8, help="with --tolerance")
    chk.add_argument("--money-rtol", type=float, default=1e-8, help="with --tolerance")
    chk.set_defaults(run=_check)
    one = sub.add_parser("case", help="compute one case; its JSON on stdout")
    one.add_argument("name", choices=CASES)
    one.set_defaults(run=_case)
    lst = sub.add_parser("list", help="the case names")
    lst.set_defaults(run=lambda _: print("\n".join(CASES)) or 0)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
