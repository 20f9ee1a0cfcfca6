"""The table of bad inputs (docs/bad-inputs.md): each one given to the public API, and
the error it gets now.

Every row is run, not written by hand: a careless user's input (a TOML or CSV file, a
Python call, a ``with_value`` edit) goes to ``load_scenario``, ``load_roster``,
``commission_budget``, ``solve`` or ``Scenario.with_value``, and the row records the
exception's type and message as they are today. An input that raises something other
than a compmodel error shows that exception's type (marked "not a compmodel error"),
and an input that is taken as given says so, so the table tells the truth;
``tests/test_guards.py`` regenerates it and fails when docs/bad-inputs.md differs.

Usage (from the repository root)::

    python scripts/bad_inputs.py > docs/bad-inputs.md
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import compmodel as cm

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

#: A small scenario every file case edits: a money metric (bookings) with a roster, a
#: share (otif, scale "logit") gating sales and paying ops, a rate table on money.
BASE = """\
name = "bad inputs"
currency = "USD"
period = "year"

[settings]
participation = "binding"

[metrics.bookings]
unit = "USD"
scope = "individual"
[metrics.otif]
unit = "share"
scope = "company"
scale = "logit"

[forecast.bookings]
mean = 2_000_000
sd = 300_000
[forecast.otif]
mean = 1.5
sd = 0.4

[departments.sales]
roster = "roster.csv"
base_pay = 75_000
target_incentive = 0.5
market_reference = 120_000
quota_metric = "bookings"
quota = 2_000_000

[departments.sales.components.bookings]
metric = "bookings"
weight = 1.0
threshold = 1_000_000
target = 2_000_000
cap = 3_000_000
payout_at_cap = 2.0
gate = { metric = "otif", threshold = 0.8 }

[departments.ops]
headcount = 10
base_pay = 50_000
target_incentive = 0.1
market_reference = 52_000

[departments.ops.components.otif]
metric = "otif"
weight = 0.8
threshold = 0.75
target = 0.85
cap = 0.95
payout_at_cap = 1.5

[departments.ops.components.bonus]
metric = "bookings"
kind = "lump_sum"
weight = 0.2
quota = 2_000_000

[departments.partners]
headcount = 3
base_pay = 40_000
target_incentive = 0.5

[departments.partners.components.commission]
metric = "bookings"
kind = "rate_table"
target = 2_000_000
tiers = [{ up_to = 1.0, rate = 0.01 }, { rate = 0.015 }]
"""

ROSTER = "person,base,quota,ability\nana,72000,2000000,1.0\nben,78000,2100000,1.1\n"

#: The memory limit (bytes of address space) a case that may allocate without bound runs
#: under, in a child process, so that the table is made without exhausting the machine.
MEMORY_LIMIT = 3 * 2**30


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: what was given, where, and the call that gives it."""

    given: str
    where: str
    run: Callable[[Path], Any]
    child: bool = False  # run in a child process under MEMORY_LIMIT


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _write(folder: Path, toml: str = BASE, roster: str = ROSTER) -> Path:
    (folder / "roster.csv").write_text(roster, encoding="utf-8")
    path = folder / "scenario.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def _edit(old: str, new: str, *more: str) -> Callable[[Path], Any]:
    """Load the base scenario with ``old`` replaced by ``new`` (and each further pair of
    ``more`` likewise); each ``old`` must occur once."""
    pairs = [(old, new), *zip(more[::2], more[1::2], strict=True)]
    text = BASE
    for a, b in pairs:
        if text.count(a) != 1:
            raise AssertionError(f"the base scenario holds {a!r} {text.count(a)} times")
        text = text.replace(a, b)
    return lambda folder: cm.load_scenario(_write(folder, text))


def _edit_all(old: str, new: str) -> Callable[[Path], Any]:
    """Load the base scenario with every ``old`` replaced by ``new``."""
    return lambda folder: cm.load_scenario(_write(folder, BASE.replace(old, new)))


def _roster(csv_bytes: bytes) -> Callable[[Path], Any]:
    """Load the base scenario with ``roster.csv`` holding ``csv_bytes``."""

    def run(folder: Path) -> Any:
        path = _write(folder)
        (folder / "roster.csv").write_bytes(csv_bytes)
        return cm.load_scenario(path)

    return run


def _base(folder: Path) -> cm.Scenario:
    return cm.load_scenario(_write(folder))


def _with(path: str, value: Any) -> Callable[[Path], Any]:
    return lambda folder: _base(folder).with_value(path, value)


def _settings(**changes: Any) -> Callable[[Path], Any]:
    def run(folder: Path) -> Any:
        s = _base(folder)
        return dataclasses.replace(s, settings=dataclasses.replace(s.settings, **changes))

    return run


def _renamed(old: str, new: str) -> Callable[[Path], Any]:
    """The base scenario built in Python with department ``old`` named ``new``."""

    def run(folder: Path) -> Any:
        s = _base(folder)
        depts = {(new if n == old else n): d for n, d in s.departments.items()}
        return dataclasses.replace(s, departments=depts)

    return run


def _binary(folder: Path) -> Any:
    path = folder / "garbage.toml"
    path.write_bytes(bytes(range(256)) * 4)
    return cm.load_scenario(path)


def _directory_scenario(folder: Path) -> Any:
    (folder / "scenarios.toml").mkdir()
    return cm.load_scenario(folder / "scenarios.toml")


def _directory_roster(folder: Path) -> Any:
    (folder / "roster_dir").mkdir()
    return cm.load_roster(folder / "roster_dir")


def _directory_company(folder: Path) -> Any:
    (folder / "company.toml").mkdir()
    return cm.load_scenario(_write(folder, 'company_file = "company.toml"\n' + BASE))


def _bom_toml(folder: Path) -> Any:
    path = _write(folder)
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    return cm.load_scenario(path)


def _budget(**kwargs: Any) -> Callable[[Path], Any]:
    return lambda folder: cm.commission_budget(_base(folder), **kwargs)


def _hm87_solve(**kwargs: Any) -> Callable[[Path], Any]:
    return lambda folder: cm.solve(cm.load_scenario(SAMPLES / "theory" / "hm87.toml"), **kwargs)


# --------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------
CASES: list[Case] = [
    # ---- plausibility guards
    Case("`target_incentive = 5` (meant 5%)", "TOML file", _edit("target_incentive = 0.5\nmarket", "target_incentive = 5\nmarket")),
    Case("`target_incentive = 35` (meant 35%)", "TOML file", _edit("target_incentive = 0.5\nmarket", "target_incentive = 35\nmarket")),
    Case("`target_incentive = 2` (meant 2%)", "TOML file", _edit("target_incentive = 0.1\nmarket", "target_incentive = 2\nmarket")),
    Case("`base_pay = 750_000` (an extra zero): on-target earnings 7.8x the market", "TOML file", _edit("base_pay = 75_000", "base_pay = 750_000")),
    Case("`with_value(\"sales.target_incentive\", 5)`", "with_value", _with("sales.target_incentive", 5)),
    Case("OTIF thresholds in percent on a share: `threshold = 75`, `target = 85`, `cap = 95`", "TOML file", _edit("threshold = 0.75\ntarget = 0.85\ncap = 0.95", "threshold = 75\ntarget = 85\ncap = 95")),
    Case("a gate threshold in percent on a share: `threshold = 80`", "TOML file", _edit('threshold = 0.8 }', 'threshold = 80 }')),
    Case("`with_value(\"ops.curves.otif.cap\", 95)` on a share", "with_value", _with("ops.curves.otif.cap", 95)),
    Case("`ability = 1000` in the roster", "CSV file", _roster(b"person,base,quota,ability\nana,72000,2000000,1000\nben,78000,2100000,1.1\n")),
    Case("`base_pay = 1e300`", "TOML file", _edit("base_pay = 75_000", "base_pay = 1e300")),
    Case("`market_reference = 1e13`", "TOML file", _edit("market_reference = 120_000", "market_reference = 1e13")),
    Case("`sd = 1e200` on a money metric", "TOML file", _edit("sd = 300_000", "sd = 1e200")),
    Case("`sd = 50` on a share (logit scale)", "TOML file", _edit("sd = 0.4", "sd = 50")),
    Case("`with_value(\"forecast.otif.sd\", 50)`", "with_value", _with("forecast.otif.sd", 50)),
    Case("a tier rate of 3.5 on a money metric (meant 3.5%)", "TOML file", _edit("rate = 0.015", "rate = 3.5")),
    Case("a lump sum of `amount = 1e13`", "TOML file", _edit("weight = 0.2\nquota = 2_000_000", "quota = 2_000_000\namount = 1e13", "weight = 0.8", "weight = 1.0")),
    Case("a coefficient outside its declared `range`", "TOML file", _edit('participation = "binding"\n', 'participation = "binding"\n\n[company.coefficients]\nprice = { value = 5_000, unit = "USD per unit", range = [1_150, 1_250] }\n')),
    Case("`allow_implausible = [\"sales.target_incentiv\"]` (a misspelled path)", "TOML file", _edit('participation = "binding"\n', 'participation = "binding"\nallow_implausible = ["sales.target_incentiv"]\n')),
    Case("`allow_implausible = \"sales.target_incentive\"` (text, not a list)", "TOML file", _edit('participation = "binding"\n', 'participation = "binding"\nallow_implausible = "sales.target_incentive"\n')),
    Case("`Settings(allow_implausible=(\"ops.weights\",))`: not a path", "Python", _settings(allow_implausible=("ops.weights",))),
    # ---- names
    Case("a department named `forecast`", "TOML file", _edit_all("departments.ops", "departments.forecast")),
    Case("a department named `settings`", "Python", _renamed("ops", "settings")),
    Case("a dotted department name `prod.eu`", "TOML file", _edit_all("departments.partners", 'departments."prod.eu"')),
    Case("a dotted department name `prod.eu`", "Python", _renamed("partners", "prod.eu")),
    # ---- files
    Case("TOML with a byte-order mark (Notepad)", "TOML file", _bom_toml),
    Case("binary garbage as TOML", "TOML file", _binary),
    Case("a directory as the scenario", "load_scenario", _directory_scenario),
    Case("a directory as the company file", "TOML file", _directory_company),
    Case("a directory as the roster", "load_roster", _directory_roster),
    Case("a scenario file that does not exist", "load_scenario", lambda folder: cm.load_scenario(folder / "missing.toml")),
    Case("`load_scenario(None)`", "Python", lambda folder: cm.load_scenario(None)),  # type: ignore[arg-type]
    Case("roster from Excel's \"CSV UTF-8\" (a byte-order mark)", "CSV file", _roster(b"\xef\xbb\xbf" + ROSTER.encode("utf-8"))),
    Case("roster with `;` separators (Excel, European settings)", "CSV file", _roster(ROSTER.replace(",", ";").encode("utf-8"))),
    Case("roster with `;` separators and decimal commas (`1,1`)", "CSV file", _roster(ROSTER.replace(",", ";").replace("1.1", "1,1").replace("1.0", "1,0").encode("utf-8"))),
    Case("roster saved as UTF-16 (Excel \"Unicode Text\")", "CSV file", _roster(ROSTER.encode("utf-16"))),
    Case("roster header `person,base,base,ability` (a duplicate column)", "CSV file", _roster(b"person,base,base,ability\nana,72000,2000000,1.0\nben,78000,2100000,1.1\n")),
    Case("roster with a person twice", "CSV file", _roster(b"person,base\nana,72000\nana,78000\n")),
    Case("roster base with a thousands separator, unquoted (`72,000`)", "CSV file", _roster(b"person,base\nana,72,000\nben,78000\n")),
    # ---- numeric options
    Case("`commission_budget(seed=-1)`", "Python", _budget(seed=-1)),
    Case("`commission_budget(seed=\"abc\")`", "Python", _budget(seed="abc")),
    Case("`commission_budget(n_draws=10**9)`", "Python", _budget(n_draws=10**9), child=True),
    Case("`solve(tol=float(\"nan\"))`", "Python", _hm87_solve(tol=math.nan)),
    Case("`solve(tol=-1)`", "Python", _hm87_solve(tol=-1)),
]  # fmt: skip


# --------------------------------------------------------------------------------------
# running them
# --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    old = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        folder = Path(tmp)
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(old)


def _clean(message: str, folder: Path) -> str:
    """The message with the case's temporary folder and the repository's path made
    neutral (so the table is the same on every machine)."""
    for path, name in ((folder.resolve(), "<folder>"), (folder, "<folder>"), (ROOT, "<repo>")):
        message = message.replace(str(path), name)
    return " ".join(message.split())


def outcome(case: Case, here: bool = False) -> tuple[str, str]:
    """``(type, message)`` of what ``case`` raises now (``accepted`` when nothing); a
    case marked ``child`` runs in a child process unless ``here``."""
    if case.child and not here:
        return _in_child(CASES.index(case))
    with _folder() as folder:
        try:
            case.run(folder)
        except Exception as e:  # the table records whatever is raised
            kind = type(e).__name__
            if not isinstance(e, cm.CompmodelError):
                kind += " (not a compmodel error)"
            return kind, _clean(str(e), folder)
        except BaseException as e:  # MemoryError is an Exception; this is SystemExit & co
            return f"{type(e).__name__} (not a compmodel error)", _clean(str(e), folder)
    return "accepted", "no error: the input is taken as given"


def _in_child(index: int) -> tuple[str, str]:
    """Run case ``index`` in a child process with its address space limited to
    :data:`MEMORY_LIMIT`; its outcome comes back as two lines."""
    code = (
        "import resource, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import bad_inputs\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
        f"kind, message = bad_inputs.outcome(bad_inputs.CASES[{index}], here=True)\n"
        "print(kind); print(message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) < 2:
        tail = " ".join(done.stderr.split()[-30:])
        return f"the process died (exit code {done.returncode})", tail
    return lines[-2], lines[-1]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """docs/bad-inputs.md: the header and one row per case."""
    out = [
        "# Bad inputs and the errors they get",
        "",
        "<!-- Generated by scripts/bad_inputs.py; do not edit by hand. Regenerate with",
        "     python scripts/bad_inputs.py > docs/bad-inputs.md",
        "     (tests/test_guards.py fails while this file differs from what it prints). -->",
        "",
        "Each row is an input a careless user might give, run through the public API as it",
        "is now: the file (TOML or CSV), the Python call or the `with_value` edit, and the",
        "exception it raises with its message. Every compmodel error derives from",
        "`CompmodelError` (input errors are also `ValueError`) and names where the value is",
        "and what to write instead. A type marked *not a compmodel error* is a traceback a",
        "user should not see; *accepted* means the input is taken as given.",
        "",
        "The plausibility guards (a target incentive above 300% of base pay, a share's",
        "points outside 0-1, ...) are waived per value by listing its parameter path under",
        '`[settings] allow_implausible = ["sales.target_incentive"]`; the limits are',
        "`compmodel.validate.PLAUSIBLE`. File cases edit one small scenario (a money metric",
        "with a roster, a share metric, a rate table): see `BASE` in scripts/bad_inputs.py.",
        f"Cases that may allocate without bound run in a child process limited to "
        f"{MEMORY_LIMIT / 2**30:g} GiB of address space.",
        "",
        "| # | Input | Where | Error type | Message |",
        "|---|---|---|---|---|",
    ]
    for i, case in enumerate(CASES, start=1):
        kind, message = outcome(case)
        out.append(
            f"| {i} | {_cell(case.given)} | {case.where} | {_cell(kind)} | {_cell(message)} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
