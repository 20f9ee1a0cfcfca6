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

from ..errors import ScenarioError
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
    LEVERS: ClassVar[Mapping[str, tuple[str, ...]]]  # department -> its levers, in order

    levers: LeverSpace
    metrics: tuple[str, ...]
    base_payroll: float
    _order: np.ndarray
    _inputs: Any
    _cache: tuple[bytes, State] | None = None

    @classmethod
    def _check(
        cls,
        scenario: Any,
        *,
        kind: str,
        sample: str,
        coefficients: tuple[str, ...],
        positive: frozenset[str] = frozenset(),
        shares: frozenset[str] = frozenset(),
    ) -> None:
        """Check that ``scenario`` has what the equations read: its departments, exactly
        their levers, every coefficient and metric; retention shares in (0, 1),
        ``positive`` coefficients > 0, ``shares`` in [0, 1]."""
        missing_d = [d for d in cls.LEVERS if d not in scenario.departments]
        if missing_d:
            raise ScenarioError(
                "departments",
                f"the {kind} model needs the departments {list(cls.LEVERS)}; missing "
                f"{missing_d}. Start from {sample}.",
            )
        for d, names in cls.LEVERS.items():
            have = set(scenario.company.levers.get(d, {}))
            if have != set(names):
                raise ScenarioError(
                    f"company.levers.{d}",
                    f"the {kind} model's {d} levers are {list(names)}; the scenario "
                    f"declares {sorted(have)}. Declare exactly those (bounds, rest, cost); "
                    f"copy them from {sample}.",
                )
        missing = [c for c in coefficients if c not in scenario.company.coefficients]
        if missing:
            raise ScenarioError(
                "company.coefficients",
                f"the {kind} model needs {len(missing)} more coefficient"
                f"{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. Copy them from "
                f"{sample}.",
            )
        for m in cls.METRICS:
            if m not in scenario.metrics:
                raise ScenarioError(
                    f"metrics.{m}",
                    f"is missing; the {kind} model sets it. Copy [metrics] from {sample}.",
                )
        for name in coefficients:
            value = scenario.company.coefficient(name)
            where = f"company.coefficients.{name}"
            if name.startswith("staff_retention_") and not 0.0 < value < 1.0:
                raise ScenarioError(
                    where, f"is {value:g}; a retention share must lie strictly between 0 and 1"
                )
            if name in positive and not value > 0.0:
                raise ScenarioError(
                    where,
                    f"is {value:g}; it must be > 0 (the equations divide by it or raise "
                    f"to its power); see {sample} for a plausible value",
                )
            if name in shares and not 0.0 <= value <= 1.0:
                raise ScenarioError(
                    where, f"is {value:g}; it is a share and must lie in [0, 1]; see {sample}"
                )

    def _lever_order(self) -> np.ndarray:
        """The position in the lever vector of each lever of :attr:`LEVERS`, in that order."""
        pos = {name: i for i, name in enumerate(self.levers.names)}
        return np.array(
            [pos[f"{d}.{name}"] for d, names in type(self).LEVERS.items() for name in names],
            dtype=np.int64,
        )

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
            retention={d: raw[f"staff_retention.{d}"] for d in type(self).LEVERS},
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
