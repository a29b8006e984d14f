"""Formula text from strangers is parsed first in a child process, with limits.

The child has an address-space limit (``RLIMIT_AS``) and each request a wall-clock
timeout; a child that runs over is killed and the pool made anew, and the request
gets a message instead of a Formula. Only text the child accepted is parsed again
in the server process (compiled functions cannot be pickled), through a small cache.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import functools
import multiprocessing
import os
import threading
from typing import Any

from ..errors import FormulaError
from ..formula import Formula, parse

__all__ = ["TIMEOUT_S", "check", "formula"]

TIMEOUT_S = 3.0
MEMORY_BYTES = 2 * 1024**3

_lock = threading.Lock()
_pool: cf.ProcessPoolExecutor | None = None


def _limit_memory(limit: int) -> None:  # pragma: no cover - runs in the child
    import resource

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _describe(text: str) -> dict[str, Any]:  # pragma: no cover - runs in the child
    try:
        f = parse(text)
        return {"variables": list(f.variables), "latex": f.latex,
                "partials": dict(f.partials_latex)}
    except FormulaError as exc:
        return {"error": str(exc).split("\n")[0]}
    except MemoryError:
        return {"error": "formula: too large to work with"}


def _ready() -> bool:  # pragma: no cover - runs in the child
    return True


def _get_pool() -> cf.ProcessPoolExecutor:
    """The pool, started (and warmed: the child has imported the parser) when needed.

    Children come from a fork server that has imported :mod:`descend.formula` already,
    so a fresh child is ready in milliseconds and never inherits the server's threads.
    """
    global _pool
    with _lock:
        if _pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["descend.formula"])
            pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx,
                                          initializer=_limit_memory, initargs=(MEMORY_BYTES,))
            pool.submit(_ready).result(timeout=120)
            _pool = pool
            atexit.register(_shutdown)
        return _pool


def _shutdown() -> None:
    """Stop the child before the interpreter tears the executor's modules down."""
    pool = _pool
    if pool is not None:
        _discard(pool)


def _discard(pool: cf.ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


_cache: dict[str, dict[str, Any]] = {}
_CACHE_SIZE = 256


def check(text: str, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """Validate ``text`` in the child: ``variables``, ``latex``, ``partials``, or ``error``.

    Answers are cached (timeouts and crashes are not, they may be the machine's fault).
    """
    hit = _cache.get(text)
    if hit is not None:
        return dict(hit)
    pool = _get_pool()
    try:
        out: dict[str, Any] = pool.submit(_describe, text).result(timeout=timeout)
    except cf.TimeoutError:
        _discard(pool)
        return {"error": f"formula: took longer than {timeout:g} s to parse; simplify it"}
    except cf.process.BrokenProcessPool:
        _discard(pool)
        return {"error": "formula: too large to work with (the parser ran out of memory)"}
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[text] = out
    return dict(out)


@functools.lru_cache(maxsize=64)
def formula(text: str, variables: tuple[str, ...] | None = None) -> Formula:
    """The in-process Formula of text the child accepted (cached)."""
    return parse(text, variables)
