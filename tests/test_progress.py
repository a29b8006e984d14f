"""Progress bars: drawn on stderr only on a terminal, fed by callbacks of the public API."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from descend import GDRegressor
from descend.cli import app
from descend.cli import render as r
from descend.errors import InvalidType


@pytest.fixture
def tty(monkeypatch):
    """Make the CLI's stderr console a terminal that writes into a buffer."""
    buf = io.StringIO()
    real = r.console

    def console(stderr: bool = False) -> Console:
        if stderr:
            return Console(file=buf, force_terminal=True, width=120, highlight=False)
        return real(stderr)

    monkeypatch.setattr(r, "console", console)
    return buf


def test_progress_off_a_terminal_draws_nothing(capsys):
    with r.progress("work", 10) as update:
        assert update is r.no_update
        update(5)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_progress_on_a_terminal_draws_a_bar(tty):
    with r.progress("crunching", 10) as update:
        assert update is not r.no_update
        update(7)
    drawn = tty.getvalue()
    assert "crunching" in drawn
    assert "7/10" in drawn


def test_fit_draws_its_bar_on_stderr_and_keeps_stdout_clean(tty, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.linspace(0, 10, 200)
    pd.DataFrame({"x": x, "y": 2 * x - 10}).to_csv("d.csv", index=False)
    res = CliRunner().invoke(app, ["fit", "d.csv", "--target", "y", "--json",
                                   "--lr", "0.001", "--max-iter", "300", "--tol", "0"])
    assert res.exit_code == 0, res.stderr
    json.loads(res.stdout)  # stdout is one JSON document
    drawn = tty.getvalue()
    assert "fitting d.csv (iterations)" in drawn
    assert "/300" in drawn


def test_minimize_draws_its_bar_and_gives_the_same_numbers(tty):
    args = ["minimize", "x**2 + y**2", "--x0", "6,-3", "--lr", "0.001", "--max-iter", "5000",
            "--gtol", "none", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["x"] == [0.00026968555624761565, -0.00013484277812380783]
    assert "minimizing (steps)" in tty.getvalue()


def test_gdregressor_callback_sees_every_iteration_and_can_stop():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0
    seen: list[tuple[int, float]] = []
    m = GDRegressor(lr=0.01, max_iter=50, tol=None, callback=lambda i: seen.append((i.nit, i.fun)))
    with pytest.warns(Warning):
        m.fit(X, y)
    assert [k for k, _ in seen] == list(range(1, 51))
    np.testing.assert_allclose([f for _, f in seen], m.loss_curve_[1:])

    def stop_at_5(info):
        if info.nit == 5:
            raise StopIteration

    with pytest.warns(Warning):
        m = GDRegressor(lr=0.01, max_iter=50, tol=None, callback=stop_at_5).fit(X, y)
    assert m.n_iter_ == 5


def test_gdregressor_callback_per_epoch_with_minibatches():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, 2.0] + 0.5
    epochs: list[int] = []
    m = GDRegressor(batch_size=50, max_iter=7, tol=None, random_state=0,
                    callback=lambda i: epochs.append(i.nit))
    m.fit(X, y)
    assert epochs == list(range(1, 8)) and m.n_iter_ == 7

    def stop(info):
        raise StopIteration

    with pytest.warns(Warning, match="not converged after 1 epoch: "):
        m = GDRegressor(batch_size=50, max_iter=7, tol=None, callback=stop).fit(X, y)
    assert m.n_iter_ == 1


def test_gdregressor_rejects_a_callback_that_is_not_callable():
    with pytest.raises(InvalidType, match="callback"):
        GDRegressor(callback=3).fit(np.ones((4, 1)) * [[1], [2], [3], [4]], [1, 2, 3, 4])


def test_gallery_reports_each_file(tmp_path):
    pytest.importorskip("kaleido")
    from descend import plot

    calls: list[tuple[int, int]] = []
    paths = plot.gallery(tmp_path / "g", progress=lambda d, t: calls.append((d, t)))
    assert [d for d, _ in calls] == list(range(1, len(paths) + 1))
    assert all(t == len(paths) for _, t in calls)


def test_tol_zero_warns_without_crashing():
    x = np.linspace(0, 10, 50)
    with pytest.warns(Warning, match="no number of iterations reaches tol"):
        m = GDRegressor(lr=0.001, max_iter=20, tol=0.0).fit(x[:, None], 2 * x - 10)
    assert not m.converged_


def test_sweep_and_multistart_show_a_spinner_on_stderr(tty):
    res = CliRunner().invoke(app, ["sweep", "x**2", "--x0", "3", "--lr", "0.001,0.1,0.9,1.1",
                                   "--max-iter", "100", "--json"])
    assert res.exit_code == 0, res.stderr
    json.loads(res.stdout)
    res = CliRunner().invoke(app, ["multistart", "himmelblau", "--starts", "50", "--seed", "0",
                                   "--json"])
    assert res.exit_code == 0, res.stderr
    json.loads(res.stdout)
    drawn = tty.getvalue()
    assert "running 4 learning rates" in drawn and "running the starts" in drawn


def test_a_bar_without_a_total_takes_one_when_told(tty):
    with r.progress("writing figures", None) as update:
        update(3, 12)
    assert "3/12" in tty.getvalue()


def test_minimizing_a_callable_does_not_load_sympy():
    import subprocess
    import sys

    code = ("import sys, descend; descend.minimize(lambda v: float(v @ v), [1.0], "
            "grad=lambda v: 2 * v); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
