"""Participation: what a department's people are paid in base, and who stays.

Per person, currency per period: with ``E`` the expected incentive pay, ``RP`` its risk
premium and ``cost`` the effort cost at the levers, the certainty equivalent is
``CE = base + E - RP - cost``.

* ``settings.participation = "binding"``: base pay adjusts so that ``CE`` equals the
  department's ``market_reference`` (the company pays what it takes to keep people);
  everyone stays.
* ``"fixed_base"``: base pay stays as stated; where ``CE`` falls short of the market
  reference, a share ``turnover_sensitivity x (market - CE) / market`` of people leave
  (``retention`` is the rest, at least 0).
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import ScenarioError
from ..scenario import Department, Settings

__all__ = ["Participation", "participation"]


class Participation(NamedTuple):
    """A department's base pay, its people's certainty equivalent and the share who
    stay because of pay (currency per period per person; a share in [0, 1])."""

    base_pay: float
    certainty_equivalent: float
    retention: float


def participation(
    settings: Settings,
    name: str,
    dept: Department,
    incentive_mean: float,
    risk_premium: float,
    effort_cost: float,
) -> Participation:
    """Base pay, certainty equivalent and retention of department ``name``.

    Raises
    ------
    ScenarioError
        Under ``binding`` participation, if the department has no market reference.
    """
    market = dept.market_reference
    net = incentive_mean - risk_premium - effort_cost
    retention = 1.0
    if settings.participation == "binding":
        if market is None:
            raise ScenarioError(
                f"departments.{name}.market_reference",
                "is required with settings.participation = 'binding' (base pay adjusts "
                "so the certainty equivalent equals it); set it, or use 'fixed_base'",
            )
        base = market - net
    else:
        base = dept.base_pay
        if market is not None and market > 0 and settings.turnover_sensitivity > 0:
            ce_now = base + incentive_mean - risk_premium - effort_cost
            gap = max(0.0, (market - ce_now) / market)
            retention = max(0.0, 1.0 - settings.turnover_sensitivity * gap)
    ce = base + incentive_mean - risk_premium - effort_cost
    return Participation(base, ce, retention)
