"""descend.plot: figure content (paths, minima, clipping, thinning), save(), auto()."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from descend import datasets, functions, minimize, plot
from descend._figures.export import find_browser, session
from descend._figures.grid import MAX_POINTS, thin_indices
from descend.errors import ExportError, InvalidArgument


def _trace(fig: go.Figure, name: str) -> go.Scatter:
    return next(t for t in fig.data if t.name == name)


def _ranges(fig: go.Figure) -> tuple[tuple[float, float], tuple[float, float]]:
    return tuple(fig.layout.xaxis.range), tuple(fig.layout.yaxis.range)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def himmelblau_run():
    f = functions.get("himmelblau")
    return f, minimize(f, [0.0, 0.0], lr=0.01)


@pytest.fixture(scope="module")
def diverged_run():
    res = minimize("x**2 + y**2", [3.0, 1.0], lr=1.5, max_iter=200)
    assert res.status == "diverged"
    return res


def test_contour_path_equals_result_path(himmelblau_run):
    f, res = himmelblau_run
    fig = plot.contour(f, paths=res)
    assert isinstance(fig, go.Figure)
    path = _trace(fig, "path")
    np.testing.assert_array_equal(path.x, res.path[:, 0])
    np.testing.assert_array_equal(path.y, res.path[:, 1])
    assert _trace(fig, "start").x[0] == res.path[0, 0]
    assert _trace(fig, "end").x[0] == res.path[-1, 0]


def test_contour_marks_the_four_minima_of_himmelblau(himmelblau_run):
    f, res = himmelblau_run
    fig = plot.contour(None, paths=res)  # the function comes from the Result
    minima = _trace(fig, "known minima")
    assert len(minima.x) == 4
    got = sorted(zip(np.round(minima.x, 6), np.round(minima.y, 6), strict=True))
    want = sorted((round(float(m[0]), 6), round(float(m[1]), 6)) for m in f.minima)
    assert got == want


def test_bounds_contain_the_path():
    res = minimize("(x - 20)**2 + (y + 15)**2", [0.0, 0.0], lr=0.1)
    (x0, x1), (y0, y1) = _ranges(plot.contour(None, paths=res))
    assert x0 <= res.path[:, 0].min() and res.path[:, 0].max() <= x1
    assert y0 <= res.path[:, 1].min() and res.path[:, 1].max() <= y1
    # explicit bounds are grown to contain the path too
    (x0, x1), _ = _ranges(plot.contour(None, bounds=((-1, 1), (-1, 1)), paths=res))
    assert x0 <= 0.0 and x1 >= 20.0


def test_diverged_path_is_clipped_with_annotation(diverged_run):
    fig = plot.contour(None, paths=diverged_run)
    (x0, x1), (y0, y1) = _ranges(fig)
    path = _trace(fig, "path")
    assert np.all((np.asarray(path.x) >= x0) & (np.asarray(path.x) <= x1))
    assert np.all((np.asarray(path.y) >= y0) & (np.asarray(path.y) <= y1))
    assert len(path.x) < len(diverged_run.path)
    notes = [a.text for a in fig.layout.annotations]
    assert f"diverged at iteration {diverged_run.nit}" in notes


def test_thinning_keeps_first_and_last():
    idx = thin_indices(10_001)
    assert len(idx) <= MAX_POINTS and idx[0] == 0 and idx[-1] == 10_000
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=0.0001, max_iter=5000, gtol=None)
    path = _trace(plot.contour(None, paths=res), "path")
    assert len(path.x) <= MAX_POINTS
    assert (path.x[0], path.x[-1]) == (res.path[0, 0], res.path[-1, 0])


def test_several_paths_race_with_labels():
    f = functions.get("himmelblau")
    runs = [minimize(f, s, lr=0.01) for s in ([0.0, 0.0], [-1.0, -1.0])]
    fig = plot.contour(f, paths=runs, labels=["a", "b"])
    np.testing.assert_array_equal(_trace(fig, "b").x, runs[1].path[:, 0])
    with pytest.raises(InvalidArgument, match="labels"):
        plot.contour(f, paths=runs, labels=["a"])


def test_multistart_like_draws_starts_ends_and_best(himmelblau_run):
    _, res = himmelblau_run
    ms = SimpleNamespace(starts=np.array([[0.0, 0.0], [-4.0, 4.0]]),
                         x=np.array([[3.0, 2.0], [-2.805118, 3.131312]]), best=res)
    fig = plot.auto(ms)
    assert list(_trace(fig, "starts").x) == [0.0, -4.0]
    np.testing.assert_array_equal(_trace(fig, "best").x, res.path[:, 0])


def test_surface_and_its_path_in_3d():
    f = functions.get("paraboloid")
    res = minimize(f, [6, -3], lr=0.01, max_iter=300, gtol=None)
    fig = plot.surface(f, paths=res, grid=21)
    assert fig.data[0].type == "surface" and fig.data[0].colorscale[0][1] == "#440154"
    assert (fig.data[0].x[0], fig.data[0].x[-1]) == f.bounds[0]
    np.testing.assert_allclose(fig.data[1].z, res.values)


def test_lr_comparison_titles_carry_verdicts():
    lrs = [0.01, 0.1, 1.5]
    runs = [minimize("x**2", [3.0], lr=lr, max_iter=50) for lr in lrs]
    sweep = SimpleNamespace(results=runs, lrs=lrs, verdicts=["slow", "good", "diverged"])
    fig = plot.lr_comparison(sweep)
    texts = [a.text for a in fig.layout.annotations]
    assert texts[:3] == ["lr = 0.01: slow", "lr = 0.1: good", "lr = 1.5: diverged"]
    assert any(t.startswith("diverged at iteration") for t in texts[3:])
    assert plot.auto(sweep).layout.annotations[0].text == "lr = 0.01: slow"


def test_loss_curve_log_and_linear_fallback():
    res = minimize("x**2 + y**2", [6.0, -3.0], lr=0.1, max_iter=50)
    fig = plot.loss_curve(res)
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(fig.data[0].y, res.values)
    neg = minimize("x**2 - 5", [2.0], lr=0.1, max_iter=50)
    fig = plot.loss_curve([res, neg])
    assert fig.layout.yaxis.type == "linear" and len(fig.data) == 2
    assert "linear scale" in fig.layout.annotations[0].text


def test_seed002_figures():
    x, y = datasets.toy_line()
    res = minimize(lambda p: float(((y - p[0] - p[1] * x) ** 2).mean()), [0.0, 0.0],
                   lr=0.02, max_iter=500, gtol=None)
    fig = plot.regression_landscape(x, y, res)
    np.testing.assert_array_equal(_trace(fig, "path").x, res.path[:, 0])
    est = SimpleNamespace(coef_=np.array([res.x[1]]), intercept_=res.x[0], path_=res.path)
    fig = plot.fit_line(x, y, est, iterations=[0, 10])
    assert [t.name for t in fig.data] == ["data", "iteration 0", "iteration 10", "fit"]
    fit = _trace(fig, "fit")
    np.testing.assert_allclose(fit.y, res.x[0] + res.x[1] * np.asarray(fit.x))
    assert plot.fit_line(x, y, (1.0, 2.0)).data[1].y[0] == 1.0 + 2.0 * x.min()
    assert plot.auto(est, x=x, y=y).data[0].type == "contour"


def test_tangent_1d_slopes_match_the_gradient():
    res = minimize("x**2", [3.0], lr=0.9, max_iter=5, gtol=None)
    fig = plot.tangent_1d(None, res)
    tan = _trace(fig, "tangent")
    x, y = np.asarray(tan.x, dtype=float), np.asarray(tan.y, dtype=float)
    slopes = (y[1::3] - y[0::3]) / (x[1::3] - x[0::3])
    np.testing.assert_allclose(slopes, 2 * res.path[:, 0])
    np.testing.assert_array_equal(_trace(fig, "path").x, res.path[:, 0])


def test_auto_and_result_plot_choose_by_dimension(himmelblau_run):
    _, res = himmelblau_run
    assert res.plot().data[0].type == "contour"
    one = minimize("x**2", [3.0], lr=0.1)
    assert [t.name for t in one.plot().data][-1] == "tangent"
    three = minimize("x**2 + y**2 + z**2", [1.0, 2.0, 3.0], lr=0.1)
    assert plot.auto(three).layout.xaxis.title.text == "iteration"


def test_animate_has_frames_buttons_and_slider(himmelblau_run):
    _, res = himmelblau_run
    fig = plot.animate(res)
    assert 1 < len(fig.frames) <= 100
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["Play", "Pause"]
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)
    last = fig.frames[-1].data[0]
    assert last.x[-1] == res.path[-1, 0]


def test_save_html_is_offline_and_atomic(tmp_path, monkeypatch):
    fig = plot.loss_curve([3.0, 2.0, 1.0])
    out = plot.save(fig, tmp_path / "loss.html")
    text = out.read_text(encoding="utf-8")
    assert "<script src=" not in text and "Plotly.newPlot" in text and len(text) > 1_000_000

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(go.Figure, "to_html", boom)
    with pytest.raises(RuntimeError):
        plot.save(fig, out)
    assert out.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.html"]


def test_save_without_browser_raises_and_keeps_file(tmp_path, monkeypatch):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(ExportError, match="apt-get install chromium"):
        plot.save(plot.loss_curve([1.0, 0.5]), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_save_bad_suffix_raises(tmp_path):
    with pytest.raises(InvalidArgument, match="path") as info:
        plot.save(plot.loss_curve([1.0, 0.5]), tmp_path / "fig.jpeg")
    assert info.value.argument == "path"


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """A tiny PNG reader: width, height and the inflated scanlines (filters included)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(find_browser() is None,
                    reason="no Chrome/Chromium for kaleido (apt-get install chromium)")
def test_png_and_svg_export_in_one_browser_session(tmp_path: Path, himmelblau_run):
    f, res = himmelblau_run
    fig = plot.contour(f, paths=res)
    with session():
        png = plot.save(fig, tmp_path / "contour.png", width=400, height=300)
        svg = plot.save(fig, tmp_path / "contour.svg", width=400, height=300)
    width, height, raw = _png_pixels(png.read_bytes())
    assert (width, height) == (400, 300)
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, -1)[:, 1:]  # drop filter bytes
    assert len(np.unique(rows)) > 10  # not a blank image
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")


def test_cli_gallery_bad_out_exits_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from descend.cli import app

    afile = tmp_path / "not-a-dir"
    afile.write_text("x")
    result = CliRunner().invoke(app, ["gallery", "--out", str(afile)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("error: out_dir:")


def test_sweep_and_multistart_plot_methods():
    import descend

    sw = descend.sweep("x**2", [3.0], [0.001, 0.1, 0.9, 1.1], max_iter=100)
    fig = sw.plot()
    titles = [a.text for a in fig.layout.annotations]
    for verdict in ("too_small", "good", "oscillating", "diverged"):
        assert any(verdict in t for t in titles)
    ms = descend.multistart(descend.functions.get("himmelblau"), 50, seed=0)
    fig = ms.plot()
    assert len(fig.data) >= 3


def test_multistart_plot_in_one_and_three_dimensions():
    import descend

    ms = descend.multistart("x**4 - 3*x**2 + x", 20, bounds=[(-3, 3)], seed=1, lr=0.01)
    fig = ms.plot()
    ends = [t for t in fig.data if t.name == "ends of all runs"]
    assert len(ends) == 1 and len(ends[0].x) == 20
    ms3 = descend.multistart("x**2 + y**2 + z**2", 5, bounds=[(-1, 1)] * 3, seed=0)
    assert ms3.plot().data
