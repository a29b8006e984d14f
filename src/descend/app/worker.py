"""Formula text from strangers is parsed first in a child process, with limits.

The child is a plain interpreter (``python -m descend.app.worker``) that imports only
:mod:`descend.formula`: it reads one JSON request per line on its standard input and
answers one JSON line each. It runs with an address-space limit (``RLIMIT_AS``, 2 GiB)
and each request with a wall-clock timeout; a child that runs over is killed and a new
a spare child, started ahead and warm, takes over at once (a new spare starts behind it),
so the next request gets a normal answer; the request that ran over gets a message
instead of a Formula. Requests wait for the child at most the timeout (a hostile client
cannot queue everyone behind it).

The children never outlive the program that started them, however that program ends: it
leaves on end of input (its parent closed the pipe or died) and, while busy, when its
parent process id changes (the parent died; a watcher thread looks four times a
second). The parent kills them at exit (``atexit``). No ``multiprocessing`` machinery is
used, so there is no fork server and no resource tracker to leave behind.

Only text the child accepted is parsed in the server process (:func:`formula` checks
first), through a small cache: whatever way a formula arrives (the typed box, a URL,
a forged page state), the server never parses text the child has not timed.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import IO, Any

from ..errors import FormulaError
from ..formula import Formula, parse

__all__ = ["MEMORY_BYTES", "TIMEOUT_S", "check", "formula", "shutdown"]

TIMEOUT_S = 3.0
MEMORY_BYTES = 2 * 1024**3
START_S = 60.0  #: most time a fresh child may take to import the parser
_MAX_LINE = 1 << 20  #: longest answer read from the child (LaTeX of a 1,000-character formula)


class _Child:
    """One child process and the buffer of what it wrote."""

    def __init__(self) -> None:
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.environ.get("PYTHONPATH", "")
        env = {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else ""),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "descend.app.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self.ready = False
        self.replacement = False  #: started after another child was killed
        self._buf = b""

    def _line(self, deadline: float) -> bytes | None:
        out = self.proc.stdout
        assert out is not None
        fd = out.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or len(self._buf) > _MAX_LINE:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:  # the child died
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def wait_ready(self, deadline: float) -> bool:
        if not self.ready:
            line = self._line(deadline)
            self.ready = line is not None and line.startswith(b'{"ready"')
        return self.ready

    def ask(self, text: str, timeout: float) -> dict[str, Any] | None:
        """The child's answer, or None when it ran over or died."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps({"text": text}).encode() + b"\n")
            stdin.flush()
        except OSError:
            return None
        line = self._line(time.monotonic() + timeout)
        if line is None:
            return None
        try:
            out = json.loads(line)
        except ValueError:
            return None
        return out if isinstance(out, dict) else None

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:  # pragma: no cover - already gone
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:  # pragma: no cover - a broken pipe
                pass


_lock = threading.Lock()  # one request in the child at a time
_child: _Child | None = None
_spare: _Child | None = None  #: started ahead, to take over at once from a killed child
_atexit = {"registered": False}


def _current() -> _Child:
    """The child (started when needed), and a spare started beside it; called with
    ``_lock`` held."""
    global _child, _spare
    if _child is None or _child.proc.poll() is not None:
        if _child is not None:
            _child.kill()
        if _spare is not None and _spare.proc.poll() is None:
            _child, _spare = _spare, None
        else:
            _child = _Child()
        if not _atexit["registered"]:
            atexit.register(shutdown)
            _atexit["registered"] = True
    if _spare is None or _spare.proc.poll() is not None:
        _spare = _Child()
    return _child


def _replace() -> None:
    """Kill the child; the spare (warm by now) takes over and a new spare starts."""
    global _child
    if _child is not None:
        _child.kill()
    _child = None
    _current().replacement = True


def shutdown() -> None:
    """Stop the children (at exit, on SIGTERM through :func:`descend.app.serve`, in tests)."""
    global _child, _spare
    for child in (_child, _spare):
        if child is not None:
            child.kill()
    _child = _spare = None


def warm() -> None:
    """Start the child and wait until it has imported the parser."""
    with _lock:
        _current().wait_ready(time.monotonic() + START_S)


_cache: dict[str, dict[str, Any]] = {}
_CACHE_SIZE = 256
#: texts that ran over the time limit or crashed the child, and when: refused again at
#: once for this long, so one request (or one client repeating it) costs the limit once
_failed: dict[str, tuple[float, dict[str, Any]]] = {}
FAILED_TTL_S = 300.0


def check(text: Any, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """Validate ``text`` in the child: ``variables``, ``latex``, ``partials``, or ``error``.

    Answers are cached; a timeout or a crash is remembered for :data:`FAILED_TTL_S`
    (it may have been the machine's fault, so not for ever). A request waits at most
    ``timeout`` for another one to finish and for a fresh child to be ready, then at
    most ``timeout`` for its own answer.
    """
    if not isinstance(text, str):
        return {"error": "formula: expected text"}
    hit = _cache.get(text)
    if hit is not None:
        return dict(hit)
    failed = _failed.get(text)
    if failed is not None and time.monotonic() - failed[0] < FAILED_TTL_S:
        return dict(failed[1])
    start = time.monotonic()
    busy = {"error": "formula: the checker is busy with another formula; try again"}
    if not _lock.acquire(timeout=timeout):
        return busy
    try:
        child = _current()
        # a child still starting after another formula ran over is waited for until
        # ``timeout`` after the request came, so one request never waits much longer
        ready_by = (max(start + timeout, time.monotonic() + 0.05) if child.replacement
                    else time.monotonic() + START_S)
        if not child.wait_ready(ready_by):
            if child.proc.poll() is not None:
                _replace()
            return {"error": "formula: the checker is starting; try again in a moment"}
        out = child.ask(text, timeout)
        if out is None:
            crashed = child.proc.poll() is not None
            _replace()
            out = {"error": "formula: too large to work with (the parser ran out of memory)"
                   if crashed else
                   f"formula: took longer than {timeout:g} s to parse; simplify it"}
            if len(_failed) >= _CACHE_SIZE:
                _failed.pop(next(iter(_failed)), None)
            _failed[text] = (time.monotonic(), out)
            return dict(out)
    finally:
        _lock.release()
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)), None)
    _cache[text] = out
    return dict(out)


def formula(text: str, variables: tuple[str, ...] | None = None) -> Formula:
    """The in-process Formula of ``text``, after the child accepted it (cached).

    Raises :class:`~descend.errors.FormulaError` with the child's message otherwise.
    """
    out = check(text)
    if "error" in out:
        raise FormulaError(str(out["error"]).removeprefix("formula: "), text="")
    return _parsed(text, variables)


@functools.lru_cache(maxsize=64)
def _parsed(text: str, variables: tuple[str, ...] | None) -> Formula:
    return parse(text, variables)


# -- the child ----------------------------------------------------------------------------


def _describe(text: str) -> dict[str, Any]:  # pragma: no cover - runs in the child
    try:
        f = parse(text)
        return {"variables": list(f.variables), "latex": f.latex,
                "partials": dict(f.partials_latex)}
    except FormulaError as exc:
        return {"error": str(exc).split("\n")[0]}
    except MemoryError:
        return {"error": "formula: too large to work with"}
    except RecursionError:
        return {"error": "formula: nested too deeply to work with"}
    except Exception as exc:  # the parser failed in a way it should not: refuse the text
        return {"error": f"formula: too large or complex to work with ({type(exc).__name__})"}


def _watch_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            os._exit(0)


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:  # pragma: no cover - the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    parse("x**2 + y")  # import and warm SymPy before saying ready
    stdout.write(b'{"ready": true}\n')
    stdout.flush()
    for line in stdin:
        try:
            text = json.loads(line)["text"]
            out = _describe(str(text))
        except (ValueError, KeyError, TypeError):
            out = {"error": "formula: not understood"}
        stdout.write(json.dumps(out).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover - the child
    _serve(sys.stdin.buffer, sys.stdout.buffer)
