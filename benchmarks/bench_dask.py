"""GDRegressor on a Parquet dataset larger than the Dask workers' memory.

Writes ``--gb`` of float64 Parquet (``--features`` columns and ``y``) in files of
``--file-rows`` rows, starts ``LocalCluster(n_workers=--workers, threads_per_worker=1,
memory_limit=--memory-limit)``, fits ``GDRegressor()`` (mse, full batch: one streamed
statistics pass) on Dask arrays read by pyarrow (``_dask.parquet_arrays``, one task
per file) against merely decoding the same files on the same workers, three ways, one task
per file: pyarrow's decode of the columns and their sums (the strictest floor);
``pd.read_parquet(f).to_numpy().sum()`` (the issue's example of decoding); and the decode
copied into row-major blocks (the floor of stops 25-27). After one untimed decode, runs
alternate; medians of ``--repeat``. Then once as ``descend fit --dask`` reads
(``descend.io.read_dask_table``, whose Parquet frames the fit reads in its own tasks) and
as the whole ``descend fit --dask`` command on the same cluster, and reports: rows per
second against an in-memory NumPy fit of the first ``--mem-rows`` rows (fit alone, and
read plus fit), peak worker RSS (polled with ``client.run``), and that no worker was lost
or restarted.
Prints the command that reproduces it.

Run: ``PYTHONPATH=src python benchmarks/bench_dask.py`` (defaults: 4.2 GB, 2 x 512MB: 4.1x).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write(folder: Path, rows: int, p: int, file_rows: int) -> None:
    rng = np.random.default_rng(0)
    w = np.linspace(-1.0, 1.0, p)
    for i in range(0, rows, file_rows):
        k = min(file_rows, rows - i)
        X = rng.normal(size=(k, p)) * np.linspace(1.0, 5.0, p) + 3.0
        y = X @ w + 2.0 + rng.normal(size=k)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)]).assign(y=y)
        frame.to_parquet(folder / f"part-{i // file_rows:05d}.parquet", index=False,
                         row_group_size=min(k, 65536))


def decode_rows(path: str, row_groups: tuple[int, ...] | None, features: list[str],
                target: str) -> float:
    """The floor of stops 25-27: the decode, then the columns copied into a row-major
    block (as the fit's tasks then did), then its sum."""
    from descend.linear_model._dask_tasks import _read_parquet

    X, y = _read_parquet(path, None if row_groups is None else list(row_groups), features,
                         target)
    return float(X.sum() + y.sum())


def decode_pandas(path: str, columns: list[str]) -> float:
    """The floor the issue names: ``pd.read_parquet`` of the file, ``to_numpy``, its sum."""
    import pandas as pd

    return float(pd.read_parquet(path, columns=columns).to_numpy().sum())


def rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=4.2)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--file-rows", type=int, default=65536)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="512MB")
    ap.add_argument("--mem-rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="Decode and pyarrow-fit runs.")
    ap.add_argument("--dir", default=None, help="Keep the data here (default: a temp dir).")
    a = ap.parse_args()
    print("reproduce:", "PYTHONPATH=src", sys.executable, *sys.argv)

    import dask
    import dask.dataframe as dd
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    from descend import GDRegressor

    p = a.features
    rows = int(a.gb * 1e9 / (8 * (p + 1)))
    folder = Path(a.dir or tempfile.mkdtemp(prefix="bench_dask_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not any(folder.glob("*.parquet")):
            t = time.perf_counter()
            write(folder, rows, p, a.file_rows)
            print(f"wrote {rows:,} rows x {p + 1} float64 columns "
                  f"({rows * 8 * (p + 1) / 1e9:.2f} GB) in {time.perf_counter() - t:.1f} s")
        files = sorted(folder.glob("*.parquet"))
        limit = parse_bytes(a.memory_limit) * a.workers
        print(f"data in memory would be {rows * 8 * (p + 1) / limit:.1f}x the workers' "
              f"total limit ({a.workers} x {a.memory_limit})")

        # in memory: the first --mem-rows rows
        t = time.perf_counter()
        k = max(1, a.mem_rows // a.file_rows)
        mem = pd.concat([pd.read_parquet(f) for f in files[:k]], ignore_index=True)
        read_s = time.perf_counter() - t
        X, y = mem.drop(columns="y").to_numpy(), mem["y"].to_numpy()
        GDRegressor().fit(X[:1000], y[:1000])  # warm-up
        t = time.perf_counter()
        ref = GDRegressor().fit(X, y)
        fit_s = time.perf_counter() - t
        n_mem = X.shape[0]
        del X, y, mem

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1,
                                   memory_limit=a.memory_limit, dashboard_address=":0")
        with cluster, Client(cluster) as client:
            before = dict(client.scheduler_info()["workers"])
            peak = dict.fromkeys(before, 0)
            done = threading.Event()

            def poll() -> None:
                while not done.is_set():
                    try:
                        for w, v in client.run(rss).items():
                            peak[w] = max(peak.get(w, 0), v)
                    except Exception:  # a worker going away shows in the count below
                        pass
                    time.sleep(0.2)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            from descend.linear_model import _dask
            from descend.linear_model._dask_tasks import _decode_sum

            pattern = str(folder / "*.parquet")
            small = dd.read_parquet([str(f) for f in files[:2]])  # workers import descend
            cols = [c for c in small.columns if c != "y"]
            GDRegressor().fit(small[cols], small["y"])
            from descend.io import read_dask_table

            paths = [str(f) for f in files]
            parts, names = _dask.plan_parquet(paths, "y")
            by_part = [(q.path, q.row_groups, names, "y") for q in parts]
            by_file = [(f, [*names, "y"]) for f in paths]

            def decode(fn: Any, args: list[tuple[Any, ...]]) -> float:
                """Seconds to run ``fn`` on each of ``args``, a task each, on the cluster."""
                t = time.perf_counter()
                dask.compute(*[dask.delayed(fn)(*x) for x in args])
                return time.perf_counter() - t

            decode_s, rows_s, pandas_s, fit_s_pa, models = [], [], [], [], []
            # one untimed pass: a worker's first read of every file is 2-4x slower (its
            # allocator grows), which would otherwise land in the first decode only
            decode(_decode_sum, by_part)
            for _ in range(a.repeat):  # alternate, so all see the same machine
                decode_s.append(decode(_decode_sum, by_part))
                rows_s.append(decode(decode_rows, by_part))
                pandas_s.append(decode(decode_pandas, by_file))
                t = time.perf_counter()
                Xp, yp = _dask.parquet_arrays(*_dask.plan_parquet(paths, "y"), "y")  # pyarrow
                models.append(GDRegressor().fit(Xp, yp))
                fit_s_pa.append(time.perf_counter() - t)
            model = models[-1]
            Xo, yo = read_dask_table(pattern, "y")  # as descend fit --dask reads
            t = time.perf_counter()
            old = GDRegressor().fit(Xo, yo)
            dask_s = time.perf_counter() - t
            import subprocess

            cmd = [sys.executable, "-m", "descend", "fit", pattern, "--dask", "--target", "y",
                   "--scheduler", cluster.scheduler_address, "--json"]
            t = time.perf_counter()
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            cli_s = time.perf_counter() - t
            done.set()
            poller.join()
            after = dict(client.scheduler_info()["workers"])
        lost = set(before) - set(after)
        print(f"workers before {len(before)}, after {len(after)}, lost or restarted "
              f"{len(lost)}; converged {model.converged_} in {model.n_iter_} iterations")
        print(f"coef agree with the in-memory fit on the first {n_mem:,} rows to "
              f"{np.max(np.abs(model.coef_ - ref.coef_)):.1e} (different rows, same law)")
        dec, pa_fit = float(np.median(decode_s)), float(np.median(fit_s_pa))
        dec_rows = float(np.median(rows_s))
        print(f"decode only (pyarrow's columns and their sums, one task per file, same "
              f"workers): {dec:.2f} s = {rows / dec / 1e6:.2f} M rows/s (median of "
              f"{a.repeat}: {', '.join(f'{v:.2f}' for v in decode_s)})")
        print(f"decode into row-major blocks (the floor of stops 25-27): {dec_rows:.2f} s "
              f"(runs: {', '.join(f'{v:.2f}' for v in rows_s)})")
        dec_pd = float(np.median(pandas_s))
        print(f"decode by pd.read_parquet(f).to_numpy().sum() (the issue's example): "
              f"{dec_pd:.2f} s (runs: {', '.join(f'{v:.2f}' for v in pandas_s)})")
        print(f"fit on pyarrow arrays (_dask.parquet_arrays): {pa_fit:.2f} s = "
              f"{rows / pa_fit / 1e6:.2f} M rows/s (runs: "
              f"{', '.join(f'{v:.2f}' for v in fit_s_pa)})")
        print("  its rate against merely decoding (target >= 80 %), median; run by run:")
        for label, floor in (("pyarrow's columns (the strictest floor)", decode_s),
                             ("pd.read_parquet(f).to_numpy().sum() (the issue's example)",
                              pandas_s),
                             ("row-major blocks (stops 25-27)", rows_s)):
            print(f"    {label}: {float(np.median(floor)) / pa_fit:.0%}; " + ", ".join(
                f"{d / f:.0%}" for d, f in zip(floor, fit_s_pa, strict=True)))
        print(f"the two fits agree to "
              f"{np.max(np.abs(model.coef_ - old.coef_)):.1e}")
        print(f"descend fit --dask (the whole command on the same cluster: start-up, fit, "
              f"the scores' pass): {cli_s:.2f} s, exit {run.returncode}"
              + ("" if run.returncode == 0 else f": {run.stderr.strip()[-300:]}"))
        d_rate, m_fit, m_all = rows / dask_s, n_mem / fit_s, n_mem / (read_s + fit_s)
        print(f"dask fit on descend.io.read_dask_table (descend fit --dask): {rows:,} rows in "
              f"{dask_s:.2f} s = "
              f"{d_rate / 1e6:.2f} M rows/s")
        print(f"in memory (NumPy): fit {m_fit / 1e6:.2f} M rows/s; read Parquet + fit "
              f"{m_all / 1e6:.2f} M rows/s ({n_mem:,} rows)")
        print(f"dask / in-memory per row: {d_rate / m_fit:.0%} of the fit alone, "
              f"{d_rate / m_all:.0%} of read + fit (target >= 50%)")
        print("peak worker RSS: " + ", ".join(f"{v / 2**20:.0f} MiB" for v in peak.values())
              + f" (limit {a.memory_limit} each)")
    finally:
        if a.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
