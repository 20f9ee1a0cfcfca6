"""Company plug-ins reach the compiled path through one door, and never a stale kernel.

The generic kernels are compiled per plug-in from a generated module named by a hash of
every source they compile (compmodel._kernels). The oracle is Holmström-Milgrom (1987)
on a toy plug-in whose output is ``SLOPE x effort``: the equilibrium effort is
``beta x SLOPE / c`` (THEORY.md section 1, data/samples/theory/hm87.toml), so editing
the plug-in's equation from SLOPE = 1 to 2 must double it, in a new process that finds
the old kernels in the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import compmodel as cm
from compmodel import _kernels, kinds
from compmodel.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HM87 = ROOT / "data" / "samples" / "theory" / "hm87.toml"
BETA, COST = 0.3664, 1.3

PLUGIN = '''
"""A toy company: output = SLOPE x effort, value 1 per unit of effort."""
import numpy as np

from compmodel._jit import jit
from compmodel.models import CompiledEquations, lever_space, register_kind

SLOPE = 1.0


@jit
def means(t, data):
    out = np.empty(1)
    out[0] = SLOPE * t[0] + data[0]
    return out


class Toy:
    compiled = CompiledEquations(__name__, means="means")

    def __init__(self, scenario):
        self.levers = lever_space(scenario)
        self.metrics = ("output",)
        self.kernel_data = np.zeros(1)

    def means(self, t):
        return means(np.asarray(t, dtype=float), self.kernel_data)

    def gross_value(self, t):
        return float(np.asarray(t, dtype=float)[0])

    def outcomes(self, t):
        return {}


register_kind("toy", Toy)
'''

RUN = """
import json, sys, tomllib
import compmodel as cm
from compmodel import kinds
kinds.BUILTIN["toy"] = "toy_plugin"
doc = tomllib.load(open(sys.argv[1], "rb"))
doc["company"]["kind"] = "toy"
s = cm.scenario_from_dict(doc)
sol = cm.solve(s, backend="compiled")
print(json.dumps({"effort": sol.levers["agent.effort"]}))
"""


def _effort(tmp: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tmp), "COMPMODEL_KERNEL_CACHE": str(tmp / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(HM87)], capture_output=True, text=True, env=env, cwd=tmp
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return float(json.loads(out.stdout.strip().splitlines()[-1])["effort"])


def test_an_edited_plugin_equation_gives_the_new_number_in_the_next_process(
    tmp_path: Path,
) -> None:
    plugin = tmp_path / "toy_plugin.py"
    plugin.write_text(PLUGIN)
    assert _effort(tmp_path) == pytest.approx(BETA * 1.0 / COST, rel=1e-7)
    generated = sorted((tmp_path / "cache").glob("kernels_toy_plugin_*.py"))
    assert len(generated) == 1
    plugin.write_text(PLUGIN.replace("SLOPE = 1.0", "SLOPE = 2.0"))
    assert _effort(tmp_path) == pytest.approx(BETA * 2.0 / COST, rel=1e-7)
    # a new module for the new source; the old one and numba's cache of it are gone
    again = sorted((tmp_path / "cache").glob("kernels_toy_plugin_*.py"))
    assert len(again) == 1 and again != generated
    stale = [
        p for p in (tmp_path / "cache" / "__pycache__").glob("*") if generated[0].stem in p.name
    ]
    assert not stale
    # unchanged source: the same module, its kernels loaded from numba's cache
    assert _effort(tmp_path) == pytest.approx(BETA * 2.0 / COST, rel=1e-7)
    assert sorted((tmp_path / "cache").glob("kernels_toy_plugin_*.py")) == again


def test_backend_choice_is_public_and_says_why_it_cannot_compile() -> None:
    today = cm.load_scenario(ROOT / "data" / "samples" / "acme_today.toml")
    compiled = cm.solve(today, backend="compiled")
    python = cm.solve(today, backend="python")
    assert compiled.lever_vector == pytest.approx(python.lever_vector, abs=1e-7)
    kinked = today.with_values(
        {"forecast.bookings.sd": 0.0, "forecast.bookings.individual_sd": 0.0}
    )
    with pytest.raises(ScenarioError, match=r"backend: 'compiled' is not possible.*sales"):
        cm.solve(kinked, backend="compiled")
    assert cm.solve(kinked).diagnostics.converged  # "auto" falls back to Python
    hm87 = cm.load_scenario(HM87)  # the linear kind brings no compiled equations
    with pytest.raises(ScenarioError, match="no compiled equations"):
        cm.solve(hm87, backend="compiled")
    with pytest.raises(ScenarioError, match="allowed: 'auto'"):
        cm.solve(hm87, backend="numba")  # type: ignore[arg-type]


def test_module_names_are_checked_before_they_reach_generated_source() -> None:
    with pytest.raises(ScenarioError, match="not a Python module"):
        _kernels.kernels_for("os; import shutil", means="means")
    with pytest.raises(ScenarioError, match="not a Python name"):
        _kernels.kernels_for("compmodel.models.manufacturer", means_jacobian="f(); g")
    with pytest.raises(ScenarioError, match="unknown kind 'retailer'"):
        kinds.module_of("retailer")
    assert "manufacturer" in kinds.available() and kinds.available()[0] == "none"
    doc = tomllib.loads(HM87.read_text())
    doc["company"]["kind"] = "retailer"
    with pytest.raises(ScenarioError, match=r"company\.kind.*allowed: 'none'"):
        cm.scenario_from_dict(doc)


def test_the_template_alone_never_solves() -> None:
    from compmodel import _compiled

    src = textwrap.dedent(Path(_compiled.__file__).read_text())
    assert "models.manufacturer" not in src  # the generic kernels know no company
