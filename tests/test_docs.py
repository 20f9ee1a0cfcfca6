"""The scenario-format reference (docs/scenario-format.md) stays true to the code.

The first ```toml block of the document is its complete example. These tests load it,
run a commission budget on it, round-trip it through ``save_scenario``, and check that
every key the reader accepts (the allowed-key sets of :mod:`compmodel.io`) appears in
the example and in the reference text, so the document cannot fall behind the code.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import compmodel as cm
from compmodel import io
from compmodel.io import (
    _COEF,
    _COMP_COMMON,
    _COMPANY,
    _CORR,
    _CURVE,
    _DEPT,
    _FORECAST,
    _GATE,
    _LUMP,
    _METRIC,
    _PERSON,
    _RATE,
    _SETTINGS,
    _TIER,
    _TOP,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md"
_TOML_BLOCK = re.compile(r"^```toml[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)

# Every allowed-key set of compmodel.io, by name. A new set in io.py must be added here
# (test_every_key_set_is_checked fails until it is), and then documented.
KEY_SETS: dict[str, set[str]] = {
    "_TOP": _TOP,
    "_SETTINGS": _SETTINGS,
    "_COMPANY": _COMPANY,
    "_COEF": _COEF,
    "_METRIC": _METRIC,
    "_FORECAST": _FORECAST,
    "_CORR": _CORR,
    "_DEPT": _DEPT,
    "_CURVE": _CURVE,
    "_RATE": _RATE,
    "_LUMP": _LUMP,
    "_COMP_COMMON": _COMP_COMMON,
    "_GATE": _GATE,
    "_TIER": _TIER,
    "_PERSON": _PERSON,
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def _toml_blocks() -> list[str]:
    blocks: list[str] = _TOML_BLOCK.findall(_doc_text())
    assert blocks, f"{DOC} has no ```toml block; its first one must be the complete example"
    return blocks


def _example_text() -> str:
    return _toml_blocks()[0]


def _example() -> dict[str, Any]:
    return tomllib.loads(_example_text())


def _write_example(directory: Path) -> Path:
    """Write the example (and the company file it references) into ``directory``."""
    text = _example_text()
    doc = tomllib.loads(text)
    company_file = doc.get("company_file")
    if company_file is not None:
        header = f"# {company_file}"
        found = [b for b in _toml_blocks()[1:] if b.lstrip().startswith(header)]
        assert found, (
            f"the example references company_file = {company_file!r}; the document must "
            f"show that file as a ```toml block whose first line is {header!r}"
        )
        (directory / company_file).write_text(found[0], encoding="utf-8")
    for name, dept in doc.get("departments", {}).items():
        assert not isinstance(dept.get("roster"), str), (
            f"departments.{name}.roster: keep the example's rosters inline so the "
            "example is self-contained"
        )
    path = directory / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for d in doc["departments"].values() for c in d.get("components", {}).values()]


def _union(tables: list[dict[str, Any]]) -> set[str]:
    return {k for t in tables for k in t}


def _used_keys(doc: dict[str, Any]) -> dict[str, set[str]]:
    """The keys the example uses, grouped like the allowed-key sets of compmodel.io."""
    comps = _components(doc)
    depts = list(doc["departments"].values())
    forecast = doc.get("forecast", {})
    coefs = doc.get("company", {}).get("coefficients", {})

    def of_kind(kind: str) -> list[dict[str, Any]]:
        return [c for c in comps if c.get("kind", "curve") == kind]

    return {
        "_TOP": set(doc),
        "_SETTINGS": set(doc.get("settings", {})),
        "_COMPANY": set(doc.get("company", {})),
        "_COEF": _union([c for c in coefs.values() if isinstance(c, dict)]),
        "_METRIC": _union(list(doc.get("metrics", {}).values())),
        "_FORECAST": _union([f for n, f in forecast.items() if n != "correlations"]),
        "_CORR": _union(forecast.get("correlations", [])),
        "_DEPT": _union(depts),
        "_CURVE": _union(of_kind("curve")),
        "_RATE": _union(of_kind("rate_table")),
        "_LUMP": _union(of_kind("lump_sum")),
        "_COMP_COMMON": _union(comps),
        "_GATE": _union([c["gate"] for c in comps if "gate" in c]),
        "_TIER": _union([t for c in of_kind("rate_table") for t in c.get("tiers", [])]),
        "_PERSON": _union(
            [r for d in depts if isinstance(d.get("roster"), list) for r in d["roster"]]
        ),
    }


# --------------------------------------------------------------------------------------
# the example is a valid scenario
# --------------------------------------------------------------------------------------
def test_example_loads_and_budget_runs(tmp_path: Path) -> None:
    s = cm.load_scenario(_write_example(tmp_path))
    assert isinstance(s, cm.Scenario)
    assert set(s.departments) == set(_example()["departments"])
    b = cm.commission_budget(s, n_draws=2000, seed=0)
    assert list(b.departments["department"]) == list(s.departments)
    assert all(math.isfinite(v) for v in b.departments["expected"])
    assert b.diagnostics.max_abs_z < 5


def test_example_round_trips(tmp_path: Path) -> None:
    s = cm.load_scenario(_write_example(tmp_path))
    # in place, and into another directory (company-file path rewritten relative to it)
    for target in (tmp_path / "scenario.toml", tmp_path / "saved" / "copy.toml"):
        target.parent.mkdir(exist_ok=True)
        written = cm.save_scenario(s, target)
        again = cm.load_scenario(written)
        assert again == s
        assert again.company_file == s.company_file
        if s.company_file is not None:
            saved = tomllib.loads(written.read_text(encoding="utf-8"))
            assert (written.parent / saved["company_file"]).resolve() == s.company_file
    assert not list(tmp_path.rglob("*.tmp")), "saving left a temporary file behind"


def test_every_number_in_the_example_has_a_comment() -> None:
    missing = []
    for i, line in enumerate(_example_text().splitlines(), start=1):
        code = re.sub(r'"[^"]*"', '""', line).split("#", 1)[0]
        if re.search(r"(?<![A-Za-z_])[-+]?\d", code) and "#" not in line:
            missing.append(f"line {i}: {line.strip()}")
    assert not missing, "numbers without a unit comment in the example:\n" + "\n".join(missing)


def test_example_shows_every_feature() -> None:
    doc = _example()
    comps = _components(doc)
    kinds = {c.get("kind", "curve") for c in comps}
    assert kinds == {"curve", "rate_table", "lump_sum"}
    lumps = [c for c in comps if c.get("kind") == "lump_sum"]
    assert any("amount" in c for c in lumps) and any("weight" in c for c in lumps)
    assert any("gate" in c for c in comps)
    assert any("modifier" in d for d in doc["departments"].values())
    assert any(c.get("step") is True for c in comps)
    assert any(c.get("floor") == "extend" for c in comps)
    assert any(c.get("extra_points") for c in comps)
    assert any(isinstance(d.get("roster"), list) for d in doc["departments"].values())
    coefs = doc["company"]["coefficients"].values()
    assert any(isinstance(c, (int, float)) for c in coefs), "a plain-number coefficient"
    assert any(isinstance(c, dict) for c in coefs), "a {value, unit, range, ...} coefficient"
    assert doc["forecast"]["correlations"]
    assert doc["settings"]


# --------------------------------------------------------------------------------------
# the document covers every key the reader accepts
# --------------------------------------------------------------------------------------
def test_every_key_set_is_checked() -> None:
    in_io = {
        name
        for name, value in vars(io).items()
        if name.startswith("_") and name[1:].isupper() and isinstance(value, (set, frozenset))
    }
    assert in_io == set(KEY_SETS), (
        "compmodel.io's allowed-key sets changed; update KEY_SETS here and the document"
    )


@pytest.mark.parametrize("set_name", sorted(KEY_SETS))
def test_example_uses_every_allowed_key(set_name: str) -> None:
    used = _used_keys(_example())[set_name]
    missing = sorted(KEY_SETS[set_name] - used)
    assert not missing, (
        f"keys of compmodel.io.{set_name} not used in the example of {DOC.name}: {missing}"
    )


@pytest.mark.parametrize("set_name", sorted(KEY_SETS))
def test_reference_documents_every_allowed_key(set_name: str) -> None:
    text = _doc_text()
    missing = sorted(k for k in KEY_SETS[set_name] if f"`{k}`" not in text)
    assert not missing, (
        f"keys of compmodel.io.{set_name} not documented (as `key`) in {DOC.name}: {missing}"
    )


# --------------------------------------------------------------------------------------
# the error messages the document quotes are the ones the code gives
# --------------------------------------------------------------------------------------
QUOTED_ERRORS = [
    ("threshold = 37_000", "treshold = 37_000"),
    ("[settings]", "[setings]"),
    ('mode = "marginal"', 'mode = "retro"'),
    ('metric = "units_shipped"', 'metric = "unit_shipped"'),
    ("target_incentive = 0.35", "target_incentive = 35"),
    ("value = 0.02 ", "value = 0.07 "),
    ("headcount = 4 ", "headcount = 5 "),
    ("ability = 0.9 ", "abilty = 0.9 "),
]


@pytest.mark.parametrize(("old", "new"), QUOTED_ERRORS)
def test_quoted_error_message_is_real(tmp_path: Path, old: str, new: str) -> None:
    path = _write_example(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the example no longer contains {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(cm.ScenarioError) as info:
        cm.load_scenario(path)
    assert str(info.value) in _doc_text(), f"the document does not quote: {info.value}"


def test_quoted_parameter_path_error_is_real(tmp_path: Path) -> None:
    s = cm.load_scenario(_write_example(tmp_path))
    with pytest.raises(cm.ParameterPathError) as info:
        s.with_value("shipping.curves.units.capp", 1.0)
    assert str(info.value) in _doc_text()
