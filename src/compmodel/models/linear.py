"""The ``linear`` company model: the textbook (linear-exponential-normal) family.

With ``t`` the lever vector (one entry per ``department.lever``, representative
person of each department):

* metric means ``mu = a + L t`` on each metric's latent scale, ``a`` the intercepts and
  ``L`` the loadings of ``[company.means]`` (a department's effect: all its people
  moving a lever by one unit);
* gross value ``V = sum_l N_l b_l t_l`` (currency per period), ``b_l`` the lever's
  ``value`` per person and ``N_l`` its department's headcount;
* effort cost per person ``1/2 (t_d - rest_d)' C_d (t_d - rest_d)``.

Every closed-form case of the contract-theory checks (docs/behaviour.md) is a model of this kind; see
``data/samples/theory/``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..scenario import Scenario
from . import LeverSpace, lever_space, register_kind

__all__ = ["LinearModel"]


class LinearModel:
    """Metrics linear in levers, quadratic effort costs, value linear in levers."""

    def __init__(self, scenario: Scenario) -> None:
        self.levers: LeverSpace = lever_space(scenario)
        self.metrics: tuple[str, ...] = tuple(scenario.company.means)
        pos = {n: i for i, n in enumerate(self.levers.names)}
        self.intercept = np.array(
            [scenario.company.means[m].intercept for m in self.metrics], dtype=float
        )
        self.loadings = np.zeros((len(self.metrics), len(self.levers.names)))
        for i, m in enumerate(self.metrics):
            for ref, v in scenario.company.means[m].loadings.items():
                self.loadings[i, pos[ref]] = v
        values = []
        for name in self.levers.names:
            d, ln = name.split(".", 1)
            values.append(scenario.company.levers[d][ln].value)
        self.value_per_person = np.asarray(values, dtype=float)

    def means(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self.intercept + self.loadings @ t, dtype=float)

    def gross_value(self, t: np.ndarray) -> float:
        return float(np.sum(self.levers.headcount * self.value_per_person * t))

    def outcomes(self, t: np.ndarray) -> Mapping[str, float]:
        return {}


register_kind("linear", LinearModel)
