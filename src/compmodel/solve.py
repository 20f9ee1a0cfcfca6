"""Equilibrium, first best and no incentive: how each department responds to its plan.

The public functions; the method lives in :mod:`compmodel.equilibrium`, a module per
concern:

* :mod:`~compmodel.equilibrium.problem`: each department's problem (its person's
  certainty equivalent ``CE_d = base_d + E_d - (r_d/2) V_d - cost_d(t_d)``, per person,
  currency per period) and total surplus;
* :mod:`~compmodel.equilibrium.line_of_sight`: how much of a shared metric a person
  sees, ``(1 + lambda (N - 1)) / N``;
* :mod:`~compmodel.equilibrium.backends`: Python and compiled backends behind one
  protocol, chosen once per solve;
* :mod:`~compmodel.equilibrium.best_response`, :mod:`~compmodel.equilibrium.gauss_seidel`,
  :mod:`~compmodel.equilibrium.newton`: best responses, the sweeps and the Newton jump;
* :mod:`~compmodel.equilibrium.selection`: starting profiles, the highest-surplus rule
  and warm continuation;
* :mod:`~compmodel.equilibrium.steady`: the steady state of a company whose customers
  carry over (every figure of such a model is one);
* :mod:`~compmodel.equilibrium.benchmarks`: first best and no incentive;
* :mod:`~compmodel.equilibrium.participation`: base pay and who stays;
* :mod:`~compmodel.equilibrium.results`: the solution and its diagnostics.

A Nash equilibrium across departments: each department's levers maximise its perceived
CE given the others' levers (and its own colleagues' at the same levers). Every
distinct equilibrium reached from the fixed starting profiles is reported; the one with
the highest total surplus is selected. Alignment efficiency
``(TS - TS_none) / (TS_fb - TS_none)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Literal

import numpy as np

from .equilibrium.backends import BackendName, check_backend, choose_backend
from .equilibrium.line_of_sight import shared_line_of_sight
from .equilibrium.problem import build_problem
from .equilibrium.results import (
    DepartmentOutcome,
    EquilibriumPoint,
    Kind,
    Solution,
    SolveDiagnostics,
    build_solution,
    trivial_diagnostics,
)
from .equilibrium.selection import find_equilibrium, unsettled_checklist
from .equilibrium.steady import (
    alignment,
    benchmark_first_best,
    has_dynamics,
    solve_steady,
    year_of,
)
from .errors import ScenarioError
from .scenario import Scenario

__all__ = [
    "DepartmentOutcome",
    "EquilibriumPoint",
    "Kind",
    "Solution",
    "SolveDiagnostics",
    "evaluate",
    "first_best",
    "no_incentive",
    "shared_line_of_sight",
    "solve",
]

Backend = BackendName


def first_best(scenario: Scenario, *, backend: Backend = "auto") -> Solution:
    """Levers that maximise total surplus (gross value minus effort costs), implemented
    by a forcing contract.

    Parameters
    ----------
    scenario
        A scenario with a company model (``company.kind`` not ``"none"``).
    backend
        As in :func:`solve`.

    Returns
    -------
    Solution
        ``kind="first_best"``, alignment efficiency 1. Pay is a forcing contract, not
        today's plans: each person is paid a fixed wage of the department's
        ``market_reference`` plus the effort cost at the first-best levers (currency per
        period per person; the stated ``base_pay`` stands in for a missing market
        reference), so ``base_pay`` and ``expected_pay`` are that wage, the incentive,
        its variance and its risk premium are 0, and the certainty equivalent equals
        the market reference (participation binds). No payroll tax on incentive and no
        pay-driven turnover; lever-driven turnover stays. Operating profit is gross
        value less that payroll; total surplus carries no risk premium.
    """
    check_backend(backend)
    p, t = benchmark_first_best(build_problem(scenario), backend)
    diag = trivial_diagnostics(t, p.space.names, p.total_surplus(t, risk=False), "first_best")
    return build_solution(p, t, "first_best", diag, 1.0, pay="forcing")


def no_incentive(scenario: Scenario) -> Solution:
    """Every lever at rest (t-bar): what the company gets with no incentive plan at all.

    Parameters
    ----------
    scenario
        A scenario with a company model (``company.kind`` not ``"none"``).

    Returns
    -------
    Solution
        ``kind="no_incentive"``, alignment efficiency 0. Pay is a fixed wage, not today's
        plans: each person is paid the department's ``market_reference`` (currency per
        period per person; the stated ``base_pay`` without one) as base pay, with no
        incentive (mean, variance and risk premium 0); the certainty equivalent is that
        wage less the effort cost at rest (0). No payroll tax on incentive and no
        pay-driven turnover (pay equals the market); lever-driven turnover stays.
        Operating profit is gross value less that payroll.
    """
    p = build_problem(scenario)
    t = p.space.rest.copy()
    p = year_of(p, t)
    diag = trivial_diagnostics(t, p.space.names, p.total_surplus(t, risk=False), "no_incentive")
    return build_solution(p, t, "no_incentive", diag, 0.0, pay="market")


def _given_levers(names: tuple[str, ...], lower: np.ndarray, upper: np.ndarray,
                  levers: Mapping[str, float]) -> np.ndarray:  # fmt: skip
    """The lever vector of ``levers`` (every lever, numbers within bounds)."""
    missing = [n for n in names if n not in levers]
    unknown = [n for n in levers if n not in names]
    if missing or unknown:
        raise ScenarioError(
            "levers",
            f"give a value for every lever and no others; missing {missing}, unknown "
            f"{unknown}; the levers are {list(names)}",
        )
    values = []
    for i, n in enumerate(names):
        v = levers[n]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ScenarioError(f"levers.{n}", f"must be a number, got {v!r}")
        lo, hi = lower[i], upper[i]
        if not math.isfinite(float(v)) or not lo <= float(v) <= hi:
            raise ScenarioError(
                f"levers.{n}",
                f"is {v!r}; allowed: a finite number in [{lo:g}, {hi:g}] (the lever's bounds)",
            )
        values.append(float(v))
    return np.array(values)


def evaluate(scenario: Scenario, levers: Mapping[str, float]) -> Solution:
    """The scenario's figures at given levers (a what-if, not an equilibrium).

    Parameters
    ----------
    levers
        ``"department.lever" -> value`` for every lever; see ``solve(...).levers``.
    """
    p = build_problem(scenario)
    t = _given_levers(p.space.names, p.space.lower, p.space.upper, levers)
    p = year_of(p, t)
    diag = trivial_diagnostics(t, p.space.names, p.total_surplus(t), "given")
    eff, note = alignment(p, t, choose_backend(p, "auto"))
    if note:
        diag = dataclasses.replace(diag, notes=(note,))
    return build_solution(p, t, "levers", diag, eff)


def _check_numbers(tol: object, max_sweeps: object) -> None:
    """Raise a :class:`ScenarioError` unless ``tol`` is a finite number in (0, 1e-2] and
    ``max_sweeps`` a whole number >= 1."""
    number = isinstance(tol, (int, float, np.integer, np.floating)) and not isinstance(tol, bool)
    if not number or not math.isfinite(float(tol)) or not 0.0 < float(tol) <= 1e-2:  # type: ignore[arg-type]
        raise ScenarioError(
            "tol",
            f"is {tol!r}; allowed: a number above 0 and at most 0.01 (the relative lever "
            "change at which best responses count as settled; the default 1e-8 suits "
            "almost every scenario)",
        )
    if (
        isinstance(max_sweeps, bool)
        or not isinstance(max_sweeps, (int, np.integer))
        or (max_sweeps < 1)
    ):
        raise ScenarioError(
            "max_sweeps",
            f"is {max_sweeps!r}; allowed: a whole number of at least 1 (the most "
            "Gauss-Seidel sweeps from each starting profile; the default is 200)",
        )


def solve(
    scenario: Scenario,
    *,
    warm_start: Solution | None = None,
    tol: float = 1e-8,
    max_sweeps: int = 200,
    search: Literal["all", "warm"] = "all",
    backend: Backend = "auto",
    start_state: float | None = None,
) -> Solution:
    """The equilibrium of a scenario: each department's best response to its plan.

    Parameters
    ----------
    scenario
        A scenario with a company model (``company.kind`` not ``"none"``).
    warm_start
        A previous solution to try first; with ``search="all"`` it may save time and
        never changes which equilibrium is selected.
    search
        ``"all"`` (default): every starting profile, every equilibrium reached
        reported, the highest-surplus one selected. ``"warm"``: follow the equilibrium
        of ``warm_start`` only (continuation: what a slider wants). The result is an
        equilibrium — verified by climbs from each department's levers, plus the grid
        for non-concave plans (``diagnostics.verified``) — but other equilibria are not
        looked for, and a note says so; if the warm start does not settle or fails the
        check, the full search runs instead.
    tol
        Relative lever change below which best responses have settled: a finite number
        in (0, 1e-2].
    max_sweeps
        Most Gauss-Seidel sweeps from each starting profile: a whole number >= 1.
    backend
        ``"auto"`` (default): the compiled kernels where the company model brings
        compiled equations and every plan fits them, else Python. ``"compiled"``: the
        kernels or a :class:`ScenarioError` saying why not. ``"python"``: scipy's
        L-BFGS-B best responses on the same expectations (same optimum, slower: a
        reference for the kernels).

    Returns
    -------
    Solution
        The selected equilibrium, with every equilibrium found in ``diagnostics``;
        each is verified (no department gains more than ``max(1e-9 |CE|, 1e-6 target
        pay)`` by deviating) and ``diagnostics.verified`` names the check passed.

    Raises
    ------
    ConvergenceError
        If no starting profile settles, or a point reached fails verification and
        following the profitable move does not reach one that passes (the message
        names the department, its gain and the move), with a numbered checklist.
    ScenarioError
        If the scenario lacks a company model, noise, or a market reference under
        ``binding`` participation; if ``tol``, ``max_sweeps``, ``search`` or
        ``backend`` is not allowed (the message gives the range).
    """
    if search not in ("all", "warm"):
        raise ScenarioError(
            "search",
            f"is {search!r}; allowed: 'all' (every starting profile) or 'warm' (follow "
            "warm_start only)",
        )
    check_backend(backend)
    _check_numbers(tol, max_sweeps)
    p = build_problem(scenario)
    names = p.space.names
    if search == "warm" and (warm_start is None or tuple(warm_start.levers) != names):
        raise ScenarioError(
            "warm_start",
            "search='warm' follows a previous solution: pass warm_start=solve(...) of "
            f"a scenario with the same levers {list(names)}, or use search='all'",
        )
    failed = lambda resid: unsettled_checklist(scenario.name, resid, max_sweeps)  # noqa: E731
    follow = search == "warm"
    if has_dynamics(p):
        p, t, diag, eff = solve_steady(
            p, backend, warm_start, tol, max_sweeps, follow, failed, start_state
        )
    else:
        b = choose_backend(p, backend)
        t, diag, eff = find_equilibrium(p, b, warm_start, tol, max_sweeps, follow, failed)
    return build_solution(p, t, "equilibrium", diag, eff)
