"""Sweeps and the tornado: the Holmström-Milgrom (1987) closed forms (docs/behaviour.md), executors, errors.

Oracle: Holmström & Milgrom (1987), one task (``data/samples/theory/hm87.toml``), with
binding participation and a zero market reference. For a commission beta (USD per unit),
cost c, value p per unit of effort, risk aversion r and noise variance sigma^2:
effort ``e = beta / c``, operating profit = total surplus
``p beta / c - beta^2 / (2 c) - r beta^2 sigma^2 / 2``, maximised at
``beta* = p / (1 + r c sigma^2)`` and zero at ``p = beta / 2 + r c beta sigma^2 / 2``.
"""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import compmodel as cm
from compmodel.sensitivity import _ends

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
HM87 = cm.load_scenario(SAMPLES / "theory" / "hm87.toml")
C, R, SIGMA2, P = 1.3, 0.7, 1.9, 1.0


def profit(beta: float, p: float = P, r: float = R) -> float:
    return p * beta / C - beta**2 / (2 * C) - r * beta**2 * SIGMA2 / 2


def figures(frame: pd.DataFrame, figure: str, section: str = "company") -> pd.Series:
    rows = frame[(frame["section"] == section) & (frame["figure"] == figure)]
    keys = [c for c in frame.columns if c not in ("section", "department", "figure", "value")]
    return rows.set_index(keys)["value"]


def test_sweep_matches_the_closed_form_and_finds_the_optimal_commission() -> None:
    betas = [0.1, 0.2, 0.3664, 0.5, 0.7]
    frame = cm.sweep(HM87, {"agent.target_incentive": betas})
    effort = figures(frame, "effort", "levers")
    op = figures(frame, "operating_profit")
    np.testing.assert_allclose(effort.to_numpy(), np.array(betas) / C, rtol=1e-7)
    np.testing.assert_allclose(op.to_numpy(), [profit(b) for b in betas], rtol=1e-7)
    beta_star = P / (1 + R * C * SIGMA2)  # 0.3664 (Holmström & Milgrom 1987)
    assert op.idxmax() == pytest.approx(beta_star, abs=1e-3)
    conv = figures(frame, "converged", "diagnostics")
    assert conv.eq(1.0).all()
    assert list(frame.columns) == [
        "agent.target_incentive", "section", "department", "figure", "value",
    ]  # fmt: skip


def test_two_parameter_sweep_is_the_product_grid() -> None:
    betas, risks = [0.2, 0.4], [0.0, 0.7, 1.4]
    frame = cm.sweep(HM87, {"agent.target_incentive": betas, "agent.risk_aversion": risks})
    op = figures(frame, "operating_profit")
    assert list(op.index) == [(b, r) for b in betas for r in risks]
    np.testing.assert_allclose(
        op.to_numpy(), [profit(b, r=r) for b in betas for r in risks], rtol=1e-7
    )


def test_linked_paths_move_together() -> None:
    s = HM87.with_value("company.levers.agent.effort.value", 2.0)
    key = ("agent.target_incentive", "company.levers.agent.effort.value")
    frame = cm.sweep(s, {key: [0.3, 0.6]})
    assert "agent.target_incentive & company.levers.agent.effort.value" in frame.columns
    op = figures(frame, "operating_profit")
    np.testing.assert_allclose(op.to_numpy(), [profit(0.3, p=0.3), profit(0.6, p=0.6)], rtol=1e-7)


def test_process_pool_gives_the_serial_frame() -> None:
    grid = {"agent.target_incentive": [0.2, 0.4, 0.6], "agent.risk_aversion": [0.35, 0.7]}
    serial = cm.sweep(HM87, grid)
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        parallel = cm.sweep(HM87, grid, executor=pool)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)


def test_a_large_grid_goes_to_the_pool_in_runs_and_gives_the_serial_frame() -> None:
    """From 128 points on, points travel in runs of two or more (one scenario shipped
    per run): the frame and its point order are those of the serial sweep."""
    grid = {
        "agent.target_incentive": np.linspace(0.1, 0.9, 13),
        "agent.risk_aversion": [0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0],
    }
    serial = cm.sweep(HM87, grid)
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        parallel = cm.sweep(HM87, grid, executor=pool)
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    op = figures(serial, "operating_profit")
    assert len(op) == 130
    beta = np.linspace(0.1, 0.9, 13)[7]
    assert op[(beta, 1.4)] == pytest.approx(profit(beta, r=1.4), rel=1e-7)


def test_results_cross_a_process_pool() -> None:
    """A Solution, a Simulation and a CommissionBudget pickle (their read-only maps as
    dicts, rebuilt on arrival): solving on a pool returns what solving here does."""
    import pickle

    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    with cf.ProcessPoolExecutor(max_workers=1) as pool:
        there = pool.submit(cm.solve, today).result()
    here = cm.solve(today)
    assert there == here
    assert isinstance(there.levers, type(here.levers))  # still read-only
    with pytest.raises(TypeError):
        there.levers["sales.overpromise"] = 0.0  # type: ignore[index]
    sim = cm.simulate(today, 2_000, 3)
    again = pickle.loads(pickle.dumps(sim))
    pd.testing.assert_frame_equal(again.summary, sim.summary)
    budget = cm.commission_budget(cm.load_scenario(SAMPLES / "budget_today.toml"))
    back = pickle.loads(pickle.dumps(budget))
    pd.testing.assert_frame_equal(back.people, budget.people)
    assert back.draws.keys() == budget.draws.keys()


def test_dask_local_cluster_gives_the_serial_frame() -> None:
    distributed = pytest.importorskip("distributed", reason="the test extra installs dask")
    grid = {"agent.target_incentive": [0.2, 0.4, 0.6]}
    serial = cm.sweep(HM87, grid)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        frame = cm.sweep(HM87, grid, executor=client.get_executor())
    pd.testing.assert_frame_equal(frame, serial, check_exact=True)


def test_dask_is_installed_by_the_test_extra() -> None:
    # the dask test above may not skip: importorskip would hide a broken install
    import distributed  # noqa: F401


def test_progress_bar_is_off_when_output_is_captured_and_on_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    grid = {"agent.target_incentive": [0.2, 0.4]}
    cm.sweep(HM87, grid)
    assert capsys.readouterr().err == ""
    cm.sweep(HM87, grid, progress=True)
    err = capsys.readouterr().err
    assert "sweep" in err and "2/2" in err


def test_continuation_sweep_reaches_the_same_equilibria_where_there_is_one() -> None:
    """search='warm' follows each line of the grid from its first point; with one
    equilibrium per point (HM87, and the reference company's target incentives) it
    lands where the full search does, and each point says how it was found."""
    grid = {"agent.target_incentive": [0.2, 0.4, 0.6], "agent.risk_aversion": [0.35, 0.7, 1.4]}
    full = cm.sweep(HM87, grid)
    warm = cm.sweep(HM87, grid, search="warm")
    np.testing.assert_allclose(
        figures(warm, "operating_profit"), figures(full, "operating_profit"), rtol=1e-9
    )
    assert warm.attrs["search"] == "warm" and full.attrs["search"] == "all"
    # the first point of each line is searched in full, the others followed
    followed = {pt for pt, notes in warm.attrs["notes"].items() if any("warm" in n for n in notes)}
    assert followed == {(b, r) for b in (0.2, 0.4, 0.6) for r in (0.7, 1.4)}
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    grid2 = {"sales.target_incentive": [0.6, 0.8], "production.target_incentive": [0.0, 0.08, 0.16]}
    a = cm.sweep(today, grid2)
    b = cm.sweep(today, grid2, search="warm")
    lev_a = a[a["section"] == "levers"]["value"].to_numpy()
    lev_b = b[b["section"] == "levers"]["value"].to_numpy()
    np.testing.assert_allclose(lev_b, lev_a, rtol=0, atol=1e-6)


def test_continuation_sweep_on_a_pool_gives_the_serial_frame() -> None:
    grid = {"agent.target_incentive": [0.2, 0.4, 0.6], "agent.risk_aversion": [0.35, 0.7]}
    serial = cm.sweep(HM87, grid, search="warm")
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        parallel = cm.sweep(HM87, grid, executor=pool, search="warm")
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)


def test_an_unknown_search_is_a_clear_error() -> None:
    with pytest.raises(cm.ScenarioError, match="allowed: 'all'"):
        cm.sweep(HM87, {"agent.target_incentive": [0.2]}, search="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"agent.target_incentve": [0.1]}, "Did you mean 'agent.target_incentive'"),
        ({"agent.target_incentive": []}, "at least one finite value"),
        ({"agent.target_incentive": [0.1, float("nan")]}, "at least one finite value"),
        ({"agent.target_incentive": ["a"]}, "must be numbers"),
        ({"a": [1], "b": [2], "c": [3]}, "one or two entries"),
        ({}, "one or two entries"),
        ({"agent.risk_aversion": [-1.0]}, "risk_aversion"),
    ],
)
def test_bad_sweeps_are_clear_errors_before_any_solving(grid: dict, message: str) -> None:
    with pytest.raises(cm.ScenarioError, match=message):
        cm.sweep(HM87, grid)


# --------------------------------------------------------------------------------------
# tornado
# --------------------------------------------------------------------------------------
def test_tornado_ranks_the_known_largest_effect_first() -> None:
    """+-20% of p moves profit by 0.2 p beta/c each way; of r by 0.2 r beta^2 sigma^2/2."""
    beta = 0.3664
    paths = [
        "agent.risk_aversion",
        "company.levers.agent.effort.value",
        "settings.replacement_cost",
    ]
    frame = cm.tornado(HM87, paths, spread=0.2)
    assert list(frame["path"]) == [
        "company.levers.agent.effort.value", "agent.risk_aversion", "settings.replacement_cost",
    ]  # fmt: skip
    assert list(frame["rank"]) == [1, 2, 3]
    by = frame.set_index("path")
    assert by.loc["company.levers.agent.effort.value", "swing"] == pytest.approx(
        2 * 0.2 * P * beta / C, rel=1e-7
    )
    assert by.loc["agent.risk_aversion", "swing"] == pytest.approx(
        2 * 0.2 * R * beta**2 * SIGMA2 / 2, rel=1e-7
    )
    # nobody leaves under binding participation: replacing leavers costs nothing
    assert by.loc["settings.replacement_cost", "swing"] == 0.0
    assert (
        by.loc["agent.risk_aversion", "delta_high"] < 0 < by.loc["agent.risk_aversion", "delta_low"]
    )
    assert frame["breakeven"].isna().all()


def test_tornado_finds_where_profit_crosses_zero() -> None:
    beta = 0.3664
    frame = cm.tornado(HM87, ["company.levers.agent.effort.value"], spread=0.6)
    row = frame.iloc[0]
    assert row["figure_low"] < 0 < row["figure_high"]
    expected = beta / 2 + R * C * beta * SIGMA2 / 2  # 0.5
    assert row["breakeven"] == pytest.approx(expected, rel=1e-3)


def test_tornado_versus_a_baseline_reports_the_gain() -> None:
    """Proposal 0.3664 against 0.2: the gain, and how the value per unit moves it."""
    today = HM87.with_value("agent.target_incentive", 0.2)
    frame = cm.tornado(HM87, ["company.levers.agent.effort.value"], spread=0.2, versus=today)
    row = frame.iloc[0]
    assert row["figure_base"] == pytest.approx(profit(0.3664) - profit(0.2), rel=1e-7)
    assert row["figure_high"] == pytest.approx(profit(0.3664, p=1.2) - profit(0.2, p=1.2), rel=1e-7)
    assert frame.attrs["versus"] == today.name


def test_tornado_uses_the_stated_ranges_of_coefficients() -> None:
    acme = cm.load_scenario(SAMPLES / "acme_today.toml")
    coef = acme.company.coefficients["customer_otif"]
    assert coef.range is not None
    base, lo, hi = _ends(acme, "company.coefficients.customer_otif", None)
    assert (base, lo, hi) == (coef.value, coef.range[0], coef.range[1])
    # a spread stays inside the stated range
    _, lo2, hi2 = _ends(acme, "company.coefficients.customer_otif", 1.0)
    assert (lo2, hi2) == (coef.range[0], coef.range[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no coefficients with a stated range"),
        ({"paths": ["agent.risk_aversion"]}, "has no stated range; give spread="),
        ({"paths": ["agent.risk_aversion"], "spread": 1.5}, r"allowed: a share in \(0, 1\]"),
        (
            {"paths": ["agent.risk_aversion"], "spread": 0.2, "figure": "profit"},
            "unknown figure 'profit'",
        ),
        ({"paths": ["agent.risk_aversio"], "spread": 0.2}, "Did you mean"),
        ({"paths": ["agent.market_reference"], "spread": 0.2}, "is 0, so a relative spread"),
    ],
)
def test_bad_tornados_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(cm.ScenarioError, match=message):
        cm.tornado(HM87, **kwargs)


def test_figure_of_names_the_options() -> None:
    sol = cm.solve(HM87)
    assert cm.figure_of(sol, "agent.effort") == sol.levers["agent.effort"]
    assert cm.figure_of(sol, "agent.expected_pay") == sol.departments["agent"].expected_pay
    with pytest.raises(cm.ScenarioError, match="operating_profit"):
        cm.figure_of(sol, "profits")


def test_a_point_that_does_not_settle_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_settling(scenario: cm.Scenario, **kwargs: object) -> cm.Solution:
        raise cm.ConvergenceError("best responses did not settle ... 1. Look for ...")

    monkeypatch.setattr("compmodel.sensitivity.solve", not_settling)
    with pytest.raises(cm.ConvergenceError, match=r"at agent\.risk_aversion = 0\.5: best"):
        cm.sweep(HM87, {"agent.risk_aversion": [0.5]})


def test_thread_and_process_pools_give_the_serial_frame_on_the_reference_company() -> None:
    """The caches a solve shares (pay moments, aligned polynomials, first bests) are
    keyed by content, so threads sharing them and processes rebuilding them give the
    serial sweep bit for bit."""
    today = cm.load_scenario(SAMPLES / "acme_today.toml")
    grid = {"sales.target_incentive": [0.6, 0.8], "sales.clawbacks.cost_share": [0.0, 0.2]}
    serial = cm.sweep(today, grid)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        threads = cm.sweep(today, grid, executor=pool)
    pd.testing.assert_frame_equal(threads, serial, check_exact=True)
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        processes = cm.sweep(today, grid, executor=pool)
    pd.testing.assert_frame_equal(processes, serial, check_exact=True)
