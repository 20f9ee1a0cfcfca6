"""The reference company's effort costs against published pay-to-output responses.

Run from the repository root: ``python scripts/effort_costs.py [SCENARIO.toml]``
(default ``data/samples/acme_today.toml``; one solve). Re-run it whenever the model
or its calibration changes: the derivation reads every number from the scenario.

It prints

1. each department's response to today's plans against no incentive
   (:func:`compmodel.solve` against :func:`compmodel.no_incentive`): its levers and
   the metrics its plan pays on, with the change;
2. the sales prospecting cost the published responses imply (docs/behaviour.md,
   "Where the effort costs come from"). A rep paid a linear commission ``a`` per USD
   of bookings ``Y = Y(rest) (p / rest)^eps`` chooses selling effort ``p`` where
   ``a dY/dp = cost (p - rest)``, so

       cost = a eps Y(p) / (p (p - rest))

   with ``p = rest (1 + R)^(1/eps)`` the effort that raises bookings by the observed
   response ``R`` and ``Y(p) = Y(rest) (1 + R)``: ``a`` is the slope of sales'
   bookings curve, ``eps`` the coefficient ``prospecting_elasticity``, ``Y(rest)``
   bookings per rep with no incentive;
3. the response the file's cost implies (the same condition solved for ``R``) and the
   one the model gives at today's equilibrium (``(p / rest)^eps - 1``).

The condition takes every USD of bookings to answer selling effort. The reference
company's own bookings equation does not: customers kept from last year reorder without
it, and only new business (a fifth of bookings with no incentive) answers effort, so
the derivation also prints, for each ``p``, the response of bookings in the company's
own equation (``model R``: the other levers at rest, in the year that starts with the
no-incentive customer base; model evaluations, no solve). Where the two differ the
derived cost is not what makes the company's reps respond by ``R``.

``derivation(scenario)`` returns the figures of 2 and 3 without a solve (the test of
docs/behaviour.md uses it); ``responses(scenario)`` those of 1.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from scipy import optimize

import compmodel as cm
from compmodel.models import build_model

ROOT = Path(__file__).resolve().parents[1]
TODAY = ROOT / "data" / "samples" / "acme_today.toml"

#: Output responses to incentive pay the sources report (share of output), low first.
#: Misra & Nair (2011, QME): a sales-force plan redesign raised revenue by about 9%;
#: a change between two commission plans, so a low end for the move from no incentive.
#: Lazear (2000, AER): output per worker rose 44% on the move from hourly pay to piece
#: rates at Safelite, about half of it incentive (effort) and the rest selection: 22%.
RESPONSES: dict[str, float] = {
    "Misra & Nair (2011): plan redesign, revenue +9%": 0.09,
    "Lazear (2000): piece rates, effort half of +44%": 0.22,
}
#: The commission component of sales: a curve on this metric.
COMMISSION_METRIC = "bookings"


@dataclass(frozen=True)
class Implied:
    """The prospecting effort and cost one observed response implies."""

    label: str
    response: float  # R, share of bookings
    effort: float  # p, index
    bookings: float  # Y(p), USD per rep
    cost: float  # USD per person per year per unit^2 of the lever
    model_response: float  # bookings' response at p in the company's own equation


@dataclass(frozen=True)
class Derivation:
    """Every number of the prospecting-cost derivation (docs/behaviour.md)."""

    rate: float  # a, USD of commission per USD of bookings
    elasticity: float  # eps
    rest: float  # prospecting with no incentive (index)
    bookings_at_rest: float  # Y(rest), USD per rep
    sources: tuple[Implied, ...]  # one per response of RESPONSES, in its order
    central: Implied  # at the midpoint of the responses
    cost_range: tuple[float, float]  # the costs at the two ends (low, high)
    file_cost: float  # the cost the scenario holds
    file_range: tuple[float, float] | None  # and its stated range
    file_response: float  # the response the file's cost implies


def commission_rate(scenario: cm.Scenario) -> float:
    """Sales' commission per USD of bookings between threshold and target (the slope of
    its curve on :data:`COMMISSION_METRIC`)."""
    sales = scenario.departments["sales"]
    found = [
        c
        for c in sales.plan.components.values()
        if c.metric == COMMISSION_METRIC and isinstance(c.payout, cm.PayoutCurve)
    ]
    if len(found) != 1:
        raise SystemExit(
            f"sales needs exactly one curve on {COMMISSION_METRIC!r} for the derivation; "
            f"found {len(found)}"
        )
    comp = found[0]
    curve = comp.payout
    assert isinstance(curve, cm.PayoutCurve)
    pay = sales.target_payout * (comp.weight if comp.weight is not None else 1.0)
    return pay * (1.0 - curve.payout_at_threshold) / (curve.target - curve.threshold)


def implied_cost(
    rate: float, elasticity: float, bookings_at_rest: float, response: float, rest: float = 1.0
) -> tuple[float, float, float]:
    """``(p, Y(p), cost)``: the effort that raises bookings by ``response`` and the
    cost at which a rep paid ``rate`` per USD chooses it."""
    p = rest * (1.0 + response) ** (1.0 / elasticity)
    y = bookings_at_rest * (1.0 + response)
    return p, y, rate * elasticity * y / (p * (p - rest))


def implied_response(
    cost: float, rate: float, elasticity: float, bookings_at_rest: float, rest: float = 1.0
) -> float:
    """The response ``R`` at which :func:`implied_cost` gives ``cost`` (it falls as
    ``R`` rises)."""

    def gap(r: float) -> float:
        return implied_cost(rate, elasticity, bookings_at_rest, r, rest)[2] - cost

    return float(optimize.brentq(gap, 1e-9, 10.0, xtol=1e-12))


def model_response(scenario: cm.Scenario, effort: float) -> float:
    """The response of bookings to selling effort ``effort`` in the company model's own
    equations: every other lever at rest, in the year that starts with the customer
    base of no incentive (model evaluations, no solve)."""
    rest = cm.no_incentive(scenario)
    model = build_model(scenario)
    if rest.state:
        model = model.with_state(*rest.state.values())  # type: ignore[attr-defined]
    t = model.levers.rest.copy()
    i = model.metrics.index(COMMISSION_METRIC)
    at_rest = float(model.means(t)[i])
    t[model.levers.names.index("sales.prospecting")] = effort
    return float(model.means(t)[i]) / at_rest - 1.0


def derivation(scenario: cm.Scenario) -> Derivation:
    """The prospecting cost the published responses imply for ``scenario`` (no solve:
    bookings with no incentive come from :func:`compmodel.no_incentive`)."""
    lever = scenario.company.levers["sales"]["prospecting"]
    rate = commission_rate(scenario)
    eps = scenario.company.coefficient("prospecting_elasticity")
    y_rest = cm.no_incentive(scenario).metrics[COMMISSION_METRIC]

    def at(label: str, r: float) -> Implied:
        p, y, cost = implied_cost(rate, eps, y_rest, r, lever.rest)
        return Implied(label, r, p, y, cost, model_response(scenario, p))

    sources = tuple(at(label, r) for label, r in RESPONSES.items())
    mid = sum(RESPONSES.values()) / len(RESPONSES)
    costs = sorted(s.cost for s in sources)
    prov = lever.cost_provenance
    return Derivation(
        rate=rate,
        elasticity=eps,
        rest=lever.rest,
        bookings_at_rest=y_rest,
        sources=sources,
        central=at("midpoint of the sources", mid),
        cost_range=(costs[0], costs[-1]),
        file_cost=lever.cost,
        file_range=None if prov is None else prov.range,
        file_response=implied_response(lever.cost, rate, eps, y_rest, lever.rest),
    )


def responses(scenario: cm.Scenario) -> list[tuple[str, str, float, float]]:
    """``(department, lever or metric, no incentive, today)`` for every lever and every
    metric a plan pays on (one solve)."""
    today = cm.solve(scenario)
    none = cm.no_incentive(scenario)
    rows = []
    for dn, dept in scenario.departments.items():
        for ln in scenario.company.levers.get(dn, {}):
            name = f"{dn}.{ln}"
            rows.append((dn, name, none.levers[name], today.levers[name]))
        for metric in dict.fromkeys(c.metric for c in dept.plan.components.values()):
            rows.append((dn, metric, none.metrics[metric], today.metrics[metric]))
    return rows


def _show(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1_000 else f"{v:.4g}"


def _change(before: float, after: float) -> str:
    if before == 0.0:
        return f"{after - before:+.3g}"
    return f"{(after / before - 1) * 100:+.1f}%"


def report(d: Derivation) -> list[str]:
    """The derivation's lines as :func:`main` prints them (docs/behaviour.md quotes
    them)."""
    lines = [
        "Prospecting cost from published responses: cost = a eps Y(p) / (p (p - rest))",
        f"  commission rate a            {d.rate:.4g} USD per USD of bookings",
        f"  prospecting_elasticity eps   {d.elasticity:g}",
        f"  rest                         {d.rest:g}",
        f"  bookings at rest Y(rest)     {d.bookings_at_rest:,.0f} USD per rep",
        f"  {'source':<50} {'R':>6} {'p':>7} {'Y(p)':>11} {'cost':>9} {'model R':>8}",
    ]
    lines += [
        f"  {s.label:<50} {s.response:>6.1%} {s.effort:>7.4f} {s.bookings:>11,.0f} "
        f"{s.cost:>9,.0f} {s.model_response:>8.1%}"
        for s in (*d.sources, d.central)
    ]
    lo, hi = d.cost_range
    lines.append(f"  range the sources support: {lo:,.0f} to {hi:,.0f}")
    stated = (
        "no range"
        if d.file_range is None
        else f"range {d.file_range[0]:,.0f} to {d.file_range[1]:,.0f}"
    )
    lines.append(
        f"  the file's cost: {d.file_cost:,.0f} ({stated}), a response of "
        f"{d.file_response:.1%} by the same condition"
    )
    return lines


def main(argv: list[str]) -> int:
    scenario = cm.load_scenario(argv[0] if argv else TODAY)
    print(f"{scenario.name}: response to today's plans against no incentive")
    print(f"{'department':<18} {'lever or metric':<34} {'no incentive':>14} {'today':>14} change")
    rows = responses(scenario)
    for dn, name, before, after in rows:
        print(
            f"{dn:<18} {name:<34} {_show(before):>14} {_show(after):>14} {_change(before, after)}"
        )
    d = derivation(scenario)
    p_today = next(after for _, name, _, after in rows if name == "sales.prospecting")
    print()
    print("\n".join(report(d)))
    print(
        f"  the model at today's equilibrium: prospecting {p_today:.4f}, a response of "
        f"{(p_today / d.rest) ** d.elasticity - 1:.1%} from selling effort by the condition's "
        f"curve, {model_response(scenario, p_today):.1%} in the company's own equation"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
