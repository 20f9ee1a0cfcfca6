"""A department's best response in compiled code: its perceived CE, gradient and climb.

:mod:`compmodel.equilibrium` defines the problem; this module evaluates it without returning
to Python between steps, for any company plug-in that brings compiled equations and the
plans the kernels cover (everything the reference company uses; :func:`department_arrays`
says ``None`` otherwise and the solver keeps its Python path, which gives the same
optimum more slowly). numba cannot cache a kernel that takes another kernel as an
argument, so this file is a template: :mod:`compmodel._kernels` writes one module per
plug-in with the plug-in's equations in place of the block marked ``<plug-in
equations>``, named by a hash of every source it compiles, so numba caches it and no
edit of a plug-in or of these kernels can leave a stale kernel behind.

Notation, for one department with levers ``x`` (``k`` of them) while the others stay at
``t``: ``mu(t)`` are the company model's metric means, ``m`` the means of the plan's
variables a person perceives (``m = m0 + LoS (m(x) - m0)``, ``m0`` at ``t``; on a
variable the model splits, ``m = own(x) + LoS (m(x) - own(x))`` with ``own`` the
plug-in's ``_own_means_jacobian_packed``, the metric with the company-wide aggregates
frozen at ``t``: :mod:`compmodel.equilibrium.line_of_sight`), ``E(m)`` and
``V(m)`` the mean and variance of the person's incentive pay, ``r`` risk aversion,
``C`` the effort-cost block and ``x0`` the rest levers. The perceived certainty
equivalent is

    ``CE(x) = E - (r/2) V - (1/2) (x - x0)' C (x - x0)``

and its gradient ``(dE/dm - (r/2) dV/dm) * LoS @ dm/dx - C (x - x0)`` (on a split
variable ``dE/dm ... @ (J_own + LoS (dm/dx - J_own))``); ``dE/dm`` and
``dV/dm`` come from Stein's identity on the closed forms. Under exact CARA (the
default, ``settings.certainty_equivalent``) ``E - (r/2) V`` is replaced by
``-(1/r) log E[exp(-r pay)]`` from :func:`compmodel.cara.structured_log_mgf` (the same
function the Python backend calls), its gradient by Stein's identity under the tilted
measure; ``dm/dx`` from the model's
own compiled Jacobian (exact, forward mode).

Pay is a sum of components, each a piecewise polynomial of one plan variable (normal
or, for shares, logit-normal); the variance adds ``2 Cov(f_c, f_d)`` for components on
the same variable. With gates or a modifier on independent metrics every expectation
is a product of one-dimensional ones. Components on correlated variables (and gates
on correlated metrics) are left to the Python path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compmodel._jit import jit
from compmodel.cara import structured_log_mgf
from compmodel.moments import _GL_NODES, _gl_rule, _logit_with_score, _normal_with_score

FloatArray = np.ndarray


# <plug-in equations>
# A generated module (compmodel._kernels) puts the company plug-in's compiled equations
# here: ``_means_jacobian_packed(t, data, columns) -> (means, jacobian)`` and
# ``_own_means_jacobian_packed(t, t0, data, columns) -> (own means, jacobian)`` (the
# plug-in's split, or the means themselves where it has none). These stand-ins are
# what the template runs when imported as it is (never in a solve).
@jit
def _means_jacobian_packed(t: FloatArray, data: Any, columns: Any) -> tuple[FloatArray, FloatArray]:
    raise NotImplementedError("the generic kernels run only as a plug-in's generated module")


@jit
def _own_means_jacobian_packed(
    t: FloatArray, t0: FloatArray, data: Any, columns: Any
) -> tuple[FloatArray, FloatArray]:
    return _means_jacobian_packed(t, data, columns)


# </plug-in equations>


def department_arrays(d: Any, space: Any) -> tuple[Any, ...] | None:
    """Pack a :class:`compmodel.equilibrium.problem.DepartmentProblem` for the kernels.

    Returns ``None`` when its plan has a noiseless variable, components on correlated
    variables, or gates or a modifier on correlated metrics (the Python path handles
    those).
    """
    idx = np.asarray(d.levers, dtype=np.int64)
    rest = np.ascontiguousarray(space.rest[idx], dtype=float)
    cost = np.ascontiguousarray(space.cost[np.ix_(idx, idx)], dtype=float)
    if d.plan is None:
        empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0, dtype=float)
        no = np.empty(0, dtype=np.bool_)
        plan = (empty_i, empty_f, empty_f, empty_f, no, no)
        return (idx, rest, cost, float(d.risk_aversion), plan, _NO_COMPS, _NO_PAIRS, _NO_FACT,
                (False, _NO_CARA))  # fmt: skip
    mom = d.moments
    if mom is None or mom.general or not mom.has_gradient:
        return None
    if mom.kernel_arrays is None:  # packed once: the same moments serve many problems
        return None
    exact = d.rule == "cara" and d.risk_aversion > 0.0 and not mom.normal_pay
    if exact and mom.cara_arrays is None:
        return None
    pp = d.plan
    own = np.zeros(len(pp.metrics), dtype=np.bool_)
    if d.own_split.size:
        own[:] = d.own_split
    plan = (
        np.asarray(d.model_index, dtype=np.int64),
        np.asarray(pp.mean, dtype=float),
        np.asarray(d.line_of_sight, dtype=float),
        np.asarray(mom.sd, dtype=float),
        np.asarray(pp.logit, dtype=np.bool_),
        own,  # whether a person perceives the variable through the plug-in's split
    )
    cara = (True, mom.cara_arrays) if exact else (False, _NO_CARA)
    return (idx, rest, cost, float(d.risk_aversion), plan, *mom.kernel_arrays, cara)


_EMPTY_I = np.empty(0, dtype=np.int64)
_NO_COMPS = (_EMPTY_I, np.empty((0, 0)), _EMPTY_I, np.empty((0, 1, 1)), np.empty((0, 2, 1, 1)))
_NO_PAIRS = (_EMPTY_I, _EMPTY_I, np.empty((0, 0)), _EMPTY_I, np.empty((0, 1, 1)))
_NO_FACT = (_EMPTY_I, np.empty((0, 0)), _EMPTY_I, np.empty((0, 1, 1)), np.zeros(1, np.int64), 0)
_NO_CARA = (
    _EMPTY_I, np.empty((0, 0)), _EMPTY_I, np.zeros(1, np.int64), _EMPTY_I, np.empty((0, 0)),
    _EMPTY_I, np.empty((0, 1, 1)), _EMPTY_I, np.empty((0, 1, 1)), _EMPTY_I, np.empty((0, 0)),
    _EMPTY_I,
)  # fmt: skip


def _moment_arrays(mom: Any) -> tuple[Any, Any, Any] | None:
    """The polynomials of a department's pay moments (:class:`compmodel.pay.PayMoments`) as the kernels
    take them: (components, cross pairs, factorised groups); ``None`` when a pair of
    components needs two variables."""
    if mom.factorised:
        # gates and modifiers on independent metrics: every expectation is a product of
        # one-dimensional ones; groups (c, -1) for each component, then (c, d), c <= d
        n = len(mom.polys)
        keys = [(c, -1) for c in range(n)] + [(c, e) for c in range(n) for e in range(c, n)]
        factors = [(v, poly) for key in keys for v, poly in mom.groups[key]]
        starts = np.cumsum([0] + [len(mom.groups[key]) for key in keys]).astype(np.int64)
        fb, fn, fc = _pad([(poly.breaks, poly.coefs) for _, poly in factors])
        fact = (np.array([v for v, _ in factors], dtype=np.int64), fb, fn, fc, starts, n)
        return _NO_COMPS, _NO_PAIRS, fact
    polys = mom.polys
    comps: tuple[Any, ...]
    comps = (np.asarray(mom.vars, dtype=np.int64), *_pad([(p.breaks, p.coefs) for p in polys]))
    # each component's polynomial and its square on the component's own breaks
    stacked = np.zeros((len(polys), 2, comps[1].shape[1] + 1, max(s.shape[2] for s in mom.stacked)))
    for c, st in enumerate(mom.stacked):
        stacked[c, :, : st.shape[1], : st.shape[2]] = st
    comps = (*comps, stacked)
    cross = [(c, e, prod) for c, e, prod in mom.pairs if c != e]
    if any(prod is None for _, _, prod in cross):
        return None
    pb, pn, pcoef = _pad([(prod.breaks, prod.coefs) for _, _, prod in cross])
    pairs = (
        np.array([c for c, _, _ in cross], dtype=np.int64),
        np.array([e for _, e, _ in cross], dtype=np.int64),
        pb,
        pn,
        pcoef,
    )
    return comps, pairs, _NO_FACT


def planner_arrays(space: Any, value_metric: int) -> tuple[Any, ...]:
    """The first best as one more department for the kernels: a risk-neutral planner
    who moves every lever, is paid the company's value (a plan paying the metric
    ``value_metric``, operating profit, one for one) and bears everyone's effort cost
    (``sum_d N_d c_d``). Its best response (:func:`climb`) maximises total surplus
    without risk, up to the constant base payroll."""
    n = len(space.names)
    idx = np.arange(n, dtype=np.int64)
    weighted = np.ascontiguousarray(space.cost * space.headcount[:, None], dtype=float)
    plan = (
        np.array([value_metric], dtype=np.int64),
        np.zeros(1),
        np.ones(1),
        np.ones(1),  # any noise: pay is linear and the planner risk neutral
        np.zeros(1, dtype=np.bool_),
        np.zeros(1, dtype=np.bool_),  # the planner sees all of value: no split
    )
    no_breaks = np.empty((1, 0))
    linear = np.array([[[[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]]])  # f = m and f^2 = m^2
    comps = (np.zeros(1, np.int64), no_breaks, np.zeros(1, np.int64), np.zeros((1, 1, 3)), linear)
    rest = np.ascontiguousarray(space.rest, dtype=float)
    return (idx, rest, weighted, 0.0, plan, comps, _NO_PAIRS, _NO_FACT, (False, _NO_CARA))


def _pad(polys: list[tuple[FloatArray, FloatArray]]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Breaks (padded with +inf), their counts and coefficients (padded with 0)."""
    nb = max((b.size for b, _ in polys), default=0)
    deg = max((c.shape[1] for _, c in polys), default=1)
    breaks = np.full((len(polys), nb), np.inf)
    counts = np.zeros(len(polys), dtype=np.int64)
    coefs = np.zeros((len(polys), nb + 1, deg))
    for i, (b, c) in enumerate(polys):
        breaks[i, : b.size] = b
        counts[i] = b.size
        coefs[i, : c.shape[0], : c.shape[1]] = c
    return breaks, counts, coefs


# --------------------------------------------------------------------------------------
# the kernels
# --------------------------------------------------------------------------------------
@jit
def _one_with_score(
    breaks: FloatArray, coefs: FloatArray, logit: bool, mu: float, sd: float,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[float, float, float, float]:  # fmt: skip
    """``E[f]``, ``dE[f]/dmu``, ``E[f^2]``, ``dE[f^2]/dmu`` for one polynomial ``f``
    (``coefs``: its coefficients; normal: shape (2, pieces, deg) with f^2 second)."""
    if logit:
        ef, efz, ef2, ef2z = _logit_with_score(breaks, coefs[0], mu, sd, gl_x, gl_w)
        return ef, efz / sd, ef2, ef2z / sd
    vals, scores = _normal_with_score(breaks, coefs, mu, sd)
    return vals[0], scores[0] / sd, vals[1], scores[1] / sd


@jit
def _factorised_moments(
    means: FloatArray, plan: Any, fact: Any, gl_x: FloatArray, gl_w: FloatArray
) -> tuple[float, float, FloatArray, FloatArray]:
    """:func:`pay_moments` for gates and modifiers on independent metrics: each group's
    expectation is the product of its factors' (gradient by the product rule), as
    :meth:`compmodel.pay.PayMoments._factorised_with_gradient`."""
    _, _, _, sd, logit, _ = plan
    fvar, fbreaks, fcount, fcoefs, starts, n = fact
    groups = starts.size - 1
    value = np.ones(groups)
    grad = np.zeros((groups, means.size))
    for g in range(groups):
        k0, k1 = starts[g], starts[g + 1]
        es = np.empty(k1 - k0)
        des = np.empty(k1 - k0)
        for f in range(k0, k1):
            v, nb = fvar[f], fcount[f]
            if logit[v]:
                ef, efz, _, _ = _logit_with_score(
                    fbreaks[f, :nb], fcoefs[f, : nb + 1, :], means[v], sd[v], gl_x, gl_w
                )
                es[f - k0], des[f - k0] = ef, efz / sd[v]
            else:
                vals, scores = _normal_with_score(
                    fbreaks[f, :nb], fcoefs[f : f + 1, : nb + 1, :], means[v], sd[v]
                )
                es[f - k0], des[f - k0] = vals[0], scores[0] / sd[v]
        for i in range(k1 - k0):
            value[g] *= es[i]
            others = 1.0
            for j in range(k1 - k0):
                if j != i:
                    others *= es[j]
            grad[g, fvar[k0 + i]] += des[i] * others
    total_e = 0.0
    grad_e = np.zeros(means.size)
    for c in range(n):
        total_e += value[c]
        grad_e += grad[c]
    total, grad_v = 0.0, np.zeros(means.size)
    g = n
    for c in range(n):
        for d in range(c, n):
            cv = value[g] - value[c] * value[d]
            gcv = grad[g] - grad[c] * value[d] - value[c] * grad[d]
            if c == d:
                if cv > 0.0:  # a variance below zero is rounding
                    total += cv
                    grad_v += gcv
            else:
                total += 2.0 * cv
                grad_v += 2.0 * gcv
            g += 1
    if total < 0.0:
        return total_e, 0.0, grad_e, np.zeros(means.size)
    return total_e, total, grad_e, grad_v


@jit
def pay_moments(
    means: FloatArray, plan: Any, comps: Any, pairs: Any, fact: Any, gl_x: FloatArray,
    gl_w: FloatArray,
) -> tuple[float, float, FloatArray, FloatArray]:  # fmt: skip
    """``E``, ``V`` and their gradients in the plan means ``m`` (same sums as
    :meth:`compmodel.pay.PayMoments.with_gradient`)."""
    if fact[5] > 0:
        return _factorised_moments(means, plan, fact, gl_x, gl_w)
    _, _, _, sd, logit, _ = plan
    cvar, cbreaks, ccount, _, cstack = comps
    n = cvar.size
    e = np.empty(n)
    de = np.empty(n)
    grad_e = np.zeros(means.size)
    grad_v = np.zeros(means.size)
    total_e, var_total = 0.0, 0.0
    for c in range(n):
        v = cvar[c]
        nb = ccount[c]
        ef, def_, ef2, def2 = _one_with_score(
            cbreaks[c, :nb], cstack[c, :, : nb + 1, :], logit[v], means[v], sd[v], gl_x, gl_w
        )
        e[c], de[c] = ef, def_
        total_e += ef
        grad_e[v] += def_
        var_total += max(ef2 - ef * ef, 0.0)
        grad_v[v] += def2 - 2.0 * ef * def_
    pc, pd, pbreaks, pcount, pcoefs = pairs
    for i in range(pc.size):
        c, d = pc[i], pd[i]
        v = cvar[c]
        nb = pcount[i]
        stacked = np.zeros((2, nb + 1, pcoefs.shape[2]))
        stacked[0] = pcoefs[i, : nb + 1, :]
        ecd, decd, _, _ = _one_with_score(
            pbreaks[i, :nb], stacked, logit[v], means[v], sd[v], gl_x, gl_w
        )
        var_total += 2.0 * (ecd - e[c] * e[d])
        grad_v[v] += 2.0 * (decd - de[c] * e[d] - e[c] * de[d])
    return total_e, max(var_total, 0.0), grad_e, grad_v


@jit
def perceived_ce(
    model: Any, t: FloatArray, x: FloatArray, mu0: FloatArray, dept: Any,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[float, FloatArray]:  # fmt: skip
    """A person's perceived ``CE(x)`` and its gradient (module docstring)."""
    idx, rest, cost, r, plan, comps, pairs, fact, cara = dept
    midx, base_mean, los, sd, logit, own = plan
    t2 = t.copy()
    for j in range(idx.size):
        t2[idx[j]] = x[j]
    dev = x - rest
    grad = -(cost @ dev)
    effort = -0.5 * (dev @ grad)
    if midx.size == 0:
        return -effort, grad
    mu, dmu = _means_jacobian_packed(t2, model, idx)
    split = False
    for v in range(own.size):
        split = split or own[v]
    means = base_mean.copy()
    omu, odmu = mu, dmu
    if split:  # a split variable: its own part whole, its company-wide part by LoS
        omu, odmu = _own_means_jacobian_packed(t2, t, model, idx)
    for v in range(midx.size):
        if midx[v] >= 0:
            m0 = omu[midx[v]] if split and own[v] else mu0[midx[v]]
            means[v] = m0 + los[v] * (mu[midx[v]] - m0)
    if cara[0]:  # exact CARA: -(1/r) log E[exp(-r pay)]
        lmgf, glmgf = structured_log_mgf(means, sd, logit, cara[1], r, gl_x, gl_w, 1)
        pay_ce = -lmgf / r
        g_pay = -glmgf / r
    else:
        e, var, ge, gv = pay_moments(means, plan, comps, pairs, fact, gl_x, gl_w)
        pay_ce = e - 0.5 * r * var
        g_pay = ge - 0.5 * r * gv
    for v in range(midx.size):
        m = midx[v]
        if m >= 0 and split and own[v]:  # J_own + LoS (J - J_own)
            for j in range(idx.size):
                grad[j] += g_pay[v] * (odmu[m, j] + los[v] * (dmu[m, j] - odmu[m, j]))
        elif m >= 0:
            g = g_pay[v] * los[v]
            for j in range(idx.size):
                grad[j] += g * dmu[m, j]
    return pay_ce - effort, grad


@jit
def climb(
    model: Any, t: FloatArray, x0: FloatArray, mu0: FloatArray, dept: Any,
    lo: FloatArray, hi: FloatArray, scale: float, precise: bool,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[FloatArray, float, bool]:  # fmt: skip
    """Maximise :func:`perceived_ce` over ``lo <= x <= hi`` from ``x0``: (argmax, max,
    whether the scaled projected gradient test was met).

    Projected Newton steps on the levers not held at a bound (a lever at a bound whose
    gradient points outward is held), with the Hessian from forward differences of the
    gradient (backwards at an upper bound), shifted to be negative definite where CE is not concave, and a
    backtracking (Armijo) line search. Stops when the scaled projected gradient is
    below ``1e-11`` (``precise``; ``1e-7`` otherwise, or a relative gain below
    ``1e-10``), when the Newton step is below ``1e-12`` (relative to the levers), or
    when no step gains (the gradient's own noise): the tests of the L-BFGS-B it
    replaces, plus the one a Newton step makes possible. The last two count as met
    only with the scaled gradient below ``1e-7`` (its noise floor is ~1e-10): at a
    kink of the model (a lever at a ``min``/``max``) Newton steps stall with a large
    gradient, and the caller finishes with L-BFGS-B.
    """
    k = x0.size
    x = np.minimum(np.maximum(x0, lo), hi)
    f, g = perceived_ce(model, t, x, mu0, dept, gl_x, gl_w)
    gtol = (1e-11 if precise else 1e-7) * scale
    hess = np.empty((k, k))
    for _ in range(200):
        free = np.ones(k, dtype=np.bool_)
        worst = 0.0
        for j in range(k):
            room = 1e-12 * max(1.0, abs(x[j]))
            if (x[j] <= lo[j] + room and g[j] < 0.0) or (x[j] >= hi[j] - room and g[j] > 0.0):
                free[j] = False
            else:
                worst = max(worst, abs(g[j]))
        if worst <= gtol:
            return x, f, True
        nf = int(free.sum())
        fi = np.flatnonzero(free)
        for a in range(nf):
            j = fi[a]
            h = 1e-5 * max(1.0, abs(x[j]))
            if x[j] + h > hi[j]:
                h = -h  # step inside the bounds
            up = x.copy()
            up[j] += h
            _, gu = perceived_ce(model, t, up, mu0, dept, gl_x, gl_w)
            hess[:, j] = (gu - g) / h
        # A = -H on the free levers, made positive definite
        a_mat = np.empty((nf, nf))
        for a in range(nf):
            for b in range(nf):
                a_mat[a, b] = -0.5 * (hess[fi[a], fi[b]] + hess[fi[b], fi[a]])
        eig = np.linalg.eigvalsh(a_mat)
        top = max(abs(eig[0]), abs(eig[-1]), 1e-300)
        shift = 0.0
        if eig[0] <= 1e-8 * top:
            shift = -eig[0] + 1e-6 * top
        for a in range(nf):
            a_mat[a, a] += shift
        gf = np.empty(nf)
        for a in range(nf):
            gf[a] = g[fi[a]]
        step = np.linalg.solve(a_mat, gf)
        # no step longer than the lever's own size (or 1): a trust region for flat CE
        longest = 0.0
        for a in range(nf):
            longest = max(longest, abs(step[a]) / max(1.0, abs(x[fi[a]])))
        if longest < 1e-12:
            # the optimum is closer than this: met, unless the gradient says a kink
            return x, f, worst <= 1e-7 * scale
        if longest > 1.0:
            step = step / longest
        alpha, moved = 1.0, False
        for _ in range(60):
            xn = x.copy()
            for a in range(nf):
                xn[fi[a]] = min(max(x[fi[a]] + alpha * step[a], lo[fi[a]]), hi[fi[a]])
            fn, gn = perceived_ce(model, t, xn, mu0, dept, gl_x, gl_w)
            if fn >= f + 1e-4 * (g @ (xn - x)) and fn > f:
                moved = True
                break
            alpha *= 0.5
            if alpha * longest < 1e-15:
                break  # steps below rounding gain nothing
        if not moved:  # no step gains: the gradient's own noise, or a kink
            return x, f, worst <= 1e-7 * scale
        gain = fn - f
        x, f, g = xn, fn, gn
        if not precise and gain <= 1e-10 * max(abs(f), abs(fn), scale):
            return x, f, True
    return x, f, False


def gl_rule() -> tuple[FloatArray, FloatArray]:
    """The Gauss-Legendre rule of :mod:`compmodel.moments`, as the kernels take it."""
    x, w = _gl_rule(_GL_NODES)
    return np.ascontiguousarray(x), np.ascontiguousarray(w)


@jit
def _before(a: FloatArray, b: FloatArray) -> bool:
    """``tuple(a) < tuple(b)`` (lexicographic)."""
    for j in range(a.size):
        if a[j] != b[j]:
            return bool(a[j] < b[j])
    return False


@jit
def best_response(
    model: Any, t: FloatArray, starts: FloatArray, mu0: FloatArray,
    dept: Any, lo: FloatArray, hi: FloatArray, precise: bool,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[FloatArray, float, float, bool]:  # fmt: skip
    """The department's best levers with everyone else at ``t``: (levers, CE, scale,
    whether the last climb met its test), as :func:`compmodel.equilibrium.best_response.best_response`.

    ``starts`` (one per row) begins with the current levers. With several, the
    distinct ones are kept (``|a - b| <= 1e-12 + 1e-9 |b|`` counts as the same), the
    current levers and the three with the highest CE are climbed coarsely, and the
    best (ties: the smallest levers) is refined precisely when ``precise``.
    """
    idx = dept[0]
    cur = t[idx].copy()
    ce_now, _ = perceived_ce(model, t, cur, mu0, dept, gl_x, gl_w)
    scale = 1.0 + abs(ce_now)
    n = starts.shape[0]
    keep = np.zeros(n, dtype=np.bool_)
    kept = 0
    for i in range(n):
        fresh = True
        for j in range(i):
            if keep[j] and np.all(
                np.abs(starts[i] - starts[j]) <= 1e-12 + 1e-9 * np.abs(starts[j])
            ):
                fresh = False
                break
        if fresh:
            keep[i] = True
            kept += 1
    chosen = np.flatnonzero(keep)
    if kept > 1:
        values = np.empty(kept - 1)
        for a in range(1, kept):
            values[a - 1] = -perceived_ce(model, t, starts[chosen[a]], mu0, dept, gl_x, gl_w)[0]
        order = np.argsort(values, kind="mergesort")
        top = min(3, kept - 1)
        picked = np.empty(top + 1, dtype=np.int64)
        picked[0] = chosen[0]
        for a in range(top):
            picked[a + 1] = chosen[1 + order[a]]
    else:
        picked = chosen[:1]
    several = picked.size > 1
    best_x = cur
    best_v = -np.inf
    met = True
    for i in range(picked.size):
        x, v, ok = climb(
            model, t, starts[picked[i]], mu0, dept, lo, hi, scale,
            precise and not several, gl_x, gl_w,
        )  # fmt: skip
        tol = 1e-12 * scale
        if v > best_v + tol or (abs(v - best_v) <= tol and _before(x, best_x)):
            best_x, best_v, met = x, v, ok
    if several and precise:
        best_x, best_v, met = climb(model, t, best_x, mu0, dept, lo, hi, scale, True, gl_x, gl_w)
    return best_x, best_v, scale, met


@jit
def deviation_gains(
    model: Any, t: FloatArray, depts: Any, lo_all: FloatArray, hi_all: FloatArray,
    starts: FloatArray, offsets: Any, climb_all: bool, gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """Every department's best deviation from ``t`` in one call (what
    :mod:`compmodel.equilibrium.verification` asks): for department ``k`` (in ``depts``
    order) the rows ``offsets[k]:offsets[k+1]`` of ``starts`` (the first its current
    levers; columns beyond its levers unused). ``climb_all``: the coarse
    :func:`best_response` from them (the current levers and the three best rows
    climbed); otherwise a coarse climb from the current levers and the CE at every
    other row, climbing on from the best row where it beats them. Returns per department its CE at ``t``, the best CE found, and the best
    levers (padded to the widest department)."""
    mu0, _ = _means_jacobian_packed(t, model, np.empty(0, dtype=np.int64))
    n = offsets.size - 1
    ces = np.empty(n)
    bests = np.empty(n)
    xs = np.zeros((n, starts.shape[1]))
    k = 0
    for dept in depts:
        idx = dept[0]
        m = idx.size
        rows = np.ascontiguousarray(starts[offsets[k] : offsets[k + 1], :m])
        ce = perceived_ce(model, t, t[idx].copy(), mu0, dept, gl_x, gl_w)[0]
        ces[k] = ce
        if climb_all:
            x, v, _, _ = best_response(
                model, t, rows, mu0, dept, lo_all[idx], hi_all[idx], False, gl_x, gl_w
            )
        else:
            x, v, _ = climb(
                model, t, rows[0], mu0, dept, lo_all[idx], hi_all[idx], 1.0 + abs(ce), False,
                gl_x, gl_w,
            )  # fmt: skip
            better = -1
            for r in range(1, rows.shape[0]):
                vr = perceived_ce(model, t, rows[r], mu0, dept, gl_x, gl_w)[0]
                if vr > v:
                    x, v, better = rows[r].copy(), vr, r
            if better > 0:  # a grid point beats the levers: climb on from it
                xc, vc, _ = climb(
                    model, t, rows[better], mu0, dept, lo_all[idx], hi_all[idx],
                    1.0 + abs(ce), False, gl_x, gl_w,
                )  # fmt: skip
                if vc > v:
                    x, v = xc, vc
        bests[k] = v
        xs[k, :m] = x
        k += 1
    return ces, bests, xs


@jit
def first_order_conditions(
    model: Any, t: FloatArray, depts: Any, gl_x: FloatArray, gl_w: FloatArray
) -> FloatArray:
    """Each department's CE gradient in its own levers at ``t``, stacked in lever order
    (``depts``: every department with levers, as :func:`department_arrays` packs it)."""
    mu0, _ = _means_jacobian_packed(t, model, np.empty(0, dtype=np.int64))
    g = np.zeros(t.size)
    for dept in depts:
        idx = dept[0]
        _, grad = perceived_ce(model, t, t[idx], mu0, dept, gl_x, gl_w)
        for j in range(idx.size):
            g[idx[j]] = grad[j]
    return g


@jit
def foc_jacobian(
    model: Any, t: FloatArray, depts: Any, free: Any, hi: FloatArray, gl_x: FloatArray,
    gl_w: FloatArray,
) -> FloatArray:  # fmt: skip
    """Jacobian of :func:`first_order_conditions` in the levers ``free`` (rows and
    columns ``free``) by forward differences, step ``1e-6 max(1, |t_j|)`` (backwards
    where it would pass ``hi``), as :func:`compmodel.equilibrium.newton.chord_newton` takes it."""
    g = first_order_conditions(model, t, depts, gl_x, gl_w)
    jac = np.empty((free.size, free.size))
    up = t.copy()
    for k in range(free.size):
        j = free[k]
        h = 1e-6 * max(1.0, abs(t[j]))
        if t[j] + h > hi[j]:
            h = -h
        up[j] = t[j] + h
        gu = first_order_conditions(model, up, depts, gl_x, gl_w)
        up[j] = t[j]
        for a in range(free.size):
            jac[a, k] = (gu[free[a]] - g[free[a]]) / h
    return jac


@jit
def newton(
    model: Any, t0: FloatArray, depts: Any, lo: FloatArray, hi: FloatArray, tol: float,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[FloatArray, bool]:  # fmt: skip
    """:func:`compmodel.equilibrium.newton.chord_newton` in one compiled call: (levers, whether
    a point is proposed)."""
    t = t0.copy()
    g = first_order_conditions(model, t, depts, gl_x, gl_w)
    held = np.zeros(t.size, dtype=np.bool_)
    for j in range(t.size):
        room = 1e-12 * max(1.0, abs(t[j]))
        at_lo = np.isfinite(lo[j]) and t[j] <= lo[j] + room and g[j] < 0.0
        at_hi = np.isfinite(hi[j]) and t[j] >= hi[j] - room and g[j] > 0.0
        held[j] = at_lo or at_hi
    free = np.flatnonzero(~held)
    if free.size == 0:
        return t, True
    jac = foc_jacobian(model, t, depts, free, hi, gl_x, gl_w)
    if not np.all(np.isfinite(jac)):
        return t, False
    last = np.inf
    for _ in range(12):
        rhs = np.empty(free.size)
        for a in range(free.size):
            rhs[a] = -g[free[a]]
        try:
            step = np.linalg.solve(jac, rhs)
        except Exception:  # singular
            return t, False
        new = t.copy()
        rel = 0.0
        for a in range(free.size):
            j = free[a]
            new[j] = min(max(t[j] + step[a], lo[j]), hi[j])
        for j in range(t.size):
            rel = max(rel, abs(new[j] - t[j]) / max(1.0, abs(t[j])))
        if not np.isfinite(rel) or rel > 0.5 * last:
            return new, rel <= last
        t, last = new, rel
        if rel < 0.1 * tol:
            return t, True
        g = first_order_conditions(model, t, depts, gl_x, gl_w)
    return t, True


@jit
def _starting_points(
    t: FloatArray, fb: FloatArray, idx: Any, rest_all: FloatArray, lo_all: FloatArray,
    hi_all: FloatArray, concave: bool, explore: bool,
) -> FloatArray:  # fmt: skip
    """Where a department's climbs start, one per row, clipped to the bounds: its
    current levers; for a non-concave plan while exploring also rest, the first best,
    rest + m (first best - rest) for m in 0.5, 1.5, 2, 3, 4, and, where every bound is
    finite, nine evenly spaced points from the lower to the upper bound."""
    k = idx.size
    cur, rest, best = t[idx], rest_all[idx], fb[idx]
    lo, hi = lo_all[idx], hi_all[idx]
    if concave or not explore:
        rows = np.empty((1, k))
        rows[0] = cur
    else:
        span = np.where(np.abs(best - rest) > 0, best - rest, 1.0)
        finite = np.all(np.isfinite(lo) & np.isfinite(hi))
        rows = np.empty((17 if finite else 8, k))
        rows[0], rows[1], rows[2] = cur, rest, best
        for r, mult in enumerate((0.5, 1.5, 2.0, 3.0, 4.0)):
            rows[3 + r] = rest + mult * span
        if finite:
            for j in range(9):
                rows[8 + j] = lo + (hi - lo) * j / 8
    for r in range(rows.shape[0]):
        for j in range(k):
            rows[r, j] = min(max(rows[r, j], lo[j]), hi[j])
    return rows


@jit
def apply_move(
    t: FloatArray, idx: Any, x: FloatArray, k: int, step: FloatArray, last: FloatArray,
    has_last: Any,
) -> None:  # fmt: skip
    """Move department ``k`` towards its best response ``x``, damped: its step halves
    (to at least 1/64) each time its move reverses the previous one."""
    move = x - t[idx]
    if has_last[k] and move @ last[idx] < 0.0:
        step[k] = max(step[k] * 0.5, 1.0 / 64.0)
    for j in range(idx.size):
        t[idx[j]] += step[k] * move[j]
        last[idx[j]] = move[j]
    has_last[k] = True


@jit
def gauss_seidel(
    model: Any, t: FloatArray, fb: FloatArray, depts: Any, concave: Any,
    rest_all: FloatArray, lo_all: FloatArray, hi_all: FloatArray, explore: bool,
    precise: bool, step: FloatArray, last: FloatArray, has_last: Any, first: int,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[int, FloatArray, float, float]:  # fmt: skip
    """One Gauss-Seidel sweep over ``depts[first:]`` (best response, then the damped
    move of :func:`apply_move`), updating ``t`` in place. Returns ``(-1, ...)`` when
    done, or ``(k, x, CE, scale)`` for the first department whose precise climb
    stalled at a kink: the caller finishes that one with L-BFGS-B, moves it and goes
    on from ``k + 1``."""
    for k in range(first, len(depts)):
        dept = depts[k]
        idx = dept[0]
        mu0, _ = _means_jacobian_packed(t, model, np.empty(0, dtype=np.int64))
        starts = _starting_points(t, fb, idx, rest_all, lo_all, hi_all, concave[k], explore)
        x, v, scale, met = best_response(
            model, t, starts, mu0, dept, lo_all[idx], hi_all[idx], precise, gl_x, gl_w
        )
        if precise and not met:
            return k, x, v, scale
        apply_move(t, idx, x, k, step, last, has_last)
    return -1, np.empty(0), 0.0, 0.0
