"""The ``manufacturer`` company model: the reference build-to-order manufacturer.

Every number below is a coefficient of ``[company.coefficients]`` (see
``data/samples/acme.toml``, where each has a unit, a range, a source and a comment) or a
bridge setting of ``[bridges]``; none lives in this module. Levers are per person of the
department (the representative employee); ``N_d`` is department ``d``'s headcount and
``base_d`` its base pay. ``logistic(z) = 1/(1 + e^-z)``; ``softmin_nu(a, b)`` is the
smooth minimum ``(a^-nu + b^-nu)^(-1/nu)`` (``nu = fill_sharpness``: the larger, the
sharper the corner at capacity); ``softplus_w(z) = w log(1 + e^(z/w))``
(``w = knee_width``).

Levers
------
sales
    ``prospecting`` p (selling effort, index: 1 = no-incentive level), ``overpromise`` o
    (share of quotes that promise specs or dates beyond what production confirmed),
    ``collaboration`` c (share of working time spent with internal staff).
production
    ``throughput`` h (pace, index), ``quality`` q (care, index), ``expediting`` x
    (overtime and rush changeovers, as a share of normal hours).
shipping
    ``dispatch`` s (index). customer_service: ``responsiveness`` v (index).
leadership
    ``bridge_time`` g (share of leaders' time given to cross-department work).

Bridges (``[bridges]``, 0 = off)
--------------------------------
``joint_sales_calls`` J (share of sales calls with a production or finance colleague),
``rotation_days`` R (days per sales person per year working in other departments),
``meetings`` M (cross-department meetings with actions and dates, per month),
``unofficial_leaders`` U (unofficial leaders brought in, 0-5: one per department),
``capable_to_promise`` K (share of quotes checked by production before sales quotes).
Leaders' time strengthens the bridges: ``Lb = 1 + leadership_bridge_boost * g``.

Equations
---------
Customers (the state of a year)::

    C                                               customer base: USD of orders a year
                                                    the customers kept from last year place
    A       = addressable_market                    what every customer in the market
                                                    orders a year (USD)

Sales (per sales person)::

    escape  = exp(-collaboration_catch * c * (1 + joint_call_catch * J * Lb))
              * (1 - min(0.95, meeting_catch * M * Lb)) * (1 - min(1, ctp_catch * K))
    learn   = 1 - min(0.9, rotation_learning * R)
    phi     = min(1, (o + honest_error_rate) * learn * escape)
                                                    infeasible share of booked orders
    sell    = (1 - c - R / selling_days) / (1 - c_rest)
    w       = new_business_rate * p^prospecting_elasticity * sell
                                                    share of the uncaptured market won
    win     = (1 + overpromise_win * o * escape) * (1 + joint_call_win * J * Lb)
              * (1 - ctp_quote_loss * K)            quotes won against the usual rate
    B       = win * (C + w * max(A - C, 0)) / N_sales   bookings, USD per person

Prospecting finds new customers: selling effort buys the win rate ``w`` on the part of
the market that is not yet a customer, and the customers kept from last year reorder
without it. Every order is quoted, old customer's or new: over-promising wins quotes
(``win``) only where the promise reaches the customer (``escape``). Infeasible orders
come from over-promising and from honest errors (``honest_error_rate``: quotes that
promise what production cannot deliver because the sales person did not know, at rest
and with no incentive at all). Collaboration, meetings and the capable-to-promise check
catch both before production commits; rotation days teach what is feasible (fewer
infeasible promises at the same aggressiveness). Collaboration and rotation cost
prospecting time.

Operations (units per period)::

    D   = N_sales * B / price                       units ordered
    Kp  = N_prod * units_per_worker * h * (1 - quality_time * (q - 1))
          * (1 + overtime_output * x) * floor       production capacity
    floor = 1 - joint_call_time * J
              - rotation_host_time * R * N_sales / (N_prod * selling_days)
                                                    the floor's time left by the bridges
    P   = softmin(D, Kp)                            throughput (units produced)
    Ks  = N_ship * units_per_shipper * s            shipping capacity
    U   = softmin(P, Ks)                            units shipped
    rho = D / min(Kp, Ks)                           load
    otif   = logistic(otif_intercept - otif_load * softplus(rho - load_knee)
                      - otif_infeasible * phi + otif_expediting * x
                      + otif_dispatch * (s - 1))
    defect = logistic(defect_intercept - defect_quality * (q - 1)
                      + defect_rush * (h - 1) + defect_expediting * x
                      + defect_infeasible * phi)

OTIF saturates at capacity: once load passes ``load_knee`` each further unit of load
costs ``otif_load`` on the logit scale.

Customer service::

    T   = U * (tickets_per_unit + tickets_per_late_unit * (1 - otif)
               + tickets_per_defect * defect)        tickets raised
    C   = N_cs * tickets_per_agent * v               capacity
    tickets_closed = softmin(T, C)
    response_time  = response_base * (T / C)^response_elasticity    hours

Customers and staff::

    customer_retention = logistic(customer_intercept + customer_otif * otif
                                  - customer_defect * defect
                                  - customer_response * response_time
                                  + joint_call_retention * J * Lb)
    staff retention_d  = logistic(logit(staff_retention_d) - overtime_wear * x [production]
                                  - infeasible_stress * phi [production, shipping,
                                    customer service])

Money (USD per period)::

    revenue      = U * price
    concessions  = revenue * concession_rate * phi   (discounts, penalties on infeasible orders)
    gross_margin = revenue * margin_rate - concessions
    expediting   = N_prod * x * overtime_cost
    rework       = U * defect * rework_cost
    staff_turnover = sum_d N_d * (1 - retention_d) * replacement_cost * base_d
    bridge_cost  = U * leader_cost + K * ctp_cost     (cash: recognition, planner, software)
    value        = gross_margin - expediting - rework - staff_turnover - bridge_cost
                   - overhead
    imputed meeting time = 12 * M * meeting_cost      (salaried time, outside value)

Next year (the customers the year hands on)::

    C_next = customer_retention * revenue

Customers whose orders ship are kept at the retention rate; orders that do not ship
(demand above capacity) are lost with their customers. In a steady state ``C_next = C``
(:mod:`compmodel.dynamics`).

Every line of ``value`` is money some year's P&L shows. A lost customer costs what it
no longer orders next year, through ``C_next``, never as a charge this year. Bridge
time costs cash only through what it displaces: production staff on joint calls and
hosting rotation days lower capacity (``floor``), rotation days lower prospecting time
(``sell``); the time of salaried staff in meetings is an opportunity cost, named
``imputed.meeting_time`` and kept outside ``value``.

``value`` is the company's gross value (before pay): total surplus and the first best
use it. ``replacement_cost`` is ``settings.replacement_cost`` (share of base pay).
The metric ``operating_profit`` is ``value - sum_d N_d base_d``: operating profit
before incentive pay (the figure bonus pools are funded from). The solution's
operating profit nets incentive pay, payroll tax on it and turnover from pay below
the market as well.

Unofficial leaders raise every department's team identification:
``lambda_d + leader_identification * U/5`` (at most 1).

Sales crediting and clawbacks are metrics per sales person (scope ``individual``), so
a plan chooses them by the metric it pays on: ``bookings`` (at booking),
``shipped_revenue`` (at shipment, ``revenue/N_sales``), ``ontime_revenue`` (on on-time
delivery, ``revenue * otif / N_sales``), ``shipped_margin`` (on margin,
``revenue * margin_rate / N_sales``), ``ontime_margin`` (on on-time shipped margin);
``late_bookings`` (``B - ontime_revenue``: late or cancelled orders, for a clawback of a
share of the commission) and ``promise_cost`` (what a person's orders cost the company
this year after the sale: ``(concessions + rework + staff turnover caused by
infeasible promises) / N_sales``, for a clawback of a share kappa of it). With this
split ``value = N_sales * shipped_margin - N_sales * promise_cost - (terms sales does
not move)``, so a risk-neutral sales force credited on margin and charged kappa = 1 of
its promise cost chooses the over-promising that maximises this year's value when each
person sees all of it: with full line of sight (lambda = 1, or one sales person). The
customers a late order loses cost next year's orders, which no plan on this year's
metrics charges.

Line of sight by channel
------------------------
The per-person sales metrics above are a sales person's own, but they carry what
everyone's orders do together. Behind the representative person are ``N_sales`` reps,
each booking their own orders for one customer base, all selling
out of one plant, one shipping dock, one service desk and one staff. A rep who moves
their levers alone moves what is theirs whole and the company-wide aggregates by
``1/N_sales`` of the department's effect, which they perceive as
``(1 + lambda (N_sales - 1)) / N_sales`` (:mod:`compmodel.equilibrium.line_of_sight`).
``own_means_jacobian(t, t0, columns)`` gives the metrics with the aggregates frozen at
the current levers ``t0`` (:func:`_own_evaluate`):

* own (line of sight 1): the rep's bookings ``B`` and infeasible share ``phi`` (their
  prospecting, over-promising and collaboration; the bridges and leaders' time as they
  are); the units they ship and the revenue and margin of them, in proportion to their
  bookings at the plant's fill rate; the lateness and defects their own infeasible
  promises add to their own orders (``- otif_infeasible * phi`` in OTIF's logit,
  ``defect_infeasible * phi`` in the defect rate's: a promise production cannot keep
  makes that order late or reworked); the concessions and rework on their orders;
* company-wide (line of sight ``(1 + lambda (N - 1)) / N``): the plant's load and fill
  rate (``U / D``: everyone's orders against one capacity, so a rep's extra orders
  crowd everyone's), OTIF's load term and every other department's terms in OTIF and
  defects, response time (one service desk answering everyone's tickets), and the
  staff turnover infeasible promises cause (production,
  shipping and service staff stressed by the plant's share of infeasible orders;
  ``promise_cost`` charges it to every rep alike).

Why so: a rep's orders are late or defective by the plant's state, which all reps
move together, and by that rep's own promises, which nobody else makes, so those are
the rep's to see; the customer base, the plant, the desk and the staff are everyone's.
Other departments' levers move only company-wide parts. At
``t = t0`` the split is :func:`_evaluate`'s values bit for bit, and it makes the
perceived derivatives those of one rep among ``N_sales`` exactly
(tests/test_line_of_sight.py writes the reps out). Today's plans (bookings, own
output) are unchanged by it: bookings are all a rep's own. With the margin-on-delivery
plan each rep now sees only a 24th of how their extra orders crowd the plant, and
sells harder.

Shares (OTIF, defect rate, retention) enter the money at their medians (the model
without noise); the forecast's noise is what plans pay on.
"""

from __future__ import annotations

import copy
import math
from collections import namedtuple
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from scipy.optimize import brentq

from .._jit import jit
from ..errors import ScenarioError
from ..scenario import Scenario
from . import (
    Bridge,
    CompiledEquations,
    Crediting,
    Display,
    Format,
    KindInfo,
    Kpi,
    LeverSpace,
    lever_space,
    register_kind,
)
from .packed import PackedModel

__all__ = ["BRIDGES", "LEVERS", "MANUFACTURER_METRICS", "ManufacturerModel"]

#: Levers each department must declare in ``[company.levers]``.
LEVERS: Mapping[str, tuple[str, ...]] = {
    "sales": ("prospecting", "overpromise", "collaboration"),
    "production": ("throughput", "quality", "expediting"),
    "shipping": ("dispatch",),
    "customer_service": ("responsiveness",),
    "leadership": ("bridge_time",),
}

#: Bridge -> (its effect coefficient, its cost coefficient, allowed upper bound).
BRIDGES: Mapping[str, tuple[str, str, float]] = {
    "joint_sales_calls": ("joint_call_catch", "joint_call_time", 1.0),
    "rotation_days": ("rotation_learning", "rotation_host_time", 60.0),
    "meetings": ("meeting_catch", "meeting_cost", 8.0),
    "unofficial_leaders": ("leader_identification", "leader_cost", 5.0),
    "capable_to_promise": ("ctp_catch", "ctp_cost", 1.0),
}

#: Metrics the model sets, with their unit, scope and scale.
MANUFACTURER_METRICS: Mapping[str, tuple[str, str, str]] = {
    "bookings": ("USD", "individual", "normal"),
    "shipped_revenue": ("USD", "individual", "normal"),
    "ontime_revenue": ("USD", "individual", "normal"),
    "shipped_margin": ("USD", "individual", "normal"),
    "ontime_margin": ("USD", "individual", "normal"),
    "late_bookings": ("USD", "individual", "normal"),
    "promise_cost": ("USD", "individual", "normal"),
    "throughput": ("units", "department", "normal"),
    "units_shipped": ("units", "department", "normal"),
    "revenue": ("USD", "company", "normal"),
    "gross_margin": ("USD", "company", "normal"),
    "otif": ("share", "company", "logit"),
    "defect_rate": ("share", "company", "logit"),
    "response_time": ("hours", "department", "normal"),
    "tickets_closed": ("tickets", "department", "normal"),
    "customer_retention": ("share", "company", "logit"),
    "operating_profit": ("USD", "company", "normal"),
}

COEFFICIENTS: tuple[str, ...] = (
    # sales
    "addressable_market", "new_business_rate", "prospecting_elasticity", "overpromise_win",
    "honest_error_rate", "collaboration_catch", "selling_days", "price",
    # operations
    "units_per_worker", "quality_time", "overtime_output", "units_per_shipper",
    "fill_sharpness", "knee_width", "load_knee",
    "otif_intercept", "otif_load", "otif_infeasible", "otif_expediting", "otif_dispatch",
    "defect_intercept", "defect_quality", "defect_rush", "defect_expediting",
    "defect_infeasible",
    # service
    "tickets_per_unit", "tickets_per_late_unit", "tickets_per_defect", "tickets_per_agent",
    "response_base", "response_elasticity",
    # customers and staff
    "customer_intercept", "customer_otif", "customer_defect", "customer_response",
    "staff_retention_sales", "staff_retention_production", "staff_retention_shipping",
    "staff_retention_customer_service", "staff_retention_leadership",
    "overtime_wear", "infeasible_stress",
    # money
    "margin_rate", "concession_rate", "overtime_cost", "rework_cost", "overhead",
    # bridges
    "leadership_bridge_boost", "joint_call_catch", "joint_call_win", "joint_call_retention",
    "joint_call_time", "rotation_learning", "rotation_host_time", "meeting_catch",
    "meeting_cost", "leader_identification", "leader_cost", "ctp_catch", "ctp_quote_loss",
    "ctp_cost",
)  # fmt: skip

#: Coefficients that must be positive.
_POSITIVE = frozenset({
    "addressable_market", "selling_days", "price", "units_per_worker", "units_per_shipper",
    "fill_sharpness", "knee_width", "tickets_per_agent", "response_base",
})  # fmt: skip

#: The parts of value, in the order of a profit walk (signed: costs negative).
VALUE_PARTS: tuple[str, ...] = (
    "gross_margin", "expediting", "rework", "staff_turnover", "bridge_cost", "overhead",
)  # fmt: skip


@jit
def _logistic(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@jit
def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@jit
def _softmin(a: float, b: float, nu: float) -> float:
    if a <= 0.0 or b <= 0.0:
        return 0.0
    m = min(a, b)
    return m * ((a / m) ** -nu + (b / m) ** -nu) ** (-1.0 / nu)


@jit
def _softplus(z: float, w: float) -> float:
    u = z / w
    return w * (u + math.log1p(math.exp(-u))) if u > 0 else w * math.log1p(math.exp(u))


#: What the kernel needs besides the levers: the coefficients, then the scenario's
#: bridges, headcounts and base pay (one record, so the kernel reads ``k.price``).
# (fields built from COEFFICIENTS, which mypy's namedtuple support cannot read)
_Inputs = cast(Any, namedtuple)(
    "_Inputs",
    (
        *COEFFICIENTS, "J", "R", "M", "K", "C", "floor", "c_rest", "bridge_cost",
        "replacement",
        "base_payroll", *(f"n_{d}" for d in LEVERS), *(f"base_{d}" for d in LEVERS),
    ),
)  # fmt: skip

_OUTCOMES = (
    "infeasible_share", "escape_share", "units_ordered", "production_capacity",
    "shipping_capacity", "load", "tickets_raised", "service_utilisation", "concessions",
    "promise_cost_total", "customer_base", "new_business", "next_customer_base",
    "imputed.meeting_time",
)  # fmt: skip

#: What the kernel returns, in order: the metrics' latent means, the signed parts of
#: value, outcomes, staff retention per department, and value.
_OUT: tuple[str, ...] = (
    tuple(f"metric.{m}" for m in MANUFACTURER_METRICS)
    + tuple(f"value.{name}" for name in VALUE_PARTS)
    + _OUTCOMES
    + tuple(f"staff_retention.{d}" for d in LEVERS)
    + ("value",)
)  # fmt: skip
_N_METRICS = len(MANUFACTURER_METRICS)
_N_OUT = len(_OUT)


@jit
def _staff(k: Any, x: float, phi: float) -> tuple[float, float, float, float, float, float]:
    """Staff retention of sales, production, shipping, customer service and leadership
    at expediting ``x`` and infeasible share ``phi``, and the turnover cost (USD)."""
    sales = _logistic(_logit(k.staff_retention_sales))
    prod = _logistic(
        _logit(k.staff_retention_production) - k.overtime_wear * x - k.infeasible_stress * phi
    )
    ship = _logistic(_logit(k.staff_retention_shipping) - k.infeasible_stress * phi)
    cs = _logistic(_logit(k.staff_retention_customer_service) - k.infeasible_stress * phi)
    lead = _logistic(_logit(k.staff_retention_leadership))
    turnover = k.replacement * (
        k.n_sales * (1.0 - sales) * k.base_sales
        + k.n_production * (1.0 - prod) * k.base_production
        + k.n_shipping * (1.0 - ship) * k.base_shipping
        + k.n_customer_service * (1.0 - cs) * k.base_customer_service
        + k.n_leadership * (1.0 - lead) * k.base_leadership
    )
    return sales, prod, ship, cs, lead, turnover


@jit
def _equations(t: np.ndarray, pos: np.ndarray, k: Any) -> np.ndarray:
    """The equations of the module docstring at levers ``t`` (``t[pos[i]]`` is the
    i-th lever of :data:`LEVERS` in order); the result is laid out as :data:`_OUT`."""
    return _evaluate(t, pos, k, _NO_COLUMNS, np.empty((_N_METRICS, 0)))


_NO_COLUMNS = np.empty(0, dtype=np.int64)


@jit
def _unit(lever: int, i: int) -> float:
    """The ``i``-th entry of the unit direction along ``lever``."""
    return 1.0 if lever == i else 0.0


@jit
def _softmin_tangent(a: float, b: float, nu: float, da: float, db: float, m: float) -> float:
    """Derivative of ``m = _softmin(a, b, nu)`` along ``(da, db)``:
    ``m (a^-nu da / a + b^-nu db / b) / (a^-nu + b^-nu)`` (scaled by the smaller)."""
    if a <= 0.0 or b <= 0.0:
        return 0.0
    low = min(a, b)
    ra, rb = (a / low) ** -nu, (b / low) ** -nu
    return m * (ra * da / a + rb * db / b) / (ra + rb)


@jit
def _open(k: Any) -> float:
    """The part of the market not yet a customer (USD of orders a year, at least 0)."""
    return max(k.addressable_market - k.C, 0.0)


@jit
def _sales(
    p: float, o: float, c: float, g: float, k: Any
) -> tuple[float, float, float, float, float, float, float, float, float, float]:
    """One sales person's own quantities at prospecting ``p`` (at least 0), over-promising
    ``o`` and collaboration ``c``, leaders' bridge time ``g``, with the customer base
    ``k.C``: ``(Lb, e1, e2, e3, escape, learn, raw phi, phi, sell, bookings)`` (module
    docstring, Sales)."""
    J, R, M, K = k.J, k.R, k.M, k.K
    lb = 1.0 + k.leadership_bridge_boost * g
    e1 = math.exp(-k.collaboration_catch * c * (1.0 + k.joint_call_catch * J * lb))
    e2 = 1.0 - min(0.95, k.meeting_catch * M * lb)  # what meetings let through
    e3 = 1.0 - min(1.0, k.ctp_catch * K)  # what capable-to-promise lets through
    escape = e1 * e2 * e3
    learn = 1.0 - min(0.9, k.rotation_learning * R)
    raw_phi = (o + k.honest_error_rate) * learn * escape
    phi = min(1.0, max(0.0, raw_phi))
    sell = (1.0 - c - R / k.selling_days) / (1.0 - k.c_rest)
    new = k.new_business_rate * p**k.prospecting_elasticity * max(sell, 0.0) * _open(k)
    win = (
        (1.0 + k.overpromise_win * o * escape)
        * (1.0 + k.joint_call_win * J * lb)
        * (1.0 - k.ctp_quote_loss * K)
    )
    bookings = win * (k.C + new) / k.n_sales
    return lb, e1, e2, e3, escape, learn, raw_phi, phi, sell, bookings


@jit
def _sales_tangent(
    p: float, o: float, c: float, k: Any, lb: float, e1: float, e2: float, e3: float,
    escape: float, learn: float, raw_phi: float, sell: float, dp: float, do: float,
    dc: float, dlb: float,
) -> tuple[float, float]:  # fmt: skip
    """The derivatives ``(dphi, dbookings)`` of :func:`_sales` along ``(dp, do, dc)``
    and ``dLb`` (the derivative from above at a kink, as :func:`_evaluate`)."""
    J, M, K = k.J, k.M, k.K
    capped_meetings = k.meeting_catch * M * lb >= 0.95
    pw = k.new_business_rate * p**k.prospecting_elasticity * _open(k)
    sell_pos = max(sell, 0.0)
    win = 1.0 + k.overpromise_win * o * escape
    joint = (1.0 + k.joint_call_win * J * lb) * (1.0 - k.ctp_quote_loss * K)
    reach = k.C + pw * sell_pos  # orders at the usual win rate: kept and new customers
    de1 = (
        -e1
        * k.collaboration_catch
        * (dc * (1.0 + k.joint_call_catch * J * lb) + c * k.joint_call_catch * J * dlb)
    )
    de2 = 0.0 if capped_meetings else -k.meeting_catch * M * dlb
    descape = (de1 * e2 + e1 * de2) * e3
    dphi = (
        learn * (do * escape + (o + k.honest_error_rate) * descape) if 0.0 <= raw_phi < 1.0 else 0.0
    )
    dsell = -dc / (1.0 - k.c_rest) if sell > 0.0 else 0.0
    dpw = pw * k.prospecting_elasticity * dp / p if p > 0.0 else 0.0
    dwin = k.overpromise_win * (do * escape + o * descape)
    djoint = k.joint_call_win * J * dlb * (1.0 - k.ctp_quote_loss * K)
    dbook = (
        (dpw * sell_pos + pw * dsell) * win * joint + reach * dwin * joint
        + reach * win * djoint
    ) / k.n_sales  # fmt: skip
    return dphi, dbook


@jit
def _evaluate(
    t: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray, jac: np.ndarray
) -> np.ndarray:
    """:func:`_equations`, and the metrics' derivatives in the levers ``columns``
    written to ``jac`` (shape (metrics, columns)): forward-mode, each column's
    tangents computed from the values of the one evaluation. At a kink the derivative
    is the one from above (``max(o, 0)`` at ``o = 0`` counts as ``o``): the model's
    kinks sit at lower bounds, e.g. no over-promising."""
    p = max(t[pos[0]], 0.0)
    o, c = t[pos[1]], t[pos[2]]
    h, q, x = t[pos[3]], t[pos[4]], t[pos[5]]
    s, v, g = t[pos[6]], t[pos[7]], t[pos[8]]
    J = k.J

    # sales
    lb, e1, e2, e3, escape, learn, raw_phi, phi, sell, bookings = _sales(p, o, c, g, k)

    # operations
    nu = k.fill_sharpness
    demand = k.n_sales * bookings / k.price
    kp = (
        k.n_production * k.units_per_worker * h
        * (1.0 - k.quality_time * (q - 1.0)) * (1.0 + k.overtime_output * x) * k.floor
    )  # fmt: skip
    produced = _softmin(demand, kp, nu)
    ks = k.n_shipping * k.units_per_shipper * s
    shipped = _softmin(produced, ks, nu)
    load = demand / max(min(kp, ks), 1e-12)
    overload = _softplus(load - k.load_knee, k.knee_width)
    otif_logit = (
        k.otif_intercept - k.otif_load * overload - k.otif_infeasible * phi
        + k.otif_expediting * x + k.otif_dispatch * (s - 1.0)
    )  # fmt: skip
    defect_logit = (
        k.defect_intercept - k.defect_quality * (q - 1.0) + k.defect_rush * (h - 1.0)
        + k.defect_expediting * x + k.defect_infeasible * phi
    )  # fmt: skip
    otif = _logistic(otif_logit)
    defect = _logistic(defect_logit)
    revenue = shipped * k.price
    margin_base = revenue * k.margin_rate

    # customer service, customers and staff
    tickets = shipped * (
        k.tickets_per_unit + k.tickets_per_late_unit * (1.0 - otif)
        + k.tickets_per_defect * defect
    )  # fmt: skip
    capacity = k.n_customer_service * k.tickets_per_agent * v
    util = tickets / max(capacity, 1e-12)
    response = k.response_base * util**k.response_elasticity
    cust_logit = (
        k.customer_intercept + k.customer_otif * otif - k.customer_defect * defect
        - k.customer_response * response + k.joint_call_retention * J * lb
    )  # fmt: skip
    retention_c = _logistic(cust_logit)
    sales_r, prod_r, ship_r, cs_r, lead_r, turnover = _staff(k, x, phi)

    # money
    concessions = revenue * k.concession_rate * phi
    rework = shipped * defect * k.rework_cost
    # turnover the infeasible promises cause: against the same levers with none
    from_promises = turnover - _staff(k, x, 0.0)[5] if phi > 0.0 else 0.0
    promise_cost = concessions + rework + from_promises
    expediting = k.n_production * x * k.overtime_cost
    gross_margin = margin_base - concessions
    parts = (gross_margin, -expediting, -rework, -turnover, -k.bridge_cost, -k.overhead)
    value, err = 0.0, 0.0  # Neumaier's compensated sum: the parts nearly cancel
    for part in parts:
        total = value + part
        err += (value - total) + part if abs(value) >= abs(part) else (part - total) + value
        value = total
    value += err
    ns = k.n_sales
    ontime = revenue * otif
    out = np.empty(_N_OUT)
    metrics = (  # MANUFACTURER_METRICS order
        bookings, revenue / ns, ontime / ns, margin_base / ns, ontime * k.margin_rate / ns,
        bookings - ontime / ns, promise_cost / ns, produced, shipped, revenue, gross_margin,
        otif_logit, defect_logit, response, _softmin(tickets, capacity, nu), cust_logit,
        value - k.base_payroll,
    )  # fmt: skip
    i = 0
    for val in metrics:
        out[i] = val
        i += 1
    for part in parts:
        out[i] = part
        i += 1
    new_business = k.n_sales * bookings - (
        (1.0 + k.overpromise_win * o * escape) * (1.0 + k.joint_call_win * J * lb)
        * (1.0 - k.ctp_quote_loss * k.K) * k.C
    )  # fmt: skip
    rest = (
        phi, escape, demand, kp, ks, load, tickets, util, concessions, promise_cost, k.C,
        new_business, retention_c * revenue, 12.0 * k.M * k.meeting_cost, sales_r, prod_r,
        ship_r, cs_r, lead_r, value,
    )  # fmt: skip
    for val in rest:
        out[i] = val
        i += 1

    # derivatives: one tangent pass per column, from the values above ------------------
    if columns.size == 0:
        return out
    workers = k.n_production * k.units_per_worker
    qual = 1.0 - k.quality_time * (q - 1.0)
    over = (1.0 + k.overtime_output * x) * k.floor
    tight = min(kp, ks)
    mix = (
        k.tickets_per_unit + k.tickets_per_late_unit * (1.0 - otif) + k.tickets_per_defect * defect
    )
    prod0 = _logistic(_logit(k.staff_retention_production) - k.overtime_wear * x)
    for col in range(columns.size):
        lever = -1  # which of LEVERS this column is
        for i in range(9):
            if pos[i] == columns[col]:
                lever = i
        dp = 1.0 if lever == 0 and t[pos[0]] > 0.0 else 0.0
        do, dc, dh = _unit(lever, 1), _unit(lever, 2), _unit(lever, 3)
        dq, dx, ds = _unit(lever, 4), _unit(lever, 5), _unit(lever, 6)
        dv, dg = _unit(lever, 7), _unit(lever, 8)
        dlb = k.leadership_bridge_boost * dg
        dphi, dbook = _sales_tangent(
            p, o, c, k, lb, e1, e2, e3, escape, learn, raw_phi, sell, dp, do, dc, dlb
        )
        ddemand = k.n_sales * dbook / k.price
        dkp = workers * (
            dh * qual * over
            - h * k.quality_time * dq * over
            + h * qual * k.overtime_output * dx * k.floor
        )
        dproduced = _softmin_tangent(demand, kp, nu, ddemand, dkp, produced)
        dks = k.n_shipping * k.units_per_shipper * ds
        dshipped = _softmin_tangent(produced, ks, nu, dproduced, dks, shipped)
        dtight = (dkp if kp <= ks else dks) if tight > 1e-12 else 0.0
        dload = (ddemand - load * dtight) / max(tight, 1e-12)
        doverload = _logistic((load - k.load_knee) / k.knee_width) * dload
        dotif_logit = (
            -k.otif_load * doverload - k.otif_infeasible * dphi + k.otif_expediting * dx
            + k.otif_dispatch * ds
        )  # fmt: skip
        ddefect_logit = (
            -k.defect_quality * dq + k.defect_rush * dh + k.defect_expediting * dx
            + k.defect_infeasible * dphi
        )  # fmt: skip
        dotif = otif * (1.0 - otif) * dotif_logit
        ddefect = defect * (1.0 - defect) * ddefect_logit
        drevenue = dshipped * k.price
        dmargin = drevenue * k.margin_rate
        dtickets = dshipped * mix + shipped * (
            -k.tickets_per_late_unit * dotif + k.tickets_per_defect * ddefect
        )
        dcapacity = k.n_customer_service * k.tickets_per_agent * dv
        dcap = dcapacity if capacity > 1e-12 else 0.0
        dutil = (dtickets - util * dcap) / max(capacity, 1e-12)
        dresponse = response * k.response_elasticity * dutil / util if util > 0.0 else 0.0
        dcust_logit = (
            k.customer_otif * dotif - k.customer_defect * ddefect
            - k.customer_response * dresponse + k.joint_call_retention * J * dlb
        )  # fmt: skip
        dprod = prod_r * (1.0 - prod_r) * (-k.overtime_wear * dx - k.infeasible_stress * dphi)
        dship = ship_r * (1.0 - ship_r) * (-k.infeasible_stress * dphi)
        dcs = cs_r * (1.0 - cs_r) * (-k.infeasible_stress * dphi)
        dturnover = -k.replacement * (
            k.n_production * dprod * k.base_production
            + k.n_shipping * dship * k.base_shipping
            + k.n_customer_service * dcs * k.base_customer_service
        )
        dturnover0 = (
            k.replacement
            * k.n_production
            * k.base_production
            * (prod0 * (1.0 - prod0) * k.overtime_wear * dx)
        )
        dconcessions = k.concession_rate * (drevenue * phi + revenue * dphi)
        drework = (dshipped * defect + shipped * ddefect) * k.rework_cost
        dpromise = dconcessions + drework + (dturnover - dturnover0)
        dexpediting = k.n_production * dx * k.overtime_cost
        dgross = dmargin - dconcessions
        dvalue = dgross - dexpediting - drework - dturnover
        dontime = drevenue * otif + revenue * dotif
        tangents = (
            dbook, drevenue / ns, dontime / ns, dmargin / ns, dontime * k.margin_rate / ns,
            dbook - dontime / ns, dpromise / ns, dproduced, dshipped, drevenue, dgross,
            dotif_logit, ddefect_logit, dresponse,
            _softmin_tangent(tickets, capacity, nu, dtickets, dcapacity, out[14]),
            dcust_logit, dvalue,
        )  # fmt: skip
        i = 0
        for val in tangents:
            jac[i, col] = val
            i += 1
    return out


#: Positions in :data:`_OUT` the split reads at the current levers.
_AT = {name: i for i, name in enumerate(_OUT)}
_I_BOOKINGS, _I_SHIPPED = _AT["metric.bookings"], _AT["metric.units_shipped"]
_I_REVENUE, _I_OTIF = _AT["metric.revenue"], _AT["metric.otif"]
_I_DEFECT = _AT["metric.defect_rate"]
_I_PHI = _AT["infeasible_share"]
_I_NEXT = _AT["next_customer_base"]
_M_CUSTOMER = tuple(MANUFACTURER_METRICS).index("customer_retention")
_M_REVENUE = tuple(MANUFACTURER_METRICS).index("revenue")


@jit
def _own_evaluate(
    t: np.ndarray, t0: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray,
    jac: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The metrics as one person moving alone sees their own part of them (module
    docstring, Line of sight by channel): a sales person's own bookings and infeasible
    share at the sales levers of ``t`` (everything else of theirs at ``t0``), every
    company-wide aggregate at the current levers ``t0`` (fill rate, OTIF and defect rate
    but for the person's own infeasible orders, customer retention (churn), staff
    turnover, response time). Metrics that are
    company-wide altogether are their values at ``t0``. Derivatives in the levers
    ``columns`` into ``jac``, with the aggregates held; at ``t = t0`` the values are
    :func:`_evaluate`'s, bit for bit."""
    at0 = _evaluate(t0, pos, k, _NO_COLUMNS, np.empty((_N_METRICS, 0)))
    own = at0[:_N_METRICS].copy()
    for i in range(_N_METRICS):
        for j in range(columns.size):
            jac[i, j] = 0.0
    ns = k.n_sales
    # the aggregates at t0
    b0, shipped0, revenue0 = at0[_I_BOOKINGS], at0[_I_SHIPPED], at0[_I_REVENUE]
    otif_logit0, defect_logit0 = at0[_I_OTIF], at0[_I_DEFECT]
    phi0 = at0[_I_PHI]
    x0 = t0[pos[5]]
    from_promises = _staff(k, x0, phi0)[5] - _staff(k, x0, 0.0)[5] if phi0 > 0.0 else 0.0
    # the person's own orders: their sales levers at t, leaders' bridge time at t0
    p = max(t[pos[0]], 0.0)
    o, c = t[pos[1]], t[pos[2]]
    lb, e1, e2, e3, escape, learn, raw_phi, phi, sell, bookings = _sales(p, o, c, t0[pos[8]], k)
    # at the company's fill rate (U / D at t0): everyone's orders booked as these
    if b0 > 0.0:
        revenue = revenue0 * (bookings / b0)
        shipped = shipped0 * (bookings / b0)
    else:  # no orders at t0: nothing crowds the plant, every order ships
        revenue = ns * bookings
        shipped = ns * bookings / k.price
    otif = _logistic(otif_logit0 - k.otif_infeasible * (phi - phi0))
    defect = _logistic(defect_logit0 + k.defect_infeasible * (phi - phi0))
    margin_base = revenue * k.margin_rate
    concessions = revenue * k.concession_rate * phi
    rework = shipped * defect * k.rework_cost
    promise_cost = concessions + rework + from_promises
    ontime = revenue * otif
    per_person = (  # MANUFACTURER_METRICS order, as _evaluate
        bookings, revenue / ns, ontime / ns, margin_base / ns, ontime * k.margin_rate / ns,
        bookings - ontime / ns, promise_cost / ns,
    )  # fmt: skip
    i = 0
    for val in per_person:
        own[i] = val
        i += 1
    for col in range(columns.size):
        lever = -1  # which of LEVERS this column is: only a sales lever moves own orders
        for i in range(9):
            if pos[i] == columns[col]:
                lever = i
        if lever < 0 or lever > 2:
            continue
        dp = 1.0 if lever == 0 and t[pos[0]] > 0.0 else 0.0
        dphi, dbook = _sales_tangent(
            p, o, c, k, lb, e1, e2, e3, escape, learn, raw_phi, sell, dp, _unit(lever, 1),
            _unit(lever, 2), 0.0,
        )  # fmt: skip
        if b0 > 0.0:
            drevenue, dshipped = revenue0 * dbook / b0, shipped0 * dbook / b0
        else:
            drevenue, dshipped = ns * dbook, ns * dbook / k.price
        dotif = otif * (1.0 - otif) * (-k.otif_infeasible * dphi)
        ddefect = defect * (1.0 - defect) * (k.defect_infeasible * dphi)
        dmargin = drevenue * k.margin_rate
        dconcessions = k.concession_rate * (drevenue * phi + revenue * dphi)
        drework = (dshipped * defect + shipped * ddefect) * k.rework_cost
        dpromise = dconcessions + drework
        dontime = drevenue * otif + revenue * dotif
        tangents = (
            dbook, drevenue / ns, dontime / ns, dmargin / ns, dontime * k.margin_rate / ns,
            dbook - dontime / ns, dpromise / ns,
        )  # fmt: skip
        i = 0
        for val in tangents:
            jac[i, col] = val
            i += 1
    return own


@jit
def _own_means_jacobian(
    t: np.ndarray, t0: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray,
    lo: np.ndarray, hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`_own_evaluate`'s metrics and their derivatives in the levers ``columns``,
    as :func:`_means_jacobian` (a lever fixed by its bounds has none)."""
    jac = np.empty((_N_METRICS, columns.size))
    own = _own_evaluate(t, t0, pos, k, columns, jac)
    for j in range(columns.size):
        if lo[columns[j]] >= hi[columns[j]]:
            jac[:, j] = 0.0
    return own, jac


@jit
def _own_means_jacobian_packed(
    t: np.ndarray, t0: np.ndarray, data: tuple[np.ndarray, Any, np.ndarray, np.ndarray],
    columns: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`_own_means_jacobian` with the lever order, inputs and bounds as one argument."""
    return _own_means_jacobian(t, t0, data[0], data[1], columns, data[2], data[3])


@jit
def _value_gradient(
    t: np.ndarray, pos: np.ndarray, k: Any, lo: np.ndarray, hi: np.ndarray
) -> tuple[float, np.ndarray]:
    """Gross value at ``t`` and its gradient in every lever (forward mode, as
    :func:`_means_jacobian`: value is operating profit plus the constant payroll; a
    lever fixed by its bounds has none)."""
    columns = np.arange(t.size)
    jac = np.empty((_N_METRICS, t.size))
    value = _evaluate(t, pos, k, columns, jac)[-1]
    grad = jac[_N_METRICS - 1].copy()
    for j in range(t.size):
        if lo[j] >= hi[j]:
            grad[j] = 0.0
    return value, grad


@jit
def _means_jacobian_packed(
    t: np.ndarray, data: tuple[np.ndarray, Any, np.ndarray, np.ndarray], columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_means_jacobian` with the lever order, inputs and bounds as one argument."""
    return _means_jacobian(t, data[0], data[1], columns, data[2], data[3])


@jit
def _means_jacobian(
    t: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray, lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Metric means at ``t`` and their derivatives in the levers ``columns``, shapes
    (metrics,) and (metrics, columns): exact (forward mode, :func:`_evaluate`), the
    derivative from above at a kink; a lever fixed by its bounds (``lo == hi``) has
    none."""
    jac = np.empty((_N_METRICS, columns.size))
    means = _evaluate(t, pos, k, columns, jac)[:_N_METRICS].copy()
    for j in range(columns.size):
        if lo[columns[j]] >= hi[columns[j]]:
            jac[:, j] = 0.0
    return means, jac


class ManufacturerModel(PackedModel):
    """The reference manufacturer (equations in the module docstring)."""

    #: the equations the solver's compiled path takes (exact derivatives, forward mode)
    compiled = CompiledEquations(
        __name__,
        means_jacobian="_means_jacobian_packed",
        own_means_jacobian="_own_means_jacobian_packed",
    )
    #: the metric whose mean is gross value less the base payroll
    value_metric = "operating_profit"
    #: the individual-scope metrics with a company-wide channel (bookings is all a
    #: rep's own: a plan on it alone needs no split, and no second evaluation)
    split_metrics = frozenset(tuple(MANUFACTURER_METRICS)[1:7])
    EQUATIONS = staticmethod(_equations)
    JACOBIAN = staticmethod(_means_jacobian)
    GRADIENT = staticmethod(_value_gradient)
    OUT = _OUT
    METRICS = tuple(MANUFACTURER_METRICS)
    VALUE_PARTS = VALUE_PARTS
    OUTCOMES = _OUTCOMES
    LEVERS = LEVERS

    def __init__(self, scenario: Scenario) -> None:
        self._check(
            scenario, kind="manufacturer", sample="data/samples/acme.toml",
            coefficients=COEFFICIENTS, positive=_POSITIVE,
        )  # fmt: skip
        for b, v in scenario.bridges.items():
            if b not in BRIDGES:
                raise ScenarioError(
                    f"bridges.{b}", f"is not a bridge; the bridges are {list(BRIDGES)}"
                )
            if v > BRIDGES[b][2]:
                raise ScenarioError(f"bridges.{b}", f"is {v:g}; allowed: 0 to {BRIDGES[b][2]:g}")
        self.scenario = scenario
        self.levers: LeverSpace = lever_space(scenario)
        self.metrics: tuple[str, ...] = tuple(MANUFACTURER_METRICS)
        self.k = {n: scenario.company.coefficient(n) for n in COEFFICIENTS}
        self.bridge = {b: float(scenario.bridges.get(b, 0.0)) for b in BRIDGES}
        self.n = {d: float(scenario.departments[d].headcount) for d in LEVERS}
        self.base = {d: float(scenario.departments[d].base_pay) for d in LEVERS}
        self.replacement = scenario.settings.replacement_cost
        self.base_payroll = sum(self.n[d] * self.base[d] for d in scenario.departments)
        on, kk = self.bridge, self.k
        #: Cash cost of each bridge per period (currency; they do not depend on levers).
        #: Joint calls and rotation days cost production capacity instead (``floor``);
        #: meetings cost salaried time, imputed apart (``imputed.meeting_time``).
        self.bridge_costs: dict[str, float] = {
            "joint_sales_calls": 0.0,
            "rotation_days": 0.0,
            "meetings": 0.0,
            "unofficial_leaders": on["unofficial_leaders"] * kk["leader_cost"],
            "capable_to_promise": on["capable_to_promise"] * kk["ctp_cost"],
        }
        floor = (
            1.0
            - kk["joint_call_time"] * on["joint_sales_calls"]
            - kk["rotation_host_time"] * on["rotation_days"] * self.n["sales"]
            / max(self.n["production"] * kk["selling_days"], 1e-12)
        )  # fmt: skip
        if floor < 0.2:
            raise ScenarioError(
                "bridges",
                f"joint sales calls and rotation days would take {1 - floor:.0%} of "
                "production's time; allowed: at most 80%. Lower bridges.joint_sales_calls "
                "or bridges.rotation_days",
            )
        pos = {name: i for i, name in enumerate(self.levers.names)}
        self._order = self._lever_order()
        self._inputs = _Inputs(
            **self.k,
            J=on["joint_sales_calls"],
            R=on["rotation_days"],
            M=on["meetings"],
            K=on["capable_to_promise"],
            C=0.0,
            floor=floor,
            c_rest=float(self.levers.rest[pos["sales.collaboration"]]),
            bridge_cost=math.fsum(self.bridge_costs.values()),
            replacement=self.replacement,
            base_payroll=self.base_payroll,
            **{f"n_{d}": self.n[d] for d in LEVERS},
            **{f"base_{d}": self.base[d] for d in LEVERS},
        )
        self._cache = None
        #: the customer base this model's year starts with (USD of orders a year): by
        #: default the steady state with every lever at rest (no incentive plans)
        self._inputs = self._inputs._replace(C=self.steady_state_at(self.levers.rest))
        self.state = float(self._inputs.C)

    # ---- the customer base: a year's state (compmodel.dynamics) ----------------------
    #: the name of the state a year hands on to the next
    state_name = "customer_base"

    def with_state(self, value: float) -> ManufacturerModel:
        """This model in a year that starts with customer base ``value`` (USD of orders a
        year, at least 0)."""
        out = copy.copy(self)
        out._inputs = self._inputs._replace(C=max(float(value), 0.0))
        out.state = float(out._inputs.C)
        out._cache = None
        return out

    def next_state(self, t: np.ndarray) -> float:
        """The customer base the year at levers ``t`` hands on: ``customer_retention *
        revenue`` (USD of orders a year)."""
        return float(_equations(np.asarray(t, dtype=float), self._order, self._inputs)[_I_NEXT])

    def next_state_gradient(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`next_state` and its exact gradient in every lever (forward mode: the
        retention logit's and revenue's rows of the metrics' Jacobian; a lever fixed by
        its bounds has none)."""
        t = np.asarray(t, dtype=float)
        means, jac = self.means_jacobian(t, np.arange(t.size))
        rho = _logistic(float(means[_M_CUSTOMER]))
        revenue = float(means[_M_REVENUE])
        grad = rho * (1.0 - rho) * jac[_M_CUSTOMER] * revenue + rho * jac[_M_REVENUE]
        return rho * revenue, grad

    def state_upper(self) -> float:
        """A customer base above every steady state of any levers: the market with every
        quote won at the most over-promising and joint calls, or the plant's shipments
        at the most pace, whichever is less, with margin."""
        return 2.0 * self.k["addressable_market"]

    def steady_state_at(self, t: np.ndarray, *, xtol: float = 1e-9) -> float:
        """The customer base ``C`` with ``next_state(t) = C`` at fixed levers ``t``: the
        steady state of a company whose people do not respond (Brent's method on
        ``[0, state_upper()]``; at levers where several exist, the highest)."""
        t = np.asarray(t, dtype=float)

        def gap(c: float) -> float:
            return float(_equations(t, self._order, self._inputs._replace(C=c))[_I_NEXT] - c)

        hi = self.state_upper()
        if gap(0.0) <= 0.0:
            return 0.0
        if gap(hi) >= 0.0:  # pragma: no cover - the plant cannot ship twice the market
            return hi
        return float(brentq(gap, 0.0, hi, xtol=xtol * max(hi, 1.0), rtol=1e-14))

    def own_means_jacobian(
        self, t: np.ndarray, t0: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The metrics with every company-wide aggregate frozen at the current levers
        ``t0`` (a sales person's own orders and customers at ``t``; module docstring,
        Line of sight by channel) and their exact derivatives in the levers ``columns``
        with the aggregates held, in one compiled call."""
        own, jac = _own_means_jacobian(
            np.asarray(t, dtype=float), np.asarray(t0, dtype=float), self._order,
            self._inputs, np.asarray(columns, dtype=np.int64), self.levers.lower,
            self.levers.upper,
        )  # fmt: skip
        return own, jac

    def team_identification(self, department: str, base: float) -> float:
        """Team identification after the unofficial-leaders bridge (at most 1)."""
        u = self.bridge["unofficial_leaders"]
        return min(1.0, base + self.k["leader_identification"] * u / 5.0) if u > 0 else base


#: Sales crediting and clawbacks (see the module docstring): the metrics a commission can
#: be credited on, and the two clawback forms (docs/scenario-format.md, clawbacks).
CREDITING = Crediting(
    metrics={
        "bookings": "at booking",
        "shipped_revenue": "at shipment",
        "ontime_revenue": "on on-time delivery",
        "shipped_margin": "on shipped margin",
        "ontime_margin": "on the margin of on-time orders",
    },
    clawbacks={
        "cost_share": ("clawback", "promise_cost", False),
        "late_share": ("late_clawback", "late_bookings", True),
    },
)

#: The display table (:attr:`KindInfo.labels`): every metric, outcome and lever. Money is
#: USD a year (the sample's period); "per rep" is per sales person.
_LABELS: Mapping[str, Display] = {
    # metrics
    "bookings": Display("Bookings", "USD per rep", "money", "orders booked per sales rep"),
    "shipped_revenue": Display(
        "Shipped revenue per rep",
        "USD per rep",
        "money",
        "revenue a sales rep's orders earn once shipped",
    ),
    "ontime_revenue": Display(
        "On-time revenue per rep",
        "USD per rep",
        "money",
        "revenue of a sales rep's orders delivered on time in full",
    ),
    "shipped_margin": Display(
        "Shipped margin per rep",
        "USD per rep",
        "money",
        "margin on a sales rep's shipped orders, before concessions",
    ),
    "ontime_margin": Display(
        "On-time margin per rep",
        "USD per rep",
        "money",
        "margin on a sales rep's orders delivered on time in full",
    ),
    "late_bookings": Display(
        "Late bookings per rep",
        "USD per rep",
        "money",
        "a sales rep's bookings not delivered on time: late or cancelled",
    ),
    "promise_cost": Display(
        "Promise cost per rep",
        "USD per rep",
        "money",
        "what a sales rep's orders cost after the sale: concessions, rework, lost customers",
    ),
    "throughput": Display("Throughput", "units", "count", "units production makes"),
    "units_shipped": Display("Units shipped", "units", "count", "units shipping sends"),
    "revenue": Display("Revenue", "USD", "money", "shipped revenue, the whole company"),
    "gross_margin": Display("Gross margin", "USD", "money", "revenue less direct costs"),
    "otif": Display(
        "On-time in-full (OTIF)",
        "share",
        "share",
        "orders shipped complete by the date promised",
    ),
    "defect_rate": Display("Defect rate", "share", "share", "units shipped with a defect"),
    "response_time": Display(
        "Response time", "hours", "hours", "customer service's time to answer"
    ),
    "tickets_closed": Display(
        "Tickets closed", "tickets", "count", "tickets customer service closes"
    ),
    "customer_retention": Display(
        "Customer retention", "share", "share", "customers who stay a year"
    ),
    "operating_profit": Display(
        "Operating profit before incentives",
        "USD",
        "money",
        "gross value less base payroll, before incentive pay: the whole company, a year",
    ),
    # further outcomes
    "infeasible_share": Display(
        "Infeasible orders",
        "share of booked orders",
        "share",
        "booked orders that promise what production cannot deliver",
    ),
    "escape_share": Display(
        "Uncaught over-promises",
        "share of over-promises",
        "share",
        "over-promises not caught by collaboration, bridges or checks before production commits",
    ),
    "units_ordered": Display("Units ordered", "units", "count", "units customers order a year"),
    "production_capacity": Display(
        "Production capacity",
        "units",
        "count",
        "units production can make a year at its pace, care and overtime",
    ),
    "shipping_capacity": Display(
        "Shipping capacity",
        "units",
        "count",
        "units shipping can send a year at its dispatch effort",
    ),
    "load": Display(
        "Plant load",
        "share of capacity",
        "share",
        "units ordered over the tighter of production and shipping capacity",
    ),
    "tickets_raised": Display(
        "Tickets raised",
        "tickets",
        "count",
        "customer tickets a year: per unit, late unit and defect",
    ),
    "service_utilisation": Display(
        "Service utilisation",
        "share of capacity",
        "share",
        "tickets raised over what customer service can close a year",
    ),
    "concessions": Display(
        "Concessions", "USD", "money", "discounts and penalties on infeasible orders, a year"
    ),
    "promise_cost_total": Display(
        "Total promise cost",
        "USD",
        "money",
        "what all sales reps' orders cost after the sale, a year",
    ),
    "base_payroll": Display("Base payroll", "USD", "money", "base pay of every department, a year"),
    "customer_base": Display(
        "Customer base",
        "USD a year",
        "money",
        "orders a year the customers kept from last year place",
    ),
    "new_business": Display(
        "New business", "USD a year", "money", "orders a year from customers won this year"
    ),
    "next_customer_base": Display(
        "Customers handed on",
        "USD a year",
        "money",
        "orders a year next year's kept customers place: retention times revenue",
    ),
    "imputed.meeting_time": Display(
        "Meeting time (imputed)",
        "USD",
        "money",
        "salaried time in cross-department meetings: an opportunity cost, not in profit",
    ),
    # parts of gross value (signed: costs negative)
    "value.gross_margin": Display(
        "Gross margin (profit walk)",
        "USD",
        "money",
        "gross margin as the profit walk's first driver, a year",
    ),
    "value.expediting": Display(
        "Expediting cost", "USD", "money", "overtime and rush changeovers in production, a year"
    ),
    "value.rework": Display(
        "Rework cost", "USD", "money", "reworking defective units shipped, a year"
    ),
    "value.staff_turnover": Display(
        "Staff turnover cost",
        "USD",
        "money",
        "replacing the people who leave, all departments, a year",
    ),
    "value.bridge_cost": Display(
        "Bridge costs", "USD", "money", "direct cost of the bridges between departments, a year"
    ),
    "value.overhead": Display("Overhead", "USD", "money", "fixed overhead, a year"),
    # staff retention per department, before pay against the market
    **{
        f"staff_retention.{dept}": Display(
            f"{name} staff retention",
            "share",
            "share",
            f"{who} who stay a year, before pay against the market",
        )
        for dept, (name, who) in {
            "sales": ("Sales", "sales reps"),
            "production": ("Production", "production workers"),
            "shipping": ("Shipping", "shipping staff"),
            "customer_service": ("Customer service", "customer service agents"),
            "leadership": ("Leadership", "leaders"),
        }.items()
    },
    # levers, per person of the department (index: 1 = the no-incentive level)
    "sales.prospecting": Display(
        "Prospecting", "index", "index", "a sales rep's selling effort: calls, visits, quotes"
    ),
    "sales.overpromise": Display(
        "Over-promising",
        "share of quotes",
        "share",
        "a sales rep's quotes promising specs or dates production has not confirmed",
    ),
    "sales.collaboration": Display(
        "Collaboration",
        "share of time",
        "share",
        "a sales rep's time with internal staff checking what can be delivered",
    ),
    "production.throughput": Display(
        "Pace", "index", "index", "a production worker's pace of work"
    ),
    "production.quality": Display(
        "Quality", "index", "index", "a production worker's care: inspection, first-time-right"
    ),
    "production.expediting": Display(
        "Expediting",
        "share of hours",
        "share",
        "overtime and rush changeovers per production worker, over normal hours",
    ),
    "shipping.dispatch": Display(
        "Dispatch", "index", "index", "a shipper's picking, staging and carrier follow-up"
    ),
    "customer_service.responsiveness": Display(
        "Responsiveness", "index", "index", "an agent's speed and care in answering customers"
    ),
    "leadership.bridge_time": Display(
        "Bridge time", "share of time", "share", "a leader's time given to cross-department work"
    ),
}

#: Each bridge's reader's name, unit, format and meaning (:class:`Bridge`).
_BRIDGE_DISPLAY: Mapping[str, tuple[str, str, Format, str]] = {
    "joint_sales_calls": (
        "Joint sales calls",
        "share of calls",
        "share",
        "sales calls made with a production or finance colleague",
    ),
    "rotation_days": (
        "Rotation days",
        "days per rep per year",
        "count",
        "days a sales rep spends in production",
    ),
    "meetings": (
        "Cross-department meetings",
        "meetings per month",
        "count",
        "sales, production and shipping meet on promises",
    ),
    "unofficial_leaders": (
        "Unofficial leaders",
        "leaders",
        "count",
        "respected people who carry the shared goal",
    ),
    "capable_to_promise": (
        "Capable to promise",
        "share of quotes",
        "share",
        "quotes checked against capacity before they go out",
    ),
}

#: The dashboard's tiles, the bridges' settings and the presets of this kind.
INFO = KindInfo(
    story=(
        Kpi(
            "sales.overpromise",
            "sales over-promising (share of quotes)",
            "lower",
            "index",
            "quotes promising specs or dates production has not confirmed",
            unit="share of quotes",
        ),
        Kpi(
            "sales.collaboration",
            "sales collaboration (share of time)",
            "higher",
            "index",
            "a sales rep's time with internal staff checking what can be delivered",
            unit="share of time",
        ),
        Kpi(
            "production.expediting",
            "production expediting (share of hours)",
            "lower",
            "index",
            "overtime and rush changeovers, over normal hours",
            unit="share of hours",
        ),
        Kpi(
            "otif",
            "OTIF",
            "higher",
            "share",
            "orders shipped complete by the date promised",
            unit="share",
        ),
        Kpi(
            "defect_rate",
            "defect rate",
            "lower",
            "share",
            "units shipped with a defect",
            unit="share",
        ),
        Kpi(
            "response_time",
            "response time (hours)",
            "lower",
            "hours",
            "customer service's time to answer",
            unit="hours",
        ),
        Kpi(
            "customer_retention",
            "customer retention",
            "higher",
            "share",
            "customers who stay a year",
            unit="share",
        ),
        Kpi(
            "revenue",
            "revenue",
            "higher",
            "money",
            "shipped revenue, the whole company",
            unit="USD",
        ),
    ),
    kpis=(
        Kpi(
            "otif",
            "On-time in-full",
            "higher",
            "share",
            "orders shipped complete by the date promised",
            unit="share",
        ),
        Kpi(
            "customer_retention",
            "Customer retention",
            "higher",
            "share",
            "customers who stay a year",
            unit="share",
        ),
    ),
    bridges={
        name: Bridge(label, unit, BRIDGES[name][2], BRIDGES[name][0], meaning, fmt)
        for name, (label, unit, fmt, meaning) in _BRIDGE_DISPLAY.items()
    },
    presets={
        "The article's five bridges": {
            "bridges.joint_sales_calls": 0.2,
            "bridges.rotation_days": 5.0,
            "bridges.meetings": 4.0,
            "bridges.unofficial_leaders": 5.0,
            "bridges.capable_to_promise": 1.0,
        },
    },
    crediting=CREDITING,
    labels=_LABELS,
    value_labels={
        "gross_margin": "gross margin",
        "expediting": "expediting",
        "rework": "rework",
        "bridge_cost": "bridge costs",
        "overhead": "overhead",
    },
    outcomes=("bookings", "revenue", "otif", "defect_rate", "response_time", "customer_retention"),
)

register_kind("manufacturer", ManufacturerModel, info=INFO)
