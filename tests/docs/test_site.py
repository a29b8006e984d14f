"""The built site in a real browser, from ``file://`` with no network.

Each tutorial's gallery page (and the other example pages) must show every figure it embeds
rendered by Plotly, with no script error and no request leaving ``file://``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "docs" / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TUTORIALS = ["plot_1_paraboloid", "plot_2_fitting_a_line", "plot_3_choosing_a_step",
             "plot_4_slope_view"]


def _pages() -> list[Path]:
    return sorted((SITE / "auto_examples").glob("*/plot_*.html"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert (SITE / "index.html").is_file(), f"no built site at {SITE}: run make docs"
    assert Path(CHROMIUM).is_file(), "chromium is not installed (make chromium)"
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path) -> tuple[object, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri(), timeout=120_000)  # a busy machine parses 4.8 MB of plotly.js
    return page, requests, errors


def _offline(requests: list[str]) -> list[str]:
    return [u for u in requests if not u.startswith(("file://", "data:", "blob:", "about:"))]


def test_every_tutorial_has_a_page():
    names = {p.stem for p in _pages()}
    assert set(TUTORIALS) <= names, f"missing tutorial pages: {set(TUTORIALS) - names}"


@pytest.mark.parametrize("path", _pages(), ids=lambda p: p.stem)
def test_gallery_page_renders_its_figures_offline(browser, path):
    page, requests, errors = _open(browser, path)
    n = page.locator("div.plotly-graph-div").count()
    if path.stem in TUTORIALS:
        assert n >= 1, f"{path.name}: a tutorial page without a figure"
    # every embedded figure drawn by plotly.js: a plot div with its data and an SVG
    page.wait_for_function(
        "(n) => { const gds = document.querySelectorAll('div.plotly-graph-div');"
        " return gds.length === n && Array.from(gds).every(gd => gd._fullData"
        " && gd._fullData.length > 0 && gd.querySelector('svg.main-svg')); }",
        arg=n, timeout=60_000)
    if n:
        assert page.evaluate("() => typeof window.Plotly") == "object"
    assert not errors, f"{path.name}: {errors}"
    assert not _offline(requests), f"{path.name} asked the network for {_offline(requests)}"
    if path.stem in TUTORIALS:
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / f"docs-{path.stem}.png"), full_page=False)
    page.close()


def test_plotly_js_is_on_disk_once():
    banner = b"* plotly.js v"  # the first line of plotly.min.js
    copies = [p.relative_to(SITE).as_posix() for p in SITE.rglob("*")
              if p.is_file() and p.suffix in (".js", ".html") and banner in p.read_bytes()]
    assert copies == ["_static/plotly.min.js"]


@pytest.mark.parametrize("rel", ["index.html", "reference/descend.html", "guide/concepts.html"])
def test_text_pages_load_offline_with_math(browser, rel):
    page, requests, errors = _open(browser, SITE / rel)
    if page.locator("span.math, div.math").count():
        page.wait_for_selector("mjx-container svg", timeout=30_000)  # MathJax typeset it
    assert not errors, f"{rel}: {errors}"
    assert not _offline(requests), f"{rel} asked the network for {_offline(requests)}"
    page.close()
