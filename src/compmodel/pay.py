"""Pay moments, written once: a person's plan compiled to piecewise polynomials of their
latent metrics, and the mean, variance and covariances of their incentive pay.

* :func:`person_plan`: a department's plan for one person (base pay, quota, ability) as
  functions of the latent metrics (:class:`PersonPlan`);
* :func:`plan_moments`: each component's expected payout and the components' covariance,
  exactly (nested quadrature with an error bound where gates or modifiers need it) — the
  commission budget's numbers;
* :class:`PayMoments`: the same mean and variance of a person's total incentive pay as a
  function of the plan means, built once per plan and evaluated many times, with the
  gradient in the means (Stein's identity on the same closed forms) — the equilibrium
  solver's numbers. Where a plan needs the joint integration it calls
  :func:`plan_moments`.

The compiled equilibrium kernels (:mod:`compmodel._compiled`) evaluate
:class:`PayMoments`' polynomials in compiled code (:attr:`PayMoments.kernel_arrays`), by
the same closed forms and quadrature rules.

Units: pay in currency per period, per person; metric means on their latent scale
(logit for shares).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from scipy import special

from . import _compiled as kernels
from . import caches
from ._jit import jit
from .cara import structured_log_mgf
from .errors import ScenarioError
from .moments import (
    _GL_NODES,
    Expectation,
    Factor,
    PiecewisePoly,
    _expect_one,
    _gl_rule,
    _normal_with_score,
    expect_product,
    logit_expectations_with_score,
    normal_expectations_with_score,
)
from .plans import Component, Direction, indicator
from .scenario import Department, Forecast, Scenario

__all__ = [
    "CertaintyEquivalent",
    "PayMoments",
    "PersonPlan",
    "PlanMoments",
    "cara_structure",
    "concave",
    "person_plan",
    "plan_moments",
    "third_cumulant",
]

#: How a person values uncertain pay: ``"cara"`` (exact, ``-(1/r) log E[exp(-r pay)]``)
#: or ``"mean_variance"`` (``E - (r/2) Var``, the standard approximation).
CertaintyEquivalent = Literal["cara", "mean_variance"]
#: Metrics a gate or modifier may multiply pay by before the exact CE needs more than
#: a three-dimensional grid (beyond: mean-variance, with a note).
MAX_OUTER = 3


@dataclass(frozen=True)
class PersonPlan:
    """A person's plan compiled to functions of their latent metrics.

    Attributes
    ----------
    metrics
        Names of the latent variables, in order.
    mean, cov
        Mean and covariance of the latent variables for this person.
    logit
        Whether each variable is a share (logit scale).
    components
        Per component: ``(name, var index, payout poly, gate (var, poly) or None)``.
    modifier
        ``(var index, factor poly)`` or ``None``.
    """

    metrics: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    logit: tuple[bool, ...]
    components: tuple[tuple[str, int, PiecewisePoly, tuple[int, PiecewisePoly] | None], ...]
    modifier: tuple[int, PiecewisePoly] | None

    def factors(self, c: int) -> list[Factor]:
        _, var, poly, gate = self.components[c]
        out = [Factor(var, poly)]
        if gate is not None:
            out.append(Factor(gate[0], gate[1]))
        if self.modifier is not None:
            out.append(Factor(self.modifier[0], self.modifier[1]))
        return out


def forecast_of(scenario: Scenario) -> Forecast:
    if scenario.forecast is None:
        raise ScenarioError(
            "forecast",
            "a commission budget needs a forecast of the metrics; add [forecast.<metric>] "
            "tables with mean and sd",
        )
    return scenario.forecast


def _money_poly(
    component: Component, direction: Direction, target_payout: float, scale: float, rate: float
) -> PiecewisePoly:
    """:meth:`Component.money_poly`, remembered (:data:`compmodel.caches.MONEY_POLY`): a
    slider re-budgets the same plans with new means, and building the polynomials cost
    as much as integrating them."""
    key = (component, direction, target_payout, scale, rate)
    try:
        found = caches.MONEY_POLY.get(key)
    except TypeError:  # a component holding something unhashable: build it afresh
        return component.money_poly(direction, target_payout, scale, rate)
    if found is None:
        found = caches.MONEY_POLY.put(
            key, component.money_poly(direction, target_payout, scale, rate)
        )
    return cast(PiecewisePoly, found)


def person_plan(
    scenario: Scenario,
    dept: Department,
    base: float,
    quota: float | None,
    ability: float,
) -> PersonPlan:
    fc = forecast_of(scenario)
    plan = dept.plan
    names: list[str] = []
    for c in plan.components.values():
        names.append(c.metric)
        if c.gate is not None:
            names.append(c.gate.metric)
    if plan.modifier is not None:
        names.append(plan.modifier.metric)
    names = list(dict.fromkeys(names))
    k_quota = 1.0
    if quota is not None and dept.quota is not None:
        k_quota = quota / dept.quota
    n = len(names)
    mean = np.zeros(n)
    sd_common = np.zeros(n)
    var_ind = np.zeros(n)
    scale = np.ones(n)
    logit = []
    for i, m in enumerate(names):
        met = scenario.metrics[m]
        f = fc.metrics[m]
        is_logit = met.scale == "logit"
        logit.append(is_logit)
        mean[i] = f.mean if f.mean is not None else 0.0
        sd_common[i] = f.sd
        if met.scope == "individual":
            var_ind[i] = f.individual_sd**2
            if not is_logit:
                mean[i] *= ability
                if m == dept.quota_metric:
                    scale[i] = k_quota
    r = fc.correlation_matrix(names)
    cov = (r * np.outer(sd_common, sd_common) + np.diag(var_ind)) * np.outer(scale, scale)
    mean = mean * scale
    idx = {m: i for i, m in enumerate(names)}
    tp = dept.target_incentive * base
    comps = []
    for cn, c in plan.components.items():
        met = scenario.metrics[c.metric]
        k = scale[idx[c.metric]]
        poly = _money_poly(c, met.direction, tp, float(k), plan.clawback_rate(cn, tp))
        gate = None
        if c.gate is not None:
            gm = scenario.metrics[c.gate.metric]
            gk = scale[idx[c.gate.metric]]
            gate = (idx[c.gate.metric], indicator(c.gate.threshold * gk, gm.direction))
        comps.append((cn, idx[c.metric], poly, gate))
    modifier = None
    if plan.modifier is not None:
        mk = scale[idx[plan.modifier.metric]]
        mpoly = plan.modifier.curve.to_poly()
        modifier = (idx[plan.modifier.metric], mpoly.scaled_x(mk) if mk != 1.0 else mpoly)
    return PersonPlan(
        metrics=tuple(names),
        mean=mean,
        cov=cov,
        logit=tuple(logit),
        components=tuple(comps),
        modifier=modifier,
    )


@dataclass(frozen=True)
class PlanMoments:
    expected: np.ndarray  # per component
    cov: np.ndarray  # component covariance
    error: float
    methods: frozenset[str]


def plan_moments(pp: PersonPlan, estimate_error: bool = True) -> PlanMoments:
    nc = len(pp.components)
    e = np.zeros(nc)
    err = 0.0
    methods: set[str] = set()
    for c in range(nc):
        fc = pp.factors(c)
        if len(fc) == 1 and _plain(pp, fc[0].var):
            # one normal variable: the closed form directly
            poly, var = fc[0].poly, fc[0].var
            mu, sd = float(pp.mean[var]), math.sqrt(pp.cov[var, var])
            r = Expectation(float(_normal_with_score(poly.breaks, poly.coefs[None], mu, sd)[0][0]),
                            0.0, "closed form")  # fmt: skip
        else:
            r = expect_product(fc, pp.mean, pp.cov, pp.logit, estimate_error)
        e[c] = r.value
        err = max(err, r.error_bound)
        methods.add(r.method)
    cov = np.zeros((nc, nc))
    for c in range(nc):
        for d in range(c, nc):
            fc, fd = pp.factors(c), pp.factors(d)
            one_var = {f.var for f in fc} | {f.var for f in fd}
            if len(one_var) == 1 and len(fc) == len(fd) == 1 and pp.cov[fc[0].var, fc[0].var] > 0:
                # one noisy variable: the centred product's coefficients piece by piece
                # (both on the union of breaks), then one integral
                var = fc[0].var
                r = _centred_product(fc[0].poly, e[c], fd[0].poly, e[d], pp, var, estimate_error)
                val = r.value
            elif len(one_var) == 1:
                # centred product on one variable: exact without cancellation
                var = next(iter(one_var))
                pc = _prod([f.poly for f in fc]) + PiecewisePoly.constant(-e[c])
                pd_ = _prod([f.poly for f in fd]) + PiecewisePoly.constant(-e[d])
                r = expect_product(
                    [Factor(var, pc), Factor(var, pd_)], pp.mean, pp.cov, pp.logit, estimate_error
                )
                val = r.value
            elif _independent(pp, fc, fd):
                # no variable in common and no correlation between them: jointly normal
                # latent variables, so the two payouts are independent
                r = Expectation(0.0, 0.0, "closed form")
                val = 0.0
            else:
                r = expect_product(fc + fd, pp.mean, pp.cov, pp.logit, estimate_error)
                val = r.value - e[c] * e[d]
            err = max(err, r.error_bound)
            methods.add(r.method)
            cov[c, d] = cov[d, c] = val
    for c in range(nc):
        cov[c, c] = max(cov[c, c], 0.0)
    return PlanMoments(e, cov, err, frozenset(methods))


def _independent(pp: PersonPlan, fc: list[Factor], fd: list[Factor]) -> bool:
    """Whether the variables of ``fc`` and of ``fd`` are disjoint and uncorrelated."""
    a, b = {f.var for f in fc}, {f.var for f in fd}
    return not (a & b) and not np.any(pp.cov[np.ix_(sorted(a), sorted(b))] != 0.0)


def _plain(pp: PersonPlan, var: int) -> bool:
    """A normal-scale variable with noise (the closed form applies directly)."""
    return not pp.logit[var] and pp.cov[var, var] > 0.0


def _centred_product(
    a: PiecewisePoly, ea: float, b: PiecewisePoly, eb: float, pp: PersonPlan, var: int,
    estimate_error: bool,
) -> Expectation:  # fmt: skip
    """``E[(a(X) - ea)(b(X) - eb)]`` for the noisy variable ``var`` of ``pp``: the closed
    form on the normal scale; on the logit scale the quadrature of
    :func:`compmodel.moments.expect_product` (twice, with twice the nodes, for the error
    bound when ``estimate_error``)."""
    key = (a.key, b.key)
    hit = caches.ALIGNED.get(key)
    if hit is None:
        breaks = np.union1d(a.breaks, b.breaks)
        hit = caches.ALIGNED.put(key, (breaks, a._on(breaks), b._on(breaks)))
    breaks, ca, cb = cast(tuple[np.ndarray, np.ndarray, np.ndarray], hit)
    prod = _centred_coefs(breaks, ca, ea, cb, eb)
    mu, sd = float(pp.mean[var]), math.sqrt(pp.cov[var, var])
    if not pp.logit[var]:
        return Expectation(float(_normal_with_score(breaks, prod[None], mu, sd)[0][0]), 0.0,
                           "closed form")  # fmt: skip
    gx, gw = _gl_rule(_GL_NODES)
    coarse = float(_expect_one(breaks, prod, True, mu, sd, 1, gx, gw))
    if not estimate_error:
        return Expectation(coarse, 0.0, "quadrature (unchecked)")
    fine = float(_expect_one(breaks, prod, True, mu, sd, 2, gx, gw))
    return Expectation(fine, abs(fine - coarse), "quadrature")


@jit
def _centred_coefs(
    breaks: np.ndarray, ca: np.ndarray, ea: float, cb: np.ndarray, eb: float
) -> np.ndarray:
    """Coefficients of ``(a - ea)(b - eb)`` piece by piece (both on ``breaks``)."""
    prod = np.zeros((breaks.size + 1, ca.shape[1] + cb.shape[1] - 1))
    for piece in range(breaks.size + 1):
        for i in range(ca.shape[1]):
            ai = ca[piece, i] - (ea if i == 0 else 0.0)
            for j in range(cb.shape[1]):
                bj = cb[piece, j] - (eb if j == 0 else 0.0)
                prod[piece, i + j] += ai * bj
    return prod


def _prod(polys: list[PiecewisePoly]) -> PiecewisePoly:
    out = polys[0]
    for p in polys[1:]:
        out = out * p
    return out


def _merged(pp: PersonPlan, c: int) -> dict[int, PiecewisePoly]:
    """Component ``c``'s factors (payout, gate, modifier), those on one metric multiplied."""
    out: dict[int, PiecewisePoly] = {}
    for f in pp.factors(c):
        out[f.var] = out[f.var] * f.poly if f.var in out else f.poly
    return out


def cara_structure(pp: PersonPlan) -> tuple[np.ndarray, ...] | None:
    """A plan as :func:`compmodel.cara.structured_log_mgf` integrates it, or ``None``
    where its metrics are correlated or more than :data:`MAX_OUTER` of them gate or
    modify pay (the exact CE then needs a joint integration this module leaves to
    mean-variance).

    Each component's factors on one metric are multiplied; its payout metric is
    *inner* unless another factor of some component (a gate, a modifier) lies on it,
    which makes it *outer* (integrated on the grid). Returns ``(outer metrics, their
    breaks, counts, per-component factor offsets, each factor's outer index, breaks,
    counts, coefficients, per-component inner group (-1: none), coefficients on the
    group's breaks, inner metrics, their breaks, counts)``.
    """
    used = sorted({f.var for c in range(len(pp.components)) for f in pp.factors(c)})
    sub = pp.cov[np.ix_(used, used)]
    if np.any(sub - np.diag(np.diag(sub)) != 0.0):
        return None
    merged = [_merged(pp, c) for c in range(len(pp.components))]
    payout = [var for _, var, _, _ in pp.components]
    outer = sorted({v for c, m in enumerate(merged) for v in m if v != payout[c]})
    if len(outer) > MAX_OUTER:
        return None
    inner = sorted({payout[c] for c in range(len(merged)) if payout[c] not in outer})
    fstart, fouter, fpolys, cgroup = [0], [], [], []
    for c, m in enumerate(merged):
        for v in outer:
            if v in m:
                fouter.append(outer.index(v))
                fpolys.append((m[v].breaks, m[v].coefs))
        fstart.append(len(fouter))
        cgroup.append(inner.index(payout[c]) if payout[c] in inner else -1)
    group_breaks = []
    for v in inner:
        polys = [merged[c][v] for c in range(len(merged)) if payout[c] == v]
        group_breaks.append(np.unique(np.concatenate([p.breaks for p in polys])))
    aligned = []
    for c, m in enumerate(merged):
        if cgroup[c] >= 0:
            aligned.append((group_breaks[cgroup[c]], m[payout[c]]._on(group_breaks[cgroup[c]])))
        else:
            aligned.append((np.empty(0), np.zeros((1, 1))))
    outer_breaks = []
    for k in range(len(outer)):
        parts = [fpolys[f][0] for f in range(len(fouter)) if fouter[f] == k]
        outer_breaks.append((np.unique(np.concatenate(parts)), np.zeros((1, 1))))
    ob, oc, _ = kernels._pad(outer_breaks)
    fb, fc, fcoefs = kernels._pad(fpolys)
    _, _, ccoefs = kernels._pad(aligned)
    ib, ic, _ = kernels._pad([(b, np.zeros((1, 1))) for b in group_breaks])
    ints = functools.partial(np.asarray, dtype=np.int64)
    return (
        ints(outer), ob, oc, ints(fstart), ints(fouter), fb, fc, fcoefs, ints(cgroup), ccoefs,
        ints(inner), ib, ic,
    )  # fmt: skip


def _gaussian(pp: PersonPlan) -> bool:
    """Whether pay is linear in normal metrics (no gate, modifier or kink): pay is then
    normal and the mean-variance CE is exact."""
    if pp.modifier is not None:
        return False
    for _, var, poly, gate in pp.components:
        if gate is not None or pp.logit[var] or poly.breaks.size or poly.degree > 1:
            return False
    return True


class PayMoments:
    """Mean and variance of a person's incentive pay as a function of the plan means.

    Built once per department: the polynomials that do not depend on the means
    (each component's square, products of components on one metric) are formed here,
    so each evaluation only integrates. With gates or a modifier on independent
    metrics every expectation is a product of one-dimensional ones; on correlated
    metrics, such plans and pairs of components use the nested integration of
    :func:`plan_moments` (same numbers, more work).
    """

    def __init__(self, pp: PersonPlan) -> None:
        self.pp = pp
        self.concave = concave(pp)
        gated = pp.modifier is not None or any(g is not None for *_, g in pp.components)
        off = pp.cov - np.diag(np.diag(pp.cov))
        # with gates or a modifier on independent metrics, every expectation is a
        # product of one-dimensional ones (exact); otherwise integrate jointly
        self.factorised = gated and not np.any(off != 0.0)
        self.general = gated and not self.factorised
        comps = pp.components
        self.groups: dict[tuple[int, int], list[tuple[int, PiecewisePoly]]] = {}
        if self.factorised:
            for c in range(len(comps)):
                for d in range(c, len(comps)):
                    by_var: dict[int, PiecewisePoly] = {}
                    for f in pp.factors(c) + pp.factors(d):
                        by_var[f.var] = by_var[f.var] * f.poly if f.var in by_var else f.poly
                    self.groups[(c, d)] = sorted(by_var.items(), key=lambda kv: kv[0])
                by_var = {}
                for f in pp.factors(c):
                    by_var[f.var] = by_var[f.var] * f.poly if f.var in by_var else f.poly
                self.groups[(c, -1)] = sorted(by_var.items(), key=lambda kv: kv[0])
        self.polys = [poly for _, _, poly, _ in comps]
        self.vars = [var for _, var, _, _ in comps]
        self.sd = np.sqrt(np.clip(np.diag(pp.cov), 0.0, None))
        self.squares = [p * p for p in self.polys]
        self.stacked = []
        for p, sq in zip(self.polys, self.squares, strict=True):
            a, b = p.coefs, sq._on(p.breaks)
            deg = max(a.shape[1], b.shape[1])
            st = np.zeros((2, a.shape[0], deg))
            st[0, :, : a.shape[1]] = a
            st[1, :, : b.shape[1]] = b
            self.stacked.append(st)
        # (c, d, poly of f_c f_d or None when the pair needs two variables)
        self.pairs: list[tuple[int, int, PiecewisePoly | None]] = []
        for c in range(len(comps)):
            for d in range(c, len(comps)):
                vc, vd = self.vars[c], self.vars[d]
                if vc == vd:
                    prod = self.squares[c] if c == d else self.polys[c] * self.polys[d]
                    self.pairs.append((c, d, prod))
                elif pp.cov[vc, vd] != 0.0 and self.sd[vc] > 0 and self.sd[vd] > 0:
                    self.pairs.append((c, d, None))

    @classmethod
    def of(cls, pp: PersonPlan) -> PayMoments:
        """The moments of ``pp``, shared with earlier plans equal but for their means
        (which every evaluation takes anew): a sweep over one department's plan then
        rebuilds only that department's polynomials."""

        def poly_key(poly: PiecewisePoly) -> tuple[bytes, bytes, tuple[int, ...]]:
            return poly.key

        key = (
            pp.metrics,
            pp.cov.tobytes(),
            pp.logit,
            tuple(
                (name, var, poly_key(poly), None if gate is None else (gate[0], poly_key(gate[1])))
                for name, var, poly, gate in pp.components
            ),
            None if pp.modifier is None else (pp.modifier[0], poly_key(pp.modifier[1])),
        )
        found = caches.PAY_MOMENTS.get(key)
        if found is None:
            found = caches.PAY_MOMENTS.put(key, cls(pp))
        return cast(PayMoments, found)

    @functools.cached_property
    def kernel_arrays(self) -> tuple[Any, Any, Any] | None:
        """These polynomials as the compiled kernels take them (``None`` where a pair
        of components needs two variables); see :func:`compmodel._compiled.department_arrays`."""
        return kernels._moment_arrays(self)

    def _two(self, c: int, mean: np.ndarray) -> tuple[float, float]:
        """``E[f_c]`` and ``E[f_c^2]`` (one pass over the pieces for a normal metric)."""
        var, poly = self.vars[c], self.polys[c]
        sq = self.squares[c]
        mu, sd = float(mean[var]), float(self.sd[var])
        if sd <= 0.0:
            return self._one(poly, var, mean), self._one(sq, var, mean)
        if self.pp.logit[var]:
            # one set of nodes for both (the square has the same breakpoints)
            ef, _, ef2, _ = logit_expectations_with_score(poly, mu, sd)
            return ef, ef2
        both, _ = normal_expectations_with_score(poly.breaks, self.stacked[c], mu, sd)
        return float(both[0]), float(both[1])

    @property
    def has_gradient(self) -> bool:
        """Whether :meth:`with_gradient` applies: every variable noisy, and either
        one-variable components or gates and modifiers on independent metrics."""
        if self.general:
            return False
        if self.factorised:
            used = {v for factors in self.groups.values() for v, _ in factors}
            return bool(used) and bool(np.all(self.sd[sorted(used)] > 0.0))
        if any(prod is None for _, _, prod in self.pairs):
            return False
        return bool(np.all(self.sd[self.vars] > 0.0)) if self.vars else False

    def _product_score(self, key: tuple[int, int], mean: np.ndarray) -> tuple[float, np.ndarray]:
        """A product of one-dimensional expectations and its gradient (product rule)."""
        parts = [(v, *self._one_score(poly, v, mean)) for v, poly in self.groups[key]]
        grad = np.zeros(len(mean))
        value = 1.0
        for i, (v, e, de) in enumerate(parts):
            value *= e
            others = 1.0
            for j, (_, e2, _) in enumerate(parts):
                if j != i:
                    others *= e2
            grad[v] += de * others
        return value, grad

    def _factorised_with_gradient(
        self, mean: np.ndarray
    ) -> tuple[float, float, np.ndarray, np.ndarray]:
        """:meth:`with_gradient` for gates and modifiers on independent metrics."""
        n = len(self.polys)
        firsts = [self._product_score((c, -1), mean) for c in range(n)]
        ev = [f for f, _ in firsts]
        grad_e = np.sum([g for _, g in firsts], axis=0)
        total, grad_v = 0.0, np.zeros(len(mean))
        for c in range(n):
            for d in range(c, n):
                second, g2 = self._product_score((c, d), mean)
                cv = second - ev[c] * ev[d]
                gcv = g2 - firsts[c][1] * ev[d] - ev[c] * firsts[d][1]
                if c == d:
                    if cv > 0.0:  # as __call__: a variance below zero is rounding
                        total += cv
                        grad_v += gcv
                else:
                    total += 2.0 * cv
                    grad_v += 2.0 * gcv
        if total < 0.0:
            return math.fsum(ev), 0.0, grad_e, np.zeros(len(mean))
        return math.fsum(ev), total, grad_e, grad_v

    def _one_score(self, poly: PiecewisePoly, var: int, mean: np.ndarray) -> tuple[float, float]:
        """``E[poly]`` and its derivative in the mean of ``var`` (noisy variables only)."""
        mu, sd = float(mean[var]), float(self.sd[var])
        if self.pp.logit[var]:
            ef, efz, _, _ = logit_expectations_with_score(poly, mu, sd)
            return ef, efz / sd
        c = poly.coefs[None, :, :]
        v, sc = normal_expectations_with_score(poly.breaks, c, mu, sd)
        return float(v[0]), float(sc[0]) / sd

    def with_gradient(self, mean: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """``E``, ``Var`` and their gradients in the plan means (see :attr:`has_gradient`)."""
        if self.factorised:
            return self._factorised_with_gradient(mean)
        n = len(self.polys)
        e = np.empty(n)
        de = np.empty(n)
        second = np.empty(n)
        dsecond = np.empty(n)
        for c in range(n):
            var, poly = self.vars[c], self.polys[c]
            mu, sd = float(mean[var]), float(self.sd[var])
            if self.pp.logit[var]:
                ef, efz, ef2, ef2z = logit_expectations_with_score(poly, mu, sd)
                e[c], de[c], second[c], dsecond[c] = ef, efz / sd, ef2, ef2z / sd
            else:
                vals, sc = normal_expectations_with_score(poly.breaks, self.stacked[c], mu, sd)
                e[c], second[c] = float(vals[0]), float(vals[1])
                de[c], dsecond[c] = float(sc[0]) / sd, float(sc[1]) / sd
        grad_e = np.zeros(len(mean))
        grad_v = np.zeros(len(mean))
        var_total = 0.0
        for c in range(n):
            grad_e[self.vars[c]] += de[c]
        for c, d, prod in self.pairs:
            vi = self.vars[c]
            if c == d:
                cov = second[c] - e[c] * e[c]
                var_total += max(cov, 0.0)
                grad_v[vi] += dsecond[c] - 2.0 * e[c] * de[c]
            else:
                assert prod is not None  # has_gradient guarantees it
                ecd, decd = self._one_score(prod, vi, mean)
                var_total += 2.0 * (ecd - e[c] * e[d])
                grad_v[vi] += 2.0 * (decd - de[c] * e[d] - e[c] * de[d])
        return math.fsum(e), max(var_total, 0.0), grad_e, grad_v

    @functools.cached_property
    def cara_arrays(self) -> tuple[np.ndarray, ...] | None:
        """This plan for the exact CE (:func:`cara_structure`; ``None``: see there)."""
        return cara_structure(self.pp)

    @functools.cached_property
    def normal_pay(self) -> bool:
        """Whether pay is linear in normal metrics (no gate, modifier or kink): pay is
        then normal and the mean-variance CE is exact."""
        return _gaussian(self.pp)

    @functools.cached_property
    def exact_cara(self) -> bool:
        """Whether the exact CARA CE applies: pay normal (mean-variance is then exact)
        or a structure :mod:`compmodel.cara` integrates."""
        return self.normal_pay or self.cara_arrays is not None

    def _integrates(self, r: float, rule: CertaintyEquivalent) -> bool:
        """Whether :meth:`certainty` integrates ``exp(-r pay)``: exact CARA asked, risk,
        pay not normal (mean-variance is exact there) and a structure to integrate."""
        return r > 0.0 and rule == "cara" and not self.normal_pay and self.cara_arrays is not None

    def log_mgf(self, mean: np.ndarray, r: float, refine: int = 1) -> tuple[float, np.ndarray]:
        """``log E[exp(-r pay)]`` and its gradient in the plan means (needs
        :attr:`cara_arrays`)."""
        structure = self.cara_arrays
        if structure is None:
            raise ValueError("this plan's pay needs a joint integration (cara_structure)")
        gx, gw = _gl_rule(_GL_NODES)
        logit = np.asarray(self.pp.logit, dtype=np.bool_)
        value, grad = structured_log_mgf(
            np.asarray(mean, dtype=float), self.sd, logit, structure, float(r), gx, gw, refine
        )
        return float(value), np.asarray(grad, dtype=float)

    def certainty(self, mean: np.ndarray, r: float, rule: CertaintyEquivalent = "cara") -> float:
        """What a person's incentive pay is worth to them (currency per period): the
        certainty equivalent ``-(1/r) log E[exp(-r pay)]`` (``rule="cara"``, where
        :attr:`exact_cara`) or ``E - (r/2) Var``; ``E`` when ``r = 0``."""
        if self._integrates(r, rule):
            return -self.log_mgf(mean, r)[0] / r
        e, v = self(mean)
        return e - 0.5 * r * v

    def certainty_with_gradient(
        self, mean: np.ndarray, r: float, rule: CertaintyEquivalent = "cara"
    ) -> tuple[float, np.ndarray]:
        """:meth:`certainty` and its gradient in the plan means (see
        :attr:`has_gradient`)."""
        if self._integrates(r, rule):
            value, grad = self.log_mgf(mean, r)
            return -value / r, -grad / r
        e, v, ge, gv = self.with_gradient(mean)
        return e - 0.5 * r * v, ge - 0.5 * r * gv

    def cara_error(self, mean: np.ndarray, r: float) -> float:
        """The exact CE's quadrature error bound (currency): the change when every
        quadrature's sub-intervals are doubled (0 for the closed forms)."""
        if not self._integrates(r, "cara"):
            return 0.0
        return abs(self.log_mgf(mean, r, 2)[0] - self.log_mgf(mean, r, 1)[0]) / r

    def _one(self, poly: PiecewisePoly, var: int, mean: np.ndarray) -> float:
        mu, sd = float(mean[var]), float(self.sd[var])
        if sd <= 0.0:
            return float(poly(float(special.expit(mu)) if self.pp.logit[var] else mu))
        if self.pp.logit[var]:
            return logit_expectations_with_score(poly, mu, sd)[0]
        return float(normal_expectations_with_score(poly.breaks, poly.coefs[None], mu, sd)[0][0])

    def __call__(self, mean: np.ndarray) -> tuple[float, float]:
        if self.general:
            mom = plan_moments(dataclasses.replace(self.pp, mean=mean), estimate_error=False)
            return float(mom.expected.sum()), float(max(mom.cov.sum(), 0.0))
        if self.factorised:
            n = len(self.polys)

            def product(key: tuple[int, int]) -> float:
                out = 1.0
                for v, factor in self.groups[key]:
                    out *= self._one(factor, v, mean)
                return out

            ev = [product((c, -1)) for c in range(n)]
            total = 0.0
            for c in range(n):
                for d in range(c, n):
                    cv = product((c, d)) - ev[c] * ev[d]
                    total += max(cv, 0.0) if c == d else 2.0 * cv
            return math.fsum(ev), max(total, 0.0)
        firsts = [self._two(c, mean) for c in range(len(self.polys))]
        e = [f for f, _ in firsts]
        var = 0.0
        for c, d, prod in self.pairs:
            if c == d:
                second = firsts[c][1]
            elif prod is not None:
                second = self._one(prod, self.vars[c], mean)
            else:
                second = expect_product(
                    [Factor(self.vars[c], self.polys[c]), Factor(self.vars[d], self.polys[d])],
                    mean,
                    self.pp.cov,
                    self.pp.logit,
                    estimate_error=False,
                ).value
            cov = second - e[c] * e[d]
            if c == d:
                cov = max(cov, 0.0)
            var += cov if c == d else 2.0 * cov
        return math.fsum(e), max(var, 0.0)


def third_cumulant(pp: PersonPlan) -> float:
    """The third cumulant ``kappa_3 = E[(pay - E pay)^3]`` of a person's incentive pay
    (currency cubed), by the joint integration of :func:`compmodel.moments.expect_product`
    over every triple of components. ``(r^2/6) kappa_3`` is the leading error of the
    mean-variance CE against exact CARA (``CE = E - (r/2) kappa_2 + (r^2/6) kappa_3 -
    ...``)."""
    n = len(pp.components)
    factors = [pp.factors(c) for c in range(n)]

    def moment(*cs: int) -> float:
        return expect_product(
            [f for c in cs for f in factors[c]], pp.mean, pp.cov, pp.logit, estimate_error=False
        ).value

    m1 = sum(moment(c) for c in range(n))
    m2 = sum(moment(c, d) for c in range(n) for d in range(n))
    m3 = 0.0
    for c in range(n):
        for d in range(c, n):
            for e in range(d, n):
                distinct = len({c, d, e})
                weight = 1 if distinct == 1 else (3 if distinct == 2 else 6)
                m3 += weight * moment(c, d, e)
    return float(m3 - 3.0 * m1 * m2 + 2.0 * m1**3)


def concave(pp: PersonPlan) -> bool:
    """Whether every component pays a continuous, concave, piecewise-linear amount.

    Gates, modifiers, jumps (steps, lump sums, retroactive tiers, thresholds above a
    floor) and rising slopes (accelerators, floors) can make a best response jump.
    """
    if pp.modifier is not None:
        return False
    for _, _, poly, gate in pp.components:
        if gate is not None or poly.degree > 1:
            return False
        c = poly.coefs if poly.coefs.shape[1] == 2 else np.c_[poly.coefs, np.zeros(len(poly.coefs))]
        left = c[:-1, 0] + c[:-1, 1] * poly.breaks
        right = c[1:, 0] + c[1:, 1] * poly.breaks
        if np.any(np.abs(left - right) > 1e-12 * (1.0 + np.abs(left))):
            return False
        if np.any(np.diff(c[:, 1]) > 1e-15):
            return False
    return True
