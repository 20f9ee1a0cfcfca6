"""Line of sight: how much of a shared result a person sees in their own pay.

One person moving a lever moves a department- or company-scope metric by ``1/N`` of
their department's effect (``N`` its headcount). Caring about colleagues' pay from the
shared metric with weight ``lambda`` in [0, 1] (team identification) scales the
incentive a person perceives to ``LoS = (1 + lambda (N - 1)) / N`` of what it would be on
a metric of their own. A person therefore sees a shared metric's mean move by ``LoS``
times the department's effect of their lever, and bears the full variance of their pay
(line of sight scales the incentive, not the risk). Bridges can raise ``lambda`` (the
company model's ``team_identification(department, base)``, e.g. unofficial leaders
brought in).

Line of sight by what a person moves. An individual-scope metric is a person's own, but
it may contain company-wide consequences of everyone's levers: the reference
manufacturer's ``ontime_margin`` and ``promise_cost`` depend on the plant's load, on
customer churn and on staff turnover, which every sales person's promises move
together. What a person's own levers do to their own orders reaches them whole (line of
sight 1); what they do through the company-wide aggregates reaches them as it does on a
shared metric, with ``LoS``. A person of department ``d`` perceives plan variable ``v``
at their levers ``x`` (everybody else, and the aggregates' reference point, at the
current levers ``t0``) as

    ``m_v(x) = own_v(x) + LoS_d (full_v(x) - own_v(x))``

with gradient ``J_own + LoS_d (J_full - J_own)``, where ``full_v(x)`` is the metric
with the whole department at ``x`` (the representative person's) and ``own_v(x)`` the
metric with the person's levers at ``x`` but every company-wide aggregate frozen at its
value at ``t0`` (the model's ``own_means_jacobian``, :mod:`compmodel.models`). At
``x = t0`` the value is ``m_v(t0)``. On a department- or company-scope metric
``own_v = m_v(t0)`` (all of it shared: ``m0 + LoS (m(x) - m0)``); on an individual-scope
metric of a model that declares no split ``own_v = full_v`` (line of sight 1). In the
company of ``N`` people behind the representative one, where one person deviates and
the others stay put, this is a person's exact marginal incentive at ``t0`` for any
aggregate symmetric in the people (``tests/test_line_of_sight.py`` checks it on the
manufacturer with ``N`` sales people written out).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..models import build_model, capabilities
from ..scenario import Department, Scenario

__all__ = ["line_of_sight", "plan_line_of_sight", "plan_own_split", "shared_line_of_sight"]


def shared_line_of_sight(model: Any, name: str, dept: Department) -> tuple[float, float]:
    """Team identification of department ``name`` (after the model's bridges) and a
    person's line of sight on a metric shared by its people."""
    n = max(dept.headcount, 1)
    lam = dept.team_identification
    ident = getattr(model, "team_identification", None)
    if ident is not None:
        lam = float(ident(name, lam))
    return lam, (1.0 + lam * (n - 1)) / n


def splits(model: Any) -> bool:
    """Whether ``model`` splits its individual-scope metrics into what a person moves
    alone and what everyone moves together (``own_means_jacobian``)."""
    return capabilities(model).own_means_jacobian is not None


def plan_own_split(scenario: Scenario, model: Any, metrics: tuple[str, ...]) -> np.ndarray:
    """For each of ``metrics`` a plan pays on, whether a person perceives it through the
    model's split (module docstring): an individual-scope metric the model sets, where
    the model declares a split."""
    split = splits(model)
    declared = getattr(model, "split_metrics", None)
    return np.array(
        [split and scenario.metrics[m].scope == "individual" and m in model.metrics
         and (declared is None or m in declared) for m in metrics],
        dtype=np.bool_,
    )  # fmt: skip


def plan_line_of_sight(
    scenario: Scenario, model: Any, name: str, metrics: tuple[str, ...]
) -> np.ndarray:
    """A person's line of sight on each of ``metrics`` their plan pays on: the shared
    line of sight on department- and company-scope metrics and on the company-wide part
    of an individual-scope metric the model splits (:func:`plan_own_split`); 1 on other
    individual-scope metrics."""
    _, shared = shared_line_of_sight(model, name, scenario.departments[name])
    split = plan_own_split(scenario, model, metrics)
    return np.array(
        [1.0 if scenario.metrics[m].scope == "individual" and not own else shared
         for m, own in zip(metrics, split, strict=True)],
        dtype=float,
    )  # fmt: skip


def line_of_sight(scenario: Scenario) -> pd.DataFrame:
    """How much of a shared result each department's people can see in their own pay.

    A person's effect on a metric shared by the ``N`` people of a department (or the
    company) is diluted: their marginal incentive on it is ``(1 + lambda (N - 1)) / N``
    of what it would be on a metric of their own, where ``lambda`` in [0, 1] is team
    identification, how much they care about colleagues' pay from the shared metric.
    Bridges can raise ``lambda`` (the reference company's unofficial leaders).

    Parameters
    ----------
    scenario
        A scenario with a company model.

    An individual-scope metric is a person's own (line of sight 1), unless the company
    model splits it into what a person moves alone and the company-wide consequences of
    everyone's levers (the reference manufacturer's sales metrics: load, churn, staff
    turnover): those reach a person with the same share (module docstring).

    Returns
    -------
    pandas.DataFrame
        Per department: ``headcount`` (N), ``team_identification`` as stated,
        ``team_identification_effective`` after the bridges, ``line_of_sight`` (the
        share above, in [1/N, 1]), ``split_individual`` (the plan pays on an
        individual-scope metric whose company-wide part is seen with that share, not
        whole), ``risk_aversion`` (per currency unit) and ``shared_share`` (the plan's
        weight on company-scope metrics).
    """
    model = build_model(scenario)
    rows = []
    for name, dept in scenario.departments.items():
        lam, sight = shared_line_of_sight(model, name, dept)
        paid = tuple(dict.fromkeys(c.metric for c in dept.plan.components.values()))
        rows.append(
            {
                "department": name,
                "headcount": dept.headcount,
                "team_identification": dept.team_identification,
                "team_identification_effective": lam,
                "line_of_sight": sight,
                "split_individual": bool(plan_own_split(scenario, model, paid).any()),
                "risk_aversion": dept.risk_aversion,
                "shared_share": scenario.shared_share(name),
            }
        )
    return pd.DataFrame(rows)
