"""compmodel's voila template, and the command line and environment that select it.

The template (`templates/compmodel/`) is voila's "lab" template with nothing fetched from
outside the server; see README.md beside this file. voila finds templates only under the
Jupyter data directories (`<dir>/voila/templates/<name>/`) and `--template` takes a name, not a
path, so a launcher puts this package's parent directory on `JUPYTER_PATH`: no install step
beyond `pip install -e .` (or a wheel that ships the template files as package data).

The server asks for a token (`?token=...` in the URL, then a cookie) and refuses a request whose
`Host` header is not local (403), so a web page elsewhere cannot read or drive the dashboard,
not even through DNS rebinding:

    token = new_token()
    subprocess.Popen(voila_command("notebooks/dashboard.ipynb", 8866), env=voila_env(token=token),
                     cwd="notebooks")
    print(voila_url(8866, token))
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlencode

TEMPLATE = "compmodel"
"""The template's name, for voila's `--template`."""

DATA_DIR = Path(__file__).resolve().parent.parent
"""The Jupyter data directory that holds `voila/templates/compmodel/` (the compmodel package)."""


TOKEN_ENV = "JUPYTER_TOKEN"
"""The environment variable jupyter_server reads the server's token from (kept out of the
command line, which other users of the machine can read in the process list)."""

ALLOW_REMOTE_ACCESS_OFF = "--Voila.tornado_settings={'allow_remote_access': False}"
"""Restores jupyter_server's `Host` check, which voila 0.5 switches off.

voila's `init_settings` passes `allow_remote_access=True` to tornado, and
`jupyter_server.base.handlers.JupyterHandler.check_host` then lets any `Host` through; voila
applies `Voila.tornado_settings` over its own settings (`app.settings.update(...)` in
`Voila.start`), so this puts the check back: a `Host` that is neither a loopback address nor
`localhost` gets 403 before any authentication. A Dict trait given as `key=value` on the
command line holds the *string* "False" (true!), hence the whole dict as a literal: traitlets
5 parses it (`literal_eval`) with a DeprecationWarning in the log, which voila shows.
`tests/test_e2e.py` checks the 403 on the server the CLI starts."""


CULL_IDLE_S = 300
"""Seconds a kernel with no open tab may sit idle before the server shuts it down.

voila starts a kernel for every page load and, by default, keeps each one (about 470 MB
with the reference company loaded) until the server stops. jupyter_server's culler,
which voila's kernel manager inherits (`MappingKernelManager`), shuts down a kernel idle
this long; with `cull_connected=False` it never touches one a tab is still connected to,
so a consultant's open dashboard is never culled however long it sits."""

CULL_INTERVAL_S = 60
"""How often, in seconds, the culler looks for idle kernels."""


def culling_flags(idle_s: int = CULL_IDLE_S, interval_s: int = CULL_INTERVAL_S) -> list[str]:
    """voila's command-line settings that shut down the kernels of closed tabs: idle for
    ``idle_s`` seconds, checked every ``interval_s`` seconds, connected ones never."""
    return [
        f"--MappingKernelManager.cull_idle_timeout={int(idle_s)}",
        f"--MappingKernelManager.cull_interval={int(interval_s)}",
        "--MappingKernelManager.cull_connected=False",
    ]


def new_token() -> str:
    """A fresh random token for the server (`secrets.token_urlsafe`, 256 bits)."""
    return secrets.token_urlsafe(32)


def voila_env(base: Mapping[str, str] | None = None, *, token: str | None = None) -> dict[str, str]:
    """A copy of `base` (default: `os.environ`) with `DATA_DIR` first on `JUPYTER_PATH`, and
    `token` (if given) as the server's token (`JUPYTER_TOKEN`).

    Without `token`, the server takes `JUPYTER_TOKEN` from `base`, or else generates one and
    writes it in its log: a token is always required (`voila_command`).
    """
    env = dict(os.environ if base is None else base)
    rest = env.get("JUPYTER_PATH", "")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(DATA_DIR), rest) if p)
    if token is not None:
        if not token.strip():
            raise ValueError("the dashboard's token must not be empty; use new_token()")
        env[TOKEN_ENV] = token
    return env


def voila_url(port: int, token: str, *, ip: str = "127.0.0.1") -> str:
    """The address that opens the served notebook, token included."""
    return f"http://{ip}:{port}/?{urlencode({'token': token})}"


def voila_command(
    notebook: str | os.PathLike[str],
    port: int,
    *,
    ip: str = "127.0.0.1",
    extra: Sequence[str] = (),
    cull: Sequence[str] | None = None,
) -> list[str]:
    """The voila command line: this template, sources hidden, no browser, `ip`:`port` exactly,
    a token required, the `Host` header checked and the kernels of closed tabs shut down
    (`cull`, default :func:`culling_flags`; `()` keeps every kernel until the server stops).

    Run it with `voila_env(token=...)` as its environment, and in a folder of your own (voila
    reads `voila.py`/`voila.json` from its working directory, and `python -m` imports from
    it): e.g. the notebook's. voila 0.5 has no `--ip` alias: the listen address is the
    `Voila.ip` trait. `extra` is appended (e.g. `--show_tracebacks=True`,
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
        # a token is required (the `--token` flag): JUPYTER_TOKEN from the environment, see
        # voila_env; voila's default is none at all
        "--Voila.auto_token=True",
        ALLOW_REMOTE_ACCESS_OFF,
        *(culling_flags() if cull is None else cull),
        *extra,
    ]
