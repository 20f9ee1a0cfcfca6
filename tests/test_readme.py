"""The README's Python example runs as written, and its Quick start has two commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_example_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "expected sales commission saved" in out
    assert "efficiency 0.3664" in out
    # the sweep and tornado example: the value per unit ranks first
    assert re.search(r"0\s+company\.levers\.agent\.effort\.value\s+0\.1127\d*\s+1", out)


def test_quick_start_has_run_then_test_and_ci_runs_the_test_command() -> None:
    m = re.search(r"^## Quick start.*?```bash\n(.*?)```", README, re.S | re.M)
    assert m is not None
    commands = [c for c in m.group(1).splitlines() if c.strip()]
    assert len(commands) == 2
    assert "compmodel dashboard" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
