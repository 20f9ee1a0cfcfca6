"""The steady state of a company whose customers carry over from year to year.

A company model with dynamics (the ``manufacturer`` kind) has a state a year hands on to
the next: the customer base ``C`` (USD of orders a year the customers kept from last
year place). Within a year every department plays the static equilibrium of the plans
in force, taking that year's ``C`` as given: people maximise this year's certainty
equivalent and value next year's customers only through what they are paid on this
year (annual plans, and sales turnover of 25-30% a year, make that the right horizon
for a person). The year hands on ``F(C) = next_state(t*(C))``, where ``t*(C)`` is the
year's equilibrium. A steady state is a fixed point ``C = F(C)``.

It is found by a root finder on the scalar ``G(C) = F(C) - C``, each evaluation an
equilibrium solve warm-started from the nearest one: a secant step from the start
(iterating years instead would take about 150 of them to reach 1e-8 when retention is
near 0.9), then Brent's method on the bracket it finds. From a start ``C0`` the path of
years moves in the direction of ``G(C0)`` and stops at the first fixed point that way;
that is the one selected. With ``scan``, other fixed points are looked for: ``G`` with
the levers held at the steady state's on 41 points across the range (model evaluations
only), each sign change then confirmed and refined with the year's equilibrium. A fixed
point that exists only because behaviour shifts with the customer base, where the
levers held show none, can be missed; the note lists what was found.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

import numpy as np
from scipy.optimize import brentq, minimize

from .. import caches
from ..errors import ConvergenceError
from ..models import capabilities
from .backends import Backend, BackendName, choose_backend
from .benchmarks import first_best_key, first_best_levers
from .problem import Problem
from .results import Solution, SolveDiagnostics, SteadyState
from .selection import find_equilibrium

__all__ = [
    "at_state",
    "has_dynamics",
    "steady_efficiency",
    "steady_equilibrium",
    "steady_first_best",
    "steady_levers",
]

#: relative precision Brent's method is asked for on ``C``
XTOL = 1e-9
#: a steady state is accepted when ``|F(C) - C| <= SETTLED * C`` (the year's equilibrium
#: is found to a relative lever change of 1e-8, which bounds how precisely F is known)
SETTLED = 1e-7
#: the coarsest steady state accepted (with a note saying how coarse)
ROUGH = 1e-3
#: Full searches (every starting profile) the branch fallback spends looking for a
#: fixed point of the highest-surplus selection before following the branch it is on.
FULL_SOLVES = 12


def has_dynamics(problem: Problem) -> bool:
    """Whether the problem's company model hands a state on from year to year."""
    return getattr(problem.model, "state_name", None) is not None


def at_state(problem: Problem, value: float) -> Problem:
    """The problem in a year that starts at state ``value``."""
    model = problem.model.with_state(value)  # type: ignore[attr-defined]
    return dataclasses.replace(problem, model=model, caps=capabilities(model))


def _warm(t: np.ndarray, diag: SolveDiagnostics, names: tuple[str, ...]) -> Solution:
    """A stand-in for a solution that a warm search reads (levers and first best)."""
    return cast(
        Solution,
        SimpleNamespace(
            levers=dict(zip(names, map(float, t), strict=True)),
            lever_vector=np.asarray(t, dtype=float),
            diagnostics=diag,
        ),
    )


def steady_levers(model: object, t: np.ndarray) -> float:
    """The steady customer base at fixed levers ``t`` (a company whose people do not
    respond: no incentive, the first best, given levers)."""
    return float(model.steady_state_at(t))  # type: ignore[attr-defined]


def steady_equilibrium(
    problem: Problem,
    backend: BackendName,
    warm: Solution | None,
    tol: float,
    max_sweeps: int,
    follow: bool,
    failed: Callable[[float], str],
    *,
    start: float | None = None,
    scan: bool | None = None,
) -> tuple[Problem, np.ndarray, SolveDiagnostics, float | None, SteadyState]:
    """The steady state's problem, equilibrium levers, diagnostics, alignment efficiency
    and the steady state itself.

    ``start``: the state the path of years starts from (default: the warm start's, else
    the model's own, the steady state with every lever at rest). ``scan`` (default: not
    ``follow``) evaluates ``G`` across the range to list other fixed points.
    """
    name = problem.model.state_name  # type: ignore[attr-defined]
    names = problem.space.names
    if start is None and warm is not None:
        start = getattr(warm, "state", {}).get(name)
    c0 = float(problem.model.state if start is None else start)  # type: ignore[attr-defined]
    scan = (not follow) if scan is None else scan
    memo: dict[float, tuple[float, Problem, np.ndarray, SolveDiagnostics, float | None]] = {}

    def solve_at(
        c: float, full: bool, final: bool = False
    ) -> tuple[float, Problem, np.ndarray, SolveDiagnostics, float | None]:
        if c in memo and not full and not (final and memo[c][3].verified == ""):
            return memo[c]
        p = at_state(problem, c)
        near: Solution | None = warm
        if memo:
            nearest = min(memo, key=lambda x: abs(x - c))
            _, _, t_n, d_n, _ = memo[nearest]
            near = _warm(t_n, d_n, names)
        t, diag, eff = find_equilibrium(
            p, choose_backend(p, backend), near, tol, max_sweeps,
            follow=not full and near is not None, failed=failed, check=full or final,
        )  # fmt: skip
        g = float(p.model.next_state(t)) - c  # type: ignore[attr-defined]
        memo[c] = (g, p, t, diag, eff)
        return memo[c]

    def gap(c: float) -> float:
        return solve_at(c, False)[0]

    scale = max(abs(c0), float(problem.model.state), 1.0)  # type: ignore[attr-defined]
    xtol = XTOL * scale
    g0 = solve_at(c0, not follow)[0]
    # a slider's continuation stops at the precision F is known to; a full solve goes on
    accept = SETTLED * scale if follow else xtol
    c_star = _root(gap, c0, g0, xtol, getattr(warm, "diagnostics", None), accept)
    # the selection at the steady state: a full search where one was asked for
    g, p, t, diag, eff = solve_at(c_star, not follow, final=True)
    # settled: the year's equilibrium is precise to tol in the levers, so G is to ~1e-8
    settled = max(SETTLED * max(c_star, scale), 10 * xtol)
    rounds = 0
    while abs(g) > settled and rounds < 3:  # the full search chose another equilibrium
        rounds += 1
        c_star = _root(gap, c_star, g, xtol, None)
        g, p, t, diag, eff = solve_at(c_star, not follow, final=True)
    branch_note = ""
    if abs(g) > settled and not follow:
        # followed years hopped between branches: search every start at each point
        # bounded: where the highest-surplus equilibrium jumps between branches, G has
        # no root and Brent would bisect the jump to xtol with a full search per step
        full_left = [FULL_SOLVES]

        def full_gap(c: float) -> float:
            if full_left[0] <= 0:
                raise ConvergenceError("full-search root: out of evaluations")
            full_left[0] -= 1
            return solve_at(c, True, final=True)[0]

        try:
            c_full = _root(full_gap, c_star, g, xtol, None)
            g_full, p_f, t_f, diag_f, eff_f = solve_at(c_full, True, final=True)
            if abs(g_full) <= settled:
                c_star, g, p, t, diag, eff = c_full, g_full, p_f, t_f, diag_f, eff_f
        except ConvergenceError:
            pass
    if abs(g) > settled and not follow:
        # the highest-surplus equilibrium jumps between branches across C* and has no
        # fixed point: the path follows the branch it is on (each year warm-started)
        c_star = _root(gap, c_star, gap(c_star), xtol, None)
        g, p, t, diag, eff = solve_at(c_star, False, final=True)
        branch_note = (
            "the years have several equilibria near the steady state and the one with the "
            "highest total surplus switches across it, so it has no steady state; the path "
            "follows the equilibrium each year continues from (search='warm' at the steady "
            "state)"
        )
    if abs(g) > settled:
        # the best verified point: the year's equilibria switch near the steady state
        # at this precision (tol), so F is known no better; accept it and say so
        best = min(
            (k for k, v in memo.items() if v[3].verified), key=lambda k: abs(memo[k][0]),
            default=c_star,
        )  # fmt: skip
        if abs(memo.get(best, (g,))[0]) < abs(g):
            c_star = best
            g, p, t, diag, eff = memo[best]
        if abs(g) <= ROUGH * max(c_star, scale):
            branch_note = (
                f"the customer base settles only to {abs(g) / max(c_star, 1.0):.1e} relative "
                f"(it hands on {c_star + g:,.0f} of {c_star:,.0f}): the year's equilibria "
                "switch near the steady state; a smaller tol may settle it"
            )
            settled = abs(g)
    if not math.isfinite(g) or abs(g) > settled:
        raise ConvergenceError(
            f"the customer base did not settle: from {c0:,.0f} the years reach "
            f"{c_star:,.0f}, which hands on {c_star + g:,.0f}. Things to try:\n"
            "  1. Check that customer retention and the plant's capacity are in their "
            "usual ranges (a plant that ships nothing keeps no customers).\n"
            "  2. Solve with search='all' (every equilibrium of each year is compared)."
        )
    slope = _secant_slope(memo, c_star)
    points = [c_star]
    if scan:
        points = _scan(gap, p, t, c_star, xtol)
    steady = SteadyState(
        name=name, value=c_star, residual=abs(g), slope=slope, evaluations=len(memo),
        fixed_points=tuple(points), start=c0,
    )  # fmt: skip
    notes = list(diag.notes) + ([branch_note] if branch_note else [])
    if len(points) > 1:
        notes.append(
            f"the {name.replace('_', ' ')} has {len(points)} steady states "
            f"({', '.join(f'{x:,.0f}' for x in points)}); the one reached from "
            f"{c0:,.0f} is reported"
        )
    diag = dataclasses.replace(diag, notes=tuple(notes))
    return p, t, diag, eff, steady


def _secant_slope(
    memo: dict[float, tuple[float, Problem, np.ndarray, SolveDiagnostics, float | None]],
    c_star: float,
) -> float:
    """dG/dC at ``c_star`` from the two evaluated points nearest it."""
    xs = sorted(memo, key=lambda x: abs(x - c_star))[:2]
    if len(xs) < 2 or xs[0] == xs[1]:
        return -1.0
    return (memo[xs[0]][0] - memo[xs[1]][0]) / (xs[0] - xs[1])


def _root(
    gap: Callable[[float], float], c0: float, g0: float, xtol: float, diag: object,
    accept: float | None = None,
) -> float:  # fmt: skip
    """The first root of ``gap`` from ``c0`` in the direction of ``g0``: secant steps
    (the warm start's slope first, if it carries one) until ``|gap| <= accept``
    (default ``xtol``) or a bracket, then Brent to ``xtol``."""
    accept = xtol if accept is None else accept
    if abs(g0) <= accept:
        return c0
    steady = getattr(diag, "steady_state", None)
    slope = steady.slope if steady is not None and steady.slope < 0 else -0.2
    a, ga = c0, g0
    c = max(a - ga / slope, 0.0)
    for _ in range(60):
        gc = gap(c)
        if abs(gc) <= accept:
            return c
        if math.copysign(1.0, gc) != math.copysign(1.0, ga):
            lo, hi = (a, c) if a < c else (c, a)
            return float(brentq(gap, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
        s = (gc - ga) / (c - a) if c != a else -0.2
        step = -gc / s if s < 0 else -gc / slope
        # at least 10% further than the last move, so the bracket is found
        step = math.copysign(max(abs(step) * 1.1, 0.1 * abs(c - a)), gc)
        a, ga = c, gc
        c = max(c + step, 0.0)
        if c == a:  # at 0 with G pointing down: no customers kept
            return 0.0
    raise ConvergenceError(
        "the customer base did not settle in 60 years of steps; check customer retention "
        "and capacity (compmodel.dynamics)"
    )


def _scan(
    gap: Callable[[float], float], p: Problem, t: np.ndarray, c_star: float, xtol: float
) -> list[float]:
    """Every fixed point the scan finds (ascending): ``G`` with the levers held at the
    steady state's, on 41 points from 0 to ``state_upper()`` (model evaluations only),
    each sign change away from ``c_star`` then refined with equilibrium solves."""
    model = p.model
    upper = float(model.state_upper())  # type: ignore[attr-defined]
    xs = np.linspace(0.0, upper, 41)
    held = [float(model.with_state(x).next_state(t)) - x for x in xs]  # type: ignore[attr-defined]
    out = {c_star}
    for x0, g0, x1, g1 in zip(xs[:-1], held[:-1], xs[1:], held[1:], strict=True):
        if g0 == 0.0 or math.copysign(1.0, g0) == math.copysign(1.0, g1):
            continue
        if x0 <= c_star <= x1:
            continue
        lo, hi = float(x0), float(x1)
        try:  # confirm with the year's equilibrium at each end
            if math.copysign(1.0, gap(lo)) != math.copysign(1.0, gap(hi)):
                out.add(float(brentq(gap, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps)))
        except ConvergenceError:  # far from any steady state a year may not settle
            continue
    return sorted(out)


def steady_first_best(
    problem: Problem, backend: Backend, t_static: np.ndarray
) -> tuple[Problem, np.ndarray]:
    """The first best of a company whose customers carry over: the levers that maximise
    total surplus without risk in the steady state they lead to, ``TS(t, C*(t))``, and
    that steady state's problem.

    The planner values next year's customers (a lever that keeps more customers raises
    every later year's value); people in the equilibrium do not (they see this year's
    pay). L-BFGS-B from the year's first best ``t_static`` and from rest, with the
    gradient by implicit differentiation of ``C* = next_state(t, C*)``:
    ``dTS/dt = dV/dt + dV/dC dC*/dt - grad cost``, ``dC*/dt = -(dnext/dt) / (dnext/dC
    - 1)`` (``dnext/dt`` and ``dV/dt`` exact, from the model's forward-mode Jacobian;
    ``d/dC`` by central differences). Remembered per model and backend, like the year's.
    """
    sp = problem.space
    model = problem.model
    # what it depends on: the model but not the year's state (canonically 0)
    key = first_best_key(at_state(problem, 0.0), backend)
    key = None if key is None else (*key, "steady")
    found = caches.FIRST_BEST.get(key) if key is not None else None
    if found is not None:
        t = cast(np.ndarray, found).copy()
        return at_state(problem, steady_levers(model, t)), t
    weighted = sp.cost * sp.headcount[:, None]
    fixed = sp.lower >= sp.upper

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        z = sp.clip(z)
        c = steady_levers(model, z)
        here = model.with_state(c)  # type: ignore[attr-defined]
        value, grad = here.value_gradient(z)
        _, grad_next = here.next_state_gradient(z)
        h = 1e-6 * max(c, 1.0)
        up, down = model.with_state(c + h), model.with_state(max(c - h, 0.0))  # type: ignore[attr-defined]
        span = (c + h) - max(c - h, 0.0)
        dgap = (up.next_state(z) - down.next_state(z)) / span - 1.0
        dvalue = (up.gross_value(z) - down.gross_value(z)) / span
        dc = -grad_next / dgap if dgap < 0 else np.zeros_like(grad_next)
        dev = z - sp.rest
        f = value - 0.5 * float(dev @ weighted @ dev)
        g = grad + dvalue * dc - weighted @ dev
        g[fixed] = 0.0
        return -f / scale, -g / scale

    scale = 1.0 + abs(problem.total_surplus(sp.rest, risk=False))
    bounds = list(zip(sp.lower, sp.upper, strict=True))
    best_t, best_f = sp.rest.copy(), math.inf
    for x0 in (sp.clip(t_static), sp.rest.copy()):
        res = minimize(
            objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
        )  # fmt: skip
        if res.fun < best_f:
            best_t, best_f = sp.clip(res.x), float(res.fun)
    if key is not None:
        caches.FIRST_BEST.put(key, best_t.copy())
    return at_state(problem, steady_levers(model, best_t)), best_t


def steady_efficiency(
    problem: Problem, t: np.ndarray, backend: Backend
) -> tuple[float | None, str]:
    """Alignment efficiency ``(TS - TS_none) / (TS_fb - TS_none)`` of levers ``t`` at
    ``problem``'s state, each benchmark at its own steady state."""
    rest = problem.space.rest
    none = at_state(problem, steady_levers(problem.model, rest))
    ts_none = none.total_surplus(rest, risk=False)
    fb_problem, fb = steady_first_best(problem, backend, first_best_levers(none, backend))
    denom = fb_problem.total_surplus(fb, risk=False) - ts_none
    if abs(denom) <= 1e-12 * max(1.0, abs(ts_none)):
        return None, "alignment efficiency is undefined: first best adds nothing over no incentive"
    return (problem.total_surplus(t) - ts_none) / denom, ""
