"""Plausibility guards, reserved department names and the table of bad inputs.

A value that is most likely a slip (5 written for 5%, 85 for 85%, extra zeros) is refused
with the fix in a CFO's words, whether it comes from a file, a Scenario built in Python
or a ``with_value`` edit, unless its parameter path is listed under ``[settings]
allow_implausible``. docs/bad-inputs.md is what ``scripts/bad_inputs.py`` prints.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import compmodel as cm
from compmodel import paths, validate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
DOC = ROOT / "docs" / "bad-inputs.md"


def _script() -> ModuleType:
    name = "bad_inputs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "bad_inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


BAD = _script()


def _text(*pairs: str, allow: tuple[str, ...] = ()) -> str:
    """The base scenario of scripts/bad_inputs.py with each pair ``old, new`` replaced
    (each ``old`` once) and ``allow`` listed under ``allow_implausible``."""
    text = BAD.BASE
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    if allow:
        listed = ", ".join(f'"{p}"' for p in allow)
        text = text.replace(
            'participation = "binding"\n',
            f'participation = "binding"\nallow_implausible = [{listed}]\n',
            1,
        )
    return text


def _load(tmp_path: Path, text: str, roster: str | None = None) -> cm.Scenario:
    (tmp_path / "roster.csv").write_text(roster or BAD.ROSTER, encoding="utf-8")
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return cm.load_scenario(path)


def _base(tmp_path: Path) -> cm.Scenario:
    return _load(tmp_path, BAD.BASE)


ROSTER_1000 = "person,base,quota,ability\nana,72000,2000000,1000\nben,78000,2100000,1.1\n"

# (id, edits of the base scenario, roster CSV or None, the paths refused (all must be
# listed to pass), a piece of the message that says the fix)
GUARDS: list[tuple[str, tuple[str, ...], str | None, tuple[str, ...], str]] = [
    ("target_incentive_5", ("target_incentive = 0.5\nmarket", "target_incentive = 5\nmarket"), None,
     ("sales.target_incentive",), "5 means 500% of base pay; did you mean 5%? write 0.05"),
    ("ote_from_incentive", ("target_incentive = 0.1\nmarket", "target_incentive = 2.5\nmarket"), None,
     ("ops.target_incentive",), "did you mean 2.5%? write 0.025"),
    ("ote_from_base_pay", ("base_pay = 75_000", "base_pay = 750_000"), None,
     ("sales.base_pay",), "check that base_pay and market_reference are both per person"),
    ("share_points_in_percent", ("threshold = 0.75\ntarget = 0.85\ncap = 0.95", "threshold = 75\ntarget = 85\ncap = 95"), None,
     ("ops.curves.otif.threshold", "ops.curves.otif.target", "ops.curves.otif.cap"), "did you write 75 for 75%? write 0.75"),
    ("share_gate_in_percent", ("threshold = 0.8 }", "threshold = 80 }"), None,
     ("sales.gates.bookings.threshold",), "did you write 80 for 80%? write 0.8"),
    ("share_point_negative", ("threshold = 0.75\n", "threshold = -0.2\n"), None,
     ("ops.curves.otif.threshold",), "write it as a share between 0 and 1"),
    ("ability_1000", (), ROSTER_1000,
     ("sales.roster.0.ability",), "at most 10"),
    ("base_pay_1e300", ("base_pay = 75_000", "base_pay = 1e300"), None,
     ("sales.base_pay",), "did you type extra zeros?"),
    ("market_reference_1e13", ("market_reference = 120_000", "market_reference = 1e13"), None,
     ("sales.market_reference",), "beyond a trillion"),
    ("money_mean_1e13", ("mean = 2_000_000", "mean = 1e13"), None,
     ("forecast.bookings.mean",), "did you type extra zeros?"),
    ("money_sd_1e200", ("sd = 300_000", "sd = 1e200"), None,
     ("forecast.bookings.sd",), "did you type extra zeros?"),
    ("sd_10x_mean", ("sd = 300_000", "sd = 30_000_000"), None,
     ("forecast.bookings.sd",), "more than 10x the metric's scale of 2e+06 (max(|mean|, 1))"),
    ("share_sd_50", ("sd = 0.4", "sd = 50"), None,
     ("forecast.otif.sd",), "in logits"),
    ("money_rate_3_5", ("rate = 0.015", "rate = 3.5"), None,
     ("partners.curves.commission.tiers.1.rate",), "pays 350% of the money, 3.5 USD per USD; did you mean 3.5%? write 0.035"),
    ("lump_sum_1e13", ("weight = 0.2\nquota = 2_000_000", "quota = 2_000_000\namount = 1e13", "weight = 0.8", "weight = 1.0"), None,
     ("ops.curves.bonus.amount",), "beyond a trillion"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edits", "roster", "refused", "fix"),
    [g[1:] for g in GUARDS],
    ids=[g[0] for g in GUARDS],
)
def test_guard_refuses_with_the_fix_and_allow_lets_it_through(
    tmp_path: Path, edits: tuple[str, ...], roster: str | None, refused: tuple[str, ...], fix: str
) -> None:
    with pytest.raises(cm.ScenarioError) as info:
        _load(tmp_path, _text(*edits), roster)
    message = str(info.value)
    assert info.value.field == refused[0], message
    assert fix in message, message
    assert f"list {refused[0]!r} under [settings] allow_implausible" in message
    s = _load(tmp_path, _text(*edits, allow=refused), roster)
    assert s.settings.allow_implausible == refused
    # the full document path spelling waives it too
    full = tuple(
        "departments." + p.replace(".curves.", ".components.").replace(".gates.", ".components.")
        if not p.startswith("forecast.")
        else p
        for p in refused
    )
    if all(".gates." not in p for p in refused):
        _load(tmp_path, _text(*edits, allow=full), roster)


def test_guards_hold_for_with_value(tmp_path: Path) -> None:
    s = _base(tmp_path)
    cases = {
        "sales.target_incentive": (5, "write 0.05"),
        "ops.curves.otif.cap": (95, "write 0.95"),
        "sales.gates.bookings.threshold": (80, "write 0.8"),
        "sales.base_pay": (1e300, "extra zeros"),
        "forecast.otif.sd": (50, "in logits"),
        "forecast.bookings.mean": (1e13, "beyond a trillion"),
        "partners.curves.commission.tiers.0.rate": (2.0, "write 0.02"),
        "ops.target_incentive": (2.5, "write 0.025"),
    }
    for path, (value, fix) in cases.items():
        with pytest.raises(cm.ScenarioError, match="allow_implausible") as info:
            s.with_value(path, value)
        assert fix in str(info.value), str(info.value)
    with pytest.raises(cm.ScenarioError, match=r"write 0\.75"):
        s.with_values(
            {
                "ops.curves.otif.threshold": 75,
                "ops.curves.otif.target": 85,
                "ops.curves.otif.cap": 95,
            }
        )
    # the plausible edit passes, and an allowed path takes the implausible value
    assert s.with_value("sales.target_incentive", 3.0).get("sales.target_incentive") == 3.0
    allowed = dataclasses.replace(
        s, settings=dataclasses.replace(s.settings, allow_implausible=("sales.target_incentive",))
    )
    assert allowed.with_value("sales.target_incentive", 5).get("sales.target_incentive") == 5
    with pytest.raises(cm.ScenarioError, match=r"write 0\.95"):
        allowed.with_value("ops.curves.otif.cap", 95)  # only the listed path is waived


def test_guards_hold_for_a_scenario_built_in_python(tmp_path: Path) -> None:
    s = _base(tmp_path)
    sales = dataclasses.replace(s.departments["sales"], target_incentive=5.0)
    with pytest.raises(cm.ScenarioError, match="did you mean 5%"):
        dataclasses.replace(s, departments={**s.departments, "sales": sales})
    with pytest.raises(cm.ScenarioError, match="did you mean 5%"):
        s.with_department("sales", target_incentive=5.0)
    fc = dataclasses.replace(s.forecast.metrics["otif"], sd=50.0)
    with pytest.raises(cm.ScenarioError, match=r"forecast\.otif\.sd"):
        dataclasses.replace(
            s, forecast=dataclasses.replace(s.forecast, metrics={**s.forecast.metrics, "otif": fc})
        )
    # a list from Python is kept as a tuple (hashable, equal to the file's)
    allowed = dataclasses.replace(
        s,
        settings=cm.Settings(allow_implausible=["sales.target_incentive"]),  # type: ignore[arg-type]
    )
    assert allowed.settings.allow_implausible == ("sales.target_incentive",)
    hash(allowed.settings)


def test_edits_check_only_their_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slider's edit of a department runs that department's guards only: neither the
    forecast's nor the allow list's (which lists every parameter path)."""
    s = _base(tmp_path)

    def boom(*args: Any) -> None:
        raise AssertionError("a department edit ran a whole-scenario check")

    monkeypatch.setattr(validate, "guard_forecast", boom)
    monkeypatch.setattr(validate, "check_allowed", boom)
    monkeypatch.setattr(validate, "check_scenario", boom)
    s.with_value("sales.target_incentive", 0.6)
    s.with_value("ops.curves.otif.cap", 0.97)


def test_allow_list_paths_must_exist(tmp_path: Path) -> None:
    with pytest.raises(cm.ScenarioError) as info:
        _load(tmp_path, _text(allow=("sales.target_incentiv",)))
    assert info.value.field == "settings.allow_implausible"
    assert "Did you mean 'sales.target_incentive'?" in str(info.value)
    with pytest.raises(cm.ScenarioError, match="must be a list of parameter paths"):
        _load(
            tmp_path,
            BAD.BASE.replace(
                'participation = "binding"\n',
                'participation = "binding"\nallow_implausible = "sales.target_incentive"\n',
            ),
        )
    s = _base(tmp_path)
    with pytest.raises(cm.ScenarioError, match="not a parameter path"):
        dataclasses.replace(s, settings=cm.Settings(allow_implausible=("nowhere.x",)))
    with pytest.raises(cm.ScenarioError, match="must be a list of parameter paths"):
        dataclasses.replace(s, settings=cm.Settings(allow_implausible="sales.base_pay"))  # type: ignore[arg-type]
    # a CSV roster's people have paths too, though parameter_paths does not list them
    _load(tmp_path, _text(allow=("sales.roster.1.ability",)))


def test_allow_list_is_saved_and_read_back(tmp_path: Path) -> None:
    edits = ("target_incentive = 0.5\nmarket", "target_incentive = 5\nmarket")
    s = _load(tmp_path, _text(*edits, allow=("sales.target_incentive",)))
    assert s.to_dict()["settings"]["allow_implausible"] == ["sales.target_incentive"]
    assert "allow_implausible" not in _base(tmp_path).to_dict()["settings"]
    again = cm.load_scenario(cm.save_scenario(s, tmp_path / "saved.toml"))
    assert again == s


def test_coefficient_range_is_enforced(tmp_path: Path) -> None:
    """A coefficient outside its declared range was refused before the guards (the
    range is the user's own statement of what is plausible; widen it to mean it)."""
    text = _text(
        'participation = "binding"\n',
        'participation = "binding"\n\n[company.coefficients]\n'
        'price = { value = 1_200, unit = "USD per unit", range = [1_150, 1_250] }\n',
    )
    s = _load(tmp_path, text)
    with pytest.raises(cm.ScenarioError, match="outside its stated range"):
        s.with_value("company.coefficients.price", 5_000)
    with pytest.raises(cm.ScenarioError, match="outside its stated range"):
        _load(tmp_path, text.replace("value = 1_200", "value = 5_000"))


@pytest.mark.parametrize("name", validate.RESERVED)
def test_reserved_department_names_are_refused(tmp_path: Path, name: str) -> None:
    s = _base(tmp_path)
    depts = {(name if n == "ops" else n): d for n, d in s.departments.items()}
    with pytest.raises(cm.ScenarioError, match=f"{name!r} is reserved") as info:
        dataclasses.replace(s, departments=depts)
    assert info.value.field == f"departments.{name}"
    with pytest.raises(cm.ScenarioError, match="is reserved"):
        _load(tmp_path, BAD.BASE.replace("departments.ops", f"departments.{name}"))


def test_reserved_names_are_the_heads_of_parameter_paths(tmp_path: Path) -> None:
    """Every top-level name a parameter path may start with, other than a department,
    is reserved (and no more: other keys of the document do not hide a department)."""
    s = _base(tmp_path)
    heads = set(s.to_dict()) | set(validate.RESERVED) | {"weights", "name", "currency"}
    taken = set()
    for h in heads:
        try:
            if paths._doc_keys(f"{h}.x", s)[0] == h:
                taken.add(h)
        except cm.ParameterPathError:  # not a head: free for a department
            pass
    assert taken == set(validate.RESERVED)


def test_canonical_path() -> None:
    c = validate.canonical_path
    assert c("departments.sales.target_incentive") == "sales.target_incentive"
    assert c("departments.ops.components.otif.cap") == "ops.curves.otif.cap"
    assert c("ops.components.otif.cap") == "ops.curves.otif.cap"
    assert c("departments.sales.components.bookings.gate.threshold") == (
        "sales.gates.bookings.threshold"
    )
    assert c("departments.ops.components.otif.weight") == "ops.weights.otif"
    assert c("forecast.otif.sd") == "forecast.otif.sd"


def test_every_sample_loads() -> None:
    samples = sorted(SAMPLES.rglob("*.toml"))
    assert len(samples) >= 10
    for path in samples:
        cm.load_scenario(path)


def test_bad_inputs_table_is_current() -> None:
    """docs/bad-inputs.md is what scripts/bad_inputs.py prints now (at least 30 kinds)."""
    assert len(BAD.CASES) >= 30
    expected = BAD.render()
    found = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert found == expected, (
        "docs/bad-inputs.md is out of date; regenerate it from the repository root with\n"
        "    python scripts/bad_inputs.py > docs/bad-inputs.md"
    )
