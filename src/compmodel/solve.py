"""Equilibrium, first best and no incentive: how each department responds to its plan.

Notation (per person, currency per period)
------------------------------------------
For department ``d`` with levers ``t_d`` (representative person), headcount ``N_d``,
risk aversion ``r_d`` (per currency unit) and team identification ``lambda_d``:

* incentive pay ``w_d`` is the plan's payout given the metrics; its mean ``E_d`` and
  variance ``V_d`` are exact (:mod:`compmodel.moments`), given the metrics' means from
  the company model (:mod:`compmodel.models`) and the noise of ``[forecast]``;
* certainty equivalent ``CE_d = base_d + E_d - (r_d/2) V_d - cost_d(t_d)``; exact for
  linear pay and normal noise, the standard mean-variance approximation otherwise;
* line of sight: one person moving a lever moves a department- or company-scope metric
  by ``1/N_d`` of the department's effect; caring about colleagues' pay with weight
  ``lambda_d`` scales the incentive a person perceives to
  ``LoS_d = (1 + lambda_d (N_d - 1)) / N_d``. A person therefore sees a shared metric's
  mean move by ``LoS_d`` times the department's effect of their lever, and bears the
  full variance of their pay (line of sight scales the incentive, not the risk).
  Individual-scope metrics have line of sight 1.

Equilibrium
-----------
A Nash equilibrium across departments: each department's levers maximise its
perceived CE given the others' levers (and its own colleagues' at the same levers).

1. Fixed starting profiles, in this order: ``no_incentive`` (every lever at rest), then
   ``first_best``, then ``stretched`` (twice the first-best move from rest, clipped to
   the bounds).
2. From each profile, Gauss-Seidel best responses over departments until no lever moves
   by more than ``tol`` (relative) in a sweep. Each best response is the best of
   L-BFGS-B runs from the department's current levers, rest, first-best levers and
   points along the line from rest through them (quotas, steps, gates and retroactive
   tiers make a department's problem non-concave: where a plan is not concave, the
   candidates are also points along that line and an even grid inside finite bounds,
   of which the three with the highest CE are refined). Sweeps refine from the
   current levers, so each profile is followed where it leads; a point counts as
   settled only after one more sweep with the search over candidates (which restarts
   the refining when it finds a better optimum), and a profile that reaches an
   equilibrium already confirmed stops there. A department whose move reverses
   direction from one sweep to the next moves half as far each time it does so (at
   least 1/64 of the way): this damps overshooting responses (a gate on a company
   metric) without changing the fixed points. While levers still move by more than
   1e-4 in a sweep, candidates are climbed coarsely (relative change 1e-10); from
   then on, and always for the winner of a search, precisely (to a scaled gradient of
   1e-11), and only a precise sweep can end the search. Where every plan has an
   analytic gradient, a sweep that moves levers by less than 1e-2 is followed by a
   chord-Newton solve of the stacked first-order conditions (at most three per
   profile): it jumps to where they hold, and the sweeps that follow confirm the
   jump or undo it. The company model's response to a lever is its own derivative
   where it offers one (the ``manufacturer`` model's is exact, forward mode, taken
   from above at a kink: its kinks sit at lower bounds, e.g. no over-promising), else
   a central difference, one-sided where a step would leave the lever's bounds.
3. Every distinct equilibrium reached is reported; the selected one has the highest
   total surplus (ties: the smallest levers in order).
4. A warm start (a previous solution) is tried first and kept only if a fixed profile
   reaches the same equilibrium: it may save time, never change the selection. With
   ``search="warm"`` only the warm start is followed (continuation, for sliders): the
   result is an equilibrium, but others are not looked for, and a note says so.

Speed: for the ``manufacturer`` model, a department's whole best response (CE,
gradient, the search over starting points and the climbs, by projected Newton steps
in place of L-BFGS-B) runs in compiled code (:mod:`compmodel._compiled`), with the
same stopping tests; plans the kernels do not cover (components, gates or modifiers
on correlated metrics; noiseless metrics) take the Python path, which reaches the same
equilibria. The first best
does not depend on plans and is remembered per model (:data:`compmodel.caches.FIRST_BEST`).

Total surplus ``TS = gross value - sum_d N_d (cost_d + (r_d/2) V_d)``; first best
maximises ``gross value - sum_d N_d cost_d`` (a fixed wage bears no risk); no incentive
is every lever at rest. Alignment efficiency ``(TS - TS_none) / (TS_fb - TS_none)``.

Participation: ``binding`` sets each department's base so that ``CE_d`` equals its
market reference; ``fixed_base`` keeps the base and loses people when ``CE_d`` falls
short of the market (``settings.turnover_sensitivity``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import optimize, special

from . import _compiled as kernels
from . import caches
from ._compiled import department_arrays, gl_rule
from ._kernels import kernels_for
from ._pickling import PicklesProxies
from .errors import ConvergenceError, ScenarioError
from .models import TURNOVER_PART, Capabilities, CompanyModel, build_model, capabilities
from .moments import (
    PiecewisePoly,
    logit_expectations_with_score,
)
from .pay import PayMoments, PersonPlan, person_plan
from .scenario import Department, Scenario

__all__ = [
    "DepartmentOutcome",
    "EquilibriumPoint",
    "Solution",
    "SolveDiagnostics",
    "evaluate",
    "first_best",
    "no_incentive",
    "solve",
]

Kind = Literal["equilibrium", "first_best", "no_incentive", "levers"]
Backend = Literal["auto", "python", "compiled"]


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DepartmentOutcome(PicklesProxies):
    """Pay and effort of one department's representative person (currency per period).

    ``base_pay`` is after the participation adjustment; ``expected_pay`` is base plus
    expected incentive; ``retention`` the share of people staying (1 unless
    ``fixed_base`` with a turnover sensitivity).
    """

    department: str
    headcount: int
    levers: Mapping[str, float]
    incentive_mean: float
    incentive_variance: float
    risk_premium: float
    effort_cost: float
    base_pay: float
    expected_pay: float
    certainty_equivalent: float
    market_reference: float | None
    retention: float


@dataclass(frozen=True)
class EquilibriumPoint(PicklesProxies):
    """An equilibrium reached from a starting profile, with its total surplus."""

    levers: Mapping[str, float]
    total_surplus: float
    starts: tuple[str, ...]


@dataclass(frozen=True)
class SolveDiagnostics(PicklesProxies):
    """How the solution was found.

    ``equilibria`` lists every distinct equilibrium reached (``selected`` is the index
    of the one reported); ``notes`` says when several exist or a start failed.
    ``first_best`` holds the first-best levers the efficiency was measured against;
    ``search`` is ``"all"`` (every starting profile) or ``"warm"`` (followed from a
    previous solution only; see :func:`solve`).
    """

    converged: bool
    iterations: int
    residual: float
    equilibria: tuple[EquilibriumPoint, ...]
    selected: int
    notes: tuple[str, ...]
    first_best: Mapping[str, float] | None = None
    search: str = "all"


@dataclass(frozen=True)
class Solution(PicklesProxies):
    """The outcome of a scenario at some levers.

    Money is in the scenario's currency per period; ``metrics`` are expected values in
    each metric's unit (shares as shares). ``compensation_bill`` is base plus expected
    incentive pay of all people; ``payroll_tax`` the employer's tax on the incentive
    part; ``turnover_cost`` what replacing leavers costs (those the levers drive away,
    already netted in ``gross_value``, and those pay below the market drives away);
    ``operating_profit`` is gross value less the bill, the tax and the pay-driven
    turnover.
    """

    scenario: str
    kind: Kind
    levers: Mapping[str, float]
    metrics: Mapping[str, float]
    departments: Mapping[str, DepartmentOutcome]
    gross_value: float
    total_surplus: float
    compensation_bill: float
    turnover_cost: float
    payroll_tax: float
    operating_profit: float
    alignment_efficiency: float | None
    outcomes: Mapping[str, float]
    diagnostics: SolveDiagnostics
    #: the company kind whose model gave it (its labels and tiles: compmodel.models.info_of)
    company_kind: str = "none"

    @property
    def lever_vector(self) -> np.ndarray:
        return np.array(list(self.levers.values()), dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per figure (section, department, figure, value)."""
        return pd.DataFrame(self._records(), columns=["section", "department", "figure", "value"])

    def _records(self) -> list[tuple[str, str, str, float]]:
        """The rows of :meth:`to_frame` as tuples (what a sweep collects per point)."""
        rows: list[tuple[str, str, str, float]] = []
        for name, v in self.levers.items():
            d, lv = name.split(".", 1)
            rows.append(("levers", d, lv, v))
        rows += [("metrics", "", m, v) for m, v in self.metrics.items()]
        for d, o in self.departments.items():
            for f in (
                "incentive_mean", "incentive_variance", "risk_premium", "effort_cost",
                "base_pay", "expected_pay", "certainty_equivalent", "retention",
            ):  # fmt: skip
                rows.append(("pay", d, f, getattr(o, f)))
        rows += [("outcomes", "", m, v) for m, v in self.outcomes.items()]
        for f in (
            "gross_value", "total_surplus", "compensation_bill", "turnover_cost", "payroll_tax",
            "operating_profit", "alignment_efficiency",
        ):  # fmt: skip
            v = getattr(self, f)
            if v is None:  # undefined efficiency: left out (diagnostics.notes says why)
                continue
            rows.append(("company", "", f, v))
        return rows


# --------------------------------------------------------------------------------------
# the problem
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dept:
    name: str
    plan: PersonPlan | None
    model_index: np.ndarray  # per plan variable: index into model.metrics, or -1
    los: np.ndarray  # per plan variable
    levers: np.ndarray  # positions in the lever vector
    r: float
    headcount: int
    concave: bool = True  # pay concave in every metric: one start suffices
    moments: PayMoments | None = None


#: Newton is tried once a coarse sweep moves levers by less than this (relative)
_NEWTON_FROM = 1e-2

def shared_line_of_sight(model: Any, name: str, dept: Department) -> tuple[float, float]:
    """Team identification and a person's line of sight on a shared metric.

    Team identification ``lambda`` is the department's, raised by the company model
    where a bridge acts on it (``model.team_identification``, e.g. unofficial leaders
    brought in); a person's marginal incentive on a metric shared by ``N`` people is
    ``(1 + lambda (N - 1)) / N`` of what it would be on their own.
    """
    n = max(dept.headcount, 1)
    lam = dept.team_identification
    ident = getattr(model, "team_identification", None)
    if ident is not None:
        lam = float(ident(name, lam))
    return lam, (1.0 + lam * (n - 1)) / n


class _Problem:
    def __init__(self, scenario: Scenario, backend: Backend = "auto") -> None:
        if backend not in ("auto", "python", "compiled"):
            raise ScenarioError(
                "backend",
                f"is {backend!r}; allowed: 'auto' (compiled where the model and the plans "
                "allow, else Python), 'compiled' or 'python'",
            )
        self.scenario = scenario
        self._surplus: dict[tuple[bytes, bool], float] = {}
        self.model: CompanyModel = build_model(scenario)
        self.caps: Capabilities = capabilities(self.model)
        self.space = self.model.levers
        if scenario.forecast is None:
            raise ScenarioError(
                "forecast",
                "behaviour needs the noise of each metric a plan pays on: add "
                "[forecast.<metric>] tables with sd (the mean comes from the company model)",
            )
        mpos = {m: i for i, m in enumerate(self.model.metrics)}
        self.depts: list[_Dept] = []
        for dn, dept in scenario.departments.items():
            lev = self.space.index(dn)
            if not dept.plan.components:
                self.depts.append(_Dept(dn, None, np.empty(0, int), np.empty(0), lev,
                                        dept.risk_aversion, dept.headcount))  # fmt: skip
                continue
            pp = person_plan(scenario, dept, dept.base_pay, dept.quota, 1.0)
            idx, los = [], []
            _, shared_los = shared_line_of_sight(self.model, dn, dept)
            for m in pp.metrics:
                if m in mpos:
                    idx.append(mpos[m])
                else:
                    f = scenario.forecast.metrics[m]
                    if f.mean is None:
                        raise ScenarioError(
                            f"forecast.{m}.mean",
                            f"metric {m!r} is paid on by {dn} but the company model does not "
                            "set its mean; give forecast.mean or model it",
                        )
                    idx.append(-1)
                scope = scenario.metrics[m].scope
                los.append(1.0 if scope == "individual" else shared_los)
            moments = PayMoments.of(pp)
            self.depts.append(
                _Dept(
                    dn,
                    pp,
                    np.asarray(idx, int),
                    np.asarray(los, float),
                    lev,
                    dept.risk_aversion,
                    dept.headcount,
                    moments.concave,
                    moments,
                )
            )
        # the compiled path (compmodel._compiled, instantiated for the model's plug-in by
        # compmodel._kernels): where the model brings compiled equations and every plan
        # fits the kernels; same optimum, no Python per step
        self._kernel: tuple[Any, dict[str, Any], tuple[np.ndarray, np.ndarray]] | None
        self._kernel = None
        self._kmod: Any = None
        why = "its company model brings no compiled equations (models.CompiledEquations)"
        if backend != "python" and self.caps.compiled is not None:
            equations, data = self.caps.compiled
            packed = {d.name: department_arrays(d, self.space) for d in self.depts if d.levers.size}
            if all(v is not None for v in packed.values()):
                self._kmod = kernels_for(
                    equations.module, equations.means_jacobian, equations.means
                )
                self._kernel = (data, packed, gl_rule())
            else:
                missing = [n for n, v in packed.items() if v is None]
                why = (
                    f"the plans of {missing} are outside what the kernels cover (a noiseless "
                    "metric, or components on correlated metrics)"
                )
        if backend == "compiled" and self._kernel is None:
            raise ScenarioError(
                "backend",
                f"'compiled' is not possible for this scenario: {why}; use backend='auto' "
                "(the Python path then gives the same optimum, more slowly)",
            )

    # pay moments -------------------------------------------------------------------
    def _plan_means(self, d: _Dept, mu: np.ndarray) -> np.ndarray:
        if d.plan is None:
            return np.empty(0)
        out = d.plan.mean.copy()
        mask = d.model_index >= 0
        out[mask] = mu[d.model_index[mask]]
        return out

    def pay(self, d: _Dept, plan_means: np.ndarray) -> tuple[float, float]:
        if d.plan is None or d.moments is None:
            return 0.0, 0.0
        return d.moments(plan_means)

    def _perceived(
        self, d: _Dept, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Levers with ``x`` for ``d``, and the plan means a person of ``d`` perceives."""
        t2 = t.copy()
        t2[d.levers] = x
        base_means = self._plan_means(d, mu0)
        moved = self._plan_means(d, self.model.means(t2))
        return t2, base_means + d.los * (moved - base_means)

    def perceived_ce(self, d: _Dept, t: np.ndarray, x: np.ndarray, mu0: np.ndarray) -> float:
        """A person's CE (without base) choosing x while everyone else stays at t."""
        if self._kernel is not None:
            return self._compiled_ce(d, t, x, mu0)[0]
        if d.plan is None:
            t2 = t.copy()
            t2[d.levers] = x
            return -self.space.effort_cost(d.name, t2)
        t2, means = self._perceived(d, t, x, mu0)
        e, v = self.pay(d, means)
        return e - 0.5 * d.r * v - self.space.effort_cost(d.name, t2)

    def perceived_ce_and_gradient(
        self, d: _Dept, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """:meth:`perceived_ce` and its gradient in ``x``.

        Pay moments are differentiated analytically in the plan means (Stein's identity
        on the same closed forms and quadrature rules); the company model's response
        of the means to the department's levers by :meth:`_means_jacobian`.
        """
        if self._kernel is not None:
            return self._compiled_ce(d, t, x, mu0)
        assert d.moments is not None  # only called when has_gradient
        t2 = t.copy()
        t2[d.levers] = x
        mu, dmu = self._means_jacobian(t2, d.levers)
        base_means = self._plan_means(d, mu0)
        means = base_means + d.los * (self._plan_means(d, mu) - base_means)
        e, v, ge, gv = d.moments.with_gradient(means)
        g_means = ge - 0.5 * d.r * gv  # per plan variable
        jac = np.zeros((means.size, x.size))
        mask = d.model_index >= 0
        jac[mask] = dmu[d.model_index[mask]]
        idx = d.levers
        dev = x - self.space.rest[idx]
        cmat = self.space.cost[np.ix_(idx, idx)]
        ce = e - 0.5 * d.r * v - float(0.5 * dev @ cmat @ dev)
        grad = (g_means * d.los) @ jac - cmat @ dev
        return ce, np.asarray(grad, dtype=float)

    def _means_jacobian(self, t: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metric means at ``t`` and their derivatives in the levers ``columns``: the
        model's own where it offers them (the ``manufacturer`` model's are exact), else
        central differences (step ``1e-6 max(1, |t_j|)``)."""
        fast = self.caps.means_jacobian
        if fast is not None:
            return fast(t, columns)
        jac = np.empty((len(self.model.metrics), columns.size))
        for j, pos in enumerate(columns):
            h = 1e-6 * max(1.0, abs(float(t[pos])))
            up, dn = t.copy(), t.copy()
            up[pos] += h
            dn[pos] -= h
            jac[:, j] = (self.model.means(up) - self.model.means(dn)) / (2.0 * h)
        return self.model.means(t), jac

    def _compiled_ce(
        self, d: _Dept, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[float, np.ndarray]:
        assert self._kernel is not None
        data, packed, (gx, gw) = self._kernel
        xa = np.asarray(x, dtype=float)
        ce, grad = self._kmod.perceived_ce(data, t, xa, mu0, packed[d.name], gx, gw)
        return float(ce), grad

    def _polish(
        self, d: _Dept, t: np.ndarray, x: np.ndarray, v: float, mu0: np.ndarray, scale: float
    ) -> tuple[np.ndarray, float]:
        """Finish a compiled best response with L-BFGS-B where Newton stalled (a kink)."""

        def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
            return self._compiled_ce(d, t, z, mu0)

        lo, hi = self.space.lower[d.levers], self.space.upper[d.levers]
        x2, v2 = self._maximise(lambda z: fg(z)[0], x, lo, hi, scale, fg, precise=True)
        return (x2, v2) if v2 >= v else (x, v)

    def total_surplus(self, t: np.ndarray, risk: bool = True) -> float:
        """Gross value less everyone's effort cost and (``risk``) risk premia at ``t``
        (remembered for the last few points: a solve asks for its equilibrium's thrice)."""
        key = (t.tobytes(), risk)
        if key in self._surplus:
            return self._surplus[key]
        ts = self.model.gross_value(t) - self.space.total_effort_cost(t)
        if risk:
            mu = self.model.means(t)
            for d in self.depts:
                if d.plan is not None and d.r > 0:
                    ts -= d.headcount * 0.5 * d.r * self.pay(d, self._plan_means(d, mu))[1]
        if len(self._surplus) >= 8:
            self._surplus.pop(next(iter(self._surplus)))
        self._surplus[key] = float(ts)
        return float(ts)

    # optimisation ------------------------------------------------------------------
    def _maximise(
        self,
        f: Callable[[np.ndarray], float],
        x0: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        scale: float,
        fg: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
        precise: bool = True,
    ) -> tuple[np.ndarray, float]:
        """Bounded L-BFGS-B on ``f / scale`` from ``x0``: (argmax, max).

        ``fg`` gives the value and its gradient together; without it the gradient is
        taken by central differences. ``precise=False`` stops at a relative change of
        1e-10 and a scaled gradient of 1e-7: enough to tell optima apart or to move
        towards an equilibrium, not to settle one.
        """
        bounds = [
            (None if not np.isfinite(a) else float(a), None if not np.isfinite(b) else float(b))
            for a, b in zip(lo, hi, strict=True)
        ]
        if precise:
            # with an analytic gradient, stop on the gradient alone: a relative change
            # of 1e-16 in the objective still leaves levers ~1e-8 from the optimum
            ftol = 0.0 if fg is not None else 1e-16
            options = {"ftol": ftol, "gtol": 1e-11, "maxiter": 5000, "maxls": 60}
        else:
            options = {"ftol": 1e-10, "gtol": 1e-7, "maxiter": 5000, "maxls": 60}
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

    def starts_for(
        self, d: _Dept, t: np.ndarray, fb: np.ndarray, explore: bool = True
    ) -> list[np.ndarray]:
        """Where department ``d``'s climbs start: its current levers, then (non-concave
        plans, when exploring) rest, the first best, points along the line through them
        and an even grid inside finite bounds; the rule the compiled sweeps use."""
        sp = self.space
        rows = kernels._starting_points(
            t, fb, d.levers, sp.rest, sp.lower, sp.upper, d.concave, explore
        )
        return list(rows)

    def best_response(
        self, d: _Dept, t: np.ndarray, fb: np.ndarray, explore: bool = True, precise: bool = True
    ) -> np.ndarray:
        """Department ``d``'s best levers with everyone else at ``t``.

        Several starting points are each climbed coarsely (``precise=False`` in
        :meth:`_maximise`); the best is then refined precisely unless ``precise`` is
        false (Gauss-Seidel sweeps far from an equilibrium need only the direction).
        """
        idx = d.levers
        if idx.size == 0:
            return t[idx]
        mu0 = self.model.means(t)
        lo, hi = self.space.lower[idx], self.space.upper[idx]
        scale = 1.0 + abs(self.perceived_ce(d, t, t[idx], mu0))

        def f(x: np.ndarray) -> float:
            return self.perceived_ce(d, t, x, mu0)

        starts = self.starts_for(d, t, fb, explore)
        if len(starts) > 1:
            # keep the current levers and the three best distinct starting points
            uniq: list[np.ndarray] = []
            for x0 in starts:
                if not any(np.all(np.abs(x0 - u) <= 1e-12 + 1e-9 * np.abs(u)) for u in uniq):
                    uniq.append(x0)
            ranked = sorted(uniq[1:], key=lambda x0: -f(x0))
            starts = [uniq[0], *ranked[:3]]
        fg: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
        if d.moments is not None and d.moments.has_gradient:

            def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
                return self.perceived_ce_and_gradient(d, t, x, mu0)

        best_x, best_v = t[idx], -math.inf
        several = len(starts) > 1
        for x0 in starts:
            x, v = self._maximise(f, x0, lo, hi, scale, fg, precise=precise and not several)
            tol = 1e-12 * scale
            if v > best_v + tol or (abs(v - best_v) <= tol and tuple(x) < tuple(best_x)):
                best_x, best_v = x, v
        if several and precise:
            best_x, best_v = self._maximise(f, best_x, lo, hi, scale, fg, precise=True)
        if idx.size == 1 and d.plan is not None and np.any(np.diag(d.plan.cov) <= 0):
            # a noiseless metric makes pay kinked in the lever, where finite-difference
            # gradients stall: polish with a derivative-free bounded search nearby
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
                    best_x = np.array([float(res.x)])
        return best_x

    def nash(
        self,
        t0: np.ndarray,
        fb: np.ndarray,
        tol: float,
        max_sweeps: int,
        known: tuple[np.ndarray, ...] = (),
        warm: bool = False,
    ) -> tuple[np.ndarray, bool, int, float]:
        """Gauss-Seidel best responses from ``t0``.

        ``warm``: ``t0`` is near an equilibrium (a previous one): sweeps are precise
        from the start; where every plan has an analytic gradient a Newton jump comes
        first and the first sweep then searches every start (confirming the jump).

        Stops early when a sweep, coarse or precise, lands within ``1e-6`` (relative,
        the tolerance at which equilibria count as the same) of a ``known`` equilibrium
        while moving by less than ``1e-5``: from there the sweeps converge to it, and
        that equilibrium's confirming search has been done. Sweeps refine each
        department's levers from where they are (a profile is followed where it leads);
        a point counts as settled only after a sweep in which non-concave departments
        search all their starting points confirms it. After
        30 sweeps, changes below ``1e-6`` that no longer shrink (at least half the
        smallest of the last 20) are the best responses' precision floor: the point
        counts as settled too, and ``solve`` notes the residual.
        """
        t = self.space.clip(t0.copy())
        resid = math.inf
        explore = False  # searching every starting point confirms a settled point
        # damping per department: a department whose move reverses direction from one
        # sweep to the next (its response to its own colleagues overshoots, e.g. a gate
        # on a company metric) moves only part of the way; fixed points are unchanged
        step = {d.name: 1.0 for d in self.depts}
        last: dict[str, np.ndarray] = {}
        history: list[float] = []
        # far from a fixed point best responses are climbed coarsely (the others move
        # anyway); once a sweep changes levers by less than 1e-4 every sweep is precise,
        # and only a precise sweep can stop the search
        precise = warm
        smooth, newtons = self.smooth, 3
        if warm and smooth:
            newtons -= 1
            proposal = self.newton(t, tol)
            if proposal is not None:
                # the first sweep searches every start: it confirms the jump as a
                # global best response for each department, or moves on from it
                t, explore = proposal, True
        compiled = self._sweeper() if self._kernel is not None else None
        for sweep in range(1, max_sweeps + 1):
            old = t.copy()
            if compiled is not None:
                compiled(t, fb, explore, precise)
            else:
                for d in self.depts:
                    if d.levers.size:
                        br = self.best_response(d, t, fb, explore, precise)
                        move = br - t[d.levers]
                        prev = last.get(d.name)
                        if prev is not None and float(move @ prev) < 0.0:
                            step[d.name] = max(step[d.name] * 0.5, 1.0 / 64.0)
                        t[d.levers] = t[d.levers] + step[d.name] * move
                        last[d.name] = move
            scale = np.maximum(1.0, np.abs(t))
            resid = float(np.max(np.abs(t - old) / scale, initial=0.0))
            history.append(resid)
            if resid < 1e-5:
                for k in known:
                    if np.all(np.abs(t - k) <= 1e-6 * scale):
                        # a confirmed equilibrium: the sweeps from here converge to it
                        return k.copy(), True, sweep, resid
            # the precision floor: changes stay tiny but stop shrinking (best responses
            # are only so precise); accept after a confirming full search, and report
            floor = sweep >= 30 and resid < 1e-6 and resid >= 0.5 * min(history[-20:-1])
            was_precise, precise = precise, precise or resid < 1e-4
            if was_precise and (resid < tol or floor):
                if explore:
                    return t, True, sweep, resid
                explore = True  # confirm with the full search before stopping
                continue
            explore = False  # the search runs in confirming sweeps only
            if not was_precise:
                if newtons and smooth and tol <= resid < _NEWTON_FROM:
                    # near enough for Newton: jump now instead of sweeping closer
                    newtons -= 1
                    proposal = self.newton(t, tol)
                    if proposal is not None:
                        t = proposal
                continue
            if newtons and smooth:
                # close in: jump to where the first-order conditions hold instead of
                # sweeping towards it; the next sweeps confirm (or undo) the jump
                newtons -= 1
                proposal = self.newton(t, tol)
                if proposal is not None:
                    t = proposal
        return t, False, max_sweeps, resid

    def _sweeper(self) -> Callable[[np.ndarray, np.ndarray, bool, bool], None]:
        """One Gauss-Seidel sweep in compiled code, with the damping state of one
        :meth:`nash` run (the same rules as its Python loop); departments whose
        precise climb stalls at a kink are finished with L-BFGS-B here."""
        assert self._kernel is not None
        data, packed, (gx, gw) = self._kernel
        depts = tuple(packed.values())
        movers = [d for d in self.depts if d.levers.size]
        concave = np.array([d.concave for d in movers], dtype=np.bool_)
        sp = self.space
        step = np.ones(len(movers))
        last = np.zeros(len(sp.names))
        has_last = np.zeros(len(movers), dtype=np.bool_)

        def sweep(t: np.ndarray, fb: np.ndarray, explore: bool, precise: bool) -> None:
            first = 0
            while True:
                k, x, v, scale = self._kmod.gauss_seidel(
                    data, t, fb, depts, concave, sp.rest, sp.lower, sp.upper, explore,
                    precise, step, last, has_last, first, gx, gw,
                )  # fmt: skip
                if k < 0:
                    return
                d = movers[k]
                x, _ = self._polish(d, t, x, float(v), self.model.means(t), float(scale))
                self._kmod.apply_move(t, d.levers, x, k, step, last, has_last)
                first = k + 1

        return sweep

    @property
    def smooth(self) -> bool:
        """Whether every department's perceived CE has an analytic gradient."""
        return all(
            d.plan is None or (d.moments is not None and d.moments.has_gradient)
            for d in self.depts
            if d.levers.size
        )

    def foc(self, t: np.ndarray) -> np.ndarray:
        """Stacked gradients of each department's perceived CE in its own levers at ``t``."""
        if self._kernel is not None:
            data, packed, (gx, gw) = self._kernel
            return self._kmod.first_order_conditions(data, t, tuple(packed.values()), gx, gw)
        g = np.zeros(t.size)
        mu0 = self.model.means(t)
        for d in self.depts:
            idx = d.levers
            if idx.size == 0:
                continue
            if d.plan is None:
                dev = t[idx] - self.space.rest[idx]
                g[idx] = -self.space.cost[np.ix_(idx, idx)] @ dev
            else:
                g[idx] = self.perceived_ce_and_gradient(d, t, t[idx], mu0)[1]
        return g

    def newton(self, t0: np.ndarray, tol: float) -> np.ndarray | None:
        """Solve the stacked first-order conditions from ``t0`` (near an equilibrium).

        A chord method: the Jacobian of :meth:`foc` by forward differences once, then
        steps with it, levers at a bound whose gradient pushes outward held there. It
        only proposes a point: the sweeps that follow check it is a fixed point of the
        best responses (second-order conditions and the global search included).
        Returns ``None`` when the steps stop shrinking.
        """
        lo, hi = self.space.lower, self.space.upper
        if self._kernel is not None:
            data, packed, (gx, gw) = self._kernel
            t, ok = self._kmod.newton(data, t0, tuple(packed.values()), lo, hi, tol, gx, gw)
            return t if ok else None
        t = t0.copy()
        g = self.foc(t)
        room = 1e-12 * np.maximum(1.0, np.abs(t))
        at_lo = np.isfinite(lo) & (t <= lo + room) & (g < 0)
        at_hi = np.isfinite(hi) & (t >= hi - room) & (g > 0)
        free = np.flatnonzero(~(at_lo | at_hi))
        if free.size == 0:
            return t
        jac = np.empty((free.size, free.size))
        for k, j in enumerate(free):
            h = 1e-6 * max(1.0, abs(float(t[j])))
            if t[j] + h > hi[j]:
                h = -h
            up = t.copy()
            up[j] += h
            jac[:, k] = (self.foc(up)[free] - g[free]) / h
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
            g = self.foc(t)
        return t

    def first_best_levers(self, start: np.ndarray | None = None) -> np.ndarray:
        """Levers maximising total surplus without risk.

        With ``start`` (a previous first best), one coarse climb from there: total
        surplus is flat at its maximum, so it is found to ~1e-10 relative while the
        levers may sit ~1e-5 off.
        """
        n = len(self.space.names)
        if n == 0:
            return np.empty(0)
        key = self._first_best_key()
        found = None if key is None else caches.FIRST_BEST.get(key)
        if found is not None:
            return cast(np.ndarray, found).copy()  # found before, precisely: better than a climb
        if start is not None:
            key = None  # a coarse climb is not remembered
        x0 = self.space.rest.copy()
        scale = 1.0 + abs(self.total_surplus(x0, risk=False))
        best_x, best_v = x0, -math.inf
        starts = (x0, self.space.clip(x0 + 1.0)) if start is None else (self.space.clip(start),)
        fg: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
        value_gradient = self.caps.value_gradient
        if value_gradient is not None:
            weighted = self.space.cost * self.space.headcount[:, None]

            def fg(z: np.ndarray) -> tuple[float, np.ndarray]:
                value, grad = value_gradient(z)
                dev = z - self.space.rest
                return value - 0.5 * float(dev @ weighted @ dev), grad - weighted @ dev

        planner = None
        if self._kernel is not None and self.caps.value_metric is not None:
            planner = kernels.planner_arrays(
                self.space, list(self.model.metrics).index(self.caps.value_metric)
            )
        for x_start in starts:
            x = None
            if planner is not None:
                # the compiled climb of a planner paid the company's value; a kink
                # (the climb's test not met) is finished with L-BFGS-B below
                data, _, (gx, gw) = self._kernel  # type: ignore[misc]
                x, _, met = self._kmod.climb(
                    data, x_start, x_start, self.model.means(x_start), planner,
                    self.space.lower, self.space.upper, scale, start is None, gx, gw,
                )  # fmt: skip
                v = self.total_surplus(x, risk=False)
                if not met:
                    x_start, x = x, None
            if x is None:
                x, v = self._maximise(
                    lambda z: self.total_surplus(z, risk=False),
                    x_start,
                    self.space.lower,
                    self.space.upper,
                    scale,
                    fg,
                    precise=start is None,
                )
            if v > best_v + 1e-12 * scale:
                best_x, best_v = x, v
        if key is not None:
            caches.FIRST_BEST.put(key, best_x.copy())
        return best_x

    def _first_best_key(self) -> tuple[object, ...] | None:
        """What the first best depends on (the model's value and the effort costs), for
        models that can say: a sweep over plan settings then finds it once."""
        fingerprint = self.caps.fingerprint
        if fingerprint is None:
            return None
        sp = self.space
        arrays = (sp.rest, sp.lower, sp.upper, sp.cost, sp.headcount)
        backend = "python" if self._kernel is None else "compiled"
        return (type(self.model).__name__, fingerprint, backend, *(a.tobytes() for a in arrays))


# --------------------------------------------------------------------------------------
# building solutions
# --------------------------------------------------------------------------------------
def _expected_metric(scenario: Scenario, m: str, latent_mean: float) -> float:
    met = scenario.metrics[m]
    if met.scale != "logit":
        return float(latent_mean)
    f = scenario.forecast.metrics.get(m) if scenario.forecast is not None else None
    sd = 0.0 if f is None else math.hypot(f.sd, f.individual_sd)
    if sd <= 0.0:
        return float(special.expit(latent_mean))
    return logit_expectations_with_score(_IDENTITY, latent_mean, sd)[0]  # compiled, same rule


_IDENTITY = PiecewisePoly.from_pieces([], [[0.0, 1.0]])  # f(x) = x


def _solution(
    p: _Problem,
    t: np.ndarray,
    kind: Kind,
    diagnostics: SolveDiagnostics,
    efficiency: float | None,
) -> Solution:
    s = p.scenario
    mu = p.model.means(t)
    metrics = {m: _expected_metric(s, m, float(mu[i])) for i, m in enumerate(p.model.metrics)}
    depts: dict[str, DepartmentOutcome] = {}
    bill = 0.0
    turnover = 0.0  # turnover from pay below the market (fixed_base)
    tax = 0.0
    staff = getattr(p.model, "staff_retention", None)
    lever_retention: Mapping[str, float] = staff(t) if staff is not None else {}
    for d in p.depts:
        dept = s.departments[d.name]
        if d.plan is not None and kind == "equilibrium":
            e, v = p.pay(d, p._plan_means(d, mu))
        elif d.plan is not None and kind in ("first_best", "no_incentive", "levers"):
            e, v = p.pay(d, p._plan_means(d, mu))
        else:
            e, v = 0.0, 0.0
        rp = 0.5 * d.r * v
        cost = p.space.effort_cost(d.name, t)
        market = dept.market_reference
        retention = 1.0
        if s.settings.participation == "binding":
            if market is None:
                raise ScenarioError(
                    f"departments.{d.name}.market_reference",
                    "is required with settings.participation = 'binding' (base pay adjusts "
                    "so the certainty equivalent equals it); set it, or use 'fixed_base'",
                )
            base = market - (e - rp - cost)
        else:
            base = dept.base_pay
            if market is not None and market > 0 and s.settings.turnover_sensitivity > 0:
                ce_now = base + e - rp - cost
                gap = max(0.0, (market - ce_now) / market)
                retention = max(0.0, 1.0 - s.settings.turnover_sensitivity * gap)
        ce = base + e - rp - cost
        stay = float(lever_retention.get(d.name, 1.0))
        pay_leavers = stay * (1.0 - retention)
        retention *= stay
        depts[d.name] = DepartmentOutcome(
            department=d.name,
            headcount=d.headcount,
            levers=MappingProxyType(
                {
                    n.split(".", 1)[1]: float(t[i])
                    for i, n in zip(d.levers, [p.space.names[j] for j in d.levers], strict=True)
                }
            ),
            incentive_mean=e,
            incentive_variance=v,
            risk_premium=rp,
            effort_cost=cost,
            base_pay=base,
            expected_pay=base + e,
            certainty_equivalent=ce,
            market_reference=market,
            retention=retention,
        )
        bill += d.headcount * (base + e)
        tax += d.headcount * e * s.settings.payroll_tax_rate
        turnover += d.headcount * pay_leavers * s.settings.replacement_cost * base
    value = p.model.gross_value(t)
    parts = getattr(p.model, "value_parts", None)
    lever_turnover = -float(parts(t).get(TURNOVER_PART, 0.0)) if parts is not None else 0.0
    ts = p.total_surplus(t, risk=kind not in ("first_best", "no_incentive"))
    return Solution(
        scenario=s.name,
        kind=kind,
        levers=MappingProxyType(p.space.as_dict(t)),
        metrics=MappingProxyType(metrics),
        departments=MappingProxyType(depts),
        gross_value=value,
        total_surplus=ts,
        compensation_bill=bill,
        turnover_cost=turnover + lever_turnover,
        payroll_tax=tax,
        operating_profit=value - bill - tax - turnover,
        alignment_efficiency=efficiency,
        outcomes=MappingProxyType(dict(p.model.outcomes(t))),
        diagnostics=diagnostics,
        company_kind=s.company.kind,
    )


def _trivial_diag(t: np.ndarray, names: tuple[str, ...], ts: float, start: str) -> SolveDiagnostics:
    pt = EquilibriumPoint(
        MappingProxyType(dict(zip(names, map(float, t), strict=True))), ts, (start,)
    )
    return SolveDiagnostics(True, 0, 0.0, (pt,), 0, ())


def first_best(scenario: Scenario, *, backend: Backend = "auto") -> Solution:
    """Levers that maximise total surplus (gross value minus effort costs).

    Pay figures are the plan's at those levers, for reference; the total surplus carries
    no risk premium (a fixed wage bears no risk). ``backend`` as in :func:`solve`.
    """
    p = _Problem(scenario, backend)
    t = p.first_best_levers()
    diag = _trivial_diag(t, p.space.names, p.total_surplus(t, risk=False), "first_best")
    return _solution(p, t, "first_best", diag, 1.0)


def no_incentive(scenario: Scenario) -> Solution:
    """Every lever at rest (t-bar): what the company gets with no incentive at all."""
    p = _Problem(scenario)
    t = p.space.rest.copy()
    diag = _trivial_diag(t, p.space.names, p.total_surplus(t, risk=False), "no_incentive")
    return _solution(p, t, "no_incentive", diag, 0.0)


def evaluate(scenario: Scenario, levers: Mapping[str, float]) -> Solution:
    """The scenario's figures at given levers (a what-if, not an equilibrium).

    Parameters
    ----------
    levers
        ``"department.lever" -> value`` for every lever; see ``solve(...).levers``.
    """
    p = _Problem(scenario)
    missing = [n for n in p.space.names if n not in levers]
    unknown = [n for n in levers if n not in p.space.names]
    if missing or unknown:
        raise ScenarioError(
            "levers",
            f"give a value for every lever and no others; missing {missing}, unknown "
            f"{unknown}; the levers are {list(p.space.names)}",
        )
    values = []
    for i, n in enumerate(p.space.names):
        v = levers[n]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ScenarioError(f"levers.{n}", f"must be a number, got {v!r}")
        lo, hi = p.space.lower[i], p.space.upper[i]
        if not math.isfinite(float(v)) or not lo <= float(v) <= hi:
            raise ScenarioError(
                f"levers.{n}",
                f"is {v!r}; allowed: a finite number in [{lo:g}, {hi:g}] (the lever's bounds)",
            )
        values.append(float(v))
    t = np.array(values)
    diag = _trivial_diag(t, p.space.names, p.total_surplus(t), "given")
    eff, note = _efficiency(p, t, p.first_best_levers())
    if note:
        diag = dataclasses.replace(diag, notes=(note,))
    return _solution(p, t, "levers", diag, eff)


def _efficiency(p: _Problem, t: np.ndarray, fb: np.ndarray) -> tuple[float | None, str]:
    """Alignment efficiency at ``t`` and, when it is undefined, a note saying why."""
    ts_none = p.total_surplus(p.space.rest, risk=False)
    ts_fb = p.total_surplus(fb, risk=False)
    denom = ts_fb - ts_none
    if abs(denom) <= 1e-12 * max(1.0, abs(ts_fb)):
        return None, "alignment efficiency is undefined: first best adds nothing over no incentive"
    return (p.total_surplus(t) - ts_none) / denom, ""


def _checklist(scenario: Scenario, resid: float, sweeps: int) -> str:
    return (
        f"best responses did not settle in {scenario.name!r} after {sweeps} sweeps "
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


def solve(
    scenario: Scenario,
    *,
    warm_start: Solution | None = None,
    tol: float = 1e-8,
    max_sweeps: int = 200,
    search: Literal["all", "warm"] = "all",
    backend: Backend = "auto",
) -> Solution:
    """The equilibrium of a scenario: each department's best response to its plan.

    Parameters
    ----------
    scenario
        A scenario with a company model (``company.kind`` not ``"none"``).
    warm_start
        A previous solution to try first; with ``search="all"`` it may save time and
        never changes which equilibrium is selected.
    search
        ``"all"`` (default): every starting profile, every equilibrium reached
        reported, the highest-surplus one selected. ``"warm"``: follow the equilibrium
        of ``warm_start`` only (continuation: what a slider wants). The result is an
        equilibrium — every department's global best response is checked — but other
        equilibria are not looked for, and a note says so; if the warm start does not
        settle, the full search runs instead.
    tol
        Relative lever change below which best responses have settled.
    max_sweeps
        Most Gauss-Seidel sweeps from each starting profile.
    backend
        ``"auto"`` (default): the compiled kernels where the company model brings
        compiled equations and every plan fits them, else Python. ``"compiled"``: the
        kernels or a :class:`ScenarioError` saying why not. ``"python"``: scipy's
        L-BFGS-B best responses on the same expectations (same optimum, slower: a
        reference for the kernels).

    Returns
    -------
    Solution
        The selected equilibrium, with every equilibrium found in ``diagnostics``.

    Raises
    ------
    ConvergenceError
        If no starting profile settles, with a numbered checklist.
    ScenarioError
        If the scenario lacks a company model, noise, or a market reference under
        ``binding`` participation.
    """
    if search not in ("all", "warm"):
        raise ScenarioError(
            "search",
            f"is {search!r}; allowed: 'all' (every starting profile) or 'warm' (follow "
            "warm_start only)",
        )
    p = _Problem(scenario, backend)
    names = p.space.names
    found: list[tuple[np.ndarray, list[str]]] = []
    notes: list[str] = []
    total_sweeps, last_resid, any_ok = 0, 0.0, False
    followed = False
    if search == "warm":
        if warm_start is None or tuple(warm_start.levers) != names:
            raise ScenarioError(
                "warm_start",
                "search='warm' follows a previous solution: pass warm_start=solve(...) of "
                f"a scenario with the same levers {list(names)}, or use search='all'",
            )
        warm_fb = warm_start.diagnostics.first_best
        start = None if warm_fb is None else np.array([warm_fb[n] for n in names])
        fb = p.first_best_levers(start) if names else np.empty(0)
        t, ok, total_sweeps, last_resid = p.nash(
            warm_start.lever_vector, fb, tol, max_sweeps, warm=True
        )
        if ok:
            followed = any_ok = True
            found.append((t, ["warm_start"]))
            notes.append(
                "followed from the warm start only (search='warm'): other equilibria "
                "were not looked for; solve with search='all' to search every start"
            )
            if last_resid >= tol:
                notes.append(
                    f"settled at a relative change of {last_resid:.1e} per sweep, above "
                    f"tol = {tol:g}: best responses are not more precise here"
                )
        else:
            last_resid = 0.0  # the residual reported is the full search's
            notes.append("the warm start did not settle (search='warm'); every start was searched")

    def add(t: np.ndarray, label: str) -> None:
        for u, labels in found:
            if np.all(np.abs(u - t) <= 1e-6 * np.maximum(1.0, np.abs(t))):
                labels.append(label)
                return
        found.append((t, [label]))

    if not followed:
        fb = p.first_best_levers() if names else np.empty(0)
        rest = p.space.rest.copy()
        stretched = p.space.clip(rest + 2.0 * (fb - rest))
        profiles = [("no_incentive", rest), ("first_best", fb), ("stretched", stretched)]
        known: list[np.ndarray] = []
        if warm_start is not None and tuple(warm_start.levers) == names:
            # the warm start's equilibrium only helps later runs stop early; it counts
            # as found only if a fixed profile reaches it
            t, ok, sw, _ = p.nash(warm_start.lever_vector, fb, tol, max_sweeps)
            total_sweeps += sw
            if ok:
                known.append(t)
        for label, t0 in profiles:
            t, ok, sw, resid = p.nash(t0, fb, tol, max_sweeps, tuple(known + [u for u, _ in found]))
            total_sweeps += sw
            last_resid = max(last_resid, resid) if ok else resid
            if ok:
                any_ok = True
                add(t, label)
                if resid >= tol:
                    notes.append(
                        f"the {label} start settled at a relative change of {resid:.1e} per "
                        f"sweep, above tol = {tol:g}: best responses are not more precise here"
                    )
            else:
                notes.append(f"the {label} start did not settle (last change {resid:.3g})")
    if not any_ok:
        raise ConvergenceError(_checklist(scenario, last_resid, max_sweeps))
    points = [
        EquilibriumPoint(MappingProxyType(p.space.as_dict(t)), p.total_surplus(t), tuple(lb))
        for t, lb in found
    ]
    order = sorted(
        range(len(found)),
        key=lambda i: (-round(points[i].total_surplus, 9), tuple(found[i][0])),
    )
    sel = order[0]
    if len(found) > 1:
        notes.append(
            f"{len(found)} equilibria found; the one with the highest total surplus is "
            "selected (see diagnostics.equilibria)"
        )
    t = found[sel][0]
    eff, note = _efficiency(p, t, fb)
    if note:
        notes.append(note)
    diag = SolveDiagnostics(
        converged=True,
        iterations=total_sweeps,
        residual=last_resid,
        equilibria=tuple(points),
        selected=sel,
        notes=tuple(notes),
        first_best=MappingProxyType(p.space.as_dict(fb)),
        search="warm" if followed else "all",
    )
    return _solution(p, t, "equilibrium", diag, eff)
