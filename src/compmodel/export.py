"""Exports that say where their numbers come from: chart images, HTML, Excel, slide decks.

The stamp
---------
Every export carries a :class:`Stamp`, made by :func:`stamp` from the scenarios behind
the numbers:

* the scenario names;
* a content hash: SHA-256 of the scenarios' canonical TOML documents
  (``tomli_w.dumps(compmodel.io.scenario_to_dict(scenario))``, company file merged in,
  rosters read from a CSV written inline so that the hash covers the people and not
  the file's location), in the order given, joined by a NUL character. Any change to
  any number, name or setting changes it; two exports with the same hash were made
  from the same inputs. Footers show its first 12 hex digits (:attr:`Stamp.short_hash`);
* the key assumptions, as ``(label, value)`` text: currency and period, company model,
  participation, payroll tax on incentive pay (and, under ``fixed_base``, turnover
  sensitivity and replacement cost), then per department its headcount, base pay,
  target incentive (share of base pay) and shared-outcome share (weight of the plan
  on company-scope metrics), then the bridges and their settings. With several
  scenarios each label starts with the scenario's name;
* the compmodel version.

The formats
-----------
============  =========  ===============================================================
function      file       where the stamp goes
============  =========  ===============================================================
save_chart    ``.png``   a footer line under the chart (names, short hash, version)
              ``.svg``   the same footer line, as text
              ``.html``  the footer line, and every stamp line in a ``<footer>``; the page
                         is self-contained (Vega scripts inlined, no network needed)
to_excel      ``.xlsx``  a first sheet "About" (the stamp as item / value); then one sheet
                         per table and one per chart (a PNG with the footer line)
to_pptx       ``.pptx``  the title slide (every line; all of them in its notes too) and a
                         footer line on every slide; 16:9
============  =========  ===============================================================

Number formats
--------------
Excel cells and slide-table text are formatted by the name that says what a number is:
the column's name, or in tables with a ``figure`` column (:func:`compmodel.compare`,
:meth:`Solution.to_frame <compmodel.Solution.to_frame>`) the row's figure. The name is
split into words at ``_``, ``.``, spaces and other punctuation, and the first rule that
matches decides:

0. a metric or outcome a company kind declares (by name or by its reader's label) ->
   the format of its display table (money, share, hours or an index; counts go on to
   rule 4), e.g. the manufacturer's ``otif`` and ``bookings``;
1. a share word (``share``, ``mix``, ``retention``, ``efficiency``, ``rate``,
   ``utilisation``, ``load``, ``probability``, ``percent``, ...) -> percent, ``0.0%``;
2. a ratio word (``ratio``, ``leverage``, ``variance``, ``elasticity``, ``index``) -> a
   plain number, ``#,##0.00``;
3. a money word (``pay``, ``base``, ``ote``, ``payout``, ``incentive``, ``cost``,
   ``budget``, ``bill``, ``tax``, ``profit``, ``value``, ``surplus``, ``margin``,
   ``amount``, ``cumulative``, ``premium``, ``equivalent``, ...)
   -> money, whole currency units, ``#,##0``;
4. otherwise whole numbers (integer columns) -> ``#,##0`` and other numbers ->
   ``#,##0.00``.

Missing values (``NaN``, ``None``) are left empty; infinities are written as the text
``inf`` / ``-inf`` (Excel has no infinity). A table's index is written as its first
columns when it carries information: a :class:`~pandas.MultiIndex` (as from
:func:`compmodel.compare`), a named index, or labels that are not integers. An unnamed
integer index (row numbers, also those left by filtering) is left out.

Slide tables hold at most :data:`ROWS_PER_SLIDE` rows; longer tables continue on the
next slides (titled ``name (2/3)``, the header repeated), so no number is dropped.

Every file is written atomically: to a temporary file beside the target, renamed over
it when complete. A failure leaves the old file (or no file) and no temporary file.

Text from a scenario (its name, labels, anything a table or chart holds) stays text:
HTML pages escape it (:mod:`compmodel._text`), also in the chart spec inside their
``<script>``, so a ``</script>`` in a name ends nothing; workbook cells holding text are
text cells, never formulas (``=HYPERLINK(...)`` is shown, not run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, cast

import altair as alt
import numpy as np
import pandas as pd
import tomli_w
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.drawing.image import Image as XLImage  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from PIL import Image as PILImage
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import PP_ALIGN
from pptx.util import Emu, Inches, Pt

from . import __version__
from ._text import escape_html, script_safe_json
from .document import scenario_to_dict
from .errors import CompmodelError, ScenarioError
from .io import _atomic_write, _write_atomically
from .models import display_of
from .scenario import Scenario
from .solve import Solution

__all__ = [
    "CHART_SUFFIXES",
    "ROWS_PER_SLIDE",
    "Stamp",
    "save_chart",
    "stamp",
    "to_excel",
    "to_pptx",
]

#: File suffixes :func:`save_chart` writes, and the format each one means.
CHART_SUFFIXES: Mapping[str, str] = {".png": "png", ".svg": "svg", ".html": "html"}

#: Most data rows in one slide table; longer tables continue on the next slide.
ROWS_PER_SLIDE = 15

Kind = Literal["money", "percent", "number", "integer"]

_PERCENT_WORDS = frozenset(
    {
        "share", "shares", "mix", "retention", "efficiency", "rate", "rates",
        "utilisation", "utilization", "load", "probability", "pct", "percent",
        "percentage",
    }
)  # fmt: skip
_RATIO_WORDS = frozenset({"ratio", "leverage", "variance", "elasticity", "index"})
_MONEY_WORDS = frozenset(
    {
        "pay", "base", "ote", "payout", "payouts", "incentive", "incentives", "cost",
        "costs", "budget", "bill", "tax", "payroll", "profit", "value", "surplus",
        "margin", "amount", "cumulative", "premium", "equivalent",
        "salary", "bonus", "commission", "compensation", "price", "concessions",
    }
)  # fmt: skip
_FORMAT_KIND: Mapping[str, Kind] = {
    "money": "money", "share": "percent", "hours": "number", "index": "number",
}  # fmt: skip
_EXCEL_FORMATS: Mapping[Kind, str] = {
    "money": "#,##0",
    "percent": "0.0%",
    "number": "#,##0.00",
    "integer": "#,##0",
}
_ROW_LABEL = "figure"
# properties Vega-Lite allows only on the outermost chart: moved to the stamped wrapper
_TOP_LEVEL_ONLY = ("config", "background", "padding", "autosize", "usermeta")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_SHEET_MAX = 31
_FORMULA_STARTS = frozenset("=+-@")  # what Excel reads as the start of a formula
_IMAGE_SCALE = 2.0  # PNG pixels per CSS pixel for charts in workbooks and decks
_FOOTER_GREY = "666666"


# --------------------------------------------------------------------------------------
# the stamp
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stamp:
    """What an export was made from: scenario names, content hash, assumptions, version.

    Make one with :func:`stamp`.

    Attributes
    ----------
    scenarios
        The scenario names, in order.
    content_hash
        SHA-256 (64 hex digits) of the scenarios' canonical TOML documents, in order
        (see the module docstring).
    assumptions
        ``(label, value)`` pairs of text, e.g. ``("sales headcount", "24")``.
    version
        The compmodel version that made the export.
    """

    scenarios: tuple[str, ...]
    content_hash: str
    assumptions: tuple[tuple[str, str], ...]
    version: str

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of :attr:`content_hash`, as shown in footers."""
        return self.content_hash[:12]

    @property
    def title(self) -> str:
        """The scenario names joined by ``" vs "``."""
        return " vs ".join(self.scenarios)

    def lines(self) -> list[str]:
        """Human-readable lines: scenarios, content hash, version, then each assumption."""
        return [
            f"Scenarios: {self.title}",
            f"Content hash: {self.content_hash}",
            f"compmodel {self.version}",
            *(f"{label}: {value}" for label, value in self.assumptions),
        ]

    def footer(self) -> str:
        """One short line for footers: names · short hash · version."""
        return f"{self.title} · sha256 {self.short_hash} · compmodel {self.version}"

    def to_frame(self) -> pd.DataFrame:
        """The stamp as a two-column table (``item``, ``value``), one row per line."""
        rows = [
            ("Scenarios", self.title),
            ("Content hash (SHA-256)", self.content_hash),
            ("compmodel version", self.version),
            *self.assumptions,
        ]
        return pd.DataFrame(rows, columns=["item", "value"])


def stamp(*scenarios: Scenario) -> Stamp:
    """The stamp of an export made from ``scenarios``.

    Parameters
    ----------
    *scenarios
        The scenarios behind the exported numbers, baseline first, e.g.
        ``stamp(today, proposal)``.

    Returns
    -------
    Stamp
        Names, content hash, key assumptions and the compmodel version.

    Raises
    ------
    ScenarioError
        With no scenario, or with anything that is not a :class:`~compmodel.Scenario`.
        A :class:`~compmodel.Solution` keeps only its scenario's name, not its numbers,
        so it cannot be hashed: pass the scenario it was solved from.
    """
    if not scenarios:
        raise ScenarioError(
            "scenarios", "give at least one scenario, e.g. stamp(today) or stamp(today, proposal)"
        )
    for i, s in enumerate(scenarios, start=1):
        if isinstance(s, Solution):
            raise ScenarioError(
                "scenarios",
                f"argument {i} is the solution of {s.scenario!r}; a solution keeps only its "
                "scenario's name, not its numbers, so it cannot be hashed. Pass the scenario "
                "you solved instead (e.g. stamp(scenario) for solve(scenario))",
            )
        if not isinstance(s, Scenario):
            hint = (
                "; pass them as separate arguments: stamp(*scenarios)"
                if isinstance(s, (list, tuple))
                else "; load one with compmodel.load_scenario(path)"
            )
            raise ScenarioError(
                "scenarios",
                f"argument {i} is a {type(s).__name__}, not a Scenario{hint}",
            )
    texts = [_canonical_toml(s) for s in scenarios]
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    names = [s.name for s in scenarios]
    unique = len(set(names)) == len(names)
    assumptions: list[tuple[str, str]] = []
    for i, s in enumerate(scenarios, start=1):
        if len(scenarios) == 1:
            prefix = ""
        else:
            prefix = f"{s.name} · " if unique else f"{s.name} [{i}] · "
        assumptions += [(prefix + label, value) for label, value in _assumptions(s)]
    return Stamp(
        scenarios=tuple(names),
        content_hash=digest,
        assumptions=tuple(assumptions),
        version=__version__,
    )


def _canonical_toml(s: Scenario) -> str:
    """The scenario's complete TOML document, rosters inline (location-independent)."""
    depts = {
        n: dataclasses.replace(d, roster=dataclasses.replace(d.roster, source=None))
        if d.roster is not None and d.roster.source is not None
        else d
        for n, d in s.departments.items()
    }
    if any(depts[n] is not d for n, d in s.departments.items()):
        s = dataclasses.replace(s, departments=depts)
    return tomli_w.dumps(scenario_to_dict(s))


def _pct(x: float) -> str:
    """0.0765 -> '7.65%', 0.8 -> '80%'."""
    text = f"{x * 100:.2f}".rstrip("0").rstrip(".")
    return f"{'0' if text in ('', '-0') else text}%"


def _assumptions(s: Scenario) -> list[tuple[str, str]]:
    cur = s.currency
    company = s.company.kind
    if s.company.model is not None:
        company = f"{company} ({s.company.model})"
    out = [
        ("Currency and period", f"{cur} per {s.period}"),
        ("Company model", company),
        ("Participation", s.settings.participation),
        ("Payroll tax on incentive pay", _pct(s.settings.payroll_tax_rate)),
    ]
    if s.settings.participation == "fixed_base":
        out += [
            ("Turnover sensitivity", f"{s.settings.turnover_sensitivity:g}"),
            ("Replacement cost", f"{_pct(s.settings.replacement_cost)} of base pay"),
        ]
    for name, d in s.departments.items():
        if d.roster is not None and len(d.roster):
            mean_base = sum(p.base for p in d.roster.people) / len(d.roster)
            base = f"{cur} {mean_base:,.0f} average over a roster of {len(d.roster)}"
        else:
            base = f"{cur} {d.base_pay:,.0f}"
        out += [
            (f"{name} headcount", f"{d.headcount:,}"),
            (f"{name} base pay", base),
            (f"{name} target incentive", f"{_pct(d.target_incentive)} of base pay"),
            (f"{name} shared-outcome share", _pct(s.shared_share(name))),
        ]
    if s.bridges:
        out += [(f"Bridge {b}", f"{float(v):g}") for b, v in s.bridges.items()]
    else:
        out.append(("Bridges", "none"))
    return out


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------
def _target(path: str | os.PathLike[str], allowed: Sequence[str], hint: str) -> Path:
    target = Path(path).resolve()
    if target.suffix.lower() not in allowed:
        raise ScenarioError(
            "path",
            f"{target.name!r} has the suffix {target.suffix or '(none)'!r}; "
            f"allowed: {', '.join(allowed)}. {hint}",
        )
    return target


def _check_stamp(s: Any) -> Stamp:
    if not isinstance(s, Stamp):
        raise ScenarioError(
            "stamp",
            f"is a {type(s).__name__}; pass the Stamp of the scenarios behind the numbers, "
            "e.g. compmodel.export.stamp(today, proposal)",
        )
    return s


def _check_chart(chart: Any, where: str) -> alt.TopLevelMixin:
    if not isinstance(chart, alt.TopLevelMixin):
        raise ScenarioError(
            where,
            f"is a {type(chart).__name__}; pass an altair chart (alt.Chart, LayerChart, "
            "VConcatChart, ...). For an alt.JupyterChart pass its .chart",
        )
    return chart


def _check_tables(tables: Any) -> dict[str, pd.DataFrame]:
    if not isinstance(tables, Mapping):
        raise ScenarioError(
            "tables",
            f"is a {type(tables).__name__}; pass a mapping of name -> DataFrame, "
            "e.g. {'comparison': compare(...)}",
        )
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        if not isinstance(frame, pd.DataFrame):
            raise ScenarioError(
                f"tables[{name!r}]", f"is a {type(frame).__name__}; pass a pandas DataFrame"
            )
        out[str(name)] = frame
    return out


def _check_charts(charts: Any) -> dict[str, alt.TopLevelMixin]:
    if charts is None:
        return {}
    if not isinstance(charts, Mapping):
        raise ScenarioError(
            "charts",
            f"is a {type(charts).__name__}; pass a mapping of name -> altair chart, "
            "e.g. {'profit walk': chart}",
        )
    return {str(n): _check_chart(c, f"charts[{n!r}]") for n, c in charts.items()}


# --------------------------------------------------------------------------------------
# charts
# --------------------------------------------------------------------------------------
def _stamped(chart: alt.TopLevelMixin, st: Stamp) -> alt.VConcatChart:
    """``chart`` with the stamp's footer line underneath.

    Properties Vega-Lite allows only on the outermost chart (``config`` from
    ``.configure_*()``, ``background``, ``padding``, ``autosize``, ``usermeta``) move
    from the chart to the wrapper, so configured charts keep their look.
    """
    body: Any = cast(Any, chart).copy(deep=True)  # TopLevelMixin's typing omits copy()
    moved: dict[str, Any] = {}
    for attr in _TOP_LEVEL_ONLY:
        value = getattr(body, attr, alt.Undefined)
        if value is not alt.Undefined:
            moved[attr] = value
            setattr(body, attr, alt.Undefined)
    footer = alt.TitleParams(
        text=st.footer(),
        orient="bottom",
        anchor="start",
        fontSize=10,
        fontWeight="normal",
        color=f"#{_FOOTER_GREY}",
        offset=12,
    )
    out = alt.vconcat(body, title=footer)
    for attr, value in moved.items():
        setattr(out, attr, value)
    return out


class _ScriptSafeJSON(json.JSONEncoder):
    """JSON with ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX`` escapes: the chart
    spec altair places inside a ``<script>``, where a ``</script>`` in a scenario's name
    or a label would end the element and run what follows."""

    def encode(self, o: Any) -> str:
        return script_safe_json(super().encode(o))


def _render(chart: alt.TopLevelMixin, fmt: str, scale: float = _IMAGE_SCALE) -> bytes:
    """``chart`` as PNG, SVG or self-contained HTML bytes (vl-convert, offline)."""
    if fmt == "png":
        buf = io.BytesIO()
        chart.save(buf, format="png", scale_factor=scale)
        return buf.getvalue()
    text = io.StringIO()
    if fmt == "html":
        chart.save(text, format="html", inline=True, json_kwds={"cls": _ScriptSafeJSON})
    else:
        chart.save(text, format="svg")
    return text.getvalue().encode("utf-8")


_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)


def _html_with_stamp(page: str, st: Stamp) -> str:
    """The page with the stamp's lines in a ``<footer>`` and its footer as the title."""
    remote = _REMOTE_SCRIPT.findall(page)
    if remote:
        raise CompmodelError(
            f"altair wrote an HTML page that loads scripts from {', '.join(remote)}, which "
            "needs the network; nothing was written. Check that altair and "
            "vl-convert-python are installed and recent (inline HTML needs both), or "
            "save a .png or .svg instead"
        )
    lines = "\n".join(escape_html(line) for line in st.lines())
    block = (
        '<footer id="compmodel-stamp" style="font: 12px sans-serif; color: '
        f'#{_FOOTER_GREY}; white-space: pre-line; margin: 1em 0">\n{lines}\n</footer>\n'
    )
    end = page.rfind("</body>")
    page = page + block if end < 0 else page[:end] + block + page[end:]
    if "<title>" not in page:
        head = page.find("<head>")
        if head >= 0:
            head += len("<head>")
            page = f"{page[:head]}\n  <title>{escape_html(st.footer())}</title>{page[head:]}"
    return page


def save_chart(
    chart: alt.TopLevelMixin,
    path: str | os.PathLike[str],
    stamp: Stamp,
    *,
    scale: float = 2.0,
) -> Path:
    """Write an altair chart, stamped, as PNG, SVG or self-contained HTML.

    Parameters
    ----------
    chart
        Any altair chart (``Chart``, ``LayerChart``, ``VConcatChart``, ...), configured
        or not.
    path
        Target file; the suffix chooses the format: ``.png``, ``.svg`` or ``.html``.
    stamp
        From :func:`stamp`: its footer line is drawn under the chart; HTML pages also
        carry every stamp line in a ``<footer>`` element.
    scale
        PNG pixels per chart pixel (2 for sharp images on high-density screens and in
        print); ignored for SVG and HTML.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    ScenarioError
        For another suffix (the message lists the allowed ones), a chart that is not
        an altair chart, a missing stamp or a scale that is not a positive number.

    Notes
    -----
    Images are rendered by vl-convert, offline. HTML pages inline the Vega scripts
    (about 1 MB) and load nothing from the network. The file is written atomically.
    """
    target = _target(
        path,
        tuple(CHART_SUFFIXES),
        "Workbooks and decks: to_excel(...) and to_pptx(...).",
    )
    _check_chart(chart, "chart")
    st = _check_stamp(stamp)
    if (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float, np.integer, np.floating))
        or not math.isfinite(scale)
        or scale <= 0
    ):
        raise ScenarioError("scale", f"is {scale!r}; allowed: a number > 0 (2 is typical)")
    fmt = CHART_SUFFIXES[target.suffix.lower()]
    data = _render(_stamped(chart, st), fmt, float(scale))
    if fmt == "html":
        data = _html_with_stamp(data.decode("utf-8"), st).encode("utf-8")
    _write_atomically(target, data)
    return target


# --------------------------------------------------------------------------------------
# tables: index, cell values, number formats
# --------------------------------------------------------------------------------------
def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with an informative index moved into columns and text column names."""
    idx = frame.index
    row_numbers = (
        not isinstance(idx, pd.MultiIndex)
        and idx.name is None
        and pd.api.types.is_integer_dtype(idx.dtype)
    )
    out = frame.reset_index(drop=row_numbers, allow_duplicates=True)
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = [
            " / ".join(str(part) for part in col if str(part) != "") for col in out.columns
        ]
    else:
        out.columns = [str(c) for c in out.columns]
    return out


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[^0-9a-z]+", name.lower()) if w}


def _name_kind(name: str) -> Kind | None:
    """What a number called ``name`` is: a company kind's display table says it for its
    metrics (by name or label), else the rules of the module docstring."""
    shown = display_of(name) or display_of(name, by_label=True)
    if shown is not None and shown.format != "count":
        return _FORMAT_KIND[shown.format]
    words = _words(name)
    if words & _PERCENT_WORDS:
        return "percent"
    if words & _RATIO_WORDS:
        return "number"
    if words & _MONEY_WORDS:
        return "money"
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def _cell(v: Any) -> Any:
    """A value Excel and text can hold: Python numbers, text, dates; None when missing."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (str, datetime, date)):
        return v
    return str(v)


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[Any]], list[list[Kind | None]]]:
    """Header, cell values and each cell's number kind (None: not a number)."""
    header = [str(c) for c in frame.columns]
    labels: list[str] | None = None
    if _ROW_LABEL in header:
        col = frame.iloc[:, header.index(_ROW_LABEL)]
        labels = [str(x) for x in col]
    col_kinds = [_name_kind(h) for h in header]
    integer_cols = [pd.api.types.is_integer_dtype(frame.iloc[:, j]) for j in range(len(header))]
    values: list[list[Any]] = []
    kinds: list[list[Kind | None]] = []
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        vals = [_cell(v) for v in row]
        row_kind = _name_kind(labels[i]) if labels is not None else None
        ks: list[Kind | None] = []
        for j, v in enumerate(vals):
            if not _is_number(v):
                ks.append(None)
                continue
            kind = row_kind if labels is not None else col_kinds[j]
            if kind is None:
                kind = "integer" if integer_cols[j] or isinstance(v, int) else "number"
            ks.append(kind)
        values.append(vals)
        kinds.append(ks)
    return header, values, kinds


def _display(v: Any, kind: Kind | None) -> str:
    """A cell as text, formatted like its Excel number format."""
    if v is None:
        return ""
    if kind is None or not _is_number(v):
        if isinstance(v, datetime):
            return v.isoformat(sep=" ")
        return str(v)
    if kind == "percent":
        return f"{v:.1%}"
    if kind == "number":
        return f"{v:,.2f}"
    return f"{v:,.0f}"


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------
def _sheet_name(raw: str, taken: set[str]) -> str:
    """An Excel sheet name: no ``[]:*?/\\``, at most 31 characters, unique (any case)."""
    base = _SHEET_FORBIDDEN.sub("_", raw).strip().strip("'")[:_SHEET_MAX].strip("'") or "Sheet"
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = base[: _SHEET_MAX - len(suffix)].rstrip() + suffix
        n += 1
    taken.add(name.casefold())
    return name


def _text_safe(cell: Any) -> Any:
    """The cell, a text cell if it holds a string: never a formula (openpyxl makes any
    string starting with ``=`` one), and quote-prefixed where Excel would read the
    text as a formula once edited (``= + - @``)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value[:1] in _FORMULA_STARTS:
            cell.quotePrefix = True
    return cell


def _write_sheet(ws: Any, frame: pd.DataFrame) -> None:
    header, values, kinds = _cells(frame)
    bold = Font(bold=True)
    widths = [len(h) for h in header]
    for j, h in enumerate(header, start=1):
        c = _text_safe(ws.cell(row=1, column=j, value=h))
        c.font = bold
        c.alignment = Alignment(vertical="top")
    for i, (vals, ks) in enumerate(zip(values, kinds, strict=True), start=2):
        for j, (v, k) in enumerate(zip(vals, ks, strict=True), start=1):
            c = _text_safe(ws.cell(row=i, column=j, value=v))
            if k is not None:
                c.number_format = _EXCEL_FORMATS[k]
            widths[j - 1] = max(widths[j - 1], len(_display(v, k)))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(w + 2, 80)
    ws.freeze_panes = "A2"


def to_excel(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    stamp: Stamp,
    *,
    charts: Mapping[str, alt.TopLevelMixin] | None = None,
) -> Path:
    """Write tables and charts to an Excel workbook, with the stamp on a first sheet.

    Parameters
    ----------
    path
        Target ``.xlsx`` file.
    tables
        Sheet name -> table, e.g. ``{"comparison": compare(...), "cost sheet":
        cost_sheet(s)}``. An index that carries information (see the module docstring)
        becomes the first columns.
    stamp
        From :func:`stamp`; written to the first sheet, "About", as item / value.
    charts
        Sheet name -> altair chart, each drawn as a PNG (with the stamp's footer line)
        on its own sheet after the tables.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Notes
    -----
    Sheet names are made valid for Excel: ``[]:*?/\\`` become ``_``, names are cut to
    31 characters and repeated names (Excel ignores case) get `` (2)``, `` (3)``...
    Headers are bold, the panes frozen under them, columns sized to their contents and
    numbers formatted by the rules of the module docstring. The file is written
    atomically.
    """
    target = _target(path, (".xlsx",), "Excel workbooks are written as .xlsx.")
    frames = _check_tables(tables)
    figures = _check_charts(charts)
    st = _check_stamp(stamp)
    images = {name: _render(_stamped(c, st), "png") for name, c in figures.items()}

    wb = Workbook()
    wb.properties.title = st.title
    wb.properties.description = "\n".join(st.lines())
    wb.properties.keywords = st.content_hash
    wb.properties.creator = f"compmodel {st.version}"
    taken = {"history"}  # Excel reserves "History"
    about = wb.active
    about.title = _sheet_name("About", taken)
    _write_sheet(about, st.to_frame())
    for name, frame in frames.items():
        _write_sheet(wb.create_sheet(_sheet_name(name, taken)), _flat(frame))
    for name, png in images.items():
        ws = wb.create_sheet(_sheet_name(name, taken))
        img = XLImage(io.BytesIO(png))
        img.width = round(img.width / _IMAGE_SCALE)
        img.height = round(img.height / _IMAGE_SCALE)
        ws.add_image(img, "A1")
    with _atomic_write(target) as fh:
        wb.save(fh)
    return target


# --------------------------------------------------------------------------------------
# slide decks
# --------------------------------------------------------------------------------------
_SLIDE_W = Inches(13.333)
_SLIDE_H = Inches(7.5)
_MARGIN = Inches(0.5)
_BODY_TOP = Inches(1.3)
_FOOTER_H = Inches(0.35)
_BODY_BOTTOM = _SLIDE_H - _FOOTER_H - Inches(0.25)
_LAYOUT_TITLE, _LAYOUT_TITLE_ONLY = 0, 5  # python-pptx's default template


def _place_title(slide: Any, text: str, *, top: int = Inches(0.3), size: int = 28) -> None:
    shape = slide.shapes.title
    shape.left, shape.top = _MARGIN, top
    shape.width, shape.height = _SLIDE_W - 2 * _MARGIN, Inches(0.9)
    shape.text_frame.text = text
    shape.text_frame.paragraphs[0].font.size = Pt(size)


def _text_box(
    slide: Any,
    lines: Sequence[str],
    left: int,
    top: int,
    width: int,
    height: int,
    size: float,
    grey: bool = False,
) -> None:
    tf = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height)).text_frame
    tf.word_wrap = True
    for k, line in enumerate(lines):
        para = tf.paragraphs[0] if k == 0 else tf.add_paragraph()
        para.text = line
        para.font.size = Pt(size)
        if grey:
            para.font.color.rgb = RGBColor.from_string(_FOOTER_GREY)


def _footer(slide: Any, st: Stamp) -> None:
    top = _SLIDE_H - _FOOTER_H - Inches(0.1)
    _text_box(slide, [st.footer()], _MARGIN, top, _SLIDE_W - 2 * _MARGIN, _FOOTER_H, 9, True)


def _title_slide(prs: Any, title: str, st: Stamp) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[_LAYOUT_TITLE])
    _place_title(slide, title, top=Inches(0.5), size=36)
    head, rest = st.lines()[:3], st.lines()[3:]
    sub = slide.placeholders[1]
    sub.left, sub.top = _MARGIN, Inches(1.5)
    sub.width, sub.height = _SLIDE_W - 2 * _MARGIN, Inches(1.3)
    sub.text_frame.text = "\n".join(head)
    for para in sub.text_frame.paragraphs:
        para.font.size = Pt(16)
        para.alignment = PP_ALIGN.LEFT
    if rest:
        # up to four columns of assumptions; the notes hold every line whatever fits
        top = Inches(3.0)
        height_pt = (_BODY_BOTTOM - top) / 12700
        width_pt = (_SLIDE_W - 2 * _MARGIN) / 12700
        longest = max(len(line) for line in rest)

        def fitting_size(n: int) -> float:
            # lines of ~1.25 em, characters of ~0.55 em: the largest font that fits
            rows = math.ceil(len(rest) / n)
            return min(14.0, height_pt / (rows * 1.25), width_pt / n / (longest * 0.55))

        n_cols = max(range(1, 5), key=fitting_size)
        size = max(6.0, fitting_size(n_cols))
        per_col = math.ceil(len(rest) / n_cols)
        col_w = (_SLIDE_W - 2 * _MARGIN) // n_cols
        for k in range(n_cols):
            chunk = rest[k * per_col : (k + 1) * per_col]
            _text_box(slide, chunk, _MARGIN + k * col_w, top, col_w, _BODY_BOTTOM - top, size)
    slide.notes_slide.notes_text_frame.text = "\n".join(st.lines())
    _footer(slide, st)


def _chart_slide(prs: Any, name: str, png: bytes, st: Stamp) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[_LAYOUT_TITLE_ONLY])
    _place_title(slide, name)
    with PILImage.open(io.BytesIO(png)) as im:
        px_w, px_h = im.size
    box_w, box_h = _SLIDE_W - 2 * _MARGIN, _BODY_BOTTOM - _BODY_TOP
    fit = min(box_w / px_w, box_h / px_h)
    w, h = int(px_w * fit), int(px_h * fit)
    left = _MARGIN + (box_w - w) // 2
    slide.shapes.add_picture(io.BytesIO(png), Emu(left), Emu(_BODY_TOP), Emu(w), Emu(h))
    _footer(slide, st)


def _table_slides(prs: Any, name: str, frame: pd.DataFrame, st: Stamp) -> None:
    header, values, kinds = _cells(frame)
    texts = [
        [_display(v, k) for v, k in zip(r, ks, strict=True)]
        for r, ks in zip(values, kinds, strict=True)
    ]
    n_cols = max(1, len(header))
    size = 12 if n_cols <= 6 else 10 if n_cols <= 10 else 8
    # column widths in proportion to their longest text (a header wraps at its spaces)
    shown = [h.replace("_", " ") for h in header] or [""]
    longest = [
        max([min(len(w), 30) for w in shown[j].split()] + [len(r[j]) for r in texts] + [4])
        for j in range(len(header))
    ] or [4]
    box_w = _SLIDE_W - 2 * _MARGIN
    widths = [int(box_w * w / sum(longest)) for w in longest]
    # each row's text, and which of its cells are numbers (right-aligned)
    rows = [(t, [k is not None for k in ks]) for t, ks in zip(texts, kinds, strict=True)]
    parts = [rows[i : i + ROWS_PER_SLIDE] for i in range(0, len(rows), ROWS_PER_SLIDE)] or [[]]
    for p, part in enumerate(parts):
        slide = prs.slides.add_slide(prs.slide_layouts[_LAYOUT_TITLE_ONLY])
        _place_title(slide, name if len(parts) == 1 else f"{name} ({p + 1}/{len(parts)})")
        row_h = Pt(size * 2.0)
        shape = slide.shapes.add_table(
            len(part) + 1,
            n_cols,
            Emu(_MARGIN),
            Emu(_BODY_TOP),
            Emu(box_w),
            Emu(row_h * (len(part) + 1)),
        )
        table = shape.table
        for j, w in enumerate(widths):
            table.columns[j].width = Emu(w)
        for j, h in enumerate(shown[: len(header)]):
            _set_cell(table.cell(0, j), h, size, bold=True)
        for i, (row, numbers) in enumerate(part, start=1):
            for j, (text, right) in enumerate(zip(row, numbers, strict=True)):
                _set_cell(table.cell(i, j), text, size, right=right)
        _footer(slide, st)


def _set_cell(cell: Any, text: str, size: int, *, bold: bool = False, right: bool = False) -> None:
    cell.text = text
    para = cell.text_frame.paragraphs[0]
    para.font.size = Pt(size)
    para.font.bold = bold
    if right:
        para.alignment = PP_ALIGN.RIGHT


def to_pptx(
    path: str | os.PathLike[str],
    charts: Mapping[str, alt.TopLevelMixin],
    tables: Mapping[str, pd.DataFrame],
    stamp: Stamp,
    *,
    title: str = "compmodel scenarios",
) -> Path:
    """Write charts and tables to a 16:9 slide deck, stamped on every slide.

    Parameters
    ----------
    path
        Target ``.pptx`` file.
    charts
        Slide title -> altair chart, one slide each, drawn as a PNG (with the stamp's
        footer line) fitted to the slide.
    tables
        Slide title -> table, as native slide tables with numbers formatted by the
        rules of the module docstring; an index that carries information becomes the
        first columns. Tables longer than :data:`ROWS_PER_SLIDE` rows continue on
        further slides (``"name (2/3)"``), the header repeated.
    stamp
        From :func:`stamp`. The title slide lists its lines (assumptions in up to four
        columns; the slide's notes hold every line); every slide has its footer line.
    title
        The deck's title, on the title slide and in the file's properties.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Notes
    -----
    Slides: the title slide, then the charts, then the tables, each in the order
    given. The file is written atomically.
    """
    target = _target(path, (".pptx",), "Slide decks are written as .pptx.")
    figures = _check_charts(charts)
    frames = _check_tables(tables)
    st = _check_stamp(stamp)
    if not isinstance(title, str):
        raise ScenarioError("title", f"must be text, got {title!r}")
    images = {name: _render(_stamped(c, st), "png") for name, c in figures.items()}

    prs = Presentation()
    prs.slide_width, prs.slide_height = _SLIDE_W, _SLIDE_H
    prs.core_properties.title = title
    prs.core_properties.subject = st.footer()
    prs.core_properties.keywords = st.content_hash
    prs.core_properties.author = f"compmodel {st.version}"
    _title_slide(prs, title, st)
    for name, png in images.items():
        _chart_slide(prs, name, png, st)
    for name, frame in frames.items():
        _table_slides(prs, name, _flat(frame), st)
    with _atomic_write(target) as fh:
        prs.save(fh)
    return target
