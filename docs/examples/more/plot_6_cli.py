"""
The command line, as a console session
======================================

``descend`` (or ``python -m descend``) does everything the library does, without Python.
Every command below was run when this page was built, and what it printed is shown under the
code. Bad input exits with code 2 and one ``error: ...`` line; ``--help`` on any command shows
its options and an example.
"""

# %%
# Running the commands
# --------------------
# A small helper runs a command line the way a shell would, in a scratch folder, and prints
# it after a ``$`` prompt with its output (and its exit code when that is not 0).
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DESCEND = shutil.which("descend", path=str(Path(sys.executable).parent)) or "descend"
WORK = Path(tempfile.mkdtemp())


def console(command):
    print(f"$ {command}")
    argv = shlex.split(command)
    env = {**os.environ, "COLUMNS": "90", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run([DESCEND, *argv[1:]], cwd=WORK, env=env, capture_output=True,
                          text=True, timeout=300)
    print((done.stdout + done.stderr).rstrip())
    if done.returncode:
        print(f"[exit code {done.returncode}]")
    print()


# %%
# Minimize a formula or a catalog function
# ----------------------------------------
# The paraboloid tutorial's run, printing every 500 epochs, then Rosenbrock's function from
# its standard start with the Barzilai-Borwein step.
console("descend minimize 'x**2 + y**2' --x0 6,-3 --lr 0.001 --max-iter 5000 --log-every 500")
console("descend minimize rosenbrock --lr bb")

# %%
# Learning rates and many starts
# ------------------------------
console("descend sweep 'x**2' --x0 3 --lr 0.001,0.1,0.9,1.1 --max-iter 100")
console("descend multistart himmelblau --starts 1000 --bounds -5,5,-5,5 --seed 0 --lr 0.01")

# %%
# Fit a model to a table, then predict
# ------------------------------------
# A CSV with two features and a target, written here so the commands have something to read.
import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
a, b = rng.normal(size=200), rng.normal(size=200)
pd.DataFrame({"a": a, "b": b, "y": 1 + 2 * a - 3 * b + rng.normal(0, 0.1, 200)}).to_csv(
    WORK / "data.csv", index=False)
pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]}).to_csv(WORK / "new.csv", index=False)

console("descend fit data.csv --target y --compare --save model.json")
console("descend predict model.json new.csv --out predictions.csv")
print((WORK / "predictions.csv").read_text())

# %%
# Mistakes get one line
# ---------------------
console("descend minimize 'x^^2' --x0 1")
console("descend minimize 'x**2 + y**2' --x0 1")

# %%
# The tutorials, replayed
# -----------------------
# ``descend demo`` prints what the four tutorials print (``--out DIR`` also writes their
# figures).
console("descend demo")
