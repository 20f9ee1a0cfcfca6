"""Exact CARA: the certainty equivalent of a person's incentive pay, ``-(1/r) log E[exp(-r pay)]``.

A person with constant absolute risk aversion ``r`` (per currency unit) values a pay
gamble ``w`` at its certainty equivalent ``-(1/r) log E[exp(-r w)]``. For pay linear in
normal noise this is ``E[w] - (r/2) Var[w]`` (the mean-variance form); for capped, tiered,
stepped or gated pay it is not, and at high risk aversion the two can differ in sign
(:mod:`compmodel.pay` keeps mean-variance as an option).

Notation
--------
A metric is a latent Gaussian ``V ~ N(mu, s^2)`` (the metric itself on the ``"normal"``
scale, the share ``expit(V)`` on the ``"logit"`` scale), as in :mod:`compmodel.moments`;
``g`` is a piecewise polynomial of the metric (currency) and ``L = log E[exp(-r g)]``.

Methods
-------
1. **A linear piece on a normal metric: closed form.** On ``[l, u)``, with ``g = a + b x``,
   ``E[exp(-r g) 1{l <= x < u}] = exp(-r (a + b mu) + r^2 b^2 s^2 / 2) [Phi(beta) - Phi(alpha)]``
   where ``alpha = (l - mu')/s``, ``beta = (u - mu')/s`` and ``mu' = mu - r b s^2`` (the
   truncated-Gaussian moment generating function). Everything is computed in log space:
   ``log(Phi(beta) - Phi(alpha))`` from ``log Phi`` (erfc, and its asymptotic series below
   ``-20``), the pieces added by log-sum-exp, so a factor like ``e^102`` (risk aversion
   x30 on today's plan) neither overflows nor cancels.
2. **A share, or a polynomial of degree 2 or more: composite Gauss-Legendre** in ``z =
   (V - mu)/s``, split at the breakpoints, on sub-intervals short enough that ``r g``
   changes by at most a few units on each, over a window that widens until the tilted
   integrand's mass beyond it is below ``e^-37`` of the total; summed in log space.
3. **Several independent metrics.** Gates and modifiers multiply a component's payout
   by functions of other metrics. Conditional on those *outer* metrics, pay is a sum of
   one-metric terms on independent *inner* metrics, so ``L`` is a sum of method-1/2
   terms; the outer metrics are integrated by the rule of method 2 (at most 3 of them,
   on a product grid, split at every breakpoint so that a gate's indicator is integrated
   exactly).

Gradients in the means ``mu`` come from Stein's identity under the tilted measure:
``dL/dmu = E~[Z] / s`` where ``E~`` weighs each point by ``exp(-r g)`` (for method 1 in
closed form: ``-r b + (phi(alpha) - phi(beta)) / (s (Phi(beta) - Phi(alpha)))``).

These kernels are compiled (:mod:`compmodel._jit`); the solver's compiled backend calls
the same functions (:mod:`compmodel._compiled`), so both backends share one
implementation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._jit import jit

__all__ = ["log_diff_ndtr", "log_mgf", "log_ndtr", "structured_log_mgf"]

FloatArray = np.ndarray

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2_F = math.sqrt(2.0)
_TAIL = 37.0  # log of the mass ratio the window leaves out (e^-37 ~ 1e-16)
_MAX_PARTS = 4000  # sub-intervals of one window, at most


@jit
def log_ndtr(x: float) -> float:
    """``log Phi(x)``, accurate in both tails (erfc above -20, the asymptotic series
    ``-x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - ...)`` below)."""
    if x > 6.0:
        return math.log1p(-0.5 * math.erfc(x / _SQRT2_F))
    if x > -20.0:
        return math.log(0.5 * math.erfc(-x / _SQRT2_F))
    if x == -math.inf:
        return -math.inf
    inv = 1.0 / (x * x)
    term, total = 1.0, 1.0
    for k in range(1, 12):
        term *= -(2 * k - 1) * inv
        total += term
    return -0.5 * x * x - math.log(-x) - _HALF_LOG_2PI + math.log(total)


@jit
def log_diff_ndtr(a: float, b: float) -> float:
    """``log(Phi(b) - Phi(a))`` for ``a <= b`` (``-inf`` when equal), differenced in the
    tail where it is accurate."""
    if not a < b:
        return -math.inf
    if a > 0.0:  # both in the upper tail: Phi(-a) - Phi(-b)
        hi, lo = log_ndtr(-a), log_ndtr(-b)
    else:
        hi, lo = log_ndtr(b), log_ndtr(a)
    if lo == -math.inf:
        return hi
    return hi + math.log(-math.expm1(lo - hi))


@jit
def _log_phi(x: float) -> float:
    if not math.isfinite(x):
        return -math.inf
    return -0.5 * x * x - _HALF_LOG_2PI


@jit
def _poly_at(breaks: FloatArray, coefs: FloatArray, x: float) -> float:
    k = 0
    while k < breaks.size and x >= breaks[k]:
        k += 1
    out = 0.0
    for j in range(coefs.shape[1] - 1, -1, -1):
        out = out * x + coefs[k, j]
    return out


@jit
def _linear(coefs: FloatArray) -> bool:
    """Whether every piece has degree at most 1."""
    for k in range(coefs.shape[0]):
        for j in range(2, coefs.shape[1]):
            if coefs[k, j] != 0.0:
                return False
    return True


@jit
def _closed_form(
    breaks: FloatArray, coefs: FloatArray, mu: float, sd: float, r: float
) -> tuple[float, float]:
    """``L`` and ``dL/dmu`` for a piecewise-linear ``g`` of a normal metric (method 1)."""
    n = breaks.size + 1
    logs = np.empty(n)
    slopes = np.empty(n)
    top = -math.inf
    for k in range(n):
        lo = -math.inf if k == 0 else breaks[k - 1]
        hi = math.inf if k == n - 1 else breaks[k]
        a = coefs[k, 0]
        b = coefs[k, 1] if coefs.shape[1] > 1 else 0.0
        shifted = mu - r * b * sd * sd
        alpha, beta = (lo - shifted) / sd, (hi - shifted) / sd
        mass = log_diff_ndtr(alpha, beta)
        logs[k] = -r * (a + b * mu) + 0.5 * (r * b * sd) ** 2 + mass
        if mass == -math.inf:
            slopes[k] = 0.0
        else:
            slopes[k] = (
                -r * b + (math.exp(_log_phi(alpha) - mass) - math.exp(_log_phi(beta) - mass)) / sd
            )
        top = max(top, logs[k])
    total, grad = 0.0, 0.0
    for k in range(n):
        w = math.exp(logs[k] - top)
        total += w
        grad += w * slopes[k]
    return top + math.log(total), grad / total


@jit
def _axis(
    zb: FloatArray, half: float, width: float, gl_x: FloatArray, gl_w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss-Legendre nodes on ``[-half, half]`` in ``z``, split at the sorted
    breakpoints ``zb`` and into sub-intervals no wider than ``width``; the weights carry
    ``log`` of the rule's weight times the standard normal density."""
    edges = np.empty(zb.size + 2)
    m = 0
    edges[m] = -half
    m += 1
    for b in zb:
        if -half < b < half and b > edges[m - 1]:
            edges[m] = b
            m += 1
    edges[m] = half
    m += 1
    parts = np.empty(m - 1, dtype=np.int64)
    count = 0
    for i in range(m - 1):
        parts[i] = max(1, min(_MAX_PARTS, math.ceil((edges[i + 1] - edges[i]) / width - 1e-12)))
        count += parts[i]
    z = np.empty(count * gl_x.size)
    logw = np.empty(count * gl_x.size)
    j = 0
    for i in range(m - 1):
        size = (edges[i + 1] - edges[i]) / parts[i]
        for p in range(parts[i]):
            start = edges[i] + p * size
            for q in range(gl_x.size):
                zz = start + 0.5 * size * (gl_x[q] + 1.0)
                z[j] = zz
                logw[j] = math.log(0.5 * size * gl_w[q]) - 0.5 * zz * zz - _HALF_LOG_2PI
                j += 1
    return z, logw


@jit
def _latent_z(breaks: FloatArray, logit: bool, mu: float, sd: float) -> FloatArray:
    """Breakpoints of a function of the metric in ``z`` (sorted; those of a share
    outside (0, 1) dropped)."""
    out = np.empty(breaks.size)
    m = 0
    for b in breaks:
        if logit:
            if 0.0 < b < 1.0:
                out[m] = (math.log(b / (1.0 - b)) - mu) / sd
                m += 1
        else:
            out[m] = (b - mu) / sd
            m += 1
    return out[:m]


@jit
def _metric(logit: bool, mu: float, sd: float, z: float) -> float:
    v = mu + sd * z
    if not logit:
        return v
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@jit
def _steepest(breaks: FloatArray, coefs: FloatArray, lo: float, hi: float) -> float:
    """The largest ``|g'|`` at the ends of each piece within ``[lo, hi]`` (exact for
    piecewise-linear ``g``; a bound for the smooth pieces of higher degree on short
    windows)."""
    n = breaks.size + 1
    out = 0.0
    for k in range(n):
        a = lo if k == 0 else max(lo, breaks[k - 1])
        b = hi if k == n - 1 else min(hi, breaks[k])
        if a > b:
            continue
        for x in (a, b):
            d = 0.0
            for j in range(coefs.shape[1] - 1, 0, -1):
                d = d * x + j * coefs[k, j]
            out = max(out, abs(d))
    return out


@jit
def _quadrature(
    breaks: FloatArray, coefs: FloatArray, logit: bool, mu: float, sd: float, r: float,
    gl_x: FloatArray, gl_w: FloatArray, refine: int,
) -> tuple[float, float]:  # fmt: skip
    """``L`` and ``dL/dmu`` by composite Gauss-Legendre in ``z`` (method 2)."""
    zb = np.sort(_latent_z(breaks, logit, mu, sd))
    half = 12.0
    for _ in range(4):
        lo_x = _metric(logit, mu, sd, -half)
        hi_x = _metric(logit, mu, sd, half)
        steep = _steepest(breaks, coefs, min(lo_x, hi_x), max(lo_x, hi_x))
        stretch = sd * 0.25 if logit else sd  # |dx/dz| at most
        width = min(1.0, 1.0 / sd) if logit else 1.0
        if r * steep * stretch > 0.0:
            width = min(width, 4.0 / (r * steep * stretch))
        width /= refine
        z, logw = _axis(zb, half, width, gl_x, gl_w)
        h = np.empty(z.size)
        top = -math.inf
        for i in range(z.size):
            h[i] = logw[i] - r * _poly_at(breaks, coefs, _metric(logit, mu, sd, z[i]))
            top = max(top, h[i])
        total, first = 0.0, 0.0
        for i in range(z.size):
            w = math.exp(h[i] - top)
            total += w
            first += w * z[i]
        value = top + math.log(total)
        # the mass beyond the window, at most: the tilt's largest value there times the
        # normal tail (shares are bounded; a normal metric's pieces are checked at the ends)
        edge = -math.inf
        for zz in (-half, half):
            edge = max(edge, -r * _poly_at(breaks, coefs, _metric(logit, mu, sd, zz)))
        if logit:
            edge = max(edge, -r * _poly_at(breaks, coefs, 0.0), -r * _poly_at(breaks, coefs, 1.0))
        tail = edge + log_ndtr(-half) + math.log(2.0)
        if tail < value - _TAIL or half >= 60.0:
            return value, first / total / sd
        half = min(60.0, math.sqrt(2.0 * (edge - value + _TAIL)) + 2.0)
    return value, first / total / sd


@jit
def log_mgf(
    breaks: FloatArray, coefs: FloatArray, logit: bool, mu: float, sd: float, r: float,
    gl_x: FloatArray, gl_w: FloatArray, refine: int = 1,
) -> tuple[float, float]:  # fmt: skip
    """``log E[exp(-r g(X))]`` and its derivative in ``mu`` for ``g`` a piecewise
    polynomial (``breaks``, ``coefs`` as :class:`compmodel.moments.PiecewisePoly`) of
    the metric ``X`` (latent ``N(mu, sd^2)``; ``sd = 0``: no noise). ``refine``
    multiplies the quadrature's sub-intervals (for an error estimate)."""
    if sd <= 0.0:
        x = _metric(logit, mu, 0.0, 0.0)
        d = 0.0
        k = 0
        while k < breaks.size and x >= breaks[k]:
            k += 1
        for j in range(coefs.shape[1] - 1, 0, -1):
            d = d * x + j * coefs[k, j]
        if logit:
            d *= x * (1.0 - x)
        return -r * _poly_at(breaks, coefs, x), -r * d
    if not logit and _linear(coefs):
        return _closed_form(breaks, coefs, mu, sd, r)
    return _quadrature(breaks, coefs, logit, mu, sd, r, gl_x, gl_w, refine)


@jit
def structured_log_mgf(
    means: FloatArray, sd: FloatArray, logit: Any, structure: Any, r: float,
    gl_x: FloatArray, gl_w: FloatArray, refine: int,
) -> tuple[float, FloatArray]:  # fmt: skip
    """``log E[exp(-r pay)]`` and its gradient in the plan means for pay
    ``sum_c k_c(O) p_c(X_{w_c})`` on independent metrics (method 3; ``structure`` as
    :func:`compmodel.pay.cara_structure` packs it): ``O`` the outer metrics (gates,
    modifiers), ``k_c`` the product of component ``c``'s factors on them, ``p_c`` its
    payout on an inner metric (or none: ``k_c`` is then its whole pay)."""
    (ovar, obreaks, ocount, fstart, fouter, fbreaks, fcount, fcoefs,
     cgroup, ccoefs, ivar, ibreaks, icount) = structure  # fmt: skip
    n_outer = ovar.size
    n_comp = cgroup.size
    n_inner = ivar.size
    grad = np.zeros(means.size)
    if n_outer == 0:
        total = 0.0
        for w in range(n_inner):
            v = ivar[w]
            nb = icount[w]
            g = np.zeros((nb + 1, ccoefs.shape[2]))
            for c in range(n_comp):
                if cgroup[c] == w:
                    g += ccoefs[c, : nb + 1, :]
            val, d = log_mgf(ibreaks[w, :nb], g, logit[v], means[v], sd[v], r, gl_x, gl_w, refine)
            total += val
            grad[v] += d
        return total, grad
    # the outer grid: one axis per outer metric, split at its breakpoints
    axes_z = []
    axes_w = []
    sizes = np.empty(n_outer, dtype=np.int64)
    for k in range(n_outer):
        v = ovar[k]
        zb = np.sort(_latent_z(obreaks[k, : ocount[k]], logit[v], means[v], sd[v]))
        width = (min(1.0, 1.0 / sd[v]) if logit[v] else 1.0) / refine
        if n_outer > 1:
            width *= 1.5
        zs, lws = _axis(zb, 12.0, width, gl_x, gl_w)
        axes_z.append(zs)
        axes_w.append(lws)
        sizes[k] = zs.size
    n_nodes = 1
    for k in range(n_outer):
        n_nodes *= sizes[k]
    logs = np.empty(n_nodes)
    dz = np.zeros((n_nodes, n_outer))
    dinner = np.zeros((n_nodes, n_inner))
    at = np.empty(n_outer)
    kc = np.empty(n_comp)
    top = -math.inf
    for node in range(n_nodes):
        rem = node
        lw = 0.0
        for k in range(n_outer):
            i = rem % sizes[k]
            rem //= sizes[k]
            at[k] = _metric(logit[ovar[k]], means[ovar[k]], sd[ovar[k]], axes_z[k][i])
            dz[node, k] = axes_z[k][i]
            lw += axes_w[k][i]
        fixed = 0.0
        for c in range(n_comp):
            prod = 1.0
            for f in range(fstart[c], fstart[c + 1]):
                nb = fcount[f]
                prod *= _poly_at(fbreaks[f, :nb], fcoefs[f, : nb + 1, :], at[fouter[f]])
            kc[c] = prod
            if cgroup[c] < 0:
                fixed += prod
        value = lw - r * fixed
        for w in range(n_inner):
            v = ivar[w]
            nb = icount[w]
            g = np.zeros((nb + 1, ccoefs.shape[2]))
            for c in range(n_comp):
                if cgroup[c] == w and kc[c] != 0.0:
                    g += kc[c] * ccoefs[c, : nb + 1, :]
            val, d = log_mgf(ibreaks[w, :nb], g, logit[v], means[v], sd[v], r, gl_x, gl_w, refine)
            value += val
            dinner[node, w] = d
        logs[node] = value
        if value > top:
            top = value
    total = 0.0
    weights = np.empty(n_nodes)
    for node in range(n_nodes):
        weights[node] = math.exp(logs[node] - top)
        total += weights[node]
    for node in range(n_nodes):
        p = weights[node] / total
        for k in range(n_outer):
            grad[ovar[k]] += p * dz[node, k] / sd[ovar[k]]
        for w in range(n_inner):
            grad[ivar[w]] += p * dinner[node, w]
    return top + math.log(total), grad
