"""Command line.

``python -m compmodel budget SCENARIO.toml``
    the commission budget of a scenario's plans for its forecast;
``python -m compmodel solve SCENARIO.toml``
    the equilibrium under a company model: levers, metrics, pay and profit;
``python -m compmodel dashboard [SCENARIO.toml] [--port N]``
    the live dashboard in presenter mode: ``notebooks/dashboard.ipynb`` served by voila
    on 127.0.0.1 with the code hidden and nothing fetched from the internet; open the
    address it prints (it carries the server's token).
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .budget import commission_budget
from .errors import CompmodelError
from .io import load_scenario
from .voila import TOKEN_ENV, new_token, voila_command, voila_env, voila_url


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "uncapped"
    return f"{x:,.0f}"


def budget_table(path: str, n_draws: int, seed: int, **load: Any) -> str:
    """The budget of the scenario at ``path`` as printable text (``load``: the
    arguments of :func:`compmodel.load_scenario`, ``trust_code`` and ``allow_dirs``)."""
    scenario = load_scenario(path, **load)
    b = commission_budget(scenario, n_draws=n_draws, seed=seed)
    f = b.to_frame()
    table = pd.DataFrame(
        {
            "department": f["department"],
            "people": f["headcount"].map(lambda v: f"{v:.0f}"),
            "base": f["base_total"].map(_money),
            "at target": f["target_total"].map(_money),
            "mix": f["pay_mix"].map(lambda v: f"{100 * v:.0f}/{100 - 100 * v:.0f}"),
            "expected": f["expected"].map(_money),
            "P10": f["p10"].map(_money),
            "P50": f["p50"].map(_money),
            "P90": f["p90"].map(_money),
            "most owed": f["max_exposure"].map(_money),
        }
    )
    d = b.diagnostics
    lines = [
        f"Commission budget: {b.scenario}",
        f"{b.currency} per {b.period}, department totals; incentive pay only "
        "(base pay shown for the mix)",
        "",
        table.to_string(index=False),
        "",
        f"expected: exact ({', '.join(d.methods)}; largest error bound "
        f"{d.max_error_bound:.1e}); P10/P50/P90: {d.n_draws:,} Monte Carlo draws, "
        f"seed {d.seed}; simulated means within {d.max_abs_z:.1f} standard errors of "
        "the exact ones.",
    ]
    return "\n".join(lines)


def _amount(x: float) -> str:
    """Money for the solve table: whole units when large, 4 significant digits when small."""
    if not math.isfinite(x):
        return "uncapped"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def solve_table(path: str, **load: Any) -> str:
    """The equilibrium of the scenario at ``path`` as printable text."""
    from .solve import solve

    scenario = load_scenario(path, **load)
    sol = solve(scenario)
    lines = [f"Equilibrium: {sol.scenario}", ""]
    lines.append("levers (per person)")
    for name, v in sol.levers.items():
        lines.append(f"  {name:<40} {v:>14.6g}")
    lines.append("metrics (expected)")
    for name, v in sol.metrics.items():
        unit = scenario.metrics[name].unit
        lines.append(f"  {name:<40} {v:>14.6g} {unit}")
    pay = pd.DataFrame(
        [
            {
                "department": d,
                "people": o.headcount,
                "base": _amount(o.base_pay),
                "incentive": _amount(o.incentive_mean),
                "risk premium": _amount(o.risk_premium),
                "effort cost": _amount(o.effort_cost),
                "CE": _amount(o.certainty_equivalent),
            }
            for d, o in sol.departments.items()
        ]
    )
    lines += ["", f"pay per person ({scenario.currency} per {scenario.period})"]
    lines.append(pay.to_string(index=False))
    eff = sol.alignment_efficiency
    lines += [
        "",
        f"gross value        {_amount(sol.gross_value)}",
        f"compensation bill  {_amount(sol.compensation_bill)}",
        f"operating profit   {_amount(sol.operating_profit)}",
        f"total surplus      {_amount(sol.total_surplus)}",
        f"alignment efficiency {'n/a' if eff is None else f'{eff:.3f}'}",
        f"equilibria found: {len(sol.diagnostics.equilibria)}; sweeps: "
        f"{sol.diagnostics.iterations}",
    ]
    lines += [f"note: {n}" for n in sol.diagnostics.notes]
    return "\n".join(lines)


_FORMATS = {
    "share": "{:.1%}",
    "money": "{:,.0f}",
    "count": "{:,.0f}",
    "hours": "{:.1f}",
    "index": "{:.3f}",
}


def compare_table(paths: Sequence[str], **load: Any) -> str:
    """Key figures of several scenarios side by side and the profit walk first->last."""
    from .models import info_of
    from .profit import profit_waterfall
    from .solve import solve

    sols = []
    for path in paths:
        sols.append(solve(load_scenario(path, **load)))
    rows: dict[str, list[str]] = {}
    scenario = load_scenario(paths[0], **load)
    for figure in info_of(scenario.company.kind).story:  # what the company kind shows
        vals = []
        for sol in sols:
            src = sol.levers if "." in figure.name else sol.metrics
            value = src.get(figure.name)
            vals.append("-" if value is None else _FORMATS[figure.format].format(value))
        rows[figure.label] = vals
    for d in sols[0].departments:
        rows[f"staff retention: {d}"] = [
            f"{sol.departments[d].retention:.1%}" if d in sol.departments else "-" for sol in sols
        ]
    rows["compensation bill"] = [f"{sol.compensation_bill:,.0f}" for sol in sols]
    rows["operating profit"] = [f"{sol.operating_profit:,.0f}" for sol in sols]
    rows["alignment efficiency"] = [
        "not defined" if sol.alignment_efficiency is None else f"{sol.alignment_efficiency:.3f}"
        for sol in sols
    ]
    table = pd.DataFrame(rows, index=[sol.scenario for sol in sols]).T
    lines = [table.to_string(), ""]
    if len(sols) > 1:
        walk = profit_waterfall(sols[0], sols[-1])
        lines.append(f"Profit walk: {sols[0].scenario} -> {sols[-1].scenario}")
        for _, r in walk.iterrows():
            lines.append(f"  {r['driver']:<40} {r['amount']:>14,.0f}")
    return "\n".join(lines)


#: The dashboard notebook voila serves (the repository's, next to the samples).
DASHBOARD = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "data" / "samples" / "acme_today.toml"


def dashboard_command(
    scenario: str | None, port: int, token: str | None = None, samples: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """The voila command line and environment that serve the dashboard.

    voila binds to 127.0.0.1 only, on ``port`` exactly, opens no browser, hides the
    code and uses compmodel's template (voila's ``lab`` template without its links to
    a CDN; see ``src/compmodel/voila/README.md``), found through ``JUPYTER_PATH``. One
    kernel is pre-heated, so the first visitor sees the charts in about 2 s. The
    scenario reaches the notebook as ``COMPMODEL_SCENARIO``; ``samples``, the folder of
    plans the picker offers (default: the scenario's folder), as ``COMPMODEL_SAMPLES``.

    The server requires ``token`` (default: a new random one), which the environment
    carries (``env["JUPYTER_TOKEN"]``; open :func:`dashboard_url`), and refuses a request
    whose ``Host`` is not 127.0.0.1/localhost (DNS rebinding). Run the command in
    ``DASHBOARD.parent`` (voila reads configuration files from its working directory).
    """
    if not DASHBOARD.is_file():
        raise FileNotFoundError(
            f"{DASHBOARD} is missing: the dashboard runs from a checkout of the repository "
            "(pip install -e .), where notebooks/dashboard.ipynb lives"
        )
    path = Path(scenario).resolve() if scenario else DEFAULT_SCENARIO
    if not path.is_file():
        raise FileNotFoundError(f"no scenario file {path}; try data/samples/acme_today.toml")
    folder = Path(samples).resolve() if samples else path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no folder {folder} for --samples; give a folder of scenario files, e.g. data/samples"
        )
    env = voila_env(token=token or new_token())
    env["COMPMODEL_SCENARIO"] = str(path)
    env["COMPMODEL_SAMPLES"] = str(folder)
    cmd = voila_command(DASHBOARD, port, extra=["--preheat_kernel=True", "--pool_size=1"])
    return cmd, env


def dashboard_url(port: int, env: dict[str, str]) -> str:
    """The address of the dashboard served with ``env`` (from :func:`dashboard_command`)."""
    return voila_url(port, env[TOKEN_ENV])


#: the longest the dashboard command stays silent while it warms up (s)
HEARTBEAT_S = 10.0


def warm_up(scenario: Path, samples: Path | None = None, say: Any = None) -> float:
    """Solve and simulate ``scenario`` once, then solve each plan of ``samples`` (the
    folder the picker offers, :func:`compmodel.io.scenario_folder`; ``None``: none), so
    the numerical kernels every one of them needs are compiled (the first run after
    installing) or loaded from their cache before the dashboard's kernel needs them:
    a switch to any sample then loads, never compiles. ``say`` (default: nothing)
    receives a line per sample and one at least every :data:`HEARTBEAT_S` seconds
    while a step runs. Returns the seconds it took. A bad ``scenario`` fails here, with
    the library's message; a sample that does not solve is skipped (the picker shows
    its error when chosen)."""
    import threading

    from .io import scenario_folder
    from .simulate import simulate
    from .solve import solve

    tell = say or (lambda _: None)
    start = time.perf_counter()
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_S):
            tell(f"still compiling or loading ({time.perf_counter() - start:.0f} s) ...")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        s = load_scenario(scenario)
        simulate(s, 1_000, 0, solution=solve(s))
        plans = [
            (path, p) for path, p in (scenario_folder(samples) if samples else [])
            if path.resolve() != Path(scenario).resolve() and p.company.kind != "none"
            and p.departments and not (p.company.kind == "declared" and not callable(p.company.model))
        ]  # fmt: skip
        for k, (_, plan) in enumerate(plans, start=1):
            t0 = time.perf_counter()
            try:
                solve(plan)
            except CompmodelError:
                continue
            tell(f"ready {k} of {len(plans)}: {plan.name} ({time.perf_counter() - t0:.1f} s)")
    finally:
        done.set()
    return time.perf_counter() - start


def port_problem(port: int, ip: str = "127.0.0.1") -> str:
    """Why the dashboard cannot listen on ``ip``:``port`` (``""`` when it can), found by
    binding it for a moment as the server will (``SO_REUSEADDR``, as tornado sets): a
    port in use, one below 1024 without root, or one outside 1-65535."""
    if not 1 <= port <= 65535:
        return f"port {port} is not a port number; allowed: 1 to 65535, e.g. --port 8866"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except PermissionError:
            return (
                f"port {port} on {ip} needs root (ports below 1024 do); choose another, "
                f"e.g. --port {_free_near(8866, ip)}"
            )
        except OSError:
            return (
                f"port {port} on {ip} is taken (another dashboard or program listens "
                f"there); stop it, or choose another: --port {_free_near(port + 1, ip)} "
                "or COMPMODEL_DASHBOARD_PORT"
            )
    return ""


def _free_near(port: int, ip: str) -> int:
    """The first port from ``port`` on (20 tried) that binds; ``port`` if none does."""
    for p in range(port, min(port + 20, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((ip, p))
            except OSError:
                continue
            return p
    return port


def _serve_dashboard(scenario: str | None, port: int | None, samples: str | None = None) -> int:
    if port is None:
        raw = os.environ.get("COMPMODEL_DASHBOARD_PORT", "8866")
        try:
            port = int(raw)
        except ValueError:
            print(
                f"compmodel: COMPMODEL_DASHBOARD_PORT is {raw!r}; allowed: a port number "
                "from 1 to 65535, e.g. 8866",
                file=sys.stderr,
            )
            return 2
    cmd, env = dashboard_command(scenario, port, samples=samples)
    problem = port_problem(port)
    if problem:  # before anything starts: voila would print the URL, then fail
        print(f"compmodel: {problem}", file=sys.stderr)
        return 2
    print(
        "compmodel dashboard: loading the numerical kernels (the first run after "
        "installing compiles them, about a minute) ...",
        flush=True,
    )
    took = warm_up(
        Path(env["COMPMODEL_SCENARIO"]), Path(env["COMPMODEL_SAMPLES"]),
        say=lambda line: print(f"compmodel dashboard: {line}", flush=True),
    )  # fmt: skip
    print(f"compmodel dashboard: kernels ready in {took:.0f} s", flush=True)
    print(f"compmodel dashboard: {dashboard_url(port, env)}  (Ctrl+C to stop)", flush=True)
    # in the notebook's folder: voila reads voila.py/voila.json from its working directory
    # and `python -m` imports from it, so never from wherever the command was typed
    proc = subprocess.Popen(cmd, env=env, cwd=DASHBOARD.parent)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # the terminal sent voila the same Ctrl+C: let it shut down
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
        return 0


def _file_options(p: argparse.ArgumentParser) -> None:
    """What a scenario file may do beyond its values: run the code it names, read
    files outside its folder (see docs/security.md)."""
    p.add_argument(
        "--trust-code", action="store_true",
        help="import the Python a declared model names (company.model): only for a file "
        "you trust",
    )  # fmt: skip
    p.add_argument(
        "--allow-dir", action="append", metavar="DIR",
        help="a folder outside the scenario's own that its company file or rosters may "
        "be read from (repeatable)",
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compmodel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    pb = sub.add_parser("budget", help="print the commission budget of a scenario")
    pb.add_argument("scenario", help="scenario TOML file, e.g. data/samples/budget_today.toml")
    pb.add_argument("--draws", type=int, default=20_000, help="Monte Carlo draws")
    pb.add_argument("--seed", type=int, default=0, help="random seed")
    ps = sub.add_parser("solve", help="print the equilibrium of a scenario with a company model")
    ps.add_argument("scenario", help="scenario TOML file, e.g. data/samples/theory/hm87.toml")
    pc = sub.add_parser(
        "compare", help="key figures of scenarios side by side, and the profit walk"
    )
    pc.add_argument(
        "scenarios", nargs="+", help="scenario TOML files, e.g. data/samples/acme_today.toml"
    )
    pd_ = sub.add_parser(
        "dashboard", help="serve the live dashboard on 127.0.0.1 (voila, code hidden)"
    )
    pd_.add_argument(
        "scenario", nargs="?", help="scenario TOML file (default data/samples/acme_today.toml)"
    )
    pd_.add_argument(
        "--port", type=int, default=None,
        help="port on 127.0.0.1 (default $COMPMODEL_DASHBOARD_PORT or 8866)",
    )  # fmt: skip
    pd_.add_argument(
        "--samples", default=None,
        help="folder of scenario files the picker offers (default: the scenario's folder)",
    )  # fmt: skip
    for p in (pb, ps, pc):
        _file_options(p)
    args = parser.parse_args(argv)
    load = {
        "trust_code": getattr(args, "trust_code", False),
        "allow_dirs": getattr(args, "allow_dir", None) or [],
    }
    try:
        if args.command == "dashboard":
            return _serve_dashboard(args.scenario, args.port, args.samples)
        if args.command == "compare":
            print(compare_table(args.scenarios, **load))
            return 0
        if args.command == "solve":
            print(solve_table(args.scenario, **load))
            return 0
        print(budget_table(args.scenario, args.draws, args.seed, **load))
    except (CompmodelError, FileNotFoundError) as e:
        print(f"compmodel: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
