"""The exceptions compmodel raises.

Every error says what was given, what is allowed and what to try next. They all derive
from :class:`CompmodelError`; input errors are also ``ValueError`` so that code written
against plain Python conventions catches them.
"""

from __future__ import annotations

__all__ = [
    "CompmodelError",
    "ConvergenceError",
    "ParameterPathError",
    "PlanError",
    "RosterError",
    "ScenarioError",
    "given",
]


class CompmodelError(Exception):
    """Base class of every error raised by compmodel."""


class ScenarioError(CompmodelError, ValueError):
    """A scenario (or a TOML file) holds a value that is not allowed.

    Attributes
    ----------
    field
        Dotted location of the offending value, e.g. ``"departments.sales.base_pay"``.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)

    def at(self, prefix: str) -> ScenarioError:
        """The same error, located under ``prefix`` (e.g. a department's table)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return type(self)(field, self.detail)


class PlanError(ScenarioError):
    """A payout curve, rate table, component or plan is not valid."""


class RosterError(ScenarioError):
    """A roster table (CSV) is missing columns, has wrong types or duplicate people."""


class ParameterPathError(ScenarioError, KeyError):
    """A parameter path does not address a number in the scenario."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ConvergenceError(CompmodelError, RuntimeError):
    """The equilibrium search did not settle; the message is a numbered checklist."""


def given(value: object) -> str:
    """What a caller passed, for an error message: its type and a short repr."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
