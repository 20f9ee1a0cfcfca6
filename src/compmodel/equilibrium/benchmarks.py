"""The two benchmarks an equilibrium is measured against.

* First best: the levers that maximise total surplus without risk, ``gross value -
  sum_d N_d cost_d`` (a fixed wage bears no risk): what a planner who could set every
  lever would choose. It does not depend on plans, so it is remembered per model
  (:data:`compmodel.caches.FIRST_BEST`, keyed by what it depends on and the backend).
* No incentive: every lever at rest.

Alignment efficiency ``(TS - TS_none) / (TS_fb - TS_none)`` places an equilibrium
between them (:func:`compmodel.equilibrium.results.efficiency`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import cast

import numpy as np

from .. import caches
from .backends import Backend
from .best_response import COARSE, PRECISE, maximise
from .problem import Problem

__all__ = ["first_best_key", "first_best_levers", "key_digest"]


def first_best_key(problem: Problem, backend: Backend) -> tuple[object, ...] | None:
    """What the first best depends on (the model's equations and coefficients, effort
    costs, bounds and headcounts) and the backend that climbs it, for models that can
    say (``fingerprint``); ``None`` otherwise."""
    fingerprint = problem.caps.fingerprint
    if fingerprint is None:
        return None
    sp = problem.space
    arrays = (sp.rest, sp.lower, sp.upper, sp.cost, sp.headcount)
    name = type(problem.model).__name__
    return (name, fingerprint, backend.name, *(a.tobytes() for a in arrays))


def key_digest(key: tuple[object, ...] | None) -> str | None:
    """A short stable digest of a first-best key (stored in a solution's diagnostics)."""
    return None if key is None else hashlib.sha256(repr(key).encode()).hexdigest()[:32]


def _surplus_with_gradient(
    problem: Problem,
) -> Callable[[np.ndarray], tuple[float, np.ndarray]] | None:
    """Total surplus without risk and its gradient, where the model gives its value's."""
    value_gradient = problem.caps.value_gradient
    if value_gradient is None:
        return None
    sp = problem.space
    weighted = sp.cost * sp.headcount[:, None]

    def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = value_gradient(z)
        dev = z - sp.rest
        return value - 0.5 * float(dev @ weighted @ dev), grad - weighted @ dev

    return fg


def first_best_levers(
    problem: Problem, backend: Backend, start: np.ndarray | None = None
) -> np.ndarray:
    """Levers maximising total surplus without risk.

    From rest and from rest + 1 (clipped), precisely (remembered: a second call gives
    the same levers at once); with ``start`` (a previous first best), one coarse climb
    from there, never from memory, so the result depends on ``start`` alone: total
    surplus is flat at its maximum, so it is found to ~1e-10 relative while the levers
    may sit ~1e-5 off. The compiled backend
    climbs a planner paid the company's value; a kink (its test not met) is finished
    with L-BFGS-B.
    """
    sp = problem.space
    if len(sp.names) == 0:
        return np.empty(0)
    key = first_best_key(problem, backend)
    if key is not None and start is None:
        found = caches.FIRST_BEST.get(key)
        if found is not None:
            return cast(np.ndarray, found).copy()  # found before: the same levers
    x0 = sp.rest.copy()

    def surplus(z: np.ndarray) -> float:
        return problem.total_surplus(z, risk=False)

    scale = 1.0 + abs(surplus(x0))
    starts = (x0, sp.clip(x0 + 1.0)) if start is None else (sp.clip(start),)
    fg = _surplus_with_gradient(problem)
    planner = backend.planner_climb()
    best_x, best_v = x0, -math.inf
    for x_start in starts:
        x = None
        if planner is not None:
            x, met = planner(x_start, scale, start is None)
            v = surplus(x)
            if not met:
                x_start, x = x, None
        if x is None:
            climb = PRECISE if start is None else COARSE
            x, v = maximise(surplus, x_start, sp.lower, sp.upper, scale, fg, climb)
        if v > best_v + 1e-12 * scale:
            best_x, best_v = x, v
    if key is not None and start is None:  # a coarse climb is not remembered
        caches.FIRST_BEST.put(key, best_x.copy())
    return best_x
