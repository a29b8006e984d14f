"""The ``descend`` command line (Typer): thin, it parses and calls the public API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import __version__, _demo
from .errors import DescendError

app = typer.Typer(
    name="descend",
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
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """descend: gradient descent you can see."""


def _write_gallery(out: Path) -> None:
    from . import plot

    try:
        paths = plot.gallery(out)
    except DescendError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in paths:
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


@app.command("app")
def app_(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8050,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Worker processes; more than 1 runs under gunicorn.")] = 1,
) -> None:
    """Serve the explorer in the browser (offline: everything is served locally).

    Example: descend app --port 8050, then open http://127.0.0.1:8050
    """
    from .app import serve

    typer.echo(f"descend explorer at http://{host}:{port} (Ctrl+C to stop)")
    serve(host=host, port=port, workers=workers)


def main() -> None:
    """Entry point of the ``descend`` script."""
    app()
