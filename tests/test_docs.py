"""The scenario-format reference (docs/scenario-format.md) stays true to the code.

The first ```toml block of the document is its complete example. These tests load it,
run a commission budget and the behaviour benchmarks on it, round-trip it through
``save_scenario``, and check that every key the reader accepts (the allowed-key sets of
:mod:`compmodel.io`) appears in the example and in the reference text, so the document
cannot fall behind the code. The small worked examples of section 9 (HM87, linear and
declared) are solved, and the figures and messages the document quotes are recomputed.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import compmodel as cm
from compmodel import io
from compmodel.io import (
    _CLAW,
    _COEF,
    _COMP_COMMON,
    _COMPANY,
    _CORR,
    _CROSS,
    _CURVE,
    _DEPT,
    _FORECAST,
    _GATE,
    _LEVER,
    _LUMP,
    _MEAN,
    _METRIC,
    _PERSON,
    _RATE,
    _SETTINGS,
    _TIER,
    _TOP,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scenario-format.md"
_TOML_BLOCK = re.compile(r"^```toml[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)

# Every allowed-key set of compmodel.io, by name. A new set in io.py must be added here
# (test_every_key_set_is_checked fails until it is), and then documented.
KEY_SETS: dict[str, set[str]] = {
    "_TOP": _TOP,
    "_SETTINGS": _SETTINGS,
    "_COMPANY": _COMPANY,
    "_COEF": _COEF,
    "_LEVER": _LEVER,
    "_MEAN": _MEAN,
    "_CROSS": _CROSS,
    "_METRIC": _METRIC,
    "_FORECAST": _FORECAST,
    "_CORR": _CORR,
    "_DEPT": _DEPT,
    "_CURVE": _CURVE,
    "_RATE": _RATE,
    "_LUMP": _LUMP,
    "_CLAW": _CLAW,
    "_COMP_COMMON": _COMP_COMMON,
    "_GATE": _GATE,
    "_TIER": _TIER,
    "_PERSON": _PERSON,
}

# Keys the complete example may leave out, with the reason. They must still be documented
# (test_reference_documents_every_allowed_key) and shown in another tested block.
# ``company.model`` names the function of a declared model and is read only with
# kind = "declared", while the complete example is a linear model (so that its levers'
# ``value`` and its ``[company.means]`` are used); section 9.5 shows ``model`` in its own
# ```toml block, which test_declared_example_solves loads and solves.
# Keys the complete example (a linear company) leaves out; each is shown in another block.
EXAMPLE_EXEMPT: dict[str, set[str]] = {
    "_COMPANY": {"model"},
    "_TOP": {"bridges"},  # bridges belong to the manufacturer model
    "_CLAW": {"share", "rate_of"},  # clawbacks are shown with the manufacturer's metrics
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


def _block_with(marker: str, pattern: re.Pattern[str] = _TOML_BLOCK) -> str:
    """The one code block of the document that contains ``marker``."""
    found = [b for b in pattern.findall(_doc_text()) if marker in b]
    assert len(found) == 1, f"{DOC.name} must have exactly one such block containing {marker!r}"
    return found[0]


def _hm87_text() -> str:
    return _block_with('name = "HM87: one task"')


def _hm87() -> cm.Scenario:
    return io.scenario_from_dict(tomllib.loads(_hm87_text()))


def _quoted(x: float) -> str:
    return f"{x:.4f}"


def _flat_text() -> str:
    """The document with every run of white space (line breaks too) as one space."""
    return " ".join(_doc_text().split())


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
    company = doc.get("company", {})
    coefs = company.get("coefficients", {})
    levers = [lv for d in company.get("levers", {}).values() for lv in d.values()]

    def of_kind(kind: str) -> list[dict[str, Any]]:
        return [c for c in comps if c.get("kind", "curve") == kind]

    return {
        "_TOP": set(doc),
        "_SETTINGS": set(doc.get("settings", {})),
        "_COMPANY": set(doc.get("company", {})),
        "_COEF": _union([c for c in coefs.values() if isinstance(c, dict)]),
        "_LEVER": _union(levers),
        "_MEAN": _union(list(company.get("means", {}).values())),
        "_CROSS": _union(company.get("cost_cross", [])),
        "_METRIC": _union(list(doc.get("metrics", {}).values())),
        "_FORECAST": _union([f for n, f in forecast.items() if n != "correlations"]),
        "_CORR": _union(forecast.get("correlations", [])),
        "_DEPT": _union(depts),
        "_CURVE": _union(of_kind("curve")),
        "_RATE": _union(of_kind("rate_table")),
        "_LUMP": _union(of_kind("lump_sum")),
        "_CLAW": _union(of_kind("clawback")),
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
    assert s.company_file is not None
    # in place: the company-file reference is kept, rewritten relative to the new file
    written = cm.save_scenario(s, tmp_path / "copy.toml")
    again = cm.load_scenario(written)
    assert again == s and again.company_file == s.company_file
    saved = tomllib.loads(written.read_text(encoding="utf-8"))
    assert (written.parent / saved["company_file"]).resolve() == s.company_file
    # into a folder the company file is not inside: written inline, so the copy loads
    # again without allow_dirs (a scenario reads files only inside its folder tree)
    (tmp_path / "saved").mkdir()
    written = cm.save_scenario(s, tmp_path / "saved" / "copy.toml")
    assert "company_file" not in tomllib.loads(written.read_text(encoding="utf-8"))
    again = cm.load_scenario(written)
    assert again == s and again.company_file is None
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
    company = doc["company"]
    assert company["kind"] == "linear"
    levers = [lv for d in company["levers"].values() for lv in d.values()]
    assert len(company["levers"]) > 1, "levers in more than one department"
    assert any(lv.get("value", 0) < 0 for lv in levers), "a lever that hurts the company"
    assert any("rest" not in lv for lv in levers), "a lever resting at the default 0"
    assert any("upper" not in lv for lv in levers), "a lever without an upper bound"
    loadings = [m.get("loadings", {}) for m in company["means"].values()]
    assert any(len(ld) > 1 for ld in loadings), "a metric several levers move"
    assert any(len({ref.split(".")[0] for ref in ld}) > 1 for ld in loadings), (
        "a metric levers of several departments move"
    )
    assert company["cost_cross"]
    metrics = doc["metrics"]
    assert any(metrics[m].get("scale") == "logit" for m in company["means"]), (
        "a modelled share (loadings on the logit scale)"
    )
    paid = {c["metric"] for c in _components(doc)}
    assert paid - set(company["means"]), "a metric a plan pays on that the model leaves alone"
    # every forecast keeps its mean, so commission_budget runs on the example
    assert all("mean" in f for n, f in doc["forecast"].items() if n != "correlations")


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
    missing = sorted(KEY_SETS[set_name] - used - EXAMPLE_EXEMPT.get(set_name, set()))
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
    ('"sales.overpromise" = -0.06', '"sales.overpromis" = -0.06'),
    ("rest = 30.0 ", "rset = 30.0 "),
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


def _all_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _all_keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _all_keys(v)}
    return set()


def test_example_exemptions_are_shown_elsewhere() -> None:
    """Each key the complete example may leave out appears in another ```toml block."""
    others = [tomllib.loads(b) for b in _toml_blocks()[1:]]
    for set_name, keys in EXAMPLE_EXEMPT.items():
        assert keys <= KEY_SETS[set_name], f"stale exemption in {set_name}: {keys}"
        for key in keys:
            assert key not in _used_keys(_example())[set_name], (
                f"{key!r} is used in the example now; drop its exemption"
            )
            assert any(key in _all_keys(doc) for doc in others), (
                f"{key!r} is left out of the example but shown in no other ```toml block"
            )


# --------------------------------------------------------------------------------------
# the company model: the example's model builds, the worked examples solve
# --------------------------------------------------------------------------------------
def test_example_behaviour_benchmarks(tmp_path: Path) -> None:
    from compmodel.solve import evaluate, first_best, no_incentive

    s = cm.load_scenario(_write_example(tmp_path))
    rest = no_incentive(s)
    for name, v in rest.levers.items():
        d, lever = name.split(".", 1)
        assert v == s.company.levers[d][lever].rest
    best = first_best(s)
    assert all(math.isfinite(v) for v in best.levers.values())
    assert set(best.metrics) == set(s.company.means)
    # the figures section 9.2 and the example's notes quote
    assert best.levers["sales.effort"] == pytest.approx(30 + 6_000 / 300, abs=1e-5)
    assert best.levers["sales.overpromise"] == pytest.approx(0.0, abs=1e-9)
    assert best.levers["shipping.effort"] == pytest.approx(2_500 / 400, abs=1e-5)
    assert best.total_surplus > rest.total_surplus
    # evaluate at chosen levers (section 9.7): every lever must be given
    chosen = evaluate(s, {**rest.levers, "sales.overpromise": 1.0})
    assert chosen.kind == "levers" and chosen.levers["sales.overpromise"] == 1.0
    assert chosen.metrics["otif"] < rest.metrics["otif"], "over-promising lowers OTIF"
    assert math.isfinite(chosen.total_surplus)


def test_worked_example_solves() -> None:
    from compmodel.solve import first_best, solve

    s = _hm87()
    sol = solve(s)
    assert sol.levers and all(math.isfinite(v) for v in sol.levers.values())
    lever = s.company.levers["agent"]["effort"]
    beta = s.departments["agent"].target_incentive
    assert sol.levers["agent.effort"] == pytest.approx(beta / lever.cost, rel=1e-6)
    o = sol.departments["agent"]
    text = _doc_text()
    quoted = {
        "effort": sol.levers["agent.effort"],
        "incentive_mean": o.incentive_mean,
        "incentive_variance": o.incentive_variance,
        "risk_premium": o.risk_premium,
        "effort_cost": o.effort_cost,
        "base_pay": o.base_pay,
        "certainty_equivalent": abs(o.certainty_equivalent),
        "gross_value": sol.gross_value,
        "total_surplus": sol.total_surplus,
        "compensation_bill": sol.compensation_bill,
        "operating_profit": sol.operating_profit,
        "alignment_efficiency": sol.alignment_efficiency or math.nan,
    }
    for figure, value in quoted.items():
        assert f"| {_quoted(value)} |" in text or f"({_quoted(value)})" in text, (
            f"section 9.7 does not quote {figure} = {_quoted(value)}"
        )
    assert len(sol.diagnostics.equilibria) == 1
    assert set(sol.diagnostics.equilibria[0].starts) == {"no_incentive", "first_best", "stretched"}
    fb = first_best(s)
    assert f"`p/c = {_quoted(fb.levers['agent.effort'])}`" in text
    assert f"surplus {_quoted(fb.total_surplus)}" in text
    # the path section 9.7 suggests
    again = solve(s.with_value("company.levers.agent.effort.cost", 2.0))
    assert again.levers["agent.effort"] == pytest.approx(beta / 2.0, rel=1e-6)


def test_declared_example_solves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compmodel.solve import solve

    declared_text = _block_with('kind = "declared"')
    declared = tomllib.loads(declared_text)
    module, _, func = declared["company"]["model"].partition(":")
    code = _block_with(f"def {func}(", _PYTHON_BLOCK)
    (tmp_path / f"{module}.py").write_text(code, encoding="utf-8")
    (tmp_path / declared["company_file"]).write_text(_hm87_text(), encoding="utf-8")
    (tmp_path / "declared.toml").write_text(declared_text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    untrusted = cm.load_scenario(tmp_path / "declared.toml")
    with pytest.raises(cm.ScenarioError, match="trust_code=True"):
        solve(untrusted)  # a file alone never makes compmodel import its code
    assert module not in sys.modules
    s = cm.load_scenario(tmp_path / "declared.toml", trust_code=True)
    assert s.company.kind == "declared"
    sol = solve(s)
    assert all(math.isfinite(v) for v in sol.levers.values())
    linear = solve(_hm87())
    assert sol.levers["agent.effort"] == pytest.approx(linear.levers["agent.effort"], rel=1e-6)
    assert sol.gross_value == pytest.approx(linear.gross_value, rel=1e-6)
    assert set(sol.outcomes) == {"effort_value"}


def test_line_of_sight_figures() -> None:
    from compmodel.solve import first_best, solve

    path = ROOT / "data" / "samples" / "theory" / "holmstrom82.toml"
    assert f"`{path.relative_to(ROOT).as_posix()}`" in _doc_text()
    s = cm.load_scenario(path)
    efforts = {
        lam: solve(s.with_value("team.team_identification", lam)).levers["team.effort"]
        for lam in (0.0, 0.5, 1.0)
    }
    assert efforts[1.0] == pytest.approx(first_best(s).levers["team.effort"], rel=1e-6)
    quoted = (
        f"each chooses effort {efforts[0.0]:.4g} at λ = 0, {efforts[0.5]:.4g} at λ = 0.5 "
        f"and {efforts[1.0]:.4g} (the first best) at λ = 1."
    )
    assert quoted in _flat_text()


def test_fixed_base_figures() -> None:
    from compmodel.solve import solve

    s = _hm87().with_values({"settings.turnover_sensitivity": 2.0, "agent.market_reference": 1.2})
    s = dataclasses.replace(s, settings=dataclasses.replace(s.settings, participation="fixed_base"))
    sol = solve(s)
    o = sol.departments["agent"]
    text = _flat_text()
    assert o.base_pay == s.departments["agent"].base_pay
    shortfall = (1.2 - o.certainty_equivalent) / 1.2
    assert f"`CE` is {o.certainty_equivalent:.3f}, {100 * shortfall:.1f}% short" in text
    assert f"retention is {o.retention:.3f}" in text
    assert f"`{1 - o.retention:.3f} × 0.5 × 1.0 = {sol.turnover_cost:.3f}`" in text
    assert sol.turnover_cost == pytest.approx(
        (1 - o.retention) * s.settings.replacement_cost * o.base_pay
    )


def test_documented_company_paths_work(tmp_path: Path) -> None:
    s = cm.load_scenario(_write_example(tmp_path))
    for path in (
        "company.levers.sales.effort.cost",
        "company.levers.sales.effort.rest",
        "company.levers.sales.effort.value",
        "company.levers.sales.effort.lower",
        "company.levers.sales.effort.upper",
        "company.means.otif.intercept",
        "company.means.otif.loadings.sales.overpromise",
        "company.means.bookings.loadings.sales.effort",
        "company.cost_cross.0.value",
        "settings.turnover_sensitivity",
        "settings.replacement_cost",
    ):
        old = s.get(path)
        new = old + 1.0
        assert s.with_value(path, new).get(path) == pytest.approx(new), path
    text = _doc_text()
    for path in (
        "company.levers.agent.effort.cost",
        "company.means.output.intercept",
        "company.means.output.loadings.agent.effort",
        "company.means.otif.loadings.sales.overpromise",
        "company.cost_cross.0.value",
    ):
        assert f"`{path}`" in text
    hm87 = _hm87()
    assert hm87.get("company.means.output.loadings.agent.effort") == 1.0
    moved = hm87.with_value("company.means.output.loadings.agent.effort", 2.0)
    assert moved.company.means["output"].loadings["agent.effort"] == 2.0
    with pytest.raises(cm.ScenarioError):
        s.with_value("company.levers.sales.effort.cost", 0.0)  # documented: cost > 0


# --------------------------------------------------------------------------------------
# the company-model messages the document quotes
# --------------------------------------------------------------------------------------
def test_quoted_cost_matrix_error_is_real(tmp_path: Path) -> None:
    path = _write_example(tmp_path)
    text = path.read_text(encoding="utf-8")
    old, new = "value = 200.0 ", "value = 2_000.0 "
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(cm.ScenarioError) as info:
        cm.load_scenario(path)  # the loader checks positive definiteness
    assert str(info.value) in _doc_text()


def test_quoted_solve_errors_are_real() -> None:
    from compmodel.solve import solve

    doc = tomllib.loads(_hm87_text())
    none = dict(doc, company={"kind": "none"})
    with pytest.raises(cm.ScenarioError) as info:
        io.scenario_from_dict(none)
    assert "is required when there is no company model" in str(info.value)
    none["forecast"] = {"output": {"mean": 0.0, "sd": 1.0}}
    with pytest.raises(cm.ScenarioError) as info:
        solve(io.scenario_from_dict(none))
    assert str(info.value) in _doc_text()
    unmodelled = dict(doc, company={**doc["company"], "means": {}})
    with pytest.raises(cm.ScenarioError) as info:
        solve(io.scenario_from_dict(unmodelled))
    assert str(info.value) in _doc_text()


def test_budget_without_forecast_mean_is_as_documented() -> None:
    """Section 9.3: commission_budget stops when a paid-on metric has no forecast mean."""
    s = _hm87()
    assert s.forecast is not None and s.forecast.metrics["output"].mean is None
    with pytest.raises(cm.ScenarioError, match=r"forecast\.output\.mean"):
        cm.commission_budget(s, n_draws=200, seed=0)
    assert "a missing mean there stops it with an error naming the metric" in _flat_text()
