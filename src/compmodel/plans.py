"""Plans: payout curves, rate tables, lump sums, gates, modifiers and components.

Units
-----
* Curve points are ``(metric value, payout)`` pairs: the metric value in the metric's
  own unit (currency, units, share, hours, ...), the payout as a multiple of the
  component's payout at target (1.0 at target). A component's payout at target is
  ``weight x target incentive x base pay`` (currency per person per period).
* Rate tables pay ``rate x volume``: a rate is currency per unit of the metric (0.03 on
  bookings in USD is 3% of bookings).
* Lump sums pay an amount in currency, or ``weight x target incentive x base pay``.
* Modifier curves give a factor (1.0 at target) that multiplies the whole payout.

Every rule compiles to a :class:`~compmodel.moments.PiecewisePoly` of the metric, which
is what the exact moments in :mod:`compmodel.moments` integrate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from ._pickling import PicklesProxies
from .errors import PlanError
from .moments import PiecewisePoly

__all__ = [
    "Clawback",
    "Component",
    "Direction",
    "Gate",
    "LumpSum",
    "Modifier",
    "PayoutCurve",
    "Plan",
    "RateTable",
    "Tier",
]

Direction = Literal["higher", "lower"]


def _finite(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise PlanError(name, f"must be a number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise PlanError(name, f"must be a finite number, got {v}; write the value explicitly")
    return v


# --------------------------------------------------------------------------------------
# payout curves
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PayoutCurve:
    """A payout curve defined by points in the metric's own units.

    The curve pays ``payout_at_threshold`` at ``threshold``, 1.0 (the component's
    target payout) at ``target`` and ``payout_at_cap`` at ``cap``, interpolating
    linearly between points (or holding each point's payout until the next one when
    ``step`` is true). On the worse side of the threshold it pays ``floor``
    (``None`` extends the first segment: pure linear pay); on the better side of the
    cap it stays flat (``cap=None`` extends the last segment: uncapped).

    For a lower-is-better metric (response time, defect rate) the points run the other
    way: ``threshold > target > cap``. Targets at or below zero are allowed.

    Parameters
    ----------
    threshold, target, cap
        Metric values (metric unit). ``cap`` is optional.
    payout_at_threshold
        Payout at the threshold, multiple of target payout (default 0).
    payout_at_cap
        Payout at the cap; ``None`` continues the threshold-to-target slope.
    floor
        Payout on the worse side of the threshold (default 0); ``None`` extends.
    step
        Pay in steps instead of linear pieces.
    extra_points
        More ``(metric value, payout)`` points between threshold and cap.
    """

    threshold: float
    target: float
    cap: float | None = None
    payout_at_threshold: float = 0.0
    payout_at_cap: float | None = None
    floor: float | None = 0.0
    step: bool = False
    extra_points: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        thr = _finite(self.threshold, "threshold")
        tgt = _finite(self.target, "target")
        object.__setattr__(self, "threshold", thr)
        object.__setattr__(self, "target", tgt)
        if thr == tgt:
            raise PlanError(
                "target",
                f"equals the threshold ({thr}); the target must differ from the "
                "threshold (above it for higher-is-better metrics, below it for "
                "lower-is-better ones)",
            )
        sign = 1.0 if tgt > thr else -1.0
        if self.cap is not None:
            cap = _finite(self.cap, "cap")
            object.__setattr__(self, "cap", cap)
            if sign * (cap - tgt) < 0:
                rel = "below" if sign > 0 else "above"
                raise PlanError(
                    "cap",
                    f"{cap} is {rel} the target {tgt}; the cap must be at or beyond the "
                    f"target in the better direction ({'>=' if sign > 0 else '<='} "
                    f"{tgt}). "
                    + (
                        "Raise the cap or lower the target."
                        if sign > 0
                        else "Lower the cap or raise the target."
                    ),
                )
        pt = _finite(self.payout_at_threshold, "payout_at_threshold")
        object.__setattr__(self, "payout_at_threshold", pt)
        if pt > 1.0:
            raise PlanError(
                "payout_at_threshold",
                f"is {pt}, above the payout at target (1.0); allowed: 0 <= value <= 1",
            )
        if pt < 0:
            raise PlanError("payout_at_threshold", f"is {pt}; payouts must be >= 0")
        if self.payout_at_cap is not None:
            pc = _finite(self.payout_at_cap, "payout_at_cap")
            object.__setattr__(self, "payout_at_cap", pc)
            if self.cap is None:
                raise PlanError(
                    "payout_at_cap", "is set but there is no cap; set `cap` or remove it"
                )
            if pc < 1.0:
                raise PlanError(
                    "payout_at_cap",
                    f"is {pc}, below the payout at target (1.0); allowed: >= 1",
                )
        if self.floor is not None:
            fl = _finite(self.floor, "floor")
            object.__setattr__(self, "floor", fl)
            if fl > pt:
                raise PlanError(
                    "floor",
                    f"is {fl}, above the payout at threshold ({pt}); the floor is what "
                    "is paid on the worse side of the threshold: allowed 0 <= floor <= "
                    "payout_at_threshold",
                )
            if fl < 0:
                raise PlanError("floor", f"is {fl}; payouts must be >= 0")
        elif self.step:
            raise PlanError("floor", "a step curve needs a numeric floor (e.g. 0)")
        pts = []
        for i, p in enumerate(self.extra_points):
            if len(p) != 2:
                raise PlanError(f"extra_points[{i}]", "must be a [metric value, payout] pair")
            pts.append((_finite(p[0], f"extra_points[{i}]"), _finite(p[1], f"extra_points[{i}]")))
        object.__setattr__(self, "extra_points", tuple(pts))
        _ = self.points  # validates the order

    # ------------------------------------------------------------------------------
    @property
    def direction(self) -> Direction:
        """``"higher"`` if the target is above the threshold, else ``"lower"``."""
        return "higher" if self.target > self.threshold else "lower"

    @property
    def points(self) -> tuple[tuple[float, float], ...]:
        """All points in worse-to-better order, validated."""
        sign = 1.0 if self.direction == "higher" else -1.0
        cap_payout = self.payout_at_cap
        if self.cap is not None and cap_payout is None:
            slope = (1.0 - self.payout_at_threshold) / (self.target - self.threshold)
            cap_payout = 1.0 + slope * (self.cap - self.target)
        named = [(self.threshold, self.payout_at_threshold), (self.target, 1.0)]
        if self.cap is not None and cap_payout is not None:
            named.append((self.cap, cap_payout))
        extra = list(self.extra_points)
        lo, hi = self.threshold, self.cap
        for i, (x, _) in enumerate(extra):
            beyond = hi is not None and sign * (x - hi) > 0
            if sign * (x - lo) < 0 or beyond:
                raise PlanError(
                    f"extra_points[{i}]",
                    f"metric value {x} is outside the curve: allowed between the "
                    f"threshold {lo} and the cap {hi if hi is not None else '(none)'}",
                )
        pts = sorted(named + extra, key=lambda p: (sign * p[0], p[1]))
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            if y1 < y0:
                raise PlanError(
                    "extra_points",
                    f"points out of order: payout falls from {y0} at {x0} to {y1} at "
                    f"{x1}; payouts must not fall as the metric improves",
                )
        return tuple(pts)

    def max_payout(self) -> float:
        """The most the curve pays (multiple of target payout); ``inf`` if uncapped."""
        if self.cap is None:
            return math.inf
        return self.points[-1][1]

    def attainment(self, value: float) -> float:
        """Metric value as a share of target (1.0 = at target); NaN if target <= 0."""
        return value / self.target if self.target > 0 else math.nan

    def to_poly(self) -> PiecewisePoly:
        """The curve as a piecewise polynomial in the metric (multiples of target)."""
        pts = list(self.points)
        if self.direction == "lower":
            pts = pts[::-1]  # ascending metric value
        # segments between consecutive distinct points, in ascending x
        xs = [p[0] for p in pts]
        breaks: list[float] = []
        pieces: list[list[float]] = []
        # left of the first (ascending) point
        first_lin = _first_segment(pts)
        last_lin = _first_segment(pts[::-1])
        if self.direction == "higher":
            left = [self.floor] if self.floor is not None else first_lin
            right = [pts[-1][1]] if (self.cap is not None or self.step) else last_lin
        else:
            left = [pts[0][1]] if (self.cap is not None or self.step) else first_lin
            right = [self.floor] if self.floor is not None else last_lin
        pieces.append(left)
        for i in range(len(pts) - 1):
            (x0, y0), (x1, y1) = pts[i], pts[i + 1]
            if x1 == x0:
                continue
            breaks.append(x0)
            if self.step:
                pieces.append([y0 if self.direction == "higher" else y1])
            else:
                s = (y1 - y0) / (x1 - x0)
                pieces.append([y0 - s * x0, s])
        breaks.append(xs[-1])
        pieces.append(right)
        return PiecewisePoly.from_pieces(breaks, pieces)


def _first_segment(pts: list[tuple[float, float]]) -> list[float]:
    """Line through the first two distinct points of ``pts``."""
    (x0, y0) = pts[0]
    for x1, y1 in pts[1:]:
        if x1 != x0:
            s = (y1 - y0) / (x1 - x0)
            return [y0 - s * x0, s]
    return [y0]


# --------------------------------------------------------------------------------------
# rate tables and lump sums
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tier:
    """One tier of a rate table: ``rate`` (currency per metric unit) up to ``up_to``."""

    rate: float
    up_to: float | None = None


@dataclass(frozen=True)
class RateTable:
    """Commission paid as a rate on volume, in tiers.

    Parameters
    ----------
    target
        The quota (metric unit) of the representative person; tier bounds given as
        attainment are shares of it.
    tiers
        Tiers in increasing order; the last has ``up_to=None`` (no upper bound).
    mode
        ``"marginal"``: each tier's rate applies to the volume inside the tier.
        ``"retroactive"``: the rate of the tier reached applies to the whole volume.
    basis
        ``"attainment"``: ``up_to`` is a share of target (0.9 = 90%); ``"metric"``:
        ``up_to`` is in the metric's unit.

    Notes
    -----
    Volume below zero pays nothing. A retroactive table must not lower its rate in a
    higher tier (that would cut pay when volume rises); use ``mode="marginal"``.
    """

    target: float
    tiers: tuple[Tier, ...]
    mode: Literal["marginal", "retroactive"] = "marginal"
    basis: Literal["attainment", "metric"] = "attainment"

    def __post_init__(self) -> None:
        tgt = _finite(self.target, "target")
        if tgt <= 0:
            raise PlanError("target", f"is {tgt}; a rate table's target (quota) must be > 0")
        object.__setattr__(self, "target", tgt)
        if self.mode not in ("marginal", "retroactive"):
            raise PlanError("mode", f"is {self.mode!r}; allowed: 'marginal' or 'retroactive'")
        if self.basis not in ("attainment", "metric"):
            raise PlanError("basis", f"is {self.basis!r}; allowed: 'attainment' or 'metric'")
        if not self.tiers:
            raise PlanError("tiers", "is empty; give at least one tier, e.g. {rate = 0.03}")
        tiers = tuple(self.tiers)
        prev = 0.0
        for i, t in enumerate(tiers):
            rate = _finite(t.rate, f"tiers[{i}].rate")
            if rate < 0:
                raise PlanError(f"tiers[{i}].rate", f"is {rate}; rates must be >= 0")
            last = i == len(tiers) - 1
            if t.up_to is None and not last:
                raise PlanError(
                    f"tiers[{i}].up_to",
                    "is missing; only the last tier may be open-ended",
                )
            if t.up_to is not None and last:
                raise PlanError(
                    f"tiers[{i}].up_to",
                    f"is {t.up_to}, but the last tier must be open-ended (it pays every "
                    "volume above the previous bound); remove `up_to` from the last tier",
                )
            if t.up_to is not None:
                up = _finite(t.up_to, f"tiers[{i}].up_to")
                if up <= prev:
                    raise PlanError(
                        f"tiers[{i}].up_to",
                        f"is {up}; tier bounds must increase and be > {prev}",
                    )
                prev = up
            if self.mode == "retroactive" and i > 0 and rate < tiers[i - 1].rate:
                raise PlanError(
                    f"tiers[{i}].rate",
                    f"is {rate}, below the previous tier's {tiers[i - 1].rate}: a "
                    "retroactive table would cut pay when volume rises. Use rising rates "
                    "or mode = 'marginal'.",
                )
        object.__setattr__(self, "tiers", tiers)

    def bounds(self) -> list[float]:
        """Upper tier bounds in metric units (excluding the open last tier)."""
        k = self.target if self.basis == "attainment" else 1.0
        return [t.up_to * k for t in self.tiers if t.up_to is not None]

    def to_poly(self) -> PiecewisePoly:
        """Payout (currency) as a piecewise polynomial in the volume."""
        bounds = self.bounds()
        rates = [float(t.rate) for t in self.tiers]
        breaks = [0.0, *bounds]
        pieces: list[list[float]] = [[0.0]]
        if self.mode == "retroactive":
            pieces += [[0.0, r] for r in rates[: len(bounds) + 1]]
        else:
            acc = 0.0  # payout accumulated at the start of the tier
            lo = 0.0
            for i, r in enumerate(rates[: len(bounds) + 1]):
                pieces.append([acc - r * lo, r])
                if i < len(bounds):
                    acc += r * (bounds[i] - lo)
                    lo = bounds[i]
        return PiecewisePoly.from_pieces(breaks, pieces)

    def at_target(self) -> float:
        """Payout at the target volume (currency)."""
        return float(self.to_poly()(self.target))


@dataclass(frozen=True)
class LumpSum:
    """A bonus paid once the metric reaches ``quota`` (metric unit).

    ``amount`` is in currency; leave it ``None`` to pay the component's target payout
    (``weight x target incentive x base pay``).
    """

    quota: float
    amount: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "quota", _finite(self.quota, "quota"))
        if self.amount is not None:
            a = _finite(self.amount, "amount")
            if a < 0:
                raise PlanError("amount", f"is {a}; a lump sum must be >= 0")
            object.__setattr__(self, "amount", a)

    def to_poly(self, direction: Direction, amount: float) -> PiecewisePoly:
        if direction == "higher":
            return PiecewisePoly.from_pieces([self.quota], [[0.0], [amount]])
        return PiecewisePoly.from_pieces([self.quota], [[amount], [0.0]])


# --------------------------------------------------------------------------------------
# gates, modifiers, components, plans
# --------------------------------------------------------------------------------------
def indicator(threshold: float, direction: Direction) -> PiecewisePoly:
    """1 where the metric is at or better than ``threshold``, else 0."""
    if direction == "higher":
        return PiecewisePoly.from_pieces([threshold], [[0.0], [1.0]])
    return PiecewisePoly.from_pieces([threshold], [[1.0], [0.0]])


@dataclass(frozen=True)
class Gate:
    """Pay the component only when ``metric`` is at or better than ``threshold``."""

    metric: str
    threshold: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", _finite(self.threshold, "threshold"))


@dataclass(frozen=True)
class Modifier:
    """A company factor multiplying the whole payout: ``curve(metric)``, 1.0 at target.

    The curve's payouts are factors (e.g. 0.5 at threshold, 1.0 at target, 1.5 at cap).
    """

    metric: str
    curve: PayoutCurve


@dataclass(frozen=True)
class Clawback:
    """Pay taken back in proportion to a metric (a deduction, never a payment).

    Two forms:

    * a share of the commission on late or cancelled orders: ``share`` of the rate at
      target of the component ``rate_of`` (currency per metric unit), applied to a
      metric of late orders, e.g. ``late_bookings``;
    * a share kappa of what the orders cost the company: ``share`` = kappa applied to a
      cost metric in currency (``rate_of`` left ``None``, rate 1), e.g. ``promise_cost``;
      kappa = 1 makes sales bear the whole cost of its infeasible promises.

    The deduction is ``-share x rate x metric`` (currency), linear and uncapped.
    """

    share: float
    rate_of: str | None = None

    def __post_init__(self) -> None:
        s = _finite(self.share, "share")
        if not 0.0 <= s <= 1.0:
            raise PlanError("share", f"is {s}; allowed: 0 <= share <= 1 (1 takes back all)")
        object.__setattr__(self, "share", s)

    def to_poly(self, rate: float) -> PiecewisePoly:
        return PiecewisePoly.from_pieces([], [[0.0, -self.share * rate]])


PayoutRule = PayoutCurve | RateTable | LumpSum | Clawback


@dataclass(frozen=True)
class Component:
    """A weight (share of target incentive) on one metric through one payout rule.

    ``weight`` is required for curves and for lump sums without an ``amount``; rate
    tables and lump sums with an ``amount`` pay in currency and carry no weight.
    """

    metric: str
    payout: PayoutRule
    weight: float | None = None
    gate: Gate | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.weight is not None:
            w = _finite(self.weight, "weight")
            if not 0.0 <= w <= 1.0:
                raise PlanError("weight", f"is {w}; allowed: 0 <= weight <= 1")
            object.__setattr__(self, "weight", w)
            if isinstance(self.payout, RateTable):
                raise PlanError(
                    "weight",
                    "a rate table pays its rates in currency and takes no weight; remove "
                    "`weight` (or use a curve component)",
                )
            if isinstance(self.payout, Clawback):
                raise PlanError(
                    "weight",
                    "a clawback takes pay back in currency and takes no weight; remove "
                    "`weight` (its size is `share`)",
                )
            if isinstance(self.payout, LumpSum) and self.payout.amount is not None:
                raise PlanError(
                    "weight", "give a lump sum either `amount` (currency) or `weight`, not both"
                )
        else:
            if isinstance(self.payout, PayoutCurve):
                raise PlanError("weight", "is missing; a curve component needs a weight in [0, 1]")
            if isinstance(self.payout, LumpSum) and self.payout.amount is None:
                raise PlanError(
                    "weight",
                    "is missing; a lump sum needs `amount` (currency) or `weight`",
                )

    @property
    def kind(self) -> str:
        return {
            PayoutCurve: "curve",
            RateTable: "rate_table",
            LumpSum: "lump_sum",
            Clawback: "clawback",
        }[type(self.payout)]

    def money_poly(
        self,
        direction: Direction,
        target_payout: float,
        scale: float = 1.0,
        clawback_rate: float = 1.0,
    ) -> PiecewisePoly:
        """Payout in currency as a function of the metric.

        Parameters
        ----------
        direction
            The metric's better direction.
        target_payout
            The person's target incentive in currency (target incentive x base pay).
        scale
            Quota scale of the person (their quota over the representative quota) when
            the component's metric is the department's quota metric, else 1.
        clawback_rate
            For a clawback, the rate it takes back a share of (currency per metric unit;
            see :meth:`Plan.clawback_rate`).
        """
        p = self.payout
        if isinstance(p, Clawback):
            return p.to_poly(clawback_rate)
        if isinstance(p, PayoutCurve):
            poly = p.to_poly() * (float(self.weight or 0.0) * target_payout)
        elif isinstance(p, RateTable):
            poly = p.to_poly()
        else:
            amount = p.amount if p.amount is not None else float(self.weight or 0.0) * target_payout
            poly = p.to_poly(direction, amount)
        if scale == 1.0:
            return poly
        if isinstance(p, RateTable):
            # tier bounds scale with the quota; the rate still applies to the volume
            return poly.scaled_x(scale) * scale
        return poly.scaled_x(scale)

    def at_target(self, target_payout: float, scale: float = 1.0) -> float:
        """Payout at target in currency (``scale``: the person's quota scale).

        A clawback counts 0 at target (orders delivered as promised).
        """
        p = self.payout
        if isinstance(p, Clawback):
            return 0.0
        if isinstance(p, RateTable):
            return p.at_target() * scale
        if isinstance(p, LumpSum) and p.amount is not None:
            return p.amount
        return float(self.weight or 0.0) * target_payout

    def max_payout(self, target_payout: float) -> float:
        """The most this component can pay (currency); ``inf`` if uncapped."""
        p = self.payout
        if isinstance(p, Clawback):
            return 0.0
        if isinstance(p, PayoutCurve):
            return p.max_payout() * float(self.weight or 0.0) * target_payout
        if isinstance(p, RateTable):
            return math.inf
        return p.amount if p.amount is not None else float(self.weight or 0.0) * target_payout


@dataclass(frozen=True)
class Plan(PicklesProxies):
    """A department's components (by name) and an optional modifier.

    The weights of the weighted components sum to 1.
    """

    components: Mapping[str, Component]
    modifier: Modifier | None = None
    _order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        comps = dict(self.components)
        object.__setattr__(self, "components", MappingProxyType(comps))
        object.__setattr__(self, "_order", tuple(comps))
        weights = [c.weight for c in comps.values() if c.weight is not None]
        if weights:
            total = float(np.sum(weights))
            if abs(total - 1.0) > 1e-9:
                listing = ", ".join(
                    f"{n} = {c.weight:g}" for n, c in comps.items() if c.weight is not None
                )
                raise PlanError(
                    "components",
                    f"weights sum to {total:.6g} ({listing}); they must sum to 1. Change "
                    "them so they do, or set one with Scenario.with_value("
                    "'<dept>.weights.<component>', w), which rescales the others.",
                )

        for n, c in comps.items():
            if isinstance(c.payout, Clawback) and c.payout.rate_of is not None:
                ref = comps.get(c.payout.rate_of)
                if ref is None or isinstance(ref.payout, Clawback):
                    others = [k for k, v in comps.items() if not isinstance(v.payout, Clawback)]
                    raise PlanError(
                        f"components.{n}.rate_of",
                        f"is {c.payout.rate_of!r}; it must name a paying component of this "
                        f"plan ({', '.join(others) or 'none'}), or be left out to take back "
                        "`share` of the metric itself (a share kappa of a cost)",
                    )

    def clawback_rate(self, name: str, target_payout: float) -> float:
        """The rate (currency per metric unit) the clawback ``name`` takes a share of.

        The referenced component's payout at target over its target in metric units;
        1 when the clawback has no ``rate_of`` (it takes back a share of a cost).
        """
        c = self.components[name]
        if not isinstance(c.payout, Clawback) or c.payout.rate_of is None:
            return 1.0
        ref = self.components[c.payout.rate_of]
        p = ref.payout
        if isinstance(p, RateTable):
            return p.at_target() / p.target
        if isinstance(p, LumpSum):
            return ref.at_target(target_payout) / p.quota if p.quota else 0.0
        if isinstance(p, PayoutCurve) and p.target:
            return ref.at_target(target_payout) / p.target
        return 0.0

    def weights(self) -> dict[str, float]:
        return {n: c.weight for n, c in self.components.items() if c.weight is not None}
