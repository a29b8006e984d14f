"""The ``descend`` command line: thin faces over the public API.

``commands``  the Typer app: parse arguments, call the library, set the exit code
``render``    Rich tables, JSON, progress bars and figure output for the commands
"""

from .commands import app, main

__all__ = ["app", "main"]
