"""Screenshots of the explorer for the documentation, taken in a real browser.

Each view is opened from a shareable URL (the explorer's state lives in the query string), and
the page is photographed once every figure of the view is drawn. The pictures go to
``docs/_screenshots/`` (not committed), where the gallery's explorer page shows them; ``make
docs`` runs this test first when they are missing.
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

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "_screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

#: picture name -> the explorer's URL query for it
VIEWS = {
    "explorer-race": "?f=rosenbrock&x0=-1.2,1&methods=gd,momentum,adam&lr=0.001&it=1000"
                     "&view=contour",
    "explorer-surface": "?f=himmelblau&x0=-0.5,0&methods=gd&lr=0.01&it=100&view=surface",
    "explorer-slope": "?f=regression&view=tangent&p1d=too_large&it=3",
    "explorer-regression": "?f=regression&x0=0,0&methods=gd&lr=0.02&it=500&view=regression",
    "explorer-rates": "?f=paraboloid&view=sweep",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def explorer_url() -> Iterator[str]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (make chromium)")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep
           + os.environ.get("PYTHONPATH", "")}
    code = f"from descend.app import serve; serve('127.0.0.1', {port}, 1)"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
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
                    pytest.fail("the explorer did not start")
                time.sleep(0.1)  # polling for the port, not waiting for a result
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("name", list(VIEWS))
def test_screenshot(explorer_url, browser, name):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(explorer_url + VIEWS[name])
    page.wait_for_load_state("networkidle")
    # every figure on the page drawn, with data
    page.wait_for_function(
        "() => { const gds = Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(gd => gd.offsetParent !== null);"
        " return gds.length > 0 && gds.every(gd => gd._fullData && gd._fullData.length > 0"
        " && gd.querySelector('.main-svg')); }", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # let an animation frame settle before the picture
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"))
    assert not errors, errors
    assert (OUT / f"{name}.png").stat().st_size > 10_000
    page.close()
