"""The dashboard's save box writes a file name inside the save folder, never a path elsewhere.

A scenario file from a client names itself; the consultant types a name in "Save as". Neither
may write outside the save folder (``../../data/samples/acme`` once overwrote the company
file), name a hidden file or a Windows device, or replace a file without a confirmation.
Both ways in are tested: :meth:`Dashboard.save` (raises ``ScenarioError``) and the buttons
(``Button.click()`` runs the same handlers as a click in the browser; the status line says
why, escaped).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import compmodel as cm
from compmodel.live import Dashboard

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def shared() -> Dashboard:
    return Dashboard(SAMPLES / "acme_today.toml", n_draws=200, save_dir=os.devnull)


@pytest.fixture()
def dash(shared: Dashboard, tmp_path: Path) -> Iterator[Dashboard]:
    """The module's dashboard saving to ``tmp_path/work/saves`` (a fresh folder), baseline on
    screen, an empty box and no pending confirmation."""
    shared.save_dir = tmp_path / "work" / "saves"
    shared.reset()
    shared.save_name.value = ""
    shared.status.value = ""
    yield shared
    shared.save_name.value = ""


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def overwrite_shown(d: Dashboard) -> bool:
    return d.overwrite_button.layout.display != "none"


TRAVERSAL = ["../x", "../../x", "/tmp/x", "a/b", "..", ".", "..\\x", "a\\b", "C:x", "C:\\x"]
RESERVED = ["CON", "con", "Prn", "aux.toml", "nul.txt", "NUL .toml", "com1", "COM9.toml",
            "lpt1", "Lpt9.tar.gz", ".hidden", ".toml", "..toml"]  # fmt: skip
BAD_CHARACTERS = ["a<b", "a>b", 'a"b', "a:b", "a|b", "a?b", "a*b", "a\nb", "a\tb", "é",
                  "x\x00y", "<img src=x onerror=alert(1)>"]  # fmt: skip


@pytest.mark.parametrize("name", TRAVERSAL + RESERVED + BAD_CHARACTERS + ["x" * 101])
def test_a_name_that_is_not_a_plain_file_name_is_refused_and_nothing_is_written(
    dash: Dashboard, tmp_path: Path, name: str
) -> None:
    elsewhere = Path("/tmp/x.toml").exists(), Path("C:x.toml").exists()
    with pytest.raises(cm.ScenarioError) as info:
        dash.save(name)
    message = str(info.value)
    assert message.startswith("save name: ")
    # says what is allowed, and what to try
    assert ("allowed: letters" in message and "try" in message) or "choose another name" in message
    assert files_under(tmp_path) == []
    assert (Path("/tmp/x.toml").exists(), Path("C:x.toml").exists()) == elsewhere
    # the status line says the same, escaped
    assert "compmodel-save-problem" in dash.status.value
    assert "<img" not in dash.status.value and "<b>" not in dash.status.value

    # the same through the box and the button: nothing written, no traceback, a reason
    dash.status.value = ""
    dash.save_name.value = name
    dash.save_button.click()
    assert files_under(tmp_path) == []
    assert "save name" in dash.status.value and not overwrite_shown(dash)


def test_a_hundred_characters_and_every_allowed_character_are_fine(
    dash: Dashboard, tmp_path: Path
) -> None:
    name = ("Acme 2025_v1.2-final " * 5)[:100]
    assert len(name) == 100
    path = dash.save(name)
    assert path == (tmp_path / "work" / "saves" / f"{name}.toml").resolve()
    assert dash.save("already.toml").name == "already.toml"  # .toml is not added twice
    assert dash.save("  spaced out  ").name == "spaced out.toml"  # the box's ends are trimmed
    assert "Saved <code>" in dash.status.value


def test_an_empty_box_saves_under_a_slug_of_a_hostile_scenario_name(
    shared: Dashboard, tmp_path: Path
) -> None:
    for hostile, slug in [
        ("../../evil", "evil"),
        ("/etc/passwd", "etc-passwd"),
        ("..\\..\\Windows\\evil", "Windows-evil"),
        ("CON", "scenario CON"),
        ("..", "scenario"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
        ("Ünïcode/名前 ", "Unicode"),
        ("x" * 300, "x" * 100),
    ]:
        saves = tmp_path / hostile.encode().hex()[:40] / "saves"
        s = dataclasses.replace(cm.load_scenario(SAMPLES / "acme_today.toml"), name=hostile)
        d = Dashboard(s, n_draws=200, save_dir=saves)
        path = d.save()  # the box is empty
        assert path == saves.resolve() / f"{slug}.toml", hostile
        assert files_under(tmp_path / hostile.encode().hex()[:40]) == [saves / f"{slug}.toml"]
        assert cm.load_scenario(path).name == hostile  # the name inside is kept as it was
        assert "<script" not in d.status.value
    # and through the button
    d.save_button.click()  # exists now: asks first
    assert overwrite_shown(d) and "exists already" in d.status.value


def test_a_link_in_the_save_folder_that_leads_out_is_refused(
    dash: Dashboard, tmp_path: Path
) -> None:
    saves = tmp_path / "work" / "saves"
    saves.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (saves / "new.toml").symlink_to(outside / "new.toml")  # dangling: would create a file
    (saves / "old.toml").symlink_to(outside / "old.toml")
    (outside / "old.toml").write_text("company = 'untouched'\n")
    (saves / "up").symlink_to(outside, target_is_directory=True)
    for name in ("new", "old", "old.toml"):
        for overwrite in (False, True):
            with pytest.raises(cm.ScenarioError, match="outside that folder"):
                dash.save(name, overwrite=overwrite)
    assert sorted(p.name for p in outside.iterdir()) == ["old.toml"]
    assert (outside / "old.toml").read_text() == "company = 'untouched'\n"
    with pytest.raises(cm.ScenarioError, match="holds '/'"):
        dash.save("up/x")
    # the button: refused too, and no Overwrite offered
    dash.save_name.value = "old"
    dash.save_button.click()
    assert "outside that folder" in dash.status.value and not overwrite_shown(dash)
    assert (outside / "old.toml").read_text() == "company = 'untouched'\n"


def test_an_existing_file_is_replaced_only_after_a_confirmation(
    dash: Dashboard, tmp_path: Path
) -> None:
    first = dash.save("plan")
    before = first.read_bytes()
    dash.set_value("bridges.meetings", 4.0)

    with pytest.raises(cm.ScenarioError, match=r"exists already.*overwrite=True"):
        dash.save("plan")
    assert first.read_bytes() == before

    # the box: the first click asks, and writes nothing
    dash.save_name.value = "plan"
    dash.save_button.click()
    assert overwrite_shown(dash)
    assert "exists already" in dash.status.value and "Overwrite" in dash.status.value
    assert first.read_bytes() == before
    # changing the name withdraws the question; the button then does nothing
    dash.save_name.value = "plan 2"
    assert not overwrite_shown(dash)
    dash.overwrite_button.click()
    assert first.read_bytes() == before and not (first.parent / "plan 2.toml").exists()
    # asked again, and confirmed
    dash.save_name.value = "plan"
    dash.save_button.click()
    dash.overwrite_button.click()
    assert not overwrite_shown(dash)
    assert "Saved <code>" in dash.status.value
    assert first.read_bytes() != before
    assert cm.load_scenario(first).bridges["meetings"] == 4.0

    # from Python
    dash.set_value("bridges.meetings", 2.0)
    assert dash.save("plan", overwrite=True) == first
    assert cm.load_scenario(first).bridges["meetings"] == 2.0
    assert [p.name for p in files_under(tmp_path)] == ["plan.toml"]


def test_a_saved_file_loads_back_with_the_numbers_on_screen(
    dash: Dashboard, tmp_path: Path
) -> None:
    dash.set_value("sales.target_incentive", 0.6)
    dash.save_name.value = "higher incentive"
    dash.save_button.click()
    path = tmp_path / "work" / "saves" / "higher incentive.toml"
    assert path.is_file() and "Saved <code>" in dash.status.value
    loaded = cm.load_scenario(path)
    assert loaded.get("sales.target_incentive") == 0.6
    assert cm.solve(loaded).operating_profit == pytest.approx(
        dash.kpis["operating_profit"], rel=1e-6
    )
