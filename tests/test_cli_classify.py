"""``descend fit --loss log`` (GDClassifier) and ``descend predict`` of a classifier.

Through Typer's CliRunner, once as a real process, and on Dask (equal to the in-memory
fit). The data: scikit-learn's iris (three classes, text labels) and breast_cancer (two).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from typer.testing import CliRunner

import descend
from descend import GDClassifier
from descend.cli import app

SPECIES = np.array(["setosa", "versicolor", "virginica"])


@pytest.fixture
def files(tmp_path, monkeypatch):
    """iris.csv (text labels), cancer.csv (0/1), new.csv (id + iris features)."""
    X, y = load_iris(return_X_y=True)
    iris = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"]).assign(species=SPECIES[y])
    iris.to_csv(tmp_path / "iris.csv", index=False)
    iris.drop(columns="species").iloc[::30].assign(id=range(5)).to_csv(tmp_path / "new.csv",
                                                                     index=False)
    Xb, yb = load_breast_cancer(return_X_y=True)
    cancer = pd.DataFrame(Xb[:, :5], columns=[f"f{j}" for j in range(5)]).assign(label=yb)
    cancer.to_csv(tmp_path / "cancer.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error_line(res) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    return lines[0]


def test_multinomial_fit_report_equals_the_library(files):
    res = invoke("fit", "iris.csv", "--target", "species", "--loss", "log", "--alpha", "0.001",
                 "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    frame = pd.read_csv("iris.csv")
    X, y = frame.drop(columns="species"), frame["species"].to_numpy()
    ref = GDClassifier(alpha=0.001, penalty="l2", method="auto").fit(X, y)
    assert out["classes"] == SPECIES.tolist() and out["converged"] is True
    for k, c in enumerate(SPECIES):  # the same fit: the same numbers
        assert list(out["coef"][c].values()) == pytest.approx(ref.coef_[k], rel=1e-12)
        assert out["intercept"][c] == pytest.approx(ref.intercept_[k], rel=1e-12)
    logp = ref.predict_log_proba(X)
    expected_nll = -np.mean(logp[np.arange(len(y)), np.searchsorted(ref.classes_, y)])
    assert out["train"]["accuracy"] == pytest.approx(np.mean(ref.predict(X) == y))
    assert out["train"]["log_loss"] == pytest.approx(expected_nll, rel=1e-12)
    assert out["loss_function"] == "log" and "r2" not in out["train"]
    text = invoke("fit", "iris.csv", "--target", "species", "--loss", "log", "--alpha", "0.001")
    assert text.exit_code == 0, text.stderr
    assert "3 classes (setosa, versicolor, virginica)" in text.stdout
    assert "accuracy" in text.stdout and "log loss" in text.stdout and "R^2" not in text.stdout


def test_binary_fit_save_predict_with_probabilities(files):
    res = invoke("fit", "cancer.csv", "--target", "label", "--loss", "log", "--alpha", "0.01",
                 "--save", "clf.json", "--test-size", "0.25", "--random-state", "0", "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["classes"] == [0, 1] and set(out["coef"]) == {f"f{j}" for j in range(5)}
    assert out["held_out"]["rows"] + out["train"]["rows"] == 569
    assert 0.8 < out["held_out"]["accuracy"] <= 1.0
    model = descend.load_model("clf.json")
    assert isinstance(model, GDClassifier) and model.classes_.tolist() == [0, 1]
    assert model.coef_.ravel().tolist() == pytest.approx(list(out["coef"].values()), rel=1e-15)
    frame = pd.read_csv("cancer.csv").head(7).drop(columns="label").assign(id=range(7))
    frame.to_csv("rows.csv", index=False)
    pred = invoke("predict", "clf.json", "rows.csv", "--keep", "id", "--proba", "--out",
                  "p.csv")
    assert pred.exit_code == 0, pred.stderr
    got = pd.read_csv("p.csv")
    assert got.columns.tolist() == ["id", "prediction", "proba_0", "proba_1"]
    feats = frame.drop(columns="id")
    np.testing.assert_allclose(got[["proba_0", "proba_1"]], model.predict_proba(feats),
                               rtol=1e-15)
    assert got["prediction"].tolist() == model.predict(feats).tolist()
    doc = json.loads(invoke("predict", "clf.json", "rows.csv", "--proba", "--json").stdout)
    assert doc["classes"] == [0, 1] and len(doc["probabilities"]["1"]) == 7
    assert doc["predictions"] == got["prediction"].tolist()


def test_text_labels_predict_as_text(files):
    assert invoke("fit", "iris.csv", "--target", "species", "--loss", "log", "--alpha",
                  "0.01", "--save", "iris.json").exit_code == 0
    res = invoke("predict", "iris.json", "new.csv", "--keep", "id", "--proba")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "id,prediction,proba_setosa,proba_versicolor,proba_virginica"
    assert [line.split(",")[1] for line in lines[1:]] == ["setosa", "setosa", "versicolor",
                                                          "versicolor", "virginica"]
    plain = invoke("predict", "iris.json", "new.csv")
    assert plain.stdout.splitlines()[0] == "prediction"


@pytest.mark.parametrize(("args", "match"), [
    (["--target", "sl"], "--loss log: column 'sl' holds numbers that are not whole"),
    (["--target", "one"], "--target: --loss log needs at least 2 classes"),
    (["--target", "species", "--compare"], "--compare: not available with --loss log"),
    (["--target", "species", "--verbose", "5"], "--verbose: not available with --loss log"),
    (["--target", "species", "--epsilon", "2"], "--epsilon: not available with --loss log"),
    (["--target", "species", "--warm-start", "m.json"], "--warm-start: not available"),
    (["--target", "gap"], "column 'gap' has no class label (empty, NaN or inf) at row 3"),
])
def test_bad_combinations_exit_2_with_one_line(files, args, match):
    frame = pd.read_csv("iris.csv").assign(one=1, gap=["a"] * 3 + [None] + ["b"] * 146)
    frame.to_csv("more.csv", index=False)
    feats = ["--features", "pl,pw"] if args[1] in ("one", "gap", "sl") else []
    line = one_error_line(invoke("fit", "more.csv", "--loss", "log", *feats, *args))
    assert match in line


def test_predict_proba_of_a_regressor_and_unseen_held_out_classes(files):
    frame = pd.read_csv("iris.csv")
    frame.assign(y=frame["sl"] * 2).drop(columns="species").to_csv("reg.csv", index=False)
    assert invoke("fit", "reg.csv", "--target", "y", "--save", "reg.json").exit_code == 0
    line = one_error_line(invoke("predict", "reg.json", "new.csv", "--proba"))
    assert "--proba: reg.json is a GDRegressor" in line
    frame.iloc[:100].to_csv("two.csv", index=False)  # setosa, versicolor
    line = one_error_line(invoke("fit", "two.csv", "--target", "species", "--loss", "log",
                                 "--validation", "iris.csv"))
    assert "50 rows of validation (iris.csv) hold labels the model was not fitted on" in line


def test_a_real_process(files):
    exe = Path(sys.executable).parent / "descend"
    if not exe.exists():
        pytest.skip("the descend script is not installed next to this Python")
    env = {**os.environ, "PYTHONPATH": str(Path(descend.__file__).parents[1])}
    out = subprocess.run([str(exe), "fit", "iris.csv", "--target", "species", "--loss", "log",
                          "--json"], capture_output=True, text=True, env=env, cwd=files,
                         check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["train"]["accuracy"] > 0.95
    bad = subprocess.run([str(exe), "fit", "iris.csv", "--target", "pl", "--loss", "log",
                          "--features", "sl,sw"],
                         capture_output=True, text=True, env=env, cwd=files, check=False,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--loss log" in bad.stderr


@pytest.mark.parametrize("labels", ["binary", "multinomial"])
def test_dask_glob_equals_the_in_memory_fit(files, labels):
    X, y = load_iris(return_X_y=True)
    target = (y == 2).astype(int) if labels == "binary" else y
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"]).assign(k=target)
    parts = files / "parts"
    parts.mkdir()
    for i in range(3):
        frame.iloc[i * 50 : (i + 1) * 50].to_parquet(parts / f"p{i}.parquet", index=False)
    frame.to_parquet("all.parquet", index=False)
    args = ["--target", "k", "--loss", "log", "--alpha", "0.001", "--json"]
    ref = invoke("fit", "all.parquet", *args)
    got = invoke("fit", str(parts / "*.parquet"), *args, "--dask", "--workers", "1",
                 "--validation", "all.parquet")
    assert ref.exit_code == 0 and got.exit_code == 0, got.stderr
    a, b = json.loads(ref.stdout), json.loads(got.stdout)
    assert a["classes"] == b["classes"] == sorted(set(target.tolist()))
    assert a["n_iter"] == b["n_iter"] and a["converged"] == b["converged"] is True

    def flat(d):
        return [d] if isinstance(d, float) else [v for x in d.values() for v in flat(x)]

    np.testing.assert_allclose(flat(b["coef"]), flat(a["coef"]), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(flat(b["intercept"]), flat(a["intercept"]), rtol=1e-8)
    for scores in (b["train"], b["held_out"]):  # the same rows: the same scores
        assert scores["rows"] == 150
        assert scores["accuracy"] == pytest.approx(a["train"]["accuracy"], rel=1e-12)
        assert scores["log_loss"] == pytest.approx(a["train"]["log_loss"], rel=1e-8)


def test_dask_text_labels_name_the_option(files):
    parts = files / "parts"
    parts.mkdir()
    pd.read_csv("iris.csv").to_parquet(parts / "p0.parquet", index=False)
    line = one_error_line(invoke("fit", str(parts / "*.parquet"), "--target", "species",
                                 "--loss", "log", "--dask", "--workers", "1"))
    assert line.startswith("error: --dask: --loss log on Dask takes class labels that are "
                           "numbers")
