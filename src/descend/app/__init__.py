"""The explorer: a Dash app to type a function, click a start, and step or run optimizers.

``create_app()`` builds it, ``server`` is the Flask app for a WSGI server
(``gunicorn -w 2 -b 127.0.0.1:8050 'descend.app:server'``), and :func:`serve` runs it
(waitress, threaded, for one worker; gunicorn for more). The server keeps no state per
user: the state lives in the page and the URL, and every request's copy of it is
validated and clamped like typed input (:func:`descend.app.state.clean`).

Dash is imported only when the app is built, so the formula checker's child process
(:mod:`descend.app.worker`) starts without it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dash import Dash
    from flask import Flask, Response

__all__ = ["MAX_BODY_BYTES", "MAX_STATE_BYTES", "create_app", "serve", "server"]

_ASSETS = Path(__file__).resolve().parent / "assets"

#: largest request body read (a 10 MB upload arrives base64-encoded: 13.4 MB, plus the state)
MAX_BODY_BYTES = 16 * 1024 * 1024
#: largest body of a request that is not an upload (the page's state is about 100 kB)
MAX_STATE_BYTES = 2 * 1024 * 1024


class _Prefixed:
    """A stream that yields ``head`` and then the rest of ``stream`` (a body whose start
    was read to look at it)."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size is None or size < 0:
                out, self.head = self.head + self.stream.read(), b""
                return bytes(out)
            out, self.head = self.head[:size], self.head[size:]
            if len(out) < size:
                out += self.stream.read(size - len(out))
            return bytes(out)
        return bytes(self.stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def create_app() -> Dash:
    """A new explorer app; plotly.js and MathJax are served by Dash itself (no CDN)."""
    from dash import Dash

    from . import callbacks, layout

    app = Dash(__name__, title="descend explorer", assets_folder=str(_ASSETS),
               serve_locally=True, suppress_callback_exceptions=True,
               update_title=None)  # type: ignore[arg-type]
    app.layout = layout.build()
    callbacks.register(app)
    _harden(app.server)
    return app


def _harden(flask_app: Flask) -> None:
    """Body size limit, security headers, and a 4xx (never a 500) for a malformed request."""
    from werkzeug.exceptions import BadRequest, HTTPException

    flask_app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    flask_app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    upload = re.compile(rb'"changedPropIds"\s*:\s*\[\s*"upload\.contents"\s*\]')

    @flask_app.before_request
    def _small_unless_upload() -> Any:
        """Only an upload may send more than :data:`MAX_STATE_BYTES` (the page's state is
        far smaller): a large body of anything else is refused before it is parsed."""
        from flask import request
        from werkzeug.exceptions import RequestEntityTooLarge

        size = request.content_length or 0
        if size > MAX_STATE_BYTES and request.path.endswith("_dash-update-component"):
            head = request.stream.read(MAX_STATE_BYTES)
            if not upload.search(head):
                raise RequestEntityTooLarge(
                    f"only an upload may send more than {MAX_STATE_BYTES // 1024**2} MB")
            request.environ["wsgi.input"] = _Prefixed(head, request.stream)
        return None

    @flask_app.after_request
    def _headers(resp: Response) -> Response:
        for k, v in _HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    @flask_app.errorhandler(Exception)
    def _refuse(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        flask_app.logger.warning("refused a malformed request: %s: %s",
                                 type(exc).__name__, str(exc)[:200])
        return BadRequest("malformed request: the explorer could not read it")


_APP: Dash | None = None
_APP_LOCK = threading.Lock()


def __getattr__(name: str) -> object:
    """``app`` and ``server`` (for gunicorn) are built on first use."""
    global _APP
    if name in ("app", "server"):
        with _APP_LOCK:
            if _APP is None:
                _APP = create_app()
        return _APP if name == "app" else _APP.server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(host: str = "127.0.0.1", port: int = 8050, workers: int = 1,
          threads: int = 8) -> None:
    """Serve the explorer at ``http://host:port`` until interrupted (Ctrl+C or SIGTERM).

    One worker: waitress (a production WSGI server, pure Python) with ``threads``
    threads in this process. More: ``gunicorn -w N`` (``descend.app:server``) replaces
    this process. Either way the formula checker's child process ends with the server.
    """
    if workers > 1:
        gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
        args = [gunicorn, "-w", str(int(workers)), "-b", f"{host}:{int(port)}",
                "--timeout", "60", "--graceful-timeout", "5", "descend.app:server"]
        if os.name == "posix":
            os.execv(gunicorn, args)
        subprocess.run(args, check=False)  # pragma: no cover
        return
    # what an upload needs (pandas) is imported now, in this thread: plotly looks for it
    # too, and a module half imported by another thread would fail it
    import pandas  # noqa: F401
    from waitress import serve as waitress_serve

    from . import worker

    threading.Thread(target=worker.warm, daemon=True).start()
    sys.setswitchinterval(0.002)  # short requests are not kept waiting behind long ones
    wsgi = __getattr__("server")
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        # waitress stops on SystemExit / KeyboardInterrupt in its loop and returns
        waitress_serve(wsgi, host=host, port=int(port), threads=int(threads),
                       max_request_body_size=MAX_BODY_BYTES, channel_timeout=30,
                       connection_limit=200, ident="descend", _quiet=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        worker.shutdown()
