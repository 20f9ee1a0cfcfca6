"""The live dashboard: every department's pay on sliders, the company's results beside them.

:func:`dashboard` returns one ipywidgets widget, a :class:`Dashboard`, built once: a
scenario picker and presets; per department, sliders for the component weights (they
always add up to 100%: moving one rescales the others in proportion), the target
incentive, the shared-outcome share and each payout curve's threshold and cap; sales
crediting and the two clawbacks; a slider per bridge between departments; KPI tiles
with their change against the baseline; four charts of :mod:`compmodel.charts` that
update in place (one offline :class:`altair.JupyterChart` each, axes fixed while the
scenario stays the same); reset, compare and save.

Each slider move is one call of :meth:`Dashboard.set_value` (a plain method: tests and
scripts call it directly). It sets the number at a parameter path
(:meth:`Scenario.with_value <compmodel.Scenario.with_value>`), solves from the last
equilibrium (``search="warm"``: the numbers follow the equilibrium on screen rather
than jump to another one), simulates 10,000 years of pay and rewrites the KPI tiles and
the charts' data. Loading a scenario solves it with the full search; when a plan has
several equilibria, or the solver struggles, a note says so on screen.

Presenter mode: ``python -m compmodel dashboard`` serves ``notebooks/dashboard.ipynb``
with voila on 127.0.0.1, code hidden, nothing fetched from the internet.
"""

from __future__ import annotations

import dataclasses
import html
import math
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import altair as alt
import ipywidgets as widgets  # type: ignore[import-untyped]
import pandas as pd

from . import charts, paths
from ._text import escape_html
from .analysis import compare
from .crediting import crediting_metrics
from .errors import CompmodelError, ScenarioError
from .io import load_scenario, save_scenario, scenario_folder
from .models import Kpi, info_of
from .plans import PayoutCurve
from .scenario import Scenario
from .simulate import Simulation, simulate
from .solve import Solution, solve

__all__ = ["DEFAULT_PRESETS", "KPIS", "Dashboard", "dashboard"]

#: KPI tiles every kind has (company figures of the solution): operating profit first,
#: then the company kind's own tiles (:class:`compmodel.models.KindInfo`), then these.
KPIS: Mapping[str, Kpi] = {
    "operating_profit": Kpi("operating_profit", "Operating profit", "higher", "money"),
    "staff_retention": Kpi("staff_retention", "Staff retention", "higher", "share"),
    "compensation_bill": Kpi("compensation_bill", "Compensation bill", "lower", "money"),
    "alignment_efficiency": Kpi("alignment_efficiency", "Alignment efficiency", "higher", "index"),
}

#: Presets every kind has: name -> {parameter path or "bridges" / "shared": value}; a
#: company kind adds its own (:attr:`compmodel.models.KindInfo.presets`).
DEFAULT_PRESETS: Mapping[str, Mapping[str, float]] = {
    "No bridges": {"bridges": 0.0},
    "Half of every plan on shared results": {"shared": 0.5},
    "Shared results only": {"shared": 1.0},
}

_PRESET_PROMPT = "Presets…"
_BETTER, _WORSE, _GREY = charts.BETTER, charts.WORSE, "#546e7a"


# --------------------------------------------------------------------------------------
# one chart, updated in place
# --------------------------------------------------------------------------------------
class _LiveChart:
    """One offline JupyterChart whose data is rewritten without rebuilding the chart.

    The altair chart is built (and validated) once; an update swaps the records of its
    dataset in a copy of the spec, so a slider move costs a frame, not an altair build.
    """

    def __init__(self, chart: alt.TopLevelMixin) -> None:
        # no actions menu: its "Open in Vega Editor" link leads off 127.0.0.1
        self.widget = alt.JupyterChart(cast(Any, chart), embed_options={"actions": False})
        self._template = dict(self.widget.spec)
        self._dataset = self._template["data"]["name"]

    def rebuild(self, chart: alt.TopLevelMixin) -> None:
        """A new chart in the same widget (a new scenario: new axes and labels)."""
        self.widget.chart = cast(Any, chart)
        self._template = dict(self.widget.spec)
        self._dataset = self._template["data"]["name"]

    def update(self, frame: pd.DataFrame) -> None:
        spec = dict(self._template)
        spec["datasets"] = {self._dataset: _records(frame)}
        self.widget.spec = spec

    @property
    def data(self) -> list[dict[str, Any]]:
        """The records on screen."""
        return list(self.widget.spec["datasets"][self._dataset])


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records: NaN and infinities become ``None`` (Vega reads null)."""
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            clean[str(k)] = v
        out.append(clean)
    return out


# --------------------------------------------------------------------------------------
# the dashboard
# --------------------------------------------------------------------------------------
class Dashboard(widgets.VBox):
    """The dashboard widget; see :func:`dashboard`.

    Attributes
    ----------
    baseline, scenario
        The scenario as loaded, and as the sliders have changed it.
    baseline_solution, solution, simulation
        Their equilibria, and the simulation of the current one.
    sliders
        Parameter path (or a control name such as ``"sales.crediting"``) -> widget.
    tiles
        KPI key -> HTML tile; ``kpis`` holds the numbers behind them.
    live
        Chart name -> its JupyterChart (``live[name].spec["datasets"]``).
    note
        The guardrail note (empty when all is well).
    last_update_ms
        Library time of the last update (solve, simulate, KPIs and chart data).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        samples: str | Path | None = None,
        presets: Mapping[str, Mapping[str, float]] | None = None,
        n_draws: int = 10_000,
        seed: int = 0,
        save_dir: str | Path = "saved_scenarios",
    ) -> None:
        alt.JupyterChart.enable_offline()
        source = None
        if not isinstance(scenario, Scenario):
            source = Path(scenario)
            scenario = load_scenario(source)
        self.samples = Path(samples) if samples is not None else (source.parent if source else None)
        self._given_presets = None if presets is None else dict(presets)
        self.presets = self._presets_for(scenario)
        self.n_draws, self.seed = int(n_draws), int(seed)
        self.save_dir = Path(save_dir)
        self.last_update_ms = float("nan")
        self._syncing = False

        self.heading = widgets.HTML()
        self.picker = widgets.Dropdown(description="Scenario", layout=widgets.Layout(width="340px"))
        self.preset = widgets.Dropdown(
            options=[_PRESET_PROMPT, *self.presets],
            value=_PRESET_PROMPT,
            description="Preset",
            layout=widgets.Layout(width="340px"),
        )
        self.tiles: dict[str, widgets.HTML] = {}
        self.tile_box = widgets.HBox()
        self.kpis: dict[str, float | None] = {}
        self.note = widgets.HTML()
        self._said: list[str] = []  # what the last preset changed, shown in the note
        self.status = widgets.HTML()
        self.controls = widgets.Accordion(layout=widgets.Layout(width="400px"))
        self.sliders: dict[str, widgets.Widget] = {}
        self.reset_button = widgets.Button(description="Reset to baseline", icon="undo")
        self.compare_button = widgets.ToggleButton(description="Compare with baseline")
        self.save_name = widgets.Text(
            description="Save as",
            placeholder="letters, digits, space _ . -",
            layout=widgets.Layout(width="300px"),
        )
        self.save_button = widgets.Button(description="Save scenario")
        # shown only when the file named in the box exists: the second, deliberate click
        self.overwrite_button = widgets.Button(
            description="Overwrite",
            button_style="warning",
            tooltip="replace the file of that name in the save folder",
            layout=widgets.Layout(display="none"),
        )
        self._pending_overwrite: str | None = None
        self.comparison = widgets.HTML()

        self._load(scenario, source)
        self.live = {name: _LiveChart(chart) for name, chart in self._charts().items()}
        self._refresh_views()

        self.picker.observe(self._on_pick, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.save_button.on_click(lambda _: self._on_save())
        self.overwrite_button.on_click(lambda _: self._on_overwrite())
        self.save_name.observe(lambda _: self._hide_overwrite(), names="value")
        self.compare_button.observe(lambda _: self._show_comparison(), names="value")

        grid = widgets.GridBox(
            [self.live[n].widget for n in self.live],
            layout=widgets.Layout(grid_template_columns="repeat(2, max-content)", grid_gap="12px"),
        )
        super().__init__(
            [
                widgets.HBox([self.heading, self.picker, self.preset]),
                self.tile_box,
                self.note,
                widgets.HBox([self.controls, grid]),
                widgets.HBox(
                    [
                        self.reset_button,
                        self.compare_button,
                        self.save_name,
                        self.save_button,
                        self.overwrite_button,
                    ]
                ),
                self.status,
                self.comparison,
            ]
        )

    # ----------------------------------------------------------------------------------
    # public, plain methods (what the widgets call)
    # ----------------------------------------------------------------------------------
    def set_value(self, path: str, value: float) -> None:
        """Set the number at ``path`` in the current scenario and update everything."""
        if paths.is_categorical(self.scenario, path):
            # crediting rescales the curve at the equilibrium on screen
            self._apply(lambda s: s.with_value(path, str(value), at=self.solution))
        else:
            self._apply(lambda s: s.with_value(path, float(value)))

    def apply_preset(self, name: str) -> None:
        """Apply a preset (a set of parameter values) to the current scenario."""
        if name not in self.presets:
            raise ScenarioError("preset", f"unknown preset {name!r}; allowed: {list(self.presets)}")
        values: dict[str, float] = {}
        for path, v in self.presets[name].items():
            if path == "bridges":
                values.update({f"bridges.{b}": v for b in self.scenario.bridges})
            elif path == "shared":
                values.update({f"{d}.shared_share": v for d in self._shareable(self.scenario)})
            else:
                values[path] = v
        changed = {p: v for p, v in values.items() if float(self.scenario.get(p)) != float(v)}
        if not changed:
            self._said = [f"Preset “{escape_html(name)}” changes nothing on this plan."]
            self._update_note()
            return
        said = [
            f"{charts.label(p)} {charts._compact(float(self.scenario.get(p)))} → "
            f"{charts._compact(float(v))}"
            for p, v in changed.items()
        ]
        before = self.scenario
        self._apply(lambda s: s.with_values(values), search="all")
        if self.scenario is not before:  # applied (a refused preset says why instead)
            self._said = [
                f"Preset “{escape_html(name)}” set: " + escape_html("; ".join(said)) + "."
            ]
            self._update_note()

    def load(self, scenario: Scenario | str | Path) -> None:
        """Make ``scenario`` (or a file) the baseline and the current scenario."""
        source = None
        if not isinstance(scenario, Scenario):
            source = Path(scenario)
            scenario = load_scenario(source)
        self._load(scenario, source)
        for name, chart in self._charts().items():
            self.live[name].rebuild(chart)
        self._refresh_views()

    def reset(self) -> None:
        """Back to the baseline as loaded."""
        self.scenario, self.solution = self.baseline, self.baseline_solution
        self.simulation = self.baseline_simulation
        self._said = []
        self._sync_controls()
        self._refresh_views()

    def save(self, name: str | None = None, *, overwrite: bool = False) -> Path:
        """Save the current scenario as TOML (atomically) in the save folder; returns where.

        ``name`` (default: the "Save as" box) is a file name, not a path: letters, digits,
        space, ``_``, ``.`` and ``-``, at most 100 characters, not starting with ``.``, not
        a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9); ``.toml`` is added when
        missing. Empty: a file name made from the scenario's name. The file lands in
        ``save_dir`` and nowhere else (checked after resolving symbolic links). An existing
        file is replaced only with ``overwrite=True``.

        Raises
        ------
        ScenarioError
            The name is not allowed, or the file exists and ``overwrite`` is false; the
            message (also on the status line) says what is allowed and what to try.
        """
        try:
            target = self._save_target(self.save_name.value if name is None else name)
            if target.exists() and not overwrite:
                raise ScenarioError(
                    "save name",
                    f"{target.name!r} exists already in the save folder {str(target.parent)!r}; "
                    "press Overwrite (from Python: save(..., overwrite=True)) to replace it, "
                    "or choose another name",
                )
            saved = save_scenario(dataclasses.replace(self.scenario, company_file=None), target)
        except ScenarioError as exc:
            self.status.value = _save_problem(html.escape(str(exc)))
            raise
        self._hide_overwrite()
        self.status.value = f"Saved <code>{html.escape(str(saved))}</code>."
        return saved

    def _save_target(self, name: str) -> Path:
        """The resolved file the save box's ``name`` stands for, inside the save folder."""
        name = (name or "").strip()
        if not name:
            name = _slug(self.scenario.name)
        _check_save_name(name)
        file_name = name if name.endswith(".toml") else name + ".toml"
        self.save_dir.mkdir(parents=True, exist_ok=True)
        folder = self.save_dir.resolve()
        target = (folder / file_name).resolve()
        if target.parent != folder:  # a symbolic link in the folder that leads out of it
            raise ScenarioError(
                "save name",
                f"{file_name!r} in the save folder {str(folder)!r} is a link to "
                f"{str(target)!r}, outside that folder; nothing was written. Choose "
                "another name (or remove the link)",
            )
        if target.is_dir():
            raise ScenarioError(
                "save name",
                f"{file_name!r} is a folder in the save folder {str(folder)!r}; choose another name",
            )
        return target

    def _on_save(self) -> None:
        """The "Save scenario" button: save, or ask for a confirmation if the file exists."""
        name = self.save_name.value
        try:
            target = self._save_target(name)
        except ScenarioError as exc:
            self._hide_overwrite()
            self.status.value = _save_problem(html.escape(str(exc)))
            return
        if target.exists():
            self._pending_overwrite = name
            self.overwrite_button.layout.display = None
            self.status.value = _save_problem(
                f"{html.escape(target.name)} exists already in the save folder "
                f"<code>{html.escape(str(target.parent))}</code>. Press "
                "<b>Overwrite</b> to replace it, or change the name."
            )
            return
        self._save_from_box(name, overwrite=False)

    def _on_overwrite(self) -> None:
        """The "Overwrite" button: the confirmation, for the name it was shown for."""
        name = self._pending_overwrite
        if name is None or name != self.save_name.value:
            self._hide_overwrite()
            return
        self._save_from_box(name, overwrite=True)

    def _save_from_box(self, name: str, *, overwrite: bool) -> None:
        try:
            self.save(name, overwrite=overwrite)
        except ScenarioError:
            self._hide_overwrite()  # the status line says why
        except (CompmodelError, OSError) as exc:
            self._hide_overwrite()
            self.status.value = _save_problem(f"Not saved: {html.escape(str(exc))}")

    def _hide_overwrite(self) -> None:
        self._pending_overwrite = None
        self.overwrite_button.layout.display = "none"

    # ----------------------------------------------------------------------------------
    # loading and updating
    # ----------------------------------------------------------------------------------
    def _load(self, scenario: Scenario, source: Path | None) -> None:
        self.source = source
        self.baseline = scenario
        self.baseline_solution = solve(scenario)
        self.baseline_simulation = simulate(
            scenario, self.n_draws, self.seed, solution=self.baseline_solution
        )
        self.scenario, self.solution = self.baseline, self.baseline_solution
        self.simulation = self.baseline_simulation
        self._said = []
        self.heading.value = f"<h3 style='margin:4px 12px 4px 0'>{escape_html(scenario.name)}</h3>"
        self.presets = self._presets_for(scenario)
        self._syncing = True
        try:
            self.preset.options = [_PRESET_PROMPT, *self.presets]
            self.preset.value = _PRESET_PROMPT
        finally:
            self._syncing = False
        self._build_tiles()
        self._build_picker()
        self._build_controls()

    def _apply(self, change: Callable[[Scenario], Scenario], search: str = "warm") -> None:
        start = time.perf_counter()
        self._said = []  # a preset says what it set until the next change
        try:
            new = change(self.scenario)
            sol = solve(new, warm_start=self.solution, search=search)  # type: ignore[arg-type]
        except CompmodelError as exc:
            self.note.value = _note_html(
                [f"That change was not applied: {escape_html(exc)}"], warn=True
            )
            self._sync_controls()
            return
        self.scenario, self.solution = new, sol
        self.simulation = simulate(new, self.n_draws, self.seed, solution=sol)
        self._sync_controls()
        self._refresh_views()
        self.last_update_ms = (time.perf_counter() - start) * 1e3

    def _refresh_views(self) -> None:
        self._update_kpis()
        self._update_note()
        if hasattr(self, "live"):
            for name, frame in self._chart_frames().items():
                self.live[name].update(frame)
        if self.compare_button.value:
            self._show_comparison()

    # ----------------------------------------------------------------------------------
    # KPIs, note, comparison
    # ----------------------------------------------------------------------------------
    def _kpi_list(self, s: Scenario) -> list[Kpi]:
        """The tiles of ``s``: operating profit, the company kind's own (those its
        metrics have), then staff retention, the compensation bill and alignment."""
        own = [k for k in info_of(s.company.kind).kpis if k.name in s.metrics]
        generic = list(KPIS.values())
        return [generic[0], *own, *generic[1:]]

    def _build_tiles(self) -> None:
        for w in self.tiles.values():
            w.close()
        self._tile_kpis = self._kpi_list(self.baseline)
        self.tiles = {
            k.name: widgets.HTML(layout=widgets.Layout(width="170px")) for k in self._tile_kpis
        }
        self.tile_box.children = list(self.tiles.values())

    def _kpi_values(self, sol: Solution, sim: Simulation | None = None) -> dict[str, float | None]:
        """Each tile's number; ``None`` where it is not defined (alignment efficiency
        when the first best gains nothing over no incentive)."""
        heads = {d: dept.headcount for d, dept in self.baseline.departments.items()}
        total = sum(heads.values()) or 1
        staff = sum(sol.departments[d].retention * n for d, n in heads.items()) / total
        generic: dict[str, float | None] = {
            "operating_profit": sol.operating_profit,
            "staff_retention": staff,
            "compensation_bill": sol.compensation_bill,
            "alignment_efficiency": sol.alignment_efficiency,
        }
        return {
            k.name: generic[k.name] if k.name in generic else sol.metrics[k.name]
            for k in self._tile_kpis
        }

    def _update_kpis(self) -> None:
        base = self._kpi_values(self.baseline_solution)
        now = self._kpi_values(self.solution)
        self.kpis = now
        cur = self.baseline.currency
        for k in self._tile_kpis:
            self.tiles[k.name].value = _tile(k, now[k.name], base[k.name], cur)

    def _update_note(self) -> None:
        said = list(getattr(self, "_said", []))
        lines = list(said)
        diag = self.solution.diagnostics
        base = self.baseline_solution.diagnostics
        if len(base.equilibria) > 1:
            totals = ", ".join(f"{_money(e.total_surplus)}" for e in base.equilibria)
            lines.append(
                f"<b>{escape_html(self.baseline.name)} has {len(base.equilibria)} equilibria</b> "
                f"(total surplus "
                f"{totals}). The numbers show the one with the highest total surplus; slider moves "
                "follow it. The company could settle on another: read the figures as one outcome, "
                "not a forecast."
            )
        elif len(diag.equilibria) > 1:
            lines.append(
                f"<b>This plan has {len(diag.equilibria)} equilibria</b>; showing the best."
            )
        if not diag.converged:
            lines.append(
                f"<b>The solver did not fully settle</b> (residual {diag.residual:.1e}): treat the "
                "last digits with care, or reset."
            )
        lines += [escape_html(n) for n in diag.notes if "equilibri" not in n]
        self.note.value = _note_html(lines, warn=len(lines) > len(said))

    def _show_comparison(self) -> None:
        if not self.compare_button.value:
            self.comparison.value = ""
            return
        frame = compare({"baseline": self.baseline_solution, "current": self.solution})
        keep = frame.loc[["company", "metrics"]]
        keep = keep[[c for c in keep.columns]].reset_index(level="department", drop=True)
        self.comparison.value = keep.to_html(float_format=lambda v: f"{v:,.4g}", border=0)

    # ----------------------------------------------------------------------------------
    # charts
    # ----------------------------------------------------------------------------------
    def _figures(self) -> list[str]:
        sol = self.baseline_solution
        # the kind's outcomes less its revenue, which moves with volume
        revenue = info_of(self.baseline.company.kind).revenue_metric
        shown = [f for f in charts.default_outcomes(self.baseline) if f != revenue]
        return [f for f in shown if f in sol.metrics or hasattr(sol, f)]

    def _chart_frames(self) -> dict[str, pd.DataFrame]:
        from .profit import profit_waterfall
        from .sensitivity import figure_of

        b, s = self.baseline_solution, self.solution
        values = [(f, figure_of(b, f), figure_of(s, f)) for f in self._figures()]
        return {
            "outcomes": charts.outcome_frame(values, self.baseline),
            "behaviour": charts.lever_frame(
                {"baseline": b.levers, "current": s.levers}, s.company_kind
            ),
            "waterfall": charts.waterfall_frame(profit_waterfall(b, s)),
            "bill": charts.bill_frame(self.simulation),
        }

    def _charts(self) -> dict[str, alt.TopLevelMixin]:
        from .profit import profit_waterfall

        b = self.baseline_solution
        pair = compare({"baseline": b, "current": b})
        bill = charts.bill_frame(self.baseline_simulation)
        # the money axis spans the baseline's profit and the first best's, with room for a
        # plan a slider makes worse: fixed while this scenario is loaded
        profits = [b.operating_profit, *(p for p in (self._benchmark_profit(),) if p is not None)]
        span = max(abs(p) for p in profits) or 1.0
        low, top = min(0.0, *profits) - 0.5 * span, max(0.0, *profits) + 0.25 * span
        narrow = {"width": 300}
        return {
            "outcomes": charts.outcomes(
                pair, scenario=self.baseline, figures=self._figures(), domain=(-0.6, 0.6)
            ).properties(**narrow),
            "behaviour": charts.behaviour_shift(pair, scenario=self.baseline).properties(**narrow),
            "waterfall": charts.profit_waterfall(
                profit_waterfall(b, b), scenario=self.baseline, domain=(low, top)
            ).properties(
                title=alt.TitleParams(
                    "Profit walk: baseline → current",
                    subtitle="where the change in operating profit comes from",
                ),
                **narrow,
            ),
            "bill": charts.compensation_bill(
                self.baseline_simulation, domain=(0.0, 1.15 * float(bill["cap"].max()))
            ).properties(**narrow),
        }

    def _benchmark_profit(self) -> float | None:
        """The first best's operating profit: the benchmark alignment efficiency is
        measured against (for a company whose customers carry over, the steady-state
        planner's, which the baseline's solve has already computed and remembered)."""
        from .solve import first_best

        try:
            return first_best(self.baseline).operating_profit
        except CompmodelError:
            return None

    # ----------------------------------------------------------------------------------
    # controls
    # ----------------------------------------------------------------------------------
    def _build_picker(self) -> None:
        options: list[tuple[str, str]] = []
        if self.samples is not None:
            # a company file the samples share is data, not a plan (io.scenario_folder)
            for path, s in scenario_folder(self.samples):
                shown = f"{s.name} ({path.relative_to(self.samples)})"
                if s.company.kind == "declared" and not callable(s.company.model):
                    # it names code to import: listed, never opened from here
                    options.append((f"{shown}: names code, not trusted", _UNTRUSTED + str(path)))
                elif s.company.kind != "none" and s.departments:
                    options.append((shown, str(path)))
        current = str(self.source) if self.source is not None else ""
        if current and current not in [v for _, v in options]:
            options.insert(0, (self.baseline.name, current))
        self._syncing = True
        try:
            self.picker.options = options or [(self.baseline.name, current)]
            self.picker.value = current if current else self.picker.options[0][1]
        finally:
            self._syncing = False

    def _build_controls(self) -> None:
        for w in self.sliders.values():
            w.close()
        self.sliders = {}
        s = self.baseline
        shareable = self._shareable(s)
        own = set(paths.parameter_paths(s))
        panels, titles = [], []
        for dname, dept in s.departments.items():
            if not dept.plan.components:
                continue
            rows: list[widgets.Widget] = []
            weighted = [k for k, c in dept.plan.components.items() if c.weight is not None]
            if len(weighted) > 1:
                rows.append(
                    widgets.HTML(
                        "<i>Weights always add up to 100%: moving one rescales "
                        "the others in proportion.</i>"
                    )
                )
            for key in weighted if len(weighted) > 1 else []:
                metric = dept.plan.components[key].metric
                rows.append(
                    self._slider(
                        f"{dname}.weights.{key}",
                        f"on {charts.label(metric, s.company.kind).lower()}",
                        0.0,
                        1.0,
                        0.01,
                        ".0%",
                    )
                )
            rows.append(
                self._slider(
                    f"{dname}.target_incentive",
                    "target incentive",
                    0.0,
                    max(1.0, 2.0 * dept.target_incentive),
                    0.01,
                    ".0%",
                )
            )
            share = self._slider(f"{dname}.shared_share", "shared share", 0.0, 1.0, 0.05, ".0%")
            share.disabled = dname not in shareable
            share.tooltip = (
                "weight on company-wide results (OTIF, retention, profit)"
                if dname in shareable
                else "this plan pays on no company-wide result: pick a scenario that does (aligned)"
            )
            rows.append(share)
            rows += self._crediting_controls(s, dname, own)
            for key, comp in dept.plan.components.items():
                if isinstance(comp.payout, PayoutCurve):
                    rows += self._curve_sliders(s, dname, key, comp.payout)
            panels.append(widgets.VBox(rows))
            titles.append(charts.label(dname))
        model_bridges = self._bridge_limits()
        if s.bridges and model_bridges:
            rows = [
                self._slider(
                    f"bridges.{b}",
                    charts.label(f"bridges.{b}", s.company.kind),
                    0.0,
                    model_bridges.get(b, max(1.0, 2 * v)),
                    _step(model_bridges.get(b, 1.0)),
                    "",
                )
                for b, v in s.bridges.items()
            ]
            panels.append(widgets.VBox(rows))
            titles.append("Bridges between departments")
        self.controls.children = panels
        for i, t in enumerate(titles):
            self.controls.set_title(i, t)
        self.controls.selected_index = 0 if panels else None
        self._sync_controls()

    def _crediting_controls(self, s: Scenario, dname: str, own: set[str]) -> list[widgets.Widget]:
        """Crediting and the clawbacks, where the company declares them (``own``: the
        scenario's parameter paths)."""
        out: list[widgets.Widget] = []
        crediting = crediting_metrics(s)
        path = f"{dname}.crediting"
        if path in own and len(crediting) > 1:
            dd = widgets.Dropdown(
                options=[(label, m) for m, label in crediting.items()],
                description="credited",
                style={"description_width": "130px"},
                layout=widgets.Layout(width="380px"),
            )
            dd.observe(self._handler(path), names="value")
            self.sliders[path] = dd
            out.append(dd)
        for form, label in (("cost_share", "pays orders' cost"), ("late_share", "late clawback")):
            path = f"{dname}.clawbacks.{form}"
            if path in own:
                out.append(self._slider(path, label, 0.0, 1.0, 0.05, ".0%"))
        return out

    def _curve_sliders(
        self, s: Scenario, dname: str, key: str, curve: PayoutCurve
    ) -> list[widgets.Widget]:
        unit = s.metrics[s.departments[dname].plan.components[key].metric].unit
        fmt = ".0%" if unit in ("share", "fraction") else ".3s"
        gap = abs(curve.target - curve.threshold) or abs(curve.target) or 1.0
        sign = 1.0 if curve.direction == "higher" else -1.0
        out = []
        lo, hi = sorted((curve.threshold - sign * gap, curve.target - sign * gap * 0.02))
        if unit in ("share", "fraction"):
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        out.append(
            self._slider(
                f"{dname}.curves.{key}.threshold", f"{key} threshold", lo, hi, (hi - lo) / 100, fmt
            )
        )
        if curve.cap is not None:
            lo, hi = sorted(
                (
                    curve.target + sign * gap * 0.02,
                    curve.cap + sign * 2 * abs(curve.cap - curve.target + 1e-12),
                )
            )
            if unit in ("share", "fraction"):
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            out.append(
                # the slope above target kept: a lower cap lowers the most anyone can
                # earn (curves.X.cap would hold the payout at the cap and steepen it)
                self._slider(
                    f"{dname}.curves.{key}.cap_at_rate",
                    f"{key} cap",
                    lo,
                    hi,
                    (hi - lo) / 100,
                    fmt,
                )
            )
        return out

    def _slider(
        self, path: str, description: str, low: float, high: float, step: float, fmt: str
    ) -> widgets.FloatSlider:
        w = widgets.FloatSlider(
            min=low,
            max=high,
            step=step,
            description=description,
            readout_format=fmt or ".3g",
            continuous_update=False,
            style={"description_width": "130px"},
            layout=widgets.Layout(width="380px"),
        )
        w.observe(self._handler(path), names="value")
        self.sliders[path] = w
        return w

    def _handler(self, path: str) -> Callable[[dict[str, Any]], None]:
        def on_change(change: dict[str, Any]) -> None:
            if not self._syncing:
                self.set_value(path, change["new"])

        return on_change

    def _sync_controls(self) -> None:
        """Show the current scenario's numbers on the controls, without firing solves."""
        self._syncing = True
        try:
            s = self.scenario
            for path, w in self.sliders.items():
                value: Any
                try:
                    value = paths.get(s, path)
                except CompmodelError:
                    continue
                if isinstance(w, widgets.FloatSlider):
                    w.max = max(w.max, value)
                    w.min = min(w.min, value)
                if w.value != value:
                    w.value = value
        finally:
            self._syncing = False

    # ----------------------------------------------------------------------------------
    # helpers and handlers
    # ----------------------------------------------------------------------------------
    @staticmethod
    def _shareable(s: Scenario) -> list[str]:
        out = []
        for d, dept in s.departments.items():
            comps = [c for c in dept.plan.components.values() if c.weight is not None]
            scopes = {s.metrics[c.metric].scope == "company" for c in comps}
            if scopes == {True, False}:
                out.append(d)
        return out

    def _bridge_limits(self) -> dict[str, float]:
        declared = info_of(self.baseline.company.kind).bridges
        return {
            b: declared[b].limit if b in declared else max(1.0, 2 * v)
            for b, v in self.baseline.bridges.items()
        }

    def _presets_for(self, s: Scenario) -> dict[str, Mapping[str, float]]:
        """The presets offered on ``s``: those given, else the kind's and every kind's."""
        if self._given_presets is not None:
            return dict(self._given_presets)
        out = dict(DEFAULT_PRESETS)
        if not s.bridges:
            out.pop("No bridges")
        for name, values in info_of(s.company.kind).presets.items():
            out[name] = values
        return out

    def _on_pick(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        if change["new"].startswith(_UNTRUSTED):
            path = change["new"].removeprefix(_UNTRUSTED)
            self.status.value = (
                f"<b>Not opened:</b> <code>{escape_html(path)}</code> names Python code to "
                "import (a declared model), and the dashboard imports no code from a file. "
                "If you trust it, open it in a notebook with "
                "<code>compmodel.dashboard(compmodel.load_scenario(path, trust_code=True))</code>."
            )
            self._syncing = True
            try:  # back to what is on screen
                self.picker.value = change["old"] or None
            finally:
                self._syncing = False
            return
        self.load(change["new"])

    def _on_preset(self, change: dict[str, Any]) -> None:
        if self._syncing or change["new"] == _PRESET_PROMPT:
            return
        self.apply_preset(change["new"])
        self._syncing = True
        try:
            self.preset.value = _PRESET_PROMPT
        finally:
            self._syncing = False


#: The picker's value prefix for a file that names code to import (listed, not opened).
_UNTRUSTED = "untrusted:"

#: What a save name may hold (the "Save as" box): a file name, never a path.
SAVE_NAME_CHARS = "letters A-Z a-z, digits 0-9, space, '_', '.' and '-'"
SAVE_NAME_MAX = 100
_SAVE_NAME = re.compile(r"[A-Za-z0-9 _.-]+")
_NOT_IN_SAVE_NAME = re.compile(r"[^A-Za-z0-9 _.-]+")
#: Windows device names: reserved in every folder, with any extension, in any case.
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}
)


def _save_problem(message_html: str) -> str:
    """The status line for a save that did not happen (``message_html`` escaped already)."""
    return f"<div class='compmodel-save-problem' style='color:#b71c1c'>{message_html}</div>"


def _slug(text: str) -> str:
    """A save name made from free text (a scenario's name): accents dropped, every run of
    other characters a ``-``, no leading dot, at most :data:`SAVE_NAME_MAX` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_IN_SAVE_NAME.sub("-", ascii_text)
    slug = re.sub(r"\s+", " ", slug).strip(" .-_")[:SAVE_NAME_MAX].rstrip(" .-_")
    if not slug or _device(slug):
        slug = f"scenario {slug}".strip()[:SAVE_NAME_MAX].rstrip(" .-_")
    return slug


def _device(name: str) -> bool:
    """Whether Windows reads ``name`` as a device (``nul``, ``COM1.toml``, ``con .txt``)."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _DEVICES


def _check_save_name(name: str) -> None:
    """Refuse a save name that is not a plain file name (see :meth:`Dashboard.save`)."""
    allowed = f"allowed: {SAVE_NAME_CHARS}, at most {SAVE_NAME_MAX} characters"
    suggestion = _slug(name)
    try_ = f"; try {suggestion!r}" if suggestion and suggestion != name else ""
    if len(name) > SAVE_NAME_MAX:
        raise ScenarioError(
            "save name",
            f"{len(name)} characters is too long ({allowed}){try_}",
        )
    if not _SAVE_NAME.fullmatch(name):
        bad = "".join(sorted(set("".join(_NOT_IN_SAVE_NAME.findall(name)))))
        raise ScenarioError(
            "save name",
            f"{name!r} holds {bad!r}, which a save name may not: it is a file name "
            f"in the save folder, not a path ({allowed}){try_}",
        )
    if name.startswith("."):
        raise ScenarioError(
            "save name",
            f"{name!r} starts with '.', which names hidden and parent folders; start with a "
            f"letter or digit ({allowed}){try_}",
        )
    if _device(name):
        raise ScenarioError(
            "save name",
            f"{name!r} is a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or "
            f"without an extension); choose another name, e.g. {'my ' + name!r}",
        )


def _step(limit: float) -> float:
    return 0.05 if limit <= 1.0 else (0.5 if limit <= 10 else 1.0)


def _money(v: float) -> str:
    return charts._format(v, "money", None)


def _tile(kpi: Kpi, value: float | None, base: float | None, currency: str) -> str:
    """A KPI tile: the value, rounded for a room, and its change from the baseline."""
    if value is None or base is None or not (math.isfinite(value) and math.isfinite(base)):
        why = "first best and no incentive tie here" if kpi.name == "alignment_efficiency" else ""
        body = "not defined"
        delta = f"<div style='color:{_GREY};font-size:13px'>{why}</div>" if why else ""
    else:
        diff = value - base
        if kpi.format == "money":
            body = f"{_money(value)} {escape_html(currency)}"
            text = f"{'+' if diff >= 0 else '−'}{_money(abs(diff))}"
        elif kpi.format == "share":
            body = f"{value:.1%}"
            text = f"{diff * 100:+.1f} pts"
        else:
            body = f"{value:,.2f}"
            text = f"{diff:+,.2f}"
        if abs(diff) < 1e-9 * max(1.0, abs(base)) or not any(c in "123456789" for c in text):
            # unchanged at the precision shown ("+0.0 pts", "−0"): no colour, no sign
            colour, text = _GREY, "as baseline"
        else:
            good = diff > 0 if kpi.better == "higher" else diff < 0
            colour = _BETTER if good else _WORSE
        delta = f"<div style='color:{colour};font-size:13px'>{text}</div>"
    return (
        "<div style='border:1px solid #cfd8dc;border-radius:6px;padding:6px 10px;margin:2px'>"
        f"<div style='color:#546e7a;font-size:12px'>{escape_html(kpi.label)}</div>"
        f"<div class='kpi-value' style='font-size:20px;font-weight:600'>{body}</div>{delta}</div>"
    )


def _note_html(lines: Sequence[str], warn: bool) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{line}</li>" for line in lines)
    colour = "#fff3e0" if warn else "#e3f2fd"
    return (
        f"<div class='compmodel-note' style='background:{colour};border-left:4px solid #ef6c00;"
        f"padding:4px 12px;margin:4px 0'><ul style='margin:4px 0'>{items}</ul></div>"
    )


def dashboard(
    scenario: Scenario | str | Path,
    *,
    samples: str | Path | None = None,
    presets: Mapping[str, Mapping[str, float]] | None = None,
    n_draws: int = 10_000,
    seed: int = 0,
    save_dir: str | Path = "saved_scenarios",
) -> Dashboard:
    """The live dashboard for a scenario: one ipywidgets widget, built once.

    Parameters
    ----------
    scenario
        A scenario, or the path of a scenario file (its folder then fills the picker).
    samples
        Folder of scenario files for the picker (default: the scenario file's folder;
        files without a company model are left out).
    presets
        Name -> parameter values a consultant can apply with one click (default
        :data:`DEFAULT_PRESETS`; ``"bridges"`` sets every bridge, ``"shared"`` every
        department's shared-outcome share).
    n_draws, seed
        The simulation behind the compensation bill (same seed, same numbers).
    save_dir
        The folder "Save scenario" writes TOML files to, and the only one: the "Save as"
        box takes a file name (letters, digits, space, ``_ . -``; see
        :meth:`Dashboard.save`), never a path; an existing file is replaced only after
        the "Overwrite" button confirms it.

    Returns
    -------
    Dashboard
        An :class:`ipywidgets.VBox`; display it in JupyterLab or serve it with voila.
    """
    return Dashboard(
        scenario, samples=samples, presets=presets, n_draws=n_draws, seed=seed, save_dir=save_dir
    )
