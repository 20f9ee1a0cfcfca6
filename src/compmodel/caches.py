"""What compmodel remembers between calls, in one place.

Every memo here holds values that are pure functions of their keys (a plan's pay-moment
polynomials, a model's first best, two polynomials on a common set of breaks, a
component's payout polynomial, a roster file's people): what a call returns never
depends on what was remembered, only how long it takes. Each memo is bounded (the
oldest entry goes first) and every read and write takes one lock, so threads may share
them. :func:`clear_caches` empties them all (a benchmark's cold start, a test's clean
slate, or memory back after a long session).

A warm start carries what it needs in the solution it starts from
(``Solution.diagnostics``), not here.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["Memo", "clear_caches", "sizes"]

V = TypeVar("V")

_LOCK = threading.RLock()
_ALL: dict[str, Memo[object]] = {}


class Memo(Generic[V]):
    """A bounded memo: at most ``size`` entries, the oldest evicted first.

    Parameters
    ----------
    name
        Its name in :func:`sizes`.
    size
        The most entries it keeps (a positive integer).
    """

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"a memo keeps at least one entry; got size={size}")
        self.name = name
        self.size = size
        self._data: dict[Hashable, V] = {}
        _ALL[name] = self  # type: ignore[assignment]

    def get(self, key: Hashable) -> V | None:
        """The value remembered for ``key``, or ``None``."""
        with _LOCK:
            return self._data.get(key)

    def put(self, key: Hashable, value: V) -> V:
        """Remember ``value`` for ``key`` (evicting the oldest entry when full)."""
        with _LOCK:
            if key not in self._data and len(self._data) >= self.size:
                self._data.pop(next(iter(self._data)))
            self._data[key] = value
        return value

    def clear(self) -> None:
        with _LOCK:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data


def clear_caches() -> None:
    """Forget everything compmodel remembers between calls (results do not change)."""
    with _LOCK:
        for memo in _ALL.values():
            memo.clear()


def sizes() -> dict[str, int]:
    """How many entries each memo holds, by name."""
    with _LOCK:
        return {name: len(memo) for name, memo in _ALL.items()}


#: Pay moments of a person's plan by the plan's content, means aside
#: (:meth:`compmodel.pay.PayMoments.of`): a sweep over one department's plan rebuilds
#: only that department's polynomials.
PAY_MOMENTS: Memo[object] = Memo("pay_moments", 256)
#: Two payout polynomials on the union of their breaks, by content
#: (:func:`compmodel.pay.plan_moments`): a slider re-budgets the same plans.
ALIGNED: Memo[object] = Memo("aligned_polynomials", 4096)
#: A component's payout polynomial by (component, direction, target payout, scale,
#: clawback rate): building it costs as much as integrating it.
MONEY_POLY: Memo[object] = Memo("payout_polynomials", 4096)
#: First-best levers by model fingerprint, effort costs and backend
#: (:func:`compmodel.equilibrium.benchmarks.first_best_levers`): they do not depend on
#: plans, so sweeps and sliders over plan settings find them once.
FIRST_BEST: Memo[object] = Memo("first_best", 256)
#: Rosters read, by (resolved path, modification time in ns, size): a changed file is
#: read again (:func:`compmodel.io.load_scenario`).
ROSTERS: Memo[object] = Memo("rosters", 64)
