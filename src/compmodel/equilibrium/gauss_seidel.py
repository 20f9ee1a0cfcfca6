"""Gauss-Seidel best responses from a starting profile until no lever moves.

From a profile, each department in turn moves to its best response given the others'
levers (:meth:`Backend.sweeper`), until no lever moves by more than ``tol`` (relative)
in a sweep. Sweeps refine each department's levers from where they are, so a profile is
followed where it leads; a point counts as settled only after one more sweep in which
non-concave departments search every starting point (which restarts the refining when
it finds a better optimum). While levers still move by more than 1e-4 in a sweep,
climbs are coarse; from then on precise, and only a precise sweep can end the search.
Where every plan has an analytic gradient, a sweep that moves levers by less than 1e-2
is followed by a Newton solve of the stacked first-order conditions (at most three per
profile): it jumps to where they hold, and the sweeps that follow confirm the jump or
undo it. A profile that reaches an equilibrium already confirmed stops there.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .backends import Backend
from .problem import Problem

__all__ = ["NEWTON_FROM", "Settled", "nash"]

#: Newton is tried once a coarse sweep moves levers by less than this (relative)
NEWTON_FROM = 1e-2


class Settled(NamedTuple):
    """Where the sweeps from a profile ended: the levers, whether they settled, the
    sweeps run and the last sweep's largest relative lever change."""

    levers: np.ndarray
    settled: bool
    sweeps: int
    residual: float


def _floor(history: list[float], sweep: int, resid: float) -> bool:
    """The precision floor: after 30 sweeps, changes below 1e-6 that no longer shrink
    (at least half the smallest of the last 20) are as precise as best responses get."""
    return sweep >= 30 and resid < 1e-6 and resid >= 0.5 * min(history[-20:-1])


def _jump(backend: Backend, t: np.ndarray, tol: float) -> np.ndarray:
    """A Newton proposal from ``t``, or ``t`` where Newton declines."""
    proposal = backend.newton(t, tol)
    return t if proposal is None else proposal


def nash(
    problem: Problem,
    backend: Backend,
    t0: np.ndarray,
    fb: np.ndarray,
    tol: float,
    max_sweeps: int,
    known: tuple[np.ndarray, ...] = (),
    warm: bool = False,
) -> Settled:
    """Gauss-Seidel best responses from ``t0`` (``fb``: the first best, a starting
    point of the searches).

    ``warm``: ``t0`` is near an equilibrium (a previous one): sweeps are precise from
    the start; where every plan has an analytic gradient a Newton jump comes first and
    the first sweep then searches every start (confirming the jump). Stops early when a
    sweep lands within ``1e-6`` (relative, the tolerance at which equilibria count as
    the same) of a ``known`` equilibrium while moving by less than ``1e-5``: from there
    the sweeps converge to it. At the precision floor (:func:`_floor`) the point counts
    as settled too, and ``solve`` notes the residual.
    """
    t = problem.space.clip(t0.copy())
    resid = math.inf
    explore = False  # searching every starting point confirms a settled point
    history: list[float] = []
    precise = warm
    smooth, newtons = problem.smooth, 3
    if warm and smooth:
        newtons -= 1
        proposal = backend.newton(t, tol)
        if proposal is not None:
            t, explore = proposal, True  # the first sweep confirms the jump, or moves on
    sweep_once = backend.sweeper()
    for sweep in range(1, max_sweeps + 1):
        old = t.copy()
        sweep_once(t, fb, explore, precise)
        scale = np.maximum(1.0, np.abs(t))
        resid = float(np.max(np.abs(t - old) / scale, initial=0.0))
        history.append(resid)
        if resid < 1e-5:
            for k in known:
                if np.all(np.abs(t - k) <= 1e-6 * scale):
                    return Settled(k.copy(), True, sweep, resid)
        floor = _floor(history, sweep, resid)
        was_precise, precise = precise, precise or resid < 1e-4
        if was_precise and (resid < tol or floor):
            if explore:
                return Settled(t, True, sweep, resid)
            explore = True  # confirm with the full search before stopping
            continue
        explore = False  # the search runs in confirming sweeps only
        if newtons and smooth and (was_precise or tol <= resid < NEWTON_FROM):
            # near enough: jump to where the first-order conditions hold instead of
            # sweeping closer; the next sweeps confirm (or undo) the jump
            newtons -= 1
            t = _jump(backend, t, tol)
    return Settled(t, False, max_sweeps, resid)
