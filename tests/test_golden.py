"""The library's outputs are those recorded at 7eb269c, bit for bit (``scripts/golden.py``).

The first golden file was recorded at e273b87, before the restructuring, regenerated
at 81fc040 ("exact risk": exact CARA, line of sight by channel, benchmarks paid their
own way) and at 7eb269c ("an honest reference company"), which moves the reference
company's numbers on purpose: customers carry over in a closed market and every acme
figure is a steady state (the customer base each plan keeps); operating profit holds
realised lines only (no lost-customer charge, the bridges' salaried time as lost
capacity or an imputed line apart); infeasible orders include honest errors; the first
best is the steady-state planner's (started from points the model alone fixes);
sales' prospecting effort cost is the midpoint its sources support (252,000, was
500,000); a simulation draws around the solution's own customer base. The four acme
cases and the dashboard's states moved; budget_today and the nine theory cases (kinds
without dynamics) are bit for bit 81fc040's.

Each case runs in this process: at e273b87 every case computed in one process, in any
order and twice over, equals the golden file's fresh-process results bit for bit, so
what earlier tests leave in the caches changes nothing. On a difference, run
``python scripts/golden.py check tests/golden/7eb269c.json`` (a fresh process per case)
to see it outside the suite; ``--tolerance`` tells rounding from a change. Cases whose
numbers moved on purpose are listed, with why, in ``golden.MOVED``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_FILE = ROOT / "tests" / "golden" / "7eb269c.json"

_spec = importlib.util.spec_from_file_location("golden", ROOT / "scripts" / "golden.py")
assert _spec is not None and _spec.loader is not None
golden = importlib.util.module_from_spec(_spec)
sys.modules["golden"] = golden  # dataclasses look their module up by name
_spec.loader.exec_module(golden)

SHOWN = 40  # differences shown in a failure message


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    doc: dict[str, Any] = golden.load_golden(GOLDEN_FILE)
    return doc


def test_the_golden_file_has_every_case(recorded: dict[str, Any]) -> None:
    assert list(recorded["cases"]) == sorted(golden.CASES)
    assert [s["step"] for s in recorded["cases"]["dashboard"]["states"][1:]] == [
        {"path": p, "value": golden.encode(v)} for p, v in golden.DASHBOARD_STEPS
    ]


@pytest.mark.parametrize("case", golden.CASES)
def test_outputs_are_the_golden_ones_bit_for_bit(case: str, recorded: dict[str, Any]) -> None:
    """Bit for bit, but for the cases listed in ``golden.MOVED`` with why (within
    tolerance: levers 1e-8 absolute, money 1e-8 relative, counts and selection exact)."""
    old, new = recorded["cases"][case], golden.compute_case(case)
    if case in golden.MOVED:
        diffs = golden.compare_moved(old, new)
        assert golden.compare(old, new, exact=True), f"{case} is bit for bit again: unlist it"
    else:
        diffs = golden.compare(old, new, exact=True)
    shown = "\n".join(str(d) for d in diffs[:SHOWN])
    more = f"\n... and {len(diffs) - SHOWN} more" if len(diffs) > SHOWN else ""
    assert not diffs, f"{len(diffs)} difference(s) from {GOLDEN_FILE.name}:\n{shown}{more}"
