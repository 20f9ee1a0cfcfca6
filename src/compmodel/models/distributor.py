"""The ``distributor`` company model: a wholesale distributor.

The company buys goods from suppliers, holds them in a warehouse and delivers them to
retail and trade customers. Every number below is a coefficient of
``[company.coefficients]`` (see ``data/samples/distributor.toml``, where each has a
unit, a range, a source and a comment); none lives in this module except the 52 weeks
of a year. Levers are per person of the department (the representative employee);
``N_d`` is department ``d``'s headcount and ``base_d`` its base pay. Money is the
scenario's currency per year. ``logistic(z) = 1/(1 + e^-z)``, ``logit`` its inverse;
``softmin_nu(a, b) = (a^-nu + b^-nu)^(-1/nu)`` is the smooth minimum of ``a`` and ``b``
(below both, and the larger ``nu`` the sharper its corner);
``softplus_w(z) = w log(1 + e^(z/w))`` a smooth ``max(z, 0)`` of width ``w``.

Levers
------
sales
    ``prospecting`` p (selling effort, index: 1 = the no-incentive level),
    ``discounting`` delta (average discount off list price, a share).
purchasing
    ``order_cover`` b (stock bought, in weeks of demand), ``forecast_effort`` f
    (index: care in forecasting the mix of demand), ``supplier_negotiation`` n (index).
warehouse
    ``picking_speed`` h (pace, index), ``accuracy`` a (care in picking, index).
delivery
    ``route_density`` r (stops per route, index), ``punctuality`` u (index).
customer_service
    ``responsiveness`` v (index).

Equations
---------
Demand (list prices, per year)::

    Q    = orders_base * p^prospecting_elasticity * (1 + discount_lift * delta)
                                                    list value a sales person books
    orders = Q * (1 - delta)                        net order value (after discount)
    D    = N_sales * Q                              demand at list prices
    L_D  = D / line_value                           order lines demanded

A discount of ``delta`` raises volume by ``discount_lift * delta`` (``discount_lift``
is the price elasticity of the distributor's volume) and cuts the price by ``delta``.

Stock and the warehouse (order lines per year)::

    fit  = 1 - mix_error / f                        share of stock that matches demand
    c    = b * fit / cover_need                     usable cover against what demand needs
    A    = softmin_{stock_sharpness}(1, c)          in-stock share
    L_S  = A * L_D                                  lines that find stock
    K_W  = N_warehouse * lines_per_worker * h * (1 - accuracy_time * (a - 1))
                                                    picking capacity
    P    = softmin_{fill_sharpness}(L_S, K_W)       lines picked and shipped
    fill_rate = P / L_D                             (its metric: logit = log(P / (L_D - P)))
    rho  = L_S / K_W                                warehouse load
    mispick   = logistic(mispick_intercept - mispick_accuracy * (a - 1)
                         + mispick_rush * (h - 1))  share of lines picked wrong

Purchasing that under-buys (``c`` below 1) runs out of stock; the warehouse then picks
what there is, and no more than its capacity: fill rate is limited by the smaller of
stock and capacity, smoothly, and saturates at ``A`` once capacity is ample. Forecast
effort makes the same buy fit demand better. Care in picking costs pace.

Delivery (drops per year)::

    drops  = P / lines_per_drop
    K_R    = drops_per_route * r * (1 - punctuality_time * (u - 1))    drops per route
    routes = drops / K_R
    cost_per_drop = route_cost / K_R
    ontime = logistic(ontime_intercept + ontime_punctuality * (u - 1)
                      - ontime_density * (r - 1)
                      - ontime_load * softplus_{knee_width}(rho - load_knee))

Denser routes need fewer trucks but make more drops late; punctuality (time buffers,
calling ahead) costs route capacity. A warehouse loaded past ``load_knee`` releases
orders late, so on-time delivery falls with its load.

Customer service and customers::

    T   = P * (tickets_per_line + tickets_per_mispick * mispick)
          + (L_D - P) * tickets_per_short_line
          + drops * (1 - ontime) * tickets_per_late_drop          tickets raised
    C   = N_customer_service * tickets_per_agent * v              capacity
    tickets_resolved = softmin_{fill_sharpness}(T, C)
    response_time    = response_base * (T / C)^response_elasticity          hours
    customer_retention = logistic(customer_intercept + customer_fill * fill_rate
                                  + customer_ontime * ontime
                                  - customer_mispick * mispick
                                  - customer_response * response_time)

Staff retention before pay (per year) is each department's ``staff_retention_d``, and
for the warehouse ``logistic(logit(staff_retention_warehouse) - pace_wear * (h - 1))``:
a faster pace wears pickers out.

Money (per year)::

    S   = P * line_value                            shipped value at list prices
    net_sales    = S * (1 - delta)
    m   = list_margin + (1 - list_margin) * negotiation_saving * (n - 1)
          - discount_margin_cost * delta            margin per unit of list value
    gross_margin = S * m
    purchase_savings = S * (1 - list_margin) * negotiation_saving * (n - 1) / N_purchasing
                                                    saved per buyer
    inventory    = D * (1 - list_margin) * b / 52   average stock at standard cost
    inventory_turns = S * (1 - list_margin) / inventory = 52 * fill_rate / b
    holding_cost = holding_rate * inventory
    shortages    = (L_D - P) * short_line_cost      back-orders, split shipments, expediting
    mispicks     = P * mispick * mispick_cost       returns, re-picks, re-deliveries
    fleet_cost   = routes * route_cost
    late_deliveries = drops * (1 - ontime) * late_drop_cost   redeliveries and credits
    lost_customers  = (1 - customer_retention) * gross_margin * lost_margin_years
    staff_turnover  = sum_d N_d * (1 - retention_d) * replacement_cost * base_d
                                                    (retention_d: staff retention above)
    value = gross_margin - holding_cost - shortages - mispicks - fleet_cost
            - late_deliveries - lost_customers - staff_turnover - overhead

``discount_margin_cost`` is the share of a discount the distributor's margin bears (the
rest is funded by suppliers' promotions); ``negotiation_saving`` the share of purchase
cost saved per unit of negotiation effort. A discount wins volume, whose margin, stock,
picking, delivery and service all cost: with the sample's coefficients the first best
gives none. Lines the company cannot fill earn nothing, cost ``short_line_cost``
and tickets, and lower fill rate and so customer retention; buying more cover fills
more and costs ``holding_rate`` of the stock's value.

``value`` is the company's gross value (before pay): total surplus and the first best
use it. ``replacement_cost`` is ``settings.replacement_cost`` (share of base pay). The
metric ``operating_profit`` is ``value - sum_d N_d base_d``, operating profit before
incentive pay; the solution's operating profit nets incentive pay, payroll tax on it
and turnover from pay below the market as well.

Metrics: ``orders`` and ``sales_margin`` (``gross_margin / N_sales``) are a sales
person's own (scope ``individual``), and so is ``purchase_savings`` for a buyer (each
buyer negotiates with their own suppliers); ``inventory_turns`` is purchasing's,
``picks`` (``P``) and ``mispick_rate`` the warehouse's,
``cost_per_drop`` delivery's, ``tickets_resolved`` and ``response_time`` customer
service's; ``net_sales``, ``gross_margin``, ``fill_rate``, ``ontime_delivery``,
``customer_retention`` and ``operating_profit`` are the company's. Shares (fill rate,
mispick rate, on-time delivery, customer retention) are metrics on the logit scale, and
enter the money at their medians (the model without noise); the forecast's noise is
what plans pay on.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from .._jit import jit
from ..errors import ScenarioError
from ..scenario import Scenario
from . import CompiledEquations, Display, KindInfo, Kpi, LeverSpace, lever_space, register_kind
from .packed import PackedModel

__all__ = ["COEFFICIENTS", "DISTRIBUTOR_METRICS", "LEVERS", "DistributorModel"]

_SAMPLE = "data/samples/distributor.toml"

#: Levers each department must declare in ``[company.levers]``.
LEVERS: Mapping[str, tuple[str, ...]] = {
    "sales": ("prospecting", "discounting"),
    "purchasing": ("order_cover", "forecast_effort", "supplier_negotiation"),
    "warehouse": ("picking_speed", "accuracy"),
    "delivery": ("route_density", "punctuality"),
    "customer_service": ("responsiveness",),
}

#: Metrics the model sets, with their unit, scope and scale.
DISTRIBUTOR_METRICS: Mapping[str, tuple[str, str, str]] = {
    "orders": ("currency", "individual", "normal"),
    "sales_margin": ("currency", "individual", "normal"),
    "net_sales": ("currency", "company", "normal"),
    "gross_margin": ("currency", "company", "normal"),
    "fill_rate": ("share", "company", "logit"),
    "inventory_turns": ("turns per year", "department", "normal"),
    "purchase_savings": ("currency", "individual", "normal"),
    "picks": ("order lines", "department", "normal"),
    "mispick_rate": ("share", "department", "logit"),
    "ontime_delivery": ("share", "company", "logit"),
    "cost_per_drop": ("currency per drop", "department", "normal"),
    "tickets_resolved": ("tickets", "department", "normal"),
    "response_time": ("hours", "department", "normal"),
    "customer_retention": ("share", "company", "logit"),
    "operating_profit": ("currency", "company", "normal"),
}

COEFFICIENTS: tuple[str, ...] = (
    # sales
    "orders_base", "prospecting_elasticity", "discount_lift", "line_value",
    # purchasing and stock
    "mix_error", "cover_need", "stock_sharpness",
    # warehouse
    "lines_per_worker", "accuracy_time", "fill_sharpness",
    "mispick_intercept", "mispick_accuracy", "mispick_rush",
    # delivery
    "lines_per_drop", "drops_per_route", "punctuality_time", "route_cost",
    "ontime_intercept", "ontime_punctuality", "ontime_density", "ontime_load", "load_knee",
    "knee_width",
    # customer service
    "tickets_per_line", "tickets_per_mispick", "tickets_per_short_line",
    "tickets_per_late_drop", "tickets_per_agent", "response_base", "response_elasticity",
    # customers and staff
    "customer_intercept", "customer_fill", "customer_ontime", "customer_mispick",
    "customer_response",
    "staff_retention_sales", "staff_retention_purchasing", "staff_retention_warehouse",
    "staff_retention_delivery", "staff_retention_customer_service", "pace_wear",
    # money
    "list_margin", "discount_margin_cost", "negotiation_saving", "holding_rate",
    "short_line_cost", "mispick_cost", "late_drop_cost", "lost_margin_years", "overhead",
)  # fmt: skip

#: Coefficients that must be positive (the equations divide by them or raise to them).
_POSITIVE = frozenset({
    "orders_base", "line_value", "cover_need", "stock_sharpness", "lines_per_worker",
    "fill_sharpness", "lines_per_drop", "drops_per_route", "route_cost", "knee_width",
    "tickets_per_agent", "response_base",
})  # fmt: skip

#: Coefficients that are shares in [0, 1].
_SHARES = frozenset({"list_margin", "discount_margin_cost", "mix_error"})

#: The parts of value, in the order of a profit walk (signed: costs negative).
VALUE_PARTS: tuple[str, ...] = (
    "gross_margin", "holding_cost", "shortages", "mispicks", "fleet_cost",
    "late_deliveries", "lost_customers", "staff_turnover", "overhead",
)  # fmt: skip

#: Weeks in a year: order cover is in weeks of demand, the period is a year.
_WEEKS = 52.0


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
    """``(a^-nu + b^-nu)^(-1/nu)``, scaled by the smaller (0 if either is not positive)."""
    if a <= 0.0 or b <= 0.0:
        return 0.0
    m = min(a, b)
    return m * ((a / m) ** -nu + (b / m) ** -nu) ** (-1.0 / nu)


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
def _softplus(z: float, w: float) -> float:
    u = z / w
    return w * (u + math.log1p(math.exp(-u))) if u > 0 else w * math.log1p(math.exp(u))


#: What the kernel needs besides the levers: the coefficients, then the scenario's
#: headcounts, base pay and settings (one record, so the kernel reads ``k.line_value``).
# (fields built from COEFFICIENTS, which mypy's namedtuple support cannot read)
_Inputs = cast(Any, namedtuple)(
    "_Inputs",
    (
        *COEFFICIENTS, "replacement", "base_payroll", *(f"n_{d}" for d in LEVERS),
        *(f"base_{d}" for d in LEVERS),
    ),
)  # fmt: skip

_OUTCOMES = (
    "lines_demanded", "in_stock", "lines_in_stock", "warehouse_capacity", "warehouse_load",
    "drops", "routes", "tickets_raised", "service_utilisation", "inventory",
    "net_sales_lost_to_shortage",
)  # fmt: skip

#: What the kernel returns, in order: the metrics' latent means, the signed parts of
#: value, outcomes, staff retention per department, and value.
_OUT: tuple[str, ...] = (
    tuple(f"metric.{m}" for m in DISTRIBUTOR_METRICS)
    + tuple(f"value.{name}" for name in VALUE_PARTS)
    + _OUTCOMES
    + tuple(f"staff_retention.{d}" for d in LEVERS)
    + ("value",)
)  # fmt: skip
_N_METRICS = len(DISTRIBUTOR_METRICS)
_N_LEVERS = sum(len(v) for v in LEVERS.values())
_N_OUT = len(_OUT)
_NO_COLUMNS = np.empty(0, dtype=np.int64)


@jit
def _unit(lever: int, i: int) -> float:
    """The ``i``-th entry of the unit direction along ``lever``."""
    return 1.0 if lever == i else 0.0


@jit
def _equations(t: np.ndarray, pos: np.ndarray, k: Any) -> np.ndarray:
    """The equations of the module docstring at levers ``t`` (``t[pos[i]]`` is the
    i-th lever of :data:`LEVERS` in order); the result is laid out as :data:`_OUT`."""
    return _evaluate(t, pos, k, _NO_COLUMNS, np.empty((_N_METRICS, 0)))


@jit
def _evaluate(
    t: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray, jac: np.ndarray
) -> np.ndarray:
    """:func:`_equations`, and the metrics' derivatives in the levers ``columns``
    written to ``jac`` (shape (metrics, columns)): forward mode, each column's tangents
    computed from the values of the one evaluation. The equations are smooth inside the
    levers' bounds (the model checks the bounds keep every capacity positive)."""
    p = max(t[pos[0]], 0.0)
    delta = t[pos[1]]
    b, f, n = t[pos[2]], t[pos[3]], t[pos[4]]
    h, a = t[pos[5]], t[pos[6]]
    r, u = t[pos[7]], t[pos[8]]
    v = t[pos[9]]

    # demand
    pw = k.orders_base * p**k.prospecting_elasticity
    lift = 1.0 + k.discount_lift * delta
    q = pw * lift
    orders = q * (1.0 - delta)
    demand = k.n_sales * q
    lines = demand / k.line_value

    # stock and warehouse
    fit = 1.0 - k.mix_error / f
    cover = b * fit / k.cover_need
    instock = _softmin(1.0, cover, k.stock_sharpness)
    in_stock_lines = instock * lines
    pace = 1.0 - k.accuracy_time * (a - 1.0)
    capacity_w = k.n_warehouse * k.lines_per_worker * h * pace
    nu = k.fill_sharpness
    picks = _softmin(in_stock_lines, capacity_w, nu)
    short = lines - picks
    fill = picks / lines
    fill_logit = math.log(picks / short)
    load = in_stock_lines / capacity_w
    mispick_logit = (
        k.mispick_intercept - k.mispick_accuracy * (a - 1.0) + k.mispick_rush * (h - 1.0)
    )
    mispick = _logistic(mispick_logit)

    # delivery
    drops = picks / k.lines_per_drop
    buffer = 1.0 - k.punctuality_time * (u - 1.0)
    per_route = k.drops_per_route * r * buffer
    routes = drops / per_route
    cost_per_drop = k.route_cost / per_route
    overload = _softplus(load - k.load_knee, k.knee_width)
    ontime_logit = (
        k.ontime_intercept + k.ontime_punctuality * (u - 1.0) - k.ontime_density * (r - 1.0)
        - k.ontime_load * overload
    )  # fmt: skip
    ontime = _logistic(ontime_logit)

    # customer service, customers and staff
    tickets = (
        picks * (k.tickets_per_line + k.tickets_per_mispick * mispick)
        + short * k.tickets_per_short_line
        + drops * (1.0 - ontime) * k.tickets_per_late_drop
    )
    capacity_c = k.n_customer_service * k.tickets_per_agent * v
    util = tickets / capacity_c
    response = k.response_base * util**k.response_elasticity
    resolved = _softmin(tickets, capacity_c, nu)
    cust_logit = (
        k.customer_intercept + k.customer_fill * fill + k.customer_ontime * ontime
        - k.customer_mispick * mispick - k.customer_response * response
    )  # fmt: skip
    retention_c = _logistic(cust_logit)
    wh_logit0 = _logit(k.staff_retention_warehouse)
    ret_sales = k.staff_retention_sales
    ret_purch = k.staff_retention_purchasing
    ret_wh = _logistic(wh_logit0 - k.pace_wear * (h - 1.0))
    ret_del = k.staff_retention_delivery
    ret_cs = k.staff_retention_customer_service
    turnover = k.replacement * (
        k.n_sales * (1.0 - ret_sales) * k.base_sales
        + k.n_purchasing * (1.0 - ret_purch) * k.base_purchasing
        + k.n_warehouse * (1.0 - ret_wh) * k.base_warehouse
        + k.n_delivery * (1.0 - ret_del) * k.base_delivery
        + k.n_customer_service * (1.0 - ret_cs) * k.base_customer_service
    )

    # money
    cost_share = 1.0 - k.list_margin
    shipped = picks * k.line_value
    net_sales = shipped * (1.0 - delta)
    saving = cost_share * k.negotiation_saving * (n - 1.0)
    margin_rate = k.list_margin + saving - k.discount_margin_cost * delta
    gross_margin = shipped * margin_rate
    savings = shipped * saving / k.n_purchasing
    inventory = demand * cost_share * b / _WEEKS
    turns = _WEEKS * fill / b
    holding = k.holding_rate * inventory
    shortages = short * k.short_line_cost
    mispicks = picks * mispick * k.mispick_cost
    fleet = routes * k.route_cost
    late = drops * (1.0 - ontime) * k.late_drop_cost
    lost_customers = (1.0 - retention_c) * gross_margin * k.lost_margin_years
    parts = (
        gross_margin, -holding, -shortages, -mispicks, -fleet, -late, -lost_customers,
        -turnover, -k.overhead,
    )  # fmt: skip
    value, err = 0.0, 0.0  # Neumaier's compensated sum: the parts nearly cancel
    for part in parts:
        total = value + part
        err += (value - total) + part if abs(value) >= abs(part) else (part - total) + value
        value = total
    value += err
    ns = k.n_sales
    out = np.empty(_N_OUT)
    metrics = (  # DISTRIBUTOR_METRICS order
        orders, gross_margin / ns, net_sales, gross_margin, fill_logit, turns, savings,
        picks, mispick_logit, ontime_logit, cost_per_drop, resolved, response, cust_logit,
        value - k.base_payroll,
    )  # fmt: skip
    i = 0
    for val in metrics:
        out[i] = val
        i += 1
    for part in parts:
        out[i] = part
        i += 1
    rest = (
        lines, instock, in_stock_lines, capacity_w, load, drops, routes, tickets, util,
        inventory, short * k.line_value * (1.0 - delta),
        ret_sales, ret_purch, ret_wh, ret_del, ret_cs, value,
    )  # fmt: skip
    for val in rest:
        out[i] = val
        i += 1

    # derivatives: one tangent pass per column, from the values above ------------------
    if columns.size == 0:
        return out
    for col in range(columns.size):
        lever = -1  # which of LEVERS this column is
        for j in range(_N_LEVERS):
            if pos[j] == columns[col]:
                lever = j
        dp = 1.0 if lever == 0 and t[pos[0]] > 0.0 else 0.0
        ddelta, db, df = _unit(lever, 1), _unit(lever, 2), _unit(lever, 3)
        dn, dh, da = _unit(lever, 4), _unit(lever, 5), _unit(lever, 6)
        dr, du, dv = _unit(lever, 7), _unit(lever, 8), _unit(lever, 9)

        dpw = pw * k.prospecting_elasticity * dp / p if p > 0.0 else 0.0
        dlift = k.discount_lift * ddelta
        dq = dpw * lift + pw * dlift
        dorders = dq * (1.0 - delta) - q * ddelta
        ddemand = k.n_sales * dq
        dlines = ddemand / k.line_value
        dfit = k.mix_error * df / (f * f)
        dcover = (db * fit + b * dfit) / k.cover_need
        dinstock = _softmin_tangent(1.0, cover, k.stock_sharpness, 0.0, dcover, instock)
        din_stock = dinstock * lines + instock * dlines
        dcap_w = k.n_warehouse * k.lines_per_worker * (dh * pace - h * k.accuracy_time * da)
        dpicks = _softmin_tangent(in_stock_lines, capacity_w, nu, din_stock, dcap_w, picks)
        dshort = dlines - dpicks
        dfill = (dpicks * lines - picks * dlines) / (lines * lines)
        dfill_logit = dpicks / picks - dshort / short
        dload = (din_stock - load * dcap_w) / capacity_w
        dmispick_logit = -k.mispick_accuracy * da + k.mispick_rush * dh
        dmispick = mispick * (1.0 - mispick) * dmispick_logit

        ddrops = dpicks / k.lines_per_drop
        dper_route = k.drops_per_route * (dr * buffer - r * k.punctuality_time * du)
        droutes = (ddrops - routes * dper_route) / per_route
        dcost_per_drop = -cost_per_drop * dper_route / per_route
        doverload = _logistic((load - k.load_knee) / k.knee_width) * dload
        dontime_logit = (
            k.ontime_punctuality * du - k.ontime_density * dr - k.ontime_load * doverload
        )
        dontime = ontime * (1.0 - ontime) * dontime_logit

        dtickets = (
            dpicks * (k.tickets_per_line + k.tickets_per_mispick * mispick)
            + picks * k.tickets_per_mispick * dmispick
            + dshort * k.tickets_per_short_line
            + (ddrops * (1.0 - ontime) - drops * dontime) * k.tickets_per_late_drop
        )
        dcap_c = k.n_customer_service * k.tickets_per_agent * dv
        dutil = (dtickets - util * dcap_c) / capacity_c
        dresponse = response * k.response_elasticity * dutil / util if util > 0.0 else 0.0
        dresolved = _softmin_tangent(tickets, capacity_c, nu, dtickets, dcap_c, resolved)
        dcust_logit = (
            k.customer_fill * dfill + k.customer_ontime * dontime
            - k.customer_mispick * dmispick - k.customer_response * dresponse
        )  # fmt: skip
        dretention = retention_c * (1.0 - retention_c) * dcust_logit
        dret_wh = ret_wh * (1.0 - ret_wh) * (-k.pace_wear * dh)
        dturnover = -k.replacement * k.n_warehouse * dret_wh * k.base_warehouse

        dshipped = dpicks * k.line_value
        dnet_sales = dshipped * (1.0 - delta) - shipped * ddelta
        dsaving = cost_share * k.negotiation_saving * dn
        dmargin_rate = dsaving - k.discount_margin_cost * ddelta
        dgross = dshipped * margin_rate + shipped * dmargin_rate
        dsavings = (dshipped * saving + shipped * dsaving) / k.n_purchasing
        dinventory = cost_share * (ddemand * b + demand * db) / _WEEKS
        dturns = _WEEKS * (dfill * b - fill * db) / (b * b)
        dholding = k.holding_rate * dinventory
        dshortages = dshort * k.short_line_cost
        dmispicks = (dpicks * mispick + picks * dmispick) * k.mispick_cost
        dfleet = droutes * k.route_cost
        dlate = (ddrops * (1.0 - ontime) - drops * dontime) * k.late_drop_cost
        dlost = (-dretention * gross_margin + (1.0 - retention_c) * dgross) * k.lost_margin_years
        dvalue = dgross - dholding - dshortages - dmispicks - dfleet - dlate - dlost - dturnover
        tangents = (
            dorders, dgross / ns, dnet_sales, dgross, dfill_logit, dturns, dsavings, dpicks,
            dmispick_logit, dontime_logit, dcost_per_drop, dresolved, dresponse, dcust_logit,
            dvalue,
        )  # fmt: skip
        i = 0
        for val in tangents:
            jac[i, col] = val
            i += 1
    return out


@jit
def _means_jacobian(
    t: np.ndarray, pos: np.ndarray, k: Any, columns: np.ndarray, lo: np.ndarray,
    hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Metric means at ``t`` and their derivatives in the levers ``columns``, shapes
    (metrics,) and (metrics, columns): exact (forward mode, :func:`_evaluate`); a lever
    fixed by its bounds (``lo == hi``) has none."""
    jac = np.empty((_N_METRICS, columns.size))
    means = _evaluate(t, pos, k, columns, jac)[:_N_METRICS].copy()
    for j in range(columns.size):
        if lo[columns[j]] >= hi[columns[j]]:
            jac[:, j] = 0.0
    return means, jac


@jit
def _means_jacobian_packed(
    t: np.ndarray, data: tuple[np.ndarray, Any, np.ndarray, np.ndarray], columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_means_jacobian` with the lever order, inputs and bounds as one argument
    (``DistributorModel.kernel_data``)."""
    return _means_jacobian(t, data[0], data[1], columns, data[2], data[3])


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


def _check_bounds(scenario: Scenario, k: Mapping[str, float]) -> None:
    """Levers' bounds that keep every capacity, share and power in the equations
    well defined (the equations are then smooth on the whole lever box)."""
    levers = scenario.company.levers

    def bound(d: str, name: str, side: str) -> float:
        lv = levers[d][name]
        value = lv.lower if side == "lower" else lv.upper
        if value is None:
            raise ScenarioError(
                f"company.levers.{d}.{name}.{side}",
                f"is not set; the distributor model needs a finite {side} bound for "
                f"{d}.{name} (copy it from {_SAMPLE})",
            )
        return float(value)

    checks = (
        ("sales", "prospecting", "lower", lambda x: x > 0.0, "> 0"),
        ("sales", "discounting", "lower", lambda x: x >= 0.0, ">= 0"),
        ("sales", "discounting", "upper", lambda x: x < 1.0, "< 1 (a share of list price)"),
        ("purchasing", "order_cover", "lower", lambda x: x > 0.0, "> 0 weeks"),
        (
            "purchasing", "forecast_effort", "lower", lambda x: x > k["mix_error"],
            f"> mix_error = {k['mix_error']:g} (stock must fit some demand)",
        ),
        ("purchasing", "supplier_negotiation", "lower", lambda x: x >= 0.0, ">= 0"),
        ("warehouse", "picking_speed", "lower", lambda x: x > 0.0, "> 0"),
        (
            "warehouse", "accuracy", "upper",
            lambda x: k["accuracy_time"] * (x - 1.0) < 1.0,
            f"< 1 + 1/accuracy_time = {1.0 + 1.0 / max(k['accuracy_time'], 1e-300):g} "
            "(picking capacity must stay positive)",
        ),
        ("delivery", "route_density", "lower", lambda x: x > 0.0, "> 0"),
        (
            "delivery", "punctuality", "upper",
            lambda x: k["punctuality_time"] * (x - 1.0) < 1.0,
            f"< 1 + 1/punctuality_time = {1.0 + 1.0 / max(k['punctuality_time'], 1e-300):g} "
            "(route capacity must stay positive)",
        ),
        ("customer_service", "responsiveness", "lower", lambda x: x > 0.0, "> 0"),
    )  # fmt: skip
    for d, name, side, ok, allowed in checks:
        x = bound(d, name, side)
        if not ok(x):
            raise ScenarioError(
                f"company.levers.{d}.{name}.{side}",
                f"is {x:g}; the distributor model needs it {allowed}",
            )


class DistributorModel(PackedModel):
    """The wholesale distributor (equations in the module docstring)."""

    #: the equations the solver's compiled path takes (exact derivatives, forward mode)
    compiled = CompiledEquations(__name__, means_jacobian="_means_jacobian_packed")
    #: the metric whose mean is gross value less the base payroll
    value_metric = "operating_profit"
    EQUATIONS = staticmethod(_equations)
    JACOBIAN = staticmethod(_means_jacobian)
    GRADIENT = staticmethod(_value_gradient)
    OUT = _OUT
    METRICS = tuple(DISTRIBUTOR_METRICS)
    VALUE_PARTS = VALUE_PARTS
    OUTCOMES = _OUTCOMES
    LEVERS = LEVERS

    def __init__(self, scenario: Scenario) -> None:
        self._check(
            scenario, kind="distributor", sample=_SAMPLE, coefficients=COEFFICIENTS,
            positive=_POSITIVE, shares=_SHARES,
        )  # fmt: skip
        if scenario.bridges:
            raise ScenarioError(
                f"bridges.{next(iter(scenario.bridges))}",
                "bridges belong to the manufacturer model; the distributor model has none. "
                "Remove [bridges].",
            )
        self.scenario = scenario
        self.k = {n: scenario.company.coefficient(n) for n in COEFFICIENTS}
        _check_bounds(scenario, self.k)
        self.levers: LeverSpace = lever_space(scenario)
        self.metrics: tuple[str, ...] = tuple(DISTRIBUTOR_METRICS)
        self.n = {d: float(scenario.departments[d].headcount) for d in LEVERS}
        self.base = {d: float(scenario.departments[d].base_pay) for d in LEVERS}
        self.replacement = scenario.settings.replacement_cost
        self.base_payroll = sum(
            float(dep.headcount) * float(dep.base_pay) for dep in scenario.departments.values()
        )
        for d in LEVERS:
            if self.n[d] <= 0:
                raise ScenarioError(
                    f"departments.{d}.headcount",
                    f"is {self.n[d]:g}; the distributor model needs at least one person in {d}",
                )
        self._order = self._lever_order()
        self._inputs = _Inputs(
            **self.k,
            replacement=self.replacement,
            base_payroll=self.base_payroll,
            **{f"n_{d}": self.n[d] for d in LEVERS},
            **{f"base_{d}": self.base[d] for d in LEVERS},
        )
        self._cache = None


#: The display table (:attr:`KindInfo.labels`): every metric, outcome and lever. Money is
#: the scenario's currency (USD in the sample) a year; "per rep" is per sales person.
_LABELS: Mapping[str, Display] = {
    # metrics
    "orders": Display(
        "Orders", "USD per rep", "money", "net value of orders a sales rep books, after discount"
    ),
    "sales_margin": Display(
        "Sales margin per rep", "USD per rep", "money", "gross margin per sales rep, a year"
    ),
    "net_sales": Display("Net sales", "USD", "money", "sales after discounts, the company"),
    "gross_margin": Display("Gross margin", "USD", "money", "net sales less cost of goods"),
    "fill_rate": Display("Fill rate", "share", "share", "order lines shipped from stock"),
    "inventory_turns": Display(
        "Inventory turns", "turns per year", "index", "cost of goods over average stock"
    ),
    "purchase_savings": Display(
        "Purchase savings per buyer",
        "USD per buyer",
        "money",
        "purchase cost a buyer saves by negotiating with suppliers, a year",
    ),
    "picks": Display(
        "Lines picked", "order lines", "count", "order lines the warehouse picks and ships a year"
    ),
    "mispick_rate": Display("Mispick rate", "share", "share", "lines picked wrong"),
    "ontime_delivery": Display("On-time delivery", "share", "share", "drops on time"),
    "cost_per_drop": Display(
        "Cost per drop", "USD per drop", "money", "fleet cost of one delivery stop"
    ),
    "tickets_resolved": Display(
        "Tickets resolved", "tickets", "count", "tickets customer service resolves a year"
    ),
    "response_time": Display(
        "Response time", "hours", "hours", "customer service's time to answer"
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
    "lines_demanded": Display(
        "Lines demanded", "order lines", "count", "order lines customers ask for a year"
    ),
    "in_stock": Display(
        "In-stock rate", "share of lines", "share", "order lines demanded that find stock"
    ),
    "lines_in_stock": Display(
        "Lines in stock", "order lines", "count", "order lines demanded that find stock, a year"
    ),
    "warehouse_capacity": Display(
        "Picking capacity",
        "order lines",
        "count",
        "order lines the warehouse can pick a year at its pace and care",
    ),
    "warehouse_load": Display(
        "Warehouse load", "share of capacity", "share", "lines in stock over picking capacity"
    ),
    "drops": Display("Delivery drops", "drops", "count", "delivery stops the trucks make a year"),
    "routes": Display("Routes driven", "routes", "count", "truck routes driven a year"),
    "tickets_raised": Display(
        "Tickets raised",
        "tickets",
        "count",
        "customer tickets a year: per line, mispick, short line and late drop",
    ),
    "service_utilisation": Display(
        "Service utilisation",
        "share of capacity",
        "share",
        "tickets raised over what customer service can resolve a year",
    ),
    "inventory": Display("Inventory", "USD", "money", "average stock held, at standard cost"),
    "net_sales_lost_to_shortage": Display(
        "Sales lost to shortage",
        "USD",
        "money",
        "net sales of order lines demanded but not shipped (no stock or no capacity), a year",
    ),
    "base_payroll": Display("Base payroll", "USD", "money", "base pay of every department, a year"),
    # parts of gross value (signed: costs negative)
    "value.gross_margin": Display(
        "Gross margin (profit walk)",
        "USD",
        "money",
        "gross margin as the profit walk's first driver, a year",
    ),
    "value.holding_cost": Display(
        "Holding cost", "USD", "money", "cost of holding the average stock, a year"
    ),
    "value.shortages": Display(
        "Shortage cost",
        "USD",
        "money",
        "back-orders, split shipments and expediting of short lines",
    ),
    "value.mispicks": Display(
        "Mispick cost", "USD", "money", "returns, re-picks and re-deliveries of mispicked lines"
    ),
    "value.fleet_cost": Display("Fleet cost", "USD", "money", "cost of the routes driven, a year"),
    "value.late_deliveries": Display(
        "Late-delivery cost", "USD", "money", "redeliveries and credits for late drops, a year"
    ),
    "value.lost_customers": Display(
        "Lost-customer cost", "USD", "money", "future margin lost with the customers who leave"
    ),
    "value.staff_turnover": Display(
        "Staff turnover cost",
        "USD",
        "money",
        "replacing the people who leave, all departments, a year",
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
            "purchasing": ("Purchasing", "buyers"),
            "warehouse": ("Warehouse", "warehouse workers"),
            "delivery": ("Delivery", "drivers"),
            "customer_service": ("Customer service", "customer service agents"),
        }.items()
    },
    # levers, per person of the department (index: 1 = the no-incentive level)
    "sales.prospecting": Display(
        "Prospecting", "index", "index", "a sales rep's selling effort: calls, visits, quotes"
    ),
    "sales.discounting": Display(
        "Discounting",
        "share of list price",
        "share",
        "a sales rep's average discount off list price to win orders",
    ),
    "purchasing.order_cover": Display(
        "Order cover", "weeks of demand", "index", "stock a buyer buys, in weeks of forecast demand"
    ),
    "purchasing.forecast_effort": Display(
        "Forecast effort", "index", "index", "a buyer's care in forecasting the mix of demand"
    ),
    "purchasing.supplier_negotiation": Display(
        "Supplier negotiation", "index", "index", "a buyer's effort negotiating prices and rebates"
    ),
    "warehouse.picking_speed": Display(
        "Picking speed", "index", "index", "a warehouse worker's pace of picking and packing"
    ),
    "warehouse.accuracy": Display(
        "Picking accuracy", "index", "index", "a warehouse worker's care: scanning, checking"
    ),
    "delivery.route_density": Display(
        "Route density", "index", "index", "a driver's drops per route"
    ),
    "delivery.punctuality": Display(
        "Punctuality",
        "index",
        "index",
        "a driver's time buffers, calls ahead, delivery windows kept",
    ),
    "customer_service.responsiveness": Display(
        "Responsiveness", "index", "index", "an agent's speed and care in answering customers"
    ),
}

#: The dashboard's tiles for this kind (it models no bridges and no crediting).
INFO = KindInfo(
    story=(
        Kpi(
            "sales.discounting",
            "sales discounting (share off list)",
            "lower",
            "index",
            "a sales rep's average discount off list price",
            unit="share of list price",
        ),
        Kpi(
            "purchasing.order_cover",
            "purchasing order cover (weeks)",
            "higher",
            "index",
            "stock bought, in weeks of forecast demand",
            unit="weeks of demand",
        ),
        Kpi(
            "warehouse.picking_speed",
            "warehouse picking speed (index)",
            "higher",
            "index",
            "a warehouse worker's pace (1 = the no-incentive level)",
            unit="index",
        ),
        Kpi(
            "fill_rate",
            "fill rate",
            "higher",
            "share",
            "order lines shipped from stock",
            unit="share",
        ),
        Kpi(
            "ontime_delivery", "on-time delivery", "higher", "share", "drops on time", unit="share"
        ),
        Kpi("mispick_rate", "mispick rate", "lower", "share", "lines picked wrong", unit="share"),
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
            "net_sales",
            "net sales",
            "higher",
            "money",
            "sales after discounts, the company",
            unit="USD",
        ),
    ),
    labels=_LABELS,
    value_labels={
        "holding_cost": "holding stock",
        "shortages": "shortages",
        "mispicks": "mispicks",
        "fleet_cost": "fleet",
        "late_deliveries": "late deliveries",
        "lost_customers": "lost customers",
        "overhead": "overhead",
    },
    outcomes=(
        "net_sales",
        "fill_rate",
        "ontime_delivery",
        "mispick_rate",
        "response_time",
        "customer_retention",
    ),
    revenue_metric="net_sales",
    margin_metric="gross_margin",
    kpis=(
        Kpi(
            "fill_rate",
            "Fill rate",
            "higher",
            "share",
            "order lines shipped from stock",
            unit="share",
        ),
        Kpi(
            "ontime_delivery", "On-time delivery", "higher", "share", "drops on time", unit="share"
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
)

register_kind("distributor", DistributorModel, info=INFO)
