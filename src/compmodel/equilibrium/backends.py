"""Two backends behind one protocol: how a department's perceived CE, a Gauss-Seidel
sweep of best responses and the first-order conditions are computed.

* :class:`PythonBackend`: scipy's L-BFGS-B best responses
  (:mod:`~compmodel.equilibrium.best_response`) on :class:`compmodel.pay.PayMoments`,
  the company model's own Jacobian where it offers one, else central differences;
  Newton by :func:`~compmodel.equilibrium.newton.chord_newton`. Any model, any plan.
* :class:`CompiledBackend`: the same CE, best responses (projected Newton climbs in
  place of L-BFGS-B, the same starting points and stopping tests), sweeps and Newton in
  compiled code (:mod:`compmodel._compiled`, instantiated for the model's plug-in by
  :mod:`compmodel._kernels`), where the model brings compiled equations and every plan
  fits the kernels; a climb that stalls at a kink is finished with L-BFGS-B.

:func:`choose_backend` picks one once per solve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import numpy as np

from .. import _compiled as kernels
from .._compiled import department_arrays, gl_rule
from .._kernels import kernels_for
from ..errors import ScenarioError
from .best_response import COARSE, PRECISE, Climb, best_response, maximise, starting_points
from .newton import chord_newton
from .problem import DepartmentProblem, Problem

__all__ = ["Backend", "BackendName", "CompiledBackend", "PythonBackend", "Sweep", "choose_backend"]

BackendName = Literal["auto", "python", "compiled"]
#: One Gauss-Seidel sweep over departments, in place on the levers ``t``: ``(t, fb,
#: explore, precise)``; ``explore`` searches every starting point of non-concave plans,
#: ``precise`` climbs precisely. A sweep keeps its damping state between calls.
Sweep = Callable[[np.ndarray, np.ndarray, bool, bool], None]
#: The first best's compiled climb from a start: ``(start, scale, precise) -> (levers,
#: met)``, ``met`` false at a kink (finished with L-BFGS-B).
PlannerClimb = Callable[[np.ndarray, float, bool], tuple[np.ndarray, bool]]


class Backend(Protocol):
    """What the equilibrium search asks of a backend."""

    name: Literal["python", "compiled"]

    def perceived_ce(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> float:
        """A person of ``d``'s CE (without base) choosing ``x``, everyone else at ``t``."""
        ...

    def sweeper(self) -> Sweep:
        """A fresh Gauss-Seidel sweep (its damping state new)."""
        ...

    def foc(self, t: np.ndarray) -> np.ndarray:
        """Stacked gradients of each department's perceived CE in its own levers."""
        ...

    def newton(self, t0: np.ndarray, tol: float) -> np.ndarray | None:
        """A Newton proposal for where the first-order conditions hold (or ``None``)."""
        ...

    def planner_climb(self) -> PlannerClimb | None:
        """The first best's compiled climb, where the backend has one."""
        ...

    def deviations(
        self, t: np.ndarray, starts: Sequence[np.ndarray], climb_all: bool = True
    ) -> list[tuple[float, float, np.ndarray]]:
        """For each department with levers (in order), its perceived CE at ``t``, the
        best CE found from its ``starts`` rows (the first its current levers), everyone
        else at ``t``, and the levers that reach it (what
        :mod:`~compmodel.equilibrium.verification` asks). ``climb_all``: coarse climbs
        from the current levers and the three other rows with the highest CE;
        otherwise a climb from the current levers and the CE at each other row,
        climbing on from the best row where it beats them."""
        ...


def _damped(step: float, move: np.ndarray, prev: np.ndarray | None) -> float:
    """Halve a department's step (to at least 1/64) when its move reverses direction
    from the last sweep: this damps overshooting responses (a gate on a company metric)
    without changing the fixed points."""
    if prev is not None and float(move @ prev) < 0.0:
        return max(step * 0.5, 1.0 / 64.0)
    return step


class PythonBackend:
    """The reference backend: any company model, any plan (see the module docstring)."""

    name: Literal["python", "compiled"] = "python"

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def perceived_ce(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> float:
        p = self.problem
        if d.plan is None:
            t2 = t.copy()
            t2[d.levers] = x
            return -p.space.effort_cost(d.name, t2)
        t2, means = p.perceived(d, t, x, mu0)
        return p.certainty(d, means) - p.space.effort_cost(d.name, t2)

    def perceived_ce_and_gradient(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """:meth:`perceived_ce` and its gradient in ``x``: pay moments differentiated
        analytically in the plan means (Stein's identity on the same closed forms and
        quadrature rules), the model's response by :meth:`Problem.means_jacobian` (on a
        split variable ``J_own + LoS (J - J_own)``, :meth:`Problem.own_means`)."""
        p = self.problem
        assert d.moments is not None  # only called when has_gradient
        t2 = t.copy()
        t2[d.levers] = x
        mu, dmu = p.means_jacobian(t2, d.levers)
        base_means = p.plan_means(d, mu0)
        jac = np.zeros((base_means.size, x.size))
        mask = d.model_index >= 0
        jac[mask] = dmu[d.model_index[mask]]
        rows = mask & d.own_split if d.splits else mask[:0]
        if rows.any():
            own, down = p.own_means(t2, t, d.levers)
            base_means = np.where(d.own_split, p.plan_means(d, own), base_means)
        means = base_means + d.line_of_sight * (p.plan_means(d, mu) - base_means)
        pay_ce, g_means = d.moments.certainty_with_gradient(means, d.risk_aversion, d.rule)
        idx = d.levers
        dev = x - p.space.rest[idx]
        cmat = p.space.cost[np.ix_(idx, idx)]
        ce = pay_ce - float(0.5 * dev @ cmat @ dev)
        scale = g_means * d.line_of_sight
        if rows.any():  # a split variable: J_own + LoS (J - J_own)
            scale[rows] = 0.0
            j_own = down[d.model_index[rows]]
            perceived = j_own + d.line_of_sight[rows, None] * (jac[rows] - j_own)
            grad = scale @ jac + g_means[rows] @ perceived - cmat @ dev
        else:
            grad = scale @ jac - cmat @ dev
        return ce, np.asarray(grad, dtype=float)

    def best_response(
        self, d: DepartmentProblem, t: np.ndarray, starts: list[np.ndarray], climb: Climb
    ) -> np.ndarray:
        """Department ``d``'s best levers with everyone else at ``t``, climbed from
        ``starts`` as far as ``climb`` says."""
        idx = d.levers
        mu0 = self.problem.model.means(t)
        sp = self.problem.space

        def f(x: np.ndarray) -> float:
            return self.perceived_ce(d, t, x, mu0)

        fg = None
        if d.moments is not None and d.moments.has_gradient:

            def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
                return self.perceived_ce_and_gradient(d, t, x, mu0)

        kinked = idx.size == 1 and d.plan is not None and bool(np.any(np.diag(d.plan.cov) <= 0))
        return best_response(f, fg, t[idx], starts, sp.lower[idx], sp.upper[idx], climb, kinked)

    def sweeper(self) -> Sweep:
        movers = [d for d in self.problem.depts if d.levers.size]
        step = {d.name: 1.0 for d in movers}
        last: dict[str, np.ndarray] = {}

        def sweep(t: np.ndarray, fb: np.ndarray, explore: bool, precise: bool) -> None:
            climb = PRECISE if precise else COARSE
            for d in movers:
                starts = starting_points(self.problem, d, t, fb, explore)
                move = self.best_response(d, t, starts, climb) - t[d.levers]
                step[d.name] = _damped(step[d.name], move, last.get(d.name))
                t[d.levers] = t[d.levers] + step[d.name] * move
                last[d.name] = move

        return sweep

    def foc(self, t: np.ndarray) -> np.ndarray:
        p = self.problem
        g = np.zeros(t.size)
        mu0 = p.model.means(t)
        for d in p.depts:
            idx = d.levers
            if idx.size == 0:
                continue
            if d.plan is None:
                dev = t[idx] - p.space.rest[idx]
                g[idx] = -p.space.cost[np.ix_(idx, idx)] @ dev
            else:
                g[idx] = self.perceived_ce_and_gradient(d, t, t[idx], mu0)[1]
        return g

    def newton(self, t0: np.ndarray, tol: float) -> np.ndarray | None:
        sp = self.problem.space
        return chord_newton(self.foc, t0, sp.lower, sp.upper, tol)

    def planner_climb(self) -> PlannerClimb | None:
        return None

    def deviations(
        self, t: np.ndarray, starts: Sequence[np.ndarray], climb_all: bool = True
    ) -> list[tuple[float, float, np.ndarray]]:
        mu0 = self.problem.model.means(t)
        movers = [d for d in self.problem.depts if d.levers.size]
        out = []
        for d, rows in zip(movers, starts, strict=True):
            x = self.best_response(d, t, list(rows if climb_all else rows[:1]), COARSE)
            v = self.perceived_ce(d, t, x, mu0)
            scanned = [] if climb_all else [(self.perceived_ce(d, t, r, mu0), r) for r in rows[1:]]
            top = max(scanned, key=lambda pair: pair[0], default=None)
            if top is not None and top[0] > v:  # a grid point beats the levers: climb on
                x = self.best_response(d, t, [top[1]], COARSE)
                v = max(self.perceived_ce(d, t, x, mu0), top[0])
            out.append((self.perceived_ce(d, t, t[d.levers], mu0), v, x))
        return out


class CompiledBackend:
    """The compiled kernels (see the module docstring); built by :func:`choose_backend`."""

    name: Literal["python", "compiled"] = "compiled"

    def __init__(self, problem: Problem, module: Any, data: Any, packed: dict[str, Any]) -> None:
        self.problem = problem
        self._kmod = module
        self._data = data
        self._packed = packed
        self._depts = tuple(packed.values())
        self._gx, self._gw = gl_rule()

    def perceived_ce_and_gradient(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[float, np.ndarray]:
        xa = np.asarray(x, dtype=float)
        ce, grad = self._kmod.perceived_ce(
            self._data, t, xa, mu0, self._packed[d.name], self._gx, self._gw
        )
        return float(ce), grad

    def perceived_ce(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> float:
        return self.perceived_ce_and_gradient(d, t, x, mu0)[0]

    def _polish(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, v: float, scale: float
    ) -> np.ndarray:
        """Finish a compiled best response with L-BFGS-B where its climb stalled (a kink)."""
        mu0 = self.problem.model.means(t)

        def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
            return self.perceived_ce_and_gradient(d, t, z, mu0)

        sp = self.problem.space
        lo, hi = sp.lower[d.levers], sp.upper[d.levers]
        x2, v2 = maximise(lambda z: fg(z)[0], x, lo, hi, scale, fg, PRECISE)
        return x2 if v2 >= v else x

    def sweeper(self) -> Sweep:
        """One sweep in compiled code with its own damping state (the rule of
        :class:`PythonBackend`); departments whose precise climb stalls at a kink are
        finished with L-BFGS-B here."""
        movers = [d for d in self.problem.depts if d.levers.size]
        concave = np.array([d.concave for d in movers], dtype=np.bool_)
        sp = self.problem.space
        step = np.ones(len(movers))
        last = np.zeros(len(sp.names))
        has_last = np.zeros(len(movers), dtype=np.bool_)

        def sweep(t: np.ndarray, fb: np.ndarray, explore: bool, precise: bool) -> None:
            first = 0
            while True:
                k, x, v, scale = self._kmod.gauss_seidel(
                    self._data, t, fb, self._depts, concave, sp.rest, sp.lower, sp.upper,
                    explore, precise, step, last, has_last, first, self._gx, self._gw,
                )  # fmt: skip
                if k < 0:
                    return
                d = movers[k]
                x = self._polish(d, t, x, float(v), float(scale))
                self._kmod.apply_move(t, d.levers, x, k, step, last, has_last)
                first = k + 1

        return sweep

    def foc(self, t: np.ndarray) -> np.ndarray:
        return self._kmod.first_order_conditions(self._data, t, self._depts, self._gx, self._gw)

    def newton(self, t0: np.ndarray, tol: float) -> np.ndarray | None:
        sp = self.problem.space
        t, ok = self._kmod.newton(
            self._data, t0, self._depts, sp.lower, sp.upper, tol, self._gx, self._gw
        )
        return t if ok else None

    def planner_climb(self) -> PlannerClimb | None:
        p = self.problem
        if p.caps.value_metric is None:
            return None
        planner = kernels.planner_arrays(p.space, list(p.model.metrics).index(p.caps.value_metric))
        sp = p.space

        def climb(start: np.ndarray, scale: float, precise: bool) -> tuple[np.ndarray, bool]:
            x, _, met = self._kmod.climb(
                self._data, start, start, p.model.means(start), planner, sp.lower, sp.upper,
                scale, precise, self._gx, self._gw,
            )  # fmt: skip
            return x, bool(met)

        return climb

    def deviations(
        self, t: np.ndarray, starts: Sequence[np.ndarray], climb_all: bool = True
    ) -> list[tuple[float, float, np.ndarray]]:
        """One compiled call for every department."""
        sp = self.problem.space
        width = max(rows.shape[1] for rows in starts)
        flat = np.zeros((sum(rows.shape[0] for rows in starts), width))
        offsets = np.zeros(len(starts) + 1, dtype=np.int64)
        for k, rows in enumerate(starts):
            offsets[k + 1] = offsets[k] + rows.shape[0]
            flat[offsets[k] : offsets[k + 1], : rows.shape[1]] = rows
        ces, bests, xs = self._kmod.deviation_gains(
            self._data, t, self._depts, sp.lower, sp.upper, flat, offsets, climb_all,
            self._gx, self._gw,
        )  # fmt: skip
        return [
            (float(ces[k]), float(bests[k]), np.asarray(xs[k, : rows.shape[1]], dtype=float))
            for k, rows in enumerate(starts)
        ]


def choose_backend(problem: Problem, backend: BackendName) -> PythonBackend | CompiledBackend:
    """The backend a solve runs on: ``"auto"`` the compiled kernels where the model
    brings compiled equations meant for it (``CompiledEquations.auto``) and every plan
    fits them, else Python.

    Raises
    ------
    ScenarioError
        If ``backend`` is not one of the three, or is ``"compiled"`` where the kernels
        do not apply (saying why).
    """
    check_backend(backend)
    why = "its company model brings no compiled equations (models.CompiledEquations)"
    compiled = problem.caps.compiled
    if backend == "auto" and compiled is not None and not compiled[0].auto:
        return PythonBackend(problem)  # the model's Python path is fast: no compile
    if backend != "python" and compiled is not None:
        equations, data = compiled
        space = problem.space
        packed = {d.name: department_arrays(d, space) for d in problem.depts if d.levers.size}
        if not packed:
            return PythonBackend(problem)  # no lever moves: nothing to compile or climb
        split = [d.name for d in problem.depts if d.levers.size and d.splits]
        missing = [n for n, v in packed.items() if v is None]
        if split and equations.own_means_jacobian is None:
            why = (
                f"the plans of {split} pay on metrics the model splits into a person's "
                "own part and a company-wide part, and its compiled equations bring no "
                "split (CompiledEquations.own_means_jacobian)"
            )
        elif not missing:
            module = kernels_for(
                equations.module, equations.means_jacobian, equations.means,
                equations.own_means_jacobian,
            )  # fmt: skip
            return CompiledBackend(problem, module, data, packed)
        else:
            why = (
                f"the plans of {missing} are outside what the kernels cover (a noiseless "
                "metric, or components on correlated metrics)"
            )
    if backend == "compiled":
        raise ScenarioError(
            "backend",
            f"'compiled' is not possible for this scenario: {why}; use backend='auto' "
            "(the Python path then gives the same optimum, more slowly)",
        )
    return PythonBackend(problem)


def check_backend(backend: str) -> None:
    """Raise a :class:`ScenarioError` unless ``backend`` is a backend's name."""
    if backend not in ("auto", "python", "compiled"):
        raise ScenarioError(
            "backend",
            f"is {backend!r}; allowed: 'auto' (compiled where the model and the plans "
            "allow, else Python), 'compiled' or 'python'",
        )
