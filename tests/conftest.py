"""Test-session set-up.

The suite's linear algebra is tiny (a few levers, 10,000-draw vectors) and several
tests run two solver processes at once: BLAS threads would only compete with them on
a 2-core machine. One thread per process, set before numpy loads (an explicit setting
in the environment wins).

The suite runs on every core with pytest-xdist (``-n auto --dist loadfile`` in
pyproject.toml): one worker process per core the test process may use, at most
:data:`MAX_WORKERS` (``PYTEST_XDIST_AUTO_NUM_WORKERS`` sets another number), each test
file on one worker, so a module's shared state (a solve cached for the module, a
server in a module fixture, the notebooks run once for two tests) is computed once, as
in a serial run. The workers are handed the slowest files first (:data:`SLOW_FILES`),
then the rest in the usual order. Before they start on the whole suite, each company
kind's numerical kernels are compiled once, a process per kind at once (:data:`WARM_UP`):
on a cold cache (a fresh clone, as in CI) the workers would otherwise compile the same
kernels side by side, minutes each. ``-n 0`` (or ``--pdb``) runs everything in this process,
in the usual order, compiling as it goes; so does ``-p no:xdist``, for which this file
accepts and ignores the xdist options of the configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

#: ``-n auto`` starts no more workers than this: the slowest files (the browser test, the
#: plug-in recompiles, the notebooks) take 2-3 minutes each, so more workers would not
#: shorten the run, and every worker costs its own imports and kernel loads
MAX_WORKERS = 4

#: files that take minutes (a serial run on 2 cores: plug-ins 230 s, notebooks 215 s,
#: exact-CARA solves 180 s, the browser 100 s, pay moments 45 s), handed out first: one
#: started last would keep its worker busy long after the other had finished
SLOW_FILES = (
    "test_plugins.py",
    "test_notebooks.py",
    "test_cara_solve.py",
    "test_e2e.py",
    "test_moments.py",
)


#: the warm-up's processes, each solving and simulating its samples (a linear company on
#: the compiled backend, which "auto" does not choose for it; a budget without a model)
WARM_UP = (
    ("acme_today.toml",),
    ("distributor.toml",),
    ("theory/hm87.toml", "budget_today.toml"),
)
#: a warm-up still running then is stopped (a cold compile of every kind: ~4 CPU minutes)
WARM_UP_TIMEOUT_S = 900.0
_WARM_UP_SCRIPT = """
import sys
from pathlib import Path
import compmodel as cm
for path in map(Path, sys.argv[1:]):
    s = cm.load_scenario(path)
    if s.company.kind == "none":
        cm.commission_budget(s, n_draws=1_000)
    else:
        backend = "compiled" if s.company.kind == "linear" else "auto"
        cm.simulate(s, 1_000, 0, solution=cm.solve(s, backend=backend))
"""


def pytest_sessionstart(session: pytest.Session) -> None:
    """With xdist distributing the whole suite: :data:`WARM_UP` before the workers start
    (they start in xdist's own ``pytest_sessionstart``, which runs last). Not for chosen
    files (``pytest tests/test_plans.py`` may need no kernel at all). A failure here is
    only reported: the tests that need those kernels say what is wrong."""
    config = session.config
    if (
        not config.pluginmanager.has_plugin("dsession")
        or config.option.collectonly
        or config.args_source != pytest.Config.ArgsSource.TESTPATHS
    ):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            "compiling or loading the numerical kernels before the workers start "
            "(a cold cache: a few minutes) ..."
        )
    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    start = time.monotonic()
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _WARM_UP_SCRIPT, *(str(samples / n) for n in names)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for names in WARM_UP
    ]
    failed = []
    for names, run in zip(WARM_UP, runs, strict=True):
        try:
            run.wait(timeout=max(1.0, WARM_UP_TIMEOUT_S - (time.monotonic() - start)))
        except subprocess.TimeoutExpired:
            run.kill()
            run.wait()
        if run.returncode:
            failed.append(names)
    took = time.monotonic() - start
    if reporter is not None:
        reporter.write_line(
            f"kernels ready in {took:.0f} s"
            + (f" (the warm-up failed on {failed}: the tests will say why)" if failed else "")
        )


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Without xdist (``-p no:xdist``, or not installed) accept its options from addopts."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "pytest-xdist is not active: every test runs in this process")
    group._addoption("-n", "--numprocesses", dest="numprocesses", help="ignored without xdist")
    group.addoption("--dist", dest="dist", default="no", help="ignored without xdist")
    group.addoption("--no-loadscope-reorder", action="store_true", help="ignored without xdist")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, :data:`SLOW_FILES` first (every worker collects the same order,
    and the controller hands out files in that order: ``--no-loadscope-reorder``)."""
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown with -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: the cores this process may run on, at most :data:`MAX_WORKERS`."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").strip()
    if given.isdigit():
        return int(given)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


# --------------------------------------------------------------------------------------
# the reference company's two sample plans, loaded once per test module
# --------------------------------------------------------------------------------------
_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def today() -> object:
    """``data/samples/acme_today.toml``: the reference company's plans today."""
    import compmodel as cm

    return cm.load_scenario(_SAMPLES / "acme_today.toml")


@pytest.fixture(scope="module")
def aligned() -> object:
    """``data/samples/acme_aligned.toml``: the aligned plans with the bridges."""
    import compmodel as cm

    return cm.load_scenario(_SAMPLES / "acme_aligned.toml")
