"""Helpers of the command line: argument types, JSON, Rich tables, plots, files.

:mod:`descend.cli` parses and calls the public API; what it shows is built here.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..errors import InvalidArgument

__all__ = [
    "PLOT_SUFFIXES",
    "check_output",
    "console",
    "dump_json",
    "fit_table",
    "float_list",
    "fmt",
    "jsonable",
    "names_list",
    "no_update",
    "numeric_columns",
    "optional_float",
    "point",
    "progress",
    "read_frame",
    "read_model",
    "result_table",
    "save_plot",
    "spinner",
    "step_size",
    "table",
    "warnings_as_lines",
]


# -- argument types ---------------------------------------------------------------------------


def float_list(value: Any) -> list[float]:
    """``"6,-3"`` -> ``[6.0, -3.0]`` (give ``--x0=-1.2,1`` or ``--x0 -1.2,1``)."""
    if isinstance(value, list):
        return value
    try:
        out = [float(s) for s in str(value).split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers such as 6,-3, got {value!r}"
        ) from None
    if not all(math.isfinite(v) for v in out):
        raise typer.BadParameter(f"numbers must be finite, got {value!r}")
    return out


def optional_float(value: Any) -> float | None:
    """A number, or ``none``/``off`` to switch a stopping test off."""
    if value is None or isinstance(value, float):
        return value
    text = str(value).strip().lower()
    if text in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a number or 'none', got {value!r}") from None


def step_size(value: Any) -> float | str:
    """A fixed step (a number) or a policy name; the library checks the value."""
    if isinstance(value, float):
        return value
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.lower()


def names_list(text: str | None, what: str) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; an empty item is an error."""
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    if not all(items):
        raise InvalidArgument(f"{what}: expected comma-separated names, got {text!r}")
    return items


# -- output -----------------------------------------------------------------------------------


def console(stderr: bool = False) -> Console:
    """A Rich console on the *current* ``sys.stdout``/``sys.stderr`` (as CliRunner sets them)."""
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False)


def jsonable(value: Any) -> Any:
    """Plain JSON values: arrays to lists, NumPy scalars to Python, nan/inf to ``null``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "value") and isinstance(value.value, str):  # a str Enum (Status)
        return value.value
    return value


def dump_json(value: Any) -> str:
    """Strict JSON (no NaN), indented."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


def fmt(value: Any) -> str:
    """A number for a table: 10 significant digits."""
    try:
        return f"{float(value):.10g}"
    except (TypeError, ValueError):
        return str(value)


def point(x: Sequence[float] | np.ndarray) -> str:
    """``(1, 2.5)``."""
    return "(" + ", ".join(fmt(v) for v in np.asarray(x, dtype=float).ravel()) + ")"


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A Rich table; numeric columns right-aligned."""
    t = Table(title=title, title_justify="left")
    for name in columns:
        t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*(v if isinstance(v, str) else fmt(v) for v in row))
    return t


@contextlib.contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Show warnings raised inside as single ``warning: ...`` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: set[str] = set()
    for w in caught:
        line = " ".join(str(w.message).split())
        if line not in seen:
            seen.add(line)
            typer.echo(f"warning: {line}", err=True)


# -- plots ------------------------------------------------------------------------------------


PLOT_SUFFIXES = (".html", ".png", ".svg", ".pdf")


def check_output(path: Path | None, option: str, suffixes: Sequence[str] = ()) -> None:
    """Before any work: ``path`` has a known suffix and its folder exists."""
    if path is None:
        return
    if suffixes and path.suffix.lower() not in suffixes:
        raise InvalidArgument(f"{option}: cannot tell the format of {str(path)!r} from its "
                              f"suffix {path.suffix!r}; use one of {', '.join(suffixes)}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidArgument(f"{option}: folder {str(folder)!r} does not exist")


def save_plot(obj: Any, path: Path) -> None:
    """Draw ``obj`` with :func:`descend.plot.auto`; :func:`descend.plot.save` writes it.

    The format follows the suffix: ``.html`` (self-contained), or ``.png``/``.svg``/``.pdf``
    (these need kaleido and a Chromium). The write is atomic.
    """
    from .. import plot

    plot.save(plot.auto(obj), path)


# -- tables of results ------------------------------------------------------------------------


def result_table(res: Any) -> Table:
    """The summary of one :class:`~descend.result.Result`."""
    t = Table(show_header=False, box=None, title=f"minimize: {res.status.value}",
              title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    t.add_row("status", res.status.value)
    t.add_row("message", res.message)
    for name, v in zip(res.variables, res.x.tolist(), strict=True):
        t.add_row(name, repr(v))
    t.add_row("f", repr(res.fun))
    t.add_row("nit", str(res.nit))
    t.add_row("nfev / njev", f"{res.nfev} / {res.njev}")
    return t


def fit_table(out: dict[str, Any], lstsq: tuple[list[float], float] | None, loss: str) -> Table:
    """Coefficients of a fit; the least-squares ones beside when given."""
    columns = ["", "gradient descent"] + (["least squares"] if lstsq is not None else [])
    rows: list[list[Any]] = []
    for i, (name, value) in enumerate(out["coef"].items()):
        rows.append([name, value] + ([lstsq[0][i]] if lstsq is not None else []))
    rows.append(["(intercept)", out["intercept"]] + ([lstsq[1]] if lstsq is not None else []))
    state = "converged" if out["converged"] else "not converged"
    final = "n/a" if out["loss"] is None else fmt(out["loss"])
    t = table(f"fit: {state} after {out['n_iter']} iterations", columns, rows)
    t.caption = f"final {loss}: {final}"
    return t


@contextlib.contextmanager
def progress(text: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A transient Rich progress bar on stderr; yields ``update(done, total=None)``.

    Only on a terminal (never on stdout, never in a pipe): a spinner, ``text``, a bar
    towards ``total`` (a pulse when None or until the first update), ``done/total`` and
    the time elapsed. ``update`` is cheap enough to call every step; the display
    refreshes ten times a second from its own thread.
    """
    err = console(stderr=True)
    if not err.is_terminal:
        yield no_update
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    # Lines printed to stdout go above the bar when stdout is the same terminal; into
    # a pipe or file they go untouched.
    same_tty = _isatty(sys.stdout)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True,
                   redirect_stdout=same_tty, redirect_stderr=False)
    task = bar.add_task(text, total=total, start=total is not None)

    def update(done: int, total: int | None = None) -> None:
        if total is not None and not bar.tasks[task].started:
            bar.start_task(task)
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def no_update(done: int, total: int | None = None) -> None:
    """What :func:`progress` yields off a terminal: nothing to draw."""
    return None


@contextlib.contextmanager
def spinner(text: str) -> Iterator[None]:
    """A transient spinner on stderr (only on a terminal; it never touches stdout)."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield
        return
    with err.status(text, spinner="dots"):
        yield


# -- tables and models on disk ----------------------------------------------------------------


def read_frame(path: Path) -> Any:
    """A .csv or .parquet file as a DataFrame; unreadable files are a DataError."""
    import pandas as pd

    from ..errors import DataError

    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        msg = " ".join(str(exc).split())
        raise DataError(f"{path}: cannot read it as {suffix.lstrip('.') or 'csv'}: {msg}") from exc


def numeric_columns(frame: Any, names: Sequence[str], path: Path) -> Any:
    """The columns ``names`` of ``frame`` as a float array; checks they exist and are numbers."""
    from .._data import check_finite, check_numeric_frame
    from ..errors import DataError

    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(map(repr, missing))} "
                        f"(the model needs {', '.join(names)})")
    check_numeric_frame(frame[list(names)], str(path))
    X = frame[list(names)].to_numpy(dtype=float)
    check_finite(X, str(path), list(names))
    return X


def read_model(path: Path) -> dict[str, Any]:
    """A model written by ``descend fit --save``, checked."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"{path}: not a descend model (not JSON: {exc})") from None
    ok = (isinstance(doc, dict) and doc.get("format") == "descend-linear-model"
          and isinstance(doc.get("features"), list) and isinstance(doc.get("coef"), list)
          and len(doc["features"]) == len(doc["coef"])
          and isinstance(doc.get("intercept"), int | float))
    if not ok:
        raise InvalidArgument(f"{path}: not a descend model written by 'descend fit --save'")
    return dict(doc)
