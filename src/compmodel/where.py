"""Where a proposed pay plan pays off, and how likely it is to.

Three questions a CFO asks of a proposal against today's plans:

* :func:`where_it_pays` - over a grid of two uncertain parameters, moved together in
  both scenarios, what is the proposal's gain, and where is it zero (the line between
  the region where the proposal pays and where it does not)?
* :func:`chance_it_pays` - with every parameter that has a stated range drawn from a
  prior built from that range, how likely is the gain to be positive?
* :func:`compmodel.gain_split` (in :mod:`compmodel.profit`) - how much of the gain is
  the plan change and how much the bridges, whatever order they are made in.

The gain
--------
Every function takes ``gain``: how much better the proposal is than today, in the
scenario's currency.

* ``None`` (default) or ``"npv"``: the net present value over the horizon of the
  proposal's operating profit minus today's steady-state operating profit,
  ``compmodel.dynamics.pnl(proposal, start=today).npv_gain`` (the dynamics module, with
  its own defaults for the horizon and the discount rate).
* ``"operating_profit"``: ``solve(proposal).operating_profit -
  solve(today).operating_profit`` (currency per period, steady state).
* a function ``gain(today, proposal) -> float`` of two scenarios. To run on a process
  pool or a dask cluster it must pickle: define it at module level (not a lambda).

Every point is evaluated on its own (each solve from the solver's fixed starting
profiles), so the numbers do not depend on the order of the points or on the executor
that ran them: pass any :class:`concurrent.futures.Executor` and the answer is the
serial one.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib.util
import math
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import contourpy
import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from . import validate
from .errors import ConvergenceError, ScenarioError
from .paths import bounds as _path_bounds
from .paths import choices as _path_choices
from .paths import ranged_paths, stated_range, with_range_widened
from .paths import rescales as _path_rescales
from .scenario import Coefficient, Scenario
from .sensitivity import _map
from .solve import solve

__all__ = [
    "GAINS",
    "ChancePays",
    "Prior",
    "WherePays",
    "chance_it_pays",
    "prior_of",
    "where_it_pays",
]

Gain = Callable[[Scenario, Scenario], float]
#: A parameter: a path (spanning its stated range) or ``(path, low, high)``.
Axis = str | tuple[str, float, float]

#: The largest grid side (101 x 101 points, two solves each by default).
MAX_GRID = 101
#: The most draws :func:`chance_it_pays` takes.
MAX_DRAWS = 100_000
#: z of the 95% quantile of a standard normal: a stated range is the central 90%.
_Z95 = float(stats.norm.ppf(0.95))
_COEF = "company.coefficients."


# --------------------------------------------------------------------------------------
# the gain
# --------------------------------------------------------------------------------------
def _npv_gain(today: Scenario, proposal: Scenario) -> float:
    """Net present value over the horizon of the proposal's operating profit minus
    today's steady-state operating profit (currency), by :mod:`compmodel.dynamics`."""
    from .dynamics import pnl  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return float(pnl(proposal, start=today).npv_gain)


def _operating_profit_gain(today: Scenario, proposal: Scenario) -> float:
    """Steady-state operating profit of the proposal minus today's (currency per period)."""
    return float(solve(proposal).operating_profit - solve(today).operating_profit)


#: The gains chosen by name (each a module-level function, so it pickles).
GAINS: dict[str, Gain] = {"npv": _npv_gain, "operating_profit": _operating_profit_gain}


def _gain_of(gain: Gain | str | None) -> tuple[Gain, str]:
    """The gain function and its name for the results."""
    if gain is None or gain == "npv":
        if importlib.util.find_spec(f"{__package__}.dynamics") is None:
            raise ScenarioError(
                "gain",
                "the default gain (the net present value, 'npv') needs "
                "compmodel.dynamics, which this installation does not have yet; pass "
                "gain='operating_profit' (steady state) or a function gain(today, proposal)",
            )
        return _npv_gain, "npv"
    if isinstance(gain, str):
        if gain not in GAINS:
            raise ScenarioError(
                "gain",
                f"is {gain!r}; allowed: {', '.join(repr(g) for g in GAINS)}, None (the "
                "net present value, 'npv') or a function gain(today, proposal) -> float",
            )
        return GAINS[gain], gain
    if not callable(gain):
        raise ScenarioError(
            "gain",
            f"is {type(gain).__name__}; give None, one of {list(GAINS)} or a function "
            "gain(today, proposal) -> float defined at module level",
        )
    return gain, str(getattr(gain, "__qualname__", None) or repr(gain))


def _check_executor(executor: cf.Executor | None, gain: Gain) -> None:
    if executor is None:
        return
    if not isinstance(executor, cf.Executor):
        raise ScenarioError(
            "executor",
            f"is {type(executor).__name__}; give a concurrent.futures.Executor (e.g. "
            "ProcessPoolExecutor(2), or a dask Client(...).get_executor()) or None",
        )
    if isinstance(executor, cf.ThreadPoolExecutor):
        return  # threads share the function: nothing is pickled
    try:
        pickle.dumps(gain)
    except Exception as err:  # pickle raises several types for one cause
        raise ScenarioError(
            "gain",
            f"{getattr(gain, '__qualname__', gain)!r} cannot be sent to the executor's "
            f"workers ({type(err).__name__}: {err}); define it at module level (not a "
            "lambda or a function inside another), or pass gain='operating_profit'",
        ) from None


def _where_at(values: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{p} = {v:.6g}" for p, v in values)


def _gain_at(gain: Gain, today: Scenario, proposal: Scenario, where: str) -> float:
    """``gain(today, proposal)`` as a finite float, errors naming the point."""
    try:
        g = gain(today, proposal)
    except ConvergenceError as err:
        raise ConvergenceError(f"at {where}: {err}") from err
    except ScenarioError as err:
        raise ScenarioError(err.field, f"{err.detail} (at {where})") from err
    try:
        out = float(g)
    except (TypeError, ValueError):
        raise ScenarioError(
            "gain", f"returned {g!r} at {where}; a gain is a number (currency)"
        ) from None
    if not math.isfinite(out):
        raise ScenarioError(
            "gain", f"returned {out} at {where}; a gain is a finite amount (currency)"
        )
    return out


# --------------------------------------------------------------------------------------
# checking arguments
# --------------------------------------------------------------------------------------
def _whole(value: object, name: str, low: int, high: int, example: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ScenarioError(
            name, f"is {value!r}; allowed: a whole number from {low} to {high}, e.g. {example}"
        )
    if not low <= int(value) <= high:
        raise ScenarioError(name, f"is {int(value)}; allowed: {low} to {high}, e.g. {example}")
    return int(value)


def _finite(value: object, where: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ScenarioError(where, f"must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ScenarioError(where, f"must be finite, got {v}")
    return v


def _coefficient(scenario: Scenario, path: str) -> Coefficient | None:
    if not path.startswith(_COEF):
        return None
    return scenario.company.coefficients.get(path[len(_COEF) :])


def _numeric_path(scenario: Scenario, path: object, where: str) -> str:
    """``path`` if it addresses a number of ``scenario`` (else the error names the fix)."""
    if not isinstance(path, str):
        raise ScenarioError(
            where,
            f"a parameter is a path such as 'company.coefficients.load_knee' or a tuple "
            f"(path, low, high); got {path!r}",
        )
    if _path_choices(scenario, path) is not None:
        raise ScenarioError(
            f"{where}[{path!r}]",
            "takes a name (a crediting metric), not a number; compare the names with "
            f"compmodel.sweep(scenario, {{{path!r}: [...]}})",
        )
    scenario.get(path)  # an unknown path raises ParameterPathError with suggestions
    return path


def _sourced_range(scenario: Scenario, path: str) -> tuple[float, float] | None:
    """The range a source states for the number at ``path`` (a coefficient, a lever's
    cost, a team identification, a setting written as a table), else ``None``."""
    return stated_range(scenario, path)


def _stated_range(scenario: Scenario, path: str) -> tuple[float, float] | None:
    coef = _coefficient(scenario, path)
    if coef is not None:
        return None if coef.range is None else (float(coef.range[0]), float(coef.range[1]))
    return _path_bounds(scenario, path)


# --------------------------------------------------------------------------------------
# where it pays: the grid
# --------------------------------------------------------------------------------------
def _axis(
    today: Scenario, proposal: Scenario, spec: object, grid: int, name: str
) -> tuple[str, np.ndarray]:
    """The path and grid values of one axis (``name`` is ``"x"`` or ``"y"``)."""
    if isinstance(spec, tuple):
        if len(spec) != 3:
            raise ScenarioError(
                name,
                f"a tuple is (path, low, high), e.g. ('company.coefficients.load_knee', "
                f"0.82, 0.88); got {spec!r}",
            )
        path = _numeric_path(today, spec[0], name)
        proposal.get(path)
        low = _finite(spec[1], f"{name}[{path!r}].low")
        high = _finite(spec[2], f"{name}[{path!r}].high")
        if not low < high:
            raise ScenarioError(f"{name}[{path!r}]", f"low {low:g} must be below high {high:g}")
        for s in (today, proposal):
            rng = _stated_range(s, path)
            if rng is not None and not (rng[0] <= low and high <= rng[1]):
                raise ScenarioError(
                    f"{name}[{path!r}]",
                    f"spans [{low:g}, {high:g}], outside its stated range [{rng[0]:g}, "
                    f"{rng[1]:g}] in {s.name!r}: with_value refuses values outside a "
                    f"stated range. Give (path, low, high) with {rng[0]:g} <= low < high "
                    f"<= {rng[1]:g}, or widen the range in the company file (with its "
                    "source)",
                )
        return path, np.linspace(low, high, grid)
    path = _numeric_path(today, spec, name)
    proposal.get(path)
    rng = _stated_range(today, path)
    if rng is None or not rng[0] < rng[1]:
        raise ScenarioError(
            f"{name}[{path!r}]",
            "has no stated range to span; give it as (path, low, high), e.g. "
            f"({path!r}, {_example_ends(today, path)}), or choose a coefficient with a "
            "range (company.coefficients.<name> = {value, unit, range, source})",
        )
    return path, np.linspace(rng[0], rng[1], grid)


def _example_ends(scenario: Scenario, path: str) -> str:
    v = float(scenario.get(path))
    if v == 0.0:
        return "0.0, 1.0"
    return f"{0.8 * v:.4g}, {1.2 * v:.4g}"


def _set_pair(
    today: Scenario, proposal: Scenario, values: Sequence[tuple[str, float]]
) -> tuple[Scenario, Scenario]:
    settings = dict(values)
    return today.with_values(settings), proposal.with_values(settings)


@dataclass(frozen=True)
class _GridRun:
    today: Scenario
    proposal: Scenario
    x_path: str
    y_path: str
    points: tuple[tuple[float, float], ...]  # (x, y)
    gain: Gain


def _grid_run(task: _GridRun) -> list[float]:
    """The gain at a run of grid points (top level, so process pools can ship it)."""
    out = []
    for xv, yv in task.points:
        values = ((task.x_path, xv), (task.y_path, yv))
        t, p = _set_pair(task.today, task.proposal, values)
        out.append(_gain_at(task.gain, t, p, _where_at(values)))
    return out


def _chunks(n: int) -> int:
    """Points per task: about 64 tasks, so an executor ships the scenarios once per task
    rather than once per point."""
    return max(1, n // 64)


def _zero_lines(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """The polylines where ``z`` (rows ``y``, columns ``x``) is 0, by contourpy (linear
    interpolation along the grid's edges, as matplotlib draws contours)."""
    if not (np.any(z > 0.0) and np.any(z < 0.0)):
        return ()
    gen = contourpy.contour_generator(x=x, y=y, z=z, line_type=contourpy.LineType.Separate)
    lines = gen.lines(0.0)
    out = []
    for line in lines:  # LineType.Separate: one (n, 2) array of (x, y) per polyline
        arr = np.array(line, dtype=float)
        arr.setflags(write=False)
        out.append(arr)
    return tuple(out)


def _frozen(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class WherePays:
    """The proposal's gain over a grid of two parameters, and where it is zero.

    Attributes
    ----------
    today, proposal
        The scenarios' names.
    x_path, y_path
        The parameter paths moved (each set to the same value in both scenarios).
    x_values, y_values
        The grid (in each parameter's unit), ascending.
    gain
        The gain at each point (currency; per period for ``"operating_profit"``, a
        present value for ``"npv"``): ``gain[i, j]`` is at ``y_values[i]``,
        ``x_values[j]`` (rows y, columns x). Read-only.
    zero_contour
        The polylines where the gain is 0, each an ``(n, 2)`` array of ``(x, y)``,
        linearly interpolated between grid points (contourpy); empty when the gain
        keeps one sign over the grid.
    seconds
        Wall time of the whole call (s).
    points
        Grid points evaluated (``grid ** 2``).
    gain_name
        ``"npv"``, ``"operating_profit"`` or the gain function's name.
    currency, period, kind
        Today's currency, period and company kind (for labels and charts).
    notes
        How the grid was chosen and what the zero line shows.
    """

    today: str
    proposal: str
    x_path: str
    y_path: str
    x_values: np.ndarray
    y_values: np.ndarray
    gain: np.ndarray
    zero_contour: tuple[np.ndarray, ...]
    seconds: float
    points: int
    gain_name: str
    currency: str
    period: str
    kind: str
    notes: tuple[str, ...]

    @property
    def share_positive(self) -> float:
        """Fraction of grid points where the gain is above zero (0 to 1)."""
        return float(np.count_nonzero(self.gain > 0.0)) / self.gain.size

    def frame(self) -> pd.DataFrame:
        """Tidy: one row per grid point, y varying slowest.

        Columns: the two paths (their values), ``gain`` (currency) and ``positive``
        (gain > 0). ``attrs`` hold the scenario names, the gain's name and currency.
        """
        yy, xx = np.meshgrid(self.y_values, self.x_values, indexing="ij")
        out = pd.DataFrame(
            {
                self.x_path: xx.ravel(),
                self.y_path: yy.ravel(),
                "gain": self.gain.ravel(),
                "positive": self.gain.ravel() > 0.0,
            }
        )
        out.attrs.update(
            {
                "today": self.today,
                "proposal": self.proposal,
                "gain": self.gain_name,
                "currency": self.currency,
            }
        )
        return out


def where_it_pays(
    today: Scenario,
    proposal: Scenario,
    x: Axis,
    y: Axis,
    *,
    grid: int = 21,
    executor: cf.Executor | None = None,
    gain: Gain | str | None = None,
    progress: bool | None = None,
) -> WherePays:
    """The proposal's gain over a grid of two parameters, and the line where it is zero.

    Parameters
    ----------
    today, proposal
        Scenarios of one company model: today's plans and the proposed ones.
    x, y
        The two parameters, each moved to the same value in both scenarios: a
        parameter path (e.g. ``"company.coefficients.load_knee"``), which spans its
        stated range (a coefficient's ``range``; a clawback share's 0 to 1), or a tuple
        ``(path, low, high)`` for part of that range or for a path without one (values
        outside a stated range are refused, as :meth:`Scenario.with_value` refuses them).
    grid
        Points per axis, 2 to 101 (``grid ** 2`` points in all, each evaluating the gain
        once: two solves for ``"operating_profit"``).
    executor
        Any :class:`concurrent.futures.Executor` to evaluate points in parallel (a
        ``ProcessPoolExecutor``, or a dask ``Client(...).get_executor()``); ``None``
        evaluates them one after another. Results do not depend on it.
    gain
        ``None`` (default) or ``"npv"``: the net present value of the proposal's gain
        by :func:`compmodel.dynamics.pnl`; ``"operating_profit"``: steady-state
        operating profit, proposal minus today (currency per period); or a function
        ``gain(today, proposal) -> float`` (module-level to run on a process pool).
    progress
        ``None`` (default): a progress bar on a terminal or in a notebook, none when
        output is captured; ``True`` always; ``False`` never.

    Returns
    -------
    WherePays
        The grid, the gain (rows y, columns x), the zero line, ``share_positive`` and
        the wall time; ``frame()`` gives it as a tidy table.

    Raises
    ------
    ScenarioError
        For an unknown path (the message suggests the nearest), a path that takes a
        name, a path without a stated range given alone, a tuple outside the stated
        range, the same path twice, ``grid`` outside 2..101, an unknown gain, or a gain
        that does not pickle for a process pool (all before anything is solved).
    ConvergenceError
        If a point does not settle (its parameter values are named).

    Examples
    --------
    >>> pays = where_it_pays(today, aligned, "company.coefficients.load_knee",
    ...                      "company.coefficients.customer_otif", grid=11,
    ...                      gain="operating_profit")  # doctest: +SKIP
    >>> pays.share_positive, len(pays.zero_contour)  # doctest: +SKIP
    """
    start = time.perf_counter()
    n = _whole(grid, "grid", 2, MAX_GRID, "21")
    fn, gain_name = _gain_of(gain)
    _check_executor(executor, fn)
    x_path, xs = _axis(today, proposal, x, n, "x")
    y_path, ys = _axis(today, proposal, y, n, "y")
    if x_path == y_path:
        raise ScenarioError(
            "y", f"is the same path as x ({x_path!r}); choose two different parameters"
        )
    points = tuple((float(xv), float(yv)) for yv in ys for xv in xs)  # y slowest
    # every point's settings are checked before any solving (a weight or share
    # rescales others, so their combination decides what is allowed)
    rescaling = _path_rescales(today, x_path) or _path_rescales(today, y_path)
    to_check = (
        points
        if rescaling
        else [(xv, float(ys[0])) for xv in xs] + [(float(xs[0]), yv) for yv in ys]
    )
    for xv, yv in to_check:
        _set_pair(today, proposal, ((x_path, xv), (y_path, yv)))
    width = _chunks(len(points))
    runs = [
        _GridRun(today, proposal, x_path, y_path, points[i : i + width], fn)
        for i in range(0, len(points), width)
    ]
    sizes = [len(r.points) for r in runs]
    values = [g for run in _map(_grid_run, runs, executor, progress, "where it pays", sizes)
              for g in run]  # fmt: skip
    z = np.asarray(values, dtype=float).reshape(n, n)
    lines = _zero_lines(xs, ys, z)
    notes = []
    for name, path, spec in (("x", x_path, x), ("y", y_path, y)):
        how = "the given values" if isinstance(spec, tuple) else "its stated range"
        notes.append(f"{name}: {path} over {how}")
    if not lines:
        sign = "positive" if np.all(z > 0.0) else "negative" if np.all(z < 0.0) else "0 or one sign"
        notes.append(f"the gain is {sign} over the whole grid: no zero line")
    return WherePays(
        today=today.name,
        proposal=proposal.name,
        x_path=x_path,
        y_path=y_path,
        x_values=_frozen(xs),
        y_values=_frozen(ys),
        gain=_frozen(z),
        zero_contour=lines,
        seconds=time.perf_counter() - start,
        points=len(points),
        gain_name=gain_name,
        currency=today.currency,
        period=today.period,
        kind=today.company.kind,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------
# chance it pays: priors from stated ranges
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prior:
    """A parameter's prior, built from its stated range.

    A stated range is read as the central 90% of what its source supports, so the
    prior puts its 5% and 95% quantiles at the range ends: a normal, or a lognormal
    (a normal in logs) when the value and both ends are above zero and the value sits
    more symmetrically in the range in logs than in levels (the smaller of
    ``|(high - v) - (v - low)| / (high - low)`` and the same in logs). It is then
    truncated to the parameter's valid domain (which moves the quantiles by the mass
    cut off: :attr:`truncated_mass`) and rounded for a whole-number parameter.

    Attributes
    ----------
    path
        The parameter path.
    family
        ``"normal"`` or ``"lognormal"``.
    low, high
        The stated range (the untruncated 5% and 95% quantiles), in the parameter's unit.
    value
        The scenario's value.
    loc, scale
        Mean and standard deviation of the normal (of the log for a lognormal).
    lower, upper
        The valid domain (shares 0 to 1; 0 to infinity for a parameter whose stated
        range lies above 0, or that the scenario format requires non-negative).
    integral
        Whether the parameter is a whole number (a headcount): draws are rounded.
    """

    path: str
    family: Literal["normal", "lognormal"]
    low: float
    high: float
    value: float
    loc: float
    scale: float
    lower: float
    upper: float
    integral: bool

    def _cut(self) -> tuple[float, float]:
        """Standard-normal probabilities of the domain's ends."""
        lo, hi = self.lower, self.upper
        if self.family == "lognormal":
            lo = math.log(lo) if lo > 0.0 else -math.inf
            hi = math.log(hi) if hi > 0.0 else -math.inf
        a = float(stats.norm.cdf((lo - self.loc) / self.scale))
        b = float(stats.norm.cdf((hi - self.loc) / self.scale))
        return a, b

    @property
    def truncated_mass(self) -> float:
        """Probability the untruncated prior puts outside the valid domain (0 to 1)."""
        a, b = self._cut()
        return a + (1.0 - b)

    def ppf(self, q: Any) -> np.ndarray:
        """The prior's quantiles at probabilities ``q`` (in the parameter's unit)."""
        p = np.asarray(q, dtype=float)
        a, b = self._cut()
        z = stats.norm.ppf(a + p * (b - a)) if (a, b) != (0.0, 1.0) else stats.norm.ppf(p)
        x = self.loc + self.scale * z
        if self.family == "lognormal":
            x = np.exp(x)
        x = np.clip(x, self.lower, self.upper)  # rounding at a domain's end
        if self.integral:
            x = np.clip(np.round(x), np.ceil(self.lower), np.floor(self.upper))
        return np.asarray(x, dtype=float)

    def cdf(self, x: Any) -> np.ndarray:
        """Probability the (truncated) prior is at or below ``x`` (0 to 1)."""
        v = np.asarray(x, dtype=float)
        a, b = self._cut()
        with np.errstate(divide="ignore"):
            t = np.log(np.maximum(v, 0.0)) if self.family == "lognormal" else v
        u = stats.norm.cdf((t - self.loc) / self.scale)
        return np.asarray(np.clip((u - a) / (b - a), 0.0, 1.0), dtype=float)


def _is_share_unit(unit: str) -> bool:
    u = unit.strip().lower()
    return u in ("share", "fraction") or (u.startswith("share of") and " per " not in u)


def _domain(scenario: Scenario, path: str) -> tuple[float, float, bool]:
    """``(lower, upper, integral)``: what values the parameter may take."""
    coef = _coefficient(scenario, path)
    if coef is not None:
        if _is_share_unit(coef.unit):
            return 0.0, 1.0, False
        if coef.range is not None and coef.range[0] > 0.0:
            return 0.0, math.inf, False  # a source that supports only positive values
        return -math.inf, math.inf, False
    derived = _path_bounds(scenario, path)
    if derived is not None:
        return float(derived[0]), float(derived[1]), False
    if _path_rescales(scenario, path):  # a weight or a shared share
        return 0.0, 1.0, False
    parts = path.split(".")
    rule: dict[str, Any] | None = None
    if parts[0] == "settings" and len(parts) == 2:
        rule = dict(validate.SETTINGS.get(parts[1], {}))
    elif parts[0] == "bridges":
        rule = dict(validate.BRIDGE)
    elif parts[:2] == ["company", "levers"] and len(parts) == 5:
        rule = dict(validate.LEVER.get(parts[4], {}))
    elif parts[0] == "forecast" and len(parts) == 3:
        rule = dict(validate.FORECAST.get(parts[2], {}))
    elif len(parts) == 2 and parts[0] in scenario.departments:
        rule = dict(validate.DEPARTMENT.get(parts[1], {}))
    if rule is None:
        return -math.inf, math.inf, False
    lo = float(rule.get("low", -math.inf))
    hi = float(rule.get("high", math.inf))
    return lo, hi, parts[-1] in ("headcount", "horizon")


def _family(value: float, low: float, high: float) -> Literal["normal", "lognormal"]:
    if min(value, low, high) <= 0.0:
        return "normal"
    levels = abs((high - value) - (value - low)) / (high - low)
    logs = abs(math.log(high / value) - math.log(value / low)) / math.log(high / low)
    return "lognormal" if logs < levels else "normal"


def prior_of(scenario: Scenario, parameter: Axis) -> Prior:
    """The prior :func:`chance_it_pays` draws a parameter from.

    Parameters
    ----------
    scenario
        The scenario whose value, stated range and domain are read (today's plans).
    parameter
        A path with a stated range (``"company.coefficients.load_knee"``, a lever's
        ``cost``, a ``team_identification``, ``settings.horizon`` ...),
        or ``(path, low, high)``: any numeric path with the central 90% of what you
        believe of it (for a coefficient, this replaces its stated range).

    Raises
    ------
    ScenarioError
        For an unknown path, a path that takes a name, a path without a stated range
        given alone, ``low >= high`` or a range outside the parameter's domain.
    """
    if isinstance(parameter, tuple):
        if len(parameter) != 3:
            raise ScenarioError(
                "paths",
                "a tuple is (path, low, high): the central 90% of what its source "
                f"supports, e.g. ('company.coefficients.load_knee', 0.8, 0.9); got {parameter!r}",
            )
        path = _numeric_path(scenario, parameter[0], "paths")
        low = _finite(parameter[1], f"paths[{path!r}].low")
        high = _finite(parameter[2], f"paths[{path!r}].high")
    else:
        path = _numeric_path(scenario, parameter, "paths")
        stated = _sourced_range(scenario, path)
        if stated is None:
            raise ScenarioError(
                f"paths[{path!r}]",
                "has no stated range, so it has no prior; give "
                f"({path!r}, low, high) with the central 90% of what its source "
                "supports, write it in the file as {value, unit, range, source}, or "
                "leave it out",
            )
        low, high = stated
    if not low < high:
        raise ScenarioError(
            f"paths[{path!r}]",
            f"range [{low:g}, {high:g}] is empty; a prior needs low < high (a parameter "
            "known exactly is no uncertainty: leave it out)",
        )
    lower, upper, integral = _domain(scenario, path)
    if high <= lower or low >= upper:
        raise ScenarioError(
            f"paths[{path!r}]",
            f"range [{low:g}, {high:g}] lies outside the values it may take "
            f"[{lower:g}, {upper:g}]; give a range inside them",
        )
    value = float(scenario.get(path))
    family = _family(value, low, high)
    if family == "lognormal":
        loc = 0.5 * (math.log(low) + math.log(high))
        scale = (math.log(high) - math.log(low)) / (2.0 * _Z95)
    else:
        loc = 0.5 * (low + high)
        scale = (high - low) / (2.0 * _Z95)
    return Prior(path, family, low, high, value, loc, scale, lower, upper, integral)


def _with_unchecked(s: Scenario, values: dict[str, float]) -> Scenario:
    """``s`` with coefficients set to ``values`` (by name), each range widened to hold
    its value (as :func:`compmodel.profit._with_unchecked` does for breakevens): a draw
    beyond a stated range is still a value the model can evaluate."""
    if not values:
        return s
    coefs = dict(s.company.coefficients)
    for name, v in values.items():
        c = coefs[name]
        lo, hi = c.range if c.range is not None else (v, v)
        coefs[name] = dataclasses.replace(c, value=v, range=(min(lo, v), max(hi, v)))
    return dataclasses.replace(s, company=dataclasses.replace(s.company, coefficients=coefs))


def _set_draw(s: Scenario, values: Sequence[tuple[str, float]]) -> Scenario:
    coefs = {p[len(_COEF) :]: v for p, v in values if _coefficient(s, p) is not None}
    others = {p: v for p, v in values if _coefficient(s, p) is None}
    out = _with_unchecked(s, coefs)
    for p, v in others.items():  # a prior's tails go beyond the stated range
        out = with_range_widened(out, p, v)
    return out.with_values(others) if others else out


@dataclass(frozen=True)
class _DrawRun:
    today: Scenario
    proposal: Scenario
    paths: tuple[str, ...]
    draws: tuple[tuple[float, ...], ...]
    gain: Gain
    first: int  # the row of the first draw in the draws table


def _draw_run(task: _DrawRun) -> list[tuple[float, str]]:
    """The gain at a run of draws, and why a draw did not settle ("" when it did).

    Top level, so process pools can ship it. A draw whose equilibrium does not settle is
    recorded (gain NaN, the solver's message) rather than stopping the study: one
    unsettled corner of a wide prior says nothing about the other draws.
    """
    out: list[tuple[float, str]] = []
    for k, row in enumerate(task.draws):
        values = tuple(zip(task.paths, row, strict=True))
        t, p = _set_draw(task.today, values), _set_draw(task.proposal, values)
        where = f"draw {task.first + k} (row {task.first + k} of the draws table)"
        try:
            out.append((_gain_at(task.gain, t, p, where), ""))
        except ConvergenceError as err:
            out.append((math.nan, str(err)))
    return out


@dataclass(frozen=True, eq=False)
class ChancePays:
    """How likely the proposal's gain is to be positive, the parameters uncertain.

    Attributes
    ----------
    today, proposal
        The scenarios' names.
    probability
        Share of the settled draws with gain > 0 (0 to 1).
    standard_error
        Its binomial standard error, ``sqrt(p (1 - p) / settled)`` (0 when every draw
        agrees). Latin hypercube draws are stratified, so this overstates the sampling
        error.
    n, seed
        Draws and the seed of the Latin hypercube (the same seed gives the same numbers).
    unsettled
        Draws whose equilibrium did not settle: excluded from ``probability``, listed
        in ``draws`` with ``gain`` NaN and the solver's message in ``unsettled``.
    paths
        The parameters drawn, in the order of the hypercube's columns.
    draws
        One row per draw: each parameter's value (its unit), ``gain`` (currency; NaN
        where the draw did not settle) and ``unsettled`` (the solver's message, or "").
    priors
        Each parameter's :class:`Prior`.
    seconds
        Wall time of the whole call (s).
    gain_name, currency, period
        What the gain is and its unit.
    """

    today: str
    proposal: str
    probability: float
    standard_error: float
    n: int
    seed: int
    unsettled: int
    paths: tuple[str, ...]
    draws: pd.DataFrame
    priors: tuple[Prior, ...]
    seconds: float
    gain_name: str
    currency: str
    period: str

    def summary(self) -> str:
        """One sentence: how likely the proposal pays, and the median gain."""
        median = float(np.nanmedian(self.draws["gain"]))
        unit = self.currency if self.gain_name == "npv" else f"{self.currency} per {self.period}"
        k = len(self.paths)
        settled = self.n - self.unsettled
        missing = (
            f" {self.unsettled} draw{'s' if self.unsettled != 1 else ''} did not settle "
            "and are left out (see draws['unsettled'])."
            if self.unsettled
            else ""
        )
        return (
            f"{self.proposal} beats {self.today} in {self.probability:.0%} of {settled} "
            f"draws (standard error {self.standard_error:.0%}) of {k} uncertain "
            f"parameter{'s' if k != 1 else ''} drawn from their stated ranges; the median "
            f"gain ({self.gain_name}) is {median:,.0f} {unit}.{missing}"
        )


def chance_it_pays(
    today: Scenario,
    proposal: Scenario,
    *,
    n: int = 200,
    seed: int = 0,
    paths: Sequence[Axis] | None = None,
    executor: cf.Executor | None = None,
    gain: Gain | str | None = None,
    progress: bool | None = None,
) -> ChancePays:
    """The probability that the proposal's gain is positive, the parameters uncertain.

    Each parameter with a stated range is an independent prior (:func:`prior_of`): its
    range is the central 90% of what its source supports, so the prior's 5% and 95%
    quantiles are the range ends; normal, or lognormal where the value sits more
    symmetrically in the range in logs than in levels; truncated to the valid domain
    (shares 0 to 1, positive where the stated range is); whole numbers rounded. The
    draws are a Latin hypercube (``scipy.stats.qmc.LatinHypercube``, seeded with
    ``numpy.random.default_rng(seed)``) mapped through the priors' inverse CDFs, and
    each draw sets the same values in both scenarios. Coefficients are set with their
    ranges widened to hold the draw (a prior's tails go beyond its range), so every
    draw is evaluated.

    Parameters
    ----------
    today, proposal
        Scenarios of one company model. Values, ranges and domains are read from today.
    n
        Draws, 2 to 100,000 (each evaluates the gain once: two solves for
        ``"operating_profit"``).
    seed
        A whole number >= 0; the same seed gives the same draws and the same answer.
    paths
        The parameters to draw: coefficient paths with a stated range, or ``(path, low,
        high)`` with the central 90% you believe (any numeric path). Default: every
        number with a stated range (:func:`compmodel.paths.ranged_paths`: coefficients,
        lever effort costs, team identification, horizon and discount rate).
    executor, gain, progress
        As in :func:`where_it_pays`; results do not depend on the executor.

    Returns
    -------
    ChancePays
        ``probability``, ``standard_error``, the draws and the priors; ``summary()``.

    Raises
    ------
    ScenarioError
        For an unknown path, a path without a stated range given alone, a path listed
        twice, ``n`` outside 2..100,000, a seed that is not a whole number >= 0, an
        unknown gain or one that does not pickle for a process pool (before any solving).
    ConvergenceError
        If no draw settles (a draw that does not settle is recorded in ``draws`` and
        counted in ``unsettled``; the probability is over the draws that settled).
    """
    start = time.perf_counter()
    count = _whole(n, "n", 2, MAX_DRAWS, "200")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ScenarioError("seed", f"is {seed!r}; allowed: a whole number >= 0, e.g. 0")
    fn, gain_name = _gain_of(gain)
    _check_executor(executor, fn)
    if paths is None:
        specs: list[Axis] = list(ranged_paths(today))
        if not specs:
            raise ScenarioError(
                "paths",
                "today's scenario has no number with a stated range; give paths as "
                "(path, low, high), e.g. [('sales.target_incentive', 0.2, 0.4)]",
            )
    elif isinstance(paths, str):
        specs = [paths]  # one parameter
    else:
        specs = list(paths)
        if not specs:
            raise ScenarioError(
                "paths", "is empty; give at least one parameter, or None for every range"
            )
    priors = tuple(prior_of(today, spec) for spec in specs)
    names = tuple(p.path for p in priors)
    if len(set(names)) != len(names):
        twice = sorted({p for p in names if names.count(p) > 1})
        raise ScenarioError("paths", f"list each parameter once; twice: {twice}")
    for p in names:
        proposal.get(p)  # the path must exist in both
    engine = qmc.LatinHypercube(d=len(priors), seed=np.random.default_rng(int(seed)))
    u = engine.random(count)
    table = np.column_stack([prior.ppf(u[:, k]) for k, prior in enumerate(priors)])
    rows = tuple(tuple(float(v) for v in row) for row in table)
    # settings that are not coefficients are checked before any solving
    checked = [k for k, p in enumerate(names) if _coefficient(today, p) is None]
    if checked:
        for row in rows:
            values = [(names[k], row[k]) for k in checked]
            _set_draw(today, values)
            _set_draw(proposal, values)
    width = _chunks(len(rows))
    runs = [
        _DrawRun(today, proposal, names, rows[i : i + width], fn, i)
        for i in range(0, len(rows), width)
    ]
    sizes = [len(r.draws) for r in runs]
    results = [
        g for run in _map(_draw_run, runs, executor, progress, "chance it pays", sizes)
        for g in run
    ]  # fmt: skip
    gains = np.asarray([g for g, _ in results], dtype=float)
    draws = pd.DataFrame(table, columns=list(names))
    draws["gain"] = gains
    draws["unsettled"] = [why for _, why in results]
    settled = int(np.count_nonzero(np.isfinite(gains)))
    if settled == 0:
        raise ConvergenceError(
            f"none of the {count} draws settled; the first: {results[0][1]}. Narrow the "
            "ranges (paths=[(path, low, high), ...]) or check the scenarios solve alone"
        )
    prob = float(np.count_nonzero(gains > 0.0)) / settled
    return ChancePays(
        today=today.name,
        proposal=proposal.name,
        probability=prob,
        standard_error=math.sqrt(prob * (1.0 - prob) / settled),
        n=count,
        seed=int(seed),
        unsettled=count - settled,
        paths=names,
        draws=draws,
        priors=priors,
        seconds=time.perf_counter() - start,
        gain_name=gain_name,
        currency=today.currency,
        period=today.period,
    )
