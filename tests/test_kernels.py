"""The compiled kernels are the Python code they compile.

numba compiles :mod:`compmodel.models.manufacturer`'s equations and the pay-moment
formulas; with ``NUMBA_DISABLE_JIT=1`` the same functions run as plain Python. A
subprocess evaluates them that way and the results must agree to rounding, so a
construct that numba reads differently from Python (integer division, a captured
global, a loop bound) cannot change a figure unnoticed.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import compmodel as cm
import compmodel.moments as cm_moments
from compmodel import caches
from compmodel.equilibrium.backends import choose_backend
from compmodel.equilibrium.benchmarks import first_best_key, first_best_levers
from compmodel.equilibrium.problem import build_problem
from compmodel.equilibrium.steady import at_state
from compmodel.models import build_model

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
import numpy as np
import compmodel as cm
from compmodel.models import build_model
from compmodel.moments import PiecewisePoly, normal_expectations_with_score, logit_expectations_with_score
s = cm.load_scenario(sys.argv[1]).with_values({
    "bridges.joint_sales_calls": 0.3, "bridges.rotation_days": 4.0, "bridges.meetings": 2.0,
    "bridges.capable_to_promise": 0.5})
m = build_model(s)
rng = np.random.default_rng(7)
out = {"means": [], "jac": []}
for _ in range(20):
    t = m.levers.rest * (0.6 + 0.8 * rng.random(m.levers.rest.size)) + 0.05 * rng.random(m.levers.rest.size)
    out["means"].append(m.means(t).tolist())
    out["jac"].append(m.means_jacobian(t, np.arange(t.size))[1].tolist())
    out.setdefault("outcomes", []).append(list(m.outcomes(t).values()))
poly = PiecewisePoly(np.array([0.2, 0.7]), np.array([[0.0, 0.0, 0.0], [0.1, 1.0, -0.5], [0.4, 0.0, 0.0]]))
out["normal"] = [list(map(float, v)) for v in normal_expectations_with_score(poly.breaks, poly.coefs[None], 0.5, 0.3)]
out["logit"] = list(logit_expectations_with_score(poly, 0.1, 0.8))
print(json.dumps(out))
"""


def _probe(jit: bool) -> dict[str, list]:
    env = {**os.environ, "NUMBA_DISABLE_JIT": "0" if jit else "1"}
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, str(ROOT / "data" / "samples" / "acme_today.toml")],
        capture_output=True, text=True, env=env, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(run.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def both() -> tuple[dict[str, list], dict[str, list]]:
    return _probe(jit=True), _probe(jit=False)


@pytest.mark.parametrize("key", ["means", "jac", "outcomes", "normal", "logit"])
def test_compiled_and_interpreted_kernels_agree(
    both: tuple[dict[str, list], dict[str, list]], key: str
) -> None:
    compiled, python = (np.asarray(b[key], dtype=float) for b in both)
    assert compiled.shape == python.shape
    np.testing.assert_allclose(compiled, python, rtol=1e-12, atol=1e-9)


def test_means_jacobian_is_the_derivative_of_means() -> None:
    """Against a Richardson-extrapolated central difference of ``means`` itself."""
    s = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml")
    m = build_model(s)
    t = m.levers.rest + 0.05
    means, jac = m.means_jacobian(t, np.arange(t.size))
    np.testing.assert_array_equal(means, m.means(t))
    for j in range(t.size):

        def d(h: float, j: int = j) -> np.ndarray:
            up, dn = t.copy(), t.copy()
            up[j] += h
            dn[j] -= h
            return (m.means(up) - m.means(dn)) / (2 * h)

        ref = (4 * d(1e-4) - d(2e-4)) / 3
        np.testing.assert_allclose(jac[:, j], ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


def test_means_jacobian_at_the_over_promising_kink_is_the_derivative_from_above() -> None:
    """With no over-promising (its lower bound, where ``phi = max(0, ...)`` kinks),
    the exact Jacobian's over-promising column is the one-sided derivative into the
    bounds (Richardson on forward differences); gross value's gradient is operating
    profit's row (they differ by the constant payroll)."""
    s = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml").with_value(
        "bridges.joint_sales_calls", 0.3
    )
    m = build_model(s)
    j = m.levers.names.index("sales.overpromise")
    t = m.levers.rest + 0.05
    t[j] = 0.0
    assert m.levers.lower[j] == 0.0
    means, jac = m.means_jacobian(t, np.arange(t.size))

    def fwd(h: float) -> np.ndarray:
        up = t.copy()
        up[j] += h
        return (m.means(up) - means) / h

    ref = 2 * fwd(1e-5) - fwd(2e-5)
    np.testing.assert_allclose(jac[:, j], ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())
    assert abs(jac[m.metrics.index("promise_cost"), j]) > 0  # the kink matters here
    value, grad = m.value_gradient(t)
    assert value == m.gross_value(t)
    np.testing.assert_array_equal(grad, jac[m.metrics.index("operating_profit")])


@pytest.mark.parametrize(
    "sample", ["acme_today", "acme_aligned", "acme_otif_gate", "acme_margin_on_delivery"]
)
def test_compiled_best_responses_reach_the_python_equilibrium(sample: str) -> None:
    """The compiled climb (projected Newton) and the Python path (L-BFGS-B on the same
    CE) land on the same equilibrium: levers to 1e-7, total surplus to 1e-8."""
    s = cm.load_scenario(ROOT / "data" / "samples" / f"{sample}.toml")
    fast = cm.solve(s, backend="compiled")
    slow = cm.solve(s, backend="python")
    np.testing.assert_allclose(fast.lever_vector, slow.lever_vector, rtol=0, atol=1e-7)
    assert fast.total_surplus == pytest.approx(slow.total_surplus, rel=1e-8)
    assert len(fast.diagnostics.equilibria) == len(slow.diagnostics.equilibria)


def test_the_reference_company_takes_the_compiled_path() -> None:
    """Every department of the four samples fits the kernels (the OTIF gate's sales
    plan as a product of one-dimensional expectations), so a regression to Python
    shows here; a noiseless metric a plan pays on (kinked pay) takes the Python path."""
    for sample in ("acme_today", "acme_aligned", "acme_otif_gate", "acme_margin_on_delivery"):
        p = build_problem(cm.load_scenario(ROOT / "data" / "samples" / f"{sample}.toml"))
        assert choose_backend(p, "auto").name == "compiled", sample
    today = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml")
    kinked = today.with_values(
        {"forecast.bookings.sd": 0.0, "forecast.bookings.individual_sd": 0.0}
    )
    assert choose_backend(build_problem(kinked), "auto").name == "python"


def test_first_best_is_reused_only_for_the_same_model() -> None:
    """Plans do not move the first best, so a plan sweep computes it once; any change
    to what the model reads (a coefficient) computes it afresh.

    Since customers carry over (issue 20) the memo holds two kinds of first best, each a
    pure function of its key. The benchmark (``cm.first_best``) is the steady first best,
    remembered under the model at state 0 plus ``"steady"``: one entry per model, which
    plans never add to. Each year's search also starts from that year's own first best,
    remembered under the model at the year's customer base: a solve leaves the one of
    the year it starts from (the model's default customer base, shared by every plan)
    and the one of its steady state. Plans move the steady customer base, so a plan
    sweep adds exactly one entry per steady state it reaches; anything else is a leak
    (a first best remembered per root-finding evaluation, say)."""
    today = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml")
    problem = build_problem(today)
    backend = choose_backend(problem, "auto")

    def year(state: float) -> tuple[object, ...]:
        key = first_best_key(at_state(problem, state), backend)
        assert key is not None
        return key

    steady, start = (*year(0.0), "steady"), year(problem.model.state)  # type: ignore[attr-defined]
    caches.FIRST_BEST.clear()
    sol = cm.solve(today)
    (at_today,) = sol.state.values()
    assert len({steady, start, year(at_today)}) == len(caches.FIRST_BEST) == 3
    assert all(k in caches.FIRST_BEST for k in (steady, start, year(at_today)))
    fresh = cm.first_best(today)
    assert len(caches.FIRST_BEST) == 3  # the benchmark is the one remembered
    richer = today.with_value("sales.target_incentive", 0.9)  # a plan setting
    (at_richer,) = cm.solve(richer).state.values()
    assert at_richer != at_today
    assert year(at_richer) in caches.FIRST_BEST
    assert len(caches.FIRST_BEST) == 4  # the year at the new steady state only
    assert cm.first_best(richer).lever_vector.tobytes() == fresh.lever_vector.tobytes()
    assert len(caches.FIRST_BEST) == 4
    dearer = today.with_value("company.coefficients.price", 1240.0)  # 1,200 in 1,150-1,250
    moved = cm.first_best(dearer)
    assert len(caches.FIRST_BEST) == 6  # its steady first best and its start year's
    assert np.max(np.abs(moved.lever_vector - fresh.lever_vector)) > 1e-3
    caches.FIRST_BEST.clear()
    assert cm.first_best(dearer).lever_vector.tolist() == moved.lever_vector.tolist()


budget_module = importlib.import_module("compmodel.pay")


def _aligned_rep(i: int) -> tuple[Any, Any]:
    """The person plan and exact moments of aligned sales rep ``i`` at the equilibrium."""
    s = cm.load_scenario(ROOT / "data" / "samples" / "acme_aligned.toml")
    eq = importlib.import_module("compmodel.simulate").equilibrium_forecast(s, cm.solve(s))
    dept = eq.departments["sales"]
    person = dept.roster.people[i]
    pp = budget_module.person_plan(eq, dept, person.base, person.quota, person.ability)
    return pp, budget_module.plan_moments(pp)


def test_independent_components_have_zero_covariance_as_quadrature_says() -> None:
    """An aligned rep's components on bookings, OTIF, retention and profit pay on
    uncorrelated metrics: the budget sets their covariances to 0 without integrating,
    and the two-dimensional quadrature it skips agrees (within its own error bound)."""
    pp, mom = _aligned_rep(0)
    pairs = 0
    for c in range(len(pp.components)):
        for d in range(c + 1, len(pp.components)):
            fc, fd = pp.factors(c), pp.factors(d)
            assert budget_module._independent(pp, fc, fd)
            assert mom.cov[c, d] == 0.0
            full = cm_moments.expect_product(fc + fd, pp.mean, pp.cov, pp.logit)
            scale = abs(mom.expected[c] * mom.expected[d])
            assert abs(full.value - mom.expected[c] * mom.expected[d]) <= (
                full.error_bound + 1e-9 * scale
            )
            pairs += 1
    assert pairs == 6


def test_centred_products_match_the_general_quadrature() -> None:
    """Each component's variance, on the normal scale (closed form) and on the logit
    scale (quadrature), by the budget's direct route and by the general
    ``expect_product`` on the centred polynomials: equal within the error bounds."""
    pp, mom = _aligned_rep(3)
    logit_seen = normal_seen = 0
    for c, (_, var, poly, _) in enumerate(pp.components):
        e = mom.expected[c]
        centred = poly + cm_moments.PiecewisePoly.constant(-e)
        ref = cm_moments.expect_product(
            [cm_moments.Factor(var, centred), cm_moments.Factor(var, centred)],
            pp.mean, pp.cov, pp.logit,
        )  # fmt: skip
        direct = budget_module._centred_product(poly, e, poly, e, pp, var, True)
        assert direct.value == pytest.approx(
            ref.value, abs=ref.error_bound + direct.error_bound + 1e-9 * abs(ref.value)
        )
        assert mom.cov[c, c] == pytest.approx(direct.value, rel=1e-12)
        logit_seen += pp.logit[var]
        normal_seen += not pp.logit[var]
    assert logit_seen == 2 and normal_seen == 2


def test_processes_give_compiled_helpers_different_symbol_names() -> None:
    """numba names the helpers inside a cached kernel with a per-process counter that
    starts at 1, so two processes compiling different kernels into one cache could write
    two bodies under one symbol (numba #10486): a later process loading both kernels got
    ``SystemError: 'descr' is NULL`` here. ``compmodel._jit`` starts the counter at a
    random 48-bit offset in each process, so the names no longer meet."""
    probe = (
        "import compmodel, numba.core.bytecode as b; print(next(b.FunctionIdentity._unique_ids))"
    )
    starts = [
        int(subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout)
        for _ in range(2)
    ]  # fmt: skip
    assert starts[0] != starts[1]
    assert min(starts) > 2**20, "the counter still starts where every process starts"


def test_two_signatures_saved_at_once_each_keep_their_own_machine_code(tmp_path: Path) -> None:
    """numba writes its cache files atomically, but two processes saving different
    signatures of one kernel could both read the index before either wrote it, both
    take data file 1, and leave the index naming the other signature's code.
    ``compmodel._jit`` saves under an exclusive lock: here two writers that would both
    have read the empty index (a barrier after the read; the lock lets only one reach
    it, the other's wait times out) end with two entries, each its own data."""
    from numba.core.config import DISABLE_JIT

    from compmodel import _jit

    if not DISABLE_JIT:  # with NUMBA_DISABLE_JIT=1 the kernels are plain functions
        assert type(cm_moments._evaluate._cache._cache_file) is (  # type: ignore[attr-defined]
            _jit._LockedCacheFile
        ), "compmodel's kernels no longer save their cache under the lock"
    both_read = threading.Barrier(2, timeout=0.5)

    def save(key: str) -> None:
        cache = _jit._LockedCacheFile(str(tmp_path), "kernel-1.py311", "stamp")
        read = cache._load_index

        def read_then_wait() -> dict[Any, str]:
            index = read()
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()
            return index

        cache._load_index = read_then_wait  # type: ignore[method-assign]
        cache.save(key, f"machine code for {key}")

    writers = [threading.Thread(target=save, args=(key,)) for key in ("float64", "int64")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    cache = _jit._LockedCacheFile(str(tmp_path), "kernel-1.py311", "stamp")
    assert [cache.load(key) for key in ("float64", "int64")] == [
        "machine code for float64",
        "machine code for int64",
    ]


@pytest.mark.parametrize(
    "sample", ["acme_today", "acme_aligned", "acme_otif_gate", "acme_margin_on_delivery"]
)
def test_first_best_by_the_planner_climb_matches_lbfgsb(sample: str) -> None:
    """The compiled first best (the climb of a planner paid operating profit, bearing
    everyone's effort cost) reaches L-BFGS-B's total surplus without risk, to 1e-10
    relative, and the same levers to 1e-6 (total surplus is flat at its maximum)."""
    s = cm.load_scenario(ROOT / "data" / "samples" / f"{sample}.toml")
    p = build_problem(s)
    caches.FIRST_BEST.clear()
    fast = first_best_levers(p, choose_backend(p, "compiled"))
    # the Python path: scipy's L-BFGS-B with the model's gradient
    caches.FIRST_BEST.clear()
    slow = first_best_levers(p, choose_backend(p, "python"))
    caches.FIRST_BEST.clear()
    ts_fast, ts_slow = p.total_surplus(fast, risk=False), p.total_surplus(slow, risk=False)
    assert ts_fast == pytest.approx(ts_slow, rel=1e-10)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6)


def test_pay_moments_are_shared_only_between_equal_plans() -> None:
    """A department whose plan did not change reuses its polynomials (squares and
    products); a changed plan gets its own, with its own numbers."""
    today = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml")
    richer = today.with_value("sales.target_incentive", 0.9)
    a, b = build_problem(today), build_problem(richer)
    by_name = {d.name: d for d in b.depts}
    for d in a.depts:
        if d.moments is None:
            continue
        same = d.moments is by_name[d.name].moments
        assert same == (d.name != "sales"), d.name
    sales_a = next(d for d in a.depts if d.name == "sales")
    sales_b = by_name["sales"]
    mean = sales_a.plan.mean
    assert sales_b.moments(mean)[0] > sales_a.moments(mean)[0]  # a bigger incentive pays more
