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
from typing import NamedTuple, cast

import numpy as np
from scipy.optimize import brentq, minimize

from .. import caches
from ..errors import ConvergenceError
from ..models import capabilities
from .backends import Backend, BackendName, choose_backend
from .benchmarks import first_best_key, first_best_levers
from .problem import Problem
from .results import Solution, SolveDiagnostics, SteadyState, efficiency
from .selection import find_equilibrium

__all__ = [
    "alignment",
    "at_state",
    "benchmark_first_best",
    "has_dynamics",
    "solve_steady",
    "steady_efficiency",
    "steady_equilibrium",
    "steady_first_best",
    "steady_levers",
    "year_of",
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
FULL_SOLVES = 6


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


class Year(NamedTuple):
    """The year's equilibrium at a customer base ``C``: ``gap = F(C) - C``, the year's
    problem, its levers, diagnostics and alignment efficiency."""

    gap: float
    problem: Problem
    levers: np.ndarray
    diagnostics: SolveDiagnostics
    efficiency: float | None


class Years:
    """The year's equilibrium at each customer base asked for, remembered: each warm-
    started from the nearest one solved (the first from the warm start, if any)."""

    def __init__(
        self, problem: Problem, backend: BackendName, warm: Solution | None, tol: float,
        max_sweeps: int, failed: Callable[[float], str],
    ) -> None:  # fmt: skip
        self.problem, self.backend, self.warm = problem, backend, warm
        self.tol, self.max_sweeps, self.failed = tol, max_sweeps, failed
        self.memo: dict[float, Year] = {}

    def at(self, c: float, full: bool, final: bool = False) -> Year:
        """The year at ``c``: ``full``, every starting profile (else the nearest
        solved year followed); ``final``, verified (a remembered unverified year is
        solved again)."""
        memo = self.memo
        if c in memo and not full and not (final and memo[c].diagnostics.verified == ""):
            return memo[c]
        p = at_state(self.problem, c)
        near: Solution | None = self.warm
        if memo:
            nearest = memo[min(memo, key=lambda x: abs(x - c))]
            near = _warm(nearest.levers, nearest.diagnostics, self.problem.space.names)
        t, diag, eff = find_equilibrium(
            p, choose_backend(p, self.backend), near, self.tol, self.max_sweeps,
            follow=not full and near is not None, failed=self.failed, check=full or final,
        )  # fmt: skip
        g = float(p.model.next_state(t)) - c  # type: ignore[attr-defined]
        memo[c] = Year(g, p, t, diag, eff)
        return memo[c]

    def gap(self, c: float) -> float:
        """``G(c) = F(c) - c``, each year following the nearest one solved."""
        return self.at(c, False).gap


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
    if start is None and warm is not None:
        start = getattr(warm, "state", {}).get(name)
    c0 = float(problem.model.state if start is None else start)  # type: ignore[attr-defined]
    years = Years(problem, backend, warm, tol, max_sweeps, failed)
    scale = max(abs(c0), float(problem.model.state), 1.0)  # type: ignore[attr-defined]
    xtol = XTOL * scale
    c_star, year, settled = _settle(years, c0, follow, xtol, scale)
    branch_note = ""
    if abs(year.gap) > settled and not follow:
        c_star, year = _full_search_root(years, c_star, year, settled, xtol)
    if abs(year.gap) > settled and not follow:
        c_star, year, branch_note = _follow_branch(years, c_star, xtol)
    if abs(year.gap) > settled:
        c_star, year, rough = _best_verified(years, c_star, year, scale)
        if rough:
            branch_note, settled = rough, abs(year.gap)
    if not math.isfinite(year.gap) or abs(year.gap) > settled:
        raise _unsettled(c0, c_star, year.gap)
    slope = _secant_slope(years.memo, c_star)  # before the scan adds its points
    scan = (not follow) if scan is None else scan
    points = _scan(years.gap, year.problem, year.levers, c_star, xtol) if scan else [c_star]
    steady = SteadyState(
        name=name, value=c_star, residual=abs(year.gap), slope=slope,
        evaluations=len(years.memo), fixed_points=tuple(points), start=c0,
    )  # fmt: skip
    diag = _with_notes(year.diagnostics, name, branch_note, points, c0)
    return year.problem, year.levers, diag, year.efficiency, steady


def _settle(
    years: Years, c0: float, follow: bool, xtol: float, scale: float
) -> tuple[float, Year, float]:
    """The first root of ``G`` from ``c0`` (:func:`_root`), its year (a full search
    where one was asked for) and the residual that counts as settled; where the full
    search there chose another equilibrium, up to 3 more roots from it."""
    g0 = years.at(c0, not follow).gap
    # a slider's continuation stops at the precision F is known to; a full solve goes on
    accept = SETTLED * scale if follow else xtol
    diag = getattr(years.warm, "diagnostics", None)
    c_star = _root(years.gap, c0, g0, xtol, diag, accept)
    # the selection at the steady state: a full search where one was asked for
    year = years.at(c_star, not follow, final=True)
    # settled: the year's equilibrium is precise to tol in the levers, so G is to ~1e-8
    settled = max(SETTLED * max(c_star, scale), 10 * xtol)
    rounds = 0
    while abs(year.gap) > settled and rounds < 3:  # the full search chose another one
        rounds += 1
        c_star = _root(years.gap, c_star, year.gap, xtol, None)
        year = years.at(c_star, not follow, final=True)
    return c_star, year, settled


def _full_search_root(
    years: Years, c_star: float, year: Year, settled: float, xtol: float
) -> tuple[float, Year]:
    """Where followed years hopped between branches: the root of ``G`` with every start
    searched at each point, if one settles within :data:`FULL_SOLVES` full searches
    (else ``c_star`` and ``year`` as they were). Bounded: where the highest-surplus
    equilibrium jumps between branches, ``G`` has no root and Brent would bisect the
    jump to ``xtol`` with a full search per step."""
    full_left = [FULL_SOLVES]

    def full_gap(c: float) -> float:
        if full_left[0] <= 0:
            raise ConvergenceError("full-search root: out of evaluations")
        full_left[0] -= 1
        return years.at(c, True, final=True).gap

    try:
        c_full = _root(full_gap, c_star, year.gap, xtol, None)
        found = years.at(c_full, True, final=True)
    except ConvergenceError:
        return c_star, year
    return (c_full, found) if abs(found.gap) <= settled else (c_star, year)


def _follow_branch(years: Years, c_star: float, xtol: float) -> tuple[float, Year, str]:
    """Where the highest-surplus equilibrium jumps between branches across the steady
    state and has no fixed point: the root the path reaches following the branch it is
    on (each year warm-started), and a note saying so."""
    c_star = _root(years.gap, c_star, years.gap(c_star), xtol, None)
    note = (
        "the years have several equilibria near the steady state and the one with the "
        "highest total surplus switches across it, so it has no steady state; the path "
        "follows the equilibrium each year continues from (search='warm' at the steady "
        "state)"
    )
    return c_star, years.at(c_star, False, final=True), note


def _best_verified(
    years: Years, c_star: float, year: Year, scale: float
) -> tuple[float, Year, str]:
    """The best verified year solved (the smallest ``|G|``, if below ``year``'s): the
    year's equilibria switch near the steady state at this precision (tol), so ``F`` is
    known no better. With a note, if it settles to :data:`ROUGH` (else ``""``: not
    accepted)."""
    memo = years.memo
    best = min(
        (k for k, v in memo.items() if v.diagnostics.verified),
        key=lambda k: abs(memo[k].gap), default=c_star,
    )  # fmt: skip
    if best in memo and abs(memo[best].gap) < abs(year.gap):
        c_star, year = best, memo[best]
    g = year.gap
    if not abs(g) <= ROUGH * max(c_star, scale):
        return c_star, year, ""
    note = (
        f"the customer base settles only to {abs(g) / max(c_star, 1.0):.1e} relative "
        f"(it hands on {c_star + g:,.0f} of {c_star:,.0f}): the year's equilibria "
        "switch near the steady state; a smaller tol may settle it"
    )
    return c_star, year, note


def _unsettled(c0: float, c_star: float, g: float) -> ConvergenceError:
    """The error of a customer base that did not settle, with what to try."""
    return ConvergenceError(
        f"the customer base did not settle: from {c0:,.0f} the years reach "
        f"{c_star:,.0f}, which hands on {c_star + g:,.0f}. Things to try:\n"
        "  1. Check that customer retention and the plant's capacity are in their "
        "usual ranges (a plant that ships nothing keeps no customers).\n"
        "  2. Solve with search='all' (every equilibrium of each year is compared)."
    )


def _with_notes(
    diag: SolveDiagnostics, name: str, branch_note: str, points: list[float], c0: float
) -> SolveDiagnostics:
    """The steady year's diagnostics with the notes on how it was reached: the branch
    followed or the precision settled for, and the other steady states found."""
    notes = list(diag.notes) + ([branch_note] if branch_note else [])
    if len(points) > 1:
        notes.append(
            f"the {name.replace('_', ' ')} has {len(points)} steady states "
            f"({', '.join(f'{x:,.0f}' for x in points)}); the one reached from "
            f"{c0:,.0f} is reported"
        )
    return dataclasses.replace(diag, notes=tuple(notes))


def _secant_slope(memo: dict[float, Year], c_star: float) -> float:
    """dG/dC at ``c_star`` from the two evaluated points nearest it."""
    xs = sorted(memo, key=lambda x: abs(x - c_star))[:2]
    if len(xs) < 2 or xs[0] == xs[1]:
        return -1.0
    return (memo[xs[0]].gap - memo[xs[1]].gap) / (xs[0] - xs[1])


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


def steady_first_best(problem: Problem, backend: Backend) -> tuple[Problem, np.ndarray]:
    """The first best of a company whose customers carry over: the levers that maximise
    total surplus without risk in the steady state they lead to, ``TS(t, C*(t))``, and
    that steady state's problem.

    The planner values next year's customers (a lever that keeps more customers raises
    every later year's value); people in the equilibrium do not (they see this year's
    pay). L-BFGS-B from the first best of the no-incentive steady year and from rest
    (both fixed by the model alone, so the answer does not depend on the year the
    caller is in, nor on which caller computed it first), with the
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
    none = at_state(problem, steady_levers(model, sp.rest))
    t_static = first_best_levers(none, backend)

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

    scale = 1.0 + abs(none.total_surplus(sp.rest, risk=False))
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
    fb_problem, fb = steady_first_best(problem, backend)
    denom = fb_problem.total_surplus(fb, risk=False) - ts_none
    if abs(denom) <= 1e-12 * max(1.0, abs(ts_none)):
        return None, "alignment efficiency is undefined: first best adds nothing over no incentive"
    return (problem.total_surplus(t) - ts_none) / denom, ""


def year_of(problem: Problem, t: np.ndarray) -> Problem:
    """The year at the steady state fixed levers ``t`` lead to (``problem`` itself
    without dynamics)."""
    if not has_dynamics(problem):
        return problem
    return at_state(problem, steady_levers(problem.model, t))


def alignment(problem: Problem, t: np.ndarray, backend: Backend) -> tuple[float | None, str]:
    """Alignment efficiency of levers ``t`` and a note where it is undefined: each
    benchmark at its own steady state where customers carry over."""
    if has_dynamics(problem):
        return steady_efficiency(problem, t, backend)
    return efficiency(problem, t, first_best_levers(problem, backend))


def benchmark_first_best(problem: Problem, backend: BackendName) -> tuple[Problem, np.ndarray]:
    """The first best and the problem of its year: the steady first best
    (:func:`steady_first_best`) where customers carry over."""
    if not has_dynamics(problem):
        return problem, first_best_levers(problem, choose_backend(problem, backend))
    return steady_first_best(problem, choose_backend(problem, backend))


def solve_steady(
    problem: Problem, backend: BackendName, warm: Solution | None, tol: float,
    max_sweeps: int, follow: bool, failed: Callable[[float], str], start: float | None,
) -> tuple[Problem, np.ndarray, SolveDiagnostics, float | None]:  # fmt: skip
    """The steady state's problem, equilibrium levers, diagnostics (with the steady
    state) and alignment efficiency, each benchmark at its own steady state."""
    p, t, diag, _, steady = steady_equilibrium(
        problem, backend, warm, tol, max_sweeps, follow, failed, start=start
    )
    eff, note = steady_efficiency(p, t, choose_backend(p, backend))
    notes = (*diag.notes, note) if note else diag.notes
    return p, t, dataclasses.replace(diag, steady_state=steady, notes=notes), eff
