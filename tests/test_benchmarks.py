"""The benchmark's straightforward loops compute the same equilibrium as ``solve``.

Speed is never asserted here (benchmarks/run.py prints it); these tests make sure the
baselines the ratios are taken against are right, on the HM87 closed form.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import compmodel as cm

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

HM87 = cm.load_scenario(ROOT / "data" / "samples" / "theory" / "hm87.toml")


def test_exact_loop_finds_the_closed_form_effort() -> None:
    t = bench.straightforward(HM87, monte_carlo=False)
    np.testing.assert_allclose(t, [0.3664 / 1.3], rtol=1e-6)


def test_montecarlo_loop_agrees_within_sampling_error() -> None:
    # linear pay: the draws' mean moves exactly with effort, so only the variance is
    # sampled; effort = beta / c regardless (risk does not depend on effort)
    t = bench.straightforward(HM87, monte_carlo=True, n_draws=10_000)
    assert t[0] == pytest.approx(0.3664 / 1.3, rel=1e-6)


def test_two_department_loop_matches_solve() -> None:
    s = cm.load_scenario(ROOT / "data" / "samples" / "theory" / "hm91.toml")
    np.testing.assert_allclose(
        bench.straightforward(s, monte_carlo=False), cm.solve(s).lever_vector, rtol=1e-6, atol=1e-8
    )


def test_round_trip_edits_give_what_with_value_gives() -> None:
    s = cm.load_scenario(bench.ALIGNED)
    for path, values in bench.EDITS.items():
        for v in values:
            assert (
                bench.with_value_round_trip(s, path, v).to_dict() == s.with_value(path, v).to_dict()
            )
