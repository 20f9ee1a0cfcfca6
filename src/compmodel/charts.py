"""Charts a CFO reads without help: altair, offline, from the library's frames.

Each function takes what a library call returns (a :func:`compmodel.compare` frame, a
:func:`compmodel.profit_waterfall` frame, a :class:`compmodel.Simulation`, a
:func:`compmodel.sweep` or :func:`compmodel.tornado` frame, ...) and returns an altair
chart whose ``data`` is a tidy frame of exactly the numbers plotted, so a test (or an
analyst) can check the picture against the library.

Charts that a dashboard slider moves take ``domain=(low, high)`` for their value axis:
pass a fixed range and the axis stays still while the bars move.

The chart gallery, in the order of the article's story:

* :func:`payout_curve` - one component's payout against its metric, threshold, target
  and cap marked;
* :func:`behaviour_shift` - each department's levers, baseline against proposal;
* :func:`outcomes` - key outcomes before and after, as a change with both values;
* :func:`profit_waterfall` - the profit walk: operating profit from one scenario to
  another, by driver;
* :func:`compensation_bill` - incentive pay per department: P10-P90, median and the cap;
* :func:`attainment` and :func:`winners_losers` - per-person attainment, and who gains
  or loses certainty-equivalent pay;
* :func:`sweep_line` and :func:`sweep_heatmap` - a figure across one or two settings,
  the best point marked;
* :func:`tornado` - which coefficients move the figure most, breakevens noted;
* :func:`where_it_pays` - a proposal's gain over two uncertain parameters, the line
  where it is zero drawn on top;
* :func:`bridge_values` - what each bridge between departments is worth, net of its cost;
* :func:`value_ladder` - total surplus with no incentive, at the plan's equilibrium and
  at the first best.

Render offline with :func:`compmodel.export.save_chart` (PNG, SVG, self-contained
HTML); in a notebook, call :func:`enable_notebook` once first (JupyterLab's own
renderer does not draw Vega-Lite 6, and the default one fetches from a CDN).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import altair as alt
import numpy as np
import pandas as pd

from . import kinds
from .errors import ScenarioError
from .models import display_of, info_of
from .scenario import Scenario
from .sensitivity import FIGURES
from .simulate import Simulation
from .solve import Solution
from .validate import canonical_path
from .where import WherePays

__all__ = [
    "DEFAULT_OUTCOMES",
    "attainment",
    "behaviour_shift",
    "bridge_values",
    "compensation_bill",
    "enable_notebook",
    "label",
    "outcomes",
    "payout_curve",
    "profit_waterfall",
    "sweep_heatmap",
    "sweep_line",
    "tornado",
    "value_ladder",
    "where_it_pays",
    "winners_losers",
]

WIDTH = 560
BETTER, WORSE, NEUTRAL, TOTAL = "#2e7d32", "#c62828", "#607d8b", "#37474f"
BASELINE, PROPOSAL = "#90a4ae", "#1565c0"

#: The company figures :func:`outcomes` shows after the company kind's own outcomes
#: (:attr:`compmodel.models.KindInfo.outcomes`): the two money lines a CFO starts from.
DEFAULT_OUTCOMES = ("compensation_bill", "operating_profit")


def default_outcomes(scenario: Scenario | None) -> tuple[str, ...]:
    """What :func:`outcomes` shows for ``scenario``: its kind's outcomes (for the
    reference manufacturer what the article says the company pays for: bookings,
    revenue, on-time delivery, quality, response, loyalty), then :data:`DEFAULT_OUTCOMES`."""
    own = () if scenario is None else info_of(scenario.company.kind).outcomes
    return (*own, *DEFAULT_OUTCOMES)


_LABELS = {
    "operating_profit": "Operating profit",
    "total_surplus": "Total surplus",
    "gross_value": "Gross value",
    "compensation_bill": "Compensation bill",
    "payroll_tax": "Payroll tax",
    "turnover_cost": "Turnover cost",
    "alignment_efficiency": "Alignment efficiency",
}  # the company figures; a kind's metrics and outcomes read from its display table
_MONEY_FIGURES = set(FIGURES) - {"alignment_efficiency"}  # the company figures in currency
_LOWER_IS_BETTER = {"compensation_bill", "payroll_tax", "turnover_cost"}


def label(name: str, kind: str | None = None) -> str:
    """A reader's name for a figure, lever or parameter path (from company ``kind``'s
    display table where given, else from the first kind that declares ``name``).

    A name in a company kind's display table reads as its label there (a lever after its
    department: ``"sales.overpromise"`` -> ``"Sales: over-promising"``, a bridge
    ``"bridges.meetings"`` -> ``"Cross-department meetings"``); otherwise
    ``"sales.curves.bookings.cap"`` -> ``"Sales: bookings curve, cap"``,
    ``"bridges.other"`` -> ``"Bridge: other"``, ``"company.levers.sales.prospecting.cost"``
    -> ``"Sales: prospecting, effort cost"``;
    several paths moved together (a sweep's ``" & "``-joined column) that set the same
    thing in different departments read ``"Shared share: sales, production, ..."``.
    """
    if " & " in name:
        parts = name.split(" & ")
        heads = [p.partition(".")[0] for p in parts]
        tails = {p.partition(".")[2] for p in parts}
        if len(tails) == 1 and all(heads):
            what = tails.pop().replace("_", " ").replace(".", " ")
            return f"{what.capitalize()}: {', '.join(h.replace('_', ' ') for h in heads)}"
        return "; ".join(label(p, kind) for p in parts)
    if name in _LABELS:
        return _LABELS[name]
    shown = display_of(name, kind=kind)
    if shown is not None:
        head, dot, _ = name.partition(".")
        if dot and head != "bridges":  # a lever: its department first
            text = shown.label
            if not text[1:2].isupper():  # "OTIF" keeps its capitals, "Order cover" not
                text = text[:1].lower() + text[1:]
            return f"{head.replace('_', ' ').capitalize()}: {text}"
        return shown.label
    if name.startswith("company.coefficients."):
        return name.removeprefix("company.coefficients.").replace("_", " ")
    parts = name.split(".")
    if len(parts) == 5 and parts[:2] == ["company", "levers"]:  # a lever's field
        what = "effort cost" if parts[4] == "cost" else parts[4].replace("_", " ")
        return f"{label(f'{parts[2]}.{parts[3]}', kind)}, {what}"
    if len(parts) >= 3 and parts[0] == "departments":  # the full form of a department path
        return label(canonical_path(name), kind)
    words = [w.replace("_", " ") for w in name.split(".")]
    if len(words) == 1:
        return words[0].capitalize()
    head, rest = words[0].capitalize(), words[1:]
    if head == "Bridges":
        return f"Bridge: {' '.join(rest)}"
    if rest[0] in ("curves", "gates") and len(rest) >= 3:
        kind = "curve" if rest[0] == "curves" else "gate"
        what = " ".join(rest[2:])
        if what == "cap at rate":  # the cap moved with the slope above target kept
            what = "cap (slope above target kept)"
        return f"{head}: {rest[1]} {kind}, {what}"
    if rest[0] == "weights" and len(rest) == 2:
        return f"{head}: weight on {rest[1]}"
    return f"{head}: {' '.join(rest)}"


def _compact(value: float) -> str:
    """A setting's value, short: ``2.4M``, ``350k``, ``0.25``."""
    v = abs(value)
    if v >= 1e6:
        return f"{value / 1e6:,.3g}M"
    if v >= 1e4:
        return f"{value / 1e3:,.3g}k"
    return f"{value:,.4g}"


def _unit_of(name: str, scenario: Scenario | None) -> str:
    if scenario is not None and "." in name:
        dept, _, lever = name.partition(".")
        found = scenario.company.levers.get(dept, {}).get(lever)
        if found is not None:
            return found.unit
    if name in _MONEY_FIGURES:
        return scenario.currency if scenario is not None else "money"
    if scenario is not None and name in scenario.metrics:
        unit = scenario.metrics[name].unit
        return "share" if unit in ("share", "fraction", "%") else unit
    if name == "alignment_efficiency" or name.endswith("retention"):
        return "share"
    return ""


def _is_money(unit: str, scenario: Scenario | None) -> bool:
    return unit == "money" or (scenario is not None and unit == scenario.currency)


def _format(value: float, unit: str, scenario: Scenario | None) -> str:
    """A number as a CFO reads it: ``1.9M``, ``80.3%``, ``22.5 hours``."""
    if not math.isfinite(value):
        return "n/a"
    if unit == "share":
        return f"{value:.1%}"
    if _is_money(unit, scenario):
        sign = "-" if value < 0 else ""
        v = abs(value)
        if v >= 1e6:
            return f"{sign}{v / 1e6:,.2f}M"
        if v >= 1e4:
            return f"{sign}{v / 1e3:,.0f}k"
        return f"{sign}{v:,.0f}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return f"{text} {unit}".strip()


def _layered(*layers: alt.Chart, data: pd.DataFrame) -> alt.LayerChart:
    """Layers drawn from one frame (the frame a test or an analyst checks)."""
    return alt.LayerChart(layer=list(layers), data=data)


def _money_axis(title: str, domain: tuple[float, float] | None = None) -> dict[str, Any]:
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
    return {"title": title, "axis": alt.Axis(format="~s"), "scale": scale}


def _period(scenario: Scenario | None) -> str:
    if scenario is None:
        return ""
    return f"{scenario.currency} per {scenario.period}"


def _check_columns(frame: pd.DataFrame, needed: Sequence[str], made_by: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ScenarioError(
            "frame", f"expected a pandas DataFrame from {made_by}, got {type(frame).__name__}"
        )
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ScenarioError(
            "frame",
            f"is missing columns {missing}: pass the frame that {made_by} returns "
            f"(it has {list(needed)})",
        )


# --------------------------------------------------------------------------------------
# payout curve
# --------------------------------------------------------------------------------------
def payout_curve(
    scenario: Scenario,
    department: str,
    component: str,
    *,
    points: int = 201,
    marker: float | None = None,
) -> alt.LayerChart:
    """One component's payout per person against its metric.

    Parameters
    ----------
    scenario
        The scenario holding the plan.
    department, component
        Which plan component (e.g. ``"sales"``, ``"bookings"``).
    points
        How many metric values to draw the curve through.
    marker
        A metric value to mark (e.g. the department's expected value at equilibrium,
        ``solution.metrics["bookings"]``).

    Returns
    -------
    altair.LayerChart
        ``data``: ``metric_value`` (the metric's unit) and ``payout`` (currency per
        person per period, at the representative person's target incentive). The
        threshold, target and cap are marked with their payouts.
    """
    if department not in scenario.departments:
        raise ScenarioError(
            "department",
            f"unknown department {department!r}; allowed: {sorted(scenario.departments)}",
        )
    dept = scenario.departments[department]
    comps = dept.plan.components
    if component not in comps:
        raise ScenarioError(
            f"{department}.component",
            f"unknown component {component!r}; allowed: {list(comps)}",
        )
    comp = comps[component]
    metric = scenario.metrics[comp.metric]
    target_payout = dept.target_incentive * dept.base_pay
    rate = dept.plan.clawback_rate(component, target_payout)
    poly = comp.money_poly(metric.direction, target_payout, clawback_rate=rate)
    marks = _curve_marks(comp.payout, poly)
    xs = [x for _, x in marks] + ([marker] if marker is not None else [])
    forecast = scenario.forecast.metrics.get(comp.metric) if scenario.forecast else None
    if forecast is not None and forecast.mean is not None and metric.scale == "normal":
        xs += [forecast.mean - 2 * forecast.sd, forecast.mean + 2 * forecast.sd]
    if not xs:  # nothing says where the metric lives (a clawback with no forecast mean)
        xs = [0.0, 1.0]
    lo, hi = min(xs), max(xs)
    pad = 0.25 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.5
    grid = np.linspace(lo - pad, hi + pad, points)
    data = pd.DataFrame({"metric_value": grid, "payout": np.asarray(poly(grid), dtype=float)})
    mark_frame = pd.DataFrame(
        {
            "mark": [m for m, _ in marks],
            "metric_value": [x for _, x in marks],
            "payout": [float(poly(np.array([x]))[0]) for _, x in marks],
        }
    )
    if marker is not None:
        mark_frame = pd.concat(
            [
                mark_frame,
                pd.DataFrame(
                    {
                        "mark": ["expected"],
                        "metric_value": [marker],
                        "payout": [float(poly(np.array([marker]))[0])],
                    }
                ),
            ],
            ignore_index=True,
        )
    unit = metric.unit
    x_title = f"{label(comp.metric)} ({unit})" if unit else label(comp.metric)
    y_title = f"Payout per person ({_period(scenario)})"
    curve = (
        alt.Chart(data)
        .mark_line(color=PROPOSAL, strokeWidth=2.5)
        .encode(
            x=alt.X(
                "metric_value:Q",
                title=x_title,
                axis=alt.Axis(format="~s"),
                scale=alt.Scale(domain=[float(grid[0]), float(grid[-1])], nice=False),
            ),
            y=alt.Y("payout:Q", title=y_title, axis=alt.Axis(format="~s")),
        )
    )
    rules = (
        alt.Chart(mark_frame).mark_rule(strokeDash=[4, 3], color=NEUTRAL).encode(x="metric_value:Q")
    )
    dots = (
        alt.Chart(mark_frame)
        .mark_point(filled=True, size=70, color=TOTAL)
        .encode(
            x="metric_value:Q",
            y="payout:Q",
            tooltip=[
                alt.Tooltip("mark:N", title="point"),
                alt.Tooltip("metric_value:Q", title=label(comp.metric), format=",.4~g"),
                alt.Tooltip("payout:Q", title="payout", format=",.0f"),
            ],
        )
    )
    # the plan's points above the curve, the expected value below it: they never overlap
    text = (
        alt.Chart(mark_frame)
        .transform_filter(alt.datum.mark != "expected")
        .mark_text(align="left", dx=6, dy=-8, fontSize=12)
        .encode(x="metric_value:Q", y="payout:Q", text="mark:N")
    )
    expected = (
        alt.Chart(mark_frame)
        .transform_filter(alt.datum.mark == "expected")
        .mark_text(align="left", dx=6, dy=14, fontSize=12, color=PROPOSAL)
        .encode(x="metric_value:Q", y="payout:Q", text="mark:N")
    )
    notes = []
    if comp.weight is not None:
        notes.append(
            f"weight {comp.weight:.0%} of a {target_payout:,.0f} {scenario.currency} target incentive"
        )
    if comp.gate is not None:
        gate_metric = scenario.metrics[comp.gate.metric]
        sign = "≥" if gate_metric.direction == "higher" else "≤"
        level = (
            f"{comp.gate.threshold:.0%}"
            if _unit_of(comp.gate.metric, scenario) == "share"
            else _compact(comp.gate.threshold)
        )
        notes.append(f"paid only when {label(comp.gate.metric)} {sign} {level}")
    notes.append("flat stretches are where extra effort earns nothing")
    title = alt.TitleParams(
        f"{label(department)} paid on {label(comp.metric).lower()}: payout per person",
        subtitle="; ".join(notes),
    )
    return _layered(curve, rules, dots, text, expected, data=data).properties(
        title=title, width=WIDTH, height=300
    )


def _curve_marks(payout: Any, poly: Any) -> list[tuple[str, float]]:
    from .plans import LumpSum, PayoutCurve, RateTable

    if isinstance(payout, PayoutCurve):
        marks = [("threshold", payout.threshold), ("target", payout.target)]
        if payout.cap is not None:
            marks.append(("cap", payout.cap))
        return marks
    if isinstance(payout, RateTable):
        bounds = [b for b in payout.bounds() if math.isfinite(b)]
        return [("target", payout.target)] + [(f"tier to {_compact(b)}", b) for b in bounds]
    if isinstance(payout, LumpSum):
        return [("quota", payout.quota)]
    breaks = [float(b) for b in np.asarray(poly.breaks) if math.isfinite(b)]
    return [(f"break {i + 1}", b) for i, b in enumerate(breaks)]


# --------------------------------------------------------------------------------------
# behaviour and outcomes: from a compare() frame
# --------------------------------------------------------------------------------------
def _two_columns(comparison: pd.DataFrame) -> tuple[str, str]:
    if not isinstance(comparison, pd.DataFrame) or comparison.index.nlevels != 3:
        raise ScenarioError(
            "comparison",
            "expected the frame compmodel.compare({...}) returns (index section, "
            "department, figure; one column per scenario)",
        )
    cols = [c for c in comparison.columns if " - " not in str(c)]
    if len(cols) < 2:
        raise ScenarioError(
            "comparison", "needs two scenarios: compmodel.compare({'today': a, 'proposal': b})"
        )
    return str(cols[0]), str(cols[1])


def lever_frame(levers: Mapping[str, Mapping[str, float]], kind: str | None = None) -> pd.DataFrame:
    """The data of :func:`behaviour_shift` from ``{scenario: solution.levers}``; each
    lever's ``name`` from company ``kind``'s display table."""
    rows = []
    names = list(levers)
    for path in levers[names[0]]:
        dept, _, lever = path.partition(".")
        shown = label(path, kind)
        for col in names:
            rows.append(
                {
                    "department": dept,
                    "lever": lever,
                    "name": shown,
                    "scenario": col,
                    "value": float(levers[col][path]),
                }
            )
    return pd.DataFrame(rows)


def behaviour_shift(
    comparison: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.Chart:
    """Each department's levers under the baseline and the proposal.

    Parameters
    ----------
    comparison
        :func:`compmodel.compare` of two solved scenarios (baseline first).
    scenario
        Optional: the scenario, for lever units and a fixed axis from the levers'
        bounds (when ``domain`` is not given).
    domain
        Fixed range of the lever axis.

    Returns
    -------
    altair.Chart
        ``data``: ``department``, ``lever``, ``name`` (reader's label), ``scenario``,
        ``value`` (lever per person, in the lever's unit).
    """
    a, b = _two_columns(comparison)
    levers = comparison.xs("levers", level="section")
    by_scenario: dict[str, dict[str, float]] = {a: {}, b: {}}
    for key, r in levers.iterrows():
        dept, lever = cast(tuple[str, str], key)
        for col in (a, b):
            by_scenario[col][f"{dept}.{lever}"] = float(r[col])
    data = lever_frame(by_scenario, None if scenario is None else scenario.company.kind)
    if domain is None and scenario is not None:
        uppers = [
            lv.upper
            for levers_of in scenario.company.levers.values()
            for lv in levers_of.values()
            if lv.upper is not None
        ]
        if uppers:
            domain = (0.0, float(max(uppers)))
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Undefined
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort=None),
            yOffset=alt.YOffset("scenario:N", sort=[a, b]),
            x=alt.X(
                "value:Q",
                title="Lever per person (each in its own unit; hover for the value)",
                scale=scale,
            ),
            color=alt.Color(
                "scenario:N",
                title=None,
                sort=[a, b],
                scale=alt.Scale(domain=[a, b], range=[BASELINE, PROPOSAL]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("name:N", title="lever"),
                alt.Tooltip("scenario:N"),
                alt.Tooltip("value:Q", format=".3f"),
            ],
        )
        .properties(
            title=alt.TitleParams(
                "How each department's behaviour shifts",
                subtitle=f"levers each department chooses: {a} vs {b}",
            ),
            width=WIDTH,
        )
    )


def _present(comparison: pd.DataFrame, scenario: Scenario | None) -> tuple[str, ...]:
    if scenario is not None:
        return default_outcomes(scenario)
    names = {key[2] for key in comparison.index if key[0] in ("metrics", "outcomes")}
    for kind in kinds.BUILTIN:  # the kind whose outcomes the comparison holds
        own = info_of(kind).outcomes
        if own and set(own) <= names:
            return (*own, *DEFAULT_OUTCOMES)
    return DEFAULT_OUTCOMES


def _figure_row(comparison: pd.DataFrame, name: str) -> pd.Series:
    for section in ("company", "metrics", "outcomes"):
        key = (section, "", name)
        if key in comparison.index:
            return cast(pd.Series, comparison.loc[key, :])
    raise ScenarioError(
        "figures",
        f"{name!r} is not a company figure, metric or outcome in this comparison; "
        f"allowed e.g. {list(DEFAULT_OUTCOMES)} or the metrics of the comparison",
    )


def outcome_frame(
    values: Sequence[tuple[str, float, float]], scenario: Scenario | None = None
) -> pd.DataFrame:
    """The data of :func:`outcomes` from ``(figure, before, after)`` triples."""
    rows = []
    for name, before, after in values:
        unit = _unit_of(name, scenario)
        change = after - before
        if abs(change) <= 1e-9 * max(abs(before), abs(after)):  # solver precision, not a change
            change = 0.0
        better = (change < 0) if _direction(name, scenario) == "lower" else (change > 0)
        rows.append(
            {
                "figure": name,
                "name": label(name),
                "before": before,
                "after": after,
                "change": change,
                "change_pct": change / abs(before) if before != 0 else float("nan"),
                "better": better,
                "status": "no change" if change == 0 else ("better" if better else "worse"),
                "text": f"{_format(before, unit, scenario)} → {_format(after, unit, scenario)}",
            }
        )
    return pd.DataFrame(rows)


def outcomes(
    comparison: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    figures: Sequence[str] | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Key outcomes before and after: the change in % with both values written out.

    Parameters
    ----------
    comparison
        :func:`compmodel.compare` of two solved scenarios (baseline first).
    scenario
        Optional: the scenario, for units and for which direction is better.
    figures
        Company figures, metrics or outcomes to show (default
        :func:`default_outcomes` of ``scenario``; without one, those of the kinds'
        outcomes the comparison holds, then :data:`DEFAULT_OUTCOMES`).
    domain
        Fixed range of the change axis, as fractions (``(-0.5, 0.5)`` for -50%..+50%).

    Returns
    -------
    altair.LayerChart
        ``data``: ``figure``, ``name``, ``before``, ``after``, ``change`` (after -
        before, in the figure's unit), ``change_pct`` (change / |before|), ``better``
        (the change is an improvement), ``text`` (both values, formatted).
    """
    a, b = _two_columns(comparison)
    if figures is None:
        figures = _present(comparison, scenario)
    values = []
    for name in figures:
        r = _figure_row(comparison, name)
        values.append((name, float(r[a]), float(r[b])))
    data = outcome_frame(values, scenario)
    scale = alt.Scale(domain=list(domain), clamp=True) if domain is not None else alt.Undefined
    y = alt.Y("name:N", title=None, sort=list(data["name"]))
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "change_pct:Q",
                title=f"Change from {a} to {b}",
                axis=alt.Axis(format="%"),
                scale=scale,
            ),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=["better", "worse", "no change"], range=[BETTER, WORSE, NEUTRAL]
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["name:N", "text:N", alt.Tooltip("change_pct:Q", format="+.1%")],
        )
    )
    text = (
        alt.Chart()
        .mark_text(align="left", x=alt.ExprRef(expr="width + 8"), fontSize=12)
        .encode(y=y, text="text:N")
    )
    return _layered(bars, text, data=data).properties(
        title=alt.TitleParams(
            f"Outcomes: {a} → {b}",
            subtitle="bars: change in %, green where the company is better off; right: the two values",
        ),
        width=WIDTH,
        height=28 * len(data),
    )


# --------------------------------------------------------------------------------------
# money: the profit walk and the compensation bill
# --------------------------------------------------------------------------------------
def waterfall_frame(walk: pd.DataFrame) -> pd.DataFrame:
    """The data of :func:`profit_waterfall`, from :func:`compmodel.profit_waterfall`'s frame."""
    rows = []
    for step, driver, amount, end in zip(
        walk["step"].tolist(),
        walk["driver"].tolist(),
        walk["amount"].tolist(),
        walk["cumulative"].tolist(),
        strict=True,
    ):
        if step in ("start", "end"):
            start, kind = 0.0, "total"
        else:
            start, kind = end - amount, ("gain" if amount >= 0 else "loss")
        rows.append(
            {
                "driver": str(driver),
                "amount": float(amount),
                "start": start,
                "end": end,
                "kind": kind,
                "text": _format(amount, "money", None),
            }
        )
    data = pd.DataFrame(rows)
    if data["driver"].iloc[0] == data["driver"].iloc[-1]:  # two variants of one scenario
        data.loc[data.index[0], "driver"] = f"before: {data['driver'].iloc[0]}"
        data.loc[data.index[-1], "driver"] = f"after: {data['driver'].iloc[-1]}"
    return data


def profit_waterfall(
    walk: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """The profit walk: operating profit from one scenario to another, driver by driver.

    Parameters
    ----------
    walk
        :func:`compmodel.profit_waterfall` of the two scenarios.
    scenario
        Optional: either scenario, for the currency in the axis title.
    domain
        Fixed range of the money axis.

    Returns
    -------
    altair.LayerChart
        ``data``: ``driver``, ``amount`` (currency per period), ``start`` and ``end``
        (where each bar begins and ends), ``kind`` (``total``, ``gain``, ``loss``).
    """
    _check_columns(walk, ("step", "driver", "amount", "cumulative"), "compmodel.profit_waterfall")
    data = waterfall_frame(walk)
    order = list(data["driver"])
    x = alt.X("driver:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=220))
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "start:Q",
                **_money_axis(f"Operating profit ({_period(scenario) or 'per period'})", domain),
            ),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=["total", "gain", "loss"], range=[TOTAL, BETTER, WORSE]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["driver:N", alt.Tooltip("amount:Q", format=",.0f")],
        )
    )
    text = alt.Chart().mark_text(dy=-6, fontSize=11).encode(x=x, y=alt.Y("end:Q"), text="text:N")
    first, last = (name.removesuffix(": operating profit") for name in (order[0], order[-1]))
    return _layered(bars, text, data=data).properties(
        title=alt.TitleParams(
            f"Profit walk: {first} → {last}",
            subtitle="where the change in operating profit comes from, driver by driver",
        ),
        width=WIDTH,
        height=320,
    )


def profit_bridge(
    bridge: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Deprecated: use :func:`profit_waterfall` (the same chart; "bridges" link departments)."""
    warnings.warn(
        "charts.profit_bridge is deprecated; use charts.profit_waterfall",
        DeprecationWarning,
        stacklevel=2,
    )
    return profit_waterfall(bridge, scenario=scenario, domain=domain)


def bridge_frame(bridge: pd.DataFrame) -> pd.DataFrame:
    """Deprecated: use :func:`waterfall_frame` (the same frame)."""
    warnings.warn(
        "charts.bridge_frame is deprecated; use charts.waterfall_frame",
        DeprecationWarning,
        stacklevel=2,
    )
    return waterfall_frame(bridge)


def bill_frame(simulation: Simulation) -> pd.DataFrame:
    """The data of :func:`compensation_bill`."""
    summary = simulation.summary.set_index("department").to_dict("index")
    budget = simulation.budget.departments
    depts = budget["department"].tolist()
    return pd.DataFrame(
        {
            "department": [label(d) for d in depts],
            "p10": [float(summary[d]["incentive_p10"]) for d in depts],
            "p50": [float(summary[d]["incentive_p50"]) for d in depts],
            "p90": [float(summary[d]["incentive_p90"]) for d in depts],
            "expected": [float(summary[d]["incentive_mean"]) for d in depts],
            "cap": [float(c) for c in budget["max_exposure"].tolist()],
        }
    )


def compensation_bill(
    simulation: Simulation,
    *,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """Incentive pay per department: P10 to P90, the median, the expected bill and the cap.

    Parameters
    ----------
    simulation
        :func:`compmodel.simulate` of a scenario.
    domain
        Fixed range of the money axis.

    Returns
    -------
    altair.LayerChart
        ``data``: per department ``p10``, ``p50``, ``p90`` and ``expected`` of the
        department's total incentive pay, and ``cap`` (the most its plans could owe),
        all in currency per period.
    """
    if not isinstance(simulation, Simulation):
        raise ScenarioError(
            "simulation",
            f"expected compmodel.simulate(...)'s result, got {type(simulation).__name__}",
        )
    data = bill_frame(simulation)
    currency = simulation.budget.currency
    title = f"Incentive pay, total per department ({currency} per {simulation.budget.period})"
    axis = _money_axis(title, domain)
    y = alt.Y("department:N", title=None, sort=list(data["department"]))
    band = (
        alt.Chart()
        .mark_bar(height=14, color=PROPOSAL, opacity=0.35)
        .encode(y=y, x=alt.X("p10:Q", **axis), x2="p90:Q")
    )
    median = alt.Chart().mark_tick(color=PROPOSAL, thickness=3, size=20).encode(y=y, x="p50:Q")
    cap = (
        alt.Chart()
        .mark_point(shape="diamond", filled=True, size=90, color=WORSE)
        .encode(
            y=y,
            x="cap:Q",
            tooltip=[
                "department:N",
                alt.Tooltip("p10:Q", format=",.0f"),
                alt.Tooltip("p50:Q", format=",.0f"),
                alt.Tooltip("p90:Q", format=",.0f"),
                alt.Tooltip("cap:Q", format=",.0f", title="most the plans could owe"),
            ],
        )
    )
    return _layered(band, median, cap, data=data).properties(
        title=alt.TitleParams(
            "The compensation bill: what incentive pay could cost",
            subtitle=(
                f"band: P10-P90 of {simulation.n_draws:,} simulated years; tick: median; "
                "red diamond: the cap, the most the plans could owe"
            ),
        ),
        width=WIDTH,
    )


# --------------------------------------------------------------------------------------
# people
# --------------------------------------------------------------------------------------
def attainment(simulation: Simulation, *, department: str = "sales") -> alt.LayerChart:
    """Per-person expected attainment of quota and the chance of reaching it.

    Returns
    -------
    altair.LayerChart
        ``data``: ``person``, ``attainment`` (expected metric over quota),
        ``share_at_or_above_quota`` (simulated chance), ``expected_payout`` (currency).
    """
    people = simulation.people
    rows = people[(people["department"] == department) & people["attainment_mean"].notna()]
    if rows.empty:
        with_quota = sorted(people.loc[people["attainment_mean"].notna(), "department"].unique())
        raise ScenarioError(
            "department",
            f"{department!r} has no per-person quotas in this simulation; "
            f"departments with a roster and quota: {with_quota}",
        )
    data = pd.DataFrame(
        {
            "person": rows["person"].astype(str).to_numpy(),
            "attainment": rows["attainment_mean"].to_numpy(dtype=float),
            "share_at_or_above_quota": rows["share_at_or_above_quota"].to_numpy(dtype=float),
            "expected_payout": rows["expected_payout"].to_numpy(dtype=float),
        }
    )
    x = alt.X("person:N", sort="-y", title=None)
    bars = (
        alt.Chart()
        .mark_bar(color=PROPOSAL)
        .encode(
            x=x,
            y=alt.Y(
                "attainment:Q",
                title="Expected attainment (metric ÷ quota)",
                axis=alt.Axis(format="%"),
            ),
            tooltip=[
                "person:N",
                alt.Tooltip("attainment:Q", format=".0%"),
                alt.Tooltip("share_at_or_above_quota:Q", format=".0%", title="chance of quota"),
                alt.Tooltip("expected_payout:Q", format=",.0f"),
            ],
        )
    )
    quota = (
        alt.Chart(pd.DataFrame({"y": [1.0]}))
        .mark_rule(strokeDash=[4, 3], color=TOTAL)
        .encode(y="y:Q")
    )
    return _layered(bars, quota, data=data).properties(
        title=alt.TitleParams(
            f"{label(department)}: who reaches quota",
            subtitle="expected attainment per person; dashed line: quota",
        ),
        width=WIDTH,
    )


def winners_losers(frame: pd.DataFrame, *, domain: tuple[float, float] | None = None) -> alt.Chart:
    """Who gains and who loses: the change in each person's certainty-equivalent pay.

    Parameters
    ----------
    frame
        :func:`compmodel.winners_losers` of the baseline and the proposal.
    domain
        Fixed range of the change axis (currency per person per period).

    Returns
    -------
    altair.Chart
        ``data``: ``who`` (department: person), ``change_ce`` and ``change_pay``
        (currency per person), ``status`` (``gains``, ``loses``, or ``below market after``:
        a person whose pay would be worth less than the market's, who might leave).
    """
    _check_columns(
        frame,
        ("department", "person", "change_ce", "change_pay", "below_market_after"),
        "compmodel.winners_losers",
    )
    data = pd.DataFrame(
        {
            "who": [
                f"{label(d)}: {p}"
                for d, p in zip(frame["department"], frame["person"], strict=True)
            ],
            "change_ce": frame["change_ce"].to_numpy(dtype=float),
            "change_pay": frame["change_pay"].to_numpy(dtype=float),
            "status": [
                "below market after" if bm else ("gains" if c > 0 else "loses")
                for c, bm in zip(frame["change_ce"], frame["below_market_after"], strict=True)
            ],
        }
    )
    scale = alt.Scale(domain=list(domain), clamp=True) if domain is not None else alt.Undefined
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("who:N", sort="-x", title=None),
            x=alt.X(
                "change_ce:Q",
                title="Change in what the pay is worth to the person (certainty equivalent, per person)",
                axis=alt.Axis(format="~s"),
                scale=scale,
            ),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=["gains", "loses", "below market after"], range=[BETTER, NEUTRAL, WORSE]
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                "who:N",
                alt.Tooltip("change_ce:Q", format=",.0f"),
                alt.Tooltip("change_pay:Q", format=",.0f", title="change in expected pay"),
                "status:N",
            ],
        )
        .properties(
            title=alt.TitleParams(
                "Winners and losers",
                subtitle="red: people whose pay would be worth less than the market's after the change (likely leavers)",
            ),
            width=WIDTH,
        )
    )


# --------------------------------------------------------------------------------------
# sweeps and sensitivity
# --------------------------------------------------------------------------------------
def _sweep_values(frame: pd.DataFrame, figure: str) -> tuple[list[str], pd.DataFrame]:
    _check_columns(frame, ("section", "department", "figure", "value"), "compmodel.sweep")
    params = [c for c in frame.columns if c not in ("section", "department", "figure", "value")]
    section, _, name = figure.rpartition(":")
    rows = frame[frame["figure"] == name]
    dept = ""
    if "." in name and rows.empty:
        dept, _, fig = name.partition(".")
        rows = frame[(frame["department"] == dept) & (frame["figure"] == fig)]
    if section:
        rows = rows[rows["section"] == section]
    elif rows["section"].nunique() > 1:
        prefer = [
            s
            for s in ("company", "metrics", "outcomes", "levers", "pay")
            if s in set(rows["section"])
        ]
        rows = rows[rows["section"] == prefer[0]]
    if rows.empty:
        raise ScenarioError(
            "figure",
            f"{figure!r} is not in this sweep; allowed e.g. "
            f"{sorted(set(frame.loc[frame['section'] == 'company', 'figure']))}",
        )
    return params, rows[[*params, "value"]].reset_index(drop=True)


def sweep_line(
    frame: pd.DataFrame,
    figure: str = "operating_profit",
    *,
    scenario: Scenario | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """A figure across one swept setting, the best value marked.

    Parameters
    ----------
    frame
        :func:`compmodel.sweep` over one parameter.
    figure
        Which figure (a company figure, metric, outcome, ``"sales.overpromise"``);
        ``"section:name"`` picks a section when a name is in several.
    scenario
        Optional: for units and currency.
    domain
        Fixed range of the figure axis.

    Returns
    -------
    altair.LayerChart
        ``data``: the parameter's values, ``value`` (the figure) and ``best`` (True at
        the maximum; at the minimum for a cost or a lower-is-better metric).
    """
    params, data = _sweep_values(frame, figure)
    if len(params) != 1:
        raise ScenarioError(
            "frame",
            f"sweep_line needs a one-parameter sweep; this one has {params}; use sweep_heatmap",
        )
    name = figure.rpartition(":")[2]
    param = params[0]
    data = data.rename(columns={param: "setting"})
    pick = _best_index(data["value"].to_numpy(), name, scenario)
    data["best"] = False
    if pick is not None:
        data.loc[pick, "best"] = True
    unit = _unit_of(name, scenario)
    y_title = (
        f"{label(name)} ({_period(scenario) if _is_money(unit, scenario) else unit or 'value'})"
    )
    axis_fmt = "%" if unit == "share" else "~s"
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    x = alt.X("setting:Q", title=label(param))
    line = (
        alt.Chart()
        .mark_line(color=PROPOSAL, point=True)
        .encode(x=x, y=alt.Y("value:Q", title=y_title, axis=alt.Axis(format=axis_fmt), scale=scale))
    )
    best = (
        alt.Chart()
        .transform_filter(alt.datum.best)
        .mark_point(shape="diamond", size=160, filled=True, color=BETTER)
        .encode(
            x=x,
            y="value:Q",
            tooltip=[
                alt.Tooltip("setting:Q", title=label(param)),
                alt.Tooltip("value:Q", format=",.4~g"),
            ],
        )
    )
    if pick is not None:
        at, value = float(data["setting"].iloc[pick]), float(data["value"].iloc[pick])
        subtitle = f"best (diamond) at {_compact(at)}: {_format(value, unit, scenario)}"
    else:
        ends = data.iloc[[0, -1]]
        subtitle = " → ".join(
            f"{_format(float(v), unit, scenario)} at {_compact(float(a))}"
            for a, v in zip(ends["setting"], ends["value"], strict=True)
        )
    return _layered(line, best, data=data).properties(
        title=alt.TitleParams(
            f"{label(name)} as {label(param).lower()} changes", subtitle=subtitle
        ),
        width=WIDTH,
        height=300,
    )


def _direction(name: str, scenario: Scenario | None) -> str | None:
    """``"higher"`` or ``"lower"`` is better for a figure; ``None`` for a lever or pay."""
    if name in _LOWER_IS_BETTER:
        return "lower"
    if name in _MONEY_FIGURES or name == "alignment_efficiency":
        return "higher"
    if scenario is not None and name in scenario.metrics:
        return scenario.metrics[name].direction
    return None


def _best_index(values: np.ndarray, name: str, scenario: Scenario | None) -> int | None:
    """Where a figure is best (``None`` when better has no direction, as for a lever)."""
    way = _direction(name, scenario)
    if way is None or not np.isfinite(values).any():
        return None
    lower = way == "lower"
    finite = np.where(np.isfinite(values), values, np.inf if lower else -np.inf)
    return int(np.argmin(finite) if lower else np.argmax(finite))


def sweep_heatmap(
    frame: pd.DataFrame,
    figure: str = "operating_profit",
    *,
    scenario: Scenario | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.LayerChart:
    """A figure over two swept settings, the best cell outlined.

    Returns
    -------
    altair.LayerChart
        ``data``: the two parameters' values as ``x`` and ``y``, ``value`` and ``best``.
    """
    params, data = _sweep_values(frame, figure)
    if len(params) != 2:
        raise ScenarioError(
            "frame", f"sweep_heatmap needs a two-parameter sweep; this one has {params}"
        )
    name = figure.rpartition(":")[2]
    data = data.rename(columns={params[0]: "y", params[1]: "x"})
    pick = _best_index(data["value"].to_numpy(), name, scenario)
    data["best"] = False
    if pick is not None:
        data.loc[pick, "best"] = True
    unit = _unit_of(name, scenario)
    scale = (
        alt.Scale(scheme="blues", domain=list(domain))
        if domain is not None
        else alt.Scale(scheme="blues")
    )
    xs, ys = sorted(data["x"].unique()), sorted(data["y"].unique(), reverse=True)
    x = alt.X("x:O", title=label(params[1]), sort=xs, axis=alt.Axis(format=".3~g"))
    y = alt.Y("y:O", title=label(params[0]), sort=ys, axis=alt.Axis(format=".3~g"))
    cells = (
        alt.Chart()
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "value:Q",
                title=label(name),
                scale=scale,
                legend=alt.Legend(format="%" if unit == "share" else "~s"),
            ),
            tooltip=[
                alt.Tooltip("x:Q", title=label(params[1])),
                alt.Tooltip("y:Q", title=label(params[0])),
                alt.Tooltip("value:Q", format=",.4~g"),
            ],
        )
    )
    best = (
        alt.Chart()
        .transform_filter(alt.datum.best)
        .mark_rect(fill=None, stroke=WORSE, strokeWidth=3)
        .encode(x=x, y=y)
    )
    if pick is not None:
        bx, by, best_value = (float(data[c].iloc[pick]) for c in ("x", "y", "value"))
        subtitle = (
            f"best (outlined): {label(params[0]).lower()} {_compact(by)}, "
            f"{label(params[1]).lower()} {_compact(bx)}: {_format(best_value, unit, scenario)}"
        )
    else:
        subtitle = f"{label(name)} at each pair of settings"
    return _layered(cells, best, data=data).properties(
        title=alt.TitleParams(f"{label(name)} over two settings", subtitle=subtitle),
        width=WIDTH,
        height=WIDTH * 0.75,
    )


def tornado(frame: pd.DataFrame, *, scenario: Scenario | None = None) -> alt.LayerChart:
    """Which settings move the figure most, each moved alone across its range.

    Parameters
    ----------
    frame
        :func:`compmodel.tornado`.
    scenario
        Optional: for the currency.

    Returns
    -------
    altair.LayerChart
        ``data``: per path and end (``low``/``high``): ``delta`` (change in the figure
        from the base), ``setting`` (the parameter value there), ``rank`` and
        ``breakeven`` (where the figure crosses zero; NaN if it does not).
    """
    _check_columns(
        frame,
        ("path", "low", "high", "delta_low", "delta_high", "rank", "breakeven"),
        "compmodel.tornado",
    )
    name = str(frame.attrs.get("figure", "operating_profit"))
    rows = []
    for _, r in frame.iterrows():
        be = float(r["breakeven"])
        tag = f"{label(str(r['path']))}" + (
            f" (breakeven {_compact(be)})" if math.isfinite(be) else ""
        )
        for end in ("low", "high"):
            rows.append(
                {
                    "path": str(r["path"]),
                    "name": tag,
                    "end": f"{end} ({_compact(float(r[end]))})",
                    "which": end,
                    "setting": float(r[end]),
                    "delta": float(r[f"delta_{end}"]),
                    "rank": int(r["rank"]),
                    "breakeven": be,
                }
            )
    data = pd.DataFrame(rows)
    order = list(dict.fromkeys(data.sort_values("rank")["name"]))
    unit = _unit_of(name, scenario)
    vs = frame.attrs.get("versus")
    title_fig = label(name) + (" gain over the baseline" if vs else "")
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                "delta:Q",
                title=f"Change in {title_fig.lower()} ({_period(scenario) if _is_money(unit, scenario) else unit or 'value'})",
                axis=alt.Axis(format="~s"),
            ),
            color=alt.Color(
                "which:N",
                title="setting moved to",
                scale=alt.Scale(domain=["low", "high"], range=[BASELINE, PROPOSAL]),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["name:N", "end:N", alt.Tooltip("delta:Q", format=",.0f")],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=TOTAL).encode(x="x:Q")
    return _layered(bars, zero, data=data).properties(
        title=alt.TitleParams(
            f"What moves {title_fig.lower()} most",
            subtitle="each setting moved alone to the ends of its range; largest swing first",
        ),
        width=WIDTH,
    )


# --------------------------------------------------------------------------------------
# the value ladder
# --------------------------------------------------------------------------------------
def value_ladder(
    solutions: Mapping[str, Solution] | Solution,
    *,
    scenario: Scenario | None = None,
) -> alt.LayerChart:
    """Total surplus with no incentive, at the plan's equilibrium and at the first best.

    Parameters
    ----------
    solutions
        Either a mapping ``{"no incentive": ..., "equilibrium": ..., "first best": ...}``
        of solutions (any labels, in order), or one equilibrium (then ``scenario`` is
        needed and the two benchmarks are solved here with :func:`compmodel.no_incentive`
        and :func:`compmodel.first_best`).
    scenario
        The scenario, when ``solutions`` is one equilibrium; also gives the currency.

    Returns
    -------
    altair.LayerChart
        ``data``: ``rung``, ``total_surplus``, ``operating_profit`` (currency per
        period) and ``share_of_gap`` (how much of the way from no incentive to the
        first best each rung gets: alignment efficiency at the equilibrium).
    """
    if isinstance(solutions, Solution):
        if scenario is None:
            raise ScenarioError(
                "scenario", "value_ladder(solution) needs scenario=... to solve the benchmarks"
            )
        from .solve import first_best, no_incentive

        solutions = {
            "no incentive": no_incentive(scenario),
            "this plan (equilibrium)": solutions,
            "first best": first_best(scenario),
        }
    if len(solutions) < 2:
        raise ScenarioError("solutions", "needs at least two rungs, e.g. no incentive and the plan")
    names = list(solutions)
    ts = [float(s.total_surplus) for s in solutions.values()]
    lo, hi = ts[0], ts[-1]
    gap = hi - lo
    data = pd.DataFrame(
        {
            "rung": names,
            "total_surplus": ts,
            "operating_profit": [float(s.operating_profit) for s in solutions.values()],
            "share_of_gap": [(t - lo) / gap if gap != 0 else float("nan") for t in ts],
        }
    )
    data["text"] = [
        _format(t, "money", None) + (f" ({g:.0%} of the way)" if math.isfinite(g) else "")
        for t, g in zip(data["total_surplus"], data["share_of_gap"], strict=True)
    ]
    x = alt.X("rung:N", sort=names, title=None, axis=alt.Axis(labelAngle=0))
    bars = (
        alt.Chart()
        .mark_bar(color=PROPOSAL, size=60)
        .encode(
            x=x,
            y=alt.Y(
                "total_surplus:Q",
                **_money_axis(f"Total surplus ({_period(scenario) or 'per period'})"),
            ),
            tooltip=[
                "rung:N",
                alt.Tooltip("total_surplus:Q", format=",.0f"),
                alt.Tooltip("operating_profit:Q", format=",.0f"),
            ],
        )
    )
    text = alt.Chart().mark_text(dy=-8, fontSize=12).encode(x=x, y="total_surplus:Q", text="text:N")
    return _layered(bars, text, data=data).properties(
        title=alt.TitleParams(
            "How much of the possible value the plan captures",
            subtitle="total surplus: value created, net of effort and the cost of pay risk; first best = the most any plan could reach",
        ),
        width=WIDTH * 0.8,
        height=300,
    )


def enable_notebook() -> None:
    """Draw altair charts in JupyterLab and voila without the internet.

    Enables altair's ``jupyter`` renderer in offline mode (the JavaScript comes from
    the installed ``vl-convert-python``, not a CDN). JupyterLab's built-in renderer
    draws Vega-Lite up to v5 only and shows nothing for altair 6 charts.
    """
    alt.renderers.enable("jupyter", offline=True)


def bridge_values(frame: pd.DataFrame, *, scenario: Scenario | None = None) -> alt.LayerChart:
    """What each bridge between departments is worth, net of its cost.

    Parameters
    ----------
    frame
        :func:`compmodel.bridge_values` of a scenario with its bridges on.
    scenario
        Optional: for the currency.

    Returns
    -------
    altair.LayerChart
        ``data``: ``bridge`` (reader's name), ``net_value``, ``cost`` and
        ``imputed_cost`` (currency per period; the imputed cost, such as salaried time
        in meetings, is outside the net value: 0 for a frame without the column),
        ``breakeven`` (the effect coefficient's value where the bridge stops paying for
        itself, imputed cost included; NaN when it keeps its sign), ``status`` (pays for
        itself when the net value exceeds the imputed cost) and ``text``.
    """
    _check_columns(
        frame,
        ("bridge", "net_value", "cost", "effect_coefficient", "breakeven"),
        "compmodel.bridge_values",
    )
    imputed_costs = (
        frame["imputed_cost"].to_numpy(dtype=float)
        if "imputed_cost" in frame.columns
        else np.zeros(len(frame))
    )
    rows = []
    for bridge, coefficient, net, cost, imputed, be in zip(
        frame["bridge"].astype(str),
        frame["effect_coefficient"].astype(str),
        frame["net_value"].to_numpy(dtype=float),
        frame["cost"].to_numpy(dtype=float),
        imputed_costs,
        frame["breakeven"].to_numpy(dtype=float),
        strict=True,
    ):
        note = (
            f"breaks even at {coefficient.replace('_', ' ')} = {be:,.3g}"
            if math.isfinite(be)
            else ""
        )
        time = f"{_format(float(imputed), 'money', None)} imputed" if imputed else ""
        rows.append(
            {
                "bridge": label(bridge),
                "net_value": float(net),
                "cost": float(cost),
                "imputed_cost": float(imputed),
                "breakeven": float(be),
                "status": "pays for itself" if net > imputed else "costs more than it adds",
                "text": "; ".join(t for t in (_format(float(net), "money", None), time, note) if t),
            }
        )
    data = pd.DataFrame(rows)
    y = alt.Y(
        "bridge:N", sort=list(data.sort_values("net_value", ascending=False)["bridge"]), title=None
    )
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "net_value:Q",
                **_money_axis(f"Net value after its cost ({_period(scenario) or 'per period'})"),
            ),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(
                    domain=["pays for itself", "costs more than it adds"], range=[BETTER, WORSE]
                ),
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                "bridge:N",
                alt.Tooltip("net_value:Q", format=",.0f"),
                alt.Tooltip("cost:Q", format=",.0f"),
                alt.Tooltip("imputed_cost:Q", format=",.0f"),
                alt.Tooltip("breakeven:Q", format=",.3g"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text(align="left", x=alt.ExprRef(expr="width + 8"), fontSize=12)
        .encode(y=y, text="text:N")
    )
    return _layered(bars, text, data=data).properties(
        title=alt.TitleParams(
            "What each bridge between departments is worth",
            subtitle="each bridge switched off in turn, the others kept; net of what it costs",
        ),
        width=WIDTH,
    )


# --------------------------------------------------------------------------------------
# where a proposal pays
# --------------------------------------------------------------------------------------
_GAIN_NAMES = {"npv": "net present value", "operating_profit": "operating profit"}


def _edges(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each grid value's cell: from halfway to the previous value to halfway to the next."""
    v = np.asarray(values, dtype=float)
    mid = 0.5 * (v[1:] + v[:-1])
    lo = np.concatenate([[v[0] - (mid[0] - v[0])], mid])
    hi = np.concatenate([mid, [v[-1] + (v[-1] - mid[-1])]])
    return lo, hi


def where_frame(result: WherePays) -> pd.DataFrame:
    """The cells of :func:`where_it_pays`: one row per grid point, ``x``, ``y`` (the
    parameters' values), the cell's edges ``x0``, ``x1``, ``y0``, ``y1``, ``gain``
    (currency) and ``pays`` (gain > 0)."""
    x0, x1 = _edges(result.x_values)
    y0, y1 = _edges(result.y_values)
    rows, cols = np.indices(result.gain.shape)
    i, j = rows.ravel(), cols.ravel()
    return pd.DataFrame(
        {
            "x": result.x_values[j],
            "y": result.y_values[i],
            "x0": x0[j],
            "x1": x1[j],
            "y0": y0[i],
            "y1": y1[i],
            "gain": result.gain.ravel(),
            "pays": result.gain.ravel() > 0.0,
        }
    )


def contour_frame(result: WherePays) -> pd.DataFrame:
    """The zero line of :func:`where_it_pays` as rows ``line`` (which polyline),
    ``order`` (the point's place along it), ``x`` and ``y``."""
    parts = [
        pd.DataFrame({"line": k, "order": np.arange(len(pl)), "x": pl[:, 0], "y": pl[:, 1]})
        for k, pl in enumerate(result.zero_contour)
    ]
    if not parts:
        return pd.DataFrame(
            {
                "line": pd.Series(dtype=int),
                "order": pd.Series(dtype=int),
                "x": pd.Series(dtype=float),
                "y": pd.Series(dtype=float),
            }
        )
    return pd.concat(parts, ignore_index=True)


def where_it_pays(result: WherePays) -> alt.LayerChart:
    """Where a proposal pays off: its gain over two parameters, the zero line on top.

    Parameters
    ----------
    result
        :func:`compmodel.where_it_pays`.

    Returns
    -------
    altair.LayerChart
        Two layers: the cells (``rect``; ``data`` is :func:`where_frame`: ``x``, ``y``,
        the cell edges, ``gain`` in the currency and ``pays``), coloured on a diverging
        scale centred on a zero gain (red loses, blue gains), and the zero line
        (``line``; its own data, :func:`contour_frame`, one line per polyline). Data
        inline: it renders offline.
    """
    if not isinstance(result, WherePays):
        raise ScenarioError(
            "result",
            f"expected the WherePays that compmodel.where_it_pays returns, got "
            f"{type(result).__name__}",
        )
    data = where_frame(result)
    lines = contour_frame(result)
    x_title, y_title = label(result.x_path, result.kind), label(result.y_path, result.kind)
    what = _GAIN_NAMES.get(result.gain_name, result.gain_name.replace("_", " "))
    unit = (
        result.currency if result.gain_name == "npv" else f"{result.currency} per {result.period}"
    )
    money = "$,.3~s" if result.currency == "USD" else ",.3~s"
    exact = "$,.0f" if result.currency == "USD" else ",.0f"
    gain_title = f"Gain ({unit})"

    def axis(lo: str, hi: str) -> dict[str, Any]:
        edges = (float(data[lo].min()), float(data[hi].max()))
        return {
            "scale": alt.Scale(domain=list(edges), nice=False, zero=False),
            "axis": alt.Axis(format=".3~g"),
        }

    cells = (
        alt.Chart()
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", title=x_title, **axis("x0", "x1")),
            x2="x1:Q",
            y=alt.Y("y0:Q", title=y_title, **axis("y0", "y1")),
            y2="y1:Q",
            color=alt.Color(
                "gain:Q",
                title=gain_title,
                scale=alt.Scale(scheme="redblue", domainMid=0),
                legend=alt.Legend(format=money),
            ),
            tooltip=[
                alt.Tooltip("x:Q", title=x_title, format=",.4~g"),
                alt.Tooltip("y:Q", title=y_title, format=",.4~g"),
                alt.Tooltip("gain:Q", title=gain_title, format=exact),
            ],
        )
    )
    zero = (
        alt.Chart(lines)
        .mark_line(color=TOTAL, strokeWidth=2.5)
        .encode(x="x:Q", y="y:Q", detail="line:N", order="order:Q")
    )
    share = result.share_positive
    where = (
        "the black line marks a zero gain"
        if result.zero_contour
        else f"the gain is {'positive' if share == 1.0 else 'not positive'} everywhere shown"
    )
    return _layered(cells, zero, data=data).properties(
        title=alt.TitleParams(
            f"Where {result.proposal} pays off against {result.today}",
            subtitle=[
                f"gain in {what} at each pair of values, moved together in both plans; {where}",
                f"positive at {share:.0%} of the {result.points} points",
            ],
        ),
        width=WIDTH,
        height=WIDTH * 0.75,
    )
