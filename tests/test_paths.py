"""Parameter paths edit the dataclass tree directly and refuse what a file is refused.

The oracle is the document round trip that ``Scenario.with_value`` used to be: set the
number in the scenario's TOML document and read the document again
(:func:`compmodel.scenario_from_dict`). For every numeric path of every sample scenario
and a spread of values, valid and not, an edit by path must give the same scenario as the
round trip, or the same error (type, location and message).
"""

from __future__ import annotations

import ast
import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

import compmodel as cm
from compmodel import paths
from compmodel.document import sourced_at
from compmodel.errors import ParameterPathError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
FILES = sorted(
    [p for p in SAMPLES.glob("*.toml") if p.name != "acme.toml"]
    + list((SAMPLES / "theory").glob("*.toml"))
)
VALUES = (-1e9, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 11.0, 1e9)


def _round_trip(s: cm.Scenario, path: str, v: float) -> cm.Scenario:
    """The old ``with_value`` for a plain number: set it in the document, read it back."""
    keys = paths._resolve(path, s, allow_unset=True)
    doc = s.to_dict()
    node: Any = doc
    for k in keys[:-1]:
        node = node[k]
    leaf = keys[-1]
    old = node.get(leaf) if isinstance(node, dict) else node[leaf]
    if sourced_at(tuple(map(str, keys))) and isinstance(old, dict):  # {value, range, ...}
        old["value"] = v
    elif isinstance(old, int) and not isinstance(old, bool) and float(v).is_integer():
        node[leaf] = int(v)
    else:
        node[leaf] = v
    return cm.scenario_from_dict(doc, base_dir=s.base_dir, company_file=s.company_file)


def _outcome(f: Any) -> tuple[str, Any]:
    try:
        out = f()
    except ScenarioError as e:
        return type(e).__name__, str(e)
    return "ok", out.to_dict()


def _plain_paths(s: cm.Scenario) -> list[str]:
    return [p for p in cm.parameter_paths(s) if not paths.rescales(s, p)]


@pytest.mark.parametrize("file", FILES, ids=lambda p: p.stem)
def test_with_value_matches_the_document_round_trip(file: Path) -> None:
    s = cm.load_scenario(file)
    checked = refused = 0
    for path in _plain_paths(s):
        current = float(s.get(path))
        for v in (*VALUES, current * 1.1, current + 1.0):
            want = _outcome(lambda: _round_trip(s, path, v))
            got = _outcome(lambda: s.with_value(path, v))
            assert got == want, (path, v)
            checked += 1
            refused += want[0] != "ok"
    assert checked > 50 and refused > 5  # the spread reaches both sides of the rules


def test_setting_an_unset_cap_or_mean_adds_it_like_a_file() -> None:
    s = cm.load_scenario(SAMPLES / "theory" / "hm87.toml")
    uncapped = [
        f"{d}.curves.{c}.cap"
        for d, dept in s.departments.items()
        for c, comp in dept.plan.components.items()
        if isinstance(comp.payout, cm.PayoutCurve) and comp.payout.cap is None
    ]
    for path in uncapped:
        for v in (-5.0, 0.0, 1e6):
            assert _outcome(lambda: s.with_value(path, v)) == _outcome(
                lambda: _round_trip(s, path, v)
            )


def test_weights_rescale_the_others_exactly_as_before() -> None:
    s = cm.load_scenario(SAMPLES / "acme_aligned.toml")
    out = s.with_value("sales.weights.bookings", 0.3)
    weights = out.departments["sales"].plan.weights()
    before = s.departments["sales"].plan.weights()
    rest = sum(w for n, w in before.items() if n != "bookings")
    for n, w in weights.items():
        want = 0.3 if n == "bookings" else before[n] * (1.0 - 0.3) / rest
        assert w.hex() == want.hex()
    with pytest.raises(ParameterPathError, match=r"outside the allowed range 0\.\.1"):
        s.with_value("sales.weights.bookings", 1.2)


def test_with_values_checks_plain_numbers_together() -> None:
    s = cm.load_scenario(SAMPLES / "acme_today.toml")
    curve = s.departments["sales"].plan.components["bookings"].payout
    assert isinstance(curve, cm.PayoutCurve) and curve.cap is not None
    # move the whole curve up past its cap: one at a time the target would pass the cap
    up = curve.cap - curve.threshold + 1.0
    moved = s.with_values(
        {
            "sales.curves.bookings.cap": curve.cap + up,
            "sales.curves.bookings.target": curve.target + up,
            "sales.curves.bookings.threshold": curve.threshold + up,
        }
    )
    new = moved.departments["sales"].plan.components["bookings"].payout
    assert (new.threshold, new.target, new.cap) == (
        curve.threshold + up,
        curve.target + up,
        curve.cap + up,
    )
    with pytest.raises(ScenarioError):
        s.with_value("sales.curves.bookings.target", curve.cap + up)


def test_unknown_paths_name_the_nearest() -> None:
    s = cm.load_scenario(SAMPLES / "acme_today.toml")
    with pytest.raises(ParameterPathError, match=r"sales\.target_incentive"):
        s.with_value("sales.target_incentiv", 0.2)
    with pytest.raises(ParameterPathError, match="table or text"):
        s.with_value("metrics.bookings", 1.0)


@pytest.mark.parametrize("file", FILES, ids=lambda p: p.stem)
def test_scenarios_pickle_as_values(file: Path) -> None:
    s = cm.load_scenario(file)
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.to_dict() == s.to_dict()
    edited = s.with_value(_plain_paths(s)[0], float(s.get(_plain_paths(s)[0])))
    assert pickle.loads(pickle.dumps(edited)) == edited


def _runtime_imports(module: Path, package: str) -> set[str]:
    """compmodel modules ``module`` imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    rel = module.relative_to(ROOT / "src").with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    here = parts if module.name == "__init__.py" else parts[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [a.name for a in node.names]
            for n in names:  # ``from . import x`` imports the module x
                cand = f"{target}.{n}"
                if (ROOT / "src" / Path(*cand.split("."))).with_suffix(".py").exists() or (
                    ROOT / "src" / Path(*cand.split(".")) / "__init__.py"
                ).exists():
                    out.add(cand)
            out.add(target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(package))
    return {m for m in out if m != ".".join(parts)}


def test_no_import_cycle_among_the_modules() -> None:
    package = "compmodel"
    mods = {}
    for f in (ROOT / "src" / package).rglob("*.py"):
        rel = f.relative_to(ROOT / "src").with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        mods[name] = _runtime_imports(f, package)
    # a package's __init__ re-exports its modules: edges into a package stand for the
    # modules it names, so only module -> module edges can make a cycle
    graph = {m: {d for d in deps if d in mods and d != package} for m, deps in mods.items()}
    graph = {m: deps for m, deps in graph.items() if m != package}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph.get(m, ())):
            if d == "compmodel.models" and m.startswith("compmodel.models."):
                continue  # a plug-in registering with its package (the package imports it late)
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in state:
                visit(d, [*stack, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles
    # the bottom of the house: the scenario values import nothing that solves or draws
    for low in (
        "compmodel.validate",
        "compmodel.paths",
        "compmodel.scenario",
        "compmodel.document",
    ):
        assert not graph[low] & {
            "compmodel.io", "compmodel.solve", "compmodel.crediting", "compmodel.live",
            "compmodel.charts", "compmodel.models",
        }, (low, graph[low])  # fmt: skip


def test_copy_of_a_scenario_is_equal() -> None:
    s = cm.load_scenario(SAMPLES / "acme_aligned.toml")
    assert copy.deepcopy(s) == s
