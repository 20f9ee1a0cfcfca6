"""Line of sight: how much of a shared result a person sees in their own pay.

One person moving a lever moves a department- or company-scope metric by ``1/N`` of
their department's effect (``N`` its headcount). Caring about colleagues' pay from the
shared metric with weight ``lambda`` in [0, 1] (team identification) scales the
incentive a person perceives to ``LoS = (1 + lambda (N - 1)) / N`` of what it would be on
a metric of their own. A person therefore sees a shared metric's mean move by ``LoS``
times the department's effect of their lever, and bears the full variance of their pay
(line of sight scales the incentive, not the risk). Individual-scope metrics have line
of sight 1. Bridges can raise ``lambda`` (the company model's
``team_identification(department, base)``, e.g. unofficial leaders brought in).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..models import build_model
from ..scenario import Department, Scenario

__all__ = ["line_of_sight", "plan_line_of_sight", "shared_line_of_sight"]


def shared_line_of_sight(model: Any, name: str, dept: Department) -> tuple[float, float]:
    """Team identification of department ``name`` (after the model's bridges) and a
    person's line of sight on a metric shared by its people."""
    n = max(dept.headcount, 1)
    lam = dept.team_identification
    ident = getattr(model, "team_identification", None)
    if ident is not None:
        lam = float(ident(name, lam))
    return lam, (1.0 + lam * (n - 1)) / n


def plan_line_of_sight(
    scenario: Scenario, model: Any, name: str, metrics: tuple[str, ...]
) -> np.ndarray:
    """A person's line of sight on each of ``metrics`` their plan pays on: 1 on an
    individual-scope metric, the shared line of sight on the others."""
    _, shared = shared_line_of_sight(model, name, scenario.departments[name])
    return np.array(
        [1.0 if scenario.metrics[m].scope == "individual" else shared for m in metrics],
        dtype=float,
    )


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

    Returns
    -------
    pandas.DataFrame
        Per department: ``headcount`` (N), ``team_identification`` as stated,
        ``team_identification_effective`` after the bridges, ``line_of_sight`` (the
        share above, in [1/N, 1]), ``risk_aversion`` (per currency unit) and
        ``shared_share`` (the plan's weight on company-scope metrics).
    """
    model = build_model(scenario)
    rows = []
    for name, dept in scenario.departments.items():
        lam, sight = shared_line_of_sight(model, name, dept)
        rows.append(
            {
                "department": name,
                "headcount": dept.headcount,
                "team_identification": dept.team_identification,
                "team_identification_effective": lam,
                "line_of_sight": sight,
                "risk_aversion": dept.risk_aversion,
                "shared_share": scenario.shared_share(name),
            }
        )
    return pd.DataFrame(rows)
