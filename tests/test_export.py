"""Exports: the stamp, chart images and pages, Excel workbooks and slide decks.

The oracles are the readers: every file is opened again with the library that reads
its format (Pillow, ElementTree, openpyxl, python-pptx) and compared with the frames
and the stamp it was written from. Each sample is solved once per module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import openpyxl
import pandas as pd
import pptx
import pytest
import tomli_w
from PIL import Image
from pptx.enum.shapes import MSO_SHAPE_TYPE

import compmodel as cm
from compmodel import export as ex
from compmodel.io import scenario_to_dict

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# fixtures: two samples solved once, their tables, a small chart
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def st(today: cm.Scenario, aligned: cm.Scenario) -> ex.Stamp:
    return ex.stamp(today, aligned)


@pytest.fixture(scope="module")
def solved(today: cm.Scenario, aligned: cm.Scenario) -> tuple[cm.Solution, cm.Solution]:
    return cm.solve(today), cm.solve(aligned)


@pytest.fixture(scope="module")
def tables(today: cm.Scenario, solved: tuple[cm.Solution, cm.Solution]) -> dict[str, pd.DataFrame]:
    a, b = solved
    return {
        "comparison": cm.compare({"today": a, "aligned": b}),
        "cost sheet": cm.cost_sheet(today),
    }


def bars() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_bar().encode(x="x:O", y="y:Q")


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def workbook(
    out_dir: Path, tables: dict[str, pd.DataFrame], st: ex.Stamp
) -> Iterator[openpyxl.Workbook]:
    path = ex.to_excel(out_dir / "report.xlsx", tables, st, charts={"bars": bars()})
    assert path == (out_dir / "report.xlsx").resolve()
    wb = openpyxl.load_workbook(path)
    yield wb
    wb.close()


@pytest.fixture(scope="module")
def deck(out_dir: Path, tables: dict[str, pd.DataFrame], st: ex.Stamp) -> Any:
    path = ex.to_pptx(
        out_dir / "deck.pptx", {"bars": bars()}, tables, st, title="Acme: today vs aligned"
    )
    return pptx.Presentation(str(path))


def _slide_texts(slide: Any) -> list[str]:
    return [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]


def _slide_table(slide: Any) -> list[list[str]]:
    (table,) = [sh.table for sh in slide.shapes if sh.has_table]
    return [[cell.text for cell in row.cells] for row in table.rows]


def _flat_compare(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index()


# --------------------------------------------------------------------------------------
# the stamp
# --------------------------------------------------------------------------------------
def test_hash_is_the_same_for_two_loads_of_a_file(st: ex.Stamp) -> None:
    again = ex.stamp(
        cm.load_scenario(SAMPLES / "acme_today.toml"),
        cm.load_scenario(SAMPLES / "acme_aligned.toml"),
    )
    assert again == st
    assert re.fullmatch(r"[0-9a-f]{64}", st.content_hash)
    assert st.short_hash == st.content_hash[:12]


def test_hash_of_one_scenario_is_sha256_of_its_toml_document() -> None:
    """A scenario without a roster CSV: the hash is that of the documented text."""
    s = cm.load_scenario(SAMPLES / "theory" / "cap.toml")
    text = tomli_w.dumps(scenario_to_dict(s))
    assert ex.stamp(s).content_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_hash_changes_when_a_number_changes(aligned: cm.Scenario, today: cm.Scenario) -> None:
    before = ex.stamp(aligned).content_hash
    changed = aligned.with_value("sales.weights.bookings", 0.4)
    assert ex.stamp(changed).content_hash != before
    assert ex.stamp(changed.with_value("sales.weights.bookings", 0.5)).content_hash == before
    # order is part of what was compared
    assert ex.stamp(today, aligned).content_hash != ex.stamp(aligned, today).content_hash


def test_hash_covers_the_roster_not_its_location(tmp_path: Path, today: cm.Scenario) -> None:
    for f in ("acme.toml", "acme_today.toml", "sales_roster.csv"):
        shutil.copy(SAMPLES / f, tmp_path / f)
    moved = cm.load_scenario(tmp_path / "acme_today.toml")
    assert ex.stamp(moved).content_hash == ex.stamp(today).content_hash

    roster = tmp_path / "sales_roster.csv"
    text = roster.read_text()
    roster.write_text(text.replace("rep-01,73500,", "rep-01,73600,", 1))
    assert text != roster.read_text()
    edited = cm.load_scenario(tmp_path / "acme_today.toml")
    assert ex.stamp(edited).content_hash != ex.stamp(today).content_hash


def test_names_version_and_lines(st: ex.Stamp) -> None:
    assert st.scenarios == ("Acme today", "Acme aligned")
    assert st.version == cm.__version__
    lines = st.lines()
    assert lines[:3] == [
        "Scenarios: Acme today vs Acme aligned",
        f"Content hash: {st.content_hash}",
        f"compmodel {cm.__version__}",
    ]
    assert lines[3:] == [f"{k}: {v}" for k, v in st.assumptions]
    assert st.footer() == (
        f"Acme today vs Acme aligned · sha256 {st.short_hash} · compmodel {cm.__version__}"
    )
    frame = st.to_frame()
    assert list(frame.columns) == ["item", "value"]
    assert len(frame) == 3 + len(st.assumptions)
    assert frame["value"].tolist()[:3] == [
        "Acme today vs Acme aligned",
        st.content_hash,
        st.version,
    ]


def test_key_assumptions_of_acme_today(today: cm.Scenario) -> None:
    got = dict(ex.stamp(today).assumptions)
    with open(SAMPLES / "sales_roster.csv", newline="") as fh:
        bases = [float(r["base"]) for r in csv.DictReader(fh)]
    assert got["Currency and period"] == "USD per year"
    assert got["Company model"] == "manufacturer"
    assert got["Participation"] == "fixed_base"
    assert got["Payroll tax on incentive pay"] == "7.65%"
    assert got["sales headcount"] == "24"
    assert (
        got["sales base pay"] == f"USD {sum(bases) / len(bases):,.0f} average over a roster of 24"
    )
    assert got["sales target incentive"] == "80% of base pay"
    assert got["sales shared-outcome share"] == "0%"
    assert got["production headcount"] == "60"
    assert got["production base pay"] == "USD 52,000"
    assert got["leadership shared-outcome share"] == "100%"
    assert got["Bridge joint_sales_calls"] == "0"
    # one scenario: no name prefix
    assert not any(label.startswith("Acme today") for label in got)


def test_assumptions_of_two_scenarios_carry_the_name(st: ex.Stamp) -> None:
    got = dict(st.assumptions)
    assert got["Acme today · sales shared-outcome share"] == "0%"
    assert got["Acme aligned · sales shared-outcome share"] == "50%"
    assert got["Acme aligned · Bridge joint_sales_calls"] == "0.2"
    assert got["Acme aligned · Bridge rotation_days"] == "5"


def test_stamp_needs_scenarios(today: cm.Scenario, solved: tuple[cm.Solution, cm.Solution]) -> None:
    with pytest.raises(cm.ScenarioError, match="at least one scenario"):
        ex.stamp()
    with pytest.raises(cm.ScenarioError, match=r"solution of 'Acme today'.*Pass the scenario"):
        ex.stamp(solved[0])  # type: ignore[arg-type]
    with pytest.raises(cm.ScenarioError, match="separate arguments"):
        ex.stamp([today])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"argument 2 is a str, not a Scenario"):
        ex.stamp(today, "acme_today.toml")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# save_chart
# --------------------------------------------------------------------------------------
def test_png_is_a_png(tmp_path: Path, st: ex.Stamp) -> None:
    path = ex.save_chart(bars(), tmp_path / "bars.png", st, scale=1.0)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as im:
        stamped_h = im.size[1]
    plain = io.BytesIO()
    bars().save(plain, format="png", scale_factor=1.0)
    with Image.open(plain) as im:
        assert stamped_h > im.size[1]  # room for the footer line


def test_svg_holds_the_footer_as_text(tmp_path: Path, st: ex.Stamp) -> None:
    path = ex.save_chart(bars(), tmp_path / "bars.svg", st)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t for el in root.iter() for t in (el.text,) if t)
    assert st.short_hash in text
    assert "Acme today vs Acme aligned" in text


def _check_html(page: str, st: ex.Stamp) -> None:
    scripts = re.findall(r"<script\b[^>]*>", page, flags=re.IGNORECASE)
    assert scripts, "the Vega scripts should be inline"
    assert not [s for s in scripts if "src" in s.lower()], scripts
    assert "https://cdn" not in page
    assert 'src="http' not in page
    assert st.content_hash in page
    assert st.short_hash in page
    footer = page[page.index('<footer id="compmodel-stamp"') :]
    footer = footer[: footer.index("</footer>")]
    for line in st.lines():
        assert line.replace("&", "&amp;") in footer


def test_html_is_self_contained_and_stamped(tmp_path: Path, st: ex.Stamp) -> None:
    path = ex.save_chart(bars(), tmp_path / "bars.html", st)
    page = path.read_text(encoding="utf-8")
    _check_html(page, st)
    assert page.index("<footer") < page.rindex("</body>")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".html"])
def test_configured_chart_saves(tmp_path: Path, st: ex.Stamp, suffix: str) -> None:
    chart = bars().configure_axis(labelFontSize=12).properties(background="#fafafa", padding=8)
    path = ex.save_chart(chart, tmp_path / f"configured{suffix}", st)
    assert path.stat().st_size > 0
    if suffix == ".html":
        page = path.read_text(encoding="utf-8")
        _check_html(page, st)
        assert '"labelFontSize": 12' in page  # the configuration survived the move
        assert '"background": "#fafafa"' in page
    # the caller's chart is left as it was
    assert chart.config.axis.labelFontSize == 12


@pytest.mark.parametrize(
    "make",
    [
        lambda: bars() + bars().mark_line(color="black"),
        lambda: bars() & bars(),
        lambda: bars().properties(title="Bars").interactive(),
    ],
    ids=["layer", "vconcat", "titled-interactive"],
)
def test_other_chart_kinds_save(tmp_path: Path, st: ex.Stamp, make: Any) -> None:
    path = ex.save_chart(make(), tmp_path / "chart.svg", st)
    assert st.short_hash in path.read_text(encoding="utf-8")


def test_html_that_would_need_the_network_is_refused(
    tmp_path: Path, st: ex.Stamp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were altair to link its scripts from a CDN, nothing is written."""

    def linked_page(chart: alt.TopLevelMixin, fmt: str, scale: float) -> bytes:
        page = io.StringIO()
        chart.save(page, format="html")  # without inline=True: scripts from a CDN
        return page.getvalue().encode("utf-8")

    monkeypatch.setattr(ex, "_render", linked_page)
    with pytest.raises(cm.CompmodelError, match=r"loads scripts from https://.*png or \.svg"):
        ex.save_chart(bars(), tmp_path / "bars.html", st)
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_names_the_allowed_ones(tmp_path: Path, st: ex.Stamp) -> None:
    with pytest.raises(cm.ScenarioError, match=r"'\.jpg'; allowed: \.png, \.svg, \.html") as e:
        ex.save_chart(bars(), tmp_path / "bars.jpg", st)
    assert isinstance(e.value, cm.CompmodelError)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path: Path, st: ex.Stamp) -> None:
    with pytest.raises(cm.ScenarioError, match="altair chart"):
        ex.save_chart({"mark": "bar"}, tmp_path / "x.png", st)  # type: ignore[arg-type]
    with pytest.raises(cm.ScenarioError, match=r"stamp\(today, proposal\)"):
        ex.save_chart(bars(), tmp_path / "x.png", "stamp")  # type: ignore[arg-type]
    with pytest.raises(cm.ScenarioError, match="a number > 0"):
        ex.save_chart(bars(), tmp_path / "x.png", st, scale=0)
    with pytest.raises(cm.ScenarioError, match=r"allowed: \.xlsx"):
        ex.to_excel(tmp_path / "x.xls", {}, st)
    with pytest.raises(cm.ScenarioError, match=r"tables\['t'\]: is a list"):
        ex.to_excel(tmp_path / "x.xlsx", {"t": [1, 2]}, st)  # type: ignore[dict-item]
    with pytest.raises(cm.ScenarioError, match=r"allowed: \.pptx"):
        ex.to_pptx(tmp_path / "x.ppt", {}, {}, st)
    with pytest.raises(cm.ScenarioError, match=r"charts\['c'\]: is a dict"):
        ex.to_pptx(tmp_path / "x.pptx", {"c": {}}, {}, st)  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise OSError(5, "Input/output error")


@pytest.mark.parametrize("where", ["render", "fsync", "replace"])
@pytest.mark.parametrize("existing", [False, True], ids=["new", "over-old"])
def test_failed_save_leaves_no_file_and_no_temp_file(
    tmp_path: Path, st: ex.Stamp, monkeypatch: pytest.MonkeyPatch, where: str, existing: bool
) -> None:
    target = tmp_path / "bars.png"
    if existing:
        target.write_bytes(b"old chart")
    with monkeypatch.context() as m:
        if where == "render":
            m.setattr(ex, "_render", _boom)
        else:
            m.setattr(os, where, _boom)
        with pytest.raises(OSError, match="Input/output error"):
            ex.save_chart(bars(), target, st)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["bars.png"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old chart"


def test_failed_workbook_and_deck_writes_leave_nothing(
    tmp_path: Path, st: ex.Stamp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writers fail half-way through their output (a full disk, say)."""

    def half_then_fail(self: Any, fh: Any) -> None:
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    frame = pd.DataFrame({"x": [1.0]})
    monkeypatch.setattr(openpyxl.Workbook, "save", half_then_fail)
    monkeypatch.setattr(pptx.presentation.Presentation, "save", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        ex.to_excel(tmp_path / "r.xlsx", {"t": frame}, st)
    with pytest.raises(OSError, match="No space"):
        ex.to_pptx(tmp_path / "d.pptx", {}, {"t": frame}, st)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------
def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_workbook_sheets(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == ["About", "comparison", "cost sheet", "bars"]
    for ws in workbook.worksheets[:3]:
        assert ws.freeze_panes == "A2"
        assert all(c.font.b for c in ws[1])
        assert ws.column_dimensions["A"].width > len(str(ws["A1"].value))


def test_about_sheet_holds_the_stamp(workbook: openpyxl.Workbook, st: ex.Stamp) -> None:
    rows = _rows(workbook["About"])
    assert rows[0] == ("item", "value")
    about = dict(rows[1:])
    assert about["Content hash (SHA-256)"] == st.content_hash
    assert about["compmodel version"] == cm.__version__
    assert about["Scenarios"] == "Acme today vs Acme aligned"
    assert about["Acme today · sales headcount"] == "24"
    assert len(rows) == 1 + len(st.to_frame())


def test_cost_sheet_values_and_formats(
    workbook: openpyxl.Workbook, tables: dict[str, pd.DataFrame]
) -> None:
    frame = tables["cost sheet"]
    ws = workbook["cost sheet"]
    header = [c.value for c in ws[1]]
    assert header == list(frame.columns)
    assert ws.max_row == 1 + len(frame)
    col = {name: j + 1 for j, name in enumerate(header)}
    for i in range(len(frame)):
        for name in frame.columns:
            v = frame[name].iloc[i]
            cell = ws.cell(row=i + 2, column=col[name])
            if isinstance(v, str):
                assert cell.value == v
            elif math.isnan(v):
                assert cell.value is None
            else:
                assert cell.value == pytest.approx(float(v), rel=1e-12)
    sales = 2
    assert ws.cell(sales, col["payout_at_target"]).number_format == "#,##0"
    assert ws.cell(sales, col["expected_pay_per_person"]).number_format == "#,##0"
    assert ws.cell(sales, col["pay_mix"]).number_format == "0.0%"
    assert ws.cell(sales, col["cost_share_of_revenue"]).number_format == "0.0%"
    assert ws.cell(sales, col["share_at_or_above_quota"]).number_format == "0.0%"
    assert ws.cell(sales, col["leverage"]).number_format == "#,##0.00"
    assert ws.cell(sales, col["pay_ratio_to_lowest"]).number_format == "#,##0.00"
    assert ws.cell(sales, col["headcount"]).number_format == "#,##0"
    assert ws.cell(sales, col["headcount"]).value == 24


def test_comparison_keeps_its_index_and_formats_by_figure(
    workbook: openpyxl.Workbook, tables: dict[str, pd.DataFrame]
) -> None:
    flat = _flat_compare(tables["comparison"])
    ws = workbook["comparison"]
    assert [c.value for c in ws[1]] == [
        "section", "department", "figure", "today", "aligned", "aligned - today",
    ]  # fmt: skip
    rows = _rows(ws)[1:]
    assert len(rows) == len(flat)
    for got, want in zip(rows, flat.itertuples(index=False), strict=True):
        assert got[0] == want[0]
        assert (got[1] or "") == want[1]
        assert got[2] == want[2]
        assert list(got[3:]) == pytest.approx([float(x) for x in want[3:]], rel=1e-12)

    def fmt(section: str, department: str, figure: str) -> str:
        i = flat.index[
            (flat["section"] == section)
            & (flat["department"] == department)
            & (flat["figure"] == figure)
        ][0]
        return str(ws.cell(row=i + 2, column=4).number_format)

    assert fmt("metrics", "", "otif") == "0.0%"
    assert fmt("pay", "sales", "retention") == "0.0%"
    assert fmt("company", "", "operating_profit") == "#,##0"
    assert fmt("pay", "sales", "expected_pay") == "#,##0"
    assert fmt("levers", "sales", "prospecting") == "#,##0.00"


def test_chart_sheet_holds_a_png(workbook: openpyxl.Workbook) -> None:
    images = workbook["bars"]._images
    assert len(images) == 1
    assert images[0]._data().startswith(PNG_MAGIC)


def test_sheet_names_are_valid_and_unique(tmp_path: Path, st: ex.Stamp) -> None:
    frame = pd.DataFrame({"note": ["=1+1"], "amount": [1234.5]}, index=pd.Index(["a"], name="k"))
    names = ["a/b:c*?[x]", "x" * 40, "about", "X" * 40, "'quoted'"]
    path = ex.to_excel(tmp_path / "names.xlsx", dict.fromkeys(names, frame), st)
    wb = openpyxl.load_workbook(path)
    got = wb.sheetnames
    assert got[0] == "About" and len(got) == 1 + len(names)
    assert got[1] == "a_b_c___x_"
    assert got[3] == "about (2)"
    assert len({g.casefold() for g in got}) == len(got)
    for g in got:
        assert 0 < len(g) <= 31 and not re.search(r"[\[\]:*?/\\]", g) and g[0] != "'"
    ws = wb[got[1]]
    assert _rows(ws) == [("k", "note", "amount"), ("a", "=1+1", 1234.5)]  # named index kept
    assert ws["B2"].data_type == "s"  # text that looks like a formula stays text
    assert ws["C2"].number_format == "#,##0"
    assert not list(tmp_path.glob(".*"))


# --------------------------------------------------------------------------------------
# slide decks
# --------------------------------------------------------------------------------------
def _table_slide_count(frame: pd.DataFrame) -> int:
    return max(1, math.ceil(len(frame) / ex.ROWS_PER_SLIDE))


def test_deck_slides(deck: Any, tables: dict[str, pd.DataFrame], st: ex.Stamp) -> None:
    n_tables = sum(_table_slide_count(f) for f in tables.values())
    assert len(deck.slides) == 1 + 1 + n_tables
    assert deck.slide_width / deck.slide_height == pytest.approx(16 / 9, rel=1e-3)
    assert st.short_hash in st.footer()
    for slide in deck.slides:
        assert _slide_texts(slide).count(st.footer()) == 1
        for sh in slide.shapes:  # nothing hangs off the slide
            assert 0 <= sh.left and sh.left + sh.width <= deck.slide_width
            assert 0 <= sh.top and sh.top + sh.height <= deck.slide_height


def test_title_slide_carries_the_stamp(deck: Any, st: ex.Stamp) -> None:
    first = deck.slides[0]
    text = "\n".join(_slide_texts(first))
    assert first.shapes.title.text == "Acme: today vs aligned"
    for line in st.lines():
        assert line in text
    assert first.notes_slide.notes_text_frame.text == "\n".join(st.lines())


def test_chart_slide_has_the_picture(deck: Any) -> None:
    slide = deck.slides[1]
    assert slide.shapes.title.text == "bars"
    pictures = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(pictures) == 1
    assert pictures[0].image.blob.startswith(PNG_MAGIC)


def test_long_tables_continue_on_further_slides(deck: Any, tables: dict[str, pd.DataFrame]) -> None:
    flat = _flat_compare(tables["comparison"])
    n = _table_slide_count(flat)
    assert n > 1
    slides = list(deck.slides)[2 : 2 + n]
    rows: list[list[str]] = []
    for k, slide in enumerate(slides, start=1):
        assert slide.shapes.title.text == f"comparison ({k}/{n})"
        cells = _slide_table(slide)
        assert cells[0] == [
            "section",
            "department",
            "figure",
            "today",
            "aligned",
            "aligned - today",
        ]
        assert 1 <= len(cells) - 1 <= ex.ROWS_PER_SLIDE
        rows += cells[1:]
    assert len(rows) == len(flat)
    for got, want in zip(rows, flat.itertuples(index=False), strict=True):
        assert got[:3] == [want[0], want[1], want[2]]
        if want[2] in ("otif", "retention", "customer_retention"):
            assert got[3:] == [f"{float(x):.1%}" for x in want[3:]]
        elif want[2] in ("operating_profit", "expected_pay", "base_pay"):
            assert got[3:] == [f"{float(x):,.0f}" for x in want[3:]]


def test_table_cells_are_formatted_numbers(deck: Any, tables: dict[str, pd.DataFrame]) -> None:
    frame = tables["cost sheet"]
    (slide,) = [s for s in deck.slides if s.shapes.title.text == "cost sheet"]
    cells = _slide_table(slide)
    assert cells[0] == [c.replace("_", " ") for c in frame.columns]
    assert len(cells) == 1 + len(frame)
    col = {name: j for j, name in enumerate(frame.columns)}
    for i in range(len(frame)):
        row = cells[i + 1]
        assert row[col["department"]] == frame["department"].iloc[i]
        assert row[col["headcount"]] == f"{frame['headcount'].iloc[i]:,}"
        assert row[col["payout_at_target"]] == f"{frame['payout_at_target'].iloc[i]:,.0f}"
        assert row[col["pay_mix"]] == f"{frame['pay_mix'].iloc[i]:.1%}"
        assert row[col["leverage"]] == f"{frame['leverage'].iloc[i]:,.2f}"
        share = frame["share_at_or_above_quota"].iloc[i]
        assert row[col["share_at_or_above_quota"]] == ("" if math.isnan(share) else f"{share:.1%}")


def test_empty_inputs_make_a_title_slide_only(tmp_path: Path, st: ex.Stamp) -> None:
    path = ex.to_pptx(tmp_path / "empty.pptx", {}, {}, st)
    deck = pptx.Presentation(str(path))
    assert len(deck.slides) == 1
    assert deck.slides[0].shapes.title.text == "compmodel scenarios"
    path = ex.to_excel(tmp_path / "empty.xlsx", {}, st)
    assert openpyxl.load_workbook(path).sheetnames == ["About"]


def test_cell_values_and_index_rules(tmp_path: Path, st: ex.Stamp) -> None:
    """Row numbers are dropped (also after filtering), labels kept; Excel has no inf."""
    frame = pd.DataFrame(
        {
            "payout_at_cap": [1.0, math.inf, 2_500_000.4, math.nan],
            "capped": [True, False, True, False],
            "as_of": pd.to_datetime(["2024-01-31"] * 4),
        }
    )
    filtered = frame[frame["capped"] | frame["payout_at_cap"].isna()]  # index 0, 2, 3
    labelled = frame.set_axis(["a", "b", "c", "d"])
    path = ex.to_excel(tmp_path / "cells.xlsx", {"f": filtered, "l": labelled}, st)
    wb = openpyxl.load_workbook(path)
    rows = _rows(wb["f"])
    assert rows[0] == ("payout_at_cap", "capped", "as_of")
    assert [r[:2] for r in rows[1:]] == [(1, True), (2_500_000.4, True), (None, False)]
    assert rows[1][2].date().isoformat() == "2024-01-31"
    assert wb["f"]["A3"].number_format == "#,##0"
    rows = _rows(wb["l"])
    assert rows[0] == ("index", "payout_at_cap", "capped", "as_of")
    assert [r[:2] for r in rows[1:]] == [("a", 1), ("b", "inf"), ("c", 2_500_000.4), ("d", None)]

    deck = pptx.Presentation(str(ex.to_pptx(tmp_path / "cells.pptx", {}, {"l": labelled}, st)))
    cells = _slide_table(deck.slides[1])
    assert cells[0] == ["index", "payout at cap", "capped", "as of"]
    assert [r[:3] for r in cells[1:]] == [
        ["a", "1", "True"],
        ["b", "inf", "False"],
        ["c", "2,500,000", "True"],
        ["d", "", "False"],
    ]
