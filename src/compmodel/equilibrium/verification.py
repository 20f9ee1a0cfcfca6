"""Checking that a point the search settled on is an equilibrium: no department gains by
moving its own levers, the others' held where they are.

A department ``d`` at levers ``t`` passes when no deviation raises its perceived CE by
more than :func:`tolerance`: ``max(1e-9 |CE_d|, 1e-6 target pay_d)`` (target pay: the
department's target incentive times its base pay; at least ``1e-9`` currency units, for
departments without a target).

* The **local** check climbs (coarse L-BFGS-B, or the compiled climb) from the
  department's own levers: a point where a climb still gains is not a best response.
* The **global** check adds an even grid over the department's levers, each point's CE
  evaluated and the best one climbed from where it beats the department's levers:
  every finite
  bound is kept; an unbounded side becomes ``rest ± 4 max(1, |t|)`` around the lever's
  rest value ``rest`` and its level ``t`` (the box always holds the point checked).
  Per lever, 9 points for one lever, 7 for two, 4 for three and 3 for four or more
  (:data:`_PER_LEVER`).

:func:`verify` runs the global check on every department (``search="all"``) or the local
one, plus the global one for departments whose plan is not concave (quotas, steps,
gates), after a warm search. It only checks: it never changes a reported number.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .backends import Backend
from .problem import DepartmentProblem, Problem

__all__ = ["Deviation", "Verdict", "box", "grid", "tolerance", "verify"]

#: points per lever of the global grid, by the department's number of levers
_PER_LEVER = {1: 9, 2: 7, 3: 4, 4: 3}


@dataclass(frozen=True)
class Deviation:
    """A profitable move: department ``department`` gains ``gain`` (perceived CE,
    currency per person per period; ``allowed`` the tolerance) by moving its levers
    ``levers`` from ``at`` to ``to``."""

    department: str
    levers: tuple[str, ...]
    at: tuple[float, ...]
    to: tuple[float, ...]
    gain: float
    allowed: float

    def describe(self) -> str:
        """The move in a reader's words."""
        moves = ", ".join(
            f"{n.split('.', 1)[1]} {a:.6g} -> {b:.6g}"
            for n, a, b in zip(self.levers, self.at, self.to, strict=True)
        )
        return (
            f"{self.department} gains {self.gain:.6g} per person per period (allowed: "
            f"{self.allowed:.3g}) by moving its levers ({moves})"
        )


def tolerance(problem: Problem, d: DepartmentProblem, ce: float) -> float:
    """The largest CE gain a deviation may bring at an equilibrium:
    ``max(1e-9 |CE|, 1e-6 target pay, 1e-9)``."""
    dept = problem.scenario.departments[d.name]
    target = abs(float(dept.target_payout)) if math.isfinite(dept.target_payout) else 0.0
    return max(1e-9 * abs(ce), 1e-6 * target, 1e-9)


def box(problem: Problem, d: DepartmentProblem, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The global grid's box for ``d`` at levers ``t``: its finite bounds, and
    ``rest ± 4 max(1, |t|)`` on an unbounded side (widened to hold ``t``)."""
    sp = problem.space
    idx = d.levers
    x, rest = t[idx], sp.rest[idx]
    reach = 4.0 * np.maximum(1.0, np.abs(x))
    lo = np.where(np.isfinite(sp.lower[idx]), sp.lower[idx], np.minimum(rest - reach, x))
    hi = np.where(np.isfinite(sp.upper[idx]), sp.upper[idx], np.maximum(rest + reach, x))
    return lo, hi


def grid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """An even grid over the box ``[lo, hi]``, one point per row."""
    n = _PER_LEVER.get(lo.size, 3)
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, lo.size)


def _starts(problem: Problem, d: DepartmentProblem, t: np.ndarray, wide: bool) -> np.ndarray:
    """Where ``d``'s check climbs from: its levers, and (``wide``) the global grid."""
    x0 = t[d.levers].copy()[None, :]
    return np.vstack([x0, grid(*box(problem, d, t))]) if wide else x0


def _deviation(
    problem: Problem, d: DepartmentProblem, t: np.ndarray, found: tuple[float, float, np.ndarray]
) -> Deviation | None:
    """The profitable move in ``found`` (CE at ``t``, best CE, its levers), if any."""
    ce, best, x = found
    allowed = tolerance(problem, d, ce)
    gain = best - ce
    if not math.isfinite(best) or gain <= allowed:
        return None
    names = problem.space.names
    idx = d.levers
    return Deviation(
        d.name, tuple(names[j] for j in idx), tuple(map(float, t[idx])), tuple(map(float, x)),
        float(gain), float(allowed),
    )  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """What :func:`verify` found: ``check`` is ``"global"`` when every department with
    levers passed the global check, ``"local"`` when some passed the local one only;
    ``deviation`` the first profitable move found (``None``: verified); ``loose`` the
    departments whose CE is over a million times their target pay (there ``1e-9 |CE|``
    sets the tolerance, looser than ``1e-3`` of the target pay: a huge risk premium or
    effort cost, where best responses are imprecise)."""

    check: str
    deviation: Deviation | None
    loose: tuple[str, ...]


def verify(problem: Problem, backend: Backend, t: np.ndarray, warm: bool) -> Verdict:
    """Check every department at ``t``: the global check for each (``warm``: the local
    one, plus the global one where the plan is not concave); the backend climbs every
    department's deviations in one go."""
    movers: Sequence[DepartmentProblem] = [d for d in problem.depts if d.levers.size]
    if not movers:
        return Verdict("global", None, ())
    wide = [not warm or not d.concave for d in movers]
    starts = [_starts(problem, d, t, w) for d, w in zip(movers, wide, strict=True)]
    # the grid is scanned, and climbed on from where it beats the levers (a slider's
    # and a cold solve's budget: climbing every grid point cost 1 ms a solve)
    found = backend.deviations(t, starts, climb_all=False)
    check = "global" if all(wide) else "local"
    loose: list[str] = []
    for d, got in zip(movers, found, strict=True):
        deviation = _deviation(problem, d, t, got)
        if deviation is not None:
            return Verdict(check, deviation, tuple(loose))
        target = abs(float(problem.scenario.departments[d.name].target_payout))
        if 0.0 < target and abs(got[0]) > 1e6 * target:
            loose.append(d.name)
    return Verdict(check, None, tuple(loose))
