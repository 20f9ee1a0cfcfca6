"""Company models declared as plain functions, for tests of kind = "declared"."""

from __future__ import annotations

from collections.abc import Mapping


def hm87(levers: Mapping[str, float], coefficients: Mapping[str, float]) -> dict[str, object]:
    """Holmström-Milgrom (1987) re-declared: output = effort + noise, value p x effort."""
    e = levers["agent.effort"]
    return {"means": {"output": e}, "value": coefficients["p"] * e}
