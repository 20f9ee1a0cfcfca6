r"""Helpers for browser end-to-end tests: a server in a fixture, Debian's Chromium, widget input.

Generic on purpose: nothing here knows what the dashboard shows. Uses Playwright's sync API
directly (`playwright.sync_api.sync_playwright`) and launches the system Chromium, because
`playwright install` cannot download browsers on our machines. Do not name a fixture `page`,
`context`, `browser`, `browser_type` or `playwright` while pytest-playwright is installed: its
plugin would take those names over (and parametrize the test by `browser_name`).

Typical use::

    port = free_port()
    with serve([voila, nb, f"--port={port}", ...], port, cwd=root, env=env, name="nb"):
        url = printed(log_path("nb", port), r"(http://127\.0\.0\.1:\d+/\?token=\S+)").group(1)
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page()
            urls = record_requests(page)
            page.goto(url)  # the server wants its token
            ...
            assert external(urls) == []

`http_get(url, {"Host": "evil.example"})` asks the server what a page elsewhere could (status,
headers, body; redirects not followed).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, Playwright

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
"""Where server logs (and the tests' screenshots) go; git-ignored."""

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_MISSING = (
    "Chromium not found (looked for /usr/bin/chromium, chromium, chromium-browser). "
    "The browser end-to-end tests use Debian's Chromium, which the test command installs "
    "with `apt-get install -y chromium` (`playwright install` cannot download browsers here)."
)
CHROMIUM_ARGS = (
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
IGNORED_SCHEMES = frozenset({"data", "blob", "about"})


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def chromium_path() -> str:
    """The system Chromium's executable.

    Missing Chromium fails the test when the environment variable `CI` is true (CI's test
    command installs it, so a missing browser is a broken set-up) and skips it elsewhere.
    """
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if found and os.access(found, os.X_OK):
            return found
    if _truthy(os.environ.get("CI")):
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    pytest.skip(CHROMIUM_MISSING)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_path(name: str, port: int) -> Path:
    """Where `serve(..., port, name=name)` writes the server's stdout and stderr."""
    return ARTIFACTS / f"{name}-{port}.log"


def printed(path: Path, pattern: str, timeout: float = 10) -> re.Match[str]:
    """The first match of the regular expression `pattern` in the log at `path`, waiting up to
    `timeout` seconds for the server to print it (e.g. the URL with its token)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            text = ""
        found = re.search(pattern, text)
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(
                f"{path.name} never printed {pattern!r}; its end:\n{_log_tail(path)}",
                pytrace=False,
            )
        time.sleep(0.1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def http_get(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """GET `url` with `headers` (e.g. a foreign `Host`), redirects not followed: the status,
    headers and body of the first answer, whatever its status."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read()


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _answers(url: str) -> bool:
    """True once anything answers HTTP at `url`: any status counts, a refused connection not.

    A HEAD request: voila answers it without running the notebook (a GET of `/` would start a
    kernel and execute it just to check that the server is up).
    """
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, urllib.error.URLError):
        return False


def _descendants(pid: int) -> list[object]:
    """The process's descendants (psutil objects), or [] without psutil.

    Jupyter kernels start in their own session, so killing the server's process group does
    not reach them; they are swept up separately if the server failed to shut them down.
    """
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return []
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group, then SIGKILL it (and stray descendants) after `grace` s."""
    if proc.poll() is not None:
        return
    children = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    if children:
        import psutil

        _gone, alive = psutil.wait_procs(children, timeout=grace)  # type: ignore[arg-type]
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
    with contextlib.suppress(ProcessLookupError):  # leftovers in the group (e.g. a shell's)
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve(
    command: Sequence[str] | str,
    port: int,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    *,
    ready_path: str = "/",
    grace: float = 10,
    name: str = "server",
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server for the duration of a `with` block.

    `command` is an argument list, or a string run by `/bin/sh`. It starts in a new process
    group (session) with stdout and stderr in `tests/artifacts/<name>-<port>.log`; the block
    starts once `http://127.0.0.1:<port><ready_path>` answers anything. On exit the whole
    process group gets SIGTERM, then SIGKILL after `grace` seconds. If the server dies, never
    answers within `timeout` seconds, or the block raises, the log's tail is printed (pytest
    shows it with the failure).
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_file = log_path(name, port)
    url = f"http://127.0.0.1:{port}{ready_path}"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            command,
            shell=isinstance(command, str),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    failed = True  # print the log tail unless the block ends normally (or skips)
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if proc.poll() is not None:
                pytest.fail(
                    f"{name} exited with code {proc.returncode} before answering {url}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer {url} within {timeout:.0f} s", pytrace=False)
            time.sleep(0.2)
        try:
            yield proc
        except pytest.skip.Exception:
            failed = False
            raise
        failed = False
    finally:
        _stop(proc, grace)
        if failed:
            print(
                f"--- last lines of {log_file} ---\n{_log_tail(log_file)}\n--- end of log ---",
                file=sys.stderr,
            )


def launch(playwright: Playwright) -> Browser:
    """Headless system Chromium, with its own network chatter (updates, sync) switched off."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGS)
    )


def record_requests(page: Page) -> list[str]:
    """A list that fills with the URL of every request the page makes from now on."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def external(urls: Sequence[str]) -> list[str]:
    """The URLs that leave this machine: host not 127.0.0.1/localhost; data:, blob:, about: skipped."""
    out = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in IGNORED_SCHEMES:
            continue
        if (parts.hostname or "") not in LOCAL_HOSTS:
            out.append(url)
    return out


def slider(page: Page, description: str) -> Locator:
    """The ipywidgets slider (`.widget-slider`) whose description label reads `description`."""
    label = page.locator("label.widget-label").filter(
        has_text=re.compile(rf"^\s*{re.escape(description)}\s*$")
    )
    return page.locator(".widget-slider").filter(has=label)


def dropdown(page: Page, description: str) -> Locator:
    """The `<select>` of the ipywidgets Dropdown whose description label reads `description`.

    Pick with `.select_option(index=i)`: the options' texts show spaces as U+00A0.
    """
    label = page.locator("label.widget-label").filter(
        has_text=re.compile(rf"^\s*{re.escape(description)}\s*$")
    )
    return page.locator(".widget-dropdown").filter(has=label).locator("select")


_QUIET_PROBE = """
() => {
  if (window.__e2eQuiet) window.__e2eQuiet.observer.disconnect();
  const probe = { last: performance.now() };
  probe.observer = new MutationObserver(() => { probe.last = performance.now(); });
  probe.observer.observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  window.__e2eQuiet = probe;
}
"""


def wait_quiet(page: Page, quiet_ms: float = 300, timeout_ms: float = 10_000) -> None:
    """Wait until nothing in the page's DOM has changed for `quiet_ms` (a `MutationObserver`
    on the whole document, installed now: the wait is at least `quiet_ms`)."""
    page.evaluate(_QUIET_PROBE)
    page.wait_for_function(
        "(ms) => performance.now() - window.__e2eQuiet.last > ms",
        arg=quiet_ms,
        timeout=timeout_ms,
        polling=50,
    )


def slider_handle(page: Page, description: str) -> Locator:
    """The slider's draggable handle (`.noUi-handle`): focus it, and arrow keys move the slider."""
    return slider(page, description).locator(".noUi-handle")


def set_slider(page: Page, description: str, value: float | int | str) -> Locator:
    """Type `value` into the slider's editable readout and press Enter; returns the readout.

    ipywidgets 8 readouts are contenteditable divs: the value is sent to the kernel on Enter
    (or blur), clamped to the slider's range and snapped to its step.
    """
    readout = slider(page, description).locator(".widget-readout")
    readout.click()
    readout.press("ControlOrMeta+a")
    page.keyboard.type(str(value))
    readout.press("Enter")
    return readout


_RENDER_PROBE = """
([selector, settleMs]) => {
  const target = document.querySelector(selector);
  if (!target) throw new Error(`render_times: nothing matches ${selector}`);
  const probe = { start: null, first: null, last: null, lastMutation: performance.now(), settleMs };
  probe.reset = () => { probe.start = null; probe.first = null; probe.last = null; };
  window.addEventListener("keydown", () => {
    if (probe.start === null) probe.start = performance.now();
  }, { capture: true });
  probe.observer = new MutationObserver(() => {
    const now = performance.now();
    probe.lastMutation = now;
    if (probe.start === null) return;
    if (probe.first === null) probe.first = now;
    probe.last = now;
  });
  probe.observer.observe(target, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  window.__e2eRender = probe;
}
"""

_QUIET = "() => performance.now() - window.__e2eRender.lastMutation > window.__e2eRender.settleMs"


def render_times(
    page: Page,
    chart_selector: str,
    action: Callable[[], None],
    n: int = 20,
    *,
    until: str = "first",
    settle_ms: float = 300,
    timeout_ms: float = 10_000,
) -> list[float]:
    """Milliseconds from a keydown to the chart's repaint, `n` times (the caller takes the median).

    Installs in the page a capture-phase `keydown` listener (start: `performance.now()` at the
    first keydown) and a `MutationObserver` on the first element matching `chart_selector`
    (subtree, children, attributes, text). `action` must send one keydown, e.g.
    `lambda: handle.press("ArrowRight")` on a slider's `.noUi-handle`. With `until="first"`
    the time ends at the first mutation after the keydown; with `until="settled"` at the last
    mutation before the chart has been quiet for `settle_ms`. Between rounds it waits until the
    chart has been quiet for `settle_ms`, so trailing mutations of one render do not end the
    next measurement.

    The element must survive re-renders (for an altair JupyterChart, `.vega-embed` is the
    widget's own element and does). A canvas chart updated through a parameter (a Vega
    signal) repaints without any DOM mutation: measure such charts with the SVG renderer.
    """
    if until not in {"first", "settled"}:
        raise ValueError(f"until must be 'first' or 'settled', not {until!r}")
    page.evaluate(_RENDER_PROBE, [chart_selector, settle_ms])
    times: list[float] = []
    for _ in range(n):
        page.wait_for_function(_QUIET, timeout=timeout_ms, polling=50)
        page.evaluate("() => window.__e2eRender.reset()")
        action()
        page.wait_for_function(
            "() => window.__e2eRender.first !== null", timeout=timeout_ms, polling="raf"
        )
        if until == "settled":
            page.wait_for_function(_QUIET, timeout=timeout_ms, polling=50)
        start, first, last = page.evaluate(
            "() => [window.__e2eRender.start, window.__e2eRender.first, window.__e2eRender.last]"
        )
        if start is None:
            raise AssertionError("render_times: the action sent no keydown to the page")
        times.append(float((first if until == "first" else last) - start))
    page.evaluate("() => window.__e2eRender.observer.disconnect()")
    return times
