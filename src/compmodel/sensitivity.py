"""Sweeps and sensitivity: how the equilibrium moves with a plan setting or a coefficient.

* :func:`sweep` solves a scenario on a grid of one or two parameter paths (any number
  the scenario holds: a weight, a cap, a threshold, ``<dept>.shared_share``, the target
  incentive, ``bridges.<name>``, ``company.coefficients.<name>``) and returns a tidy
  frame of levers, metrics, pay, profit, surplus, efficiency and solver diagnostics.
* :func:`tornado` moves each coefficient across its stated range, one at a time, and
  ranks them by the swing they cause in a figure (operating profit by default), with
  the breakeven value wherever the figure crosses zero. Levers' effort costs and
  departments' team identification written with a range (``{value, unit, range,
  source}``, like a coefficient) are moved too.

Every grid point is solved on its own, from the solver's fixed starting profiles, so
the frame does not depend on the order of the points or on the executor that ran them:
pass any :class:`concurrent.futures.Executor` (a process pool, or a dask.distributed
``Client(...).get_executor()`` for sweeps that outgrow one machine) and the numbers are
the same as in a serial run.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize

from .errors import ConvergenceError, ScenarioError
from .paths import bounds as _path_bounds
from .paths import choices as _path_choices
from .paths import ranged_paths as _ranged_paths
from .paths import rescales as _path_rescales
from .paths import stated_range as _stated_range
from .scenario import Scenario
from .solve import Solution, solve

__all__ = ["FIGURES", "figure_of", "sweep", "tornado"]

#: Company-level figures of a :class:`~compmodel.Solution` (currency per period,
#: except ``alignment_efficiency``, a share).
FIGURES = (
    "operating_profit",
    "total_surplus",
    "gross_value",
    "compensation_bill",
    "payroll_tax",
    "turnover_cost",
    "alignment_efficiency",
)

_PAY = (
    "incentive_mean",
    "incentive_variance",
    "risk_premium",
    "effort_cost",
    "base_pay",
    "expected_pay",
    "certainty_equivalent",
    "retention",
)

GridKey = str | tuple[str, ...]  # a parameter path, or paths moved together


def figure_of(solution: Solution, name: str) -> float:
    """One number of a solution, by name.

    Parameters
    ----------
    solution
        A solved scenario.
    name
        A company figure (``"operating_profit"``, see :data:`FIGURES`), a model outcome
        (``"customer_retention"``, ``"value.rework"``), a metric (``"otif"``,
        as a share for shares), a lever (``"sales.overpromise"``) or a department's pay
        figure (``"sales.expected_pay"``, ``"production.retention"``).

    Raises
    ------
    ScenarioError
        If the name is none of these (the message lists what is available).
    """
    if name in FIGURES:
        v = getattr(solution, name)
        if v is None:
            raise ScenarioError(
                "figure",
                f"{name} is undefined for {solution.scenario!r} "
                f"({'; '.join(solution.diagnostics.notes)}); choose another figure",
            )
        return float(v)
    for table in (solution.outcomes, solution.metrics, solution.levers):
        if name in table:
            return float(table[name])
    dept, _, field = name.partition(".")
    if dept in solution.departments and field in _PAY:
        return float(getattr(solution.departments[dept], field))
    options = (
        list(FIGURES)
        + sorted(solution.outcomes)
        + sorted(solution.metrics)
        + list(solution.levers)
        + [f"{d}.{f}" for d in solution.departments for f in ("expected_pay", "retention")]
    )
    raise ScenarioError(
        "figure",
        f"unknown figure {name!r}; allowed: a company figure {list(FIGURES)}, a model "
        f"outcome, a metric, a lever or '<department>.<pay figure>' such as "
        f"'sales.expected_pay'. Available here: {', '.join(options[:40])}"
        + (" ..." if len(options) > 40 else ""),
    )


# --------------------------------------------------------------------------------------
# running points
# --------------------------------------------------------------------------------------
def _apply(scenario: Scenario, values: Iterable[tuple[str, float | str]]) -> Scenario:
    pairs = list(values)
    if len({p for p, _ in pairs}) == len(pairs):  # distinct paths: set them together
        return scenario.with_values(dict(pairs))
    out = scenario
    for path, value in pairs:
        out = out.with_value(path, value)
    return out


def _rows(sol: Solution) -> list[tuple[str, str, str, float]]:
    rows = sol._records()
    d = sol.diagnostics
    rows += [
        ("diagnostics", "", "converged", float(d.converged)),
        ("diagnostics", "", "sweeps", float(d.iterations)),
        ("diagnostics", "", "residual", float(d.residual)),
        ("diagnostics", "", "equilibria", float(len(d.equilibria))),
    ]
    return rows


def _solve_at(
    scenario: Scenario,
    values: tuple[tuple[str, float | str], ...],
    tol: float,
    follow: Solution | None = None,
) -> Solution:
    try:
        at = _apply(scenario, values)
        if follow is not None:
            return solve(at, tol=tol, warm_start=follow, search="warm")
        return solve(at, tol=tol)
    except ConvergenceError as err:  # name the point that did not settle
        where = ", ".join(f"{p} = {_show(v)}" for p, v in values) or "the base values"
        raise ConvergenceError(f"at {where}: {err}") from err


def _show(v: float | str) -> str:
    return v if isinstance(v, str) else f"{v:g}"


@dataclass(frozen=True)
class _Run:
    scenario: Scenario
    # each point: (path, value) in the order they are set
    points: tuple[tuple[tuple[str, float | str], ...], ...]
    tol: float
    follow: bool  # each point after the first follows the previous equilibrium


def _run(task: _Run) -> list[tuple[list[tuple[str, str, str, float]], tuple[str, ...]]]:
    """Solve a run of points (top level, so process pools and dask can ship it): each
    with the full search, or (``follow``) the first with the full search and each next
    one following the previous equilibrium (``search="warm"``)."""
    out = []
    prev: Solution | None = None
    for values in task.points:
        prev = _solve_at(task.scenario, values, task.tol, follow=prev if task.follow else None)
        out.append((_rows(prev), prev.diagnostics.notes))
    return out


def _progress_bar(total: int, enabled: bool | None, desc: str) -> Any:
    if enabled is False or total <= 1:
        return None
    from tqdm.auto import tqdm  # a widget bar in a notebook, plain text in a terminal

    # disable=None: shown on a terminal or in a notebook, off when output is captured
    return tqdm(total=total, desc=desc, disable=None if enabled is None else False)


def _map(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    executor: cf.Executor | None,
    progress: bool | None,
    desc: str,
    sizes: Sequence[int] | None = None,
) -> list[Any]:
    """``[fn(task) for task in tasks]``, on ``executor`` if given; the bar counts
    ``sizes`` (points per task) when tasks hold several points."""
    steps = list(sizes) if sizes is not None else [1] * len(tasks)
    bar = _progress_bar(sum(steps), progress, desc)
    out: list[Any] = [None] * len(tasks)
    try:
        if executor is None:
            for i, task in enumerate(tasks):
                out[i] = fn(task)
                if bar is not None:
                    bar.update(steps[i])
        else:
            futures = {executor.submit(fn, task): i for i, task in enumerate(tasks)}
            for fut in cf.as_completed(futures):
                i = futures[fut]
                out[i] = fut.result()
                if bar is not None:
                    bar.update(steps[i])
    finally:
        if bar is not None:
            bar.close()
    return out


def _check_values(scenario: Scenario, path: GridKey, values: Any) -> list[float] | list[str]:
    label = path if isinstance(path, str) else " & ".join(path)
    named = [_path_choices(scenario, p) for p in ((path,) if isinstance(path, str) else path)]
    if any(c is not None for c in named):
        allowed = named[0]
        if len(named) > 1 or allowed is None:
            raise ScenarioError(
                f"sweep[{label!r}]",
                "a path that takes a name (crediting) is swept on its own, not moved "
                "together with other paths",
            )
        given = [values] if isinstance(values, str) else list(values)
        bad = [v for v in given if v not in allowed]
        if not given or bad:
            raise ScenarioError(
                f"sweep[{label!r}]",
                f"takes names from {list(allowed)}; got {bad or given!r}",
            )
        return [str(v) for v in given]
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ScenarioError(
            f"sweep[{label!r}]",
            f"values must be numbers, e.g. numpy.linspace(0, 1, 5); got {values!r}",
        ) from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ScenarioError(
            f"sweep[{label!r}]",
            "give at least one finite value, e.g. numpy.linspace(0, 1, 5)",
        )
    return [float(v) for v in arr]


def sweep(
    scenario: Scenario,
    grid: Mapping[GridKey, Sequence[float] | np.ndarray],
    *,
    executor: cf.Executor | None = None,
    progress: bool | None = None,
    tol: float = 1e-8,
    search: Literal["all", "warm"] = "all",
) -> pd.DataFrame:
    """Solve ``scenario`` on a grid of one or two parameters.

    Parameters
    ----------
    scenario
        A scenario with a company model.
    grid
        One or two entries ``path -> values`` (each path as in
        :meth:`Scenario.with_value`, e.g. ``{"sales.shared_share": np.linspace(0, 1, 5)}``).
        A tuple of paths moves them together, e.g. every department's shared share:
        ``{("sales.shared_share", "production.shared_share"): [0, 0.5, 1]}``. With two
        entries the grid is their product (the first varies slowest). A path that takes
        a name takes a list of names: ``{"sales.crediting": ["bookings",
        "ontime_margin"]}`` (see :mod:`compmodel.crediting`).
    executor
        Any :class:`concurrent.futures.Executor` to solve points in parallel (a
        ``ProcessPoolExecutor``, or a dask ``Client(...).get_executor()``); ``None``
        solves them one after another. Results do not depend on it.
    progress
        ``None`` (default): a progress bar when output goes to a terminal or a
        notebook, none when it is captured (tests, logs); ``True`` always; ``False``
        never.
    tol
        Solver tolerance (see :func:`compmodel.solve`).
    search
        ``"all"`` (default): every point is solved on its own with every starting
        profile, and the highest-surplus equilibrium is selected (see
        :func:`compmodel.solve`). ``"warm"``: continuation, several times faster. Along
        each line of the grid (the last entry varying), the first point gets the full
        search and each next point follows the previous equilibrium
        (``search="warm"``). Every point is an equilibrium, checked globally for
        each department, but where a scenario has several equilibria a line can stay
        on one branch that the full search would not select. Each point's notes say
        so. Lines are the units of work given to ``executor``.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per grid point and figure. Columns: one per grid entry (named
        by its path, or ``"a & b"`` for a tuple), then ``section`` (``levers``,
        ``metrics``, ``pay``, ``outcomes``, ``company``, ``diagnostics``),
        ``department``, ``figure`` and ``value`` (units as in
        :meth:`Solution.to_frame`; diagnostics: converged 1/0, Gauss-Seidel sweeps,
        last residual, equilibria found). ``frame.attrs["notes"]`` holds the
        solver's notes per grid point.

    Raises
    ------
    ScenarioError
        For a path the scenario does not have or a value it does not allow (checked
        before any solving starts: every value of each entry, and every grid point
        where a weight or shared share rescales the others).
    ConvergenceError
        If a point does not settle (its parameter values are named).

    Examples
    --------
    >>> frame = sweep(s, {"sales.shared_share": [0.0, 0.5, 1.0]})  # doctest: +SKIP
    >>> frame.query("section == 'company' and figure == 'operating_profit'")  # doctest: +SKIP
    """
    if not isinstance(grid, Mapping) or not 1 <= len(grid) <= 2:
        raise ScenarioError(
            "sweep",
            "grid takes one or two entries path -> values, e.g. "
            "{'sales.shared_share': numpy.linspace(0, 1, 5)}; for more parameters nest "
            "sweeps or use compmodel.tornado",
        )
    axes: list[tuple[str, tuple[str, ...], list[Any]]] = []
    for key, given in grid.items():
        paths = (key,) if isinstance(key, str) else tuple(key)
        if not paths or not all(isinstance(p, str) for p in paths):
            raise ScenarioError(
                "sweep", f"a grid key is a parameter path or a tuple of them; got {key!r}"
            )
        label = paths[0] if len(paths) == 1 else " & ".join(paths)
        axes.append((label, paths, _check_values(scenario, key, given)))
    if len(axes) == 2 and axes[0][0] == axes[1][0]:
        raise ScenarioError("sweep", f"the two grid entries are the same path {axes[0][0]!r}")
    if search not in ("all", "warm"):
        raise ScenarioError(
            "search",
            f"is {search!r}; allowed: 'all' (every point searched on its own) or 'warm' "
            "(continuation along each line of the grid)",
        )
    points: list[tuple[Any, ...]] = [(v,) for v in axes[0][2]]
    if len(axes) == 2:
        points = [(a, b) for a in axes[0][2] for b in axes[1][2]]
    # bad paths and values fail here, before any solving: each value of each entry on
    # its own; every point where a weight or share rescales others (their combination
    # decides what is allowed)
    # (names of a categorical path, such as crediting, were checked against its choices:
    # setting one costs a solve, so it is not tried here)
    numeric = [
        (paths, vals) for _, paths, vals in axes if _path_choices(scenario, paths[0]) is None
    ]
    rescaling = any(_path_rescales(scenario, p) for paths, _ in numeric for p in paths)
    if not rescaling:
        for paths, vals in numeric:
            for v in vals:
                _apply(scenario, [(p, v) for p in paths])
    settings: list[tuple[tuple[str, float | str], ...]] = []
    for pt in points:
        values = tuple((p, v) for (_, paths, _), v in zip(axes, pt, strict=True) for p in paths)
        if rescaling:
            _apply(scenario, [(p, v) for p, v in values if not isinstance(v, str)])
        settings.append(values)
    # runs of points, one task each: a line of the grid when following equilibria;
    # otherwise (every point searched on its own) about 64 runs, so an executor ships
    # the scenario once per run instead of once per point
    width = len(axes[-1][2]) if search == "warm" else max(1, len(settings) // 64)
    runs = [
        _Run(scenario, tuple(settings[i : i + width]), tol, search == "warm")
        for i in range(0, len(settings), width)
    ]
    sizes = [len(run.points) for run in runs]
    results = [r for run in _map(_run, runs, executor, progress, "sweep", sizes) for r in run]
    labels = [a[0] for a in axes]
    records: list[tuple[Any, ...]] = []
    notes: dict[tuple[Any, ...], tuple[str, ...]] = {}
    for pt, (rows, pt_notes) in zip(points, results, strict=True):
        records.extend((*pt, *row) for row in rows)
        if pt_notes:
            notes[pt] = pt_notes
    frame = pd.DataFrame.from_records(
        records, columns=[*labels, "section", "department", "figure", "value"]
    )
    frame.attrs["notes"] = notes
    frame.attrs["search"] = search
    return frame


# --------------------------------------------------------------------------------------
# tornado
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FigureTask:
    scenario: Scenario
    versus: Scenario | None
    values: tuple[tuple[str, float], ...]
    figure: str
    tol: float


def _figure_at(task: _FigureTask) -> float:
    out = figure_of(_solve_at(task.scenario, task.values, task.tol), task.figure)
    if task.versus is not None:
        out -= figure_of(_solve_at(task.versus, task.values, task.tol), task.figure)
    return out


def _ends(scenario: Scenario, path: str, spread: float | None) -> tuple[float, float, float]:
    if _path_choices(scenario, path) is not None:
        raise ScenarioError(
            f"tornado[{path!r}]",
            "takes a name (a crediting metric), not a number a tornado can move across a "
            f"range; compare the names with compmodel.sweep(scenario, {{{path!r}: "
            f"{list(_path_choices(scenario, path) or ())!r}}})",
        )
    base = scenario.get(path)
    rng = _path_bounds(scenario, path)  # a clawback's share: 0 to 1
    stated = _stated_range(scenario, path)  # a coefficient's, a lever cost's, a lambda's
    if stated is not None:
        rng = stated
    if spread is None:
        if rng is None:
            raise ScenarioError(
                f"tornado[{path!r}]",
                "has no stated range; give spread= (e.g. 0.2 for +-20% of its value), or "
                "a range in the company file ({value, unit, range, source}: a "
                "coefficient, a lever's cost or a department's team_identification)",
            )
        return base, float(rng[0]), float(rng[1])
    if base == 0.0 and (rng is None or _path_bounds(scenario, path) is not None):
        raise ScenarioError(
            f"tornado[{path!r}]",
            "is 0, so a relative spread cannot move it; leave it out, or run "
            "compmodel.sweep over the values you want",
        )
    lo, hi = base - spread * abs(base), base + spread * abs(base)
    if rng is not None:  # never outside the stated range (with_value refuses it)
        lo, hi = max(lo, float(rng[0])), min(hi, float(rng[1]))
    return base, lo, hi


def tornado(
    scenario: Scenario,
    paths: Sequence[str] | None = None,
    *,
    spread: float | None = None,
    figure: str = "operating_profit",
    versus: Scenario | None = None,
    executor: cf.Executor | None = None,
    progress: bool | None = None,
    tol: float = 1e-8,
    breakeven_rtol: float = 1e-4,
) -> pd.DataFrame:
    """Rank parameters by how much a figure swings when each moves alone.

    Parameters
    ----------
    scenario
        A scenario with a company model.
    paths
        Parameter paths to move (default: every number with a stated range, as
        :func:`compmodel.paths.ranged_paths` lists them: each company coefficient,
        ``company.coefficients.<name>``; each lever's effort cost written with a
        range, ``company.levers.<dept>.<lever>.cost``; each department's team
        identification written with one, ``<dept>.team_identification``; not the
        horizon and discount rate, on which no steady-state figure depends). Numbers
        only: a path that takes a name
        (crediting) is refused; compare names with :func:`sweep`. A clawback share
        (``sales.clawbacks.cost_share``) ranges over 0 to 1.
    spread
        ``None`` (default): each path moves to the ends of its stated range. A number:
        to ``value x (1 -+ spread)`` (e.g. 0.2 for +-20%), kept inside a stated range;
        needed for paths without one (plan settings, bridges).
    figure
        What to rank on (see :func:`figure_of`); default operating profit (currency
        per period).
    versus
        A second scenario (e.g. today's plans, with ``scenario`` the proposal): the
        figure becomes ``figure(scenario) - figure(versus)``, each path moved in both,
        so the tornado shows how robust the gain is and where it would vanish.
    executor, progress, tol
        As in :func:`sweep`.
    breakeven_rtol
        Relative precision of a breakeven value (each step is a solve).

    Returns
    -------
    pandas.DataFrame
        One row per path, largest swing first: ``path``, ``base``, ``low``, ``high``
        (parameter values), ``figure_base``, ``figure_low``, ``figure_high``,
        ``delta_low``, ``delta_high`` (change against the base), ``swing``
        (``|figure_high - figure_low|``), ``rank`` (1 = largest) and ``breakeven``:
        the parameter value where the figure crosses zero between ``low`` and
        ``high`` (NaN when it keeps one sign there). ``frame.attrs`` records the
        figure, ``versus`` and ``spread``.

    Raises
    ------
    ScenarioError
        For an unknown path or figure, a path without a range and no ``spread``, or
        a spread outside (0, 1].
    """
    if spread is not None and not (
        isinstance(spread, (int, float)) and not isinstance(spread, bool) and 0 < spread <= 1
    ):
        raise ScenarioError(
            "spread", f"is {spread!r}; allowed: a share in (0, 1], e.g. 0.2 for +-20%"
        )
    if paths is None:
        # horizon and discount rate value a change over the years: no figure of a
        # steady state depends on them (compmodel.chance_it_pays draws them)
        paths = [p for p in _ranged_paths(scenario) if not p.startswith("settings.")]
        if not paths:
            raise ScenarioError(
                "tornado",
                "the scenario has no coefficients with a stated range (nor lever costs "
                "or team identification written with one); pass paths= and spread=, "
                "e.g. tornado(s, ['sales.target_incentive'], spread=0.2)",
            )
    if isinstance(paths, str):
        paths = [paths]
    if len(set(paths)) != len(paths):
        raise ScenarioError("paths", "list each path once")
    ends: dict[str, tuple[float, float, float]] = {}
    for path in paths:
        ends[path] = _ends(scenario, path, spread)
        if versus is not None:
            versus.get(path)  # the path must exist in both
    tasks = []
    for path, (_, lo, hi) in ends.items():
        for v in (lo, hi):
            _apply(scenario, [(path, v)])
            if versus is not None:
                _apply(versus, [(path, v)])
            tasks.append(_FigureTask(scenario, versus, ((path, v),), figure, tol))
    # the base first, alone: an unknown figure fails before the long part
    f_base = _figure_at(_FigureTask(scenario, versus, (), figure, tol))
    values = [f_base, *_map(_figure_at, tasks, executor, progress, "tornado")]
    rows = []
    for k, (path, (base, lo, hi)) in enumerate(ends.items()):
        f_lo, f_hi = values[1 + 2 * k], values[2 + 2 * k]
        breakeven = math.nan
        bracket = None
        if f_lo == 0.0:
            breakeven = lo
        elif f_hi == 0.0:
            breakeven = hi
        elif np.sign(f_lo) != np.sign(f_base) and lo < base:
            bracket = (lo, base)
        elif np.sign(f_hi) != np.sign(f_base) and base < hi:
            bracket = (base, hi)
        elif np.sign(f_lo) != np.sign(f_hi):
            bracket = (lo, hi)
        if bracket is not None:

            def f(x: float, path: str = path) -> float:
                return _figure_at(_FigureTask(scenario, versus, ((path, x),), figure, tol))

            scale = max(abs(bracket[0]), abs(bracket[1]), 1e-12)
            breakeven = float(
                optimize.brentq(f, *bracket, xtol=breakeven_rtol * scale, rtol=breakeven_rtol)
            )
        rows.append(
            {
                "path": path,
                "base": base,
                "low": lo,
                "high": hi,
                "figure_base": f_base,
                "figure_low": f_lo,
                "figure_high": f_hi,
                "delta_low": f_lo - f_base,
                "delta_high": f_hi - f_base,
                "swing": abs(f_hi - f_lo),
                "breakeven": breakeven,
            }
        )
    frame = pd.DataFrame(rows)
    frame = frame.sort_values(["swing", "path"], ascending=[False, True], kind="stable")
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame = frame.reset_index(drop=True)
    frame.attrs.update(
        {"figure": figure, "versus": None if versus is None else versus.name, "spread": spread}
    )
    return frame
