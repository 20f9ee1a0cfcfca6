"""Company plug-ins reach the compiled path through one door, and never a stale kernel.

The generic kernels are compiled per plug-in from a generated module named by a hash of
every source they compile (compmodel._kernels). The oracle is Holmström-Milgrom (1987)
on a toy plug-in whose output is ``SLOPE x effort``: the equilibrium effort is
``beta x SLOPE / c`` (Holmström & Milgrom 1987, data/samples/theory/hm87.toml), so editing
the plug-in's equation from SLOPE = 1 to 2 must double it, in a new process that finds
the old kernels in the cache.
"""

from __future__ import annotations

import dataclasses
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
SAMPLES = ROOT / "data" / "samples"
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
    hm87 = cm.load_scenario(HM87)
    # the linear kind's compiled equations serve backend="compiled" only
    assert cm.solve(hm87, backend="compiled").levers["agent.effort"] == pytest.approx(
        cm.solve(hm87).levers["agent.effort"], rel=1e-9
    )
    doc = hm87.to_dict()
    doc["company"].update(kind="declared", model="declared_models:hm87")
    doc["company"]["coefficients"] = {"p": {"value": 1.0, "unit": "USD per effort unit"}}
    del doc["company"]["means"]
    sys.path.insert(0, str(Path(__file__).parent))  # declared_models.py
    try:
        declared = cm.scenario_from_dict(doc, trust_code=True)  # no compiled equations
        with pytest.raises(ScenarioError, match="no compiled equations"):
            cm.solve(declared, backend="compiled")
    finally:
        sys.path.remove(str(Path(__file__).parent))
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


def test_no_generic_module_names_a_manufacturer_metric_lever_or_bridge() -> None:
    """Tiles, presets, crediting, labels, outcomes and formats come from what a kind
    declares (compmodel.models.KindInfo), so no module but the plug-ins' own names the
    manufacturer's metrics, levers or bridges in a string literal. The company figures
    every solution has (operating profit, the bill, ...) and the contract's conventional
    names (revenue, gross margin, the turnover value part) are not the manufacturer's."""
    import ast

    from compmodel.models import GROSS_MARGIN, REVENUE, TURNOVER_PART
    from compmodel.models import manufacturer as m
    from compmodel.sensitivity import FIGURES

    names = (
        set(m.MANUFACTURER_METRICS)
        | set(m.BRIDGES)
        | set(m.CREDITING.metrics)
        | {n for levers in m.LEVERS.values() for n in levers}
        | {f"{d}.{n}" for d, levers in m.LEVERS.items() for n in levers}
    ) - {*FIGURES, REVENUE, GROSS_MARGIN, TURNOVER_PART}  # the contract's own words
    plugins = {
        ROOT / "src" / Path(*mod.split(".")).with_suffix(".py") for mod in kinds.BUILTIN.values()
    }
    found = []
    for f in sorted((ROOT / "src" / "compmodel").rglob("*.py")):
        if f in plugins:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in names
            ):
                found.append(f"{f.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "\n".join(found)
    assert len(names) > 30  # metrics, levers, bridges and crediting metrics were collected


@pytest.mark.parametrize("kind", ["distributor", "linear"])
def test_the_cli_compares_any_kind_without_empty_rows(kind: str, tmp_path: Path) -> None:
    """The comparison shows the kind's own figures (none of the manufacturer's on
    another kind) and says where a figure is not defined (cap.toml: alignment)."""
    from compmodel.cli import compare_table

    name = "distributor.toml" if kind == "distributor" else "theory/cap.toml"
    first = ROOT / "data" / "samples" / name
    s = cm.load_scenario(first)
    dept = next(iter(s.departments))
    richer = dataclasses.replace(
        s.with_value(f"{dept}.target_incentive", 1.2 * s.departments[dept].target_incentive),
        name="richer",
    )
    second = cm.save_scenario(richer, tmp_path / "richer.toml")
    text = compare_table([str(first), str(second)])
    lowered = text.lower()
    assert "nan" not in lowered.replace("financ", "") and "n/a" not in lowered
    assert "otif" not in lowered and " - " not in text
    assert "operating profit" in text and "Profit walk" in text
    assert ("not defined" in text) == (kind == "linear")


@pytest.mark.parametrize("kind", ["manufacturer", "distributor"])
def test_the_display_table_covers_every_metric_lever_bridge_and_kpi(kind: str) -> None:
    """One display table per kind: each metric the model sets, each outcome it reports,
    each lever, bridge and KPI has a reader's label, a unit, a format and a meaning."""
    from compmodel.models import build_model, display_of, info_of

    sample = {"manufacturer": "acme_today.toml", "distributor": "distributor.toml"}[kind]
    scenario = cm.load_scenario(SAMPLES / sample)
    model = build_model(scenario)
    info = info_of(kind)
    names = [
        *model.metrics,
        *model.outcomes(model.levers.rest),
        *model.levers.names,
        *(f"bridges.{b}" for b in info.bridges),
    ]
    missing = [n for n in names if display_of(n, kind=kind) is None]
    assert missing == [], f"{kind} declares no display entry for {missing}"
    for name in names:
        shown = display_of(name, kind=kind)
        assert shown is not None
        assert shown.label and shown.meaning, name
        assert shown.format in ("money", "share", "count", "hours", "index"), name
        assert shown.unit, f"{name}: a unit ('index' for a dimensionless score)"
        assert shown.label != name, f"{name}: the label is a reader's name, not the key"
    for kpi in (*info.kpis, *info.story):
        assert kpi.label and kpi.meaning and kpi.unit, kpi
    labels = [display_of(n, kind=kind).label for n in names]  # type: ignore[union-attr]
    assert len(set(labels)) == len(labels), "two entries share a label"
