"""The notebook suite: six chapters that run top to bottom and say what the numbers say.

Every notebook under ``notebooks/`` is executed with papermill, from that folder, on the
samples in ``data/samples/`` (the kernel is this interpreter: jupyter_client launches a
``python`` kernel spec with ``sys.executable``). Each closes with a Markdown paragraph
formatted from its results; running it again with a changed company coefficient must
change that paragraph, so the text cannot go stale when the samples change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
#: a coefficient with a stated range (1,150-1,250) that every chapter's story depends on
CHANGED = {"company.coefficients.price": 1150.0}
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def test_there_are_six_chapters() -> None:
    assert [p.name[:2] for p in CHAPTERS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_notebooks_hold_no_outputs(path: Path) -> None:
    """Outputs (an offline chart is ~1 MB of JavaScript) never reach the repository."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} holds outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_its_question_and_closes_with_a_summary(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith(f"# {int(path.name[:2])} · ")
    assert "question" in first.source.lower()
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("samples", "overrides", "seed"):
        assert re.search(rf"^{name}\s*=", params[0].source, re.M), f"parameter {name} missing"
    assert "summary" in nb.cells[-1].metadata.get("tags", [])
    assert "Markdown(" in nb.cells[-1].source
    assert nb.metadata["kernelspec"]["name"] == "python3"


_RUNS: dict[tuple[str, str], nbformat.NotebookNode] = {}


def _run(path: Path, tmp: Path, overrides: dict[str, float] | None = None) -> Any:
    key = (path.name, json.dumps(overrides or {}, sort_keys=True))
    if key not in _RUNS:
        nb = nbformat.read(path, as_version=4)
        params: dict[str, Any] = {"overrides": overrides or {}}
        source = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        if re.search(r"^out_dir\s*=", source, re.M):
            params["out_dir"] = str(tmp / f"exports-{len(_RUNS)}")
        out = tmp / f"{path.stem}-{len(_RUNS)}.ipynb"
        _RUNS[key] = pm.execute_notebook(
            str(path),
            str(out),
            parameters=params,
            cwd=str(NOTEBOOKS),
            kernel_name="python3",
            progress_bar=False,
        )
    return _RUNS[key]


def _summary(nb: Any) -> str:
    (out,) = [o for o in nb.cells[-1].outputs if "text/markdown" in o.get("data", {})]
    return str(out["data"]["text/markdown"])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebooks")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_top_to_bottom(path: Path, scratch: Path) -> None:
    nb = _run(path, scratch)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name} cell {i}: {errors[0]['ename']}: {errors[0]['evalue']}"
    text = _summary(nb)
    assert text.startswith("**What the numbers say.**")
    assert len(NUMBER.findall(text)) >= 3, f"fewer than three figures in: {text}"
    charts = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert charts, f"{path.name} draws no chart"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_summary_follows_a_changed_coefficient(path: Path, scratch: Path) -> None:
    """The closing words are formatted from results: a new price gives new words."""
    default = _summary(_run(path, scratch))
    changed = _summary(_run(path, scratch, CHANGED))
    assert changed != default
