"""Write the figures of docs/reference-company.md's "The story in numbers" from the model.

Run: ``.venv/bin/python scripts/reference_story.py`` rewrites every generated block of
the document (between ``<!-- story:NAME -->`` and ``<!-- /story:NAME -->``) from fresh
solves (about 20 s); ``--check`` writes nothing and exits 1 with a diff if any block
differs (tests/test_reference_company.py runs it, so CI fails on a stale document).
Prose that quotes a figure is generated with it, so a paragraph's claim and its numbers
cannot drift apart; words that depend on a sign ("rises", "falls") are chosen from it.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import compmodel as cm
from compmodel.dynamics import pnl
from compmodel.profit import _with_unchecked

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference-company.md"
README = ROOT / "README.md"
SAMPLES = ROOT / "data" / "samples"
FILES = {
    "today": "acme_today",
    "aligned": "acme_aligned",
    "OTIF gate": "acme_otif_gate",
    "margin on delivery": "acme_margin_on_delivery",
}


def load(name: str) -> cm.Scenario:
    return cm.load_scenario(SAMPLES / f"{name}.toml")


def usd(x: float) -> str:
    return f"{0.0 if abs(x) < 0.5 else x:,.0f}".replace("-", "−")


def signed(x: float) -> str:
    return ("+" if x >= 0 or abs(x) < 0.5 else "−") + f"{abs(x):,.0f}"


def mn(x: float, digits: int = 2) -> str:
    """USD millions in prose: ``5.69 million``, ``−0.39 million``."""
    return f"{x / 1e6:.{digits}f}".replace("-", "−") + " million"


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def rises(x: float, up: str = "rises", down: str = "falls") -> str:
    return up if x > 0 else down


def table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def without_bridges(s: cm.Scenario) -> cm.Scenario:
    return dataclasses.replace(
        s, bridges={k: 0.0 for k in s.bridges}, name=f"{s.name} (no bridges)"
    )


def with_bridges_of(s: cm.Scenario, other: cm.Scenario) -> cm.Scenario:
    return dataclasses.replace(s, bridges=dict(other.bridges), name=f"{s.name} + bridges")


# ---- the blocks ---------------------------------------------------------------------
def _staff_retention(dept: str) -> Callable[[cm.Solution], str]:
    return lambda s: pct(s.departments[dept].retention)


def block_compare(sols: dict[str, cm.Solution], fb: cm.Solution, ni: cm.Solution) -> str:
    cols = {"no incentive": ni, **sols, "first best": fb}
    lv = lambda n: lambda s: f"{s.levers[n]:.3f}"  # noqa: E731
    met = lambda n, f: lambda s: f(s.metrics[n])  # noqa: E731
    out = lambda n, f: lambda s: f(s.outcomes[n])  # noqa: E731
    rows: list[tuple[str, Callable[[cm.Solution], str]]] = [
        ("sales prospecting (index)", lv("sales.prospecting")),
        ("sales over-promising (share of quotes)", lv("sales.overpromise")),
        ("sales collaboration (share of time)", lv("sales.collaboration")),
        ("infeasible orders (share)", out("infeasible_share", lambda v: f"{v:.3f}")),
        ("plant load", out("load", lambda v: f"{v:.3f}")),
        ("OTIF", met("otif", pct)),
        ("defect rate", met("defect_rate", pct)),
        ("response time (hours)", met("response_time", lambda v: f"{v:.1f}")),
        ("customer retention", met("customer_retention", pct)),
        ("customer base (USD a year)", out("customer_base", usd)),
        ("revenue (USD a year)", met("revenue", usd)),
        *[
            (f"staff retention: {d.replace('_', ' ')}", _staff_retention(d))
            for d in ("sales", "production", "shipping", "customer_service")
        ],
        ("compensation bill", lambda s: usd(s.compensation_bill)),
        ("operating profit", lambda s: usd(s.operating_profit)),
        ("alignment efficiency", lambda s: "—" if s.alignment_efficiency is None else f"{s.alignment_efficiency:.3f}".replace("-", "−")),
    ]  # fmt: skip
    return table(
        ["steady state", *cols], [[name, *(f(s) for s in cols.values())] for name, f in rows]
    )


def block_readme(sols: dict[str, cm.Solution], path: cm.ProfitPath, shap: dict[str, float]) -> str:
    a, b = sols["today"], sols["aligned"]
    eff = lambda s: f"{s.alignment_efficiency:.3f}".replace("-", "−")  # noqa: E731
    rows = [
        ["sales over-promising (share of quotes)", f"{a.levers['sales.overpromise']:.3f}", f"{b.levers['sales.overpromise']:.3f}"],
        ["OTIF", pct(a.metrics["otif"]), pct(b.metrics["otif"])],
        ["customer retention", pct(a.metrics["customer_retention"]), pct(b.metrics["customer_retention"])],
        ["staff retention: production", pct(a.departments["production"].retention), pct(b.departments["production"].retention)],
        ["revenue (USD/yr)", usd(a.metrics["revenue"]), usd(b.metrics["revenue"])],
        ["operating profit (USD/yr, steady state, net of all pay)", usd(a.operating_profit), usd(b.operating_profit)],
        ["alignment efficiency", eff(a), eff(b)],
    ]  # fmt: skip
    pay = "never" if path.payback_year is None else f"in year {path.payback_year}"
    return "\n".join([
        table(["", "today", "aligned"], rows),
        "",
        f"Both are steady states: the customers each plan keeps, year after year. Moving "
        f"from today to aligned, year 1 earns {mn(path.years['operating_profit'].iloc[1])} "
        f"(against {mn(a.operating_profit)}), the customer base grows, and the net present "
        f"value of the gain over {path.horizon} years at {pct(path.discount_rate, 0)} is "
        f"{mn(path.npv_gain)}; it pays back {pay} (`compmodel.pnl`). Of the steady gain, "
        f"the plan change brings {signed(shap['plans'])} a year and the bridges "
        f"{signed(shap['bridges'])} (`compmodel.gain_split`, the Shapley value over the "
        f"two orders). The gain depends on the plant running near capacity: it turns "
        f"negative with a lighter load (docs/reference-company.md, \"Where it pays\").",
    ])  # fmt: skip


def block_pnl(path: cm.ProfitPath) -> str:
    y = path.years
    names = {
        "revenue": "revenue",
        "value.gross_margin": "gross margin (after concessions)",
        "value.expediting": "expediting",
        "value.rework": "rework",
        "value.staff_turnover": "staff turnover (levers)",
        "value.bridge_cost": "bridges (cash)",
        "value.overhead": "overhead",
        "base_payroll": "base pay",
        "incentive_pay": "incentive pay",
        "payroll_tax": "payroll tax on incentives",
        "pay_turnover": "turnover from pay below market",
        "operating_profit": "**operating profit**",
        "customer_base": "customers kept from the year before",
    }
    head = ["USD a year", "year 0 (today)", *[f"year {i}" for i in y.index[1:]]]
    rows = [[label, *(usd(v) for v in y[col])] for col, label in names.items()]
    rows.append(
        ["imputed, not in profit: meeting time", *(usd(v) for v in path.imputed["meeting_time"])]
    )
    return table(head, rows)


def block_pnl_prose(path: cm.ProfitPath, others: dict[str, cm.ProfitPath]) -> str:
    y = path.years["operating_profit"]
    op0 = y.iloc[0]
    gain = path.steady.operating_profit - op0
    first = y.iloc[1] - op0
    pay = "never" if path.payback_year is None else f"in year {path.payback_year}"
    lines = [
        f"Year 1 of the aligned plans earns {mn(y.iloc[1])}, {mn(abs(first))} "
        f"{'more' if first >= 0 else 'less'} than today's steady {mn(op0)}: sales over-promises "
        f"less at once, so it wins fewer quotes, while the customers better delivery keeps "
        f"arrive only in the years after. The customer base then grows from "
        f"{mn(path.years['customer_base'].iloc[1])} to {mn(path.steady.state['customer_base'])} "
        f"a year, and operating profit settles at {mn(path.steady.operating_profit)} "
        f"({signed(gain)} a year). Over {path.horizon} years at {pct(path.discount_rate, 0)} "
        f"the gain is worth {mn(path.npv_gain)} (net present value); the steady gain after "
        f"the horizon is worth {mn(path.terminal_gain)} more, reported apart because it "
        f"assumes nothing else changes for ever. The change pays back {pay}.",
        "",
        table(
            ["proposal (from today)", f"NPV of the gain, {path.horizon} years", "steady gain a year", "after the horizon", "payback year"],
            [
                [name, usd(p.npv_gain), signed(p.steady.operating_profit - p.start_solution.operating_profit),
                 usd(p.terminal_gain), "never" if p.payback_year is None else str(p.payback_year)]
                for name, p in {"aligned": path, **others}.items()
            ],
        ),
    ]  # fmt: skip
    return "\n".join(lines)


def block_walk(a: cm.Solution, b: cm.Solution) -> str:
    w = cm.profit_waterfall(a, b)
    rows = []
    for _, r in w.iterrows():
        label = (
            "today: operating profit"
            if r["step"] == "start"
            else ("aligned: operating profit" if r["step"] == "end" else str(r["driver"]))
        )
        rows.append([label, usd(r["amount"]) if r["step"] != "driver" else signed(r["amount"])])
    return table(["driver (steady state)", "USD a year"], rows)


def block_split(today: cm.Scenario, aligned: cm.Scenario) -> tuple[str, dict[str, float]]:
    op = {
        "base": cm.solve(today).operating_profit,
        "plans": cm.solve(without_bridges(aligned)).operating_profit,
        "bridges": cm.solve(with_bridges_of(today, aligned)).operating_profit,
        "both": cm.solve(aligned).operating_profit,
    }
    plans_first = (op["plans"] - op["base"], op["both"] - op["plans"])
    bridges_first = (op["both"] - op["bridges"], op["bridges"] - op["base"])
    shap = ((plans_first[0] + bridges_first[0]) / 2, (plans_first[1] + bridges_first[1]) / 2)
    text = table(
        ["order", "plan change", "bridges", "total"],
        [
            ["plans first, then bridges", signed(plans_first[0]), signed(plans_first[1]), signed(sum(plans_first))],
            ["bridges first, then plans", signed(bridges_first[0]), signed(bridges_first[1]), signed(sum(bridges_first))],
            ["**Shapley value** (the average)", signed(shap[0]), signed(shap[1]), signed(sum(shap))],
        ],
    )  # fmt: skip
    return text, {"plans": shap[0], "bridges": shap[1]}


def block_mechanism(today: cm.Scenario, aligned: cm.Scenario, sols: dict[str, cm.Solution],
                    fb: cm.Solution, ni: cm.Solution) -> str:  # fmt: skip
    k = aligned.company.coefficients["joint_call_catch"]
    at = {
        v: cm.solve(_with_unchecked(aligned, "joint_call_catch", v))
        for v in (0.0, k.value, 8 * k.value)
    }
    c = {
        name: s.levers["sales.collaboration"]
        for name, s in {"no incentive": ni, **sols, "first best": fb}.items()
    }
    rest = today.company.levers["sales"]["collaboration"].rest
    h = today.company.coefficients["honest_error_rate"].value
    ops = {v: s.operating_profit for v, s in at.items()}
    spread = max(ops.values()) - min(ops.values())
    more = c["aligned"] > c["today"]
    interior = 0.0 < c["first best"] < today.company.levers["sales"]["collaboration"].upper
    parts = [
        f"Infeasible promises come from over-promising and from honest errors: "
        f"`honest_error_rate` = {h:g} of quotes promise what production cannot deliver "
        f"because the sales person did not know (chosen and sourced before any result was "
        f"looked at). Collaboration catches both. The planner (first best) spends "
        f"{c['first best']:.3f} of sales' time on it "
        f"({'interior' if interior else 'at a bound'}; people with no incentive spend "
        f"{rest:g}). In the equilibria, sales collaborates "
        + ", ".join(
            f"{v:.3f} under {n}" for n, v in c.items() if n not in ("first best", "no incentive")
        )
        + ". ",
        (
            "Aligned pay raises collaboration above today's. "
            if more
            else "Aligned pay does **not** raise collaboration above today's: a rep sees only "
            f"(1 + λ(N − 1))/N = 1/{today.departments['sales'].headcount} of what it does to "
            "the company's OTIF and retention, while the selling time it costs is all their "
            "own; crediting sales on the margin of its own on-time orders, which a rep sees "
            "whole, is what makes them check (margin on delivery). "
        ),
        "So the joint calls' catch, which works through collaboration, "
        + (
            f"moves aligned operating profit by {mn(spread)} between `joint_call_catch` = 0 "
            f"and 8 × its value ({usd(ops[0.0])} to {usd(ops[8 * k.value])})."
            if spread > 1.0
            else "does not matter at the file's values: aligned operating profit is "
            f"{usd(ops[k.value])} with `joint_call_catch` = 0, {k.value:g} or {8 * k.value:g}. "
            "The joint calls' value comes from the orders and the customers they win "
            "(`joint_call_win`, `joint_call_retention`) and the capacity they cost."
        ),
    ]
    return "".join(parts)


def _gain(
    today: cm.Scenario, aligned: cm.Scenario, name: str, value: float
) -> tuple[float, cm.Solution, cm.Solution]:
    a = cm.solve(_with_unchecked(today, name, value))
    b = cm.solve(_with_unchecked(aligned, name, value))
    return b.operating_profit - a.operating_profit, a, b


def deciding_lines(a: cm.Solution, b: cm.Solution, n: int = 3) -> str:
    w = cm.profit_waterfall(a, b)
    d = w[w["step"] == "driver"].copy()
    d["size"] = d["amount"].abs()
    top = d.sort_values("size", ascending=False).head(n)
    return ", ".join(f"{r['driver']} {signed(r['amount'])}" for _, r in top.iterrows())


def block_conditions(today: cm.Scenario, aligned: cm.Scenario) -> str:
    m = today.company.coefficients["addressable_market"]
    markets = [65e6, 80e6, 100e6, *m.range, m.value]  # type: ignore[misc]
    rows, low = [], None
    for v in sorted(set(markets)):
        g, a, b = _gain(today, aligned, "addressable_market", v)
        rows.append([usd(v), f"{a.outcomes['load']:.2f}", f"{b.outcomes['load']:.2f}", signed(g)])
        if a.outcomes["load"] <= 0.7 and low is None:
            low = (v, g, a, b)
    load_table = table(
        ["addressable market", "load today", "load aligned", "gain a year (steady)"], rows
    )
    co = today.company.coefficients["customer_otif"]
    crow = []
    for v in (co.range[0], co.value, co.range[1]):  # type: ignore[index]
        g, _, _ = _gain(today, aligned, "customer_otif", v)
        crow.append([f"{v:g}", signed(g)])
    otif_table = table(["`customer_otif` (logit per share of OTIF)", "gain a year (steady)"], crow)
    g1, a1, b1 = _gain(today, aligned, "customer_intercept", 30.0)
    out = [
        "The gain is conditional on the plant running near its capacity. With a smaller "
        "market (and so a lighter load), one coefficient moved, both plans at their "
        "steady states:",
        "",
        load_table,
        "",
    ]
    if low is not None:
        v, g, a, b = low
        out.append(
            f"At load {a.outcomes['load']:.2f} (a market of {mn(v, 0)}) the aligned plans "
            f"{'gain' if g > 0 else 'lose'} {mn(abs(g))} a year; the lines that decide it: "
            f"{deciding_lines(a, b)}. An idle plant has no delivery problem to cure, and "
            "shared pay still costs selling effort."
        )
        out.append("")
    out += [
        "The gain also falls as customers care less about on-time delivery:",
        "",
        otif_table,
        "",
        f"With customer retention fixed at 1 (`customer_intercept` = 30: no customer ever "
        f"leaves) the gain is {signed(g1)} a year: customers pile up to the plant's limit "
        f"(load {a1.outcomes['load']:.2f} today, {b1.outcomes['load']:.2f} aligned) and the "
        f"lines that decide it are {deciding_lines(a1, b1)}. "
        + (
            "So alignment does not pay only through the customers it keeps: at a full "
            "plant it pays through fewer infeasible orders."
            if g1 > 0
            else "Without customers to keep, alignment does not pay."
        ),
    ]
    return "\n".join(out)


STUDY = Path(__file__).resolve().parents[1] / "docs" / "studies" / "where-it-pays.md"


def block_chance() -> str:
    """How likely the aligned plans pay, quoted from the committed study (too long for
    CI: ``scripts/where_it_pays_study.py`` writes it; rerun it after a model change)."""
    text = STUDY.read_text()
    commit = re.search(r"at commit (\w+)", text)
    summary = re.search(r"`compmodel\.chance_it_pays\([^`]*\)`: (.*?) \((\d+) s\)", text, re.S)
    quantiles = dict(
        re.findall(r"^\| (5th percentile|median|95th percentile) \| (.*?) \|$", text, re.M)
    )
    share = re.search(r"Share of the grid where it pays: (\d+%)", text)
    if not (commit and summary and share and len(quantiles) == 3):
        raise SystemExit(
            f"{STUDY} is not in the study's format: rerun scripts/where_it_pays_study.py"
        )
    return (
        f"**How likely it pays.** With every stated range an independent prior (the "
        f"coefficients, the effort costs, team identification, horizon and discount rate: "
        f"`compmodel.chance_it_pays(today, aligned, n=200, seed=0)`, run at commit "
        f"{commit.group(1)}, {summary.group(2)} s): {' '.join(summary.group(1).split())} "
        f"The NPV of the gain over the horizon has 5th percentile {quantiles['5th percentile']}, "
        f"median {quantiles['median']} and 95th percentile {quantiles['95th percentile']} USD. "
        f"Over the addressable market and `customer_otif`, it pays on {share.group(1)} of "
        "the grid (`docs/studies/where-it-pays.md`, with the table and its zero line)."
    )


def block_settings(today: cm.Scenario, aligned: cm.Scenario) -> str:
    """The NPV of the gain at each end of the horizon's and the discount rate's ranges."""
    st = today.settings
    h = st.horizon_provenance.range if st.horizon_provenance else (st.horizon, st.horizon)
    r = (
        st.discount_rate_provenance.range
        if st.discount_rate_provenance
        else (st.discount_rate, st.discount_rate)
    )
    at_h = [pnl(aligned, start=today, horizon=int(x)).npv_gain for x in h]
    at_r = [pnl(aligned, start=today, discount_rate=float(x)).npv_gain for x in r]
    return (
        f"The NPV of the gain stays positive at each end of both ranges: {mn(at_h[0])} over "
        f"{h[0]:.0f} years, {mn(at_h[1])} over {h[1]:.0f} (at {pct(st.discount_rate, 0)}); "
        f"{mn(at_r[0])} at {pct(r[0], 0)}, {mn(at_r[1])} at {pct(r[1], 0)} (over "
        f"{st.horizon} years). `scripts/range_robustness.py` checks the same signs."
    )


def blocks() -> dict[str, str]:
    sc = {k: load(v) for k, v in FILES.items()}
    sols = {k: cm.solve(s) for k, s in sc.items()}
    today, aligned = sc["today"], sc["aligned"]
    fb, ni = cm.first_best(today), cm.no_incentive(today)
    path = pnl(aligned, start=today)
    others = {k: pnl(sc[k], start=today) for k in ("OTIF gate", "margin on delivery")}
    split, shap = block_split(today, aligned)
    gain = sols["aligned"].operating_profit - sols["today"].operating_profit
    t, n0 = sols["today"], ni
    out = {
        "today": (
            f"**Today.** Paid on bookings, sales over-promises on "
            f"{pct(t.levers['sales.overpromise'], 0)} of quotes, against "
            f"{pct(n0.levers['sales.overpromise'], 0)} with no incentive; with honest errors "
            f"{pct(t.outcomes['infeasible_share'], 0)} of orders are infeasible. The plant "
            f"runs at load {t.outcomes['load']:.2f} (its knee is at "
            f"{today.company.coefficients['load_knee'].value:g}), OTIF is "
            f"{pct(t.metrics['otif'], 0)}, {pct(1 - t.metrics['customer_retention'], 0)} of "
            f"customers leave each year and production loses "
            f"{pct(1 - t.departments['production'].retention, 0)} of its people. Today's "
            f"plans earn {mn(t.operating_profit)} a year in their steady state, "
            f"{mn(abs(n0.operating_profit - t.operating_profit))} "
            f"{'less' if t.operating_profit < n0.operating_profit else 'more'} than paying "
            f"no incentive at all (alignment efficiency "
            f"{t.alignment_efficiency:.2f})."
        ).replace("-", "−"),
        "compare": block_compare(sols, fb, ni),
        "readme": block_readme(sols, path, shap),
        "pnl": block_pnl(path),
        "pnl-prose": block_pnl_prose(path, others),
        "walk": block_walk(sols["today"], sols["aligned"]),
        "split": split,
        "split-prose": (
            f"Of the {signed(gain)} a year, the plan change brings {signed(shap['plans'])} "
            f"and the bridges {signed(shap['bridges'])} (Shapley value: the average of "
            "both orders, so neither change is credited for coming first)."
        ),
        "mechanism": block_mechanism(today, aligned, sols, fb, ni),
        "conditions": block_conditions(today, aligned),
        "chance": block_chance(),
        "settings": block_settings(today, aligned),
    }
    return out


BLOCK = re.compile(r"(<!-- story:([\w-]+) -->\n)(.*?)(<!-- /story:\2 -->)", re.S)


def render(text: str, fresh: dict[str, str]) -> str:
    """``text`` with every generated block replaced by its fresh content."""
    return BLOCK.sub(lambda m: m.group(1) + fresh[m.group(2)] + "\n" + m.group(4), text)


def main(argv: list[str]) -> int:
    fresh = blocks()
    stale = 0
    for path in (DOC, README):
        old = path.read_text()
        names = {m.group(2) for m in BLOCK.finditer(old)}
        new = render(old, {k: v for k, v in fresh.items() if k in names})
        if new == old:
            continue
        if "--check" in argv:
            stale += 1
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), f"{path.name} (committed)",
                f"{path.name} (model)"))  # fmt: skip
            print(f"\n{path.name} is stale: run scripts/reference_story.py")
        else:
            path.write_text(new)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
