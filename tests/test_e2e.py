"""The presenter dashboard in a real browser: the README's first command, Debian's Chromium.

The fixture runs the README's first Quick start command as a user would (it installs
compmodel into ``.venv`` and starts voila on 127.0.0.1), on a free port given through
``COMPMODEL_DASHBOARD_PORT``, and takes the address the command prints (it carries the
server's token); the charts must be drawn within 120 s of the start. The browser test
changes a weight through the slider's readout, checks that a KPI tile and a chart change
and that no request left 127.0.0.1, measures keydown-to-repaint over 20 slider moves and
saves a screenshot under ``tests/artifacts/``. Without Chromium it skips, except with
``CI=true``, where it fails (the test command installs it). The same server is then asked
without its token and under a foreign ``Host`` (DNS rebinding), which it must refuse.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from e2e_support import (
    ARTIFACTS,
    chromium_path,
    external,
    free_port,
    http_get,
    launch,
    log_path,
    printed,
    record_requests,
    render_times,
    serve,
    set_slider,
    slider_handle,
)

ROOT = Path(__file__).resolve().parents[1]
CHART = ".vega-embed svg.marks"
BUDGET_S = 120.0


def _first_quick_start_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Quick start.*?```bash\n(.*?)```", readme, re.S | re.M)
    assert m is not None, "README has no Quick start block"
    return next(c for c in m.group(1).splitlines() if c.strip())


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium; asked for before the server so that a skip starts nothing."""
    return chromium_path()


@pytest.fixture(scope="module")
def dashboard_url() -> Iterator[tuple[str, float]]:
    """The address the README's first command prints (token included), and its start time."""
    port = free_port()
    env = {**os.environ, "COMPMODEL_DASHBOARD_PORT": str(port)}
    started = time.monotonic()
    with serve(
        ["bash", "-c", _first_quick_start_command()],
        port,
        cwd=ROOT,
        env=env,
        timeout=BUDGET_S,
        name="dashboard",
    ):
        found = printed(
            log_path("dashboard", port),
            rf"compmodel dashboard: (http://127\.0\.0\.1:{port}/\?token=[A-Za-z0-9_-]+)\s",
        )
        yield found.group(1), started


def test_dashboard_in_chromium(chromium: str, dashboard_url: tuple[str, float]) -> None:
    from playwright.sync_api import sync_playwright

    url, started = dashboard_url
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            requests = record_requests(page)
            left_ms = max(1.0, BUDGET_S - (time.monotonic() - started)) * 1e3
            page.goto(url, timeout=left_ms)
            left_ms = max(1.0, BUDGET_S - (time.monotonic() - started)) * 1e3
            page.wait_for_function(
                f"() => document.querySelectorAll('{CHART}').length >= 4", timeout=left_ms
            )
            ready_s = time.monotonic() - started

            tile = page.locator(".kpi-value").nth(4)  # the compensation bill
            before_tile = tile.inner_text()
            chart = page.locator(".vega-embed").nth(0)  # outcomes against the baseline
            before_chart = chart.inner_html()

            # leadership is paid half on revenue, half on profit: move a weight
            page.get_by_text("Leadership", exact=True).first.click()
            readout = set_slider(page, "on operating profit", "0.2")
            # a tile's HTML is replaced on update: look the element up again each time
            page.wait_for_function(
                "(old) => document.querySelectorAll('.kpi-value')[4].innerText !== old",
                arg=before_tile,
                timeout=30_000,
            )
            assert readout.inner_text().strip() == "20%"
            assert tile.inner_text() != before_tile
            page.wait_for_function(
                "(old) => document.querySelectorAll('.vega-embed')[0].innerHTML !== old",
                arg=before_chart,
                timeout=30_000,
            )
            # the revenue weight followed: weights still add up to 100%
            assert "80%" in page.locator(".widget-slider", has_text="on revenue").inner_text()

            # responsiveness: keydown on the sales target incentive to the chart's repaint
            page.get_by_text("Sales", exact=True).first.click()
            handle = slider_handle(page, "target incentive").first
            handle.focus()
            times = render_times(page, ".vega-embed", lambda: handle.press("ArrowRight"), n=20)
            median = statistics.median(times)

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            (ARTIFACTS / "e2e_timing.json").write_text(
                json.dumps(
                    {
                        "charts_ready_s": round(ready_s, 1),
                        "keydown_to_render_ms_median": round(median, 1),
                        "keydown_to_render_ms": [round(t, 1) for t in times],
                    }
                )
            )
            assert external(requests) == [], f"requests left 127.0.0.1: {external(requests)}"
            assert len(times) == 20 and all(t > 0 for t in times)
        finally:
            browser.close()


def test_the_server_wants_its_token_and_a_local_host(dashboard_url: tuple[str, float]) -> None:
    """The server the command starts refuses a foreign ``Host`` (a page elsewhere that
    rebinds its name to 127.0.0.1 reads and drives nothing) and a request without its
    token; the printed token lets a request through. Nothing here runs the notebook: the
    kernel URL names no kernel, so past the checks the answer is 404."""
    url, _ = dashboard_url
    parts = urlsplit(url)
    (token,) = parse_qs(parts.query)["token"]
    assert len(token) >= 32  # secrets.token_urlsafe(32): 43 characters
    base = f"http://127.0.0.1:{parts.port}"
    kernel = f"{base}/api/kernels/{uuid.uuid4()}"

    for host in ("evil.example", f"evil.example:{parts.port}"):
        for target in (url, f"{base}/", f"{kernel}?token={token}", f"{kernel}/channels"):
            status, _, body = http_get(target, {"Host": host})
            assert status == 403, (host, target, status)
            assert b"widget" not in body

    # no token, or a wrong one: the page sends to the login form, the API answers 403
    for target in (f"{base}/", f"{base}/?token=wrong{token}"):
        status, headers, body = http_get(target)
        assert status == 302 and urlsplit(headers["Location"]).path == "/login", (target, status)
        assert b"widget" not in body
    assert http_get(kernel)[0] == 403
    assert http_get(f"{kernel}?token=wrong{token}")[0] == 403
    assert http_get(f"{kernel}/channels")[0] == 403

    # the token gets through, on 127.0.0.1 and on localhost
    assert http_get(f"{kernel}?token={token}")[0] == 404
    assert http_get(f"{kernel}?token={token}", {"Host": f"localhost:{parts.port}"})[0] == 404
