"""A department's best response by bounded L-BFGS-B (the Python backend's climb, and the
compiled backend's finish at a kink).

Each best response is the best of climbs from the department's current levers and, for
a plan that is not concave (quotas, steps, gates and retroactive tiers make the problem
non-concave), from rest, the first best, points along the line from rest through them
and an even grid inside finite bounds (:func:`starting_points`), of which the three
with the highest CE are climbed. Climbs are coarse (relative change 1e-10, scaled
gradient 1e-7: enough to tell optima apart or to move towards an equilibrium) or
precise (scaled gradient 1e-11); the winner of several coarse climbs is refined
precisely when the climb asked for is precise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from .. import _compiled as kernels
from .problem import DepartmentProblem, Problem

__all__ = [
    "COARSE",
    "PRECISE",
    "Climb",
    "best_response",
    "maximise",
    "newton_finish",
    "starting_points",
]

Objective = Callable[[np.ndarray], float]
WithGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Climb:
    """How far a climb goes: L-BFGS-B's stopping tolerances (relative change of the
    objective ``ftol``, scaled projected gradient ``gtol``)."""

    ftol: float
    gtol: float
    #: ``ftol`` when the gradient is analytic (``None``: ``ftol`` as given)
    ftol_with_gradient: float | None = None

    def options(self, analytic: bool) -> dict[str, Any]:
        ftol = (
            self.ftol_with_gradient
            if analytic and self.ftol_with_gradient is not None
            else self.ftol
        )
        return {"ftol": ftol, "gtol": self.gtol, "maxiter": 5000, "maxls": 60}


#: far from an equilibrium: only the direction matters
COARSE = Climb(ftol=1e-10, gtol=1e-7)
#: settling an equilibrium; with an analytic gradient, stop on the gradient alone (a
#: relative change of 1e-16 in the objective still leaves levers ~1e-8 from the optimum)
PRECISE = Climb(ftol=1e-16, gtol=1e-11, ftol_with_gradient=0.0)


def maximise(
    f: Objective,
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    scale: float,
    fg: WithGradient | None,
    climb: Climb,
) -> tuple[np.ndarray, float]:
    """Bounded L-BFGS-B on ``f / scale`` from ``x0``: (argmax, max).

    ``fg`` gives the value and its gradient together; without it the gradient is taken
    by central differences.
    """
    bounds = [
        (None if not np.isfinite(a) else float(a), None if not np.isfinite(b) else float(b))
        for a, b in zip(lo, hi, strict=True)
    ]
    options = climb.options(analytic=fg is not None)
    if fg is not None:
        grad_fn = fg

        def neg_fg(x: np.ndarray) -> tuple[float, np.ndarray]:
            val, grad = grad_fn(x)
            return -float(val) / scale, -grad / scale

        res = optimize.minimize(
            neg_fg, np.clip(x0, lo, hi), method="L-BFGS-B", jac=True, bounds=bounds,
            options=options,
        )  # fmt: skip
    else:

        def neg(x: np.ndarray) -> float:
            return -float(f(x)) / scale

        res = optimize.minimize(
            neg, np.clip(x0, lo, hi), method="L-BFGS-B", jac="3-point", bounds=bounds,
            options=options,
        )  # fmt: skip
    return np.asarray(res.x, dtype=float), -float(res.fun) * scale


def starting_points(
    problem: Problem, d: DepartmentProblem, t: np.ndarray, fb: np.ndarray, explore: bool
) -> list[np.ndarray]:
    """Where department ``d``'s climbs start: its current levers, then (non-concave
    plans, when exploring) rest, the first best, points along the line through them and
    an even grid inside finite bounds; the rule the compiled sweeps use."""
    sp = problem.space
    rows = kernels._starting_points(
        t, fb, d.levers, sp.rest, sp.lower, sp.upper, d.concave, explore
    )
    return list(rows)


def _three_best(starts: list[np.ndarray], f: Objective) -> list[np.ndarray]:
    """The current levers and the three best distinct other starting points."""
    uniq: list[np.ndarray] = []
    for x0 in starts:
        if not any(np.all(np.abs(x0 - u) <= 1e-12 + 1e-9 * np.abs(u)) for u in uniq):
            uniq.append(x0)
    ranked = sorted(uniq[1:], key=lambda x0: -f(x0))
    return [uniq[0], *ranked[:3]]


def _kink_polish(
    f: Objective, best_x: np.ndarray, best_v: float, lo: np.ndarray, hi: np.ndarray, scale: float
) -> np.ndarray:
    """A one-lever best response on a noiseless metric: pay is kinked in the lever,
    where finite-difference gradients stall; a derivative-free bounded search nearby."""
    w = 1e-3 * max(1.0, abs(float(best_x[0])))
    a, b = max(float(lo[0]), best_x[0] - w), min(float(hi[0]), best_x[0] + w)
    if b > a:
        res = optimize.minimize_scalar(
            lambda z: -f(np.array([z])) / scale,
            bounds=(a, b),
            method="bounded",
            options={"xatol": 1e-13 * max(1.0, abs(float(best_x[0])))},
        )
        if -float(res.fun) * scale >= best_v - 1e-15 * scale:
            return np.array([float(res.x)])
    return best_x


def _free(x: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Positions of levers not held at a bound (whose gradient pushes outward)."""
    room = 1e-12 * np.maximum(1.0, np.abs(x))
    held = ((x <= lo + room) & (g < 0.0)) | ((x >= hi - room) & (g > 0.0))
    return np.flatnonzero(~held)


def newton_finish(
    fg: WithGradient, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: float
) -> np.ndarray:
    """Projected Newton steps on the gradient after a precise L-BFGS-B climb.

    L-BFGS-B stops where the objective's rounding hides further gains (levers ~1e-8
    from the optimum); the gradient still points there. Up to four steps, the Hessian by
    forward differences of the gradient (step ``1e-5 max(1, |x_j|)``, backwards at an
    upper bound), each kept only if it shrinks the largest free gradient and loses no
    value beyond rounding (``1e-12`` of ``scale``); stops where CE is not locally
    concave or the scaled gradient is below ``1e-11`` (the compiled climb's test).
    """
    f, g = fg(x)
    for _ in range(4):
        free = _free(x, g, lo, hi)
        worst = float(np.max(np.abs(g[free]), initial=0.0))
        if free.size == 0 or worst <= 1e-11 * scale:
            break
        hess = np.empty((free.size, free.size))
        for a, j in enumerate(free):
            h = 1e-5 * max(1.0, abs(float(x[j])))
            h = -h if x[j] + h > hi[j] else h
            up = x.copy()
            up[j] += h
            hess[:, a] = (fg(up)[1][free] - g[free]) / h
        neg = -0.5 * (hess + hess.T)
        eig = np.linalg.eigvalsh(neg)
        if not np.all(np.isfinite(eig)) or eig[0] <= 1e-8 * max(abs(eig[-1]), 1e-300):
            break  # not locally concave: L-BFGS-B's point stands
        xn = x.copy()
        xn[free] = np.clip(x[free] + np.linalg.solve(neg, g[free]), lo[free], hi[free])
        fn, gn = fg(xn)
        if float(np.max(np.abs(gn[free]))) >= worst or fn < f - 1e-12 * scale:
            break
        x, f, g = xn, fn, gn
    return x


def best_response(
    f: Objective,
    fg: WithGradient | None,
    x_now: np.ndarray,
    starts: list[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    climb: Climb,
    kinked: bool = False,
) -> np.ndarray:
    """The best of climbs of the perceived CE ``f`` (with gradient ``fg`` where
    analytic) from ``starts``; ``x_now`` the department's current levers (the first
    start). ``kinked``: one lever on a noiseless metric (see :func:`_kink_polish`)."""
    scale = 1.0 + abs(f(x_now))
    if len(starts) > 1:
        starts = _three_best(starts, f)
    best_x, best_v = x_now, -math.inf
    several = len(starts) > 1
    for x0 in starts:
        x, v = maximise(f, x0, lo, hi, scale, fg, COARSE if several else climb)
        tol = 1e-12 * scale
        if v > best_v + tol or (abs(v - best_v) <= tol and tuple(x) < tuple(best_x)):
            best_x, best_v = x, v
    if several and climb is PRECISE:
        best_x, best_v = maximise(f, best_x, lo, hi, scale, fg, PRECISE)
    if climb is PRECISE and fg is not None:
        best_x = newton_finish(fg, best_x, lo, hi, scale)
    if kinked:
        best_x = _kink_polish(f, best_x, best_v, lo, hi, scale)
    return best_x
