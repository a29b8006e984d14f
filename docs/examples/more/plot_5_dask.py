"""
Scaling out with Dask
=====================

When the rows outgrow memory, keep the estimator: :class:`descend.GDRegressor` fits Dask
arrays and dataframes chunked by rows. For the squared losses one distributed pass computes
the sufficient statistics :math:`X^T X` and :math:`X^T y` block by block; the gradient steps
then run here, each costing :math:`O(p^2)`. The answer matches the in-memory fit.

This example starts a small local cluster (two workers, run as threads of this process to
keep the page light); with worker processes, or on a real deployment reached through a
``distributed.Client``, the same code runs unchanged.
"""

# %%
# Parquet files on disk
# ---------------------
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(1)
folder = Path(tempfile.mkdtemp())
true = np.array([3.0, -2.0, 0.0, 1.0])
for part in range(4):
    X = rng.normal(size=(25_000, 4))
    y = 0.5 + X @ true + rng.normal(0, 0.5, len(X))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    frame.to_parquet(folder / f"part-{part}.parquet")
print(sorted(p.name for p in folder.iterdir()))

# %%
# A local cluster, a lazy dataframe, one fit
# ------------------------------------------
import dask.dataframe as dd
from distributed import Client, LocalCluster

from descend import GDRegressor

with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address=None) as cluster, Client(cluster):
    df = dd.read_parquet(str(folder / "*.parquet"))
    X, y = df.drop(columns="y"), df["y"]
    model = GDRegressor().fit(X, y)          # one distributed pass, then steps here
    r2 = model.score(X, y)                   # computed on the cluster
    print(model.intercept_, model.coef_.round(4), f"R^2 = {r2:.4f}")
    local = pd.concat(pd.read_parquet(p) for p in sorted(folder.glob("*.parquet")))

# %%
# The same fit in memory
# ----------------------
# Only the order of the floating-point sums differs.
in_memory = GDRegressor().fit(local.drop(columns="y").to_numpy(), local["y"].to_numpy())
print(np.allclose(in_memory.coef_, model.coef_, rtol=1e-9),
      np.isclose(in_memory.intercept_, model.intercept_, rtol=1e-9))
