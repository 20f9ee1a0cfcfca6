"""Safe with a stranger's file: nothing a scenario holds runs script or becomes a formula.

Names (departments, metrics, levers, components, bridges, coefficients) and the
currency are refused unless they match their patterns (:mod:`compmodel.validate`).
Free text (a scenario's ``name``) may hold anything: exported chart pages opened in
Chromium run none of it, workbook cells hold it as text, the dashboard escapes it.
Without Chromium the browser test fails (it never skips): Debian's Chromium is installed
by the test command (see tests/e2e_support.py).
"""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from pathlib import Path

import altair as alt
import openpyxl
import pandas as pd
import pytest

import compmodel as cm
from compmodel import export as ex
from compmodel import validate
from compmodel._text import escape_html, script_safe_json
from e2e_support import launch

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TEAM = SAMPLES / "theory" / "holmstrom82.toml"  # one department "team", one metric "output"

SCRIPT_NAME = (
    "</script><script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
    "<!-- \u2028 & <svg onload=window.__xss=3>"
)
FORMULA_NAME = '=HYPERLINK("http://evil","x")'
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
CURRENCY_PATTERN = "^[A-Z]{3}$"
BAD_NAMES = ["sa<les", 'sa"les', "sa les", "9sales", "sales.north", "<img src=x>", ""]


@pytest.fixture(scope="module")
def team() -> cm.Scenario:
    return cm.load_scenario(TEAM)


@pytest.fixture(scope="module")
def hostile(team: cm.Scenario) -> cm.Scenario:
    return dataclasses.replace(team, name=SCRIPT_NAME)


@pytest.fixture(scope="module")
def formula(team: cm.Scenario) -> cm.Scenario:
    return dataclasses.replace(team, name=FORMULA_NAME)


def _toml_key(key: str) -> str:
    return json.dumps(key)  # a TOML basic string: the same escapes as JSON for these


# --------------------------------------------------------------------------------------
# names and the currency are refused unless they match their patterns
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "currency", ["USD<img src=x onerror=window.__xss=1>", "usd", "US", "US$", "EURO", ""]
)
def test_a_file_with_a_currency_that_is_not_a_code_is_refused(
    tmp_path: Path, currency: str
) -> None:
    text = TEAM.read_text().replace(
        "format_version = 1", f"format_version = 1\ncurrency = {_toml_key(currency)}"
    )
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    with pytest.raises(cm.ScenarioError) as info:
        cm.load_scenario(path)
    assert info.value.field == "currency"
    assert CURRENCY_PATTERN in str(info.value)
    assert "'USD'" in str(info.value)  # what to try


def test_a_scenario_built_in_python_with_a_hostile_currency_is_refused(
    team: cm.Scenario,
) -> None:
    with pytest.raises(cm.ScenarioError, match=re.escape(CURRENCY_PATTERN)) as info:
        dataclasses.replace(team, currency="USD<img src=x onerror=window.__xss=1>")
    assert info.value.field == "currency"
    assert dataclasses.replace(team, currency="EUR").currency == "EUR"


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_a_file_with_a_department_name_outside_the_pattern_is_refused(
    tmp_path: Path, bad: str
) -> None:
    key = _toml_key(bad)
    text = (
        TEAM.read_text()
        .replace("[departments.team]", f"[departments.{key}]")
        .replace("[departments.team.components.output]", f"[departments.{key}.components.output]")
    )
    path = tmp_path / "hostile.toml"
    path.write_text(text)
    with pytest.raises(cm.ScenarioError) as info:
        cm.load_scenario(path)
    assert info.value.field.startswith("departments.")
    assert NAME_PATTERN in str(info.value)
    assert "Try " in str(info.value)


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize("what", ["department", "metric", "component", "lever", "bridge"])
def test_a_scenario_built_in_python_with_a_name_outside_the_pattern_is_refused(
    team: cm.Scenario, bad: str, what: str
) -> None:
    dept = team.departments["team"]
    if what == "department":
        change = {"departments": {bad: dept}}
        where = "departments."
    elif what == "metric":
        change = {"metrics": {**team.metrics, bad: team.metrics["output"]}}
        where = "metrics."
    elif what == "component":
        comps = {bad: dept.plan.components["output"]}
        plan = dataclasses.replace(dept.plan, components=comps)
        change = {"departments": {"team": dataclasses.replace(dept, plan=plan)}}
        where = "departments.team.components."
    elif what == "lever":
        levers = {"team": {bad: team.company.levers["team"]["effort"]}}
        change = {"company": dataclasses.replace(team.company, levers=levers)}
        where = "company.levers.team."
    else:
        change = {"bridges": {bad: 1.0}}
        where = "bridges."
    with pytest.raises(cm.ScenarioError) as info:
        dataclasses.replace(team, **change)
    assert info.value.field.startswith(where)
    assert f"as a {what} name" in str(info.value)
    assert NAME_PATTERN in str(info.value)


@pytest.mark.parametrize("good", ["sales", "_private", "Sales_2", "x"])
def test_names_inside_the_pattern_are_allowed(good: str) -> None:
    assert validate.identifier(good, "departments", "department") == good


def test_every_sample_still_loads() -> None:
    files = sorted(SAMPLES.glob("**/*.toml"))
    assert files
    for f in files:
        cm.load_scenario(f)


# --------------------------------------------------------------------------------------
# the escaping helpers
# --------------------------------------------------------------------------------------
def test_escape_html_and_script_safe_json() -> None:
    assert escape_html(SCRIPT_NAME).count("<") == 0
    assert escape_html("\"'&") == "&quot;&#x27;&amp;"
    text = json.dumps({"name": SCRIPT_NAME}, ensure_ascii=False)
    safe = script_safe_json(text)
    assert not set(safe) & set("<>&\u2028\u2029")
    assert json.loads(safe) == {"name": SCRIPT_NAME}


# --------------------------------------------------------------------------------------
# an exported chart page runs nothing a scenario's name holds
# --------------------------------------------------------------------------------------
def _hostile_chart() -> alt.Chart:
    """The names in the chart's title, axis title and data (the stamp's footer adds
    them again). Not U+2028 in the axis title: Vega-Lite writes that title into its
    tooltip expression, which Vega's parser then refuses (the chart is not drawn)."""
    frame = pd.DataFrame({"who": [SCRIPT_NAME, FORMULA_NAME], "y": [1, 2]})
    axis = SCRIPT_NAME.replace("\u2028", "")
    return (
        alt.Chart(frame, title=SCRIPT_NAME)
        .mark_bar()
        .encode(x=alt.X("who:N", title=axis), y="y:Q", tooltip=["who:N"])
    )


def test_an_exported_chart_page_holds_no_markup_from_a_name(
    tmp_path: Path, hostile: cm.Scenario, formula: cm.Scenario
) -> None:
    path = ex.save_chart(_hostile_chart(), tmp_path / "chart.html", ex.stamp(hostile, formula))
    page = path.read_text(encoding="utf-8")
    assert "</script><script>window.__xss" not in page
    assert "<img src=x" not in page and "<svg onload" not in page and "<!-- " not in page
    # the only script elements are the page's own (Vega inlined, and the embedding)
    assert len(re.findall(r"<script\b", page)) == len(re.findall(r"</script>", page)) == 2
    # the name is still there, as text: in the stamp's footer and in the spec
    assert escape_html(SCRIPT_NAME) in page
    assert script_safe_json(json.dumps(SCRIPT_NAME)) in page


def test_an_exported_chart_page_opened_in_chromium_runs_nothing_from_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: cm.Scenario, formula: cm.Scenario
) -> None:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("CI", "true")  # a missing Chromium fails this test, never skips it
    path = ex.save_chart(_hostile_chart(), tmp_path / "chart.html", ex.stamp(hostile, formula))
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(500)  # an injected <img>'s onerror would have fired
            assert page.evaluate("() => typeof window.__xss") == "undefined"
            assert page.evaluate("() => document.querySelectorAll('img, svg[onload]').length") == 0
            assert page.evaluate("() => document.scripts.length") == 2
            # and the chart is drawn, the names in it as text
            page.wait_for_selector(".vega-embed canvas, .vega-embed svg", timeout=30_000)
            assert page.evaluate("() => typeof window.__xss") == "undefined"
            footer = page.inner_text("#compmodel-stamp")
            assert SCRIPT_NAME.replace("\u2028", "").split("<!--")[0] in footer
            assert page.title().startswith("</script><script>window.__xss=1")
            assert errors == []
        finally:
            browser.close()


# --------------------------------------------------------------------------------------
# workbook cells hold a name as text, never as a formula
# --------------------------------------------------------------------------------------
def test_excel_cells_holding_a_name_are_text_not_formulas(
    tmp_path: Path, hostile: cm.Scenario, formula: cm.Scenario
) -> None:
    sol = cm.solve(formula)
    tables = {
        "comparison": cm.compare({FORMULA_NAME: sol, SCRIPT_NAME: sol}),
        "labels": pd.DataFrame(
            {FORMULA_NAME: [FORMULA_NAME, "+1+2", "@SUM(A1)", "-3-4"], "n": [1, 2, 3, 4]}
        ),
    }
    path = ex.to_excel(tmp_path / "hostile.xlsx", tables, ex.stamp(formula, hostile))
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert len(sheets) == 3
        for n in sheets:
            xml = z.read(n).decode("utf-8")
            assert not re.search(r"<f[\s>/]", xml), n  # no formula of any kind
            for attrs, body in re.findall(r"<c\b([^>]*)>(.*?)</c>", xml):
                if "HYPERLINK" in body:  # an inline string (or a shared one), not a formula
                    assert re.search(r'\bt="(inlineStr|s)"', attrs), (n, attrs, body)
    wb = openpyxl.load_workbook(path)
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    if cell.value[:1] in "=+-@":
                        assert cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
                    seen += FORMULA_NAME in cell.value
    # the About sheet (scenarios, labels), the comparison's header and the labels table
    assert seen >= 4
    labels = wb["labels"]
    assert labels["A1"].value == FORMULA_NAME and labels["A2"].value == FORMULA_NAME
    assert wb["About"]["B2"].value.startswith(FORMULA_NAME)


# --------------------------------------------------------------------------------------
# the dashboard escapes a name in its heading, note and tiles
# --------------------------------------------------------------------------------------
def test_the_dashboard_shows_a_hostile_name_as_text(tmp_path: Path) -> None:
    # coordination has two equilibria: the note names the scenario
    base = cm.load_scenario(SAMPLES / "theory" / "coordination.toml")
    d = cm.dashboard(dataclasses.replace(base, name=SCRIPT_NAME), n_draws=500, save_dir=tmp_path)
    assert d.tiles
    shown = [d.heading.value, d.note.value, *(t.value for t in d.tiles.values())]
    for html in shown:
        assert "<img" not in html and "<script" not in html and "<svg" not in html, html
        assert "<!--" not in html, html
    assert escape_html(SCRIPT_NAME) in d.heading.value
    assert escape_html(SCRIPT_NAME) in d.note.value


def test_a_kpi_tile_escapes_its_currency_and_label() -> None:
    from compmodel.live import _tile
    from compmodel.models import Kpi

    kpi = Kpi("operating_profit", "<b onmouseover=x>profit", "higher", "money")
    html = _tile(kpi, 2.0e6, 1.0e6, "USD<img src=x onerror=window.__xss=1>")
    assert "<img" not in html and "<b " not in html
    assert "USD&lt;img src=x onerror=window.__xss=1&gt;" in html
