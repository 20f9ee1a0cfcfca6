"""User-declared company models: ``kind = "declared"``, ``model = "package.module:function"``.

Write one function; compmodel derives the rest (the lever space and effort costs come
from ``[company.levers]`` and ``cost_cross`` as for every model)::

    def my_model(levers: Mapping[str, float], coefficients: Mapping[str, float]) -> dict:
        # levers: {"sales.effort": 1.2, ...}; coefficients: {"name": value, ...}
        return {
            "means": {"bookings": ..., "otif": ...},   # latent means (logit for shares)
            "value": ...,                               # gross value, currency per period
            "outcomes": {...},                          # optional named figures
        }

The function must be importable (installed, or on ``sys.path``) and pure: the same
inputs give the same outputs. Importing it runs code, so compmodel imports it only for a
scenario you trust: loaded with ``load_scenario(path, trust_code=True)`` (the command
line's ``--trust-code``), or given the function itself in Python
(``dataclasses.replace(scenario.company, model=my_model)``). A scenario file alone never
makes compmodel import anything (see docs/security.md).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ScenarioError
from ..scenario import Scenario
from . import LeverSpace, lever_space, register_kind

__all__ = ["DeclaredModel", "load_function"]


def load_function(ref: str) -> Callable[..., Any]:
    """Import ``"package.module:function"``."""
    module_name, _, func_name = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ScenarioError(
            "company.model",
            f"cannot import module {module_name!r} ({e}); install the package that holds "
            "it or put its folder on PYTHONPATH",
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ScenarioError(
            "company.model", f"module {module_name!r} has no function {func_name!r}"
        )
    return func


class DeclaredModel:
    """A company model given by a user function (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        model = scenario.company.model
        if callable(model):  # passed in Python: the caller's own code
            self._func: Callable[..., Any] = model
            self._ref = f"{getattr(model, '__module__', '?')}:{getattr(model, '__qualname__', '?')}"
        else:
            ref = model or ""
            if not scenario.trust_code:
                raise ScenarioError(
                    "company.model",
                    f"names code to import ({ref!r}), and importing runs it; compmodel "
                    "imports code only from a scenario you trust. If you trust this file, "
                    "load it with compmodel.load_scenario(path, trust_code=True) (on the "
                    "command line: --trust-code), or pass the function itself: "
                    "dataclasses.replace(scenario, company=dataclasses.replace("
                    "scenario.company, model=my_function))",
                )
            self._func = load_function(ref)
            self._ref = ref
        self._last: tuple[tuple[float, ...], Mapping[str, Any]] | None = None
        self.levers: LeverSpace = lever_space(scenario)
        self._coefficients = {n: c.value for n, c in scenario.company.coefficients.items()}
        first = self._call(self.levers.rest)
        self.metrics: tuple[str, ...] = tuple(first["means"])
        unknown = [m for m in self.metrics if m not in scenario.metrics]
        if unknown:
            raise ScenarioError(
                "company.model",
                f"{ref} returns means for unknown metrics {unknown}; declare them under [metrics]",
            )

    def _call(self, t: np.ndarray) -> Mapping[str, Any]:
        key = tuple(float(x) for x in t)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        out = self._func(self.levers.as_dict(t), dict(self._coefficients))
        if not isinstance(out, Mapping) or "means" not in out or "value" not in out:
            raise ScenarioError(
                "company.model",
                f"{self._ref} must return a mapping with 'means' and 'value'",
            )
        for k, v in {**dict(out["means"]), "value": out["value"]}.items():
            if not math.isfinite(float(v)):
                raise ScenarioError(
                    "company.model", f"{self._ref} returned a non-finite {k} = {v} at {t}"
                )
        self._last = (key, out)
        return out

    def means(self, t: np.ndarray) -> np.ndarray:
        m = self._call(t)["means"]
        return np.array([float(m[k]) for k in self.metrics])

    def gross_value(self, t: np.ndarray) -> float:
        return float(self._call(t)["value"])

    def outcomes(self, t: np.ndarray) -> Mapping[str, float]:
        return {k: float(v) for k, v in self._call(t).get("outcomes", {}).items()}


register_kind("declared", DeclaredModel)
