"""A base for plug-ins whose equations are compiled functions of the levers.

A plug-in writes its model as three numba functions of the lever vector ``t``, the
positions ``order`` of its levers in ``t`` and a record ``inputs`` of everything else
it reads (coefficients, headcounts, base pays, bridges):

* ``equations(t, order, inputs) -> out``: one vector, named by :attr:`OUT`, holding
  ``metric.<name>`` (latent means: logits for shares) first, in :attr:`METRICS` order,
  then ``value.<part>`` for each value part, the further outcomes, ``staff_retention.<d>``
  for each department, and the gross value ``value`` last;
* ``jacobian(t, order, inputs, columns, lower, upper) -> (means, jacobian)``: the means
  and their exact derivatives in the levers ``columns``;
* ``gradient(t, order, inputs, lower, upper) -> (value, gradient)``.

:class:`PackedModel` derives everything else the solver and the reports ask of a model
from them (means, gross value, outcomes, value parts, staff retention, the compiled
path's data, a fingerprint), as the reference manufacturer and the distributor do. The
subclass sets the class attributes and, in ``__init__``, ``levers``, ``metrics``,
``_order``, ``_inputs`` and ``base_payroll``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from . import LeverSpace

__all__ = ["PackedModel", "State"]


@dataclass(frozen=True)
class State:
    """Everything the equations give at one lever vector."""

    metrics: dict[str, float]  # latent means (logit for shares)
    parts: dict[str, float]  # signed parts of value
    outcomes: dict[str, float]
    retention: dict[str, float]
    value: float


class PackedModel:
    """A company model from compiled equations on a packed input record (module doc)."""

    EQUATIONS: ClassVar[Any]  # staticmethod(equations)
    JACOBIAN: ClassVar[Any]  # staticmethod(jacobian)
    GRADIENT: ClassVar[Any]  # staticmethod(gradient)
    OUT: ClassVar[tuple[str, ...]]
    METRICS: ClassVar[tuple[str, ...]]
    VALUE_PARTS: ClassVar[tuple[str, ...]]
    OUTCOMES: ClassVar[tuple[str, ...]]
    DEPARTMENTS: ClassVar[tuple[str, ...]]

    levers: LeverSpace
    metrics: tuple[str, ...]
    base_payroll: float
    _order: np.ndarray
    _inputs: Any
    _cache: tuple[bytes, State] | None = None

    def _state(self, t: np.ndarray) -> State:
        t = np.asarray(t, dtype=float)
        key = t.tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        out = type(self).OUT
        raw = dict(
            zip(out, type(self).EQUATIONS(t, self._order, self._inputs).tolist(), strict=True)
        )
        st = State(
            metrics={m: raw[f"metric.{m}"] for m in type(self).METRICS},
            parts={name: raw[f"value.{name}"] for name in type(self).VALUE_PARTS},
            outcomes={
                **{name: raw[name] for name in type(self).OUTCOMES},
                "base_payroll": self.base_payroll,
                **{name: raw[name] for name in out if name.startswith(("value.", "staff_"))},
            },
            retention={d: raw[f"staff_retention.{d}"] for d in type(self).DEPARTMENTS},
            value=raw["value"],
        )
        self._cache = (key, st)
        return st

    # the CompanyModel interface -------------------------------------------------------
    def means(self, t: np.ndarray) -> np.ndarray:
        """Latent means of :attr:`metrics` at ``t`` (logits for shares)."""
        raw = type(self).EQUATIONS(np.asarray(t, dtype=float), self._order, self._inputs)
        return np.asarray(raw[: len(type(self).METRICS)].copy())

    def gross_value(self, t: np.ndarray) -> float:
        """Gross value at ``t``: currency per period, all people, before pay."""
        return float(
            type(self).EQUATIONS(np.asarray(t, dtype=float), self._order, self._inputs)[-1]
        )

    def outcomes(self, t: np.ndarray) -> Mapping[str, float]:
        """Further figures, the signed parts of value (``value.*``) and staff retention."""
        return dict(self._state(t).outcomes)

    def value_parts(self, t: np.ndarray) -> Mapping[str, float]:
        """Signed parts of gross value (costs negative); they sum to it."""
        return dict(self._state(t).parts)

    def staff_retention(self, t: np.ndarray) -> Mapping[str, float]:
        """Share of each department's people staying, before pay against the market."""
        return dict(self._state(t).retention)

    # capabilities ---------------------------------------------------------------------
    def means_jacobian(self, t: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metric means at ``t`` and their derivatives in the levers ``columns`` (exact,
        forward mode: the derivative from above at a kink), in one compiled call."""
        t = np.asarray(t, dtype=float)
        cols = np.asarray(columns, dtype=np.int64)
        means, jac = type(self).JACOBIAN(
            t, self._order, self._inputs, cols, self.levers.lower, self.levers.upper
        )
        return means, jac

    def value_gradient(self, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Gross value and its gradient in the levers (exact, forward mode, compiled)."""
        value, grad = type(self).GRADIENT(
            np.asarray(t, dtype=float), self._order, self._inputs, self.levers.lower,
            self.levers.upper,
        )  # fmt: skip
        return float(value), grad

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """Everything the equations read besides the levers (equal fingerprints, equal
        model): lets the solver reuse a first best across plan changes."""
        return (tuple(self._inputs), self._order.tobytes())

    @property
    def kernel_data(self) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
        """What the packed Jacobian of the compiled path takes besides the levers and the
        columns: the lever order, the inputs and the levers' bounds."""
        return self._order, self._inputs, self.levers.lower, self.levers.upper
