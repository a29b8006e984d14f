"""The explorer in a real browser: Debian's chromium driven by Playwright, headless.

The tests start the server themselves (``descend app``'s waitress, a subprocess on a
free loopback port) and check that every request the pages make stays on 127.0.0.1.
Screenshots go to ``test-artifacts/``; the ones the README shows are written to
``docs/`` as well (``docs/app*.png``).
"""

from __future__ import annotations

import os
import re
import shutil
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

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WAIT = 40_000  # ms, for one server round trip on a busy machine


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
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "explorer-server.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "descend", "app", "--port", str(port)],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
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
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a busy machine: waitress did not stop in time
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def hosts(server) -> Iterator[list[str]]:
    seen: list[str] = []
    yield seen
    assert set(seen) <= {server.split("/")[2]}, seen


#: counts the page's callback requests in flight (``window.__dashPending``)
_COUNT_REQUESTS = """
window.__dashPending = 0;
const _fetch = window.fetch;
window.fetch = function (...args) {
  const url = String(args[0] && args[0].url || args[0]);
  if (!url.includes('_dash-update-component')) { return _fetch.apply(this, args); }
  window.__dashPending += 1;
  return _fetch.apply(this, args).finally(() => { window.__dashPending -= 1; });
};
"""


def _page(browser, hosts: list[str], width: int = 1280, height: int = 800):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("request", lambda req: hosts.append(req.url.split("/")[2]))
    page.add_init_script(_COUNT_REQUESTS)
    return page


def _quiet(page, ms: int = 600) -> None:
    """Wait until no callback request has been in flight for ``ms`` (the answers that
    answers cause, such as a dropdown clearing itself, included)."""
    for _ in range(2):
        page.wait_for_function("() => window.__dashPending === 0", timeout=WAIT)
        page.wait_for_timeout(ms)
    page.wait_for_function("() => window.__dashPending === 0", timeout=WAIT)


def _shot(page, name: str, docs: str | None = None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if docs:
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / docs)


def _js(page, body: str, arg=None):
    return page.evaluate(f"(a) => {{ const gd = document.querySelector('#' + (a && a.g || "
                         f"'contour') + ' .js-plotly-plot'); {body} }}", arg)


def _trace(page, name_start: str, graph: str = "contour") -> list[float]:
    return _js(page, "const t = gd && gd._fullData.find(d => (d.name || '').startsWith(a.n));"
                     " return t ? Array.from(t.x) : [];", {"g": graph, "n": name_start})


def _marker(page, meta: str, graph: str = "contour") -> list[float]:
    return _js(page, "const t = gd && gd._fullData.find(d => d.meta === a.m &&"
                     " d.name === 'current point'); return t ? Array.from(t.x) : [];",
               {"g": graph, "m": meta})


def _show(page, it: int | None) -> None:
    """Type an iteration into the slider's box (None: the last one)."""
    box = page.locator("#iteration input[type=number]")
    box.fill(str(it if it is not None else box.get_attribute("max")))
    box.press("Tab")


def _most_digits(text: str) -> int:
    """The most significant digits of any decimal number in ``text`` (the tolerances'
    defaults and the status words aside)."""
    most = 0
    for tok in re.findall(r"\d*\.\d+", text):
        most = max(most, len(tok.replace(".", "").lstrip("0")))
    return most


def _it(page) -> int:
    m = re.search(r"iteration: (\d+) of", page.locator("#status").inner_text())
    return int(m.group(1)) if m else -1


def _status_x(page) -> float:
    m = re.search(r"x = \(([-0-9.e+]+)", page.locator("#status").inner_text())
    return float(m.group(1)) if m else float("nan")


def test_step_click_url_and_hostile_formula(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=paraboloid")
    status = page.locator("#status")
    expect(status).to_contain_text("x = (6, -3)", timeout=WAIT)

    page.locator("#preset").click()
    page.get_by_role("option", name="rosenbrock", exact=True).click()
    expect(status).to_contain_text("x = (-1.2, 1)", timeout=WAIT)

    # click the contour: the start is the exact point under the pointer
    area = page.locator("#contour .nsewdrag")
    want = _js(page, "return [gd._fullLayout.xaxis.p2d(160), gd._fullLayout.yaxis.p2d(120)];")
    area.click(position={"x": 160, "y": 120})
    expect(page.locator("#x0")).not_to_have_value("-1.2, 1", timeout=WAIT)
    x0 = [float(v) for v in page.locator("#x0").input_value().split(",")]
    assert x0 == pytest.approx(want, rel=1e-4, abs=1e-4)

    for k in (1, 2, 3):
        with page.expect_response(lambda r: "_dash-update-component" in r.url
                                  and r.request.method == "POST", timeout=WAIT) as answer:
            page.click("#step")
        expect(status).to_contain_text(f"iteration: {k} of", timeout=WAIT)
        if k > 1:
            assert "__dash_patch_update" in answer.value.text()
        page.wait_for_function(
            "([n]) => { const gd = document.querySelector('#contour .js-plotly-plot');"
            " const t = gd && gd._fullData.find(d => (d.name || '').startsWith('gd:'));"
            " return t && t.x.length === n; }", arg=[k + 1], timeout=WAIT)
    assert _js(page, "return gd._fullData[0].type;") == "contour"

    copy = _page(browser, hosts)
    copy.goto(page.url)
    expect(copy.locator("#status")).to_have_text(status.inner_text(), timeout=WAIT)
    copy.close()

    page.fill("#formula", "__import__('os').system('echo hi')")
    page.locator("#formula").press("Enter")
    expect(page.locator("#formula-error")).to_contain_text("formula:", timeout=WAIT)
    page.fill("#formula", "x**2 + 3*y**2")
    page.locator("#formula").press("Enter")
    expect(page.locator("#formula-error")).to_have_text("", timeout=WAIT)
    expect(page.locator("#latex")).to_contain_text("6", timeout=WAIT)
    page.close()


def test_readable_landscapes(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=rosenbrock&methods=gd,momentum,adam&it=200")
    expect(page.locator("#status")).to_contain_text("iteration: 200 of", timeout=WAIT)
    page.wait_for_selector("#contour .js-plotly-plot")
    # Rosenbrock spans about four decades: the colour scale is log on "auto"
    assert _js(page, "return gd._fullData[0].colorbar.title.text;") == "log10(1+f-min)"
    # equal aspect: one unit of x is as long as one unit of y on the screen
    ratio = _js(page, "const L = gd._fullLayout; return (L.xaxis._length / (L.xaxis.range[1]"
                      " - L.xaxis.range[0])) / (L.yaxis._length / (L.yaxis.range[1] -"
                      " L.yaxis.range[0]));")
    assert ratio == pytest.approx(1.0, rel=0.02)
    # the contour levels stop a little above the highest value the paths reach
    end = _js(page, "return gd._fullData[0].contours.end;")
    assert end < _js(page, "const z = gd._fullData[0].z.map(r => Array.from(r)).flat()"
                           ".filter(Number.isFinite); return Math.max(...z);")
    _shot(page, "explorer-landscape", "app.png")
    page.get_by_role("radio", name="off").first.check()
    page.wait_for_function("() => document.querySelector('#contour .js-plotly-plot')"
                           "._fullData[0].colorbar.title.text === 'f'", timeout=WAIT)
    page.locator("#aspect").get_by_text("free").click()
    page.wait_for_function("() => !document.querySelector('#contour .js-plotly-plot')"
                           "._fullLayout.yaxis.scaleanchor", timeout=WAIT)
    # 3-D: the paths are drawn above the surface, so they are never hidden under it
    page.goto(server + "?f=custom&formula=abs(x)%2Babs(y)&x0=2,1.5&lr=0.05&it=20&view=surface")
    page.wait_for_selector("#surface .js-plotly-plot", timeout=WAIT)
    page.wait_for_function("() => { const gd = document.querySelector('#surface "
                           ".js-plotly-plot'); return gd && gd._fullData.length > 1; }",
                           timeout=WAIT)
    above = _js(page, "const t = gd._fullData.find(d => (d.name || '').startsWith('gd:'));"
                      " return t.z.every((z, i) => z > Math.abs(t.x[i]) + Math.abs(t.y[i]));",
                {"g": "surface"})
    assert above
    _shot(page, "explorer-surface")
    page.close()


def test_forces_at_the_current_point(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=paraboloid&methods=gd,momentum,adam&it=4&lr=0.05")
    status = page.locator("#status")
    expect(status).to_contain_text("velocity carries", timeout=WAIT)
    expect(status).to_contain_text("per-coordinate scaling of the gradient step")
    expect(status).to_contain_text("step taken")
    expect(status).to_contain_text("with step size 0.05")
    expect(page.locator("#forces-key")).to_contain_text("−∇f")
    # the status may arrive before plotly has drawn the figure: wait for its arrows
    page.wait_for_function("() => { const gd = document.querySelector('#contour "
                           ".js-plotly-plot'); return gd && gd._fullLayout && "
                           "(gd._fullLayout.annotations || []).length >= 3; }", timeout=WAIT)
    colours = _js(page, "return gd._fullLayout.annotations.map(a => a.arrowcolor);")
    assert {"#ff2d95", "#ff9f1c", "#9e9e9e"} <= set(colours)
    _shot(page, "explorer-forces", "app-forces.png")
    # the 1-D view: the tangent at the point and the downhill arrow
    page.goto(server + "?f=custom&formula=(x-1)**2%2B0.5&x0=3&lr=0.2&it=2&view=tangent")
    page.wait_for_selector("#tangent .js-plotly-plot", timeout=WAIT)
    page.wait_for_function("() => { const gd = document.querySelector('#tangent "
                           ".js-plotly-plot'); return gd && gd._fullData.some(d => "
                           "(d.name || '').startsWith('tangent')); }", timeout=WAIT)
    assert _js(page, "return gd._fullLayout.annotations.length;", {"g": "tangent"}) >= 1
    page.close()


def test_hyperparameters_live_drag_and_race(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=rosenbrock&methods=gd,momentum,adam")
    expect(page.locator("#status")).to_contain_text("adam: iteration: 0", timeout=WAIT)
    page.wait_for_selector("#contour .js-plotly-plot", timeout=WAIT)
    legend = _js(page, "return gd._fullData.map(d => d.name);")
    assert any(re.match(r"momentum: (converged in \d+ iterations|not converged in \d+)", n)
               for n in legend)
    before = page.locator("#status").inner_text()
    # drag the learning rate: the whole path is redrawn while the pointer is down
    thumb = page.locator("#lr-slider [role=slider]")
    box = thumb.bounding_box()
    answers: list[float] = []
    page.on("response", lambda r: answers.append(time.perf_counter())
            if "_dash-update-component" in r.url else None)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for k in range(1, 9):
        page.mouse.move(box["x"] + box["width"] / 2 - 6 * k, box["y"] + box["height"] / 2)
        page.wait_for_timeout(150)
    # the pointer is still down: the redraw came while dragging
    page.wait_for_function("([b]) => document.querySelector('#status').innerText !== b",
                           arg=[before], timeout=WAIT)
    drawn = _trace(page, "gd:")
    page.mouse.up()
    assert answers
    assert len(drawn) > 100  # the whole new path, not iteration 0
    # beta: momentum's path changes with it
    mom_before = _trace(page, "momentum:")
    beta = page.locator("#beta [role=slider]")
    beta.focus()
    for _ in range(5):
        beta.press("ArrowLeft")
    page.wait_for_function("([n]) => { const gd = document.querySelector('#contour "
                           ".js-plotly-plot'); const t = gd._fullData.find(d => (d.name || '')"
                           ".startsWith('momentum:')); return t && t.x[5] !== n; }",
                           arg=[mom_before[5]], timeout=WAIT)
    _shot(page, "explorer-race", "app-race.png")
    page.close()


def test_animation_you_control(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=himmelblau&lr=0.005&methods=gd,momentum&speed=30")
    expect(page.locator("#status")).to_contain_text("iteration: 0 of", timeout=WAIT)
    page.click("#run")
    page.wait_for_function("() => /iteration: [1-9]/.test(document.querySelector('#status')"
                           ".innerText)", timeout=WAIT)
    for _ in range(4):  # while it plays, text, marker and path agree on the iteration shown
        page.wait_for_timeout(300)
        state = _js(page, "const s = document.querySelector('#status').innerText;"
                          " const m = s.match(/gd: iteration: (\\d+) of/);"
                          " const t = gd._fullData.find(d => d.meta === 'gd' &&"
                          " (d.name || '').startsWith('gd:'));"
                          " const e = gd._fullData.find(d => d.meta === 'gd' &&"
                          " d.name === 'current point');"
                          " const x = s.match(/gd: iteration: \\d+ of \\d+, x = \\(([-0-9.e+]+)/);"
                          " return [+m[1], t.x.length, t.x[t.x.length - 1], e.x[0], +x[1]];")
        it, n, last, marker, shown = state
        assert n == it + 1 and last == marker
        assert float(f"{marker:.4g}") == pytest.approx(shown, rel=1e-3, abs=1e-12)
    page.click("#pause")
    page.wait_for_timeout(500)
    held = _it(page)
    page.wait_for_timeout(800)
    assert _it(page) == held
    # the slider over iterations
    _show(page, 25)
    expect(page.locator("#status")).to_contain_text("gd: iteration: 25 of", timeout=WAIT)
    assert len(_trace(page, "gd:")) == 26
    page.click("#reset")
    expect(page.locator("#status")).to_contain_text("gd: iteration: 0 of", timeout=WAIT)
    _shot(page, "explorer-play")
    page.close()


def test_slope_view(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=rosenbrock")
    expect(page.locator("#status")).to_contain_text("iteration: 0", timeout=WAIT)
    page.locator("#view").get_by_text("the slope view (1-D)").click()
    expect(page.locator("#notice")).to_contain_text("the loss over the slope alone",
                                                    timeout=WAIT)
    page.wait_for_selector("#tangent .js-plotly-plot", timeout=WAIT)
    title = _js(page, "return gd._fullLayout.title.text;", {"g": "tangent"})
    assert title.startswith("loss over the slope: 138.7 - 136.4·slope + 33.67·slope²")
    lo, hi = _js(page, "return gd._fullLayout.xaxis.range;", {"g": "tangent"})
    assert lo < 0 < 2.025 < hi  # the start and the minimum in sight
    assert page.locator("#x0").input_value() == "0"
    expect(page.locator("#preset-1d input").first).to_be_enabled(timeout=WAIT)
    for name, verdict in (("too small", "too_small"), ("good", "good"),
                          ("too large", "oscillating"), ("diverging", "diverged")):
        frac = {"too small": "0.00115", "good": "0.35", "too large": "0.9",
                "diverging": "1.25"}[name]
        page.locator("#preset-1d").get_by_text(name, exact=True).click()
        expect(page.locator("#status")).to_contain_text(f"= {frac} × 2/L", timeout=WAIT)
        expect(page.locator("#status")).to_contain_text("iteration: 0 of", timeout=WAIT)
        _show(page, None)
        expect(page.locator("#status")).to_contain_text(f"verdict: {verdict}", timeout=WAIT)
        assert _most_digits(page.locator("#status").inner_text()) <= 4
    page.locator("#preset-1d").get_by_text("too large", exact=True).click()
    page.click("#step")
    expect(page.locator("#status")).to_contain_text("overshot: the point crossed the minimum",
                                                    timeout=WAIT)
    _shot(page, "explorer-slope", "app-slope.png")
    page.fill("#x0", "4")
    page.locator("#x0").press("Enter")
    expect(page.locator("#status")).to_contain_text("x = (4)", timeout=WAIT)
    page.close()


def _csv_file(tmp_path: Path) -> Path:
    import numpy as np

    xs = np.linspace(0, 100, 80)
    rng = np.random.default_rng(0)
    rows = [f"{x:.3f},{3 * x - 7 + rng.normal(0, 5):.3f},{x * x:.3f},{'ab'[i % 2]}"
            for i, x in enumerate(xs)]
    path = tmp_path / "wide.csv"
    path.write_text("x,y,x2,label\n" + "\n".join(rows) + "\n")
    return path


def test_fitting_a_line_with_an_upload(server, browser, hosts, tmp_path):
    page = _page(browser, hosts)
    page.goto(server + "?f=regression&view=regression")
    page.wait_for_selector("#regression .js-plotly-plot", timeout=WAIT)
    page.locator("summary").get_by_text("Data for fitting a line").click()
    page.locator("#upload input[type=file]").set_input_files(str(_csv_file(tmp_path)))
    notice = page.locator("#notice")
    expect(notice).to_contain_text("3 numeric columns", timeout=WAIT)
    expect(notice).to_contain_text("choose the columns")
    expect(notice).to_contain_text("ignored non-numeric column(s): label")
    expect(notice).to_contain_text("lr set to 1/L")
    _show(page, None)
    expect(page.locator("#status")).not_to_contain_text("diverged", timeout=WAIT)
    expect(page.locator("#status")).to_contain_text("status:", timeout=WAIT)
    page.locator("#ycol").click()
    page.get_by_role("option", name="x2", exact=True).click()
    page.wait_for_function("() => { const gd = document.querySelector('#regression "
                           ".js-plotly-plot'); return gd && gd._fullLayout.yaxis.title.text"
                           " === 'x2'; }", timeout=WAIT)
    page.locator("#mb").get_by_text("mini-batch path beside").click()
    page.wait_for_function("() => { const gd = document.querySelector('#regression-landscape "
                           ".js-plotly-plot'); return gd && gd._fullData.some(d => (d.name ||"
                           " '').startsWith('mini-batch')); }", timeout=WAIT)
    # the picture for the README: the tutorial's own line, full batch and mini-batch
    page.goto(server + "?f=regression&view=regression&mb=1&it=300")
    page.wait_for_function("() => { const gd = document.querySelector('#regression-landscape "
                           ".js-plotly-plot'); return gd && gd._fullData.some(d => (d.name ||"
                           " '').startsWith('mini-batch')); }", timeout=WAIT)
    page.locator("#regression").scroll_into_view_if_needed()
    _shot(page, "explorer-line", "app-line.png")
    page.close()


def _classes_file(tmp_path: Path) -> Path:
    import numpy as np

    rng = np.random.default_rng(7)
    a = rng.normal(170, 9, 90)
    b = rng.normal(70, 12, 90)
    p = 1 / (1 + np.exp(-(0.25 * (a - 170) - 0.15 * (b - 70))))
    y = (rng.random(90) < p).astype(int)
    path = tmp_path / "classes.csv"
    path.write_text("height,weight,tall\n" + "\n".join(
        f"{u:.2f},{v:.2f},{w}" for u, v, w in zip(a, b, y, strict=True)) + "\n")
    return path


def _boundary(page) -> list[float]:
    return _js(page, "const t = gd && gd._fullData.find(d => d.name === 'decision boundary "
                     "(p = 0.5)'); return t ? Array.from(t.x).concat(Array.from(t.y)) : null;",
               {"g": "regression"})


def test_classification_mode(server, browser, hosts, tmp_path):
    page = _page(browser, hosts)
    page.goto(server + "?f=regression&view=regression&task=line")
    page.wait_for_selector("#regression .js-plotly-plot", timeout=WAIT)
    page.locator("summary").get_by_text("Data for fitting a line").click()
    page.locator("#upload input[type=file]").set_input_files(str(_classes_file(tmp_path)))
    expect(page.locator("#notice")).to_contain_text("tall takes two values", timeout=WAIT)
    status = page.locator("#status")
    expect(status).not_to_contain_text("accuracy", timeout=WAIT)  # asked to fit a line
    page.locator("#task").get_by_text("classify", exact=True).click()
    expect(status).to_contain_text("accuracy = ", timeout=WAIT)
    expect(page.locator("#notice")).to_contain_text("classifying tall (0 or 1) from height "
                                                    "and weight", timeout=WAIT)
    assert "task=classify" in page.url
    expect(status).to_contain_text("none yet", timeout=WAIT)  # iteration 0: all zero
    page.wait_for_function("() => { const gd = document.querySelector('#regression "
                           ".js-plotly-plot'); return gd && gd._fullData.some(d => "
                           "d.name === 'decision boundary (p = 0.5)'); }", timeout=WAIT)
    assert _boundary(page) == []
    seen = []
    for k in (1, 2, 3):
        page.click("#step")
        expect(status).to_contain_text(f"iteration: {k} of", timeout=WAIT)
        page.wait_for_function("([k]) => { const gd = document.querySelector('#regression "
                               ".js-plotly-plot'); return gd && (gd._fullLayout.title.text || "
                               "'').includes('at iteration ' + k + ':'); }", arg=[k],
                               timeout=WAIT)
        line = _boundary(page)
        assert line and len(line) == 4  # two ends of the p = 0.5 line
        seen.append(line)
    assert seen[0] != seen[2]  # the boundary moves as the fit goes on
    text = status.inner_text()
    assert re.search(r"log loss = 0\.\d+", text) and re.search(r"accuracy = [\d.]+%", text)
    assert "decision boundary (p = 0.5): " in text and "·height" in text
    names = _js(page, "return gd._fullData.map(d => d.name);", {"g": "regression"})
    assert sum(1 for n in names if n.startswith("tall = ")) == 2
    assert _js(page, "return gd._fullData[0].type;", {"g": "regression"}) == "contour"
    loss = _js(page, "return Array.from(gd._fullData[0].y);", {"g": "regression-loss"})
    assert len(loss) == 4 and loss[-1] < loss[0]
    _show(page, 40)
    expect(status).to_contain_text("iteration: 40 of", timeout=WAIT)
    page.wait_for_function("() => (document.querySelector('#regression .js-plotly-plot')"
                           "._fullLayout.title.text || '').includes('at iteration 40:')",
                           timeout=WAIT)
    page.locator("#regression").scroll_into_view_if_needed()
    _shot(page, "explorer-classification", "app-classification.png")
    page.close()


def test_honest_views_for_any_dimension(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=paraboloid")
    expect(page.locator("#status")).to_contain_text("iteration: 0", timeout=WAIT)
    page.fill("#formula", "(x - 2)**2 + 1")
    page.locator("#formula").press("Enter")
    expect(page.locator("#notice")).to_contain_text("needs two variables", timeout=WAIT)
    page.wait_for_selector("#tangent .js-plotly-plot", timeout=WAIT)
    # the slice dropdowns lose their option "y" and clear themselves, which sends one more
    # request: once the page is quiet the notice must still be there
    _quiet(page)
    expect(page.locator("#notice")).to_contain_text("needs two variables")
    tab = page.locator("#tab-contour")
    expect(tab).to_have_attribute("title", re.compile("disabled: needs two or more"))
    expect(tab).to_have_class(re.compile("tab--disabled"))
    page.fill("#formula", "x**2 + 2*y**2 + 3*z**2")
    page.locator("#formula").press("Enter")
    page.locator("#view").get_by_text("contour", exact=True).click()
    page.wait_for_selector("#contour-loss .js-plotly-plot", timeout=WAIT)
    assert "slice through the current point" in _js(page, "return gd._fullLayout.title.text;")
    page.locator("#sy").click()
    page.get_by_role("option", name="z", exact=True).click()
    page.wait_for_function("() => document.querySelector('#contour .js-plotly-plot')"
                           "._fullLayout.yaxis.title.text === 'z'", timeout=WAIT)
    _shot(page, "explorer-slice", "app-slice.png")
    page.close()


def test_basins(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=himmelblau&lr=0.01&view=basins")
    page.wait_for_selector("#basins .js-plotly-plot", timeout=WAIT)
    names = _js(page, "return gd._fullData.map(d => d.name);", {"g": "basins"})
    assert sum(1 for n in names if n.startswith("minimum ")) == 4
    assert _js(page, "return gd._fullData[0].type;", {"g": "basins"}) == "heatmap"
    expect(page.locator("#x0-box")).to_have_attribute("title", re.compile("^disabled: "))
    assert page.locator("#x0").is_disabled()
    _shot(page, "explorer-basins", "app-basins.png")
    page.close()


def test_labels_tooltips_and_sizes(server, browser, hosts):
    page = _page(browser, hosts, 1280, 800)
    page.goto(server + "?f=rosenbrock&view=sweep")
    page.wait_for_selector("#sweep .js-plotly-plot", timeout=WAIT)
    for name in ("Function", "or type a formula", "Start", "Learning rate (log scale; drag to "
                 "redraw)", "lr", "momentum β (momentum, nesterov)", "Adam β1", "Adam β2",
                 "Armijo c", "shrink", "Iteration shown", "Speed (iterations per second)",
                 "colour scale", "axes", "Slope view step size", "Basins: starts per side"):
        assert page.get_by_label(name, exact=True).count() >= 1, name
    for name in ("Step", "run (play)", "pause", "Reset"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    # the sweep chooses its own rates: lr is disabled and says why
    expect(page.locator("#lr-box")).to_have_attribute("title",
                                                      re.compile("^disabled: choosing a step"))
    assert page.locator("#lr").is_disabled()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    assert page.locator("#sweep").bounding_box()["x"] < 1280
    subplot_titles = _js(page, "return gd._fullLayout.annotations.map(a => a.text);",
                         {"g": "sweep"})
    assert all(re.match(r"lr = [0-9.e+-]+: ", t) for t in subplot_titles)
    assert _most_digits(" ".join(subplot_titles)) <= 4
    assert _js(page, "return gd._fullLayout.xaxis.title.text;", {"g": "sweep"}) == "iteration"
    page.close()
    phone = _page(browser, hosts, 390, 844)
    phone.goto(server + "?f=himmelblau&lr=0.01&it=20")
    expect(phone.locator("#status")).to_contain_text("iteration: 20", timeout=WAIT)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    panel, graph = phone.locator(".panel").bounding_box(), phone.locator("#view").bounding_box()
    assert graph["y"] > panel["y"] + panel["height"] - 1  # stacked: controls, then the view
    phone.locator("#view").scroll_into_view_if_needed()
    _shot(phone, "explorer-phone", "app-phone.png")
    phone.close()


def test_exports(server, browser, hosts):
    page = _page(browser, hosts)
    page.goto(server + "?f=paraboloid&it=5")
    expect(page.locator("#status")).to_contain_text("iteration: 5 of", timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        page.click("#download-csv-button")
    assert dl.value.suggested_filename == "descend-path.csv"
    assert len(Path(dl.value.path()).read_text().strip().split("\n")) == 7
    with page.expect_download(timeout=WAIT) as dl:
        page.click("#download-html-button")
    assert dl.value.suggested_filename == "descend-contour.html"
    page.close()


def test_upload_with_a_missing_value_is_refused(server, browser, hosts, tmp_path):
    page = _page(browser, hosts)
    page.goto(server + "?f=regression&view=regression")
    page.wait_for_selector("#regression .js-plotly-plot", timeout=WAIT)
    page.locator("summary").get_by_text("Data for fitting a line").click()
    bad = tmp_path / "gaps.csv"
    bad.write_text("x,y\n0,1\n1,\n2,5\n")
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    expect(page.locator("#notice")).to_contain_text("column 'y' contains NaN at row 1",
                                                    timeout=WAIT)
    page.close()

