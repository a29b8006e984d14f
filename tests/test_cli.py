"""The ``descend`` command line, through Typer's CliRunner and once as a real process."""

from __future__ import annotations

import json
import os
import re
import shlex
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
    assert model["features"] == ["a", "b"] and model["target"] == "y"
    assert model["descend_version"] == descend.__version__
    assert model["params"]["loss"] == "mse" and model["params"]["lr"] == "auto"
    assert descend.load_model(tmp_path / "model.json").coef_.tolist() == [
        fitted["coef"]["a"], fitted["coef"]["b"]]
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


# -- issue 20: every estimator setting, scores, predictions with kept columns ------------------


def _help(*command: str) -> str:
    """``--help`` as a wide terminal shows it (no line of it wrapped)."""
    res = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    return res.stdout


def test_every_gdregressor_parameter_has_a_fit_option(run):
    import typer.main

    from descend.cli import commands

    params = descend.GDRegressor().get_params()
    assert set(commands.FIT_OPTIONS) == set(params), "a GDRegressor parameter has no option"
    fit_cmd = typer.main.get_command(app).commands["fit"]
    options = {o for p in fit_cmd.params for o in (*p.opts, *p.secondary_opts)}
    for name, option in commands.FIT_OPTIONS.items():
        if name == "callback":
            continue
        assert option in options, option
        default = next(p.default for p in fit_cmd.params if option in p.opts)
        expected = params[name]
        if name == "shuffle":
            default = commands._SHUFFLE[default]
        if name == "tol":
            default = float(default)
        if name == "warm_start":
            default, expected = default is not None, False
        assert default == expected, (name, default, expected)


def test_choices_are_the_library_s_and_flags_show_no_type(run):
    import typing

    from descend.cli import commands
    from descend.linear_model import _classifier, _regressor

    assert list(typing.get_args(commands.Method)) == descend.optimizers.names()
    assert list(typing.get_args(commands.Loss)) == [*_regressor._LOSSES, *_classifier._LOSSES]
    helps = {c: _help(c) for c in ("minimize", "sweep", "multistart", "fit", "predict",
                                    "functions", "demo", "gallery", "app")}
    helps["(root)"] = _help()
    for command, text in helps.items():
        assert "<bool>" not in text, command
    assert "mse|sse|rmse|huber" in helps["fit"]
    assert "gd|momentum|nesterov|adagrad|rmsprop|adam" in " ".join(helps["sweep"].split())
    assert "--install-completion" in helps["(root)"]
    line = one_error_line(run("fit", "d.csv", "--target", "y", "--loss", "l1"))
    assert "--loss" in line and "huber" in line


def test_public_words_name_tutorials_by_topic(run):
    texts = [_help()] + [_help(c) for c in ("minimize", "sweep", "multistart", "fit",
                                             "predict", "functions", "demo", "gallery", "app")]
    texts.append(_readme_cli_section())
    texts += [p.read_text() for p in (Path(descend.__file__).parent / "cli").glob("*.py")]
    texts.append((Path(descend.__file__).parent / "io.py").read_text())
    for text in texts:
        assert not re.search(r"seed 00\d", text.lower())
    assert "the paraboloid, fitting a line, choosing a step, the slope view" in _help("demo")


def test_fit_reports_scores_on_training_and_held_out_rows(run, table):
    from sklearn.metrics import mean_squared_error, r2_score

    path, frame = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--test-size", "0.3",
              "--random-state", "4", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["rows"] == 35 and doc["n_features"] == 2 and doc["features"] == ["a", "b"]
    assert doc["train"]["rows"] == 35 and doc["held_out"]["rows"] == 15
    assert doc["held_out"]["what"] == "held out (30% of the rows)"
    assert doc["converged"] is True and doc["why"] is None and doc["unit"] == "iterations"
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(frame[["a", "b"]], frame["y"], test_size=0.3,
                                              random_state=4)
    m = descend.GDRegressor(random_state=4).fit(X_tr, y_tr)
    for part, (X, y) in (("train", (X_tr, y_tr)), ("held_out", (X_te, y_te))):
        assert doc[part]["r2"] == pytest.approx(r2_score(y, m.predict(X)), rel=1e-9)
        assert doc[part]["rmse"] == pytest.approx(
            mean_squared_error(y, m.predict(X)) ** 0.5, rel=1e-9)
    again = run("fit", str(path), "--target", "y", "--features", "a,b", "--test-size", "0.3",
                "--random-state", "4", "--json")
    assert json.loads(again.stdout) == doc  # the same split and fit
    text = run("fit", str(path), "--target", "y", "--features", "a,b", "--validation",
               str(path)).stdout
    for word in ("training", "validation (data.csv)", "R^2", "RMSE", "50 rows, 2 features",
                 "converged after"):
        assert word in text, word


def test_random_state_makes_minibatch_fits_repeatable(run, table):
    path, _ = table
    args = ["fit", str(path), "--target", "y", "--features", "a,b", "--batch-size", "16",
            "--max-iter", "20", "--json"]
    a = json.loads(run(*args, "--random-state", "7").stdout)
    b = json.loads(run(*args, "--random-state", "7").stdout)
    assert a["coef"] == b["coef"] and a["unit"] == "epochs"


def test_fit_options_reach_the_estimator(run, table, monkeypatch):
    from descend.linear_model import GDRegressor

    path, _ = table
    seen = {}
    real = GDRegressor.fit

    def spy(self, X, y):
        seen.update(self.get_params())
        return real(self, X, y)

    monkeypatch.setattr(GDRegressor, "fit", spy)
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--alpha", "0.5",
              "--no-standardize", "--no-intercept", "--shuffle", "blocks", "--batch-size", "10",
              "--random-state", "3", "--epsilon", "2.0", "--loss", "huber", "--method", "adam",
              "--lr", "0.01", "--max-iter", "5", "--tol", "none", "--json")
    assert res.exit_code == 0, res.stderr
    expected = {"alpha": 0.5, "standardize": False, "fit_intercept": False,
                "shuffle": "blocks", "batch_size": 10, "random_state": 3, "epsilon": 2.0,
                "loss": "huber", "method": "adam", "lr": 0.01, "max_iter": 5, "tol": None}
    assert {k: seen[k] for k in expected} == expected
    assert json.loads(res.stdout)["converged"] is False


def test_not_converged_says_why_and_strict_exits_3(run, table):
    path, _ = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--max-iter", "1",
              "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["converged"] is False
    assert doc["why"].startswith("not converged after 1 iteration: the relative error")
    assert "warning" not in res.stderr  # the reason is in the report, not repeated
    text = run("fit", str(path), "--target", "y", "--features", "a,b", "--max-iter", "1",
               "--strict")
    assert text.exit_code == 3
    assert "fit: not converged after 1 iteration;" in text.stdout
    assert "1 iterations" not in text.stdout + text.stderr


def test_verbose_goes_to_stderr_with_json(run, table):
    path, _ = table
    res = run("fit", str(path), "--target", "y", "--features", "a,b", "--verbose", "2",
              "--json")
    assert res.exit_code == 0, res.stderr
    json.loads(res.stdout)
    assert "iteration 2: loss" in res.stderr


def test_warm_start_continues_from_a_saved_model(run, table):
    path, _ = table
    # plain gd, whose 3 steps leave room (the default solver is exact in 3 on 2 features)
    base = ["fit", str(path), "--target", "y", "--features", "a,b", "--json", "--method", "gd"]
    first = json.loads(run(*base, "--max-iter", "3", "--tol", "none",
                           "--save", "m.json").stdout)
    more = json.loads(run(*base, "--warm-start", "m.json", "--max-iter", "1",
                          "--tol", "none").stdout)
    fresh = json.loads(run(*base, "--max-iter", "1", "--tol", "none").stdout)
    assert more["loss"] < fresh["loss"] and more["loss"] < first["loss"]
    line = one_error_line(run("fit", str(path), "--target", "y", "--features", "b,a",
                              "--warm-start", "m.json"))
    assert "--warm-start" in line and "a, b" in line


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_keeps_columns_and_writes_atomically(run, table, tmp_path, suffix):
    path, frame = table
    assert run("fit", str(path), "--target", "y", "--features", "a,b",
               "--save", "model.json").exit_code == 0
    new = frame[["a", "b"]].head(4).assign(id=[7, 8, 9, 10], site=["p", "q", "r", "s"])
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / f"preds{suffix}"
    res = run("predict", "model.json", "new.csv", "--keep", "id,site", "--out", str(out))
    assert res.exit_code == 0, res.stderr
    assert res.stderr.strip() == f"wrote 4 predictions to {out}"
    got = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert got.columns.tolist() == ["id", "site", "prediction"]
    assert got["id"].tolist() == [7, 8, 9, 10] and got["site"].tolist() == ["p", "q", "r", "s"]
    model = descend.load_model(tmp_path / "model.json")
    np.testing.assert_array_equal(got["prediction"], model.predict(new[["a", "b"]]))
    before = out.read_bytes()
    line = one_error_line(run("predict", "model.json", "new.csv", "--keep", "nope",
                              "--out", str(out)))
    assert "--keep: no column 'nope'" in line
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data.csv", "model.json", "new.csv", out.name])


def test_predict_keeps_a_stored_parquet_index_and_prints_csv(run, table, tmp_path):
    path, frame = table
    run("fit", str(path), "--target", "y", "--features", "a,b", "--save", "model.json")
    new = frame[["a", "b"]].head(3).set_index(pd.Index(["u1", "u2", "u3"], name="user"))
    new.to_parquet(tmp_path / "new.parquet")
    res = run("predict", "model.json", "new.parquet", "--keep", "user")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "user,prediction" and lines[1].startswith("u1,") and len(lines) == 4
    doc = json.loads(run("predict", "model.json", "new.parquet", "--keep", "user",
                         "--json").stdout)
    assert doc["kept"] == {"user": ["u1", "u2", "u3"]} and len(doc["predictions"]) == 3
    assert doc["target"] == "y"
    new.reset_index().rename(columns={"user": "prediction"}).to_csv("clash.csv", index=False)
    assert "'prediction' is the name" in one_error_line(
        run("predict", "model.json", "clash.csv", "--keep", "prediction"))


@pytest.mark.parametrize("verb", ["fit", "predict"])
@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "directory"])
def test_every_reader_refuses_non_regular_files(run, table, tmp_path, verb, kind):
    path, _ = table
    run("fit", str(path), "--target", "y", "--features", "a,b", "--save", "model.json")
    target = tmp_path / "odd.csv"
    {"dev_zero": lambda: target.symlink_to("/dev/zero"), "fifo": lambda: os.mkfifo(target),
     "directory": target.mkdir}[kind]()
    import signal

    signal.alarm(30)  # a FIFO used to block for ever, /dev/zero to grow to 4 GB
    try:
        args = (["fit", str(target), "--target", "y"] if verb == "fit"
                else ["predict", "model.json", str(target)])
        line = one_error_line(run(*args))
    finally:
        signal.alarm(0)
    assert "is not a regular file" in line and "no such file" not in line
    if verb == "predict":
        line = one_error_line(run("predict", str(target), "data.csv"))
        assert line.startswith("error: model: ") and "is not a regular file" in line


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("dup.csv", "x,y,y\n1,2,3\n", "the column name 'y' appears more than once"),
        ("dupx.csv", "x,x,y\n1,2,3\n", "the column name 'x' appears more than once"),
        ("index.csv", ",x,y\n0,1,2\n1,2,3\n", "column 1 has no name"),
        ("header.csv", "x,y\n", "has a header but no data rows"),
        ("bad.parquet", "PAR1 not really", "not a Parquet file"),
    ],
)
def test_bad_tables_exit_2_with_one_line(run, table, tmp_path, name, content, needle):
    path, _ = table
    run("fit", str(path), "--target", "y", "--features", "a,b", "--save", "model.json")
    (tmp_path / name).write_text(content)
    assert needle in one_error_line(run("fit", name, "--target", "y"))
    assert needle in one_error_line(run("predict", "model.json", name))


def test_zero_row_and_truncated_parquet_exit_2(run, table, tmp_path):
    path, frame = table
    run("fit", str(path), "--target", "y", "--features", "a,b", "--save", "model.json")
    frame[["a", "b", "y"]].head(0).to_parquet(tmp_path / "empty.parquet")
    frame[["a", "b", "y"]].to_parquet(tmp_path / "full.parquet")
    data = (tmp_path / "full.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) - 100])
    for name, needle in (("empty.parquet", "no data rows"), ("cut.parquet", "as Parquet")):
        assert needle in one_error_line(run("fit", name, "--target", "y"))
        assert needle in one_error_line(run("predict", "model.json", name))


def test_strict_on_sweep_and_multistart(run):
    bad = run("sweep", "x**2", "--x0", "3", "--lr", "1.5,2", "--max-iter", "50", "--strict")
    assert bad.exit_code == 3 and "diverged" in bad.stdout
    ok = run("sweep", "x**2", "--x0", "3", "--lr", "0.1,1.5", "--strict")
    assert ok.exit_code == 0
    bad = run("multistart", "x**2 + y**2", "--bounds", "-1,1,-1,1", "--starts", "5",
              "--lr", "1.5", "--max-iter", "20", "--seed", "0", "--strict")
    assert bad.exit_code == 3 and "0 of 5 runs converged" in bad.stdout
    ok = run("multistart", "x**2 + y**2", "--bounds", "-1,1,-1,1", "--starts", "5",
             "--seed", "0", "--strict")
    assert ok.exit_code == 0, ok.stdout


def test_shell_completion_is_documented_and_works(run):
    res = run("--show-completion", "bash")
    assert res.exit_code == 0 and "_DESCEND_COMPLETE" in res.stdout
    assert "descend --install-completion" in _readme_cli_section()


# -- every example in --help and in the README's CLI section runs and does what it says -------

EXAMPLE = re.compile(r"^\s*Example: (descend .+?)(?:, then .*)?\s*$")


def _help_examples() -> list[str]:
    import typer.main

    runner = CliRunner()
    found = []
    for name in typer.main.get_command(app).commands:
        res = runner.invoke(app, [name, "--help"], env={"COLUMNS": "250"})
        found += [m.group(1) for m in map(EXAMPLE.match, res.stdout.splitlines()) if m]
    return found


def _readme_cli_section() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return readme.split("\n## Command line", 1)[1].split("\n## ", 1)[0]


def _readme_examples() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", _readme_cli_section(), flags=re.S)
    lines = [shlex.join(shlex.split(line, comments=True)) for b in blocks
             for line in b.splitlines() if line.strip()]
    return [line for line in lines if line.startswith("descend ")]


@pytest.fixture
def inputs(tmp_path):
    """The files the examples name: data.csv (a, b, y), new.csv (id, a, b), data/*.parquet,
    classes.csv (a, b, label: yes or no)."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=120), rng.normal(size=120)
    frame = pd.DataFrame({"a": a, "b": b, "y": 2.0 + a - 0.5 * b + 0.01 * rng.normal(size=120)})
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame[["a", "b"]].head(6).assign(id=range(6)).to_csv(tmp_path / "new.csv", index=False)
    odds = 0.5 + 3 * a - 2 * b + rng.logistic(size=120)
    frame[["a", "b"]].assign(label=np.where(odds > 0, "yes", "no")).to_csv(
        tmp_path / "classes.csv", index=False)
    (tmp_path / "data").mkdir()
    for i in range(0, 120, 40):
        frame.iloc[i : i + 40].to_parquet(tmp_path / "data" / f"part-{i:03d}.parquet",
                                          index=False)
    return tmp_path


def _check_example(line: str, res, tmp_path: Path) -> None:
    """What each example says it does."""
    assert res.exit_code == 0, (line, res.stdout, res.stderr)
    args = shlex.split(line)[1:]
    verb = args[0]
    if "--strict" in args:
        assert verb in ("minimize", "multistart", "fit", "sweep")  # exit 0 = it converged
    if verb == "minimize" and "--log-every" in args:
        assert res.stdout.startswith(SEED_001)
    if verb == "minimize":
        assert "status" in (json.loads(res.stdout) if "--json" in args else res.stdout)
    if "--plot" in args:
        assert (tmp_path / args[args.index("--plot") + 1]).stat().st_size > 0
    if verb == "functions" and "--json" in args:
        assert [f["name"] for f in json.loads(res.stdout)] == descend.functions.names()
    elif verb == "functions":
        assert all(name in res.stdout for name in descend.functions.names())
    if verb == "sweep":
        assert "too_small" in res.stdout and "diverged" in res.stdout and "good" in res.stdout
    if verb == "multistart" and args[1] == "himmelblau":
        doc = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
        assert len(doc["minima"]) == 4
    if verb == "fit":
        out = json.loads(res.stdout) if "--json" in args else None
        if out is not None:
            assert out["converged"] and ("held_out" in out) == ("--test-size" in args)
        elif "--loss" in args and args[args.index("--loss") + 1] == "log":
            assert "converged after" in res.stdout and "accuracy" in res.stdout
        else:
            assert "converged after" in res.stdout and "R^2" in res.stdout
        if "--compare" in args:
            assert "least squares" in res.stdout
        if "--save" in args:
            assert descend.load_model(tmp_path / args[args.index("--save") + 1]).converged_
    if verb == "predict":
        out = tmp_path / args[args.index("--out") + 1]
        got = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
        keep = args[args.index("--keep") + 1].split(",") if "--keep" in args else []
        probs = ["proba_no", "proba_yes"] if "--proba" in args else []
        assert got.columns.tolist() == [*keep, "prediction", *probs] and len(got) == 6
    if verb in ("gallery", "demo") and "--out" in args:
        folder = tmp_path / args[args.index("--out") + 1]
        assert {p.suffix for p in folder.iterdir()} >= {".html", ".png"}
    if verb == "demo":
        assert "the paraboloid" in res.stdout.lower() or "Epoch" in res.stdout


#: Example lines already run and checked, with the same inputs (the README repeats some).
_CHECKED: set[str] = set()


def _run_examples(lines, tmp_path, monkeypatch):
    import descend.app

    served = []
    monkeypatch.setattr(descend.app, "serve", lambda **kw: served.append(kw))
    monkeypatch.chdir(tmp_path)
    order = sorted(lines, key=lambda line: shlex.split(line)[1] == "predict")  # fit first
    for line in order:
        if shlex.split(line)[1] == "predict" and not (tmp_path / "model.json").exists():
            CliRunner().invoke(app, ["fit", "data.csv", "--target", "y", "--save",
                                     "model.json"])
        if line in _CHECKED and line.startswith("descend gallery"):
            continue  # the same figures, 40 s of PNG export: once is enough
        res = CliRunner().invoke(app, shlex.split(line)[1:], env={"COLUMNS": "250"})
        _check_example(line, res, tmp_path)
        _CHECKED.add(line)
        if shlex.split(line)[1] == "app":
            port = int(shlex.split(line)[shlex.split(line).index("--port") + 1]) \
                if "--port" in line else 8050
            assert served[-1]["port"] == port


def test_every_help_example_runs_and_does_what_it_says(inputs, monkeypatch):
    lines = _help_examples()
    import typer.main

    commands = set(typer.main.get_command(app).commands)
    assert {shlex.split(line)[1] for line in lines} == commands  # one example at least each
    _run_examples(lines, inputs, monkeypatch)


def test_every_readme_cli_example_runs(inputs, monkeypatch):
    lines = _readme_examples()
    assert len(lines) >= 8
    _run_examples(lines, inputs, monkeypatch)


# -- Ctrl-C: exit 130, one line, no partial file ----------------------------------------------

_SLOW_WRITER = """
import pathlib, sys, time
import pandas as pd

def slow(self, path, *args, **kwargs):
    pathlib.Path(path).write_text("half a file")
    pathlib.Path("READY").touch()
    time.sleep(120)

pd.DataFrame.to_csv = slow
pd.DataFrame.to_parquet = slow
_write = pathlib.Path.write_bytes

def slow_bytes(self, data):
    if self.name.startswith(".model.json"):
        slow(None, self)
    return _write(self, data)

pathlib.Path.write_bytes = slow_bytes
from descend.cli import main
sys.argv = ["descend", *sys.argv[1:]]
main()
"""


def _interrupt(args: list[str], cwd: Path, ready) -> subprocess.CompletedProcess[str]:
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(descend.__file__).parents[1]),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready(proc) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "model.json", "new.csv", "--out", "preds.csv"],
        ["predict", "model.json", "new.csv", "--out", "preds.parquet"],
        ["fit", "data.csv", "--target", "y", "--save", "model.json"],
    ],
    ids=["predict-csv", "predict-parquet", "fit-save"],
)
def test_ctrl_c_while_writing_leaves_no_partial_file(inputs, args, monkeypatch):
    monkeypatch.chdir(inputs)
    assert CliRunner().invoke(app, ["fit", "data.csv", "--target", "y",
                                    "--save", "model.json"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()}
    done = _interrupt(args, inputs, lambda proc: (inputs / "READY").exists())
    assert done.returncode == 130, done.stderr
    assert done.stderr == "error: interrupted\n"
    (inputs / "READY").unlink()
    after = {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()}
    assert after == before  # no partial output, no temporary file, the old model intact


def test_ctrl_c_during_a_long_run_exits_130_with_one_line(tmp_path):
    args = ["minimize", "x**2 + y**2", "--x0", "6,-3", "--lr", "1e-9", "--gtol", "none",
            "--max-iter", "100000000", "--log-every", "100000", "--plot", "p.html"]
    lines: list[str] = []

    def ready(proc):
        lines.append(proc.stdout.readline())
        return lines[-1].startswith("Epoch")

    done = _interrupt(args, tmp_path, ready)
    assert done.returncode == 130 and done.stderr == "error: interrupted\n"
    assert list(tmp_path.iterdir()) == []


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
