"""GDRegressor on Dask arrays and dataframes: the in-memory iterates, on a local cluster."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from descend import GDRegressor
from descend.errors import DataError

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

N, P, CHUNK = 6000, 4, 1000
RTOL = 1e-10


@pytest.fixture(scope="module")
def client():
    """Two in-process workers of one thread each, shut down at the end of the module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(N, P)) * [1.0, 3.0, 0.5, 10.0] + [2.0, -1.0, 0.0, 50.0]
    y = X @ np.array([1.5, -2.0, 0.25, 0.1]) + 4.0 + rng.standard_t(3, size=N)
    return X, y


def same_fit(a: GDRegressor, b: GDRegressor) -> None:
    """``b`` (Dask) retraces ``a`` (in memory) to RTOL, attribute by attribute."""
    assert b.n_iter_ == a.n_iter_ and b.converged_ == a.converged_
    for name in ("path_", "loss_curve_", "coef_"):
        got = getattr(b, name)
        assert isinstance(got, np.ndarray)
        np.testing.assert_allclose(got, getattr(a, name), rtol=RTOL, atol=0, err_msg=name)
    assert b.intercept_ == pytest.approx(a.intercept_, rel=RTOL)
    assert b.n_features_in_ == a.n_features_in_
    np.testing.assert_allclose(b.result_.x, a.result_.x, rtol=RTOL, atol=0)


CASES = [
    pytest.param({"loss": "mse"}, id="mse-full"),
    pytest.param({"loss": "huber"}, id="huber-full"),
    pytest.param({"loss": "mse", "batch_size": CHUNK, "max_iter": 8, "tol": None},
                 id="mse-minibatch"),
    pytest.param({"loss": "huber", "batch_size": CHUNK, "max_iter": 8, "tol": None},
                 id="huber-minibatch"),
]


def write_parts(frame: pd.DataFrame, folder, rows: int) -> None:
    """``frame`` as Parquet files of ``rows`` rows (pandas writes them: dask's writer warns)."""
    folder.mkdir()
    for i in range(0, len(frame), rows):
        frame.iloc[i : i + rows].to_parquet(folder / f"part-{i:06d}.parquet", index=False)


def in_memory(kw: dict, X, y) -> GDRegressor:
    kw = {**kw, "random_state": 3}
    if "batch_size" in kw:
        kw["shuffle"] = "blocks"  # the batches Dask draws: whole row blocks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=None: not certified after a few epochs
        return GDRegressor(**kw).fit(X, y)


def on_dask(kw: dict, X, y) -> GDRegressor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GDRegressor(**{**kw, "random_state": 3}).fit(X, y)


@pytest.mark.parametrize("kw", CASES)
def test_dask_array_fit_equals_in_memory(client, data, kw):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNK, P))
    yd = da.from_array(y, chunks=1500)  # other row chunks: rechunked to X's
    same_fit(in_memory(kw, X, y), on_dask(kw, Xd, yd))


@pytest.mark.parametrize("kw", CASES)
def test_parquet_dataframe_fit_equals_in_memory(client, data, tmp_path, kw):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    write_parts(frame, tmp_path / "t", CHUNK)
    ddf = dd.read_parquet(str(tmp_path / "t"))
    cols = ["a", "b", "c", "d"]
    a = in_memory(kw, frame[cols], frame["y"])
    b = on_dask(kw, ddf[cols], ddf["y"])
    same_fit(a, b)
    assert list(b.feature_names_in_) == cols
    from descend.linear_model import _dask

    with warnings.catch_warnings():  # dask's Parquet reader uses a deprecated pandas call
        warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
        r2, rmse, n = _dask.metrics(b, ddf[cols], ddf["y"])  # X and y read as one frame
    assert n == N and r2 == pytest.approx(a.score(frame[cols], frame["y"]), rel=1e-9)
    resid = frame["y"] - a.predict(frame[cols])
    assert rmse == pytest.approx(float(np.sqrt(np.mean(resid**2))), rel=1e-9)


def test_predict_is_lazy_and_score_matches(client, data):
    X, y = data
    Xd, yd = da.from_array(X, chunks=(CHUNK, P)), da.from_array(y, chunks=CHUNK)
    m = GDRegressor().fit(Xd, yd)
    pred = m.predict(Xd)
    assert type(pred).__module__.startswith("dask") and pred.shape == (N,)
    np.testing.assert_allclose(pred.compute(), m.predict(X), rtol=1e-12)
    assert m.score(Xd, yd) == pytest.approx(m.score(X, y), rel=1e-12)


def test_score_on_parquet_columns_read_in_other_partitions(client, data, tmp_path):
    # a lone column read from Parquet may come in fewer partitions than the frame, with
    # unknown sizes: score must line them up itself (the README's Dask example does this)
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    for i in range(0, N, CHUNK):  # with the index: dask's reader warns on index=False files
        frame.iloc[i : i + CHUNK].to_parquet(tmp_path / f"part-{i:06d}.parquet")
    ddf = dd.read_parquet(str(tmp_path / "*.parquet"))
    Xd, yd = ddf.drop(columns="y"), ddf["y"]
    m = GDRegressor().fit(Xd, yd)
    assert m.score(Xd, yd) == pytest.approx(m.score(frame.drop(columns="y"), y), rel=1e-12)


def test_score_of_a_frame_and_a_series_cut_into_different_partitions(client, data):
    # X and y read separately can be cut differently (unknown chunk sizes): score reads
    # them as one frame, so the rows it compares are the same rows
    X, y = data
    cols = [f"x{j}" for j in range(P)]
    frame = pd.DataFrame(X, columns=cols).assign(y=y)
    m = GDRegressor().fit(frame[cols], frame["y"])
    Xd = dd.from_pandas(frame[cols], npartitions=3)
    yd = dd.from_pandas(frame["y"], npartitions=5)
    assert m.score(Xd, yd) == pytest.approx(m.score(frame[cols], frame["y"]), rel=1e-12)


def test_bad_values_named_by_the_statistics_pass(client, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.loc[4321, "c"] = np.nan
    ddf = dd.from_pandas(frame, chunksize=CHUNK)
    with pytest.raises(DataError, match=r"column 'c' contains NaN .* row 4321"):
        GDRegressor().fit(ddf, da.from_array(y, chunks=CHUNK))
    text = ddf.assign(d=ddf["d"].astype(str))
    with pytest.raises(DataError, match="column 'd' is not numeric"):
        GDRegressor().fit(text, da.from_array(y, chunks=CHUNK))


def test_local_scheduler_without_a_client(data):
    X, y = data
    Xd, yd = da.from_array(X, chunks=(CHUNK, P)), da.from_array(y, chunks=CHUNK)
    same_fit(in_memory({"loss": "huber"}, X, y), on_dask({"loss": "huber"}, Xd, yd))


def test_in_memory_fits_never_import_dask():
    code = ("import sys, numpy as np, descend\n"
            "X = np.random.default_rng(0).normal(size=(50, 2))\n"
            "descend.GDRegressor().fit(X, X[:, 0] + 1.0)\n"
            "descend.GDRegressor(loss='huber', batch_size=10, max_iter=3, tol=None,"
            " shuffle='blocks').fit(X, X[:, 0])\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_cli_fit_dask_equals_in_memory(data, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from descend.cli import app

    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    parts = tmp_path / "parts"
    write_parts(frame, parts, 2000)
    frame.to_parquet(tmp_path / "all.parquet")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ref = runner.invoke(app, ["fit", "all.parquet", "--target", "y", "--json"])
    got = runner.invoke(app, ["fit", str(parts / "*.parquet"), "--target", "y", "--dask",
                              "--workers", "2", "--memory-limit", "1GB", "--json",
                              "--validation", "all.parquet"])
    assert ref.exit_code == 0 and got.exit_code == 0, got.stderr
    a, b = json.loads(ref.stdout), json.loads(got.stdout)
    assert b["n_iter"] == a["n_iter"] and b["converged"] == a["converged"]
    assert b["train"]["rows"] == a["train"]["rows"] == b["held_out"]["rows"] == N
    for scores in (b["train"], b["held_out"]):  # the same rows: the same R^2 and RMSE
        assert scores["r2"] == pytest.approx(a["train"]["r2"], rel=1e-9)
        assert scores["rmse"] == pytest.approx(a["train"]["rmse"], rel=1e-9)
    for k, v in a["coef"].items():
        assert b["coef"][k] == pytest.approx(v, rel=RTOL)
    assert b["intercept"] == pytest.approx(a["intercept"], rel=RTOL)
    bad = runner.invoke(app, ["fit", str(parts / "*.csv"), "--target", "y", "--dask"])
    assert bad.exit_code == 2 and "no file matches" in bad.stderr


def test_cli_dask_bad_file_is_one_line_not_the_workers_logs(data, tmp_path):
    """A task failing on the command's own cluster: the user sees the one-line error and the
    exit code 2, not the workers' logged tracebacks (a separate process: their stderr)."""
    X, y = data
    parts = tmp_path / "bad"
    write_parts(pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y), parts, 2000)
    broken = sorted(parts.glob("*.parquet"))[1]
    broken.write_bytes(broken.read_bytes()[:300])  # truncated: no footer
    run = subprocess.run([sys.executable, "-m", "descend", "fit", str(parts / "*.parquet"),
                          "--target", "y", "--dask", "--workers", "1", "--memory-limit",
                          "600MB"], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: path: cannot read"), run.stderr
    assert broken.name in lines[0]


@pytest.mark.parametrize(("limit", "match"), [("256MB", "at least 500MB"),
                                               ("lots", "expected a size")])
def test_cli_refuses_a_worker_memory_limit_that_would_pause_every_worker(tmp_path, limit, match):
    from typer.testing import CliRunner

    from descend.cli import app

    pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.5]}).to_parquet(tmp_path / "p.parquet")
    res = CliRunner().invoke(app, ["fit", str(tmp_path / "*.parquet"), "--target", "y",
                                   "--dask", "--memory-limit", limit])
    assert res.exit_code == 2
    assert res.stderr.startswith("error: --memory-limit") and match in res.stderr


# ------------------------------------------------------------------ Parquet read by pyarrow
def pyarrow_arrays(pattern: str, target: str, features=None):
    from descend.linear_model import _dask

    parts, names = _dask.plan_parquet(sorted(glob.glob(pattern)), target, features)
    return (*_dask.parquet_arrays(parts, names, target), names, parts)


def test_pyarrow_parquet_arrays_fit_as_in_memory(client, data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    write_parts(frame, tmp_path / "t", 1700)  # uneven files
    # one more file of several small row groups, read in runs of them
    more = frame.iloc[:700]
    pq.write_table(pa.Table.from_pandas(more, preserve_index=False),
                   tmp_path / "t" / "zz.parquet", row_group_size=100)
    full = pd.concat([frame, more], ignore_index=True)
    Xd, yd, names, parts = pyarrow_arrays(str(tmp_path / "t" / "*.parquet"), "y",
                                          ["d", "a", "c"])
    assert names == ["d", "a", "c"] and Xd.shape == (len(full), 3)  # known from the footers
    assert sum(p.rows for p in parts) == len(full)
    np.testing.assert_array_equal(Xd.compute(), full[names].to_numpy())
    np.testing.assert_array_equal(yd.compute(), full["y"].to_numpy())
    for kw in (CASES[0].values[0], CASES[2].values[0]):
        same_fit(in_memory(kw, full[names].to_numpy(), full["y"].to_numpy()), on_dask(kw, Xd, yd))


def test_a_streamed_parquet_fit_reads_each_part_in_the_task_that_uses_it(data, tmp_path,
                                                                       monkeypatch):
    import dask

    from descend.linear_model import _dask, _dask_tasks

    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    write_parts(frame, tmp_path / "s", 1700)
    reads = []
    real = _dask_tasks._read_columns

    def counted(path, *args):
        reads.append(path)
        return real(path, *args)

    monkeypatch.setattr(_dask_tasks, "_read_columns", counted)
    Xd, yd, names, parts = pyarrow_arrays(str(tmp_path / "s" / "*.parquet"), "y")
    with dask.config.set(scheduler="synchronous"):
        est = GDRegressor().fit(Xd, yd)
        assert len(reads) == len(parts)  # each part once: no task reads one for a shift
        data_ = _dask.prepare(GDRegressor(), Xd, yd, reset=True)
        assert all(isinstance(b, _dask_tasks.PartBlock) for b in data_.xs + data_.ys)
        # any other array of the same files takes the general path, to the same fit
        other = GDRegressor().fit(Xd[:, :4], yd + 0.0)
        before = len(reads)
        r2, rmse, rows = _dask.metrics(est, Xd, yd)  # the scores' pass: each part once more
        assert len(reads) == before + len(parts) and rows == len(frame)
    from sklearn.metrics import mean_squared_error, r2_score

    pred = est.predict(frame[names].to_numpy())
    assert r2 == pytest.approx(r2_score(frame["y"], pred), rel=1e-12)
    assert rmse == pytest.approx(mean_squared_error(frame["y"], pred) ** 0.5, rel=1e-12)
    ref = GDRegressor().fit(frame[names].to_numpy(), frame["y"].to_numpy())
    for e in (est, other):
        np.testing.assert_allclose(e.coef_, ref.coef_, rtol=RTOL)
        assert e.intercept_ == pytest.approx(ref.intercept_, rel=RTOL)


def test_frames_of_read_dask_table_are_read_by_the_fit_tasks(data, tmp_path, monkeypatch):
    """descend fit --dask's frames: a streamed fit and the scores' pass read the files in
    their own tasks (never through the frames' partitions), to the in-memory results; a
    changed frame does not, and gets the same results."""
    import dask

    from descend import io as dio
    from descend.linear_model import GDClassifier, _dask, _dask_tasks

    X, y = data
    cols = ["a", "b", "c", "d"]
    frame = pd.DataFrame(X, columns=cols).assign(y=y, label=(y > 4.0) * 1.0)
    write_parts(frame, tmp_path / "f", 1700)
    pattern = str(tmp_path / "f" / "*.parquet")
    Xf, yf = dio.read_dask_table(pattern, "y", cols)
    Xc, yc = dio.read_dask_table(pattern, "label", cols)
    frame_reads, task_reads = [], []
    real_frame_read, real_task_read = dio._read_parquet, _dask_tasks._read_columns

    def frame_read(*args, **kw):  # what the frames' partitions call, looked up at run time
        frame_reads.append(args)
        return real_frame_read(*args, **kw)

    def task_read(path, *args):
        task_reads.append(path)
        return real_task_read(path, *args)

    monkeypatch.setattr(dio, "_read_parquet", frame_read)
    monkeypatch.setattr(_dask_tasks, "_read_columns", task_read)
    with dask.config.set(scheduler="synchronous"):
        clf = GDClassifier(alpha=1e-3).fit(Xc, yc)
        del frame_reads[:], task_reads[:]  # the classifier's label scan reads y by the frame
        est = GDRegressor().fit(Xf, yf)
        lean = _dask.metrics(est, Xf, yf)
        lean_clf = _dask.class_sums(clf, Xc, yc)
        assert not frame_reads and len(task_reads) == 3 * 4  # fit, scores, class scores
        assert _dask._frame_source(Xf, yf) is not None
        assert _dask._frame_source(Xf * 1.0, yf) is None  # a changed frame: its own reads
        assert _dask._frame_source(Xf, yc) is None
        other = GDRegressor().fit(Xf * 1.0, yf)
        general = _dask.metrics(est, Xf * 1.0, yf)
        general_clf = _dask.class_sums(clf, Xc * 1.0, yc)
        assert frame_reads
    ref = GDRegressor().fit(frame[cols].to_numpy(), frame["y"].to_numpy())
    ref_clf = GDClassifier(alpha=1e-3).fit(frame[cols].to_numpy(), frame["label"].to_numpy())
    for e in (est, other):
        np.testing.assert_allclose(e.coef_, ref.coef_, rtol=RTOL)
        assert e.intercept_ == pytest.approx(ref.intercept_, rel=RTOL)
        assert list(e.feature_names_in_) == cols
    np.testing.assert_allclose(clf.coef_, ref_clf.coef_, rtol=1e-8, atol=1e-10)
    assert lean[2] == general[2] == len(frame)
    np.testing.assert_allclose(lean[:2], general[:2], rtol=1e-12)
    assert lean_clf[0] == general_clf[0] == len(frame) and lean_clf[3] == general_clf[3] == 0
    hits = np.sum(clf.predict(frame[cols]) == frame["label"])
    assert lean_clf[1] == general_clf[1] == hits
    assert lean_clf[2] == pytest.approx(general_clf[2], rel=1e-12)


def test_frames_not_read_by_the_tasks_when_the_files_change_or_differ(data, tmp_path):
    """Rewritten files, a later file with other columns or no rows: the frames' own reads
    (and their errors); a damaged page is a DataError naming the file."""
    import os

    import dask

    from descend import io as dio
    from descend.linear_model import _dask

    X, y = data
    cols = ["a", "b", "c", "d"]
    frame = pd.DataFrame(X, columns=cols).assign(y=y)
    write_parts(frame, tmp_path / "g", 2000)
    files = sorted(glob.glob(str(tmp_path / "g" / "*.parquet")))
    pattern = str(tmp_path / "g" / "*.parquet")
    Xf, yf = dio.read_dask_table(pattern, "y", cols)
    assert _dask._frame_source(Xf, yf) is not None
    frame.iloc[:500].to_parquet(files[-1], index=False)  # rewritten: other rows
    os.utime(files[-1], ns=(1, 1))
    assert _dask._frame_source(Xf, yf) is None
    with dask.config.set(scheduler="synchronous"):
        got = GDRegressor().fit(Xf, yf)
    both = pd.concat([frame.iloc[:4000], frame.iloc[:500]])
    ref = GDRegressor().fit(both[cols].to_numpy(), both["y"].to_numpy())
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=RTOL)

    frame.iloc[:500].assign(e=1.0).to_parquet(files[-1], index=False)  # another column
    Xf, yf = dio.read_dask_table(pattern, "y", cols)
    assert _dask._frame_source(Xf, yf) is None
    frame.iloc[:0].to_parquet(files[-1], index=False)  # no rows
    Xf, yf = dio.read_dask_table(pattern, "y", cols)
    assert _dask._frame_source(Xf, yf) is None
    with dask.config.set(scheduler="synchronous"), pytest.raises(DataError, match="no data rows"):
        GDRegressor().fit(Xf, yf)

    frame.iloc[4000:].to_parquet(files[-1], index=False)  # whole again, then a page damaged
    Xf, yf = dio.read_dask_table(pattern, "y", cols)
    assert _dask._frame_source(Xf, yf) is not None
    raw = bytearray(Path(files[1]).read_bytes())
    raw[4:40] = b"\xff" * 36  # the first page header
    stamp = os.stat(files[1])
    Path(files[1]).write_bytes(bytes(raw))
    os.utime(files[1], ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # same size, same time
    assert _dask._frame_source(Xf, yf) is not None
    with dask.config.set(scheduler="synchronous"), pytest.raises(DataError, match="g/part"):
        GDRegressor().fit(Xf, yf)


def test_statistics_gathered_or_added_by_a_tree_agree(client, data, monkeypatch):
    """The scan fetches small sums as they are and adds larger ones on the cluster: the same
    statistics either way (the order of the additions aside)."""
    from descend.linear_model import _dask

    X, y = data
    Xd, yd = da.from_array(X, chunks=(CHUNK, P)), da.from_array(y, chunks=CHUNK)
    gathered = GDRegressor().fit(Xd, yd)
    monkeypatch.setattr(_dask, "_GATHER", 1)
    monkeypatch.setattr(_dask, "_FAN", 2)  # 6 blocks: a tree of three levels
    tree = GDRegressor().fit(Xd, yd)
    np.testing.assert_allclose(tree.coef_, gathered.coef_, rtol=RTOL)
    assert tree.intercept_ == pytest.approx(gathered.intercept_, rel=RTOL)
    Xbad = X.copy()
    Xbad[4321, 2] = np.nan
    with pytest.raises(DataError, match="4321"):  # the flags still name the row
        GDRegressor().fit(da.from_array(Xbad, chunks=(CHUNK, P)), yd)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_block_sums_about_their_own_shifts_add_up_to_one_pass(offset):
    """Each block's sums about its own first rows (no block waits for another's shift),
    moved to the first block's when added, are the sums of one pass about that shift,
    also when the blocks' means drift far apart, a block is empty and another is not
    shifted (means small next to the spread)."""
    from descend.linear_model import _dask_tasks, _losses

    rng = np.random.default_rng(3)
    blocks = []
    for k, (n, mean) in enumerate([(700, 5.0), (0, 0.0), (900, 0.0), (20_000, -40.0),
                                   (300, 2e3)]):
        X = rng.normal(size=(n, 3)) * [1.0, 0.01, 7.0] + offset + mean * (k + 1)
        blocks.append((X, X @ [1.0, -3.0, 0.5] + rng.normal(size=n) - 2.0 * offset))
    p = 3
    parts = [_dask_tasks._block_sums(X, y) for X, y in blocks]
    if offset == 0:
        assert not parts[2][: p + 1].any()  # a block about no shift
    for (X, y), want in zip(blocks, parts, strict=True):  # a Parquet part's columns: the same
        got = _dask_tasks._column_block_sums([*X.T.copy(), y])  # 20,000 rows: two tiles
        np.testing.assert_array_equal(got[: p + 1], want[: p + 1])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    total = _dask_tasks._add_sums(p, *parts)
    X = np.concatenate([b[0] for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    c, cy = _losses.pick_shift(*blocks[0], _dask_tasks._HEAD)  # the first block's
    np.testing.assert_array_equal(total[:p], c)
    assert total[p] == cy
    want = _losses.shifted_sums(X, y, c, cy)
    np.testing.assert_allclose(total[p + 1 :], want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    got, ref = _losses.stats_from_sums(total[p + 1 :], c, cy), _losses.gram_stats(X, y)
    np.testing.assert_allclose(got.H, ref.H, rtol=1e-9)
    np.testing.assert_allclose(got.q, ref.q, rtol=1e-9)
    np.testing.assert_allclose(got.mu, ref.mu, rtol=1e-12)
    halves = _dask_tasks._add_sums(p, _dask_tasks._add_sums(p, *parts[:2]),  # as the tree adds
                                   _dask_tasks._add_sums(p, *parts[2:]))
    np.testing.assert_allclose(halves, total, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_persisted_parquet_arrays_fit_from_memory(data, tmp_path):
    import shutil

    import dask

    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    write_parts(frame, tmp_path / "p", 2500)
    with dask.config.set(scheduler="synchronous"):
        Xd, yd, names, _ = pyarrow_arrays(str(tmp_path / "p" / "*.parquet"), "y")
        Xp, yp = dask.persist(Xd, yd)
        shutil.rmtree(tmp_path / "p")  # the files are gone: the fit reads the held blocks
        est = GDRegressor().fit(Xp, yp)
    ref = GDRegressor().fit(frame[names].to_numpy(), frame["y"].to_numpy())
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=RTOL)


def test_class_weight_is_refused_on_dask(data):
    from descend.errors import InvalidArgument
    from descend.linear_model import GDClassifier

    X, y = data
    labels = (y > np.median(y)).astype(float)
    with pytest.raises(InvalidArgument, match="class_weight"):
        GDClassifier(class_weight="balanced").fit(da.from_array(X, chunks=(1000, -1)),
                                                  da.from_array(labels, chunks=1000))


def test_pyarrow_parquet_checks(client, tmp_path):
    from descend.errors import InvalidArgument

    good = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0, 5.0]})
    good.to_parquet(tmp_path / "1.parquet", index=False)
    pattern = str(tmp_path / "*.parquet")
    with pytest.raises(InvalidArgument, match="target: no column 'z'"):
        pyarrow_arrays(pattern, "z")
    with pytest.raises(InvalidArgument, match="features: no column 'q'"):
        pyarrow_arrays(pattern, "y", ["q"])
    good.assign(a=["x", "1", "2", "3"]).to_parquet(tmp_path / "2.parquet", index=False)
    with pytest.raises(DataError, match=r"2.parquet: column 'a' is not numeric .* row 0"):
        pyarrow_arrays(pattern, "y")
    good.drop(columns="a").to_parquet(tmp_path / "2.parquet", index=False)
    with pytest.raises(DataError, match=r"2\.parquet has no column 'a'"):
        pyarrow_arrays(pattern, "y")
    (tmp_path / "2.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"cannot read .* as Parquet"):
        pyarrow_arrays(pattern, "y")
    good.assign(a=[1.0, np.inf, None, 2.0]).to_parquet(tmp_path / "2.parquet", index=False)
    X, y, _, _ = pyarrow_arrays(pattern, "y")
    with pytest.raises(DataError, match=r"column 0 contains NaN .* rows 5, 6"):
        GDRegressor().fit(X, y)


def test_part_blocks_token_by_their_fields():
    """A client names a graph by tokenizing its tasks: a part's token is its fields, cheap
    to compute, and two parts share one only when every field is equal."""
    from dask.base import tokenize

    from descend.linear_model._dask_tasks import PartBlock

    base = PartBlock("a.parquet", (0, 1), ("x\x1fz",), "y", 0)
    assert tokenize(base) == tokenize(PartBlock("a.parquet", (0, 1), ("x\x1fz",), "y", 0))
    for other in (PartBlock("b.parquet", (0, 1), ("x\x1fz",), "y", 0),
                  PartBlock("a.parquet", (0,), ("x\x1fz",), "y", 0),
                  PartBlock("a.parquet", None, ("x\x1fz",), "y", 0),
                  PartBlock("a.parquet", (0, 1), ("x", "z"), "y", 0),
                  PartBlock("a.parquet", (0, 1), ("x\x1fz",), "w", 0),
                  PartBlock("a.parquet", (0, 1), ("x\x1fz",), "y", 2)):
        assert tokenize(other) != tokenize(base), other
