"""descend.io: the one table reader (files, bytes, Dask pieces) and the one model format."""

from __future__ import annotations

import doctest
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import descend
from descend import GDRegressor, _text, read_table
from descend import io as dio
from descend.errors import DataError, InvalidArgument, InvalidType


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_doctests_of_io_and_text():
    for module in (dio, _text):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 0 and failed == 0, module.__name__


def test_csv_and_parquet_round_trip(tmp_path):
    p = _csv(tmp_path, "a,b,y\n1,2,3\n4,5,6\n")
    X, y = read_table(p, "y")
    assert X.columns.tolist() == ["a", "b"] and y.tolist() == [3.0, 6.0]
    assert y.name == "y" and X.dtypes.tolist() == [np.float64, np.float64]
    q = tmp_path / "t.parquet"
    pd.read_csv(p).to_parquet(q)
    X2, y2 = read_table(q, "y", features=["b"])
    assert X2.columns.tolist() == ["b"] and y2.tolist() == [3.0, 6.0]


def test_bytes_and_buffers_read_like_files(tmp_path):
    data = b"a,y\n1,2\n3,4\n"
    X, y = read_table(data, "y", format="csv")
    assert X["a"].tolist() == [1.0, 3.0]
    X, y = read_table(io.BytesIO(data), "y", name="up.csv")
    assert y.tolist() == [2.0, 4.0]
    buf = io.BytesIO()
    pd.DataFrame({"a": [1.0], "y": [2.0]}).to_parquet(buf)
    assert read_table(buf.getvalue(), "y", format="parquet")[0].shape == (1, 1)
    with pytest.raises(InvalidArgument, match="format: give 'csv' or 'parquet'"):
        read_table(data, "y")
    with pytest.raises(InvalidType, match="path: expected a path, bytes or a binary file"):
        read_table(3.5, "y")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,y\n1,2\n1e400,3\n", r"column 'a' contains inf at row 1 \(NaN and inf .*that row$"),
        ("a,y\n1,2\n,3\n4,5\n", "column 'a' contains NaN at row 1 "),
        ("a,y\n,2\n,3\n4,5\n", "column 'a' contains NaN at rows 0, 1 .* those rows$"),
        ("a,y\n1,2\nfoo,3\n", r"column 'a' is not numeric \(dtype .*\): row 1 holds 'foo';"),
        ("a,y\nx,2\nfoo,3\n", "column 'a' is not numeric .*: rows 0, 1 hold values such as 'x'"),
        ("a,y\n1,2\n2,nan\n", "column 'y' contains NaN"),
        ("a,y\n", "has a header but no data rows"),
        ("", r"is empty \(not even a header row\)"),
        ("a,y\n1,2\n3,4,5\n", "t.csv: line 3 has 3 fields but the header has 2$"),
        ("a,y\n1,2,3\n", "rows with more fields than its header"),
        ("x,y,y\n1,2,3\n", r"the column name 'y' appears more than once \(columns 2, 3\)"),
        ("x,x,y\n1,2,3\n", r"the column name 'x' appears more than once \(columns 1, 2\)"),
        ("x,x,y,y\n1,2,3,4\n", "the column names 'x', 'y' appear more than once"),
        (",x,y\n0,1,2\n1,2,3\n", "column 1 has no name .*index=False"),
        ("x, ,y,\n0,1,2,3\n", "columns 2, 4 have no name"),
    ],
)
def test_bad_tables_name_what_is_wrong(tmp_path, text, match):
    with pytest.raises(DataError, match=match) as info:
        read_table(_csv(tmp_path, text), "y")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("path: ")


def test_not_utf8(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("a,y\n1,2\n\xe9,3\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_table(p, "y")


def test_parquet_files_that_are_not_parquet(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match="not a Parquet file, or a truncated one"):
        read_table(bad, "y")
    good = tmp_path / "good.parquet"
    pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0)}).to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cannot read .*cut.parquet as Parquet"):
        read_table(cut, "y")
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"x": [], "y": []}, dtype=float).to_parquet(empty)
    with pytest.raises(DataError, match="has no data rows"):
        read_table(empty, "y")


def test_parquet_headers_are_checked(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    ones = pa.array([1.0, 2.0])
    pq.write_table(pa.table([ones, ones, ones], names=["x", "y", "y"]), tmp_path / "d.parquet")
    with pytest.raises(DataError, match="the column name 'y' appears more than once"):
        read_table(tmp_path / "d.parquet", "y")
    pq.write_table(pa.table([ones, ones], names=["", "y"]), tmp_path / "e.parquet")
    with pytest.raises(DataError, match="column 1 has no name"):
        read_table(tmp_path / "e.parquet", "y")
    pd.DataFrame({"Unnamed: 0": [0, 1], "y": [1.0, 2.0]}).to_parquet(tmp_path / "u.parquet")
    with pytest.raises(DataError, match="column 1 has no name"):
        read_table(tmp_path / "u.parquet", "y")


def test_a_stored_parquet_index_is_not_a_feature(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 7.0]},
                         index=pd.Index([10, 20, 30], name="id"))
    frame.to_parquet(tmp_path / "t.parquet")
    X, _ = read_table(tmp_path / "t.parquet", "y")
    assert X.columns.tolist() == ["x"] and X.index.tolist() == [10, 20, 30]


def test_messages_never_show_an_empty_row_list(tmp_path):
    # every value of these columns converts, yet they are not numbers
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                          "text": ["1", "2"], "y": [1.0, 2.0]})
    frame.to_parquet(tmp_path / "t.parquet")
    for column in ("when", "text"):
        with pytest.raises(DataError, match=f"column '{column}' is not numeric") as info:
            read_table(tmp_path / "t.parquet", "y", features=[column])
        message = str(info.value)
        assert "rows such as" not in message and " row  " not in message
        assert "its values are not numbers, such as" in message


@pytest.mark.parametrize("kind", ["directory", "fifo", "dev_zero", "dangling"])
def test_non_regular_files_are_refused_at_once(tmp_path, kind):
    """In a child process with a time limit: a FIFO used to hang, /dev/zero to eat 4 GB."""
    target = tmp_path / "t.csv"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev_zero":
        target.symlink_to("/dev/zero")
    else:
        target.symlink_to(tmp_path / "gone.csv")
    code = ("import sys; from descend import io\n"
            "try:\n    io.read_table(sys.argv[1], 'y')\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                         text=True, timeout=60, check=True)
    expected = {"directory": "is not a regular file but a directory",
                "fifo": "is not a regular file but a named pipe (FIFO)",
                "dev_zero": "(a symbolic link to '/dev/zero') is not a regular file but a "
                            "character device",
                "dangling": "is a symbolic link to"}[kind]
    assert out.stdout.startswith("InvalidArgument path: ") and expected in out.stdout
    assert "no such file" not in out.stdout


def test_missing_things_are_named(tmp_path):
    p = _csv(tmp_path, "a,b,y\n1,2,3\n")
    with pytest.raises(InvalidArgument, match="no such file"):
        read_table(tmp_path / "nope.csv", "y")
    with pytest.raises(InvalidArgument, match=r"target: no column 'z' in .*'a', 'b', 'y'"):
        read_table(p, "z")
    with pytest.raises(InvalidArgument, match="features: no column 'c'"):
        read_table(p, "y", features=["c"])
    with pytest.raises(InvalidArgument, match="features: no columns 'c', 'd'"):
        read_table(p, "y", features=["a", "c", "d"])
    with pytest.raises(InvalidArgument, match="features: 'y' is the target"):
        read_table(p, "y", features=["a", "y"])
    with pytest.raises(InvalidArgument, match="features: 'a' named more than once"):
        read_table(p, "y", features=["a", "a"])
    with pytest.raises(InvalidArgument, match=r"\.csv or \.parquet"):
        read_table(_csv(tmp_path, "a,y\n1,2\n", "t.txt"), "y")


def test_read_frame_limits_rows_and_columns(tmp_path):
    p = _csv(tmp_path, "a,b,y\n" + "1,2,3\n" * 11)
    with pytest.raises(DataError, match="has more than 10 rows; send at most 10"):
        dio.read_frame(p, max_rows=10)
    assert dio.read_frame(p, max_rows=11).shape == (11, 3)
    assert dio.read_frame(p, columns=["b"]).columns.tolist() == ["b"]
    with pytest.raises(InvalidArgument, match="columns: no column 'q'"):
        dio.read_frame(p, columns=["q"])
    with pytest.raises(DataError, match=r"^upload: "):
        dio.read_frame(b"x,y\n", format="csv", what="upload")


def test_numeric_columns_names_the_file_and_column():
    frame = pd.DataFrame({"a": [1.0, np.inf], "s": ["u", "v"]})
    with pytest.raises(DataError, match=r"path: f.csv: column 'a' contains inf at row 1"):
        dio.numeric_columns(frame, ["a"], name="f.csv")
    assert dio.numeric_columns(frame, ["a"], finite=False).shape == (2, 1)
    with pytest.raises(DataError, match="column 's' is not numeric"):
        dio.numeric_columns(frame, ["s"])
    with pytest.raises(InvalidArgument, match="no column 'z'"):
        dio.numeric_columns(frame, ["z"])


def test_non_numeric_data_is_a_value_error_as_in_scikit_learn():
    with pytest.raises(ValueError, match="must hold numbers") as info:
        GDRegressor().fit(np.array([["a"], ["b"], ["c"]]), [1.0, 2.0, 3.0])
    assert isinstance(info.value, DataError)
    assert not isinstance(info.value, TypeError)


# -- Dask: the same reader for every partition ---------------------------------------------


def test_read_dask_table_reads_pieces_with_the_same_reader(tmp_path, monkeypatch):
    pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(500, 3)), columns=["a", "b", "y"])
    frame["id"] = np.arange(500)
    (tmp_path / "c").mkdir()
    (tmp_path / "p").mkdir()
    for i in range(0, 500, 200):
        frame.iloc[i : i + 200].to_csv(tmp_path / "c" / f"part-{i:03d}.csv", index=False)
        frame.iloc[i : i + 200].to_parquet(tmp_path / "p" / f"part-{i:03d}.parquet",
                                           index=False, row_group_size=64)
    monkeypatch.setattr(dio, "_PIECE_BYTES", 2000)  # cut files into several pieces
    for kind, suffix in (("c", "csv"), ("p", "parquet")):
        X, y = dio.read_dask_table(str(tmp_path / kind / f"*.{suffix}"), "y", ["a", "b"])
        assert X.npartitions > 3
        got = X.compute(scheduler="sync")
        np.testing.assert_array_equal(got.to_numpy(), frame[["a", "b"]].to_numpy())
        np.testing.assert_array_equal(y.compute(scheduler="sync").to_numpy(), frame["y"])
    one = tmp_path / "c" / "part-000.csv"
    X, _ = dio.read_dask_table(str(one), "y")
    assert list(X.columns) == ["a", "b", "id"]


def test_read_dask_table_refuses_what_read_table_refuses(tmp_path):
    pytest.importorskip("dask.dataframe")
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.csv").write_text("x,y\n1,2\n2,3\n")
    (folder / "b.csv").write_text("x,y,y\n1,2,3\n")
    X, _ = dio.read_dask_table(str(folder / "*.csv"), "y")
    with pytest.raises(DataError, match=r"b.csv: the column name 'y' appears more than once"):
        X.compute(scheduler="sync")
    (folder / "b.csv").write_text("x,z\n1,2\n")
    X, _ = dio.read_dask_table(str(folder / "*.csv"), "y")
    with pytest.raises(DataError, match=r"b.csv has the columns 'x', 'z', but the first file"):
        X.compute(scheduler="sync")
    (folder / "b.csv").write_text("x,y\nfoo,2\n")
    X, _ = dio.read_dask_table(str(folder / "*.csv"), "y")
    with pytest.raises(DataError, match=r"b.csv: column 'x' is not numeric .*row 0 holds 'foo'"):
        X.compute(scheduler="sync")
    (folder / "c.csv").mkdir()
    with pytest.raises(InvalidArgument, match=r"c.csv' is not a regular file but a directory"):
        dio.read_dask_table(str(folder / "*.csv"), "y")
    with pytest.raises(InvalidArgument, match="no file matches"):
        dio.read_dask_table(str(folder / "*.parquet"), "y")
    (tmp_path / "t.csv").write_text("x,y\nfoo,2\n")
    with pytest.raises(DataError, match="column 'x' is not numeric"):  # before any compute
        dio.read_dask_table(str(tmp_path / "t.csv"), "y")


def test_csv_pieces_cut_at_line_ends(tmp_path, monkeypatch):
    pytest.importorskip("dask.dataframe")
    n = 60
    lines = "".join(f"{i},{i * 2}.5,{'x' * (i % 17)}{i}\n" for i in range(n))
    (tmp_path / "t.csv").write_text("a,y,note\n" + lines)
    for cut in (7, 50, 401):  # cuts inside the header, inside lines, at line ends
        monkeypatch.setattr(dio, "_PIECE_BYTES", cut)
        X, y = dio.read_dask_table(str(tmp_path / "t.csv"), "y", ["a"])
        assert X.compute(scheduler="sync")["a"].tolist() == list(range(n))
        assert y.compute(scheduler="sync").tolist() == [i * 2 + 0.5 for i in range(n)]


# -- models ---------------------------------------------------------------------------------


@pytest.fixture
def fitted():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    y = 1.0 + X["a"] * 2 - X["b"]
    return GDRegressor(lr=0.1, max_iter=500).fit(X, y), X


def test_save_and_load_give_the_same_predictions_bit_for_bit(tmp_path, fitted):
    model, X = fitted
    path = tmp_path / "m.json"
    descend.save_model(model, path, target="y")
    back = descend.load_model(path)
    assert isinstance(back, GDRegressor)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.feature_names_in_.tolist() == ["a", "b"] and back.target_name_ == "y"
    assert back.n_iter_ == model.n_iter_ and back.converged_ == model.converged_
    assert back.get_params()["lr"] == 0.1 and back.get_params()["max_iter"] == 500
    doc = json.loads(path.read_text())
    assert doc["format"] == dio.MODEL_FORMAT and doc["format_version"] == dio.MODEL_VERSION
    assert doc["descend_version"] == descend.__version__
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_save_is_atomic_and_checks_the_model(tmp_path, fitted, monkeypatch):
    model, _ = fitted
    path = tmp_path / "m.json"
    path.write_text("old")

    def boom(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", boom)
    with pytest.raises(OSError, match="disk full"):
        dio.save_model(model, path)
    monkeypatch.undo()
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["m.json"]
    with pytest.raises(InvalidArgument, match="model: not fitted"):
        dio.save_model(GDRegressor(), path)
    with pytest.raises(InvalidType, match="model: expected a fitted GDRegressor"):
        dio.save_model(object(), path)  # type: ignore[arg-type]


def test_objects_that_are_not_json_are_left_out(tmp_path, fitted):
    model, X = fitted
    model.set_params(lr=descend.schedules.exponential_decay(0.1, 0.99)
                     if hasattr(descend.schedules, "exponential_decay") else (lambda k: 0.1))
    dio.save_model(model, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["params_left_out"] == ["lr"] and "lr" not in doc["params"]
    back = dio.load_model(tmp_path / "m.json")
    assert back.get_params()["lr"] == GDRegressor().get_params()["lr"]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_format_1_files_still_load(tmp_path):
    old = {"format": "descend-linear-model", "format_version": 1, "descend_version": "0.1.0",
           "target": "y", "features": ["a", "b"], "coef": [2.0, -1.0], "intercept": 0.5,
           "loss": "huber", "settings": {"method": "gd", "lr": "auto", "max_iter": 1000,
                                         "tol": 1e-8, "batch_size": None,
                                         "fit_intercept": True},
           "n_iter": 12, "converged": True, "final_loss": 0.1}
    (tmp_path / "m.json").write_text(json.dumps(old))
    back = dio.load_model(tmp_path / "m.json")
    assert back.loss == "huber" and back.predict(pd.DataFrame({"a": [1.0], "b": [1.0]})) == 1.5


def _doc(**change):
    doc = {"format": "descend-linear-model", "format_version": 2, "descend_version": "0.1.0",
           "estimator": "GDRegressor", "params": {"loss": "mse"}, "params_left_out": [],
           "target": "y", "features": ["a", "b"], "n_features": 2, "coef": [1.0, 2.0],
           "intercept": 0.5, "n_iter": 3, "converged": True}
    doc.update(change)
    return json.dumps(doc)


HOSTILE = [
    ("not json at all", "not valid JSON"),
    ("\udcff", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('{"coef": NaN}', "NaN is not a number"),
    ('{"format": "descend-linear-model", "format_version": 2, "coef": ' + "9" * 5000 + "}",
     "not valid JSON"),
    ("[1, 2]", "not a descend model"),
    ('{"format": "pickle"}', "not a descend model"),
    (_doc(format_version=99), "model format 99 .* reads formats 1 to 2: upgrade descend"),
    (_doc(format_version="2"), "format_version: expected a whole number"),
    (_doc(estimator="os.system"), "estimator: expected one of 'GDRegressor'"),
    (_doc(params={"__class__": "x"}), "params: unknown parameter '__class__'"),
    (_doc(params={"callback": "print"}), "params: unknown parameter 'callback'"),
    (_doc(params={"lr": {"py/object": "os.system"}}), "params: lr must be a number"),
    (_doc(params=[1]), "params: expected an object"),
    (_doc(coef=["1", 2.0]), "coef: expected numbers"),
    (_doc(coef=[True, 2.0]), "coef: expected numbers"),
    (_doc(coef=[1.0, 1e999]), "not valid JSON|coef: expected finite numbers"),
    (_doc(coef=[1.0]), "features: expected 1 column name"),
    (_doc(coef=[]), "coef: expected a list of numbers"),
    (_doc(coef=[[1.0, 2.0], [3.0]]), "coef: expected rows of equal length"),
    (_doc(intercept=[0.5]), "intercept: expected one number"),
    (_doc(intercept=None), "intercept: expected numbers"),
    (_doc(features=["a", "a"]), "features: a column name appears more than once"),
    (_doc(features=["a", ""]), "features: expected 2 column names"),
    (_doc(features="ab"), "features: expected 2 column names"),
    (_doc(n_features=3), "n_features: 3 does not match the 2 coefficients"),
    (_doc(target={"x": 1}), "target: expected a column name or null"),
    (_doc(n_iter=-1), "n_iter: expected a whole number >= 0"),
    (_doc(converged="yes"), "converged: expected true or false"),
]


@pytest.mark.parametrize(("text", "match"), HOSTILE)
def test_hostile_model_files_give_one_clear_error(tmp_path, text, match):
    path = tmp_path / "m.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(InvalidArgument, match=match) as info:
        dio.load_model(path)
    message = str(info.value)
    assert message.startswith("model: ") and "\n" not in message and len(message) < 400


def test_model_files_must_be_small_regular_files(tmp_path, monkeypatch):
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(InvalidArgument, match="not a regular file but a directory"):
        dio.load_model(tmp_path / "dir.json")
    with pytest.raises(InvalidArgument, match="no such file"):
        dio.load_model(tmp_path / "none.json")
    (tmp_path / "big.json").write_text(_doc())
    monkeypatch.setattr(dio, "_MODEL_BYTES", 100)
    with pytest.raises(InvalidArgument, match="is over 64 MB"):
        dio.load_model(tmp_path / "big.json")


def test_a_pickle_is_never_executed(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch CANARY",))

    (tmp_path / "m.json").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        dio.load_model(tmp_path / "m.json")
    assert not (tmp_path / "CANARY").exists() and not Path("CANARY").exists()


# -- words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "word", "expected"), [
    (1, "iteration", "1 iteration"), (0, "iteration", "0 iterations"),
    (2, "epoch", "2 epochs"), (1.0, "row", "1.0 row"), (12345, "row", "12,345 rows"),
    (2, "has", "2 have"), (3, "match", "3 matches"), (2, "entry", "2 entries"),
    (2, "day", "2 days"), (2, "index", "2 indices"), (5, "child", "5 children"),
])
def test_one_rule_for_plurals(n, word, expected):
    many = "children" if word == "child" else None
    assert _text.count(n, word, many) == expected


def test_listing():
    assert _text.listing([]) == ""
    assert _text.listing(list(range(7))) == "0, 1, 2, 3, 4 and 2 more"
