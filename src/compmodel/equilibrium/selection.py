"""Which equilibrium a solve reports: starting profiles, the highest-surplus rule and
warm continuation.

1. Fixed starting profiles, in this order: ``no_incentive`` (every lever at rest), then
   ``first_best``, then ``stretched`` (twice the first-best move from rest, clipped to
   the bounds); from each, Gauss-Seidel best responses
   (:func:`~compmodel.equilibrium.gauss_seidel.nash`).
2. Every distinct equilibrium reached is reported (equilibria within ``1e-6``,
   relative, are the same); the selected one has the highest total surplus (ties: the
   smallest levers in order).
3. A warm start (a previous solution) is tried first and kept only if a fixed profile
   reaches the same equilibrium: it may save time, never change the selection. With
   ``search="warm"`` only the warm start is followed (continuation, for sliders): the
   result is an equilibrium, but others are not looked for, and a note says so. The
   warm start carries its first best and what it depends on
   (``diagnostics.first_best_of``): the same model reuses it exactly, a changed one
   climbs from it; nothing remembered from earlier solves changes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import ConvergenceError
from .backends import Backend
from .benchmarks import first_best_key, first_best_levers, key_digest
from .gauss_seidel import nash
from .problem import Problem
from .results import EquilibriumPoint, Solution, SolveDiagnostics, efficiency

__all__ = ["Search", "find_equilibrium"]


@dataclass
class Search:
    """What a search has found so far: equilibria with the starts that reached them,
    notes for the reader, sweeps run and the residual to report."""

    found: list[tuple[np.ndarray, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sweeps: int = 0
    residual: float = 0.0
    settled: bool = False

    def add(self, t: np.ndarray, label: str) -> None:
        """Record an equilibrium reached from ``label`` (merged with an equal one)."""
        for u, labels in self.found:
            if np.all(np.abs(u - t) <= 1e-6 * np.maximum(1.0, np.abs(t))):
                labels.append(label)
                return
        self.found.append((t, [label]))

    def note_precision(self, label: str, resid: float, tol: float) -> None:
        if resid >= tol:
            self.notes.append(
                f"the {label} start settled at a relative change of {resid:.1e} per "
                f"sweep, above tol = {tol:g}: best responses are not more precise here"
            )


def warm_first_best(problem: Problem, backend: Backend, warm: Solution) -> np.ndarray:
    """The first best a warm search starts from: the warm start's own where the model
    is the same (its digest matches), else a coarse climb from it."""
    names = problem.space.names
    if not names:
        return np.empty(0)
    warm_fb = warm.diagnostics.first_best
    if warm_fb is None:
        return first_best_levers(problem, backend)
    start = np.array([warm_fb[n] for n in names])
    digest = key_digest(first_best_key(problem, backend))
    if digest is not None and digest == warm.diagnostics.first_best_of:
        return start
    return first_best_levers(problem, backend, start)


def follow_warm(
    problem: Problem, backend: Backend, warm: Solution, fb: np.ndarray, tol: float,
    max_sweeps: int,
) -> Search:  # fmt: skip
    """Follow the warm start's equilibrium only (``search="warm"``)."""
    out = Search()
    t, ok, out.sweeps, resid = nash(
        problem, backend, warm.lever_vector, fb, tol, max_sweeps, warm=True
    )
    if not ok:
        out.notes.append("the warm start did not settle (search='warm'); every start was searched")
        return out
    out.settled, out.residual = True, resid
    out.found.append((t, ["warm_start"]))
    out.notes.append(
        "followed from the warm start only (search='warm'): other equilibria "
        "were not looked for; solve with search='all' to search every start"
    )
    if resid >= tol:
        out.notes.append(
            f"settled at a relative change of {resid:.1e} per sweep, above "
            f"tol = {tol:g}: best responses are not more precise here"
        )
    return out


def search_all(
    problem: Problem, backend: Backend, fb: np.ndarray, warm: Solution | None, tol: float,
    max_sweeps: int, sweeps: int, notes: list[str],
) -> Search:  # fmt: skip
    """Every starting profile (the warm start's equilibrium, if any, only helps them stop
    early: it counts as found only if a profile reaches it)."""
    out = Search(notes=notes, sweeps=sweeps)
    rest = problem.space.rest.copy()
    stretched = problem.space.clip(rest + 2.0 * (fb - rest))
    profiles = [("no_incentive", rest), ("first_best", fb), ("stretched", stretched)]
    known: list[np.ndarray] = []
    if warm is not None and tuple(warm.levers) == problem.space.names:
        t, ok, sw, _ = nash(problem, backend, warm.lever_vector, fb, tol, max_sweeps)
        out.sweeps += sw
        if ok:
            known.append(t)
    for label, t0 in profiles:
        seen = tuple(known + [u for u, _ in out.found])
        t, ok, sw, resid = nash(problem, backend, t0, fb, tol, max_sweeps, seen)
        out.sweeps += sw
        out.residual = max(out.residual, resid) if ok else resid
        if ok:
            out.settled = True
            out.add(t, label)
            out.note_precision(label, resid, tol)
        else:
            out.notes.append(f"the {label} start did not settle (last change {resid:.3g})")
    return out


def _select(problem: Problem, found: Search) -> tuple[tuple[EquilibriumPoint, ...], int]:
    """The equilibria as reported, and the index of the one with the highest total
    surplus (rounded to 1e-9; ties: the smallest levers in order)."""
    points = tuple(
        EquilibriumPoint(
            MappingProxyType(problem.space.as_dict(t)), problem.total_surplus(t), tuple(lb)
        )
        for t, lb in found.found
    )
    order = sorted(
        range(len(points)),
        key=lambda i: (-round(points[i].total_surplus, 9), tuple(found.found[i][0])),
    )
    return points, order[0]


def find_equilibrium(
    problem: Problem,
    backend: Backend,
    warm: Solution | None,
    tol: float,
    max_sweeps: int,
    follow: bool,
    failed: Callable[[float], str],
) -> tuple[np.ndarray, SolveDiagnostics, float | None]:
    """The selected equilibrium, its diagnostics and its alignment efficiency.

    ``follow``: follow ``warm`` only, searching every profile if it does not settle.
    ``failed``: the checklist a :class:`ConvergenceError` carries when nothing settles,
    given the last residual.
    """
    names = problem.space.names
    found, followed = Search(), False
    if follow and warm is not None:
        fb = warm_first_best(problem, backend, warm)
        found = follow_warm(problem, backend, warm, fb, tol, max_sweeps)
        followed = found.settled
    if not followed:
        fb = first_best_levers(problem, backend) if names else np.empty(0)
        found = search_all(problem, backend, fb, warm, tol, max_sweeps, found.sweeps, found.notes)
    if not found.settled:
        raise ConvergenceError(failed(found.residual))
    points, sel = _select(problem, found)
    if len(points) > 1:
        found.notes.append(
            f"{len(points)} equilibria found; the one with the highest total surplus is "
            "selected (see diagnostics.equilibria)"
        )
    t = found.found[sel][0]
    eff, note = efficiency(problem, t, fb)
    if note:
        found.notes.append(note)
    diag = SolveDiagnostics(
        converged=True,
        iterations=found.sweeps,
        residual=found.residual,
        equilibria=points,
        selected=sel,
        notes=tuple(found.notes),
        first_best=MappingProxyType(problem.space.as_dict(fb)),
        search="warm" if followed else "all",
        first_best_of=key_digest(first_best_key(problem, backend)),
    )
    return t, diag, eff
