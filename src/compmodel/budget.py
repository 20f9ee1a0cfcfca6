"""Pay distributions: the commission budget of a plan, exactly and by simulation.

Given a scenario's plans and its metric forecast (no behaviour model needed), compute
per component and per person the expected payout, its variance and the covariances
between components, and per department the distribution of the compensation bill.

How a person's metrics are formed
---------------------------------
For person *i* of a department, each metric the plan uses is a latent Gaussian (see
:mod:`compmodel.moments`) with

* company- and department-scope metrics: the forecast ``mean`` and common ``sd``
  (shared by everyone, correlated as the forecast says);
* individual-scope metrics on the normal scale:
  ``k_i * (ability_i * mean + common noise + individual noise)``, where
  ``k_i = quota_i / quota`` for the department's quota metric (1 otherwise) and the
  individual noise (sd ``individual_sd``) is independent across people. A person's
  thresholds, targets, caps and tier bounds on the quota metric scale by ``k_i`` too,
  so the plan is the same in attainment terms for everyone;
* individual-scope shares (logit scale): the forecast plus individual noise.

A person's payout (currency per period) is
``modifier(Z) * sum_c gate_c(G_c) * payout_c(X_c)``.

Exact moments
-------------
``E[payout_c]`` and ``E[payout_c * payout_d]`` are expectations of products of piecewise
polynomials of at most a few jointly Gaussian variables: closed form for one Gaussian
metric, composite Gauss-Legendre for shares, nested quadrature with an error bound for
gates and modifiers (:func:`compmodel.moments.expect_product`). The largest bound is
reported in the diagnostics.

Monte Carlo
-----------
Draws the common metric noise, then each person's individual noise, in a fixed order
from ``numpy.random.default_rng(seed)``: the same seed gives the same numbers. Gives
the bill's P10/P50/P90, and a check that the simulated means agree with the exact ones
(``diagnostics.max_abs_z``: the largest gap in standard errors).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import special

from ._pickling import PicklesProxies
from .errors import ScenarioError, given
from .pay import PayMoments, PersonPlan, PlanMoments, forecast_of, person_plan, plan_moments
from .plans import PayoutCurve
from .scenario import Department, Scenario

__all__ = [
    "MAX_DRAW_MEMORY",
    "BudgetDiagnostics",
    "CommissionBudget",
    "check_draws",
    "commission_budget",
    "draw_memory",
]

#: The most memory (bytes) the Monte Carlo draws of one budget or simulation may take;
#: :func:`check_draws` refuses ``n_draws`` whose estimate is above it. Raise it (e.g.
#: ``compmodel.budget.MAX_DRAW_MEMORY = 16 * 10**9``) on a machine with more memory.
MAX_DRAW_MEMORY = 2 * 10**9


def _bytes(n: float) -> str:
    """``n`` bytes in a reader's units (1.2 GB)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} bytes"


def draw_memory(scenario: Scenario, n_draws: int, *, extra_series: int = 0) -> int:
    """Estimated peak memory (bytes) of ``n_draws`` Monte Carlo draws of ``scenario``.

    The draws are float64 series of ``n_draws`` values held at once: the common noise of
    every metric (and its product with the correlation factor), each department's bill
    and the company total, and while a department is drawn its components' sums, the
    metrics its plan reads (each person's values and the ones everyone shares), the
    components' shapes and a few temporaries. People are drawn one after another, so
    the headcount adds time, not memory.

    Parameters
    ----------
    scenario
        The scenario whose plans are drawn.
    n_draws
        Monte Carlo draws.
    extra_series
        Further series of ``n_draws`` values the caller keeps (a simulation's bill,
        incentive and profit).
    """
    n_metrics = len(scenario.metrics)
    widest = 0
    for dept in scenario.departments.values():
        comps = dept.plan.components.values()
        used = {c.metric for c in comps} | {c.gate.metric for c in comps if c.gate is not None}
        if dept.plan.modifier is not None:
            used.add(dept.plan.modifier.metric)
        widest = max(widest, 2 * len(dept.plan.components) + 2 * len(used))
    series = 2 * n_metrics + len(scenario.departments) + 2 + widest + 8 + extra_series
    return 8 * int(n_draws) * series


def check_draws(
    n_draws: object, seed: object, scenario: Scenario | None = None, *, extra_series: int = 0
) -> None:
    """Refuse a draw count or seed the Monte Carlo cannot use, before anything is drawn.

    ``n_draws`` is a whole number >= 100 whose draws fit in :data:`MAX_DRAW_MEMORY`
    (estimated by :func:`draw_memory` when ``scenario`` is given); ``seed`` a whole
    number >= 0 (what ``numpy.random.default_rng`` takes).

    Raises
    ------
    ScenarioError
        Located at ``n_draws`` or ``seed``, with what is allowed and what to try.
    """
    if isinstance(n_draws, (bool, np.bool_)) or not isinstance(n_draws, (int, np.integer)):
        raise ScenarioError(
            "n_draws",
            f"must be a whole number >= 100, got {given(n_draws)}; e.g. n_draws=20_000",
        )
    if n_draws < 100:
        raise ScenarioError(
            "n_draws", f"is {n_draws!r}; allowed: a whole number >= 100, e.g. 20_000"
        )
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ScenarioError(
            "seed",
            f"must be a whole number >= 0, got {given(seed)}; the same seed gives the "
            "same draws, e.g. seed=0",
        )
    if seed < 0:
        raise ScenarioError(
            "seed", f"is {seed!r}; allowed: a whole number >= 0 (e.g. seed=0 or seed=42)"
        )
    if scenario is None:
        return
    need = draw_memory(scenario, int(n_draws), extra_series=extra_series)
    if need > MAX_DRAW_MEMORY:
        per_draw = max(need // int(n_draws), 1)
        fits = MAX_DRAW_MEMORY // per_draw
        raise ScenarioError(
            "n_draws",
            f"is {int(n_draws):,}: the draws would need about {_bytes(need)} of memory, "
            f"above the limit of {_bytes(MAX_DRAW_MEMORY)}. Use fewer draws: at most about "
            f"{fits:,} fit, and 20,000 (the default) already puts the simulated mean within "
            "about 1% of a standard deviation. On a machine with more memory, raise "
            "compmodel.budget.MAX_DRAW_MEMORY.",
        )


# --------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetDiagnostics(PicklesProxies):
    """How the budget was computed.

    Attributes
    ----------
    max_error_bound
        Largest stated absolute error bound of any exact expectation (currency or
        currency squared).
    methods
        Integration methods used (closed form, quadrature, quasi-Monte Carlo).
    n_draws, seed
        Monte Carlo draws and seed.
    max_abs_z
        Largest ``|simulated mean - exact mean| / standard error`` over departments and
        components; values above 4 would point to a defect.
    """

    max_error_bound: float
    methods: tuple[str, ...]
    n_draws: int
    seed: int
    max_abs_z: float


@dataclass(frozen=True)
class CommissionBudget(PicklesProxies):
    """The commission budget of a scenario.

    Money is in ``currency`` per ``period``. Frames:

    ``departments``
        Per department: headcount, base pay total, target incentive (at-target payout)
        total, OTE total, exact expected payout, simulated mean and its standard error,
        standard deviation and P10/P50/P90 of the bill, and the most the plan could owe
        (``max_exposure``, ``inf`` when a component is uncapped).
    ``components``
        Per department and component: at-target and expected payout (totals), exact
        standard deviation per representative person, simulated mean.
    ``people``
        Per person (or per representative person with ``count`` people): base, quota,
        ability, target payout, OTE, expected payout and its standard deviation, the
        risk premium (expected payout less its certainty equivalent under
        ``settings.certainty_equivalent``, at the forecast's means), the simulated mean
        payout, and, where the department has a quota metric, the
        simulated mean attainment (result / quota) and the probability of reaching quota
        (``share_at_or_above_quota``: over people and draws).
    ``covariances``
        Per department, the component covariance matrix of the representative person
        (the first person of a roster), currency squared.
    """

    scenario: str
    currency: str
    period: str
    departments: pd.DataFrame
    components: pd.DataFrame
    people: pd.DataFrame
    covariances: Mapping[str, pd.DataFrame]
    draws: Mapping[str, np.ndarray] = field(repr=False)
    diagnostics: BudgetDiagnostics

    def to_frame(self) -> pd.DataFrame:
        """Departments with a company total row."""
        d = self.departments.copy()
        total = d.drop(columns=["department"]).sum(numeric_only=True)
        total_bill = self.draws["total"]
        q = np.quantile(total_bill, [0.1, 0.5, 0.9])
        total["sd"] = float(np.std(total_bill, ddof=1))
        total["p10"], total["p50"], total["p90"] = q
        total["mc_se"] = float(np.std(total_bill, ddof=1) / math.sqrt(total_bill.size))
        total["pay_mix"] = (
            total["base_total"] / total["ote_total"] if total["ote_total"] > 0 else math.nan
        )
        row = pd.DataFrame([{"department": "total", **total.to_dict()}])
        return pd.concat([d, row], ignore_index=True)


def _people_of(dept: Department) -> list[tuple[str, float, float | None, float, int]]:
    if dept.roster is not None:
        return [(p.person, p.base, p.quota, p.ability, 1) for p in dept.roster.people]
    return [("(each)", dept.base_pay, dept.quota, 1.0, dept.headcount)]


def _risk_premium(scenario: Scenario, dept: Department, pp: PersonPlan, mom: PlanMoments) -> float:
    """A person's risk premium (currency per period): expected incentive pay less its
    certainty equivalent under ``settings.certainty_equivalent``, at the forecast's
    means."""
    r = dept.risk_aversion
    if r <= 0.0 or not pp.components:
        return 0.0
    e = float(mom.expected.sum())
    if scenario.settings.certainty_equivalent == "mean_variance":
        return 0.5 * r * float(max(mom.cov.sum(), 0.0))
    return e - PayMoments.of(pp).certainty(pp.mean, r, "cara")


def _psd_factor(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    return np.asarray(vecs * np.sqrt(np.clip(vals, 0.0, None)))


def commission_budget(
    scenario: Scenario, *, n_draws: int = 20_000, seed: int = 0
) -> CommissionBudget:
    """Expected payouts, variances and the distribution of the compensation bill.

    Parameters
    ----------
    scenario
        A scenario with plans and a ``forecast`` of the metrics they pay on.
    n_draws
        Monte Carlo draws for the bill's distribution (>= 100).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same numbers.

    Returns
    -------
    CommissionBudget

    Raises
    ------
    ScenarioError
        If the scenario has no forecast, ``n_draws`` is out of range or its draws would
        not fit in :data:`MAX_DRAW_MEMORY`, or ``seed`` is not a whole number >= 0.
    """
    check_draws(n_draws, seed, scenario)
    fc = forecast_of(scenario)
    for dn, dept in scenario.departments.items():
        used = [c.metric for c in dept.plan.components.values()]
        used += [c.gate.metric for c in dept.plan.components.values() if c.gate is not None]
        if dept.plan.modifier is not None:
            used.append(dept.plan.modifier.metric)
        for m in used:
            if fc.metrics[m].mean is None:
                raise ScenarioError(
                    f"forecast.{m}.mean",
                    f"is missing, and {dn}'s plan pays on {m!r}: a commission budget needs "
                    "each metric's expected value. Give it, or, under a company model, "
                    "use compmodel.simulate(scenario) for the budget at the equilibrium.",
                )
    rng = np.random.default_rng(seed)
    # ---- common noise, one draw set for the whole company
    all_metrics = list(fc.metrics)
    sds = np.array([fc.metrics[m].sd for m in all_metrics])
    common_cov = fc.correlation_matrix(all_metrics) * np.outer(sds, sds)
    common = rng.standard_normal((n_draws, len(all_metrics))) @ _psd_factor(common_cov).T
    col = {m: i for i, m in enumerate(all_metrics)}

    dept_rows, comp_rows, people_rows = [], [], []
    covs: dict[str, pd.DataFrame] = {}
    draws: dict[str, np.ndarray] = {}
    max_err = 0.0
    methods: set[str] = set()
    zs: list[float] = []
    total_bill = np.zeros(n_draws)
    for dn, dept in scenario.departments.items():
        people = _people_of(dept)
        comp_names = list(dept.plan.components)
        nc = len(comp_names)
        bill = np.zeros(n_draws)
        comp_mc = np.zeros((nc, n_draws))
        comp_exp = np.zeros(nc)
        comp_var_rep = np.zeros(nc)
        comp_at_target = np.zeros(nc)
        expected_total = 0.0
        cache: dict[tuple[float, float | None, float], tuple[PersonPlan, PlanMoments]] = {}
        premiums: dict[tuple[float, float | None, float], float] = {}
        # what every person of the department draws alike: a metric without personal
        # noise or scaling, and a payout curve's shape on it (a person's curve pays their
        # own target payout times that shape)
        shared: dict[tuple[str, str, float], np.ndarray] = {}
        max_exposure = 0.0
        for pi, (name, base, quota, ability, count) in enumerate(people):
            key = (base, quota, ability)
            if key not in cache:
                pp = person_plan(scenario, dept, base, quota, ability)
                cache[key] = (pp, plan_moments(pp))
                premiums[key] = _risk_premium(scenario, dept, pp, cache[key][1])
            pp, mom = cache[key]
            max_err = max(max_err, mom.error)
            methods |= mom.methods
            tp = dept.target_incentive * base
            k_quota = quota / dept.quota if quota is not None and dept.quota is not None else 1.0
            at_target = np.array(
                [
                    c.at_target(tp, k_quota if c.metric == dept.quota_metric else 1.0)
                    for c in dept.plan.components.values()
                ]
            )
            mod_max = (
                dept.plan.modifier.curve.max_payout() if dept.plan.modifier is not None else 1.0
            )
            person_max = mod_max * float(
                sum(c.max_payout(tp) for c in dept.plan.components.values())
            )
            max_exposure += count * person_max
            e_person = float(mom.expected.sum())
            sd_person = float(math.sqrt(max(mom.cov.sum(), 0.0)))
            expected_total += count * e_person
            comp_exp += count * mom.expected
            comp_at_target += count * at_target
            if pi == 0:
                comp_var_rep = np.diag(mom.cov).copy()
                covs[dn] = pd.DataFrame(mom.cov, index=comp_names, columns=comp_names)
            people_rows.append(
                {
                    "department": dn,
                    "person": name,
                    "count": count,
                    "base": base,
                    "quota": quota if quota is not None else math.nan,
                    "ability": ability,
                    "target_payout": float(at_target.sum()),
                    "ote": base + float(at_target.sum()),
                    "expected_payout": e_person,
                    "sd_payout": sd_person,
                    "risk_premium": premiums[key],
                    "max_payout": person_max,
                }
            )
            # ---- simulate each of the `count` people (independent individual noise)
            q_person = quota if quota is not None else dept.quota
            track = dept.quota_metric in pp.metrics and q_person is not None and q_person > 0
            att_sum, reach_sum, pay_sum = 0.0, 0.0, 0.0
            # without individual noise the `count` people draw the same pay: simulate
            # one and weigh it (no random numbers are skipped: none would be drawn)
            alone = any(
                scenario.metrics[m].scope == "individual" and fc.metrics[m].individual_sd > 0
                for m in pp.metrics
            )
            reps, weight = (count, 1) if alone else (min(count, 1), count)
            for _ in range(reps):
                person_pay = np.zeros(n_draws)
                x = np.empty((len(pp.metrics), n_draws))
                for v, m in enumerate(pp.metrics):
                    met = scenario.metrics[m]
                    f = fc.metrics[m]
                    if met.scope != "individual":
                        drawn = ("metric", m, float(pp.mean[v]))
                        if drawn not in shared:
                            lat = pp.mean[v] + common[:, col[m]]
                            shared[drawn] = special.expit(lat) if pp.logit[v] else lat
                        x[v] = shared[drawn]
                        continue
                    dev = common[:, col[m]]
                    if met.scope == "individual" and f.individual_sd > 0:
                        dev = dev + f.individual_sd * rng.standard_normal(n_draws)
                    sc = 1.0
                    if (
                        met.scope == "individual"
                        and met.scale == "normal"
                        and m == dept.quota_metric
                        and quota is not None
                        and dept.quota is not None
                    ):
                        sc = quota / dept.quota
                    lat = pp.mean[v] + sc * dev
                    x[v] = special.expit(lat) if pp.logit[v] else lat
                factor = None if pp.modifier is None else pp.modifier[1](x[pp.modifier[0]])
                for c, (cn, var, poly, gate) in enumerate(pp.components):
                    comp = dept.plan.components[cn]
                    m = pp.metrics[var]
                    if (
                        len(people) > 1
                        and isinstance(comp.payout, PayoutCurve)
                        and scenario.metrics[m].scope != "individual"
                    ):
                        shape = ("shape", cn, float(pp.mean[var]))
                        if shape not in shared:
                            shared[shape] = comp.payout.to_poly()(x[var])
                        pay = (float(comp.weight or 0.0) * tp) * shared[shape]
                    else:
                        pay = poly(x[var])
                    if factor is not None:
                        pay = pay * factor
                    if gate is not None:
                        pay = pay * gate[1](x[gate[0]])
                    comp_mc[c] += weight * pay
                    person_pay += pay
                bill += weight * person_pay
                pay_sum += weight * float(person_pay.mean())
                if track and q_person is not None:
                    att = x[pp.metrics.index(str(dept.quota_metric))] / q_person
                    better = scenario.metrics[str(dept.quota_metric)].direction == "higher"
                    att_sum += weight * float(att.mean())
                    reach_sum += weight * float(np.mean(att >= 1.0 if better else att <= 1.0))
            row = people_rows[-1]
            row["mc_payout"] = pay_sum / count if count else math.nan
            row["attainment_mean"] = att_sum / count if track and count else math.nan
            row["share_at_or_above_quota"] = reach_sum / count if track and count else math.nan
        se = float(np.std(bill, ddof=1) / math.sqrt(n_draws))
        mc_mean = float(bill.mean())
        if se > 0:
            zs.append(abs(mc_mean - expected_total) / se)
        q = np.quantile(bill, [0.1, 0.5, 0.9])
        headcount = dept.headcount
        base_total = float(sum(p[1] * p[4] for p in people))
        target_total = float(comp_at_target.sum())
        dept_rows.append(
            {
                "department": dn,
                "headcount": headcount,
                "base_total": base_total,
                "target_total": target_total,
                "ote_total": base_total + target_total,
                "pay_mix": base_total / (base_total + target_total)
                if base_total + target_total > 0
                else math.nan,
                "expected": expected_total,
                "mc_mean": mc_mean,
                "mc_se": se,
                "sd": float(np.std(bill, ddof=1)),
                "p10": float(q[0]),
                "p50": float(q[1]),
                "p90": float(q[2]),
                "max_exposure": max_exposure,
            }
        )
        for c, cn in enumerate(comp_names):
            comp = dept.plan.components[cn]
            cse = float(np.std(comp_mc[c], ddof=1) / math.sqrt(n_draws))
            cm = float(comp_mc[c].mean())
            if cse > 0:
                zs.append(abs(cm - comp_exp[c]) / cse)
            comp_rows.append(
                {
                    "department": dn,
                    "component": cn,
                    "metric": comp.metric,
                    "kind": comp.kind,
                    "weight": comp.weight if comp.weight is not None else math.nan,
                    "at_target": float(comp_at_target[c]),
                    "expected": float(comp_exp[c]),
                    "sd_per_person": float(math.sqrt(comp_var_rep[c])),
                    "mc_mean": cm,
                    "mc_se": cse,
                }
            )
        draws[dn] = bill
        total_bill += bill
    draws["total"] = total_bill
    return CommissionBudget(
        scenario=scenario.name,
        currency=scenario.currency,
        period=scenario.period,
        departments=pd.DataFrame(dept_rows),
        components=pd.DataFrame(comp_rows),
        people=pd.DataFrame(people_rows),
        covariances=MappingProxyType(covs),
        draws=MappingProxyType(draws),
        diagnostics=BudgetDiagnostics(
            max_error_bound=max_err,
            methods=tuple(sorted(methods)),
            n_draws=int(n_draws),
            seed=int(seed),
            max_abs_z=float(max(zs)) if zs else 0.0,
        ),
    )
