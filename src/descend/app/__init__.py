"""The explorer: a Dash app to type a function, click a start, and step or run optimizers.

``create_app()`` builds it, ``server`` is the Flask app for gunicorn
(``gunicorn -w 2 -b 127.0.0.1:8050 'descend.app:server'``), and :func:`serve` runs it
(Werkzeug, threaded, for one worker; gunicorn for more). The server keeps no state per
user: the state lives in the page and the URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from dash import Dash

__all__ = ["create_app", "serve", "server"]

_ASSETS = Path(__file__).resolve().parent / "assets"


def create_app() -> Dash:
    """A new explorer app; plotly.js and MathJax are served by Dash itself (no CDN).

    Returns
    -------
    dash.Dash
        The app; its ``server`` attribute is the Flask (WSGI) application.
    """
    from . import callbacks, layout

    app = Dash(__name__, title="descend explorer", assets_folder=str(_ASSETS),
               serve_locally=True, suppress_callback_exceptions=True,
               update_title=None)  # type: ignore[arg-type]
    app.layout = layout.build()
    callbacks.register(app)
    return app


_APP: Dash | None = None


def __getattr__(name: str) -> object:
    """``app`` and ``server`` (for gunicorn) are built on first use."""
    global _APP
    if name in ("app", "server"):
        if _APP is None:
            _APP = create_app()
        return _APP if name == "app" else _APP.server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def serve(host: str = "127.0.0.1", port: int = 8050, workers: int = 1) -> None:
    """Serve the explorer at ``http://host:port`` until interrupted.

    One worker: Werkzeug's threaded server in this process. More: ``gunicorn -w N``
    (``descend.app:server``) replaces this process.

    Parameters
    ----------
    host : str, default "127.0.0.1"
        The address to listen on (``0.0.0.0``: every interface).
    port : int, default 8050
        The port.
    workers : int, default 1
        Processes; more than one runs gunicorn.
    """
    if workers > 1:
        gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
        args = [gunicorn, "-w", str(int(workers)), "-b", f"{host}:{int(port)}",
                "--timeout", "60", "descend.app:server"]
        if os.name == "posix":
            os.execv(gunicorn, args)
        subprocess.run(args, check=False)  # pragma: no cover
        return
    from . import worker

    threading.Thread(target=worker.check, args=("x",), daemon=True).start()  # warm the pool
    dash_app = __getattr__("app")
    assert isinstance(dash_app, Dash)
    dash_app.run(host=host, port=port, debug=False, threaded=True)
