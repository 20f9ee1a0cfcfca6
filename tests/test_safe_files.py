"""A scenario file from someone else runs no code and reads no file outside its folder.

Tried as a hostile sender would: a declared model that names a module beside the file
(imported only with trust), a company file or roster that points at a foreign file
(refused unread, the error echoing nothing of it), a symlink out of the folder; and the
trust a user gives is kept through edits, pickling and worker processes.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import compmodel as cm
from compmodel.errors import ParameterPathError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HM87 = ROOT / "data" / "samples" / "theory" / "hm87.toml"
SECRET = "SECRET-LINE-root:x:0:0"

#: a module that leaves a mark when imported (what a hostile file would hide in it)
EVIL = textwrap.dedent(
    """
    from pathlib import Path
    Path(__file__).with_name("IMPORTED").write_text("ran")

    def model(levers, coefficients):
        effort = levers["agent.effort"]
        return {"means": {"output": effort}, "value": coefficients["p"] * effort}
    """
)


def _declared(folder: Path) -> Path:
    """A declared-model scenario in ``folder`` naming ``evil:model`` beside it."""
    (folder / "evil.py").write_text(EVIL, encoding="utf-8")
    doc = cm.load_scenario(HM87).to_dict()
    doc["company"].update(kind="declared", model="evil:model")
    doc["company"]["coefficients"] = {"p": {"value": 1.0, "unit": "USD per effort unit"}}
    del doc["company"]["means"]
    path = folder / "declared.toml"
    cm.save_scenario(cm.scenario_from_dict(doc), path)
    return path


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(cwd)])}
    return subprocess.run(
        [sys.executable, "-m", "compmodel", *args], capture_output=True, text=True, cwd=cwd,
        env=env, timeout=300,
    )  # fmt: skip


def test_a_declared_model_beside_the_file_is_not_imported_without_trust(tmp_path: Path) -> None:
    """The CLI run from the file's folder (where ``evil.py`` is importable): nothing is
    imported, the error says how to trust the file; ``--trust-code`` imports it."""
    path = _declared(tmp_path)
    out = _cli("solve", path.name, cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "--trust-code" in out.stderr and "trust_code=True" in out.stderr
    assert not (tmp_path / "IMPORTED").exists()
    out = _cli("solve", path.name, "--trust-code", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "IMPORTED").exists()


def test_trust_is_given_in_python_only_and_carried_along(tmp_path: Path) -> None:
    path = _declared(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        untrusted = cm.load_scenario(path)
        assert not untrusted.trust_code
        with pytest.raises(ScenarioError, match=r"company\.model: .*trust_code=True"):
            cm.solve(untrusted)
        assert not (tmp_path / "IMPORTED").exists() and "evil" not in sys.modules
        trusted = cm.load_scenario(path, trust_code=True)
        edited = trusted.with_value("agent.target_incentive", 0.3)
        assert edited.trust_code and pickle.loads(pickle.dumps(edited)).trust_code
        assert edited == untrusted.with_value("agent.target_incentive", 0.3)  # not a value
        assert "trust" not in path.read_text() and "trust" not in str(edited.to_dict())
        with pytest.raises(ParameterPathError):
            untrusted.with_value("company.model", 1.0)  # text: no path edits it
        with ProcessPoolExecutor(max_workers=1) as pool:  # workers get the trust too
            frame = cm.sweep(trusted, {"agent.target_incentive": [0.2, 0.3]}, executor=pool)
        assert len(frame) > 0
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("evil", None)


def test_a_function_passed_in_python_is_trusted_and_saved_by_name(tmp_path: Path) -> None:
    import dataclasses

    def model(levers: dict[str, float], coefficients: dict[str, float]) -> dict[str, object]:
        effort = levers["agent.effort"]
        return {"means": {"output": effort}, "value": coefficients["p"] * effort}

    path = _declared(tmp_path)
    s = cm.load_scenario(path)
    own = dataclasses.replace(s, company=dataclasses.replace(s.company, model=model))
    assert cm.solve(own).levers["agent.effort"] > 0
    assert not (tmp_path / "IMPORTED").exists()
    assert own.to_dict()["company"]["model"].endswith(":" + model.__qualname__)


def _foreign(tmp_path: Path) -> Path:
    """A folder outside the scenario's, holding a 'private' file."""
    other = tmp_path / "private"
    other.mkdir()
    (other / "secret.toml").write_text(f'name = "x"\n# {SECRET}\n', encoding="utf-8")
    (other / "secret.csv").write_text(f"{SECRET}\n", encoding="utf-8")
    return other


@pytest.mark.parametrize("key", ["company_file", "roster"])
@pytest.mark.parametrize("how", ["relative", "absolute", "symlink"])
def test_a_foreign_file_is_refused_unread(tmp_path: Path, key: str, how: str) -> None:
    other = _foreign(tmp_path)
    folder = tmp_path / "inbox"
    folder.mkdir()
    target = other / ("secret.toml" if key == "company_file" else "secret.csv")
    if how == "relative":
        ref = f"../private/{target.name}"
    elif how == "absolute":
        ref = str(target)
    else:  # a symlink inside the folder that points out of it
        (folder / f"link{target.suffix}").symlink_to(target)
        ref = f"link{target.suffix}"
    doc = cm.load_scenario(HM87).to_dict()
    if key == "company_file":
        doc["company_file"] = ref
    else:
        doc["departments"]["agent"]["roster"] = ref
        doc["departments"]["agent"].pop("headcount", None)
    path = folder / "hostile.toml"
    import tomli_w

    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        cm.load_scenario(path)
    message = str(info.value)
    assert "outside the scenario's folder" in message
    assert "allow_dirs" in message and "--allow-dir" in message
    assert SECRET not in message and "root:" not in message
    # allowed explicitly, the file is read (a bad one then says what is wrong, still
    # without echoing what is in it)
    try:
        cm.load_scenario(path, allow_dirs=[other])
    except cm.CompmodelError as e:
        assert "outside the scenario's folder" not in str(e)
        assert SECRET not in str(e)


def test_the_cli_refuses_a_foreign_file_and_allows_a_named_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hm87.toml").write_text(HM87.read_text(), encoding="utf-8")
    folder = tmp_path / "plans"
    folder.mkdir()
    (folder / "s.toml").write_text(
        'company_file = "../shared/hm87.toml"\nname = "s"\n', encoding="utf-8"
    )
    out = _cli("solve", "s.toml", cwd=folder)
    assert out.returncode == 2 and "--allow-dir" in out.stderr
    out = _cli("solve", "s.toml", "--allow-dir", str(shared), cwd=folder)
    assert out.returncode == 0, out.stderr[-2000:]


def test_the_dashboard_picker_lists_a_declared_file_but_never_opens_it(tmp_path: Path) -> None:
    """A folder of scenarios with a declared-model file in it: the picker marks it as
    naming code and, picked, says why it is not opened; nothing is imported."""
    _declared(tmp_path)
    (tmp_path / "hm87.toml").write_text(HM87.read_text(), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))  # even importable, it is not imported
    try:
        d = cm.dashboard(tmp_path / "hm87.toml", n_draws=200, save_dir=tmp_path / "saved")
        labels = dict(d.picker.options)
        marked = [label for label in labels if "names code, not trusted" in label]
        assert len(marked) == 1
        before = d.scenario
        d.picker.value = labels[marked[0]]
        assert "Not opened" in d.status.value and "trust_code=True" in d.status.value
        assert d.scenario is before and d.picker.value == str(tmp_path / "hm87.toml")
        assert not (tmp_path / "IMPORTED").exists() and "evil" not in sys.modules
    finally:
        sys.path.remove(str(tmp_path))
