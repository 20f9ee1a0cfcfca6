"""Speed of compmodel on the reference company, against the straightforward way.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/run.py            # a table
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/run.py --json     # + JSON line

Figures (medians of ``--repeats`` runs unless said otherwise; one core):

* ``slider_update_ms`` - one slider move on today's plans: the sales target incentive
  moves by 0.01, :func:`compmodel.solve` follows the previous equilibrium
  (``search="warm"``), then a 10,000-draw :func:`compmodel.simulate` (DESIGN.md
  section 7: < 30 ms); ``slider_solve_ms`` and ``slider_simulate_ms`` split it;
* ``dashboard_update_ms`` - the library work behind one move of the dashboard's sales
  target-incentive slider (:meth:`compmodel.live.Dashboard.set_value`): the warm solve,
  the 10,000-draw simulation, the KPI tiles and the data of the four charts (< 30 ms);
* ``browser_render_ms`` (with ``--browser``) - in headless Chromium (Debian's), the
  dashboard served by voila: from a keydown on that slider to the next mutation of the
  chart element seen by a ``MutationObserver``, median of 20 moves (DESIGN.md: < 100 ms
  including the browser round trip);
* ``first_compile_s`` - a first run on a clean kernel cache: a new process with
  numba's cache in an empty folder runs the dashboard command's warm-up of today's
  plans (<= 60 s on 2 cores; ``--skip-compile`` leaves it out);
* ``cold_solve_ms`` - :func:`compmodel.solve` of today's plans from nothing (the
  remembered first bests and pay-moment polynomials cleared first);
* ``sweep_41x41_s`` - a 41 x 41 sweep of the sales and production target incentives
  with :func:`compmodel.sweep` on a new process pool of every core, the workers' start
  included (< 5 s). ``--sweep-grid N`` times an N x N grid instead and scales it by
  points (quicker, but the pool's start then counts N^2/1681 times too much); the JSON
  then says ``"sweep_41x41_extrapolated": true``. ``--full-sweep`` is the default;
  ``sweep_41x41_warm_s`` is the same grid with ``search="warm"`` (continuation along
  each line: faster, but it follows one branch where there are several equilibria);
* ``with_value_us`` - one edit by parameter path on ``acme_aligned``
  (:meth:`compmodel.Scenario.with_value`), median of 1,000 edits over five paths (a
  weight, which rescales the others; a curve cap; a company coefficient; a bridge; a
  target incentive), against ``with_value_round_trip_us``: the same edits the
  straightforward way, through the scenario's TOML document (write it, set the number,
  read it back and validate it all), as ``with_value`` did before; ``speedup_with_value``
  is their ratio (>= 10x);
* the second company kind (``data/samples/distributor.toml``, a plug-in of its own):
  ``plugin_cold_solve_compiled_ms`` and ``plugin_cold_solve_python_ms``, a cold solve
  by each backend (``solve(..., backend=...)``), ``plugin_speedup`` their ratio
  (>= 10x) and ``plugin_max_lever_diff`` the largest lever difference between them;
  ``plugin_first_solve_s``: in a new process, once this one has compiled the
  plug-in's kernels, the time of its first solve, kernels loaded from the cache (< 2 s;
  ``plugin_first_process_s`` adds the interpreter's start and the imports);
* the same equilibrium the straightforward way: (a) a Gauss-Seidel loop of
  per-department ``scipy.optimize.minimize`` (L-BFGS-B, finite-difference gradients)
  best responses on the library's own exact expectations, from every lever at rest
  until no lever moves by more than 1e-10 (relative); (b) that loop with the pay
  moments from 10,000 vectorised Monte Carlo draws (common random numbers), as an
  analyst would first write it. ``speedup_vs_*`` = their time / ``cold_solve_ms``;
  ``max_abs_diff_vs_exact_loop`` = largest lever difference between solve and (a).

Targets from DESIGN.md section 7 are printed beside each figure; nothing here asserts.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import optimize, special

import compmodel as cm
from compmodel.equilibrium.backends import choose_backend
from compmodel.equilibrium.problem import DepartmentProblem, build_problem

ROOT = Path(__file__).resolve().parents[1]
TODAY = ROOT / "data" / "samples" / "acme_today.toml"
ALIGNED = ROOT / "data" / "samples" / "acme_aligned.toml"
DISTRIBUTOR = ROOT / "data" / "samples" / "distributor.toml"

_FIRST_SOLVE = """
import time
t0 = time.perf_counter()
import compmodel as cm
s = cm.load_scenario({path!r})
t1 = time.perf_counter()
cm.solve(s, backend="compiled")
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""


_FIRST_COMPILE = """
import time
from pathlib import Path
t0 = time.perf_counter()
from compmodel import cli
cli.warm_up(Path({path!r}))
print(time.perf_counter() - t0)
"""


def first_compile_s() -> float:
    """A first run on a clean kernel cache: a new process, numba's cache pointed at an
    empty folder, the dashboard command's warm-up of today's plans (import, solve,
    simulate: every kernel the dashboard's first page needs, compiled) (s)."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="compmodel-cold-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_COMPILE.format(path=str(TODAY))],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
    return float(out.stdout.split()[-1])


def _use_rule(rule: str) -> None:
    """Point the timed scenarios at copies with ``settings.certainty_equivalent = rule``."""
    import dataclasses
    import tempfile

    global TODAY, ALIGNED, DISTRIBUTOR
    folder = Path(tempfile.mkdtemp(prefix="compmodel-bench-"))
    copies = []
    for path in (TODAY, ALIGNED, DISTRIBUTOR):
        s = cm.load_scenario(path)
        s = dataclasses.replace(
            s, settings=dataclasses.replace(s.settings, certainty_equivalent=rule)
        )
        cm.save_scenario(s, folder / path.name)
        copies.append(folder / path.name)
    TODAY, ALIGNED, DISTRIBUTOR = copies


def plugin_figures(repeats: int) -> dict[str, float]:
    """The second kind's cold solve by both backends, and a new process's first solve."""
    import subprocess

    s = cm.load_scenario(DISTRIBUTOR)
    cm.solve(s, backend="compiled")  # compile (or load) the plug-in's kernels here

    def cold(backend: str) -> cm.Solution:
        forget()
        return cm.solve(s, backend=backend)  # type: ignore[arg-type]

    fast_s, fast = timed(lambda: cold("compiled"), repeats)
    slow_s, slow = timed(lambda: cold("python"), repeats)
    assert isinstance(fast, cm.Solution) and isinstance(slow, cm.Solution)
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_SOLVE.format(path=str(DISTRIBUTOR))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    solve_s, process_s = map(float, out.stdout.split())
    return {
        "plugin_cold_solve_compiled_ms": fast_s * 1e3,
        "plugin_cold_solve_python_ms": slow_s * 1e3,
        "plugin_speedup": slow_s / fast_s,
        "plugin_max_lever_diff": float(np.max(np.abs(fast.lever_vector - slow.lever_vector))),
        "plugin_first_solve_s": solve_s,
        "plugin_first_process_s": process_s,
    }


#: the edits timed by ``with_value_us``: path -> two values it alternates between
EDITS: dict[str, tuple[float, float]] = {
    "sales.weights.bookings": (0.4, 0.3),
    "sales.curves.bookings.cap": (3.1e6, 3.2e6),
    "company.coefficients.addressable_market": (1.45e8, 1.55e8),
    "bridges.joint_sales_calls": (0.3, 0.1),
    "production.target_incentive": (0.12, 0.14),
}


def forget() -> None:
    """Clear what compmodel remembers between solves (first bests, pay-moment
    polynomials), so a cold run starts from nothing."""
    cm.clear_caches()


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time (s) of ``repeats`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


# --------------------------------------------------------------------------------------
# the straightforward way
# --------------------------------------------------------------------------------------
def _mc_certainty(d: DepartmentProblem, means: np.ndarray, z: np.ndarray) -> float:
    """The certainty equivalent of a person's pay from draws ``z`` (n_draws x
    variables), under the department's rule: ``-(1/r) log mean(exp(-r pay))`` (exact
    CARA, log-sum-exp) or ``mean - (r/2) var``."""
    pp = d.plan
    assert pp is not None
    chol = np.linalg.cholesky(pp.cov + 1e-300 * np.eye(len(means)))
    x = means[None, :] + z @ chol.T
    for i, is_share in enumerate(pp.logit):
        if is_share:
            x[:, i] = special.expit(x[:, i])
    pay = np.zeros(len(z))
    for _, var, poly, gate in pp.components:
        part = poly(x[:, var])
        if gate is not None:
            part = part * gate[1](x[:, gate[0]])
        pay += part
    if pp.modifier is not None:
        pay = pay * pp.modifier[1](x[:, pp.modifier[0]])
    r = d.risk_aversion
    if r > 0.0 and d.rule == "cara":
        return float(-(special.logsumexp(-r * pay) - math.log(len(pay))) / r)
    return float(pay.mean() - 0.5 * r * pay.var())


def straightforward(
    scenario: cm.Scenario, monte_carlo: bool, n_draws: int = 10_000, seed: int = 0
) -> np.ndarray:
    """Gauss-Seidel best responses with L-BFGS-B, from rest (one start, no search)."""
    forget()  # as cold as the solve it is compared with
    p = build_problem(scenario)
    backend = choose_backend(p, "auto")
    rng = np.random.default_rng(seed)
    draws = {
        d.name: rng.standard_normal((n_draws, len(d.plan.mean)))
        for d in p.depts
        if d.plan is not None
    }

    def ce(d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray) -> float:
        if not monte_carlo or d.plan is None:
            return backend.perceived_ce(d, t, x, mu0)
        t2, means = p.perceived(d, t, x, mu0)
        return _mc_certainty(d, means, draws[d.name]) - p.space.effort_cost(d.name, t2)

    t = p.space.rest.copy()
    for _ in range(500):
        old = t.copy()
        for d in p.depts:
            idx = d.levers
            if idx.size == 0:
                continue
            mu0 = p.model.means(t)
            scale = 1.0 + abs(ce(d, t, t[idx], mu0))
            bounds = list(zip(p.space.lower[idx], p.space.upper[idx], strict=True))
            res = optimize.minimize(
                lambda x, d=d, t=t, mu0=mu0, scale=scale: -ce(d, t, x, mu0) / scale,
                t[idx],
                method="L-BFGS-B",
                bounds=[
                    (None if math.isinf(a) else a, None if math.isinf(b) else b) for a, b in bounds
                ],
                options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000},
            )
            t[idx] = res.x
        if np.max(np.abs(t - old) / np.maximum(1.0, np.abs(t))) < 1e-10:
            break
    return t


# --------------------------------------------------------------------------------------
def with_value_round_trip(s: cm.Scenario, path: str, value: float) -> cm.Scenario:
    """``s.with_value(path, value)`` the straightforward way: the scenario's TOML
    document written out, the number set in it (a weight rescaling the others), and the
    document read back and validated whole."""
    from compmodel.paths import _resolve

    doc = s.to_dict()
    keys = _resolve(path, s, allow_unset=True)
    parent = doc
    for k in keys[:-1]:
        parent = parent[k]
    if keys[-1] == "weight":  # the others rescale so the weights still sum to 1
        comps = doc["departments"][keys[1]]["components"]
        others = [n for n, c in comps.items() if n != keys[3] and "weight" in c]
        rest = sum(float(comps[n]["weight"]) for n in others)
        for n in others:
            comps[n]["weight"] = float(comps[n]["weight"]) * (1.0 - value) / rest
    if isinstance(parent[keys[-1]], dict):  # a coefficient {value, unit, range, source}
        parent[keys[-1]]["value"] = value
    else:
        parent[keys[-1]] = value
    return cm.scenario_from_dict(doc, base_dir=s.base_dir, company_file=s.company_file)


def with_value_us(edit: Callable[[cm.Scenario, str, float], cm.Scenario], n: int) -> float:
    """Median time (us) of ``n`` edits cycling through :data:`EDITS`."""
    s = cm.load_scenario(ALIGNED)
    paths = list(EDITS)
    times = []
    for i in range(n):
        path = paths[i % len(paths)]
        value = EDITS[path][(i // len(paths)) % 2]
        t0 = time.perf_counter()
        edit(s, path, value)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def _sweep_point_grid(n: int) -> dict[str, np.ndarray]:
    return {
        "sales.target_incentive": np.linspace(0.4, 1.2, n),
        "production.target_incentive": np.linspace(0.0, 0.16, n),
    }


def dashboard_update_ms(moves: int) -> float:
    """Median library time of a dashboard slider move (solve, simulate, KPIs, chart data)."""
    dash = cm.dashboard(TODAY)
    slider = dash.sliders["sales.target_incentive"]
    start = float(slider.value)
    times = []
    for k in range(moves + 2):
        slider.value = start + 0.01 * ((k % 2) + 1)  # fires Dashboard.set_value
        if k >= 2:  # the first moves load what a session loads once
            times.append(dash.last_update_ms)
    return statistics.median(times)


def browser_render_ms(moves: int = 20) -> float:
    """Median keydown -> chart repaint in headless Chromium, voila serving the dashboard."""
    sys.path.insert(0, str(ROOT / "tests"))
    from playwright.sync_api import sync_playwright

    from compmodel.cli import DASHBOARD, dashboard_command, dashboard_url
    from e2e_support import free_port, launch, render_times, serve, slider_handle

    port = free_port()
    cmd, env = dashboard_command(str(TODAY), port)
    served = serve(cmd, port, cwd=DASHBOARD.parent, env=env, name="benchmark-dashboard")
    with served, sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(dashboard_url(port, env), timeout=120_000)  # the server's token
            page.wait_for_function(
                "() => document.querySelectorAll('.vega-embed svg.marks').length >= 4",
                timeout=120_000,
            )
            handle = slider_handle(page, "target incentive").first
            handle.focus()
            times = render_times(page, ".vega-embed", lambda: handle.press("ArrowRight"), moves)
        finally:
            browser.close()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    ap.add_argument("--repeats", type=int, default=5, help="runs per median (default 5)")
    ap.add_argument(
        "--sweep-grid", type=int, default=41, help="side of the timed grid (default 41)"
    )
    ap.add_argument(
        "--full-sweep", action="store_true", help="time the real 41 x 41 grid (the default)"
    )
    ap.add_argument("--skip-montecarlo", action="store_true", help="leave out loop (b)")
    ap.add_argument(
        "--browser", action="store_true", help="time keydown -> chart render in Chromium"
    )
    ap.add_argument(
        "--certainty",
        choices=("cara", "mean_variance"),
        default="cara",
        help="how people value uncertain pay in every timed scenario (default: exact CARA)",
    )
    ap.add_argument(
        "--skip-compile", action="store_true",
        help="leave out first_compile_s (a new process on an empty kernel cache: minutes)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.certainty != "cara":
        _use_rule(args.certainty)
    today = cm.load_scenario(TODAY)
    r = max(1, args.repeats)

    def cold() -> cm.Solution:
        forget()  # nothing remembered from an earlier solve: truly cold
        return cm.solve(today)

    cold_s, sol = timed(cold, r)
    assert isinstance(sol, cm.Solution)
    edit_us = with_value_us(lambda s, p, v: s.with_value(p, v), 1000)
    plugin = plugin_figures(r)
    round_trip_us = with_value_us(with_value_round_trip, 1000)

    # slider: alternate the sales target incentive between two values, warm-started
    state = {"sol": sol, "k": 0}
    ti = today.get("sales.target_incentive")

    split: dict[str, list[float]] = {"solve": [], "simulate": []}

    def slider() -> object:
        state["k"] += 1
        s = today.with_value("sales.target_incentive", ti + 0.01 * (state["k"] % 2))
        t0 = time.perf_counter()
        new = cm.solve(s, warm_start=state["sol"], search="warm")  # type: ignore[arg-type]
        t1 = time.perf_counter()
        state["sol"] = new
        out = cm.simulate(s, 10_000, 0, solution=new)
        split["solve"].append(t1 - t0)
        split["simulate"].append(time.perf_counter() - t1)
        return out

    slider_s, _ = timed(slider, max(r, 10))
    dashboard_ms = dashboard_update_ms(max(r, 10))
    browser_ms = browser_render_ms() if args.browser else math.nan

    exact_s, t_exact = timed(lambda: straightforward(today, monte_carlo=False), max(1, r // 2))
    diff = float(np.max(np.abs(np.asarray(t_exact) - sol.lever_vector)))
    if args.skip_montecarlo:
        mc_s, diff_mc = math.nan, math.nan
    else:
        mc_s, t_mc = timed(lambda: straightforward(today, monte_carlo=True), 1)
        diff_mc = float(np.max(np.abs(np.asarray(t_mc) - sol.lever_vector)))

    n = 41 if args.full_sweep else max(2, args.sweep_grid)
    extrapolated = n != 41
    workers = os.cpu_count() or 1
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        cm.sweep(today, _sweep_point_grid(n), executor=pool, progress=False)
    sweep_s = (time.perf_counter() - t0) * (41 * 41) / (n * n)
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        cm.sweep(today, _sweep_point_grid(n), executor=pool, progress=False, search="warm")
    sweep_warm_s = (time.perf_counter() - t0) * (41 * 41) / (n * n)

    compile_s = math.nan if args.skip_compile else first_compile_s()
    out = {
        "first_compile_s": compile_s,
        "with_value_us": edit_us,
        "with_value_round_trip_us": round_trip_us,
        "speedup_with_value": round_trip_us / edit_us,
        **plugin,
        "slider_update_ms": slider_s * 1e3,
        "slider_solve_ms": statistics.median(split["solve"]) * 1e3,
        "slider_simulate_ms": statistics.median(split["simulate"]) * 1e3,
        "dashboard_update_ms": dashboard_ms,
        "browser_render_ms": browser_ms,
        "cold_solve_ms": cold_s * 1e3,
        "sweep_41x41_s": sweep_s,
        "sweep_41x41_warm_s": sweep_warm_s,
        "sweep_41x41_extrapolated": extrapolated,
        "sweep_grid_timed": f"{n}x{n} on {workers} processes",
        "exact_loop_ms": exact_s * 1e3,
        "montecarlo_loop_ms": mc_s * 1e3,
        "speedup_vs_exact_loop": exact_s / cold_s,
        "speedup_vs_montecarlo_loop": mc_s / cold_s,
        "max_abs_diff_vs_exact_loop": diff,
        "max_abs_diff_vs_montecarlo_loop": diff_mc,
        "repeats": r,
        "certainty_equivalent": args.certainty,
        "compmodel": cm.__version__,
    }
    rows = [
        ("first run on a clean kernel cache (dashboard warm-up)", f"{compile_s:.0f} s", "<= 60 s"),
        ("with_value, one edit on acme_aligned (median of 1,000)", f"{edit_us:.0f} us", ""),
        ("  the same through the TOML document", f"{round_trip_us:.0f} us", ""),
        ("  speed-up", f"{out['speedup_with_value']:.1f}x", ">= 10x"),
        ("distributor (plug-in), cold solve, compiled",
         f"{plugin['plugin_cold_solve_compiled_ms']:.1f} ms", ""),
        ("  the same, backend='python'", f"{plugin['plugin_cold_solve_python_ms']:.0f} ms", ""),
        ("  speed-up", f"{plugin['plugin_speedup']:.1f}x", ">= 10x"),
        ("  max |levers compiled - python|", f"{plugin['plugin_max_lever_diff']:.1e}", "<= 1e-9"),
        ("  a new process's first solve (kernels cached)",
         f"{plugin['plugin_first_solve_s']:.2f} s", "< 2 s"),
        ("    with the interpreter's start and imports",
         f"{plugin['plugin_first_process_s']:.2f} s", ""),
        ("slider update (warm solve + 10,000 draws)", f"{out['slider_update_ms']:.0f} ms", "< 30 ms"),
        ("  of which the warm solve", f"{out['slider_solve_ms']:.0f} ms", ""),
        ("  of which the simulation", f"{out['slider_simulate_ms']:.0f} ms", ""),
        ("dashboard slider move (+ KPI tiles and chart data)", f"{dashboard_ms:.0f} ms", "< 30 ms"),
        ("  keydown to chart render in Chromium (median of 20)",
         f"{browser_ms:.0f} ms" if math.isfinite(browser_ms) else "--browser", "< 100 ms"),
        ("cold solve", f"{out['cold_solve_ms']:.1f} ms", ""),
        (
            "41 x 41 sweep" + (f" (scaled from {n}x{n})" if extrapolated else ""),
            f"{sweep_s:.1f} s",
            "< 5 s",
        ),
        ("  the same, continuation (search='warm')", f"{sweep_warm_s:.1f} s",
         "one branch per line"),
        ("(a) exact-expectation L-BFGS-B loop, cold", f"{out['exact_loop_ms']:.0f} ms",
         "DESIGN prototype ~200 ms (8 levers)"),
        ("(b) 10,000-draw Monte Carlo loop, cold", f"{out['montecarlo_loop_ms']:.0f} ms", ""),
        ("speed-up vs (a)", f"{out['speedup_vs_exact_loop']:.2f}x", ">= 20x"),
        ("speed-up vs (b)", f"{out['speedup_vs_montecarlo_loop']:.2f}x", ">= 30x"),
        ("max |levers - (a) levers|", f"{diff:.2e}", "<= 1e-6"),
        ("max |levers - (b) levers|", f"{diff_mc:.2e}", ""),
    ]  # fmt: skip
    width = max(len(a) for a, _, _ in rows)
    print(f"compmodel {cm.__version__} on {TODAY.name}, medians of {r} runs")
    for a, b, c in rows:
        print(f"  {a:<{width}}  {b:>10}  {c}")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
