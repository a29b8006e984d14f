"""The ``descend`` command line (Typer): thin, it parses and calls the public API."""

from __future__ import annotations

import typer

from . import __version__, _demo

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


@app.command()
def demo() -> None:
    """Replay the four tutorials and print what they print.

    Example: descend demo
    """
    _demo.run(typer.echo)


def main() -> None:
    """Entry point of the ``descend`` script."""
    app()
