"""The commission budget a finance team would check by hand, and the sample budget."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import compmodel as cm

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

# 500 reps; quotas from a territory table; attainment ~ N(1, 0.1), independent.
QUOTA_TABLE = [(800_000.0, 100), (1_000_000.0, 200), (1_250_000.0, 150), (1_600_000.0, 50)]
TIERS = [(0.90, 0.02), (0.99, 0.03), (None, 0.04)]  # retroactive


def _write_roster(path: Path) -> list[float]:
    quotas = [q for q, n in QUOTA_TABLE for _ in range(n)]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person", "base", "quota"])
        for i, q in enumerate(quotas):
            w.writerow([f"rep-{i:03d}", 60_000, int(q)])
    return quotas


def _budget_scenario(tmp_path: Path) -> tuple[cm.Scenario, list[float]]:
    quotas = _write_roster(tmp_path / "reps.csv")
    doc = {
        "name": "500 reps",
        "metrics": {"bookings": {"unit": "USD", "scope": "individual"}},
        # the representative rep has quota 1,000,000: attainment mean 1, sd 0.1
        "forecast": {"bookings": {"mean": 1_000_000.0, "sd": 0.0, "individual_sd": 100_000.0}},
        "departments": {
            "sales": {
                "roster": "reps.csv",
                "base_pay": 60_000.0,
                "quota_metric": "bookings",
                "quota": 1_000_000.0,
                "components": {
                    "commission": {
                        "metric": "bookings",
                        "kind": "rate_table",
                        "target": 1_000_000.0,
                        "mode": "retroactive",
                        "tiers": [
                            {"up_to": 0.90, "rate": 0.02},
                            {"up_to": 0.99, "rate": 0.03},
                            {"rate": 0.04},
                        ],
                    }
                },
            }
        },
    }
    return cm.scenario_from_dict(doc, base_dir=tmp_path), quotas


def _by_hand(quotas: list[float]) -> float:
    """Sum over reps of E[rate(A) * A * quota], A ~ N(1, 0.1), from truncated moments.

    E[A; a <= A < b] = mu (Phi(beta) - Phi(alpha)) + sigma (phi(alpha) - phi(beta)).
    Volume below zero pays nothing (probability Phi(-10) ~ 8e-24, ignored).
    """
    mu, sigma = 1.0, 0.1
    edges = [0.0, 0.90, 0.99, np.inf]
    per_unit_quota = 0.0
    for (a, b), (_, rate) in zip(zip(edges[:-1], edges[1:], strict=True), TIERS, strict=True):
        alpha, beta = (a - mu) / sigma, (b - mu) / sigma
        part = mu * (stats.norm.cdf(beta) - stats.norm.cdf(alpha)) + sigma * (
            stats.norm.pdf(alpha) - stats.norm.pdf(beta)
        )
        per_unit_quota += rate * part
    return per_unit_quota * sum(quotas)


def test_commission_budget_for_500_reps_matches_hand_computation(tmp_path: Path) -> None:
    s, quotas = _budget_scenario(tmp_path)
    b = cm.commission_budget(s, n_draws=20_000, seed=7)
    hand = _by_hand(quotas)
    row = b.departments.iloc[0]
    assert row["headcount"] == 500
    assert row["expected"] == pytest.approx(hand, rel=1e-10)
    assert abs(row["mc_mean"] - hand) < 4 * row["mc_se"]
    # a direct simulation in the test, independent of the library's simulation code
    rng = np.random.default_rng(11)
    q = np.asarray(quotas)
    a = rng.normal(1.0, 0.1, size=(4_000, q.size))
    rate = np.where(a < 0.90, 0.02, np.where(a < 0.99, 0.03, 0.04))
    totals = (rate * a * q).sum(axis=1)
    se = totals.std(ddof=1) / math.sqrt(totals.size)
    assert abs(totals.mean() - hand) < 4 * se
    # reps are independent here, so the bill's sd is the root of summed variances
    assert row["sd"] == pytest.approx(math.sqrt((b.people["sd_payout"] ** 2).sum()), rel=0.05)


def test_person_results_scale_with_quota(tmp_path: Path) -> None:
    s, _ = _budget_scenario(tmp_path)
    b = cm.commission_budget(s, n_draws=1_000, seed=0)
    people = b.people.set_index("person")
    # same attainment distribution, so expected pay is proportional to quota
    small, big = people.loc["rep-000"], people.loc["rep-499"]
    assert big["expected_payout"] / small["expected_payout"] == pytest.approx(
        1_600_000 / 800_000, rel=1e-12
    )
    assert big["target_payout"] == pytest.approx(0.04 * 1_600_000, rel=1e-12)


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path: Path) -> None:
    s, _ = _budget_scenario(tmp_path)
    a = cm.commission_budget(s, n_draws=2_000, seed=3)
    b = cm.commission_budget(s, n_draws=2_000, seed=3)
    c = cm.commission_budget(s, n_draws=2_000, seed=4)
    np.testing.assert_array_equal(a.draws["total"], b.draws["total"])
    assert not np.array_equal(a.draws["total"], c.draws["total"])
    assert a.departments["expected"].equals(c.departments["expected"])  # exact part


def test_sample_budget_agrees_with_its_simulation() -> None:
    s = cm.load_scenario(SAMPLES / "budget_today.toml")
    b = cm.commission_budget(s, n_draws=40_000, seed=0)
    assert b.diagnostics.max_abs_z < 4.0
    f = b.to_frame()
    total = f.set_index("department").loc["total"]
    assert total["expected"] == pytest.approx(b.departments["expected"].sum(), rel=1e-12)
    assert total["p10"] < total["p50"] < total["p90"]
    # components sum to the department
    by_dept = b.components.groupby("department")["expected"].sum()
    for _, row in b.departments.iterrows():
        assert by_dept[row["department"]] == pytest.approx(row["expected"], rel=1e-12)
    # leadership's OTIF bonus is gated: less than the ungated expectation
    ungated = cm.commission_budget(_drop_gate(s), n_draws=200, seed=0).components.set_index(
        "component"
    )
    gated = b.components.set_index("component")
    assert gated.loc["otif", "expected"] < ungated.loc["otif", "expected"]


def _drop_gate(s: cm.Scenario) -> cm.Scenario:
    doc = s.to_dict()
    del doc["departments"]["leadership"]["components"]["otif"]["gate"]
    return cm.scenario_from_dict(doc, base_dir=s.base_dir)


def test_cli_prints_the_budget_table(capsys: pytest.CaptureFixture[str]) -> None:
    from compmodel.cli import main

    assert main(["budget", str(SAMPLES / "budget_today.toml"), "--draws", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Commission budget" in out
    for dept in ("sales", "production", "shipping", "customer_service", "leadership", "total"):
        assert dept in out
    assert "P90" in out


def test_cli_reports_bad_input_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from compmodel.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[departments.sales]\nbase_pya = 1\n')
    assert main(["budget", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "departments.sales.base_pya" in err and "base_pay" in err


def test_cli_solve_prints_the_equilibrium(capsys: pytest.CaptureFixture[str]) -> None:
    from compmodel.cli import main

    assert main(["solve", str(SAMPLES / "theory" / "hm87.toml")]) == 0
    out = capsys.readouterr().out
    assert "agent.effort" in out and "0.281846" in out
    assert "alignment efficiency 0.366" in out


def test_people_share_the_draws_of_company_metrics_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rep of the aligned sales force is paid on OTIF, retention and profit: the
    budget draws those once and scales one curve shape by each rep's target payout. The
    figures are those of evaluating each rep's own payout polynomial (to rounding)."""
    import importlib

    budget_module = importlib.import_module("compmodel.budget")
    aligned = cm.load_scenario(
        Path(__file__).resolve().parents[1] / "data" / "samples" / "acme_aligned.toml"
    )
    fast = cm.simulate(aligned, 4_000, 5)
    monkeypatch.setattr(budget_module, "PayoutCurve", type("NoCurve", (), {}))  # no shortcut
    slow = cm.simulate(aligned, 4_000, 5)
    for a, b in ((fast.budget.people, slow.budget.people), (fast.summary, slow.summary)):
        num = a.select_dtypes("number").columns
        np.testing.assert_allclose(a[num].to_numpy(), b[num].to_numpy(), rtol=1e-12, atol=1e-6)
    for dept, draws in fast.budget.draws.items():
        np.testing.assert_allclose(draws, slow.budget.draws[dept], rtol=1e-12)
    sales = fast.budget.people[fast.budget.people["department"] == "sales"]
    assert len(sales) == 24 and sales["mc_payout"].nunique() == 24  # each rep their own
