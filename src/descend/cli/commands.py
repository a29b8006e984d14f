"""The ``descend`` command line (Typer): thin, it parses and calls the public API.

Exit codes: 0 a completed run (whatever its status, which is printed); 2 bad input
(one ``error: ...`` line on stderr); 3 ``--strict`` and the run did not converge;
1 an unexpected failure (one line; ``descend --debug ...`` shows the traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from typer.core import TyperGroup

try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as _cx  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover
    from click import exceptions as _cx  # type: ignore[no-redef,unused-ignore]

from .. import __version__
from .._files import atomic_path, atomic_write
from .._tutorials import demo as _demo
from ..errors import DescendError, InvalidArgument
from . import render as r

#: Ctrl-C and refused prompts (``typer.Abort``; click's ``Abort`` on older Typer).
_ABORT: type[BaseException] = vars(typer).get("Abort") or vars(_cx)["Abort"]

_DEBUG = {"on": False}


class _Group(TyperGroup):
    """Turns every failure into one ``error: ...`` line and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        _DEBUG["on"] = False
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _cx.NoArgsIsHelpError as exc:
            text = exc.format_message()  # Typer's Rich help is printed when it is built
            if text.strip():
                typer.echo(text)
            sys.exit(exc.exit_code)
        except _cx.ClickException as exc:
            where = ""
            ctx = getattr(exc, "ctx", None)
            if isinstance(exc, _cx.UsageError) and ctx is not None:
                where = f" (see '{ctx.command_path} --help')"
            _fail(exc.format_message() + where, exc.exit_code)
        except _ABORT:
            _fail("aborted", 1)
        except DescendError as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 2)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), 2)
        except Exception as exc:
            if _DEBUG["on"]:
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with 'descend --debug ...' "
                  "for the traceback)", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str, code: int) -> None:
    typer.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(code)


app = typer.Typer(
    name="descend",
    cls=_Group,
    help="Gradient descent you can see: minimize formulas, fit lines, compare learning rates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"descend {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the full traceback of an unexpected failure.")] = False,
) -> None:
    """descend: gradient descent you can see."""
    _DEBUG["on"] = debug


def _write_gallery(out: Path) -> None:
    from .. import plot

    with r.progress("writing figures", None) as update:
        paths = plot.gallery(out, progress=update)
    for p in paths:  # errors: one line and exit 2, by _Group
        typer.echo(str(p))


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the tutorial figures (HTML and PNG) to this directory."
    )] = None,
) -> None:
    """Replay the four tutorials and print what they print.

    Example: descend demo --out out/figures
    """
    _demo.run(typer.echo)
    if out is not None:
        _write_gallery(out)


@app.command()
def gallery(
    out: Annotated[Path, typer.Option(
        "--out", help="Directory for the figures (created if needed).")],
) -> None:
    """Write every tutorial figure as HTML (offline) and PNG.

    Example: descend gallery --out docs/gallery
    """
    _write_gallery(out)


# -- shared options ---------------------------------------------------------------------------

_X0 = Annotated[Any, typer.Option(
    "--x0", parser=r.float_list, metavar="N1,N2,...",
    help="Start, one number per variable: --x0 6,-3 or --x0=-1.2,1. "
         "Default for a catalog name: its standard start.")]
_VARS = Annotated[str | None, typer.Option(
    "--variables", help="Variable order, e.g. x,y (default: sorted).")]
_METHOD = Annotated[str, typer.Option(
    "--method", help="gd, momentum, nesterov, adagrad, rmsprop, adam.")]
_LR = Annotated[Any, typer.Option(
    "--lr", parser=r.step_size, metavar="FLOAT|auto|bb|backtracking",
    help="A fixed step, or auto, bb, backtracking.")]
_TOL = "FLOAT|none"
_PLOT = Annotated[Path | None, typer.Option(
    "--plot", dir_okay=False, help="Write a figure: .html, or .png/.svg/.pdf (needs kaleido).")]
_JSON = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead.")]
_NAME = Annotated[str, typer.Argument(
    metavar="FORMULA_OR_NAME",
    help="A formula such as 'x**2 + y**2', or a catalog name (see 'descend functions').")]


def _resolve(fun: str, x0: list[float] | None, variables: str | None
             ) -> tuple[Any, list[float], Any]:
    """FORMULA_OR_NAME -> (what minimize takes, x0, variables)."""
    from .. import functions

    key = fun.strip().lower().replace("-", "_").replace(" ", "_")
    if key in functions.names():
        entry = functions.get(key, dim=len(x0) if x0 is not None else None)
        if variables is not None:
            raise InvalidArgument(f"--variables: {key} has fixed variables "
                                  f"{','.join(entry.variables)}")
        return entry, (x0 if x0 is not None else entry.x0.tolist()), None
    if x0 is None:
        raise InvalidArgument("--x0: required for a formula (one number per variable, "
                              "e.g. --x0 6,-3)")
    return fun, x0, variables


def _echo_json(value: Any) -> None:
    typer.echo(r.dump_json(value))


# -- minimize ---------------------------------------------------------------------------------


@app.command()
def minimize(
    formula: _NAME,
    x0: _X0 = None,
    variables: _VARS = None,
    method: _METHOD = "gd",
    lr: _LR = "0.1",
    max_iter: Annotated[int, typer.Option("--max-iter", min=0, help="Most steps.")] = 1000,
    ftol: Annotated[Any, typer.Option(
        "--ftol", parser=r.optional_float, metavar=_TOL,
        help="Stop when f changes by less (default: none, off).")] = None,
    gtol: Annotated[Any, typer.Option(
        "--gtol", parser=r.optional_float, metavar=_TOL,
        help="Stop when the gradient norm is at most this; 'none' switches it off.")] = "1e-6",
    xtol: Annotated[Any, typer.Option(
        "--xtol", parser=r.optional_float, metavar=_TOL,
        help="Stop when a step is at most this long (default: none, off).")] = None,
    log_every: Annotated[int | None, typer.Option(
        "--log-every", min=1,
        help="Print seed 001's 'Epoch k: ...' line after every N-th step.")] = None,
    plot: _PLOT = None,
    as_json: _JSON = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with status 3 when the run did not converge.")] = False,
) -> None:
    """Minimize a formula or a catalog function by gradient descent.

    Prints a summary: status, message, x, f, iterations. With --json and
    --log-every, the epoch lines go to stderr: stdout stays one JSON object.

    Example: descend minimize rosenbrock --lr backtracking

    Example: descend minimize "x**2 + y**2" --x0 6,-3 --lr 0.001 --max-iter 5000 --log-every 500
    """
    from .._minimize import minimize as _minimize

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    fun, start, names = _resolve(formula, x0, variables)
    log = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with r.warnings_as_lines(), log, r.progress("minimizing (steps)", max_iter) as update:
        callback = _advance(update) if update is not r.no_update else None
        res = _minimize(fun, start, method=method, lr=lr, max_iter=max_iter, ftol=ftol,
                        gtol=gtol, xtol=xtol, log_every=log_every, variables=names,
                        callback=callback)
    if plot is not None:
        r.save_plot(res, plot)
    if as_json:
        _echo_json({"x": res.x, "fun": res.fun, "nit": res.nit, "status": res.status,
                    "success": res.success, "message": res.message,
                    "variables": list(res.variables)})
    else:
        r.console().print(r.result_table(res))
    if strict and not res.success:
        raise typer.Exit(3)


# -- functions --------------------------------------------------------------------------------


@app.command("functions")
def functions_cmd(as_json: _JSON = False) -> None:
    """List the catalog of test functions: formula, minima, standard start.

    Example: descend functions --json
    """
    from .. import functions

    entries = [functions.get(n) for n in functions.names()]
    if as_json:
        _echo_json([{"name": f.name, "formula": f.text, "variables": list(f.variables),
                     "minima": [m.tolist() for m in f.minima], "fmin": f.fmin,
                     "x0": f.x0, "bounds": [list(b) for b in f.bounds]} for f in entries])
        return
    rows = [(f.name, f.text, " ".join(r.point(m) for m in f.minima), r.fmt(f.fmin),
             r.point(f.x0)) for f in entries]
    r.console().print(r.table("Catalog", ["name", "formula", "minima", "f min", "start"], rows))


# -- sweep ------------------------------------------------------------------------------------


@app.command()
def sweep(
    formula: _NAME,
    lr: Annotated[Any, typer.Option(
        "--lr", parser=r.float_list, metavar="LR1,LR2,...",
        help="The learning rates, comma-separated: 0.001,0.1,0.9,1.1.")],
    x0: _X0 = None,
    variables: _VARS = None,
    method: _METHOD = "gd",
    max_iter: Annotated[int, typer.Option("--max-iter", min=0, help="Most steps per run.")] = 100,
    plot: _PLOT = None,
    as_json: _JSON = False,
) -> None:
    """Run one descent per learning rate and say which rates are too small, good, too large.

    Example: descend sweep "x**2" --x0 3 --lr 0.001,0.1,0.9,1.1
    """
    from .._sweep import sweep as _sweep

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    fun, start, names = _resolve(formula, x0, variables)
    with r.warnings_as_lines(), r.spinner(f"running {len(lr)} learning rates"):
        res = _sweep(fun, start, lr, method=method, max_iter=max_iter, variables=names)
    if plot is not None:
        r.save_plot(res, plot)
    rows = res.table()
    if as_json:
        _echo_json(rows)
        return
    r.console().print(r.table("Learning-rate sweep",
                              ["lr", "verdict", "status", "iterations", "final f"],
                              [(x["lr"], x["verdict"], x["status"], str(x["nit"]), x["fun"])
                               for x in rows]))


# -- multistart -------------------------------------------------------------------------------


@app.command()
def multistart(
    formula: _NAME,
    starts: Annotated[int, typer.Option("--starts", min=1, help="How many random starts.")] = 100,
    bounds: Annotated[Any, typer.Option(
        "--bounds", parser=r.float_list, metavar="LO,HI,...",
        help="The box of the starts, lo,hi per variable: -5,5,-5,5. "
             "Default for a catalog name: its plot box.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the random starts.")] = None,
    variables: _VARS = None,
    method: _METHOD = "gd",
    lr: _LR = "0.1",
    max_iter: Annotated[int, typer.Option("--max-iter", min=0, help="Most steps per run.")] = 1000,
    plot: _PLOT = None,
    as_json: _JSON = False,
) -> None:
    """Descend from many random starts in a box and list the distinct minima found.

    Example: descend multistart himmelblau --starts 1000 --bounds -5,5,-5,5 --seed 0
    """
    from .. import functions
    from .._multistart import multistart as _multistart

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    key = formula.strip().lower().replace("-", "_").replace(" ", "_")
    fun: Any = formula
    if key in functions.names():  # its plot box is the default box
        fun = functions.get(key, dim=len(bounds) // 2 if bounds is not None else None)
        if variables is not None:
            raise InvalidArgument(f"--variables: {key} has fixed variables "
                                  f"{','.join(fun.variables)}")
    elif bounds is None:
        raise InvalidArgument("--bounds: required for a formula (lo,hi per variable, "
                              "e.g. --bounds -5,5,-5,5)")
    with r.warnings_as_lines(), r.spinner("running the starts"):
        res = _multistart(fun, starts, bounds=bounds, seed=seed, method=method, lr=lr,
                          max_iter=max_iter, variables=variables)
    if plot is not None:
        r.save_plot(res, plot)
    minima: list[dict[str, Any]] = [
        {"x": m.x, "fun": m.fun, "count": int(m.count)} for m in res.minima]
    best = res.best
    if as_json:
        _echo_json({"minima": minima, "best": {"x": best.x, "fun": best.fun,
                                               "status": best.status,
                                               "start": res.starts[res.best_index]},
                    "starts": len(res), "converged": res.n_converged,
                    "variables": list(best.variables)})
        return
    rows = [(r.point(m["x"]), m["fun"], str(m["count"])) for m in minima]
    title = f"Distinct minima: {res.n_converged} of {len(res)} runs converged"
    r.console().print(r.table(title, ["x", "f", "count"], rows))
    r.console().print(f"best: x = {r.point(best.x)}, f = {r.fmt(best.fun)} ({best.status.value})")


# -- fit and predict --------------------------------------------------------------------------


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(metavar="DATA", help=(
        "A .csv or .parquet table; with --dask, a glob such as 'data/*.parquet'."))],
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    features: Annotated[str | None, typer.Option(
        "--features", help="Columns to use, a,b (default: all the others).")] = None,
    loss: Annotated[str, typer.Option("--loss", help="The loss to minimize.")] = "mse",
    method: _METHOD = "gd",
    lr: _LR = "auto",
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Mini-batch size (default: the full batch).")] = None,
    max_iter: Annotated[int, typer.Option("--max-iter", min=1, help="Most epochs.")] = 1000,
    tol: Annotated[float, typer.Option("--tol", min=0.0, help="Stopping tolerance.")] = 1e-8,
    no_intercept: Annotated[bool, typer.Option(
        "--no-intercept", help="Fit through the origin.")] = False,
    compare: Annotated[bool, typer.Option(
        "--compare", help="Show the least-squares solution (np.linalg.lstsq) beside.")] = False,
    plot: _PLOT = None,
    save: Annotated[Path | None, typer.Option(
        "--save", dir_okay=False, help="Write the fitted model as JSON (for predict).")] = None,
    as_json: _JSON = False,
    dask: Annotated[bool, typer.Option(
        "--dask", help="Read DATA (a glob) with Dask and fit on a Dask cluster.")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="With --dask: an existing cluster, tcp://HOST:8786 (default: a "
        "local cluster for this command).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="With --dask: local cluster workers (one thread each).")] = None,
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="With --dask: memory per local worker, such as 2GB.")] = None,
) -> None:
    """Fit a linear model to a table by gradient descent and show its coefficients.

    Example: descend fit data.csv --target y --compare --save model.json;
    descend fit 'data/*.parquet' --target y --dask --workers 4
    """
    from ..linear_model import GDRegressor

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    r.check_output(save, "--save", (".json",))
    for flag, value in (("--scheduler", scheduler), ("--workers", workers),
                        ("--memory-limit", memory_limit)):
        if value is not None and not dask:
            raise InvalidArgument(f"{flag}: needs --dask", argument=flag)
    if dask and compare:
        raise InvalidArgument("--compare: not available with --dask (it needs all rows in "
                              "memory)", argument="--compare")
    unit = "epochs" if batch_size is not None else "iterations"
    model = GDRegressor(loss, method=method, lr=lr, max_iter=max_iter, tol=tol,
                        fit_intercept=not no_intercept, batch_size=batch_size)
    if dask:
        from ..linear_model import _dask

        X, y = _dask.read_table(str(data), target, r.names_list(features, "--features"))
        with _dask.connect(scheduler, workers, memory_limit), r.warnings_as_lines(), \
                r.progress(f"fitting {data.name} on Dask ({unit})", max_iter) as update:
            model.set_params(callback=_advance(update)).fit(X, y)
    else:
        from ..io import read_table

        with r.spinner(f"reading {data.name}"):
            X, y = read_table(data, target, r.names_list(features, "--features"))
        with r.warnings_as_lines(), \
                r.progress(f"fitting {data.name} ({unit})", max_iter) as update:
            model.set_params(callback=_advance(update)).fit(X, y)
    names = [str(c) for c in X.columns]
    coef = [float(v) for v in np.ravel(model.coef_)]
    curve = np.asarray(getattr(model, "loss_curve_", []), dtype=float)
    out: dict[str, Any] = {
        "coef": dict(zip(names, coef, strict=True)), "intercept": float(model.intercept_),
        "n_iter": int(model.n_iter_), "converged": bool(model.converged_),
        "loss": float(curve[-1]) if curve.size else None,
    }
    ls = _lstsq(X.to_numpy(dtype=float), y.to_numpy(dtype=float), not no_intercept) \
        if compare else None
    if compare and ls is not None:
        out["lstsq"] = {"coef": dict(zip(names, ls[0], strict=True)), "intercept": ls[1]}
    if save is not None:
        atomic_write(save, r.dump_json(_model_doc(model, names, str(y.name), loss, {
            "method": method, "lr": lr, "max_iter": max_iter, "tol": tol,
            "batch_size": batch_size, "fit_intercept": not no_intercept}, out)) + "\n")
    if plot is not None:
        r.save_plot(model, plot)
    if as_json:
        _echo_json(out)
        return
    r.console().print(r.fit_table(out, ls, loss))


def _advance(update: Any) -> Any:
    """A minimize / GDRegressor callback that moves a progress bar every 64 steps."""

    def callback(info: Any) -> None:
        if info.nit % 64 == 0:
            update(info.nit)

    return callback


def _lstsq(X: Any, y: Any, intercept: bool) -> tuple[list[float], float]:
    """Closed-form least squares: coefficients and intercept."""
    A = np.column_stack([X, np.ones(len(X))]) if intercept else X
    sol = np.linalg.lstsq(A, y, rcond=None)[0]
    return [float(v) for v in sol[: X.shape[1]]], float(sol[-1]) if intercept else 0.0


def _model_doc(model: Any, names: list[str], target: str, loss: str,
               settings: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    return {"format": "descend-linear-model", "format_version": 1,
            "descend_version": __version__, "target": target, "features": names,
            "coef": [out["coef"][n] for n in names], "intercept": out["intercept"],
            "loss": loss, "settings": settings, "n_iter": out["n_iter"],
            "converged": out["converged"], "final_loss": out["loss"]}


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, metavar="MODEL",
        help="A model written by 'descend fit --save'.")],
    data: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, metavar="DATA",
        help="A .csv or .parquet table with the model's features.")],
    out: Annotated[Path | None, typer.Option(
        "--out", dir_okay=False,
        help="Write the table with a 'prediction' column (.csv or .parquet).")] = None,
    as_json: _JSON = False,
) -> None:
    """Apply a saved model to a table; print or write the predictions.

    Example: descend predict model.json new.csv --out preds.csv
    """
    r.check_output(out, "--out", (".csv", ".parquet"))
    doc = r.read_model(model)
    frame = r.read_frame(data)
    X = r.numeric_columns(frame, doc["features"], data)
    pred = X @ np.asarray(doc["coef"], dtype=float) + float(doc["intercept"])
    if out is not None:
        result = frame.copy()
        result["prediction"] = pred
        with atomic_path(out) as tmp:
            if out.suffix.lower() == ".parquet":
                result.to_parquet(tmp, index=False)
            else:
                result.to_csv(tmp, index=False)
    if as_json:
        _echo_json({"target": doc.get("target"), "predictions": pred})
    elif out is None:
        typer.echo("prediction")
        for v in pred:
            typer.echo(repr(float(v)))
    else:
        r.console(stderr=True).print(f"wrote {len(pred)} predictions to {out}")


# -- app --------------------------------------------------------------------------------------


@app.command("app")
def app_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", min=1, max=65535, help="Port to listen on.")] = 8050,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Worker processes; more than 1 runs under gunicorn.")] = 1,
) -> None:
    """Serve the explorer in the browser (offline: everything is served locally).

    Example: descend app --port 8050, then open http://127.0.0.1:8050
    """
    if importlib.util.find_spec("dash") is None:
        typer.echo("error: the explorer needs the 'app' extra: pip install 'descend[app]'",
                   err=True)
        raise typer.Exit(1)
    from ..app import serve

    typer.echo(f"descend explorer at http://{host}:{port} (Ctrl+C to stop)")
    serve(host=host, port=port, workers=workers)


def main() -> None:
    """Entry point of the ``descend`` script."""
    app()
