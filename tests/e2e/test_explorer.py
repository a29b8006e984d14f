"""The explorer in a real browser: Debian's chromium driven by Playwright, headless.

The test starts the server itself (a subprocess on a free loopback port) and checks
that every request the page makes stays on 127.0.0.1. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("dash")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT = 20_000  # ms, for one server round trip on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (make chromium)")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep
           + os.environ.get("PYTHONPATH", "")}
    code = f"from descend.app import serve; serve('127.0.0.1', {port}, 1)"
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "explorer-server.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"the explorer did not start: {log.read().decode()[-2000:]}")
                time.sleep(0.1)  # polling for the port, not waiting for a result
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser, hosts: list[str]):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.on("request", lambda req: hosts.append(req.url.split("/")[2]))
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _trace(page, graph: str, name: str) -> list[float]:
    return page.evaluate(
        "([g, n]) => { const gd = document.querySelector('#' + g + ' .js-plotly-plot');"
        " const t = gd && gd._fullData.find(d => d.name === n); return t ? Array.from(t.x) : []; }",
        [graph, name])


def test_explore_step_run_url_tangent_and_hostile_formula(server, browser):
    hosts: list[str] = []
    page = _page(browser, hosts)
    page.goto(server + "?f=paraboloid")
    status = page.locator("#status")
    expect(status).to_contain_text("x = (6, -3)", timeout=WAIT)

    # choose Rosenbrock in the menu
    page.locator("#preset").click()
    page.get_by_role("option", name="rosenbrock", exact=True).click()
    expect(status).to_contain_text("x = (-1.2, 1)", timeout=WAIT)

    # click the contour: the start is the exact point under the pointer
    area = page.locator("#contour .nsewdrag")
    area.click(position={"x": 120, "y": 90})
    expect(page.locator("#x0")).not_to_have_value("-1.2, 1", timeout=WAIT)
    want = page.evaluate(
        "() => { const gd = document.querySelector('#contour .js-plotly-plot');"
        " return [gd._fullLayout.xaxis.p2d(120), gd._fullLayout.yaxis.p2d(90)]; }")
    x0 = [float(v) for v in page.locator("#x0").input_value().split(",")]
    assert x0 == pytest.approx(want, rel=1e-4, abs=1e-4)

    for k in (1, 2, 3):
        with page.expect_response(lambda r: "_dash-update-component" in r.url,
                                  timeout=WAIT) as answer:
            page.click("#step")
        expect(status).to_contain_text(f"iteration: {k},", timeout=WAIT)
        if k > 1:
            assert "__dash_patch_update" in answer.value.text()
        # a Step after the first sends only the paths (a Patch): the drawn path grows
        page.wait_for_function(
            "([n]) => { const gd = document.querySelector('#contour .js-plotly-plot');"
            " const t = gd && gd._fullData.find(d => d.name === 'gd');"
            " return t && t.x.length === n; }", arg=[k + 1], timeout=WAIT)
    assert page.evaluate(
        "() => document.querySelector('#contour .js-plotly-plot')._fullData[0].type"
    ) == "contour"
    _shot(page, "explorer-step3")

    # the URL restores the same view, iteration count included
    copy = _page(browser, hosts)
    copy.goto(page.url)
    expect(copy.locator("#status")).to_have_text(status.inner_text(), timeout=WAIT)
    copy.close()

    # Run: the whole path comes once and the page animates it
    page.click("#run")
    expect(status).to_contain_text("iteration: 1000,", timeout=WAIT)
    page.wait_for_function(
        "() => { const gd = document.querySelector('#contour .js-plotly-plot');"
        " const t = gd && gd.data.find(d => d.name === 'gd');"
        " return t && t.x.length > 100; }", timeout=WAIT)
    _shot(page, "explorer-run")

    # seed 003's 1-D view: 'too large' lands on the other side of the minimum
    page.locator("#view").get_by_text("1-D (seed 003)").click()
    expect(page.locator("#tangent")).to_be_visible(timeout=WAIT)
    page.get_by_text("too large", exact=True).click()
    page.click("#reset")
    expect(status).to_contain_text("iteration: 0,", timeout=WAIT)
    page.click("#step")
    expect(status).to_contain_text("iteration: 1,", timeout=WAIT)
    expect(status).to_contain_text("overshot: the point crossed the minimum")
    best = float(status.inner_text().split("minimum at slope = ")[1].split(";")[0])
    path = _trace(page, "tangent", "path")
    assert path[0] < best < path[1]
    _shot(page, "explorer-tangent")

    # hostile text gets an inline message and the app keeps serving
    page.locator("#view").get_by_text("contour", exact=True).click()
    page.fill("#formula", "__import__('os').system('echo hi')")
    page.locator("#formula").press("Enter")
    expect(page.locator("#formula-error")).to_contain_text("formula:", timeout=WAIT)
    page.fill("#formula", "x**2 + 3*y**2")
    page.locator("#formula").press("Enter")
    expect(page.locator("#formula-error")).to_have_text("", timeout=WAIT)
    expect(page.locator("#latex")).to_contain_text("6", timeout=WAIT)
    _shot(page, "explorer-formula")
    page.close()

    assert hosts and set(hosts) == {server.split("/")[2]}
