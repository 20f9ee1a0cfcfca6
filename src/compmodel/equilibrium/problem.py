"""The department problem: what each department's representative person maximises.

Notation (per person, currency per period): for department ``d`` with levers ``t_d``,
headcount ``N_d`` and risk aversion ``r_d`` (per currency unit), incentive pay ``w_d``
has mean ``E_d`` and variance ``V_d`` (:class:`compmodel.pay.PayMoments`), given the
metrics' latent means from the company model and the noise of ``[forecast]``. The
certainty equivalent is ``CE_d = base_d - (1/r_d) log E[exp(-r_d w_d)] - cost_d(t_d)``
(exact CARA, :mod:`compmodel.cara`; ``settings.certainty_equivalent = "mean_variance"``
takes ``E_d - (r_d/2) V_d`` in its place, which is the same for pay linear in normal
noise); the risk premium is ``RP_d = E_d - (CE_d - base_d + cost_d)``. A person
perceives a shared metric's mean move by their line of sight times the department's
effect, and an individual-scope metric the model splits as its own part plus line of
sight times its company-wide part (:mod:`compmodel.equilibrium.line_of_sight`).

Total surplus ``TS = gross value - sum_d N_d (cost_d + RP_d)``; without risk
(a fixed wage bears none) it is gross value less effort costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ScenarioError
from ..models import Capabilities, CompanyModel, LeverSpace, build_model, capabilities
from ..pay import CertaintyEquivalent, PayMoments, PersonPlan, person_plan
from ..scenario import Scenario
from .line_of_sight import plan_line_of_sight, plan_own_split

__all__ = ["DepartmentProblem", "Problem", "build_problem"]


@dataclass(frozen=True)
class DepartmentProblem:
    """One department's problem, as the solver sees it.

    Attributes
    ----------
    name
        The department.
    plan, moments
        Its representative person's plan and pay moments (``None``: no incentive plan).
    model_index
        Per plan variable, its position in the model's metrics (-1: a metric the model
        does not set, at its forecast mean).
    line_of_sight
        Per plan variable, the share of the department's effect a person perceives (on
        a split variable, of its company-wide part).
    levers
        Its levers' positions in the lever vector.
    risk_aversion
        Per currency unit.
    headcount
        People in the department.
    concave
        Pay concave in every metric (one starting point suffices for a best response).
    rule
        How a person values uncertain pay (``settings.certainty_equivalent``).
    own_split
        Per plan variable, whether a person perceives it through the model's split into
        their own part and a company-wide part (empty: no variable is split).
    """

    name: str
    plan: PersonPlan | None
    model_index: np.ndarray
    line_of_sight: np.ndarray
    levers: np.ndarray
    risk_aversion: float
    headcount: int
    concave: bool = True
    moments: PayMoments | None = None
    rule: CertaintyEquivalent = "cara"
    own_split: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))

    @property
    def splits(self) -> bool:
        """Whether any plan variable is perceived through the model's split."""
        return bool(self.own_split.any())


@dataclass
class Problem:
    """A scenario's departments, its company model and its lever space.

    Evaluations of total surplus are remembered for the last few points (a solve asks
    for its equilibrium's several times); nothing else is kept between calls.
    """

    scenario: Scenario
    model: CompanyModel
    caps: Capabilities
    space: LeverSpace
    depts: tuple[DepartmentProblem, ...]

    def __post_init__(self) -> None:
        self._surplus: dict[tuple[bytes, bool], float] = {}

    def plan_means(self, d: DepartmentProblem, mu: np.ndarray) -> np.ndarray:
        """The latent means of ``d``'s plan variables when the model's are ``mu``."""
        if d.plan is None:
            return np.empty(0)
        out = d.plan.mean.copy()
        mask = d.model_index >= 0
        out[mask] = mu[d.model_index[mask]]
        return out

    def pay(self, d: DepartmentProblem, plan_means: np.ndarray) -> tuple[float, float]:
        """Mean and variance of a person's incentive pay at these plan means."""
        if d.plan is None or d.moments is None:
            return 0.0, 0.0
        return d.moments(plan_means)

    def certainty(self, d: DepartmentProblem, plan_means: np.ndarray) -> float:
        """What a person's incentive pay is worth to them at these plan means (currency
        per period): its certainty equivalent under ``d.rule``."""
        if d.plan is None or d.moments is None:
            return 0.0
        return d.moments.certainty(plan_means, d.risk_aversion, d.rule)

    def risk_premium(
        self, d: DepartmentProblem, plan_means: np.ndarray
    ) -> tuple[float, float, float]:
        """Mean, variance and risk premium (mean less certainty equivalent) of a person's
        incentive pay at these plan means (currency per period)."""
        if d.plan is None or d.moments is None:
            return 0.0, 0.0, 0.0
        e, v = d.moments(plan_means)
        if d.risk_aversion <= 0.0:
            return e, v, 0.0
        return e, v, e - d.moments.certainty(plan_means, d.risk_aversion, d.rule)

    def perceived(
        self, d: DepartmentProblem, t: np.ndarray, x: np.ndarray, mu0: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Levers with ``x`` for ``d``, and the plan means a person of ``d`` perceives
        (the move from ``mu0``, the means at ``t``, scaled by their line of sight; on a
        split variable the move from the person's own part, :meth:`own_means`)."""
        t2 = t.copy()
        t2[d.levers] = x
        base_means = self.plan_means(d, mu0)
        moved = self.plan_means(d, self.model.means(t2))
        if d.splits:
            own = self.plan_means(d, self.own_means(t2, t, d.levers[:0])[0])
            base_means = np.where(d.own_split, own, base_means)
        return t2, base_means + d.line_of_sight * (moved - base_means)

    def own_means(
        self, t: np.ndarray, t0: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The model's metrics at ``t`` with every company-wide aggregate frozen at
        ``t0``, and their derivatives in the levers ``columns`` (the model's
        ``own_means_jacobian``; only asked where a department's plan splits)."""
        own = self.caps.own_means_jacobian
        assert own is not None  # own_split is set only where the model splits
        return own(t, t0, columns)

    def means_jacobian(self, t: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metric means at ``t`` and their derivatives in the levers ``columns``: the
        model's own where it offers them (the ``manufacturer`` model's are exact), else
        central differences (step ``1e-6 max(1, |t_j|)``)."""
        fast = self.caps.means_jacobian
        if fast is not None:
            return fast(t, columns)
        jac = np.empty((len(self.model.metrics), columns.size))
        for j, pos in enumerate(columns):
            h = 1e-6 * max(1.0, abs(float(t[pos])))
            up, dn = t.copy(), t.copy()
            up[pos] += h
            dn[pos] -= h
            jac[:, j] = (self.model.means(up) - self.model.means(dn)) / (2.0 * h)
        return self.model.means(t), jac

    def total_surplus(self, t: np.ndarray, risk: bool = True) -> float:
        """Gross value less everyone's effort cost and (``risk``) risk premia at ``t``."""
        key = (t.tobytes(), risk)
        if key in self._surplus:
            return self._surplus[key]
        ts = self.model.gross_value(t) - self.space.total_effort_cost(t)
        if risk:
            mu = self.model.means(t)
            for d in self.depts:
                if d.plan is not None and d.risk_aversion > 0:
                    ts -= d.headcount * self.risk_premium(d, self.plan_means(d, mu))[2]
        if len(self._surplus) >= 8:
            self._surplus.pop(next(iter(self._surplus)))
        self._surplus[key] = float(ts)
        return float(ts)

    @property
    def smooth(self) -> bool:
        """Whether every department's perceived CE has an analytic gradient."""
        return all(
            d.plan is None or (d.moments is not None and d.moments.has_gradient)
            for d in self.depts
            if d.levers.size
        )


def _department(
    scenario: Scenario, model: CompanyModel, space: LeverSpace, name: str, mpos: Mapping[str, int]
) -> DepartmentProblem:
    dept = scenario.departments[name]
    levers = space.index(name)
    if not dept.plan.components:
        empty = np.empty(0)
        return DepartmentProblem(name, None, np.empty(0, int), empty, levers,
                                 dept.risk_aversion, dept.headcount)  # fmt: skip
    assert scenario.forecast is not None  # build_problem checks it
    pp = person_plan(scenario, dept, dept.base_pay, dept.quota, 1.0)
    idx = []
    for m in pp.metrics:
        if m not in mpos and scenario.forecast.metrics[m].mean is None:
            raise ScenarioError(
                f"forecast.{m}.mean",
                f"metric {m!r} is paid on by {name} but the company model does not "
                "set its mean; give forecast.mean or model it",
            )
        idx.append(mpos.get(m, -1))
    moments = PayMoments.of(pp)
    return DepartmentProblem(
        name,
        pp,
        np.asarray(idx, int),
        plan_line_of_sight(scenario, model, name, pp.metrics),
        levers,
        dept.risk_aversion,
        dept.headcount,
        moments.concave,
        moments,
        scenario.settings.certainty_equivalent,
        plan_own_split(scenario, model, pp.metrics),
    )


def build_problem(scenario: Scenario) -> Problem:
    """Each department's problem under the scenario's plans and company model.

    Raises
    ------
    ScenarioError
        If the scenario has no company model or no forecast noise, or a plan pays on a
        metric neither the model nor the forecast gives a mean for.
    """
    model = build_model(scenario)
    if scenario.forecast is None:
        raise ScenarioError(
            "forecast",
            "behaviour needs the noise of each metric a plan pays on: add "
            "[forecast.<metric>] tables with sd (the mean comes from the company model)",
        )
    mpos = {m: i for i, m in enumerate(model.metrics)}
    depts = tuple(
        _department(scenario, model, model.levers, name, mpos) for name in scenario.departments
    )
    return Problem(scenario, model, capabilities(model), model.levers, depts)
