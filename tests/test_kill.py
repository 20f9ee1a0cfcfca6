"""A save killed at any moment leaves the old file or the new one, and no debris.

Children forked from this process (which has imported compmodel) save a file of about
1 MB over and over through the code every save goes through
(:func:`compmodel.io._write_atomically`); the test kills them with SIGKILL at random
moments, 50 times. A kill that lands while a child's temporary file exists is a kill
mid-write; at least 10 of the 50 must be. After every kill the file holds one writer's
whole content, never a mix or a truncation, and once the next save has run no
temporary file of a dead writer is left. One more child saves the same file the whole
time without being killed: its temporary files belong to a live process, so no save
may remove them (a save of its that lost its file would fail and end it with an error).
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import random
import re
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import compmodel.io as cm_io  # imported before the fork, as a user's process has it
from compmodel.io import _write_atomically

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL (POSIX)")

KILLS = 50
MIN_MID_WRITE = 10
SIZE = 1 << 20  # 1 MiB per save
NAME = "plan.toml"
TEMP = re.compile(rf"\.{re.escape(NAME)}\.(\d+)\.[A-Za-z0-9_]+\.tmp")


def _content(writer: str, generation: int) -> bytes:
    """1 MiB that names its writer and generation and can be checked byte for byte."""
    header = f"# writer = {writer!r}, generation = {generation}\n".encode()
    block = hashlib.sha256(header).hexdigest().encode() + b"\n"  # 65 bytes
    body = block * ((SIZE - len(header)) // len(block) + 1)
    return header + body[: SIZE - len(header)]


def _check_whole(path: Path) -> None:
    """``path`` holds exactly what one save wrote: never torn, never a mix."""
    data = path.read_bytes()
    first = data.split(b"\n", 1)[0].decode()
    match = re.fullmatch(r"# writer = '([a-z0-9-]+)', generation = (\d+)", first)
    assert match is not None, f"torn file: its first line is {first[:80]!r}"
    assert data == _content(match.group(1), int(match.group(2))), (
        f"torn file: {len(data)} bytes that are not the whole of {first!r}"
    )


def _temps(folder: Path) -> dict[str, int]:
    """The temporary files of ``NAME`` in ``folder``, with their writer's PID."""
    out = {}
    for name in os.listdir(folder):
        match = TEMP.fullmatch(name)
        if match is not None:
            out[name] = int(match.group(1))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _save_forever(target: Path, writer: str, started: Any, stop: Any) -> None:
    """Child: save ``target`` again and again until ``stop`` is set (or it is killed)."""
    generation = 0
    while not stop.is_set():
        _write_atomically(target, _content(writer, generation))
        generation += 1
        started.set()


def test_killed_saves_leave_the_file_whole_and_no_temp_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(24)
    target = tmp_path / NAME
    _write_atomically(target, _content("parent", 0))
    t0 = time.perf_counter()

    stop = ctx.Event()
    live_started = ctx.Event()
    survivor = ctx.Process(
        target=_save_forever, args=(target, "survivor", live_started, stop), daemon=True
    )
    survivor.start()
    mid_write = 0
    try:
        assert live_started.wait(10), "the concurrent saver never saved"
        for kill in range(KILLS):
            started = ctx.Event()
            victim = ctx.Process(
                target=_save_forever,
                args=(target, f"victim-{kill}", started, ctx.Event()),
                daemon=True,
            )
            victim.start()
            assert started.wait(10), f"child {kill} never saved"
            time.sleep(rng.uniform(0.0, 0.03))  # a random moment in its next saves
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()  # reaped: its PID no longer exists
            assert victim.exitcode == -signal.SIGKILL

            # what the killed child left is what it had at the moment of the kill
            if victim.pid in _temps(tmp_path).values():
                mid_write += 1
            _check_whole(target)

            # the next save removes the dead writer's temporary file, and only that
            _write_atomically(target, _content("parent", kill + 1))
            _check_whole(target)
            dead = {n: pid for n, pid in _temps(tmp_path).items() if not _alive(pid)}
            assert not dead, f"temporary files of dead writers left after a save: {dead}"
            assert survivor.is_alive(), "the concurrent saver failed"
    finally:
        stop.set()
        survivor.join(10)
        if survivor.is_alive():  # pragma: no cover - only if the saver hangs
            survivor.kill()
            survivor.join()
    elapsed = time.perf_counter() - t0

    print(
        f"\nkill test: {KILLS} kills, {mid_write} mid-write (a temporary file of the "
        f"killed child existed), {KILLS - mid_write} between saves; {elapsed:.1f} s"
    )
    # a live process's temporary files were never removed under it: all its saves succeeded
    assert survivor.exitcode == 0, "the concurrent saver lost a save"
    _check_whole(target)
    assert not _temps(tmp_path), "a temporary file is left with every writer finished"
    assert sorted(os.listdir(tmp_path)) == [NAME]
    assert mid_write >= MIN_MID_WRITE, f"only {mid_write} of {KILLS} kills landed mid-write"
    assert elapsed <= 20.0, f"the kill test took {elapsed:.1f} s (limit 20 s)"


def test_the_folder_is_fsynced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``os.replace`` the folder itself is fsynced, so the rename survives a power cut."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(cm_io.os, "fsync", fsync)
    monkeypatch.setattr(cm_io.os, "replace", replace)
    _write_atomically(tmp_path / NAME, b"x = 1\n")
    assert events == ["fsync file", "replace", "fsync folder"]


def test_a_folder_that_cannot_be_fsynced_does_not_stop_the_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that refuses to fsync a folder (EINVAL) still gets the save."""

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(cm_io.os, "fsync", fsync)
    _write_atomically(tmp_path / NAME, b"x = 1\n")
    assert (tmp_path / NAME).read_bytes() == b"x = 1\n"
    assert sorted(os.listdir(tmp_path)) == [NAME]


def test_only_temp_files_of_dead_writers_of_the_same_file_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that exists (even one we may not signal) keeps its file; other files'
    temporary files and files of an older naming are never touched."""
    dead, alive, foreign = 999_001, 999_002, 999_003
    files = {
        f".{NAME}.{dead}.abc123_x.tmp": False,  # dead writer of this file: removed
        f".{NAME}.{alive}.abc123_x.tmp": True,  # writer exists: kept
        f".{NAME}.{foreign}.abc123_x.tmp": True,  # writer we may not signal: kept
        f".{NAME}.1.{dead}.abc123_x.tmp": True,  # a temp file of "plan.toml.1": kept
        f".{NAME}.abc123_x.tmp": True,  # no writer PID in the name: kept
        f"{NAME}.{dead}.abc123_x.tmp": True,  # not hidden: not ours
    }
    for name in files:
        (tmp_path / name).write_bytes(b"partial")

    def kill(pid: int, sig: int) -> None:
        assert sig == 0, "a save must only probe processes, never signal them"
        if pid == dead:
            raise ProcessLookupError(pid)
        if pid == foreign:
            raise PermissionError(pid)

    monkeypatch.setattr(cm_io.os, "kill", kill)
    _write_atomically(tmp_path / NAME, b"x = 1\n")
    left = set(os.listdir(tmp_path))
    assert left == {NAME} | {name for name, kept in files.items() if kept}
