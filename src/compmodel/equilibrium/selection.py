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

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import ConvergenceError
from ..pay import third_cumulant
from .backends import Backend
from .benchmarks import first_best_key, first_best_levers, key_digest
from .gauss_seidel import nash
from .problem import Problem
from .results import EquilibriumPoint, Solution, SolveDiagnostics, efficiency
from .verification import Deviation, Verdict, verify

__all__ = ["Search", "find_equilibrium", "unsettled_checklist", "verify_all"]


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


def warm_first_best(
    problem: Problem, backend: Backend, warm: Solution, digest: str | None
) -> np.ndarray:
    """The first best a warm search starts from: the warm start's own where the model
    is the same (``digest``, of this problem's first-best key, matches the warm
    start's), else a coarse climb from it."""
    names = problem.space.names
    if not names:
        return np.empty(0)
    warm_fb = warm.diagnostics.first_best
    if warm_fb is None:
        return first_best_levers(problem, backend)
    start = np.array([warm_fb[n] for n in names])
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
    check: bool = True,
) -> tuple[np.ndarray, SolveDiagnostics, float | None]:
    """The selected equilibrium, its diagnostics and its alignment efficiency.

    ``follow``: follow ``warm`` only, searching every profile if it does not settle.
    ``failed``: the checklist a :class:`ConvergenceError` carries when nothing settles,
    given the last residual. ``check=False`` (a followed point inside a root search,
    never reported): no verification, no efficiency, no notes; ``verified`` is empty.
    """
    names = problem.space.names
    digest = key_digest(first_best_key(problem, backend))
    found, followed = Search(), False
    if follow and warm is not None:
        fb = warm_first_best(problem, backend, warm, digest)
        found = follow_warm(problem, backend, warm, fb, tol, max_sweeps)
        followed = found.settled
    if not followed:
        fb = first_best_levers(problem, backend) if names else np.empty(0)
        found = search_all(problem, backend, fb, warm, tol, max_sweeps, found.sweeps, found.notes)
    if not found.settled:
        raise ConvergenceError(failed(found.residual))
    verdicts: list[Verdict] = []
    if followed and not check:
        return found.found[0][0], _unchecked(problem, found, fb, digest), None
    if followed:
        verdicts = [verify(problem, backend, found.found[0][0], warm=True)]
        if verdicts[0].deviation is not None:
            # the warm follow's own notes no longer apply
            notes = [_unverified_note(verdicts[0].deviation)]
            followed = False
            fb = first_best_levers(problem, backend) if names else np.empty(0)
            found = search_all(problem, backend, fb, warm, tol, max_sweeps, found.sweeps, notes)
            if not found.settled:
                raise ConvergenceError(failed(found.residual))
    if not followed:
        verdicts = verify_all(problem, backend, found, fb, tol, max_sweeps)
    points, sel = _select(problem, found)
    vague = verdicts[sel].loose
    if vague:
        found.notes.append(
            f"verified to 1e-9 of the certainty equivalent only for {', '.join(vague)}: it "
            "is over a million times the target pay (a huge risk premium or effort cost), "
            "so the levers are imprecise there; check risk_aversion and the effort costs"
        )
    if len(points) > 1:
        found.notes.append(
            f"{len(points)} equilibria found; the one with the highest total surplus is "
            "selected (see diagnostics.equilibria)"
        )
    t = found.found[sel][0]
    eff, note = efficiency(problem, t, fb)
    if note:
        found.notes.append(note)
    found.notes.extend(_approximate_ce_notes(problem, t))
    diag = SolveDiagnostics(
        converged=True,
        iterations=found.sweeps,
        residual=found.residual,
        equilibria=points,
        selected=sel,
        notes=tuple(found.notes),
        first_best=MappingProxyType(problem.space.as_dict(fb)),
        search="warm" if followed else "all",
        first_best_of=digest,
        verified=verdicts[sel].check,
    )
    return t, diag, eff


def unsettled_checklist(scenario: str, resid: float, sweeps: int) -> str:
    """The message of a search whose best responses did not settle in ``scenario``
    (its name), with a numbered checklist."""
    return (
        f"best responses did not settle in {scenario!r} after {sweeps} sweeps "
        f"(last relative change {resid:.3g}). Things to try:\n"
        "  1. Look for departments whose plans reward each other's levers in opposite "
        "directions (a cycle); compmodel.first_best(scenario) shows where value lies.\n"
        "  2. Add or tighten lever bounds ([company.levers.<dept>.<lever>] lower/upper) so "
        "best responses cannot run away.\n"
        "  3. Check effort costs: a lever with a tiny `cost` responds violently to pay.\n"
        "  4. Smooth the plan: steps, lump sums and retroactive tiers make responses jump; "
        "try linear pieces or marginal tiers.\n"
        "  5. Raise max_sweeps, or loosen tol, in compmodel.solve(...)."
    )


def _unchecked(
    problem: Problem, found: Search, fb: np.ndarray, digest: str | None
) -> SolveDiagnostics:
    """The diagnostics of a followed point not checked (inside a root search, never
    reported): no verification, no notes."""
    points, sel = _select(problem, found)
    return SolveDiagnostics(
        converged=True, iterations=found.sweeps, residual=found.residual,
        equilibria=points, selected=sel, notes=(),
        first_best=MappingProxyType(problem.space.as_dict(fb)), search="warm",
        first_best_of=digest, verified="",
    )  # fmt: skip


def _unverified_note(dev: Deviation) -> str:
    return (
        f"the warm start's equilibrium failed the check ({dev.describe()}); every start "
        "was searched"
    )


def verify_all(
    problem: Problem, backend: Backend, found: Search, fb: np.ndarray, tol: float,
    max_sweeps: int,
) -> list[Verdict]:  # fmt: skip
    """Verify every equilibrium found (the global check): their verdicts, in the order
    of ``found.found``. One that fails is followed once more from the profitable move
    (Gauss-Seidel, as any start); what that reaches replaces it (merged with an equal
    one) if it passes.

    Raises
    ------
    ConvergenceError
        If a point still fails, saying which department gains how much by moving where.
    """
    ok: list[tuple[np.ndarray, list[str]]] = []
    verdicts: list[Verdict] = []
    for t, labels in found.found:
        verdict = verify(problem, backend, t, warm=False)
        if verdict.deviation is not None:
            t, labels, verdict = _continue(
                problem, backend, t, verdict.deviation, fb, tol, max_sweeps, ok, labels
            )
        for u, seen in ok:
            if np.all(np.abs(u - t) <= 1e-6 * np.maximum(1.0, np.abs(t))):
                seen.extend(lb for lb in labels if lb not in seen)
                break
        else:
            ok.append((t, labels))
            verdicts.append(verdict)
    found.found[:] = ok
    return verdicts


def _continue(
    problem: Problem, backend: Backend, t: np.ndarray, dev: Deviation, fb: np.ndarray,
    tol: float, max_sweeps: int, ok: list[tuple[np.ndarray, list[str]]], labels: list[str],
) -> tuple[np.ndarray, list[str], Verdict]:  # fmt: skip
    """Best responses from ``t`` with ``dev`` taken: the point reached, its labels and
    its verdict, if it passes; else a :class:`ConvergenceError` naming the move."""
    t0 = t.copy()
    for name, x in zip(dev.levers, dev.to, strict=True):
        t0[problem.space.names.index(name)] = x
    t1, settled, _, _ = nash(problem, backend, t0, fb, tol, max_sweeps, tuple(u for u, _ in ok))
    verdict = verify(problem, backend, t1, warm=False) if settled else None
    if verdict is not None and verdict.deviation is None:
        return t1, [*labels, "verification"], verdict
    then = "best responses did not settle"
    if verdict is not None and verdict.deviation is not None:
        then = verdict.deviation.describe()
    raise ConvergenceError(
        f"the search settled at levers that are not an equilibrium: {dev.describe()}; "
        f"followed from there, {then}" + ". Things to try:\n"
        "  1. Smooth the plan: steps, lump sums and gates make best responses jump; try "
        "linear pieces or marginal tiers.\n"
        "  2. Add or tighten lever bounds ([company.levers.<dept>.<lever>] lower/upper).\n"
        "  3. Check risk aversion and effort costs for values far outside the usual range.\n"
        "  4. Tighten tol, or raise max_sweeps, in compmodel.solve(...)."
    )


def _approximate_ce_notes(problem: Problem, t: np.ndarray) -> list[str]:
    """Notes naming the departments whose CE falls back to mean-variance under
    ``certainty_equivalent = "cara"``, each with the estimated error of that CE,
    ``(r^2/6) kappa_3`` (:func:`compmodel.pay.third_cumulant`) at the levers ``t``, and
    a warning where it exceeds 1% of the risk premium (none: no note)."""
    out = []
    mu = problem.model.means(t)
    for d in problem.depts:
        if not (d.rule == "cara" and d.risk_aversion > 0 and d.moments and d.plan):
            continue
        if d.moments.exact_cara:
            continue
        means = problem.plan_means(d, mu)
        k3 = third_cumulant(dataclasses.replace(d.plan, mean=means))
        error = d.risk_aversion**2 / 6.0 * k3
        premium = problem.risk_premium(d, means)[2]
        share = abs(error) / premium if premium > 0 else math.inf
        text = (
            f"the certainty equivalent of {d.name} is mean-variance, not exact CARA: its "
            "pay depends on correlated metrics, or on more than 3 gates and modifiers, "
            f"which the exact integration does not cover; its estimated error, "
            f"(r^2/6) kappa_3, is {error:,.2f} per person"
        )
        if share > 0.01:
            text += f", {share:.1%} of the risk premium: treat its levers as approximate"
        out.append(text)
    return out
