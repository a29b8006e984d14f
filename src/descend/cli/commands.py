"""The ``descend`` command line (Typer): thin, it parses and calls the public API.

Exit codes: 0 a completed run (whatever its status, which is printed); 2 bad input
(one ``error: ...`` line on stderr); 3 ``--strict`` and nothing converged; 130
interrupted (Ctrl-C: one line, and no partial output file); 1 an unexpected failure
(one line; ``descend --debug ...`` shows the traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as _cx  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover
    from click import exceptions as _cx  # type: ignore[no-redef,unused-ignore]

from .. import __version__
from .._files import atomic_path
from .._tutorials import demo as _demo
from ..errors import DescendError, InvalidArgument
from . import render as r

#: Ctrl-C and refused prompts (``typer.Abort``; click's ``Abort`` on older Typer).
_ABORT: type[BaseException] = vars(typer).get("Abort") or vars(_cx)["Abort"]

_DEBUG = {"on": False}

#: Exit codes, as the module docstring and the README say.
EXIT_BAD_INPUT, EXIT_NOT_CONVERGED, EXIT_INTERRUPTED = 2, 3, 130


class _Interrupted(Exception):
    """Ctrl-C inside a command, carried past Typer (which would exit 130 silently)."""


def _plain_flags(params: list[Any]) -> list[Any]:
    """On/off flags take no value: show no ``<bool>`` beside them in ``--help``."""
    for p in params:
        if getattr(p, "is_flag", False) and not getattr(p, "count", False):
            p.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(list(super().get_params(ctx)))


class _Group(TyperGroup):
    """Turns every failure into one ``error: ...`` line and an exit code."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_flags(list(super().get_params(ctx)))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None

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
        except (_Interrupted, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        except _ABORT:
            _fail("aborted", 1)
        except DescendError as exc:
            _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, EXIT_BAD_INPUT)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc),
                  EXIT_BAD_INPUT)
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
    add_completion=True,
    pretty_exceptions_enable=False,
)

_F = TypeVar("_F", bound=Callable[..., Any])


def _command(name: str | None = None) -> Callable[[_F], _F]:
    """``@app.command`` with the command class that shows flags without a type."""
    return app.command(name, cls=_Command)


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
    """descend: gradient descent you can see.

    Shell completion: descend --install-completion (bash, zsh, fish, PowerShell).
    """
    _DEBUG["on"] = debug


def _write_gallery(out: Path) -> None:
    from .. import plot

    with r.progress("writing figures", None) as update:
        paths = plot.gallery(out, progress=update)
    for p in paths:  # errors: one line and exit 2, by _Group
        typer.echo(str(p))


@_command()
def demo(
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the tutorial figures (HTML and PNG) to this directory."
    )] = None,
) -> None:
    """Replay the four tutorials and print what they print.

    The tutorials: the paraboloid, fitting a line, choosing a step, the slope view.

    Example: descend demo
    """
    _demo.run(typer.echo)
    if out is not None:
        _write_gallery(out)


@_command()
def gallery(
    out: Annotated[Path, typer.Option(
        "--out", help="Directory for the figures (created if needed).")],
) -> None:
    """Write every tutorial figure as HTML (offline) and PNG.

    Example: descend gallery --out figures
    """
    _write_gallery(out)


# -- shared options ---------------------------------------------------------------------------

#: The optimizers of :mod:`descend.optimizers` (a test keeps the two lists equal).
Method = Literal["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
#: The losses of :class:`descend.linear_model.GDRegressor`, then GDClassifier's (a test
#: keeps them equal).
Loss = Literal["mse", "sse", "rmse", "huber", "poisson", "log"]
#: The fit's methods: "auto" (the estimators' default) picks the solver from the loss.
FitMethod = Literal["auto", "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
PenaltyName = Literal["l2", "l1", "elasticnet", "none"]
#: ``--shuffle``: GDRegressor's ``shuffle`` True, "blocks", False.
Shuffle = Literal["rows", "blocks", "none"]
_SHUFFLE: dict[str, bool | str] = {"rows": True, "blocks": "blocks", "none": False}

_X0 = Annotated[Any, typer.Option(
    "--x0", parser=r.float_list, metavar="N1,N2,...",
    help="Start, one number per variable: --x0 6,-3 or --x0=-1.2,1. "
         "Default for a catalog name: its standard start.")]
_VARS = Annotated[str | None, typer.Option(
    "--variables", help="Variable order, e.g. x,y (default: sorted).")]
_METHOD = Annotated[Method, typer.Option("--method", help="The optimizer.")]
_LR = Annotated[Any, typer.Option(
    "--lr", parser=r.step_size, metavar="FLOAT|auto|bb|backtracking",
    help="A fixed step, or auto, bb (Barzilai-Borwein, the default for minimize and "
         "multistart), backtracking.")]
_TOL = "FLOAT|none"
_PLOT = Annotated[Path | None, typer.Option(
    "--plot", dir_okay=False, help="Write a figure: .html, or .png/.svg/.pdf (needs kaleido).")]
_JSON = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead.")]
_NAME = Annotated[str, typer.Argument(
    metavar="FORMULA_OR_NAME",
    help="A formula such as 'x**2 + y**2', or a catalog name (see 'descend functions').")]


_STRICT_RUN = Annotated[bool, typer.Option(
    "--strict", help="Exit with status 3 when the run did not converge.")]
_STRICT_RATES = Annotated[bool, typer.Option(
    "--strict", help="Exit with status 3 when no learning rate converged.")]
_STRICT_STARTS = Annotated[bool, typer.Option(
    "--strict", help="Exit with status 3 when no start converged.")]
_STRICT_FIT = Annotated[bool, typer.Option(
    "--strict", help="Exit with status 3 when the fit did not converge.")]


def _resolve(fun: str, x0: list[float] | None, variables: str | None
             ) -> tuple[Any, list[float], Any]:
    """FORMULA_OR_NAME -> (what minimize takes, x0, variables)."""
    from .. import functions
    from ..objective import resolve_name

    key = fun.strip().lower().replace("-", "_").replace(" ", "_")
    if key in functions.names():
        entry = functions.get(key, dim=len(x0) if x0 is not None else None)
        if variables is not None:
            raise InvalidArgument(f"--variables: {key} has fixed variables "
                                  f"{','.join(entry.variables)}")
        return entry, (x0 if x0 is not None else entry.x0.tolist()), None
    if variables is None:
        resolve_name(fun)  # a near miss of a name ("rosenbrok") is a typo, not a formula
    if x0 is None:
        raise InvalidArgument("--x0: required for a formula (one number per variable, "
                              "e.g. --x0 6,-3)")
    return fun, x0, variables


def _echo_json(value: Any) -> None:
    typer.echo(r.dump_json(value))


# -- minimize ---------------------------------------------------------------------------------


@_command()
def minimize(
    formula: _NAME,
    x0: _X0 = None,
    variables: _VARS = None,
    method: _METHOD = "gd",
    lr: _LR = "bb",
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
        help="Print an 'Epoch k: [x, y]' line after every N-th step, as the paraboloid "
             "tutorial does.")] = None,
    plot: _PLOT = None,
    as_json: _JSON = False,
    strict: _STRICT_RUN = False,
) -> None:
    """Minimize a formula or a catalog function by gradient descent.

    Prints a summary: status, message, x, f, iterations. With --json and
    --log-every, the epoch lines go to stderr: stdout stays one JSON object.

    Example: descend minimize rosenbrock --strict

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
        raise typer.Exit(EXIT_NOT_CONVERGED)


# -- functions --------------------------------------------------------------------------------


@_command("functions")
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


@_command()
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
    strict: _STRICT_RATES = False,
) -> None:
    """Run one descent per learning rate and say which rates are too small, good, too large.

    Example: descend sweep "x**2" --x0 3 --lr 0.001,0.1,0.9,1.1
    """
    from .._sweep import sweep as _sweep

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    fun, start, names = _resolve(formula, x0, variables)
    with r.warnings_as_lines(), r.spinner(f"running {r.count(len(lr), 'learning rate')}"):
        res = _sweep(fun, start, lr, method=method, max_iter=max_iter, variables=names)
    if plot is not None:
        r.save_plot(res, plot)
    rows = res.table()
    if as_json:
        _echo_json(rows)
    else:
        r.console().print(r.table("Learning-rate sweep",
                                  ["lr", "verdict", "status", "iterations", "final f"],
                                  [(x["lr"], x["verdict"], x["status"], str(x["nit"]), x["fun"])
                                   for x in rows]))
    if strict and not any(run.success for run in res.results):
        raise typer.Exit(EXIT_NOT_CONVERGED)


# -- multistart -------------------------------------------------------------------------------


@_command()
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
    lr: _LR = "bb",
    max_iter: Annotated[int, typer.Option("--max-iter", min=0, help="Most steps per run.")] = 1000,
    plot: _PLOT = None,
    as_json: _JSON = False,
    strict: _STRICT_STARTS = False,
) -> None:
    """Descend from many random starts in a box and list the distinct minima found.

    Example: descend multistart himmelblau --starts 200 --bounds -5,5,-5,5 --seed 0 --strict
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
    else:
        rows = [(r.point(m["x"]), m["fun"], str(m["count"])) for m in minima]
        typer.echo(f"Distinct minima: {res.n_converged} of {r.count(len(res), 'run')} "
                   "converged")
        r.console().print(r.table(None, ["x", "f", "count"], rows))
        typer.echo(f"best: x = {r.point(best.x)}, f = {r.fmt(best.fun)} ({best.status.value})")
    if strict and res.n_converged == 0:
        raise typer.Exit(EXIT_NOT_CONVERGED)


# -- fit and predict --------------------------------------------------------------------------

#: ``descend fit``'s option for each parameter of GDRegressor (a test keeps this complete);
#: ``callback`` draws the progress bar.
FIT_OPTIONS = {"loss": "--loss", "method": "--method", "lr": "--lr", "max_iter": "--max-iter",
               "tol": "--tol", "alpha": "--alpha", "fit_intercept": "--intercept",
               "standardize": "--standardize", "batch_size": "--batch-size",
               "shuffle": "--shuffle", "random_state": "--random-state",
               "warm_start": "--warm-start", "verbose": "--verbose", "epsilon": "--epsilon",
               "penalty": "--penalty", "l1_ratio": "--l1-ratio",
               "callback": "(the progress bar)"}


#: The options that --loss log (GDClassifier) does not take: the regressor's alone.
_REGRESSION_ONLY = {"compare": "--compare", "warm_start": "--warm-start",
                    "verbose": "--verbose", "epsilon": "--epsilon"}


def _given(ctx: Any, name: str) -> bool:
    """Whether the option behind parameter ``name`` was given (not its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@_command()
def fit(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(metavar="DATA", help=(
        "A .csv or .parquet table; with --dask, a glob such as 'data/*.parquet'."))],
    target: Annotated[str, typer.Option("--target", help="The column to predict.")],
    features: Annotated[str | None, typer.Option(
        "--features", help="Columns to use, a,b (default: all the others).")] = None,
    loss: Annotated[Loss, typer.Option(
        "--loss", help="The loss to minimize; log: classify (descend.GDClassifier, logistic "
        "or multinomial), the target holding class labels (numbers or text).")] = "mse",
    method: Annotated[FitMethod, typer.Option("--method", help=(
        "The optimizer; auto picks it from the loss (conjugate gradients on the sufficient "
        "statistics for squared losses, preconditioned steps otherwise)."))] = "auto",
    lr: _LR = "auto",
    max_iter: Annotated[int, typer.Option(
        "--max-iter", min=1, help="Most iterations (epochs with --batch-size).")] = 1000,
    tol: Annotated[Any, typer.Option(
        "--tol", parser=r.optional_float, metavar=_TOL,
        help="Relative accuracy of the coefficients to reach; 'none' runs --max-iter."
    )] = "1e-8",
    alpha: Annotated[float, typer.Option(
        "--alpha", help="Penalty strength: alpha * ||coef||^2 for l2 (the intercept is not "
        "penalized); Lasso's / ElasticNet's alpha for l1 and elasticnet.")] = 0.0,
    penalty: Annotated[PenaltyName, typer.Option(
        "--penalty", help="l2; l1 or elasticnet (exact zeros, by proximal steps; loss mse or "
        "poisson); none.")] = "l2",
    l1_ratio: Annotated[float, typer.Option(
        "--l1-ratio", min=0.0, max=1.0, help="The L1 share of --penalty elasticnet.")] = 0.15,
    intercept: Annotated[bool, typer.Option(
        "--intercept/--no-intercept", help="Fit an intercept, or fit through the origin.")] = True,
    standardize: Annotated[bool, typer.Option(
        "--standardize/--no-standardize",
        help="Fit on standardized columns (results in original units).")] = True,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", min=1, help="Mini-batch size (default: the full batch).")] = None,
    shuffle: Annotated[Shuffle, typer.Option(
        "--shuffle", help="Mini-batches each epoch: rows reshuffled (Dask: blocks), blocks of "
        "consecutive rows in shuffled order, or none (in order).")] = "rows",
    random_state: Annotated[int | None, typer.Option(
        "--random-state", help="Seed of the shuffles and of --test-size's split.")] = None,
    epsilon: Annotated[float, typer.Option(
        "--epsilon", help="Huber threshold, in units of the target.")] = 1.35,
    verbose: Annotated[int, typer.Option(
        "--verbose", min=0, metavar="N",
        help="Print the loss every N iterations (stderr with --json).")] = 0,
    warm_start: Annotated[Path | None, typer.Option(
        "--warm-start", dir_okay=False, metavar="MODEL",
        help="Start from a model saved by --save (same features).")] = None,
    validation: Annotated[Path | None, typer.Option(
        "--validation", dir_okay=False, metavar="FILE",
        help="A table with the same columns: report R^2 and RMSE on it too.")] = None,
    test_size: Annotated[float | None, typer.Option(
        "--test-size", metavar="F",
        help="Hold out this fraction of the rows (at random, see --random-state) and "
             "report R^2 and RMSE on them.")] = None,
    compare: Annotated[bool, typer.Option(
        "--compare", help="Show the least-squares solution (np.linalg.lstsq) beside.")] = False,
    plot: _PLOT = None,
    save: Annotated[Path | None, typer.Option(
        "--save", dir_okay=False, help="Write the fitted model as JSON (for predict).")] = None,
    as_json: _JSON = False,
    strict: _STRICT_FIT = False,
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
    """Fit a linear model to a table by gradient descent: coefficients, R^2 and RMSE.

    Every setting of descend.GDRegressor has an option. The report gives the rows and
    features, the iterations, whether the fit converged (and why not), and R^2 and RMSE
    on the training rows and on the held-out ones (--validation or --test-size).
    With --loss log it fits descend.GDClassifier instead and reports the classes, the
    accuracy and the log loss.

    Example: descend fit data.csv --target y --compare --save model.json

    Example: descend fit classes.csv --target label --loss log --save classifier.json

    Example: descend fit data.csv --target y --test-size 0.25 --random-state 0 --json

    Example: descend fit 'data/*.parquet' --target y --dask --workers 2
    """
    from .. import io as dio
    from ..linear_model import GDClassifier, GDRegressor

    r.check_output(plot, "--plot", r.PLOT_SUFFIXES)
    r.check_output(save, "--save", (".json",))
    classify = loss == "log"
    if classify:
        for name, flag in _REGRESSION_ONLY.items():
            if _given(ctx, name):
                raise InvalidArgument(f"{flag}: not available with --loss log (a GDRegressor "
                                      "option)", argument=flag)
    for flag, value in (("--scheduler", scheduler), ("--workers", workers),
                        ("--memory-limit", memory_limit)):
        if value is not None and not dask:
            raise InvalidArgument(f"{flag}: needs --dask", argument=flag)
    if dask and compare:
        raise InvalidArgument("--compare: not available with --dask (it needs all rows in "
                              "memory)", argument="--compare")
    if validation is not None and test_size is not None:
        raise InvalidArgument("--test-size: give --validation or --test-size, not both",
                              argument="--test-size")
    if test_size is not None and not (0.0 < test_size < 1.0):
        raise InvalidArgument(f"--test-size: expected a fraction between 0 and 1, got "
                              f"{test_size:g}", argument="--test-size")
    params: dict[str, Any] = {
        "loss": loss, "method": method, "lr": lr, "max_iter": max_iter, "tol": tol,
        "alpha": alpha, "fit_intercept": intercept, "standardize": standardize,
        "batch_size": batch_size, "shuffle": _SHUFFLE[shuffle], "random_state": random_state,
        "verbose": verbose, "epsilon": epsilon, "l1_ratio": l1_ratio,
        "penalty": None if penalty == "none" else penalty}
    model: Any
    if classify:
        for key in ("verbose", "epsilon"):
            del params[key]
        model = GDClassifier(**params)
    elif warm_start is not None:
        model = dio.load_model(warm_start)
        if not isinstance(model, GDRegressor):
            raise InvalidArgument(f"--warm-start: {warm_start} is a {type(model).__name__}; "
                                  "this fit is a GDRegressor", argument="--warm-start")
        model.set_params(**params, warm_start=True)
    else:
        model = GDRegressor(**params)
    names = r.names_list(features, "--features")
    unit = "epochs" if batch_size is not None else "iterations"
    held: tuple[Any, Any] | None = None
    with contextlib.ExitStack() as stack:
        if dask:
            from ..linear_model import _dask

            with _dask_labels(classify, target):
                X, y = dio.read_dask_table(str(data), target, names)
                if validation is not None:
                    held = dio.read_dask_table(str(validation), target, list(X.columns))
            if test_size is not None:
                X, y, held = _dask_split(X, y, test_size, random_state)
            stack.enter_context(_dask.connect(scheduler, workers, memory_limit))
            if classify:
                _check_classes(_dask_unique(y), target)
            where = f"{data.name} on Dask"
        else:
            with r.spinner(f"reading {data.name}"):
                X, y = dio.read_table(data, target, names, labels=classify)
                if validation is not None:
                    held = dio.read_table(validation, target, list(X.columns), labels=classify)
            if test_size is not None:
                X, y, held = _split(X, y, test_size, random_state)
            if classify:
                _check_classes(np.unique(np.asarray(y)), target)
            where = data.name
        _check_warm_start(model, warm_start, list(X.columns))
        log = (contextlib.redirect_stdout(sys.stderr) if as_json and verbose
               else contextlib.nullcontext())
        with r.warnings_as_lines(keep=_convergence_warning()) as kept, log, \
                r.progress(f"fitting {where} ({unit})", max_iter) as update:
            callback = _advance(update) if update is not r.no_update else None
            model.set_params(callback=callback).fit(X, y)
        model.set_params(callback=None)
        score = _class_scores if classify else _scores
        label = _held_label(validation, test_size)
        train_scores = score(model, X, y, dask)
        held_scores = None if held is None else score(model, *held, dask, where=label)
        report = r.classify_report if classify else r.fit_report
        out = report(model, target, unit, kept, loss, train_scores, held_scores, label)
    if compare:
        ls = _lstsq(X.to_numpy(dtype=float), y.to_numpy(dtype=float), intercept)
        out["lstsq"] = {"coef": dict(zip(out["features"], ls[0], strict=True)),
                        "intercept": ls[1]}
    if save is not None:
        dio.save_model(model, save, target=target)
    if plot is not None:
        r.save_plot(model, plot)
    if as_json:
        _echo_json(out)
    elif classify:
        r.print_classify(out)
    else:
        r.print_fit(out)
    if strict and not out["converged"]:
        raise typer.Exit(EXIT_NOT_CONVERGED)


@contextlib.contextmanager
def _dask_labels(classify: bool, target: str) -> Any:
    """On Dask, --loss log reads the labels as numbers: say so when they are text."""
    from ..errors import DataError

    try:
        yield
    except DataError as exc:
        if classify and f"column {target!r} is not numeric" in str(exc):
            raise InvalidArgument(f"--dask: --loss log on Dask takes class labels that are "
                                  f"numbers, and column {target!r} holds text; code the labels "
                                  "as numbers, or fit in memory (without --dask)",
                                  argument="--dask") from None
        raise


def _dask_unique(y: Any) -> Any:
    """The distinct values of a Dask series, per partition then together (no shuffle)."""
    import pandas as pd

    def distinct(part: Any) -> Any:
        return pd.Series(np.unique(part.to_numpy()), dtype=part.dtype)

    return np.unique(np.asarray(y.map_partitions(distinct, meta=y._meta).compute()))


def _check_classes(classes: Any, target: str) -> None:
    """--loss log: at least two classes, and labels that are text or whole numbers."""
    if classes.dtype.kind == "f":
        odd = classes[classes != np.round(classes)]
        if odd.size:
            raise InvalidArgument(f"--loss log: column {target!r} holds numbers that are not "
                                  f"whole, such as {odd[0]:g}; class labels are whole numbers "
                                  "or text (to predict a number use --loss mse)",
                                  argument="--loss")
    if classes.size < 2:
        raise InvalidArgument(f"--target: --loss log needs at least 2 classes; column "
                              f"{target!r} holds one: {r.labels(classes)[0]!r}",
                              argument="--target")


def _class_scores(model: Any, X: Any, y: Any, dask: bool, where: str | None = None
                  ) -> dict[str, Any]:
    """Rows, accuracy and mean log loss of a classifier on ``(X, y)`` (one pass on Dask).

    Labels the model does not know (held-out rows of a class absent from the training
    rows) are an error naming where they came from.
    """
    if dask:
        from ..linear_model import _dask

        n, hits, nll, unknown = _dask.class_sums(model, X, y)
    else:
        truth = np.asarray(y)
        idx = np.searchsorted(model.classes_, truth).clip(0, len(model.classes_) - 1)
        known = model.classes_[idx] == truth
        unknown = int((~known).sum())
        n, hits, nll = int(truth.size), 0.0, 0.0
        if not unknown and n:
            logp = model.predict_log_proba(X)
            hits = float(np.sum(model.predict(X) == truth))
            nll = float(-logp[np.arange(n), idx].sum())
    if unknown:
        shown = where or "the training rows"
        raise InvalidArgument(f"--target: {r.count(unknown, 'row')} of {shown} hold labels "
                              f"the model was not fitted on (its classes are "
                              f"{', '.join(map(str, r.labels(model.classes_)))})",
                              argument="--target")
    if not n:
        return {"rows": 0, "accuracy": None, "log_loss": None}
    return {"rows": n, "accuracy": hits / n, "log_loss": nll / n}


def _convergence_warning() -> type[Warning]:
    from ..errors import ConvergenceWarning

    cls: type[Warning] = ConvergenceWarning
    return cls


def _check_warm_start(model: Any, path: Path | None, names: list[str]) -> None:
    if path is None:
        return
    had = getattr(model, "feature_names_in_", None)
    if had is not None and [str(n) for n in had] != names:
        raise InvalidArgument(f"--warm-start: {path} was fitted on the features "
                              f"{', '.join(map(str, had))}; this fit has {', '.join(names)}",
                              argument="--warm-start")
    if had is None and int(model.n_features_in_) != len(names):
        raise InvalidArgument(f"--warm-start: {path} has "
                              f"{r.count(int(model.n_features_in_), 'coefficient')}; "
                              f"this fit has {r.count(len(names), 'feature')}",
                              argument="--warm-start")


def _split(X: Any, y: Any, size: float, seed: int | None) -> tuple[Any, Any, tuple[Any, Any]]:
    """Training rows and held-out rows, drawn by scikit-learn's train_test_split."""
    from sklearn.model_selection import train_test_split

    if len(X) < 2:
        raise InvalidArgument(f"--test-size: {r.count(len(X), 'row')} cannot be split",
                              argument="--test-size")
    try:
        Xa, Xb, ya, yb = train_test_split(X, y, test_size=size, random_state=seed)
    except ValueError as exc:  # a fraction that leaves one side empty
        raise InvalidArgument(f"--test-size: {exc}", argument="--test-size") from None
    return Xa, ya, (Xb, yb)


def _dask_split(X: Any, y: Any, size: float, seed: int | None
                ) -> tuple[Any, Any, tuple[Any, Any]]:
    """The same on Dask: each partition's rows split at random (dask's random_split)."""
    key = "__descend_target__"
    cols = list(X.columns)
    train, test = X.assign(**{key: y}).random_split([1.0 - size, size], random_state=seed)
    return train[cols], train[key].rename(y.name), (test[cols], test[key].rename(y.name))


def _held_label(validation: Path | None, test_size: float | None) -> str | None:
    if validation is not None:
        return f"validation ({validation.name})"
    if test_size is not None:
        return f"held out ({test_size:.0%} of the rows)"
    return None


def _scores(model: Any, X: Any, y: Any, dask: bool, where: str | None = None
            ) -> dict[str, Any]:
    """Rows, R^2 and RMSE of the model's predictions of ``y`` (one pass on Dask)."""
    if dask:
        from ..linear_model import _dask

        score, error, n = _dask.metrics(model, X, y)
        return {"rows": n, "r2": score, "rmse": error}
    truth = np.asarray(y, dtype=np.float64)
    pred = np.asarray(model.predict(X), dtype=np.float64)
    res = truth - pred
    rmse = math.sqrt(float(np.mean(res * res)))
    r2: float | None = None
    if truth.size >= 2:
        centred = truth - truth.mean()
        tot = float(centred @ centred)
        r2 = 1.0 - float(res @ res) / tot if tot > 0 else (1.0 if rmse == 0 else 0.0)
    return {"rows": int(truth.size), "r2": r2, "rmse": rmse}


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


@_command()
def predict(
    model: Annotated[Path, typer.Argument(
        metavar="MODEL", help="A model written by 'descend fit --save'.")],
    data: Annotated[Path, typer.Argument(
        metavar="DATA", help="A .csv or .parquet table with the model's features.")],
    out: Annotated[Path | None, typer.Option(
        "--out", dir_okay=False,
        help="Write the predictions (with the --keep columns) to a .csv or .parquet file.")
    ] = None,
    keep: Annotated[str | None, typer.Option(
        "--keep", metavar="COLUMNS",
        help="Columns of DATA to keep beside the prediction, such as an id: id or a,b.")
    ] = None,
    proba: Annotated[bool, typer.Option(
        "--proba", help="A classifier (fit --loss log): also the probability of each class, "
        "columns proba_<class>.")] = False,
    as_json: _JSON = False,
) -> None:
    """Apply a saved model to a table; print or write the predictions.

    A classifier's prediction is the most probable class; --proba adds the class
    probabilities.

    Example: descend predict model.json new.csv --keep id --out predictions.csv

    Example: descend predict classifier.json new.csv --keep id --proba --out labels.csv
    """
    from .. import io as dio

    r.check_output(out, "--out", (".csv", ".parquet"))
    fitted = dio.load_model(model)
    names = getattr(fitted, "feature_names_in_", None)
    if names is None:
        raise InvalidArgument(f"MODEL: {model} does not name its features (it was fitted on "
                              "an array); use it from Python with descend.io.load_model")
    features = [str(n) for n in names]
    frame = dio.read_frame(data)
    X = dio.numeric_columns(frame, features, name=str(data))
    import pandas as pd

    target = getattr(fitted, "target_name_", None)
    classes = getattr(fitted, "classes_", None)
    if proba and classes is None:
        raise InvalidArgument(f"--proba: {model} is a {type(fitted).__name__}; class "
                              "probabilities need a classifier (descend fit --loss log)",
                              argument="--proba")
    frame_X = pd.DataFrame(X, columns=pd.Index(features))
    pred = np.asarray(fitted.predict(frame_X))
    probs = np.asarray(fitted.predict_proba(frame_X)) if proba else None
    kept = r.kept_columns(frame, r.names_list(keep, "--keep") or [], str(data))
    if classes is not None:
        table = r.class_table(kept, pred, probs, classes)
    else:
        table = r.prediction_table(kept, pred, target)
    if out is not None:
        with atomic_path(out) as tmp:
            if out.suffix.lower() == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                table.to_csv(tmp, index=False)
    if as_json:
        doc: dict[str, Any] = {"target": target, "predictions": pred}
        if classes is not None:
            doc["classes"] = r.labels(classes)
        if probs is not None:
            doc["probabilities"] = {str(c): col for c, col in
                                    zip(r.labels(classes), probs.T, strict=True)}
        if keep:
            doc["kept"] = {c: kept[c].tolist() for c in kept.columns}
        _echo_json(doc)
    elif out is None:
        typer.echo(table.to_csv(index=False), nl=False)
    else:
        typer.echo(f"wrote {r.count(len(table), 'prediction')} to {out}", err=True)


# -- app --------------------------------------------------------------------------------------


@_command("app")
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
