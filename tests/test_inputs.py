"""Every bad input is a compmodel error, never a traceback; everyday files are read.

The inputs are what a careless user passes or saves: binary garbage or a folder where a
scenario, company file or roster belongs, ``None`` as a path, a negative or text seed, a
billion draws, oversized files, a CSV with a column twice; and files as Notepad and
Excel write them (byte-order marks, ``;`` separators, decimal commas, UTF-16). Each
error must be a :class:`compmodel.CompmodelError`, locate the problem and say the fix;
each everyday file must give the same scenario as the clean sample.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import compmodel as cm
import compmodel.budget as cm_budget
import compmodel.io as cm_io

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
BOM = b"\xef\xbb\xbf"


def _error(
    fn: Callable[[], object], kind: type[cm.CompmodelError] = cm.ScenarioError
) -> cm.CompmodelError:
    """The compmodel error ``fn`` raises (anything else fails the test)."""
    with pytest.raises(cm.CompmodelError) as info:
        fn()
    assert isinstance(info.value, kind), f"{type(info.value).__name__}: {info.value}"
    return info.value


def _says(err: BaseException, *patterns: str) -> None:
    text = str(err)
    for pattern in patterns:
        assert re.search(pattern, text), f"{pattern!r} not in {text!r}"


@pytest.fixture
def budget_dir(tmp_path: Path) -> Path:
    """budget_today.toml and its roster, copied to a folder of their own."""
    folder = tmp_path / "budget"
    folder.mkdir()
    shutil.copy(SAMPLES / "budget_today.toml", folder)
    shutil.copy(SAMPLES / "sales_roster.csv", folder)
    return folder


@pytest.fixture(scope="module")
def budget_scenario() -> cm.Scenario:
    return cm.load_scenario(SAMPLES / "budget_today.toml")


# --------------------------------------------------------------------------------------
# tracebacks that are now errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(bytes(range(256)) * 4, "not a text file", id="with-zero-bytes"),
        pytest.param(bytes(range(128, 256)) * 4, "not UTF-8 text", id="not-utf8"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)), "not UTF-8", id="an-image"),
    ],
)
def test_binary_garbage_as_toml(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "scenario.toml"
    path.write_bytes(data)
    err = _error(lambda: cm.load_scenario(path))
    assert err.field == str(path)  # type: ignore[attr-defined]
    _says(err, says, "save it as UTF-8")


def test_deeply_nested_toml(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    _says(_error(lambda: cm.load_scenario(path)), "nest too deeply")


def test_a_folder_as_scenario(tmp_path: Path) -> None:
    err = _error(lambda: cm.load_scenario(tmp_path))
    _says(err, "is a folder, not a scenario file", "give the path of the scenario file")


def test_a_folder_as_company_file(budget_dir: Path) -> None:
    (budget_dir / "shared").mkdir()
    path = budget_dir / "scenario.toml"
    path.write_text('format_version = 1\ncompany_file = "shared"\n', encoding="utf-8")
    err = _error(lambda: cm.load_scenario(path))
    assert err.field == str(budget_dir / "shared")  # type: ignore[attr-defined]
    _says(err, "is a folder, not a scenario file")


def test_a_folder_as_roster(budget_dir: Path) -> None:
    (budget_dir / "people").mkdir()
    path = budget_dir / "budget_today.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"sales_roster.csv"', '"people"'),
        encoding="utf-8",
    )
    err = _error(lambda: cm.load_scenario(path), cm.RosterError)
    _says(err, "is a folder, not a roster CSV file", "inside it")
    _says(_error(lambda: cm.load_roster(budget_dir), cm.RosterError), "is a folder")


@pytest.mark.parametrize(
    "path", [None, 5, 3.5, b"scenario.toml", "", ["a.toml"], {"name": "x"}], ids=repr
)
def test_load_scenario_of_something_that_is_not_a_path(path: object) -> None:
    err = _error(lambda: cm.load_scenario(path))  # type: ignore[arg-type]
    assert err.field == "path"  # type: ignore[attr-defined]
    _says(err, "must be the path of a file", r"load_scenario\('data/samples/acme.toml'\)")


@pytest.mark.parametrize("path", [None, 7, b"roster.csv", ""], ids=repr)
def test_load_roster_of_something_that_is_not_a_path(path: object) -> None:
    err = _error(lambda: cm.load_roster(path), cm.RosterError)  # type: ignore[arg-type]
    _says(err, "^path: must be the path of a file", "load_roster")


def test_other_arguments_that_are_not_what_they_should_be() -> None:
    sample = SAMPLES / "acme.toml"
    _says(
        _error(lambda: cm.load_scenario(sample, allow_dirs="../shared")),  # type: ignore[arg-type]
        "^allow_dirs: must be a list of folders",
        "a list even for one folder",
    )
    _says(
        _error(lambda: cm.load_scenario(sample, allow_dirs=None)),  # type: ignore[arg-type]
        "^allow_dirs",
    )
    _says(_error(lambda: cm.load_scenario(sample, allow_dirs=[None])), r"allow_dirs\[0\]")  # type: ignore[list-item]
    _says(
        _error(lambda: cm.scenario_from_dict(None)),  # type: ignore[arg-type]
        "must be a table",
        "load_scenario",
    )
    _says(_error(lambda: cm.scenario_from_dict({}, base_dir=3)), "^base_dir")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, "abc", 1.5, None, True, np.float64(2.0)], ids=repr)
def test_seed_that_numpy_would_refuse(budget_scenario: cm.Scenario, seed: object) -> None:
    err = _error(lambda: cm.commission_budget(budget_scenario, n_draws=100, seed=seed))  # type: ignore[arg-type]
    assert err.field == "seed"  # type: ignore[attr-defined]
    _says(err, "whole number >= 0", "seed=0")


def test_simulate_checks_seed_and_draws_before_solving() -> None:
    scenario = cm.load_scenario(SAMPLES / "acme.toml")
    start = time.perf_counter()
    _says(_error(lambda: cm.simulate(scenario, seed=-1)), "^seed: is -1")
    _says(_error(lambda: cm.simulate(scenario, n_draws="many")), "^n_draws")  # type: ignore[arg-type]
    _says(_error(lambda: cm.simulate(scenario, n_draws=10**9)), "^n_draws", "fewer draws")
    assert time.perf_counter() - start < 2.0  # nothing was solved


def test_a_numpy_whole_number_is_a_fine_seed_and_draw_count(
    budget_scenario: cm.Scenario,
) -> None:
    b = cm.commission_budget(budget_scenario, n_draws=np.int64(200), seed=np.uint32(4))
    assert (b.diagnostics.n_draws, b.diagnostics.seed) == (200, 4)


@pytest.mark.parametrize("n_draws", [10**9, 10**12])
def test_a_billion_draws_is_refused_before_allocating(
    budget_scenario: cm.Scenario, n_draws: int
) -> None:
    start = time.perf_counter()
    err = _error(lambda: cm.commission_budget(budget_scenario, n_draws=n_draws))
    assert time.perf_counter() - start < 1.0
    assert err.field == "n_draws"  # type: ignore[attr-defined]
    need = cm_budget.draw_memory(budget_scenario, n_draws)
    assert need > cm_budget.MAX_DRAW_MEMORY
    _says(
        err,
        f"{n_draws:,}",
        r"about [\d.]+ (GB|TB) of memory",  # the estimate
        "limit of 2.0 GB",
        "Use fewer draws: at most about [\\d,]+ fit",
        "MAX_DRAW_MEMORY",
    )


def test_the_draw_limit_is_the_estimate(
    budget_scenario: cm.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the estimate bounds what the draws take: 20,000 draws of the sample fit in a
    # few MB; with a limit below that they are refused, with the count that fits
    need = cm_budget.draw_memory(budget_scenario, 20_000)
    assert 1e6 < need < 2e7
    monkeypatch.setattr(cm_budget, "MAX_DRAW_MEMORY", need // 2)
    err = _error(lambda: cm.commission_budget(budget_scenario, n_draws=20_000))
    _says(err, "at most about 10,000 fit")
    assert cm.commission_budget(budget_scenario, n_draws=10_000).diagnostics.n_draws == 10_000


def test_size_limits_of_files_are_in_the_message(
    budget_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cm_io.MAX_TOML_BYTES == 10 * 10**6
    assert (cm_io.MAX_CSV_BYTES, cm_io.MAX_CSV_ROWS) == (200 * 10**6, 1_000_000)
    big = budget_dir / "big.toml"
    big.write_bytes(b"# " + b"x" * (10 * 10**6) + b"\n")
    _says(
        _error(lambda: cm.load_scenario(big)),
        r"is 10,000,003 bytes; a scenario file may be at most 10,000,000 bytes",
        "right file",
    )
    roster = budget_dir / "sales_roster.csv"
    monkeypatch.setattr(cm_io, "MAX_CSV_BYTES", 200)
    _says(
        _error(lambda: cm.load_roster(roster), cm.RosterError),
        "a roster CSV file may be at most 200 bytes",
        "split a larger roster",
    )
    monkeypatch.setattr(cm_io, "MAX_CSV_BYTES", 200 * 10**6)
    monkeypatch.setattr(cm_io, "MAX_CSV_ROWS", 10)
    _says(
        _error(lambda: cm.load_roster(roster), cm.RosterError),
        "more than 10 people; a roster may have at most 10",
    )


def test_dotted_department_names_are_refused_under_the_linear_model(tmp_path: Path) -> None:
    text = (SAMPLES / "theory" / "hm87.toml").read_text(encoding="utf-8")
    path = tmp_path / "dotted.toml"
    path.write_text(
        text.replace("departments.agent", 'departments."prod.eu"')
        .replace("levers.agent", 'levers."prod.eu"')
        .replace('"agent.', '"prod.eu.'),
        encoding="utf-8",
    )
    _says(_error(lambda: cm.load_scenario(path)), "not allowed as a department name")
    s = cm.load_scenario(SAMPLES / "theory" / "hm87.toml")
    dotted = {"prod.eu": s.departments["agent"]}
    err = _error(lambda: cm.solve(dataclasses.replace(s, departments=dotted)))
    _says(err, "not allowed as a department name")


# --------------------------------------------------------------------------------------
# everyday files
# --------------------------------------------------------------------------------------
def _load_fresh(path: Path) -> cm.Scenario:
    cm.clear_caches()
    return cm.load_scenario(path)


def test_toml_with_a_byte_order_mark_reads_as_the_clean_file(budget_dir: Path) -> None:
    path = budget_dir / "budget_today.toml"
    clean = _load_fresh(path)
    path.write_bytes(BOM + path.read_bytes().replace(b"\n", b"\r\n"))  # Notepad
    assert _load_fresh(path) == clean


def _excel(text: str, *, european: bool = False) -> bytes:
    """``text`` as Excel's "CSV UTF-8" saves it (BOM, CRLF); ``european``: with ``;``
    separators and decimal commas, as in a German or French Excel."""
    if european:
        text = "\n".join(
            ";".join(cell.replace(".", ",") for cell in line.split(","))
            for line in text.splitlines()
        )
    return BOM + text.replace("\n", "\r\n").encode("utf-8")


@pytest.mark.parametrize("european", [False, True], ids=["csv-utf8", "semicolon-decimal-comma"])
def test_excel_csv_reads_as_the_clean_file(budget_dir: Path, european: bool) -> None:
    scenario = budget_dir / "budget_today.toml"
    roster = budget_dir / "sales_roster.csv"
    clean = _load_fresh(scenario)
    original = roster.read_text(encoding="utf-8")
    roster.write_bytes(_excel(original, european=european))
    if european:
        assert b";" in roster.read_bytes() and b"1,11" in roster.read_bytes()
    again = _load_fresh(scenario)
    assert again == clean
    assert cm.load_roster(roster).people == clean.departments["sales"].roster.people  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("person;base;ability\na;70000,5;1,25\n", [("a", 70000.5, 1.25)]),
        ("person;base\na;70.000,50\nb;1.250.000\n", [("a", 70000.5, 1.0), ("b", 1250000.0, 1.0)]),
        ("person;base;ability\na;70000;1.125\nb;60000;0.9\n", [("a", 70000, 1.125), ("b", 60000, 0.9)]),
        ("person\tbase\na\t70000.5\n", [("a", 70000.5, 1.0)]),
        ('person,base\na,"72,000"\nb,"1,250,000.50"\n', [("a", 72000, 1.0), ("b", 1250000.5, 1.0)]),
        ('person,base\na,"70000,5"\n', [("a", 70000.5, 1.0)]),
        ("person, base ,ability\na, 70000 , 1.5\n", [("a", 70000, 1.5)]),
    ],
    ids=["semicolon-comma", "dot-thousands", "semicolon-point", "tab", "quoted-thousands",
         "quoted-comma", "spaces"],
)  # fmt: skip
def test_csv_dialects_are_detected(
    tmp_path: Path, text: str, people: list[tuple[str, float, float]]
) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    got = [(p.person, p.base, p.ability) for p in cm.load_roster(path).people]
    assert got == people


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "person;base\na;70.000\nb;66.500\n",
            r"row 1, column base: could be read two ways.*without thousands separators",
        ),
        (
            "person;base;ability\na;70000,5;1.5\n",
            r"mixes decimal commas \(row 1, column base\) and decimal points "
            r"\(row 1, column ability\); write every number one way",
        ),
        (
            "person,base,quota\na,72,000,1000\n",
            r"row 1: has 4 values but the header has 3 columns; quote values",
        ),
    ],
    ids=["ambiguous", "mixed", "unquoted-comma"],
)
def test_csv_numbers_that_cannot_be_read_one_way(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    _says(_error(lambda: cm.load_roster(path), cm.RosterError), says)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_files_say_save_as_utf8(budget_dir: Path, encoding: str) -> None:
    toml = budget_dir / "budget_today.toml"
    toml.write_bytes(toml.read_text(encoding="utf-8").encode(encoding))
    _says(_error(lambda: cm.load_scenario(toml)), "UTF-(16|32)", r"save it as UTF-8 \(in Notepad")
    roster = budget_dir / "sales_roster.csv"
    # Excel's "Unicode text" is UTF-16 with tabs
    roster.write_bytes(roster.read_text(encoding="utf-8").replace(",", "\t").encode(encoding))
    _says(
        _error(lambda: cm.load_roster(roster), cm.RosterError),
        "UTF-(16|32)",
        r"save it as 'CSV UTF-8' \(in Excel",
    )


def test_duplicate_csv_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("person,base,base,ability\nann,70000,2600000,1.1\n", encoding="utf-8")
    err = _error(lambda: cm.load_roster(path), cm.RosterError)
    assert err.field == str(path)  # type: ignore[attr-defined]
    _says(err, "has column 'base' twice \\(columns 2 and 3\\)", "Rename or delete one of them")
    path.write_text("person;base;quota;quota\nann;70000;1;2\n", encoding="utf-8")
    _says(_error(lambda: cm.load_roster(path), cm.RosterError), "'quota' twice")


def test_every_sample_still_loads() -> None:
    for path in sorted(SAMPLES.rglob("*.toml")):
        assert isinstance(cm.load_scenario(path), cm.Scenario), path
