"""Company kinds: the names ``company.kind`` may take, and the module that builds each.

One registry for every face: the TOML reader checks a kind's name against it, and
:func:`compmodel.models.build_model` imports the kind's module from it (the module
registers its model with :func:`compmodel.models.register_kind` when imported).

Kinds come from two places:

* the kinds compmodel ships (:data:`BUILTIN`);
* installed plug-ins: a package declares an entry point in the group
  ``compmodel.models`` whose name is the kind and whose value is the module, e.g. in its
  ``pyproject.toml``::

      [project.entry-points."compmodel.models"]
      retailer = "acme_models.retailer"

A module name reaches :func:`importlib.import_module` only after it matches
:data:`MODULE_NAME` (dotted identifiers). This module sits below :mod:`compmodel.io`: it
imports nothing of compmodel but its errors.
"""

from __future__ import annotations

import functools
import importlib
import re
from importlib.metadata import entry_points
from types import ModuleType

from .errors import ScenarioError

__all__ = ["BUILTIN", "GROUP", "MODULE_NAME", "available", "load", "module_of", "refresh"]

#: The kinds compmodel ships: name -> module.
BUILTIN: dict[str, str] = {
    "linear": "compmodel.models.linear",
    "declared": "compmodel.models.declared",
    "manufacturer": "compmodel.models.manufacturer",
    "distributor": "compmodel.models.distributor",
}
#: The entry-point group installed plug-ins declare their kinds in.
GROUP = "compmodel.models"
#: What a module name must look like before it is imported.
MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@functools.lru_cache(maxsize=1)
def _installed() -> dict[str, str]:
    """Installed plug-ins' kinds, read once per process from the packages' metadata
    (reading it costs milliseconds; :func:`refresh` reads it again after an install)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP) if ep.name not in BUILTIN}


def refresh() -> None:
    """Read the installed plug-ins' entry points again (after installing one)."""
    _installed.cache_clear()


def available() -> tuple[str, ...]:
    """Every kind ``company.kind`` may name: ``"none"`` (plans and a forecast only), the
    kinds compmodel ships and those installed plug-ins declare."""
    return ("none", *BUILTIN, *sorted(_installed()))


def module_of(kind: str) -> str:
    """The module that builds ``kind``.

    Raises
    ------
    ScenarioError
        For a kind neither shipped nor installed, naming those that are.
    """
    module = BUILTIN.get(kind) or _installed().get(kind)
    if module is None:
        raise ScenarioError(
            "company.kind",
            f"unknown kind {kind!r}; known: {', '.join(available())}. A plug-in declares "
            f"its kind in the entry-point group {GROUP!r} (see docs/plugins.md).",
        )
    module = module.split(":", 1)[0]
    if not MODULE_NAME.match(module):
        raise ScenarioError(
            "company.kind",
            f"the plug-in for {kind!r} names the module {module!r}, which is not a dotted "
            "Python name; fix the plug-in's entry point",
        )
    return module


def load(kind: str) -> ModuleType:
    """Import the module of ``kind`` (which registers its model) and return it."""
    return importlib.import_module(module_of(kind))
