"""Pickling for frozen dataclasses that hold mapping proxies (read-only dicts).

``pickle`` does not take :class:`types.MappingProxyType`, so a :class:`Scenario`, a
:class:`Solution`, a :class:`Simulation` or a :class:`CommissionBudget` could not go to or
come back from a process pool or a dask worker. Classes that mix in
:class:`PicklesProxies` pickle their proxies (also proxies inside proxies, such as a
company's levers by department) as plain dicts and rebuild them on arrival; nothing is
validated again and nothing else about them changes.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

_PROXIES = "__proxies__"


class _Proxied(dict[Any, Any]):
    """A mapping proxy's contents on their way through pickle."""


def _plain(value: Any) -> Any:
    if isinstance(value, MappingProxyType):
        return _Proxied({k: _plain(v) for k, v in value.items()})
    return value


def _proxied(value: Any) -> Any:
    if isinstance(value, _Proxied):
        return MappingProxyType({k: _proxied(v) for k, v in value.items()})
    return value


class PicklesProxies:
    """Mixin: pickle a frozen dataclass whose fields may be (nested) mapping proxies."""

    def __getstate__(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.pop(_PROXIES, None)
        for k, v in state.items():
            object.__setattr__(self, k, _proxied(v))
