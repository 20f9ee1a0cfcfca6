"""compmodel: how a company pays its departments, and what that does.

The workflow, in the order of the modules:

* define plans and scenarios (:mod:`compmodel.plans`, :mod:`compmodel.scenario`), in
  Python or as TOML files (:func:`load_scenario`, :func:`save_scenario`);
* compute the commission budget a plan implies for a metric forecast, exactly and by
  simulation (:func:`commission_budget`).

Money is in the scenario's currency per period per person unless a name says total.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .budget import BudgetDiagnostics, CommissionBudget, commission_budget
from .errors import (
    CompmodelError,
    ParameterPathError,
    PlanError,
    RosterError,
    ScenarioError,
)
from .io import load_roster, load_scenario, save_scenario, scenario_from_dict
from .plans import Component, Gate, LumpSum, Modifier, PayoutCurve, Plan, RateTable, Tier
from .scenario import (
    Coefficient,
    Company,
    Department,
    Forecast,
    Metric,
    MetricForecast,
    Person,
    Roster,
    Scenario,
    Settings,
    parameter_paths,
)

try:
    __version__ = version("compmodel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BudgetDiagnostics",
    "Coefficient",
    "CommissionBudget",
    "Company",
    "CompmodelError",
    "Component",
    "Department",
    "Forecast",
    "Gate",
    "LumpSum",
    "Metric",
    "MetricForecast",
    "Modifier",
    "ParameterPathError",
    "PayoutCurve",
    "Person",
    "Plan",
    "PlanError",
    "RateTable",
    "Roster",
    "RosterError",
    "Scenario",
    "ScenarioError",
    "Settings",
    "Tier",
    "__version__",
    "commission_budget",
    "load_roster",
    "load_scenario",
    "parameter_paths",
    "save_scenario",
    "scenario_from_dict",
]
