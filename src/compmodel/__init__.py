"""compmodel: how a company pays its departments, and what that does.

The workflow, in the order of the modules:

* define plans and scenarios (:mod:`compmodel.plans`, :mod:`compmodel.scenario`), in
  Python or as TOML files (:func:`load_scenario`, :func:`save_scenario`);
* compute the commission budget a plan implies for a metric forecast, exactly and by
  simulation (:func:`commission_budget`);
* predict behaviour: each department's best response to its plan, the equilibrium
  across departments, the first best and no-incentive benchmarks (:func:`solve`,
  :func:`first_best`, :func:`no_incentive`), with company models in
  :mod:`compmodel.models`;
* follow a change of plans year by year, from today's steady state to the proposal's:
  the P&L by year, its net present value and payback (:func:`pnl`);
* simulate outcomes at the equilibrium (:func:`simulate`) and compare plans
  (:func:`compare`, :func:`cost_sheet`, :func:`winners_losers`, :func:`profit_waterfall`,
  :func:`line_of_sight`);
* sweep a setting or a coefficient and rank what matters (:func:`sweep`,
  :func:`tornado`), on any :class:`concurrent.futures.Executor`;
* see where a proposal pays off and how likely it is to: its gain over a grid of two
  uncertain parameters with the line where it is zero (:func:`where_it_pays`,
  :class:`WherePays`), the probability of a positive gain with every stated range as a
  prior (:func:`chance_it_pays`, :class:`ChancePays`), and the gain split between the
  plan change and the bridges free of order (:func:`gain_split`);
* chart it for a finance reader (``from compmodel import charts``: altair, offline) and
  export it for the deck (``from compmodel import export``: PNG, SVG, HTML, Excel and
  PowerPoint, each stamped with the scenarios, a content hash, the key assumptions and
  the version). Both import altair, so ``import compmodel`` alone does not load them;
* explore it live (:func:`dashboard`: sliders for every department's pay, KPI tiles and
  charts that update in place; ``python -m compmodel dashboard`` serves it with voila).

Money is in the scenario's currency per period per person unless a name says total.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .analysis import compare, cost_sheet, line_of_sight, winners_losers
from .budget import BudgetDiagnostics, CommissionBudget, commission_budget
from .caches import clear_caches
from .crediting import credit_on, crediting_metrics
from .dynamics import ProfitPath, pnl
from .errors import (
    CompmodelError,
    ConvergenceError,
    ParameterPathError,
    PlanError,
    RosterError,
    ScenarioError,
)
from .io import load_roster, load_scenario, save_scenario, scenario_from_dict
from .paths import parameter_paths
from .plans import (
    Clawback,
    Component,
    Gate,
    LumpSum,
    Modifier,
    PayoutCurve,
    Plan,
    RateTable,
    Tier,
)
from .profit import (
    BridgeValue,
    GainSplit,
    bridge_values,
    gain_split,
    profit_drivers,
    profit_waterfall,
)
from .scenario import (
    Coefficient,
    Company,
    Department,
    Forecast,
    Lever,
    MeanModel,
    Metric,
    MetricForecast,
    Person,
    Provenance,
    Roster,
    Scenario,
    Settings,
)
from .sensitivity import figure_of, sweep, tornado
from .simulate import Simulation, simulate
from .solve import (
    DepartmentOutcome,
    EquilibriumPoint,
    Solution,
    SolveDiagnostics,
    evaluate,
    first_best,
    no_incentive,
    solve,
)
from .where import ChancePays, WherePays, chance_it_pays, where_it_pays


def __getattr__(name: str) -> object:
    """``compmodel.dashboard``, imported on first use (it loads altair and ipywidgets).

    Also ``compmodel.profit_bridge``, the deprecated name of :func:`profit_waterfall`
    (calling it warns).
    """
    if name in ("dashboard", "Dashboard"):
        from . import live

        return getattr(live, name)
    if name == "profit_bridge":
        from . import profit

        return profit.profit_bridge
    raise AttributeError(f"module 'compmodel' has no attribute {name!r}")


try:
    __version__ = version("compmodel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BridgeValue",
    "BudgetDiagnostics",
    "ChancePays",
    "Clawback",
    "Coefficient",
    "CommissionBudget",
    "Company",
    "CompmodelError",
    "Component",
    "ConvergenceError",
    "Department",
    "DepartmentOutcome",
    "EquilibriumPoint",
    "Forecast",
    "GainSplit",
    "Gate",
    "Lever",
    "LumpSum",
    "MeanModel",
    "Metric",
    "MetricForecast",
    "Modifier",
    "ParameterPathError",
    "PayoutCurve",
    "Person",
    "Plan",
    "PlanError",
    "ProfitPath",
    "Provenance",
    "RateTable",
    "Roster",
    "RosterError",
    "Scenario",
    "ScenarioError",
    "Settings",
    "Simulation",
    "Solution",
    "SolveDiagnostics",
    "Tier",
    "WherePays",
    "__version__",
    "bridge_values",
    "chance_it_pays",
    "clear_caches",
    "commission_budget",
    "compare",
    "cost_sheet",
    "credit_on",
    "crediting_metrics",
    "dashboard",
    "evaluate",
    "figure_of",
    "first_best",
    "gain_split",
    "line_of_sight",
    "load_roster",
    "load_scenario",
    "no_incentive",
    "parameter_paths",
    "pnl",
    "profit_drivers",
    "profit_waterfall",
    "save_scenario",
    "scenario_from_dict",
    "simulate",
    "solve",
    "sweep",
    "tornado",
    "where_it_pays",
    "winners_losers",
]
