"""compmodel's voila template, and the command line and environment that select it.

The template (`templates/compmodel/`) is voila's "lab" template with nothing fetched from
outside the server; see README.md beside this file. voila finds templates only under the
Jupyter data directories (`<dir>/voila/templates/<name>/`) and `--template` takes a name, not a
path, so a launcher puts this package's parent directory on `JUPYTER_PATH`: no install step
beyond `pip install -e .` (or a wheel that ships the template files as package data).

    subprocess.Popen(voila_command("notebooks/dashboard.ipynb", 8866), env=voila_env())
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

TEMPLATE = "compmodel"
"""The template's name, for voila's `--template`."""

DATA_DIR = Path(__file__).resolve().parent.parent
"""The Jupyter data directory that holds `voila/templates/compmodel/` (the compmodel package)."""


def voila_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of `base` (default: `os.environ`) with `DATA_DIR` first on `JUPYTER_PATH`."""
    env = dict(os.environ if base is None else base)
    rest = env.get("JUPYTER_PATH", "")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(DATA_DIR), rest) if p)
    return env


def voila_command(
    notebook: str | os.PathLike[str],
    port: int,
    *,
    ip: str = "127.0.0.1",
    extra: Sequence[str] = (),
) -> list[str]:
    """The voila command line: this template, sources hidden, no browser, `ip`:`port` exactly.

    Run it with `voila_env()` as its environment. voila 0.5 has no `--ip` alias: the listen
    address is the `Voila.ip` trait. `extra` is appended (e.g. `--show_tracebacks=True`,
    `--preheat_kernel=True --pool_size=1`).
    """
    return [
        sys.executable,
        "-m",
        "voila",
        os.fspath(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",  # a busy port is an error, not a silent move to another
        f"--template={TEMPLATE}",
        "--strip_sources=True",
        *extra,
    ]
