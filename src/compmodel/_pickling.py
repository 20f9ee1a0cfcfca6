"""Pickling for frozen results that hold mapping proxies (read-only dicts).

``pickle`` does not take :class:`types.MappingProxyType`, so a :class:`Solution`, a
:class:`Simulation` or a :class:`CommissionBudget` could not come back from a process
pool or a dask worker. Classes that mix in :class:`PicklesProxies` pickle their proxies
as plain dicts and rebuild them on arrival; nothing else about them changes.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

_PROXIES = "__proxies__"


class PicklesProxies:
    """Mixin: pickle a frozen dataclass whose fields may be mapping proxies."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        proxies = [k for k, v in state.items() if isinstance(v, MappingProxyType)]
        for k in proxies:
            state[k] = dict(state[k])
        state[_PROXIES] = proxies
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        proxies = set(state.pop(_PROXIES, ()))
        for k, v in state.items():
            object.__setattr__(self, k, MappingProxyType(v) if k in proxies else v)
