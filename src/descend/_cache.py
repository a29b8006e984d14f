"""One registry of descend's in-process caches, and :func:`clear_caches` to empty them all.

A module that keeps a cache registers a function that empties it::

    from descend import _cache
    _cache.register("compiled kernels", _kernels.clear)

``descend.clear_caches()`` calls every registered function (compiled kernels, parsed
formulas, the explorer's recent runs, ...). Registering again under the same name replaces
the earlier function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["clear_caches", "register", "registered"]

_registry: dict[str, Callable[[], object]] = {}
_lock = threading.Lock()


def register(name: str, clear: Callable[[], object]) -> None:
    """Register ``clear``, a function of no arguments that empties the cache ``name``."""
    if not callable(clear):
        raise TypeError(f"clear: expected a callable, got {type(clear).__name__}")
    with _lock:
        _registry[str(name)] = clear


def registered() -> list[str]:
    """The names of the registered caches."""
    with _lock:
        return sorted(_registry)


def clear_caches() -> list[str]:
    """Empty every registered cache; returns their names.

    Returns
    -------
    list of str
        The names of the caches emptied (``"compiled kernels"``, ...).

    Examples
    --------
    >>> import descend
    >>> "compiled kernels" in descend.clear_caches()
    True
    """
    with _lock:
        items = list(_registry.items())
    for _, clear in items:
        clear()
    return [name for name, _ in sorted(items)]
