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

The kind brings its equations compiled (:class:`~compmodel.models.CompiledEquations`:
the means and their exact Jacobian ``L``), so ``solve(..., backend="compiled")`` runs
its cases too and the two backends are checked against each other on every closed
form; ``backend="auto"`` keeps the Python path, which takes milliseconds here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._jit import jit
from ..scenario import Scenario
from . import CompiledEquations, LeverSpace, lever_space, register_kind

__all__ = ["LinearModel"]


@jit
def means_jacobian(
    t: np.ndarray, data: tuple[np.ndarray, np.ndarray], columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``mu = a + L t`` and its exact derivatives ``L[:, columns]`` (``data = (a, L)``)."""
    intercept, loadings = data
    n_metrics, n_levers = loadings.shape
    means = intercept.copy()
    for i in range(n_metrics):
        for j in range(n_levers):
            means[i] += loadings[i, j] * t[j]
    jac = np.empty((n_metrics, columns.size))
    for k in range(columns.size):
        jac[:, k] = loadings[:, columns[k]]
    return means, jac


class LinearModel:
    """Metrics linear in levers, quadratic effort costs, value linear in levers."""

    # its Python path takes milliseconds: "auto" stays there (no wait for a compile);
    # backend="compiled" runs the kernels, which checks them on every closed form
    compiled = CompiledEquations(__name__, means_jacobian="means_jacobian", auto=False)

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
        self.kernel_data = (self.intercept, np.ascontiguousarray(self.loadings))

    def means(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(self.intercept + self.loadings @ t, dtype=float)

    def gross_value(self, t: np.ndarray) -> float:
        return float(np.sum(self.levers.headcount * self.value_per_person * t))

    def outcomes(self, t: np.ndarray) -> Mapping[str, float]:
        return {}


register_kind("linear", LinearModel)
