"""Exact pay moments: piecewise polynomials of Gaussian and logit-normal metrics.

This module is the numerical kernel under :mod:`compmodel.budget`. It knows nothing
about departments or plans: it takes plain numbers.

Notation
--------
A metric is represented by a *latent* Gaussian variable ``V ~ N(mu, sigma^2)``:

* on the ``"normal"`` scale the metric is ``V`` itself (money, units, hours, ...);
* on the ``"logit"`` scale the metric is the share ``S = expit(V) = 1 / (1 + e^-V)``,
  so it stays inside (0, 1) (OTIF, retention, win rates).

Every payout rule in compmodel (curves with thresholds, caps, floors and steps, rate
tables applied marginally or retroactively, lump sums, gate indicators, modifier
factors) is a *piecewise polynomial* ``p`` of the metric in its own units: on piece
``k`` (between breakpoints ``b_{k-1} <= x < b_k``, with ``b_{-1} = -inf`` and
``b_n = +inf``) it is ``sum_j c_{kj} x^j``. Products of such functions of the same
metric are again piecewise polynomials, which is how ``E[pay^2]`` is formed.

Methods
-------
1. **Normal scale, one variable: closed form.** With ``z = (x - mu)/sigma`` each piece
   polynomial is re-expanded in ``z`` and integrated against the standard normal with
   the truncated moments ``m_0 = Phi(b) - Phi(a)``, ``m_1 = phi(a) - phi(b)``,
   ``m_k = (k-1) m_{k-2} + a^{k-1} phi(a) - b^{k-1} phi(b)``.
2. **Logit scale, one variable: composite Gauss-Legendre quadrature** in ``z`` on
   ``[-12, 12]`` (the mass outside is below 1e-32), split at every breakpoint (mapped
   to the logit scale) and into sub-intervals no wider than ``min(1, 1/sigma)`` in ``z``
   so that the poles of ``expit`` stay far from each sub-interval. Accuracy is at
   the 1e-12 level (tested against adaptive quadrature).
3. **Several correlated variables** (gates, modifiers, covariances between components):
   nested conditioning. The outer variables are integrated by the rule of method 2;
   given them, the last variable is Gaussian with the conditional mean and variance,
   and is integrated in closed form (method 1) when it is on the normal scale. The
   whole rule is evaluated twice, the second time with twice the nodes; the
   difference is reported as the error bound and the finer value is returned.
   Beyond three distinct variables a randomised quasi-Monte Carlo rule (scrambled
   Sobol points, 16 independent scramblings) is used and its standard error, times 4,
   is the stated bound.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from ._jit import jit

__all__ = [
    "Expectation",
    "Factor",
    "PiecewisePoly",
    "expect_product",
    "logit_expectation",
    "normal_expectation",
]

FloatArray = NDArray[np.float64]

_Z_WINDOW = 9.0  # standard deviations integrated on each side of the mean (mass beyond: 2e-19)
_GL_NODES = 12  # Gauss-Legendre nodes per sub-interval
_SQRT2PI = np.sqrt(2.0 * np.pi)
_SQRT2PI_F = math.sqrt(2.0 * math.pi)  # a plain float for the kernels
_SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------
# piecewise polynomials
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PiecewisePoly:
    """A right-continuous piecewise polynomial on the real line.

    Parameters
    ----------
    breaks
        Increasing breakpoints ``b_0 < ... < b_{n-1}`` (may be empty).
    coefs
        Array of shape ``(n + 1, degree + 1)``: row ``k`` holds the coefficients, in
        increasing powers of ``x``, of the polynomial on ``[b_{k-1}, b_k)``.
    """

    breaks: FloatArray
    coefs: FloatArray

    def __post_init__(self) -> None:
        b = np.asarray(self.breaks, dtype=float).reshape(-1)
        c = np.atleast_2d(np.asarray(self.coefs, dtype=float))
        if c.shape[0] != b.size + 1:
            raise ValueError("coefs must have one row per piece (len(breaks) + 1)")
        if b.size > 1 and np.any(np.diff(b) <= 0):
            raise ValueError("breaks must be strictly increasing")
        object.__setattr__(self, "breaks", b)
        object.__setattr__(self, "coefs", c)

    @functools.cached_property
    def key(self) -> tuple[bytes, bytes, tuple[int, ...]]:
        """The polynomial's content (breaks, coefficients, shape): equal keys, equal
        polynomials. Caches key on it, never on the object's identity."""
        return self.breaks.tobytes(), self.coefs.tobytes(), self.coefs.shape

    # constructors -------------------------------------------------------------------
    @classmethod
    def constant(cls, value: float) -> PiecewisePoly:
        return cls(np.empty(0), np.array([[float(value)]]))

    @classmethod
    def from_pieces(
        cls, breaks: Sequence[float], pieces: Sequence[Sequence[float]]
    ) -> PiecewisePoly:
        """Build from breakpoints and a list of coefficient lists (any lengths)."""
        deg = max(len(p) for p in pieces)
        c = np.zeros((len(pieces), deg))
        for k, p in enumerate(pieces):
            c[k, : len(p)] = p
        return cls(np.asarray(breaks, dtype=float), c).simplified()

    # properties ---------------------------------------------------------------------
    @property
    def degree(self) -> int:
        return int(self.coefs.shape[1] - 1)

    def __call__(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        if x.size > 256:  # long arrays (simulations): the compiled loop, same Horner sums
            return _evaluate(self.breaks, self.coefs, x.ravel()).reshape(x.shape)
        k = np.searchsorted(self.breaks, x, side="right")
        c = self.coefs[k]
        out = c[..., -1].copy()
        for j in range(self.coefs.shape[1] - 2, -1, -1):
            out = out * x + c[..., j]
        return np.asarray(out, dtype=float)

    # algebra --------------------------------------------------------------------------
    def _on(self, breaks: FloatArray) -> FloatArray:
        """Coefficients of self on the pieces defined by a finer set of breaks."""
        if breaks.size == 0:
            return self.coefs
        # representative point strictly inside each new piece
        left = np.concatenate([[breaks[0] - 1.0], breaks])
        right = np.concatenate([breaks, [breaks[-1] + 1.0]])
        mid = 0.5 * (left + right)
        idx = np.searchsorted(self.breaks, mid, side="right")
        return self.coefs[idx]

    def __mul__(self, other: PiecewisePoly | float) -> PiecewisePoly:
        if not isinstance(other, PiecewisePoly):
            return PiecewisePoly(self.breaks, self.coefs * float(other))
        if self.breaks.shape == other.breaks.shape and np.array_equal(self.breaks, other.breaks):
            breaks, a, b = self.breaks, self.coefs, other.coefs  # e.g. a square
        else:
            breaks = np.union1d(self.breaks, other.breaks)
            a, b = self._on(breaks), other._on(breaks)
        deg = a.shape[1] + b.shape[1] - 1
        out = np.zeros((breaks.size + 1, deg))
        for i in range(a.shape[1]):
            for j in range(b.shape[1]):
                out[:, i + j] += a[:, i] * b[:, j]
        return PiecewisePoly(breaks, out).simplified()

    __rmul__ = __mul__

    def __add__(self, other: PiecewisePoly) -> PiecewisePoly:
        breaks = np.union1d(self.breaks, other.breaks)
        a, b = self._on(breaks), other._on(breaks)
        deg = max(a.shape[1], b.shape[1])
        out = np.zeros((breaks.size + 1, deg))
        out[:, : a.shape[1]] += a
        out[:, : b.shape[1]] += b
        return PiecewisePoly(breaks, out).simplified()

    def scaled_x(self, k: float) -> PiecewisePoly:
        """The function ``x -> self(x / k)`` for ``k > 0`` (a person's quota scale)."""
        if k <= 0:
            raise ValueError("scale must be positive")
        powers = k ** -np.arange(self.coefs.shape[1], dtype=float)
        return PiecewisePoly(self.breaks * k, self.coefs * powers)

    def simplified(self) -> PiecewisePoly:
        """Drop trailing zero powers and breakpoints where nothing changes."""
        c = self.coefs
        while c.shape[1] > 1 and np.all(c[:, -1] == 0.0):
            c = c[:, :-1]
        if self.breaks.size:
            same = np.all(c[1:] == c[:-1], axis=1)
            keep = ~same
            breaks = self.breaks[keep]
            rows = np.concatenate([[True], keep])
            c = c[rows]
            return PiecewisePoly(breaks, c)
        return PiecewisePoly(self.breaks, c)


@jit
def _evaluate(breaks: FloatArray, coefs: FloatArray, x: FloatArray) -> FloatArray:
    """:meth:`PiecewisePoly.__call__` on a flat array: the piece by binary search
    (right side, as ``searchsorted``), then Horner's rule."""
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = _poly_at(breaks, coefs, x[i])
    return out


# --------------------------------------------------------------------------------------
# one variable
# --------------------------------------------------------------------------------------
def _shift_to_z(coefs: FloatArray, mu: FloatArray, sigma: FloatArray) -> FloatArray:
    """Coefficients in z of ``p(mu + sigma z)``: shape ``mu.shape + coefs.shape``."""
    deg = coefs.shape[1] - 1
    m = mu[..., None]
    s = sigma[..., None]
    out = np.zeros(mu.shape + coefs.shape)
    for j in range(deg + 1):
        for i in range(j + 1):
            out[..., i] += comb(j, i) * coefs[:, j] * m ** (j - i) * s**i
    return out


def _truncated_std_moments(a: FloatArray, b: FloatArray, deg: int) -> FloatArray:
    """m_k = int_a^b z^k phi(z) dz for k = 0..deg; a, b broadcastable; inf allowed."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    # probability mass with tail-accurate differences
    upper = a > 0
    m0 = np.where(
        upper,
        special.ndtr(-a) - special.ndtr(-b),
        special.ndtr(b) - special.ndtr(a),
    )
    with np.errstate(invalid="ignore", over="ignore"):
        pa = np.where(np.isfinite(a), np.exp(-0.5 * np.square(a)) / _SQRT2PI, 0.0)
        pb = np.where(np.isfinite(b), np.exp(-0.5 * np.square(b)) / _SQRT2PI, 0.0)
        af = np.where(np.isfinite(a), a, 0.0)
        bf = np.where(np.isfinite(b), b, 0.0)
    ms = [m0]
    if deg >= 1:
        ms.append(pa - pb)
    for k in range(2, deg + 1):
        ms.append((k - 1) * ms[k - 2] + af ** (k - 1) * pa - bf ** (k - 1) * pb)
    return np.stack(ms, axis=-1)


def normal_expectation(poly: PiecewisePoly, mu: ArrayLike, sigma: ArrayLike) -> FloatArray:
    """``E[poly(X)]`` for ``X ~ N(mu, sigma^2)``, in closed form, vectorised over mu/sigma.

    ``sigma = 0`` is allowed and gives ``poly(mu)``.
    """
    if np.ndim(mu) == 0 and np.ndim(sigma) == 0 and float(sigma) > 0.0:  # type: ignore[arg-type]
        # one expectation: the compiled kernel (same closed form)
        values, _ = _normal_with_score(poly.breaks, poly.coefs[None], float(mu), float(sigma))  # type: ignore[arg-type]
        return np.asarray(values[0])
    mu_a = np.asarray(mu, dtype=float)
    sig_a = np.broadcast_to(np.asarray(sigma, dtype=float), mu_a.shape).copy()
    mu_b, sig_b = np.broadcast_arrays(mu_a, sig_a)
    point = sig_b <= 0.0
    safe_sig = np.where(point, 1.0, sig_b)
    deg = poly.degree
    zc = _shift_to_z(poly.coefs, mu_b, safe_sig)  # (..., pieces, deg+1)
    edges = np.concatenate([[-np.inf], poly.breaks, [np.inf]])
    with np.errstate(invalid="ignore"):
        z = (edges - mu_b[..., None]) / safe_sig[..., None]  # (..., pieces+1)
    m = _truncated_std_moments(z[..., :-1], z[..., 1:], deg)  # (..., pieces, deg+1)
    value = np.sum(zc * m, axis=(-1, -2))
    if np.any(point):
        value = np.where(point, poly(mu_b), value)
    return np.asarray(value, dtype=float)


def normal_expectations_with_score(
    breaks: FloatArray, coefs: FloatArray, mu: float, sigma: float
) -> tuple[FloatArray, FloatArray]:
    """``E[p_k(X)]`` and ``E[p_k(X) Z]`` with ``Z = (X - mu)/sigma``, ``X ~ N(mu, sigma^2)``.

    The second is ``sigma`` times the derivative of the first in ``mu`` (Stein's
    identity), so the gradient of a closed-form expectation costs one more moment.
    ``coefs`` has shape ``(k, pieces, degree + 1)``; ``sigma > 0``. Same closed form
    as :func:`normal_expectation`, compiled (the solver calls it thousands of times).
    """
    return _normal_with_score(
        np.asarray(breaks, dtype=float), np.asarray(coefs, dtype=float), float(mu), float(sigma)
    )


@jit
def _ndtr(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x / _SQRT2)


@jit
def _normal_with_score(
    breaks: FloatArray, coefs: FloatArray, mu: float, sigma: float
) -> tuple[FloatArray, FloatArray]:
    """Kernel of :func:`normal_expectations_with_score`.

    On piece ``i`` (between breaks, ``z`` in ``[a_i, b_i)``) the polynomial
    ``sum_j c_ij x^j`` becomes ``sum_r d_ir z^r`` with
    ``d_ir = sum_{j >= r} C(j, r) c_ij mu^(j-r) sigma^r``; its expectation is
    ``sum_r d_ir m_ir`` with the truncated moments ``m_ir = int_a^b z^r phi(z) dz``
    (recursion ``m_r = (r-1) m_(r-2) + a^(r-1) phi(a) - b^(r-1) phi(b)``), and
    ``E[p Z]`` is ``sum_r d_ir m_i(r+1)``.
    """
    n_pieces = breaks.size + 1
    deg = coefs.shape[2] - 1
    m = np.empty((n_pieces, deg + 2))
    for i in range(n_pieces):
        a = -np.inf if i == 0 else (breaks[i - 1] - mu) / sigma
        b = np.inf if i == n_pieces - 1 else (breaks[i] - mu) / sigma
        # probability mass, differenced in the tail where it is accurate
        m[i, 0] = _ndtr(-a) - _ndtr(-b) if a > 0.0 else _ndtr(b) - _ndtr(a)
        pa = math.exp(-0.5 * a * a) / _SQRT2PI_F if math.isfinite(a) else 0.0
        pb = math.exp(-0.5 * b * b) / _SQRT2PI_F if math.isfinite(b) else 0.0
        af = a if math.isfinite(a) else 0.0
        bf = b if math.isfinite(b) else 0.0
        m[i, 1] = pa - pb
        for k in range(2, deg + 2):
            m[i, k] = (k - 1) * m[i, k - 2] + af ** (k - 1) * pa - bf ** (k - 1) * pb
    values = np.zeros(coefs.shape[0])
    scores = np.zeros(coefs.shape[0])
    for c in range(coefs.shape[0]):
        v, s = 0.0, 0.0
        for i in range(n_pieces):
            for j in range(deg + 1):
                cij = coefs[c, i, j]
                if cij == 0.0:
                    continue
                binom = 1.0  # C(j, r)
                for r in range(j + 1):
                    d = binom * cij * mu ** (j - r) * sigma**r
                    v += d * m[i, r]
                    s += d * m[i, r + 1]
                    binom = binom * (j - r) / (r + 1)
        values[c] = v
        scores[c] = s
    return values, scores


@functools.lru_cache(maxsize=8)
def _gl_rule(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached: computing them is costly)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def _z_grid(breaks_z: FloatArray, width: float, nodes: int) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss-Legendre nodes and standard-normal weights on [-12, 12] in z."""
    inner = breaks_z[(breaks_z > -_Z_WINDOW) & (breaks_z < _Z_WINDOW)]
    edges = np.unique(np.concatenate([[-_Z_WINDOW, _Z_WINDOW], inner]))
    lo, hi = edges[:-1], edges[1:]
    parts = np.maximum(1, np.ceil((hi - lo) / width - 1e-12)).astype(int)
    starts = np.concatenate(
        [lo[i] + (hi[i] - lo[i]) * np.arange(parts[i]) / parts[i] for i in range(lo.size)]
    )
    sizes = np.concatenate([np.full(parts[i], (hi[i] - lo[i]) / parts[i]) for i in range(lo.size)])
    x, w = _gl_rule(nodes)
    zn = (starts[:, None] + 0.5 * sizes[:, None] * (x[None, :] + 1.0)).ravel()
    wn = (0.5 * sizes[:, None] * w[None, :]).ravel()
    wn = wn * np.exp(-0.5 * zn * zn) / _SQRT2PI
    return zn, wn


def _latent_breaks(breaks: FloatArray, logit: bool) -> FloatArray:
    """Breakpoints of a function of the metric, expressed on the latent scale."""
    if not logit:
        return breaks
    inside = breaks[(breaks > 0.0) & (breaks < 1.0)]
    return np.asarray(special.logit(inside), dtype=float)


def _nodes(
    mu: float, sigma: float, breaks_latent: FloatArray, logit: bool, refine: int
) -> tuple[FloatArray, FloatArray]:
    """Latent-scale quadrature nodes and probability weights for one variable."""
    if sigma <= 0.0:
        return np.array([mu]), np.array([1.0])
    width = min(1.0, 1.0 / sigma) if logit else 1.0
    width /= refine
    zb = (breaks_latent - mu) / sigma
    z, w = _z_grid(zb, width, _GL_NODES)
    return mu + sigma * z, w


def logit_expectations_with_score(
    poly: PiecewisePoly, mu: float, sigma: float
) -> tuple[float, float, float, float]:
    """``E[f]``, ``E[f Z]``, ``E[f^2]`` and ``E[f^2 Z]`` for ``f = poly(expit(Y))``,
    ``Y ~ N(mu, sigma^2)``, ``Z = (Y - mu)/sigma``, ``sigma > 0``.

    The same composite Gauss-Legendre rule as :func:`logit_expectation` (one set of
    nodes for all four), compiled. ``E[f Z] / sigma`` is the derivative of ``E[f]`` in
    ``mu`` (Stein's identity).
    """
    x, w = _gl_rule(_GL_NODES)
    return _logit_with_score(poly.breaks, poly.coefs, float(mu), float(sigma), x, w)


@jit
def _logit_with_score(
    breaks: FloatArray,
    coefs: FloatArray,
    mu: float,
    sigma: float,
    gl_x: FloatArray,
    gl_w: FloatArray,
) -> tuple[float, float, float, float]:
    """Kernel of :func:`logit_expectations_with_score`: one pass over the nodes of
    :func:`_grid` (the rule of :func:`_z_grid`)."""
    y, w = _grid(breaks, True, mu, sigma, 1, gl_x, gl_w)
    ef, efz, ef2, ef2z = 0.0, 0.0, 0.0, 0.0
    for i in range(y.size):
        z = (y[i] - mu) / sigma
        f = _poly_at(breaks, coefs, 1.0 / (1.0 + math.exp(-y[i])))
        ef += w[i] * f
        efz += w[i] * f * z
        ef2 += w[i] * f * f
        ef2z += w[i] * f * f * z
    return ef, efz, ef2, ef2z


def logit_expectation(poly: PiecewisePoly, mu: float, sigma: float, refine: int = 1) -> float:
    """``E[poly(expit(Y))]`` for ``Y ~ N(mu, sigma^2)`` by composite Gauss-Legendre."""
    y, w = _nodes(mu, sigma, _latent_breaks(poly.breaks, True), True, refine)
    return float(np.dot(w, poly(special.expit(y))))


# --------------------------------------------------------------------------------------
# several variables
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Factor:
    """One factor ``poly(metric_i)`` of a product whose expectation is wanted."""

    var: int
    poly: PiecewisePoly


@dataclass(frozen=True)
class Expectation:
    """An expectation with its stated absolute error bound and the method used."""

    value: float
    error_bound: float
    method: str


def _collapse(factors: Sequence[Factor]) -> dict[int, PiecewisePoly]:
    out: dict[int, PiecewisePoly] = {}
    for f in factors:
        out[f.var] = out[f.var] * f.poly if f.var in out else f.poly
    return out


def _condition_on_first(cov: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Regression gains of the other variables on the first, and their conditional cov."""
    c01 = cov[0, 1:]
    if cov[0, 0] > 0:
        return c01 / cov[0, 0], cov[1:, 1:] - np.outer(c01, c01) / cov[0, 0]
    return np.zeros_like(c01), cov[1:, 1:]


@jit
def _grid(
    breaks: FloatArray, logit: bool, mu: float, sigma: float, refine: int,
    gl_x: FloatArray, gl_w: FloatArray,
) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """:func:`_nodes` compiled: latent-scale nodes and probability weights for one
    variable (the window ``[-9, 9]`` in z cut at the breaks, then into sub-intervals of
    width at most ``min(1, 1/sigma)`` for shares or 1, over ``refine``)."""
    if sigma <= 0.0:
        return np.array([mu]), np.array([1.0])
    edges = np.empty(breaks.size + 2)
    n = 0
    edges[n] = -_Z_WINDOW
    n += 1
    for b in breaks:
        if logit:
            if not 0.0 < b < 1.0:
                continue
            b = math.log(b / (1.0 - b))
        z = (b - mu) / sigma
        if -_Z_WINDOW < z < _Z_WINDOW and z > edges[n - 1]:
            edges[n] = z
            n += 1
    edges[n] = _Z_WINDOW
    n += 1
    width = (min(1.0, 1.0 / sigma) if logit else 1.0) / refine
    parts = np.empty(n - 1, dtype=np.int64)
    for e in range(n - 1):
        parts[e] = max(1, math.ceil((edges[e + 1] - edges[e]) / width - 1e-12))
    m = gl_x.size
    y = np.empty(parts.sum() * m)
    w = np.empty(parts.sum() * m)
    i = 0
    for e in range(n - 1):
        lo, hi = edges[e], edges[e + 1]
        size = (hi - lo) / parts[e]
        for part in range(parts[e]):
            start = lo + (hi - lo) * part / parts[e]
            for node in range(m):
                z = start + 0.5 * size * (gl_x[node] + 1.0)
                y[i] = mu + sigma * z
                w[i] = 0.5 * size * gl_w[node] * math.exp(-0.5 * z * z) / _SQRT2PI_F
                i += 1
    return y, w


@jit
def _poly_at(breaks: FloatArray, coefs: FloatArray, x: float) -> float:
    """The piecewise polynomial at one point: its piece (right side, as
    ``searchsorted``), then Horner's rule."""
    piece = np.searchsorted(breaks, x, side="right")
    top = coefs.shape[1] - 1
    acc = coefs[piece, top]
    for j in range(top - 1, -1, -1):
        acc = acc * x + coefs[piece, j]
    return acc


@jit
def _expect_one(
    breaks: FloatArray, coefs: FloatArray, logit: bool, mu: float, sigma: float,
    refine: int, gl_x: FloatArray, gl_w: FloatArray,
) -> float:  # fmt: skip
    """``E[poly(metric)]`` for one variable: the closed form on the normal scale, the
    quadrature of :func:`logit_expectation` on the logit scale (``_nested``, ``d = 1``)."""
    if sigma <= 0.0:
        return _poly_at(breaks, coefs, 1.0 / (1.0 + math.exp(-mu)) if logit else mu)
    if not logit:
        stacked = np.empty((1, coefs.shape[0], coefs.shape[1]))
        stacked[0] = coefs
        return _normal_with_score(breaks, stacked, mu, sigma)[0][0]
    y, w = _grid(breaks, True, mu, sigma, refine, gl_x, gl_w)
    total = 0.0
    for i in range(y.size):
        total += w[i] * _poly_at(breaks, coefs, 1.0 / (1.0 + math.exp(-y[i])))
    return total


@jit
def _expect_two(
    b0: FloatArray, c0: FloatArray, logit0: bool, b1: FloatArray, c1: FloatArray,
    logit1: bool, mean: FloatArray, cov: FloatArray, refine: int,
    gl_x: FloatArray, gl_w: FloatArray,
) -> float:  # fmt: skip
    """``E[p0(metric_0) p1(metric_1)]``: quadrature over the first variable, the second
    conditional on it (closed form or quadrature), as :func:`_nested` with ``d = 2``."""
    sig0 = math.sqrt(max(cov[0, 0], 0.0))
    y, w = _grid(b0, logit0, mean[0], sig0, refine, gl_x, gl_w)
    gain = cov[0, 1] / cov[0, 0] if cov[0, 0] > 0.0 else 0.0
    cvar = cov[1, 1] - cov[0, 1] * gain
    sig1 = math.sqrt(max(cvar, 0.0))
    total = 0.0
    for i in range(y.size):
        h0 = _poly_at(b0, c0, 1.0 / (1.0 + math.exp(-y[i])) if logit0 else y[i])
        if w[i] <= 0.0 or h0 == 0.0:
            continue
        m1 = mean[1] + (y[i] - mean[0]) * gain
        total += w[i] * h0 * _expect_one(b1, c1, logit1, m1, sig1, refine, gl_x, gl_w)
    return total


def _nested(
    polys: list[PiecewisePoly],
    logit: list[bool],
    mean: FloatArray,
    cov: FloatArray,
    refine: int,
) -> float:
    """E[prod_i polys[i](metric_i)] by nested conditioning (order given by the lists)."""
    d = len(polys)
    if d == 0:
        return 1.0
    if d <= 2:  # the compiled rules (same nodes for one variable; per node for two)
        gx, gw = _gl_rule(_GL_NODES)
        p0 = polys[0]
        if d == 1:
            sig = float(np.sqrt(max(cov[0, 0], 0.0)))
            return float(
                _expect_one(p0.breaks, p0.coefs, logit[0], float(mean[0]), sig, refine, gx, gw)
            )
        p1 = polys[1]
        return float(
            _expect_two(
                p0.breaks, p0.coefs, logit[0], p1.breaks, p1.coefs, logit[1],
                np.ascontiguousarray(mean, dtype=float), np.ascontiguousarray(cov, dtype=float),
                refine, gx, gw,
            )
        )  # fmt: skip
    sig0 = float(np.sqrt(max(cov[0, 0], 0.0)))
    if d == 1:
        if logit[0]:
            return logit_expectation(polys[0], float(mean[0]), sig0, refine)
        return float(normal_expectation(polys[0], mean[0], sig0))
    # outer variable 0: quadrature; the rest conditional on it
    y, w = _nodes(float(mean[0]), sig0, _latent_breaks(polys[0].breaks, logit[0]), logit[0], refine)
    h0 = polys[0](special.expit(y) if logit[0] else y)
    keep = (w > 0) & (h0 != 0)
    y, w, h0 = y[keep], w[keep], h0[keep]
    if y.size == 0:
        return 0.0
    gain, ccov = _condition_on_first(cov)
    cmeans = mean[1:][None, :] + (y - mean[0])[:, None] * gain[None, :]  # (nodes, d-1)
    if d == 2 and not logit[1]:
        inner = normal_expectation(polys[1], cmeans[:, 0], np.sqrt(max(ccov[0, 0], 0.0)))
        return float(np.dot(w * h0, inner))
    inner = _nested_batch(polys[1:], logit[1:], cmeans, ccov, refine)
    return float(np.dot(w * h0, inner))


def _nodes_batch(
    mus: FloatArray, sigma: float, breaks_latent: FloatArray, logit: bool, refine: int
) -> tuple[FloatArray, FloatArray]:
    """Quadrature nodes and weights for many means at once: arrays of shape (n, m).

    The breakpoints move with the mean, so every node's grid is split at its own
    breakpoints; pieces get the same number of sub-intervals for every node (the most
    any node needs), and pieces that vanish for a node get zero weight.
    """
    n = mus.size
    if sigma <= 0.0:
        return mus[:, None].copy(), np.ones((n, 1))
    width = (min(1.0, 1.0 / sigma) if logit else 1.0) / refine
    zb = (breaks_latent[None, :] - mus[:, None]) / sigma
    edges = np.concatenate(
        [
            np.full((n, 1), -_Z_WINDOW),
            np.clip(zb, -_Z_WINDOW, _Z_WINDOW),
            np.full((n, 1), _Z_WINDOW),
        ],
        axis=1,
    )
    lo, widths = edges[:, :-1], np.diff(edges, axis=1)
    parts = np.maximum(1, np.ceil(widths.max(axis=0) / width - 1e-12)).astype(int)
    piece = np.repeat(np.arange(parts.size), parts)
    k = np.concatenate([np.arange(q) for q in parts])
    frac = (k / parts[piece])[None, :]
    size = widths[:, piece] / parts[piece][None, :]
    start = lo[:, piece] + widths[:, piece] * frac
    x, wg = _gl_rule(_GL_NODES)
    z = (start[..., None] + 0.5 * size[..., None] * (x + 1.0)).reshape(n, -1)
    w = (0.5 * size[..., None] * wg).reshape(n, -1) * np.exp(-0.5 * z * z) / _SQRT2PI
    return mus[:, None] + sigma * z, w


def _nested_batch(
    polys: list[PiecewisePoly],
    logit: list[bool],
    means: FloatArray,
    cov: FloatArray,
    refine: int,
) -> FloatArray:
    """:func:`_nested` for many mean vectors (rows of ``means``) sharing one covariance."""
    d = len(polys)
    sig0 = float(np.sqrt(max(cov[0, 0], 0.0)))
    if d == 1 and not logit[0]:
        return np.asarray(normal_expectation(polys[0], means[:, 0], sig0), dtype=float)
    y, w = _nodes_batch(
        means[:, 0], sig0, _latent_breaks(polys[0].breaks, logit[0]), logit[0], refine
    )
    h = polys[0](special.expit(y) if logit[0] else y) * w  # (n, m)
    if d == 1:
        return np.asarray(h.sum(axis=1), dtype=float)
    gain, ccov = _condition_on_first(cov)
    live = h != 0.0
    inner = np.zeros_like(h)
    if np.any(live):
        dev = (y - means[:, :1])[live]  # (k,)
        cmeans = means[:, 1:][np.nonzero(live)[0]] + dev[:, None] * gain[None, :]
        inner[live] = _nested_batch(polys[1:], logit[1:], cmeans, ccov, refine)
    return np.asarray((h * inner).sum(axis=1), dtype=float)


def _qmc(
    polys: list[PiecewisePoly], logit: list[bool], mean: FloatArray, cov: FloatArray
) -> tuple[float, float]:
    from scipy.stats import qmc

    d = len(polys)
    chol = (
        np.linalg.cholesky(cov + 1e-300 * np.eye(d))
        if np.all(np.linalg.eigvalsh(cov) > 0)
        else None
    )
    if chol is None:
        vals, vecs = np.linalg.eigh(cov)
        chol = vecs * np.sqrt(np.clip(vals, 0, None))
    estimates = []
    for s in range(16):
        u = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(1000 + s)).random(2**14)
        z = stats.norm.ppf(np.clip(u, 1e-16, 1 - 1e-16))
        v = mean[None, :] + z @ chol.T
        prod = np.ones(v.shape[0])
        for i, p in enumerate(polys):
            x = special.expit(v[:, i]) if logit[i] else v[:, i]
            prod *= p(x)
        estimates.append(prod.mean())
    est = np.asarray(estimates)
    return float(est.mean()), float(4.0 * est.std(ddof=1) / np.sqrt(est.size))


def expect_product(
    factors: Sequence[Factor],
    mean: ArrayLike,
    cov: ArrayLike,
    logit: Sequence[bool],
    estimate_error: bool = True,
) -> Expectation:
    """``E[prod_f f.poly(metric_{f.var})]`` for jointly Gaussian latent variables.

    Parameters
    ----------
    factors
        The factors; several factors on the same variable are multiplied first.
    mean, cov
        Mean vector and covariance matrix of the latent variables.
    logit
        Per variable, whether the metric is ``expit`` of the latent variable.
    estimate_error
        Evaluate quadrature twice (the second time with twice the nodes) and report the
        difference as the error bound. Without it the base rule is used once and the
        bound is reported as NaN-free 0.0 with method ``"quadrature (unchecked)"``;
        the solver uses this inside its loops.

    Returns
    -------
    Expectation
        Value, absolute error bound and the method used (``"closed form"``,
        ``"quadrature"`` or ``"quasi-Monte Carlo"``).
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    # a variable without noise is a point mass: evaluate its factors one by one (before
    # multiplying them, which would lose digits to cancellation)
    const = 1.0
    noisy = []
    for f in factors:
        if cov[f.var, f.var] <= 0.0:
            x = float(special.expit(mean[f.var])) if logit[f.var] else float(mean[f.var])
            const *= float(f.poly(x))
        else:
            noisy.append(f)
    by_var = _collapse(noisy)
    variables = sorted(by_var)
    # constant factors need no integration
    for v in list(variables):
        p = by_var[v]
        if p.breaks.size == 0 and p.degree == 0:
            const *= float(p.coefs[0, 0])
            variables.remove(v)
    if const == 0.0 or not variables:
        return Expectation(const if variables == [] else 0.0, 0.0, "closed form")
    # put one normal-scale variable last (closed form innermost); logit ones outside
    variables.sort(key=lambda v: (not logit[v], v))
    polys = [by_var[v] for v in variables]
    lg = [bool(logit[v]) for v in variables]
    mu = mean[variables]
    cv = cov[np.ix_(variables, variables)]
    if len(variables) == 1 and not lg[0]:
        val = float(normal_expectation(polys[0], mu[0], np.sqrt(max(cv[0, 0], 0.0))))
        return Expectation(const * val, 0.0, "closed form")
    if len(variables) <= 3:
        if not estimate_error:
            val = _nested(polys, lg, mu, cv, 1)
            return Expectation(const * val, 0.0, "quadrature (unchecked)")
        coarse = _nested(polys, lg, mu, cv, 1)
        fine = _nested(polys, lg, mu, cv, 2)
        return Expectation(const * fine, abs(const) * abs(fine - coarse), "quadrature")
    val, err = _qmc(polys, lg, mu, cv)
    return Expectation(const * val, abs(const) * err, "quasi-Monte Carlo")
