"""Newton on the stacked first-order conditions (the Python backend's; the compiled
backend runs the same method in :mod:`compmodel._compiled`).

Near an equilibrium every department's perceived CE is flat in its own levers: the
stacked gradients ``g(t)`` vanish (or push outward at a bound). A chord method takes the
Jacobian of ``g`` by forward differences once (step ``1e-6 max(1, |t_j|)``), then steps
with it, levers at a bound whose gradient pushes outward held there. It only proposes a
point: the Gauss-Seidel sweeps that follow check it is a fixed point of the best
responses (second-order conditions and the global search included).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["chord_newton"]


def _held(t: np.ndarray, g: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Positions of levers not held at a bound (whose gradient pushes outward)."""
    room = 1e-12 * np.maximum(1.0, np.abs(t))
    at_lo = np.isfinite(lo) & (t <= lo + room) & (g < 0)
    at_hi = np.isfinite(hi) & (t >= hi - room) & (g > 0)
    return np.flatnonzero(~(at_lo | at_hi))


def chord_newton(
    foc: Callable[[np.ndarray], np.ndarray],
    t0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    tol: float,
) -> np.ndarray | None:
    """Solve ``foc(t) = 0`` from ``t0`` within the bounds; ``None`` when the steps stop
    shrinking (at most 12 steps; stops once a step moves levers by less than
    ``0.1 tol``, relative)."""
    t = t0.copy()
    g = foc(t)
    free = _held(t, g, lo, hi)
    if free.size == 0:
        return t
    jac = np.empty((free.size, free.size))
    for k, j in enumerate(free):
        h = 1e-6 * max(1.0, abs(float(t[j])))
        if t[j] + h > hi[j]:
            h = -h
        up = t.copy()
        up[j] += h
        jac[:, k] = (foc(up)[free] - g[free]) / h
    if not np.all(np.isfinite(jac)):
        return None
    last = math.inf
    for _ in range(12):
        try:
            step = np.linalg.solve(jac, -g[free])
        except np.linalg.LinAlgError:
            return None
        new = t.copy()
        new[free] += step
        new = np.clip(new, lo, hi)
        rel = float(np.max(np.abs(new - t) / np.maximum(1.0, np.abs(t)), initial=0.0))
        if not math.isfinite(rel) or rel > 0.5 * last:
            return None if rel > last else new
        t, last = new, rel
        if rel < 0.1 * tol:
            return t
        g = foc(t)
    return t
