"""The ``descend`` command line, through Typer's CliRunner and once as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import descend
from descend import _files
from descend.cli import app

# Seed 001: the ten epoch lines, as the tutorial prints them.
SEED_001 = """\
Epoch 0: [5.988, -2.994]
Epoch 500: [2.2006573940846716, -1.1003286970423358]
Epoch 1000: [0.8087663604107433, -0.4043831802053717]
Epoch 1500: [0.2972307400008091, -0.14861537000040456]
Epoch 2000: [0.10923564223981955, -0.054617821119909774]
Epoch 2500: [0.04014532795468376, -0.02007266397734188]
Epoch 3000: [0.014753859853277982, -0.007376929926638991]
Epoch 3500: [0.005422209548664845, -0.0027111047743324226]
Epoch 4000: [0.0019927230353282872, -0.0009963615176641436]
Epoch 4500: [0.0007323481432962652, -0.0003661740716481326]
"""
SEED_001_CMD = ["minimize", "x**2 + y**2", "--x0", "6,-3", "--lr", "0.001",
                "--max-iter", "5000", "--log-every", "500"]


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke the CLI in a fresh working directory; stdout and stderr kept apart."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


def one_error_line(res, code: int = 2) -> str:
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


# -- minimize -----------------------------------------------------------------------------------


def test_seed_001_epoch_lines_exactly(run):
    res = run(*SEED_001_CMD)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith(SEED_001)
    assert "max_iter" in res.stdout
    assert "0.00026968555624761565" in res.stdout  # x, seed 001's best guess


def test_log_every_with_json_keeps_stdout_one_object(run):
    res = run(*SEED_001_CMD, "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["x"] == [0.00026968555624761565, -0.00013484277812380783]
    assert res.stderr.startswith(SEED_001)


def test_minimize_json_fields(run):
    res = run("minimize", "rosenbrock", "--lr", "bb", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) == {"x", "fun", "nit", "status", "success", "message", "variables"}
    assert doc["status"] == "gtol" and doc["success"] is True
    assert doc["variables"] == ["x", "y"]
    np.testing.assert_allclose(doc["x"], [1.0, 1.0], atol=1e-6)


def test_catalog_name_uses_standard_start(run):
    res = run("minimize", "rosenbrock", "--lr", "0.001", "--max-iter", "0", "--json")
    assert json.loads(res.stdout)["x"] == [-1.2, 1.0]


def test_summary_lists_status_variables_and_counts(run):
    res = run("minimize", "x**2 + y**2", "--x0", "6,-3")
    assert res.exit_code == 0
    for word in ("gtol", "converged", "nit", "nfev / njev"):
        assert word in res.stdout
    assert res.stderr == ""


@pytest.mark.parametrize("x0", [["--x0", "-1.2,1"], ["--x0=-1.2,1"]])
def test_negative_start(run, x0):
    res = run("minimize", "(1 - x)**2 + 100*(y - x**2)**2", *x0, "--max-iter", "0", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["x"] == [-1.2, 1.0]


def test_variables_order_and_tolerances(run):
    res = run("minimize", "(x - 1)**2 + (y - 2)**2", "--x0", "0,0", "--variables", "y,x",
              "--gtol", "none", "--ftol", "1e-12", "--xtol", "0", "--json")
    doc = json.loads(res.stdout)
    assert doc["variables"] == ["y", "x"]
    assert doc["status"] == "ftol"
    np.testing.assert_allclose(doc["x"], [2.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("lr", ["auto", "bb", "backtracking", "0.1"])
def test_step_policies(run, lr):
    res = run("minimize", "booth", "--lr", lr, "--max-iter", "5000", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["success"]


def test_method(run):
    res = run("minimize", "x**2", "--x0", "3", "--method", "momentum", "--lr", "0.05", "--json")
    assert json.loads(res.stdout)["success"]


def test_strict_exits_3_when_not_converged(run):
    res = run("minimize", "rosenbrock", "--lr", "0.001", "--max-iter", "10", "--strict")
    assert res.exit_code == 3
    assert "max_iter" in res.stdout
    ok = run("minimize", "x**2", "--x0", "3", "--strict")
    assert ok.exit_code == 0


def test_diverged_run_is_exit_0_and_json_stays_strict(run):
    res = run("minimize", "x**2", "--x0", "3", "--lr", "1.5", "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["status"] == "diverged" and doc["success"] is False
    assert "NaN" not in res.stdout and "Infinity" not in res.stdout


def test_hostile_formula_is_refused_without_side_effect(run, tmp_path):
    res = run("minimize", "__import__('os').system('touch CANARY')", "--x0", "1")
    line = one_error_line(res)
    assert "formula" in line
    assert not (tmp_path / "CANARY").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["minimize", "x**2 +", "--x0", "1"], "formula"),
        (["minimize", "x**2 + y**2", "--x0", "1,2,3"], "x0"),
        (["minimize", "x**2", "--x0", "a"], "--x0"),
        (["minimize", "x**2"], "--x0"),
        (["minimize", "x**2", "--x0", "1", "--lr", "fast"], "lr"),
        (["minimize", "x**2", "--x0", "1", "--lr", "-1"], "lr"),
        (["minimize", "x**2", "--x0", "1", "--gtol", "tiny"], "--gtol"),
        (["minimize", "x**2", "--x0", "1", "--method", "newton"], "method"),
        (["minimize", "x**2", "--x0", "1", "--bogus"], "--bogus"),
        (["minimize", "rosenbrock", "--variables", "a,b"], "--variables"),
        (["minimize", "x**2", "--x0", "1", "--plot", "f.txt"], "plot"),
        (["minimize", "x**2", "--x0", "1", "--plot", "no/such/dir/f.html"], "no/such/dir"),
        (["nonsense"], "nonsense"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, args, needle):
    line = one_error_line(run(*args))
    assert needle in line


def test_unexpected_failure_is_exit_1_with_debug_hint(run, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("descend._minimize.minimize", boom)
    line = one_error_line(run("minimize", "x**2", "--x0", "1"), code=1)
    assert "kaboom" in line and "--debug" in line
    res = run("--debug", "minimize", "x**2", "--x0", "1")
    assert res.exit_code == 1
    assert isinstance(res.exception, RuntimeError)


def test_plot_writes_html_atomically(run, tmp_path):
    out = tmp_path / "path.html"
    out.write_text("old")
    res = run("minimize", "rosenbrock", "--lr", "bb", "--plot", str(out))
    assert res.exit_code == 0, res.stderr
    text = out.read_text(encoding="utf-8")
    assert "<html" in text[:200].lower() and "plotly" in text
    assert [p.name for p in tmp_path.iterdir()] == ["path.html"]  # no temporary left


# -- functions, sweep, multistart ---------------------------------------------------------------


def test_functions_table_and_json(run):
    res = run("functions")
    assert res.exit_code == 0
    assert "rosenbrock" in res.stdout and "himmelblau" in res.stdout
    doc = json.loads(run("functions", "--json").stdout)
    assert [d["name"] for d in doc] == descend.functions.names()
    rosen = doc[1]
    assert rosen["formula"] == "(1 - x)**2 + 100*(y - x**2)**2"
    assert rosen["x0"] == [-1.2, 1.0] and rosen["minima"] == [[1.0, 1.0]]


def test_sweep_table_json_and_plot(run, tmp_path):
    args = ["sweep", "x**2", "--x0", "3", "--lr", "0.001,0.1,0.9,1.1", "--max-iter", "100"]
    res = run(*args)
    assert res.exit_code == 0, res.stderr
    for word in ("too_small", "good", "diverged", "learning", "verdict"):
        assert word in res.stdout.lower()
    rows = json.loads(run(*args, "--json", "--plot", "sweep.html").stdout)
    assert [r["lr"] for r in rows] == [0.001, 0.1, 0.9, 1.1]
    assert set(rows[0]) == {"lr", "verdict", "status", "nit", "fun"}
    assert rows[3]["status"] == "diverged"
    assert (tmp_path / "sweep.html").stat().st_size > 0


def test_sweep_bad_rates(run):
    assert "--lr" in one_error_line(run("sweep", "x**2", "--x0", "3", "--lr", "0.1,fast"))


def test_multistart_finds_himmelblau_minima(run, tmp_path):
    args = ["multistart", "himmelblau", "--starts", "200", "--bounds", "-5,5,-5,5",
            "--seed", "0", "--lr", "bb"]
    res = run(*args)
    assert res.exit_code == 0, res.stderr
    assert "count" in res.stdout and "best" in res.stdout
    doc = json.loads(run(*args, "--json", "--plot", "ms.html").stdout)
    assert len(doc["minima"]) == 4
    assert sum(m["count"] for m in doc["minima"]) == doc["converged"]
    assert set(doc["minima"][0]) == {"x", "fun", "count"}
    assert doc["best"]["fun"] < 1e-10
    assert (tmp_path / "ms.html").stat().st_size > 0


def test_multistart_formula_needs_bounds(run):
    assert "--bounds" in one_error_line(run("multistart", "x**2 + y**2", "--starts", "5"))
    assert "bounds" in one_error_line(
        run("multistart", "x**2 + y**2", "--starts", "5", "--bounds", "-1,1,2"))


# -- fit and predict ----------------------------------------------------------------------------


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    frame = pd.DataFrame({"a": a, "b": b, "y": 1.5 + 2.0 * a - 3.0 * b
                          + 0.01 * rng.normal(size=50), "label": ["u"] * 50})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_fit_json_matches_least_squares(run, table):
    path, _ = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--json", "--compare")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {"coef", "intercept", "n_iter", "converged", "loss"} <= set(doc)
    assert doc["converged"] is True
    for name in ("a", "b"):
        assert doc["coef"][name] == pytest.approx(doc["lstsq"]["coef"][name], abs=1e-6)
    assert doc["intercept"] == pytest.approx(doc["lstsq"]["intercept"], abs=1e-6)
    assert doc["coef"]["a"] == pytest.approx(2.0, abs=0.05)


def test_fit_table_with_compare(run, table):
    path, _ = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--compare")
    assert res.exit_code == 0, res.stderr
    for word in ("gradient descent", "least squares", "(intercept)", "converged"):
        assert word in res.stdout


def test_fit_options(run, table):
    path, _ = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--no-intercept",
              "--lr", "0.1", "--max-iter", "50", "--tol", "1e-6", "--batch-size", "10",
              "--method", "momentum", "--loss", "huber", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["intercept"] == 0.0


def test_fit_parquet(run, table, tmp_path):
    _, frame = table
    path = tmp_path / "data.parquet"
    frame.drop(columns="label").to_parquet(path)
    res = run("fit", str(path), "--target", "y", "--json")
    assert res.exit_code == 0, res.stderr
    assert list(json.loads(res.stdout)["coef"]) == ["a", "b"]


def test_fit_bad_input(run, table, tmp_path):
    path, _ = table
    assert "nope" in one_error_line(run("fit", str(path), "--target", "nope"))
    assert "zz" in one_error_line(run("fit", str(path), "--target", "y", "--features", "a,zz"))
    assert "label" in one_error_line(run("fit", str(path), "--target", "y"))  # text column
    assert "missing.csv" in one_error_line(run("fit", str(tmp_path / "missing.csv"),
                                               "--target", "y"))
    assert "--target" in one_error_line(run("fit", str(path)))


def test_save_then_predict_round_trip(run, table, tmp_path):
    path, frame = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--save", "model.json",
              "--plot", "fit.html", "--json")
    assert res.exit_code == 0, res.stderr
    fitted = json.loads(res.stdout)
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["features"] == ["a", "b"]
    assert model["descend_version"] == descend.__version__
    assert model["loss"] == "mse" and model["settings"]["lr"] == "auto"
    assert (tmp_path / "fit.html").stat().st_size > 0

    new = frame[["b", "a"]].head(5)  # other order, no target
    new.to_csv(tmp_path / "new.csv", index=False)
    res = run("predict", "model.json", "new.csv", "--json")
    assert res.exit_code == 0, res.stderr
    expected = fitted["intercept"] + new["a"] * fitted["coef"]["a"] + new["b"] * fitted["coef"]["b"]
    np.testing.assert_allclose(json.loads(res.stdout)["predictions"], expected, rtol=1e-12)

    res = run("predict", "model.json", "new.csv", "--out", "preds.csv")
    assert res.exit_code == 0, res.stderr
    preds = pd.read_csv(tmp_path / "preds.csv")
    np.testing.assert_allclose(preds["prediction"], expected, rtol=1e-12)

    plain = run("predict", "model.json", "new.csv")
    assert plain.stdout.splitlines()[0] == "prediction"
    assert len(plain.stdout.splitlines()) == 6


def test_predict_bad_input(run, table, tmp_path):
    path, frame = table
    assert run("fit", str(path), "--target", "y", "--features", "a,b",
               "--save", "model.json").exit_code == 0
    frame[["a"]].to_csv(tmp_path / "short.csv", index=False)
    assert "'b'" in one_error_line(run("predict", "model.json", "short.csv"))
    pd.DataFrame({"a": [1.0], "b": ["x"]}).to_csv(tmp_path / "text.csv", index=False)
    assert "'b'" in one_error_line(run("predict", "model.json", "text.csv"))
    assert "not a descend model" in one_error_line(run("predict", str(path), str(path)))


# -- app, version, help, entry point ------------------------------------------------------------


def test_app_serves_through_descend_app(run, monkeypatch):
    import descend.app

    calls = []
    monkeypatch.setattr(descend.app, "serve", lambda **kw: calls.append(kw))
    res = run("app", "--port", "8051", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert calls == [{"host": "127.0.0.1", "port": 8051, "workers": 2}]
    assert "http://127.0.0.1:8051" in res.stdout


def test_app_without_the_extra_says_what_to_install(run, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "dash" else real(name, *a))
    res = run("app")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "error: the explorer needs the 'app' extra: pip install 'descend[app]'")


def test_app_bad_port_exits_2(run):
    res = run("app", "--port", "0")
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1


def test_version(run):
    res = run("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"descend {descend.__version__}"


@pytest.mark.parametrize("command", ["minimize", "functions", "sweep", "multistart", "fit",
                                     "predict", "app", "demo", "gallery"])
def test_help_has_an_example(run, command):
    res = run(command, "--help")
    assert res.exit_code == 0
    assert f"Example: descend {command}" in res.stdout


def test_gallery_error_is_one_line(run, tmp_path):
    (tmp_path / "afile").write_text("")
    one_error_line(run("gallery", "--out", str(tmp_path / "afile" / "sub")))


def test_no_arguments_shows_help(run):
    res = run()
    assert "minimize" in res.stdout
    assert "error" not in res.stderr


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), _files.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    _files.atomic_write(target, "new")
    assert target.read_text() == "new"


def test_entry_point_subprocess(tmp_path):
    exe = Path(sys.executable).parent / "descend"
    if not exe.exists():
        pytest.skip("the descend script is not installed next to this Python")
    env = {**os.environ, "PYTHONPATH": str(Path(descend.__file__).parents[1])}
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env,
                         check=False, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"descend {descend.__version__}"
    out = subprocess.run([str(exe), *SEED_001_CMD], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(SEED_001)
    bad = subprocess.run([str(exe), "minimize", "x**", "--x0", "1"], capture_output=True,
                         text=True, env=env, check=False, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_python_dash_m(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(descend.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-m", "descend", "minimize", "paraboloid", "--json"],
                         capture_output=True, text=True, env=env, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["success"] is True


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [(["minimize", "rosenbrok", "--x0", "1"], "rosenbrock"),
     (["minimize", "himelblau"], "himmelblau"),
     (["minimize", "sinn(x)", "--x0", "1"], "sin"),
     (["minimize", "sinn", "--x0", "1"], "sin")],
)
def test_a_near_miss_of_a_name_is_refused_not_minimized(run, args, suggestion):
    line = one_error_line(run(*args))
    assert f"did you mean {suggestion}?" in line
