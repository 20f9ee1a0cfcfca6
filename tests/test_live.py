"""compmodel.dashboard without a browser: sliders move the numbers the library says they should.

Setting a widget's ``value`` in Python fires its observers synchronously, as a drag in
the browser does; the charts' data is read from each JupyterChart's
``spec["datasets"]``. Oracles are the library's own calls on the same scenario.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ipywidgets.widgets import widget as widget_module

import compmodel as cm
from compmodel import charts
from compmodel.crediting import credit_on
from compmodel.live import Dashboard

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
REL = 1e-6  # a warm solve and a cold one agree to the solver's tolerance


@pytest.fixture()
def dash(tmp_path: Path) -> Dashboard:
    return cm.dashboard(SAMPLES / "acme_today.toml", n_draws=2_000, seed=4, save_dir=tmp_path)


def _records(d: Dashboard, chart: str) -> list[dict]:
    spec = d.live[chart].widget.spec
    (records,) = spec["datasets"].values()
    return list(records)


def test_dashboard_is_one_widget_with_the_baseline_loaded(dash: Dashboard) -> None:
    import ipywidgets

    assert isinstance(dash, ipywidgets.VBox)
    sol = cm.solve(cm.load_scenario(SAMPLES / "acme_today.toml"))
    assert dash.kpis["operating_profit"] == pytest.approx(sol.operating_profit, rel=1e-12)
    assert "as baseline" in dash.tiles["operating_profit"].value
    # the tile shows the library's own figure, rounded as a CFO reads it (5.69M today)
    assert f"{charts._format(sol.operating_profit, 'money', None)} USD" in (
        dash.tiles["operating_profit"].value
    )
    assert dash.note.value == ""
    assert set(dash.live) == {"outcomes", "behaviour", "waterfall", "bill"}


def test_a_slider_moves_kpis_and_chart_data_as_the_library_says(
    dash: Dashboard, today: cm.Scenario
) -> None:
    dash.sliders["sales.target_incentive"].value = 0.6
    oracle = cm.solve(today.with_value("sales.target_incentive", 0.6))
    assert dash.kpis["operating_profit"] == pytest.approx(oracle.operating_profit, rel=REL)
    assert dash.kpis["otif"] == pytest.approx(oracle.metrics["otif"], rel=REL)
    assert dash.kpis["compensation_bill"] == pytest.approx(oracle.compensation_bill, rel=REL)
    # the tile shows the rounded value and the change from the baseline, green for a gain
    baseline = cm.solve(today).operating_profit
    tile = dash.tiles["operating_profit"].value
    assert charts._format(oracle.operating_profit, "money", None) in tile
    assert charts.BETTER in tile if oracle.operating_profit > baseline else charts.WORSE in tile
    # the outcomes chart: before is the baseline, after the new equilibrium
    rows = {r["figure"]: r for r in _records(dash, "outcomes")}
    assert rows["operating_profit"]["before"] == pytest.approx(baseline, rel=REL)
    assert rows["operating_profit"]["after"] == pytest.approx(oracle.operating_profit, rel=REL)
    assert rows["otif"]["after"] == pytest.approx(oracle.metrics["otif"], rel=REL)
    # the behaviour chart holds the new levers
    levers = {
        f"{r['department']}.{r['lever']}": r["value"]
        for r in _records(dash, "behaviour")
        if r["scenario"] == "current"
    }
    assert levers == pytest.approx(dict(oracle.levers), rel=1e-5, abs=1e-7)
    # the bill chart is the simulation of the new equilibrium with the dashboard's seed
    sim = cm.simulate(dash.scenario, 2_000, 4, solution=dash.solution)
    bill = {r["department"]: r for r in _records(dash, "bill")}
    summary = sim.summary.set_index("department")
    assert bill["Sales"]["p90"] == summary.loc["sales", "incentive_p90"]
    # the profit walk goes from the baseline's profit to the new one
    walk = _records(dash, "waterfall")
    assert walk[0]["end"] == pytest.approx(baseline, rel=REL)
    assert walk[-1]["end"] == pytest.approx(oracle.operating_profit, rel=REL)
    assert np.isfinite(dash.last_update_ms)


def test_widget_count_stays_flat_over_twenty_moves(dash: Dashboard) -> None:
    slider = dash.sliders["sales.target_incentive"]
    slider.value = 0.55  # first move (anything created lazily is created now)
    before = len(widget_module._instances)
    for i in range(20):
        slider.value = 0.5 + 0.01 * (i % 10)
    assert len(widget_module._instances) == before


def test_weights_always_add_up_to_one(tmp_path: Path) -> None:
    d = cm.dashboard(SAMPLES / "acme_aligned.toml", n_draws=500, save_dir=tmp_path)
    weights = {p: w for p, w in d.sliders.items() if p.startswith("sales.weights.")}
    assert len(weights) == 4
    weights["sales.weights.bookings"].value = 0.3
    shown = {p: w.value for p, w in weights.items()}
    assert sum(shown.values()) == pytest.approx(1.0, abs=1e-12)
    assert shown["sales.weights.bookings"] == 0.3
    # the others kept their proportions (0.2 : 0.1 : 0.2 of the remaining 0.7)
    assert shown["sales.weights.otif"] == pytest.approx(0.7 * 0.4)
    assert d.scenario.departments["sales"].plan.weights() == pytest.approx(
        {k.split(".")[-1]: v for k, v in shown.items()}
    )


def test_a_plan_with_two_equilibria_shows_the_note(tmp_path: Path) -> None:
    d = cm.dashboard(SAMPLES / "theory" / "coordination.toml", n_draws=500, save_dir=tmp_path)
    assert "2 equilibria" in d.note.value
    assert "compmodel-note" in d.note.value
    # and the numbers shown are the selected (highest-surplus) one
    sol = cm.solve(d.baseline)
    assert d.solution.levers == sol.levers


def test_a_refused_change_leaves_the_numbers_and_says_why(dash: Dashboard) -> None:
    before = dict(dash.kpis)
    dash.set_value("sales.curves.bookings.cap_at_rate", 1.5e6)  # below the target: refused
    assert dash.kpis == before
    assert "not applied" in dash.note.value and "cap" in dash.note.value
    assert dash.sliders["sales.curves.bookings.cap_at_rate"].value == 3.0e6


def test_the_cap_slider_keeps_the_slope_so_a_lower_cap_pays_less(dash: Dashboard) -> None:
    """Chapter 2's lesson on the dashboard: lowering the bookings cap from 3.0M to 2.5M
    lowers the payout at the cap with it (2.0 -> 1.5 of target: the slope above target,
    1.0 per million, is kept) and the compensation bill falls. The library path
    ``curves.bookings.cap`` keeps its meaning: the payout at the cap held (the curve
    steepens, the bill rises)."""
    assert "sales.curves.bookings.cap" not in dash.sliders
    s = dash.baseline
    kept = s.with_value("sales.curves.bookings.cap_at_rate", 2.5e6)
    held = s.with_value("sales.curves.bookings.cap", 2.5e6)
    curve = kept.departments["sales"].plan.components["bookings"].payout
    assert (curve.cap, curve.payout_at_cap) == (2.5e6, 1.5)
    assert held.departments["sales"].plan.components["bookings"].payout.payout_at_cap == 2.0
    before = cm.solve(s).compensation_bill
    assert cm.solve(kept).compensation_bill < before < cm.solve(held).compensation_bill
    dash.set_value("sales.curves.bookings.cap_at_rate", 2.5e6)
    assert dash.scenario.departments["sales"].plan.components["bookings"].payout == curve


def test_reset_save_and_compare(dash: Dashboard, tmp_path: Path, today: cm.Scenario) -> None:
    dash.set_value("bridges.meetings", 4.0)
    moved = dash.kpis["operating_profit"]
    path = dash.save("with meetings")
    assert path == tmp_path / "with meetings.toml"
    assert cm.load_scenario(path).bridges["meetings"] == 4.0
    assert cm.solve(cm.load_scenario(path)).operating_profit == pytest.approx(moved, rel=REL)
    dash.compare_button.value = True
    assert "operating_profit" in dash.comparison.value
    dash.reset()
    assert dash.kpis["operating_profit"] == pytest.approx(cm.solve(today).operating_profit, rel=REL)
    assert dash.sliders["bridges.meetings"].value == 0.0


def test_presets_picker_crediting_and_clawback(dash: Dashboard, today: cm.Scenario) -> None:
    assert "The article's five bridges" in dash.preset.options
    dash.preset.value = "The article's five bridges"
    assert dash.scenario.bridges["meetings"] == 4.0
    assert dash.preset.value == "Presets…"  # ready for the next click
    # it says what it set, old -> new, in the contract's words
    said = dash.note.value
    assert "five bridges” set: " in said and "Cross-department meetings 0 → 4" in said
    assert "bridges." not in said and "_" not in said.split("set: ")[1]  # words, not paths
    dash.apply_preset("The article's five bridges")  # again: nothing left to change
    assert "changes nothing on this plan" in dash.note.value
    assert dash.scenario.bridges["meetings"] == 4.0
    dash.set_value("bridges.meetings", 2.0)  # the next change clears it
    assert "Preset" not in dash.note.value
    dash.reset()
    # crediting sales on on-time margin rescales its curve by the metrics' ratio
    dash.sliders["sales.crediting"].value = "ontime_margin"
    comp = dash.scenario.departments["sales"].plan.components["bookings"]
    base = cm.solve(today)
    k = base.metrics["ontime_margin"] / base.metrics["bookings"]
    assert comp.metric == "ontime_margin"
    assert comp.payout.target == pytest.approx(2.0e6 * k)
    assert (
        credit_on(today, "ontime_margin", at=base).departments["sales"]
        == dash.scenario.departments["sales"]
    )
    dash.sliders["sales.clawbacks.cost_share"].value = 0.1
    assert dash.scenario.get("sales.curves.clawback.share") == 0.1
    dash.sliders["sales.clawbacks.cost_share"].value = 0.0
    assert "clawback" not in dash.scenario.departments["sales"].plan.components
    # the picker lists the samples with a company model, and loads one as the baseline
    labels = [label for label, _ in dash.picker.options]
    assert any("acme_aligned.toml" in label for label in labels)
    assert not any("budget_today" in label for label in labels)
    # the company file the samples share is data, not a plan (it pays no incentive)
    assert not any("(acme.toml)" in label for label in labels)
    assert any("(distributor.toml)" in label for label in labels)  # a company of its own
    dash.picker.value = str(SAMPLES / "acme_aligned.toml")
    assert dash.baseline.name == "Acme aligned"
    assert "sales.weights.otif" in dash.sliders


def test_shared_share_is_disabled_where_a_plan_pays_on_nothing_shared(dash: Dashboard) -> None:
    slider = dash.sliders["sales.shared_share"]
    assert slider.disabled
    assert "pick a scenario" in slider.tooltip


def test_dashboard_command_loads_the_kernels_first_and_refuses_a_scenario_it_cannot_solve(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command solves the scenario once before serving (compiling or loading the
    numerical kernels, and saying so); a scenario without a company model stops there
    with the library's message, before voila starts."""
    from compmodel import cli

    assert cli.warm_up(SAMPLES / "acme_today.toml") >= 0.0
    port = str(_free_port())
    assert cli.main(["dashboard", str(SAMPLES / "budget_today.toml"), "--port", port]) == 2
    out, err = capsys.readouterr()
    assert "loading the numerical kernels" in out
    assert "http://" not in out  # never served
    assert err.startswith("compmodel: ") and "company" in err


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_default_voila_command_culls_the_kernels_of_closed_tabs() -> None:
    """voila keeps a kernel per page load until the server stops unless told otherwise:
    the dashboard's command shuts down kernels idle 300 s with no tab connected,
    checking every 60 s, and never one a tab is connected to."""
    from compmodel import cli
    from compmodel.voila import voila_command

    cmd, _ = cli.dashboard_command(None, 8866)
    assert "--MappingKernelManager.cull_idle_timeout=300" in cmd
    assert "--MappingKernelManager.cull_interval=60" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd
    kept = voila_command("x.ipynb", 8866, cull=())
    assert not any("cull" in part for part in kept)


def test_a_taken_port_is_named_before_anything_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port in use stops the command before the kernels load or voila starts, with
    the port named and a free one to try; a port that is not a number says so."""
    import socket

    from compmodel import cli

    def never(_: object) -> float:
        raise AssertionError("the kernels were loaded although the port is taken")

    monkeypatch.setattr(cli, "warm_up", never)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["dashboard", "--port", str(port)]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert f"port {port} on 127.0.0.1 is taken" in err and "--port " in err
        suggested = int(err.split("--port ")[1].split()[0])
        assert suggested != port and cli.port_problem(suggested) == ""
    assert cli.main(["dashboard", "--port", "70000"]) == 2
    assert "allowed: 1 to 65535" in capsys.readouterr().err
    monkeypatch.setenv("COMPMODEL_DASHBOARD_PORT", "eighty")
    assert cli.main(["dashboard"]) == 2
    assert "COMPMODEL_DASHBOARD_PORT is 'eighty'" in capsys.readouterr().err


@pytest.mark.parametrize("sample", ["distributor.toml", "theory/hm87.toml", "theory/cap.toml"])
def test_every_kind_gets_its_own_tiles_and_none_reads_nan(sample: str, tmp_path: Path) -> None:
    """Tiles come from the company kind (the distributor's fill rate, none of the
    manufacturer's OTIF on another kind); a figure that is not defined says so."""
    from compmodel.models import info_of

    s = cm.load_scenario(SAMPLES / sample)
    dash = Dashboard(s, save_dir=tmp_path, n_draws=2_000)
    own = [k.name for k in info_of(s.company.kind).kpis]
    assert list(dash.tiles) == ["operating_profit", *own, "staff_retention",
                                "compensation_bill", "alignment_efficiency"]  # fmt: skip
    for name, tile in dash.tiles.items():
        text = tile.value.lower()
        assert "nan" not in text.replace("financ", "") and "n/a" not in text, (name, text)
    assert "otif" not in dash.tiles or s.company.kind == "manufacturer"
    if s.bridges == {}:
        assert "No bridges" not in dash.presets
    assert "The article's five bridges" not in dash.presets


def test_a_tile_is_coloured_only_when_its_change_shows() -> None:
    """A change that rounds to nothing at the tile's precision ("+0.0 pts", "−0") is
    shown as "as baseline", in grey; one that shows is green or red by its direction."""
    from compmodel.live import _BETTER, _GREY, _WORSE, _tile
    from compmodel.models import info_of

    kpis = {k.name: k for k in info_of("manufacturer").kpis}
    otif = kpis["otif"]
    tiny = _tile(otif, 0.82401, 0.82400, "USD")  # +0.001 pts: shows as +0.0 pts
    assert "as baseline" in tiny and _GREY in tiny and _BETTER not in tiny and _WORSE not in tiny
    shown = _tile(otif, 0.830, 0.824, "USD")
    assert "+0.6 pts" in shown and _BETTER in shown
    worse = _tile(otif, 0.820, 0.824, "USD")
    assert "-0.4 pts" in worse and _WORSE in worse


def test_the_dashboard_command_warms_every_plan_of_its_folder_and_says_so(
    tmp_path: Path,
) -> None:
    """Every plan the picker offers is solved once before serving (a switch then loads
    kernels, never compiles them), with a line per plan; the company file the samples
    share is not a plan; ``--samples`` names another folder, checked before anything."""
    from compmodel import cli
    from compmodel.io import scenario_folder

    offered = [p.name for p, _ in scenario_folder(SAMPLES)]
    assert "acme.toml" not in offered and "acme_aligned.toml" in offered
    lines: list[str] = []
    cli.warm_up(SAMPLES / "acme_today.toml", SAMPLES, say=lines.append)
    ready = [line for line in lines if line.startswith("ready ")]
    plans = [
        s for p, s in scenario_folder(SAMPLES)
        if p.name != "acme_today.toml" and s.company.kind != "none"
    ]  # fmt: skip
    assert len(ready) == len(plans) and any("Acme aligned" in line for line in ready)
    _, env = cli.dashboard_command(None, 8866, samples=str(SAMPLES / "theory"))
    assert env["COMPMODEL_SAMPLES"] == str((SAMPLES / "theory").resolve())
    with pytest.raises(FileNotFoundError, match="--samples"):
        cli.dashboard_command(None, 8866, samples=str(tmp_path / "nowhere"))


def test_the_warm_up_is_never_silent_longer_than_its_heartbeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long step (a cold compile: a minute) still prints a line every HEARTBEAT_S."""
    import sys
    import time as time_

    from compmodel import cli

    module = sys.modules["compmodel.solve"]
    real = module.solve

    def slow(*args: object, **kw: object) -> object:
        time_.sleep(0.35)
        return real(*args, **kw)

    monkeypatch.setattr(module, "solve", slow)
    monkeypatch.setattr(cli, "HEARTBEAT_S", 0.1)
    lines: list[str] = []
    cli.warm_up(SAMPLES / "acme_today.toml", say=lines.append)
    assert sum(line.startswith("still compiling or loading") for line in lines) >= 2


def test_the_money_axis_spans_the_benchmark_efficiency_is_measured_against(
    dash: Dashboard,
) -> None:
    """The waterfall's axis reaches the first best's profit: for the reference company
    the steady-state planner's (``cm.first_best``), not the year's static first best."""
    fb = cm.first_best(dash.baseline)
    assert dash._benchmark_profit() == fb.operating_profit
    assert fb.state  # a steady state: the planner's customer base
