"""The import contracts in pyproject.toml (``[tool.importlinter]``) hold, and would catch a breach.

The linter runs as ``lint-imports`` in a subprocess with ``src`` first on ``PYTHONPATH``:
grimp finds ``compmodel`` with ``importlib.util.find_spec``, which in this process would
answer with the package already imported, so only a fresh process analyses the tree (or
copy) asked for. ``--no-cache`` keeps ``.import_linter_cache`` out of the repository.

The self-test plants a wrong-way import in a copy of the package and checks that each
contract breaks and names it, with the line number it has in the copy (the repository's
file has no such line, so the copy is what was analysed).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, Any] = tomllib.load(f)["tool"]["importlinter"]
    return config


def _contract(contract_id: str) -> dict[str, Any]:
    (contract,) = (c for c in _config()["contracts"] if c["id"] == contract_id)
    return contract


def _lint(cwd: Path) -> tuple[int, str]:
    """``lint-imports`` on ``cwd/pyproject.toml``, analysing the package in ``cwd/src``."""
    # the venv's script, beside its python (not resolved: that may be a symlink out of it)
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "lint-imports not found: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(cwd / "src"), "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    r = subprocess.run(
        [exe, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return r.returncode, r.stdout + r.stderr


def test_the_import_contracts_hold() -> None:
    code, out = _lint(ROOT)
    assert code == 0, out
    for contract in _config()["contracts"]:
        assert f"{contract['name']} KEPT" in out, out


def test_the_forbidden_contract_covers_every_layer_below_charts() -> None:
    """A module added below charts must be added to both contracts (the layers contract
    is exhaustive, so it cannot be left out of that one)."""
    layers = _contract("layers")["layers"]
    below_charts = {
        "compmodel." + name.strip().strip("()")
        for layer in layers[layers.index("charts") + 1 :]
        for name in re.split(r"[|:]", layer)
    }
    assert set(_contract("no-ui-below-charts")["source_modules"]) == below_charts


# contract id -> (file, text appended to it, the import the linter must name)
PLANTS = {
    "layers": (
        "kinds.py",
        "\n\ndef _planted_wrong_way_import() -> None:\n    from . import io  # noqa: F401\n",
        "compmodel.kinds -> compmodel.io",
    ),
    "equilibrium-layers": (
        "equilibrium/problem.py",
        "\n\ndef _planted_wrong_way_import() -> None:\n    from . import selection  # noqa: F401\n",
        "compmodel.equilibrium.problem -> compmodel.equilibrium.selection",
    ),
    "no-ui-below-charts": (
        "moments.py",
        "\nimport altair  # noqa: E402, F401\n",
        "compmodel.moments -> altair",
    ),
}


@pytest.mark.parametrize("broken_id", sorted(PLANTS))
def test_a_planted_import_breaks_its_contract(tmp_path: Path, broken_id: str) -> None:
    package = tmp_path / "src" / "compmodel"
    shutil.copytree(
        ROOT / "src" / "compmodel", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    filename, planted, expected = PLANTS[broken_id]
    path = package / filename
    path.write_text(path.read_text() + planted)
    line = len(path.read_text().splitlines())  # the planted import is the last line

    code, out = _lint(tmp_path)

    assert code != 0, out
    assert f"{expected} (l.{line})" in out, out
    for contract in _config()["contracts"]:
        state = "BROKEN" if contract["id"] == broken_id else "KEPT"
        assert f"{contract['name']} {state}" in out, out
