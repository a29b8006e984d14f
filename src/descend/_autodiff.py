r"""Exact gradients of Python callables written with JAX or PyTorch.

``minimize(fun, x0)`` with a callable and no gradient asks :func:`differentiate`
which gradient to use (``grad="auto"``):

- **JAX**: when ``fun(x0)`` returns a ``jax.Array`` (the function is written with
  ``jax.numpy``), descend builds ``jax.jit`` of the value and gradient together
  (``jax.value_and_grad``) once, and ``jax.jit(jax.vmap(...))`` for a batch
  ``(K, p)``. A function with Python control flow on values (``if x[0] > 0:``)
  cannot be jit-compiled; it is then differentiated eagerly, still exactly.
- **PyTorch**: when ``fun(x0)`` returns a ``torch.Tensor``, or fails on a NumPy
  array but runs on a tensor, descend differentiates it with ``torch.autograd``
  (one backward pass per point; no compilation) and ``torch.func.vmap`` over a
  batch, or a loop over its rows when the function cannot be vmapped.
- Otherwise: central finite differences (``2 p`` calls of ``fun`` a gradient).

Neither library is ever imported here to find out: a function can only be written
with JAX or PyTorch if the program imported it already, so the probe runs only
when ``"jax"`` or ``"torch"`` is in :data:`sys.modules`. ``grad="jax"`` or
``grad="torch"`` imports the library and insists (an error naming ``grad`` when the
function cannot be traced); ``grad="fd"`` always takes finite differences.

Precision: gradients are float64 for a float64 ``x``. JAX computes in float32
unless its ``jax_enable_x64`` option is on; descend does not turn that option on
for the program. It traces and calls the function inside ``jax.enable_x64(True)``,
a context manager that changes the option for the calling thread and restores it
on exit, so the user's own JAX code outside descend keeps its settings. PyTorch
takes a float64 tensor as given.

Both backends evaluate ``f`` and its gradient in one call; the pair is kept for the
last point, so the loop's ``f(x)`` then ``grad(x)`` costs one evaluation.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _cache
from ._types import Array
from .errors import InvalidArgument, InvalidType

__all__ = ["GRAD_METHODS", "MODES", "Exact", "Fallback", "differentiate", "mode_of"]

#: What ``grad`` may name instead of a callable.
MODES = ("auto", "fd", "jax", "torch")
#: The values of ``Result.grad_method``.
GRAD_METHODS = ("formula", "user", "jax", "torch", "finite-differences")

_EXTRA = {"jax": "pip install 'descend[jax]'", "torch": "pip install 'descend[torch]'"}


def mode_of(grad: Any) -> str | None:
    """The gradient mode named by ``grad``: ``None`` (no gradient given) is
    ``"auto"``; a string must be one of :data:`MODES`; a callable gives ``None``."""
    if grad is None:
        return "auto"
    if isinstance(grad, str):
        if grad not in MODES:
            raise InvalidArgument(
                f"grad: expected a callable grad(x) -> array or one of "
                f"{', '.join(repr(m) for m in MODES)}, got {grad!r:.40}",
                argument="grad",
            )
        return grad
    if not callable(grad):
        raise InvalidType(
            f"grad: expected a callable grad(x) -> array, None or one of "
            f"{', '.join(repr(m) for m in MODES)}, got {type(grad).__name__}",
            argument="grad",
        )
    return None


@dataclass(frozen=True)
class Exact:
    """An exact gradient found for a callable.

    ``fun`` and ``grad`` take one point ``(p,)`` or a batch ``(K, p)``; ``fun1`` and
    ``grad1`` one point, returning a float and a ``(p,)`` array.
    """

    method: str
    note: str
    fun: Callable[[Array], Any]
    grad: Callable[[Array], Any]
    fun1: Callable[[Array], float]
    grad1: Callable[[Array], Array]


@dataclass(frozen=True)
class Fallback:
    """No exact gradient: finite differences of ``fun`` (which takes NumPy arrays),
    with ``why`` (empty for an ordinary NumPy function)."""

    fun: Callable[[Array], Any]
    why: str


def differentiate(fun: Callable[[Array], Any], x0: Array, mode: str) -> Exact | Fallback:
    """Choose the gradient of the callable ``fun`` at the start ``x0`` (see the module
    docstring). ``mode`` is ``"auto"``, ``"fd"``, ``"jax"`` or ``"torch"``."""
    if mode == "fd":
        jax, torch = sys.modules.get("jax"), sys.modules.get("torch")
        if torch is not None:  # a function of tensors is handed tensors, its value a float
            kind, takes_numpy = _probe(fun, x0, None, torch)
            if kind == "torch" and not takes_numpy:
                return Fallback(_converting(torch.from_numpy, fun), "")
        return Fallback(fun if jax is None else _in_x64(jax, fun), "")
    if mode == "jax":
        return _Jax.build(_require("jax"), fun, x0, forced=True)
    if mode == "torch":
        return _Torch.build(_require("torch"), fun, x0, forced=True)
    jax, torch = sys.modules.get("jax"), sys.modules.get("torch")
    if jax is None and torch is None:
        return Fallback(fun, "")
    kind, takes_numpy = _probe(fun, x0, jax, torch)
    if kind == "jax":
        return _Jax.build(jax, fun, x0, forced=False, takes_numpy=takes_numpy)
    if kind == "torch":
        return _Torch.build(torch, fun, x0, forced=False, takes_numpy=takes_numpy)
    return Fallback(fun, "")


def _require(name: str) -> Any:
    try:
        if name == "jax":
            import jax

            return jax
        import torch

        return torch
    except ImportError as exc:
        raise InvalidArgument(
            f"grad: {name!r} needs {'JAX' if name == 'jax' else 'PyTorch'}, which is not "
            f"installed ({exc}); {_EXTRA[name]}, or use grad='fd'",
            argument="grad",
        ) from None


def _array_type(module: Any, name: str) -> type | None:
    cls = getattr(module, name, None) if module is not None else None
    return cls if isinstance(cls, type) else None


def _probe(
    fun: Callable[[Array], Any], x0: Array, jax: Any, torch: Any
) -> tuple[str | None, bool]:
    """Which library ``fun`` is written with (``"jax"``, ``"torch"`` or None) and
    whether it takes a NumPy array: what ``fun(x0)`` returns, or, when it refuses a
    NumPy array, which library's array it accepts."""
    jax_array, tensor = _array_type(jax, "Array"), _array_type(torch, "Tensor")
    try:
        # A function of tensors handed an ndarray may warn before it fails or answers:
        # the probe's business, not the user's.
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            warnings.simplefilter("ignore")
            if jax_array is not None:
                stack.enter_context(jax.enable_x64(True))
            out = fun(x0.copy())
    except Exception:  # a function of tensors may refuse an ndarray
        pass
    else:
        if jax_array is not None and isinstance(out, jax_array):
            return "jax", True
        if tensor is not None and isinstance(out, tensor):
            return "torch", True
        return None, True
    if jax_array is not None:
        try:
            with jax.enable_x64(True):
                out = fun(jax.numpy.asarray(x0))
        except Exception:  # not a JAX function either
            pass
        else:
            if isinstance(out, jax_array):
                return "jax", False
    if tensor is not None:
        try:
            out = fun(torch.from_numpy(x0.copy()))
        except Exception:  # the NumPy call's error is the user's to see
            return None, False
        if isinstance(out, tensor):
            return "torch", False
    return None, False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line[:160]}"


def _scalar_error(
    shape: tuple[int, ...], dtype: Any, x0: Array
) -> InvalidArgument | InvalidType | None:
    """The error for a function value that is not one real float, or None."""
    if tuple(shape) != ():
        return InvalidArgument(
            f"fun: must return a scalar for x of shape {x0.shape}, got an array of shape "
            f"{tuple(shape)}; return a float (for example .sum())",
            argument="fun",
        )
    if not np.issubdtype(np.dtype(dtype), np.floating):
        return InvalidType(
            f"fun: must return a real floating-point number to be differentiated, got "
            f"dtype {np.dtype(dtype)}",
            argument="fun",
        )
    return None


class _Pair:
    """Value and gradient of one function, from one call that gives both; the pair
    for the last point (and the last batch) is kept, so ``f(x)`` then ``grad(x)``
    costs one evaluation. The last point is recognised by identity and contents
    (an array changed in place is evaluated again). Each cache is one tuple,
    replaced whole, so threads may share a pair. Gradients may be read-only views
    of the backend's output."""

    __slots__ = ("_last1", "_lastk", "_many", "_one")

    def __init__(
        self,
        one: Callable[[Array], tuple[float, Array]],
        many: Callable[[Array], tuple[Array, Array]],
    ) -> None:
        self._one, self._many = one, many
        self._last1: tuple[Any, bytes, float, Array] = (None, b"", 0.0, np.empty(0))
        self._lastk: tuple[Any, bytes, Array, Array] = (None, b"", np.empty(0), np.empty(0))

    def _at_one(self, x: Array) -> tuple[float, Array]:
        """f and the gradient at one point, from the last call when ``x`` is unchanged
        (the loop asks for the gradient right after the value)."""
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        data = x.tobytes()
        last = self._last1
        if last[0] is x and last[1] == data:
            return last[2], last[3]
        f, g = self._one(x)
        self._last1 = (x, data, f, g)
        return f, g

    def value(self, x: Array) -> float:
        """f at one point ``(p,)``."""
        return self._at_one(x)[0]

    def grad(self, x: Array) -> Array:
        """The gradient at one point ``(p,)``."""
        return self._at_one(x)[1]

    def _at_many(self, X: Array) -> tuple[Array, Array]:
        data = X.tobytes()
        last = self._lastk
        if last[0] is X and last[1] == data and last[2].shape[0] == X.shape[0]:
            return last[2], last[3]
        f, g = self._many(X)
        self._lastk = (X, data, f, g)
        return f, g

    def fun(self, x: Array) -> Any:
        """f at one point ``(p,)`` (a float) or on a batch ``(K, p)`` (an array)."""
        x = np.asarray(x)
        return self._at_many(x)[0] if x.ndim == 2 else self.value(x)

    def gradient(self, x: Array) -> Array:
        """The gradient at one point ``(p,)`` or on a batch ``(K, p)``."""
        x = np.asarray(x)
        return self._at_many(x)[1] if x.ndim == 2 else self.grad(x)

    def exact(self, method: str, note: str) -> Exact:
        return Exact(method, note, self.fun, self.gradient, self.value, self.grad)


_F64 = np.dtype(np.float64)


def _real(x: Array) -> Array:
    """A float array for the backends: float32 stays float32, anything else float64."""
    if x.dtype == np.float32 or x.dtype == np.float64:
        return x
    return x.astype(np.float64)


#: JAX backends by the function they differentiate, so that minimizing the same
#: function again reuses its compiled code (entries go with the function). A
#: ``functools.partial`` (a function with its extra arguments bound) is filed under
#: its function and its arguments, when they are hashable.
_JAX_CACHE: weakref.WeakKeyDictionary[Any, dict[Any, _Jax]] = weakref.WeakKeyDictionary()
_cache.register("jax gradients", _JAX_CACHE.clear)  # descend.clear_caches() empties it


def _cache_key(fun: Any) -> tuple[Any, Any]:
    """(weakly referable owner, hashable key) under which ``fun``'s backend is kept;
    raises TypeError when there is none."""
    if isinstance(fun, functools.partial):
        key = (fun.args, tuple(sorted(fun.keywords.items())))
        hash(key)
        return fun.func, key
    return fun, None


def _cached(fun: Any) -> _Jax | None:
    try:
        owner, key = _cache_key(fun)
        return _JAX_CACHE.get(owner, {}).get(key)
    except TypeError:  # unhashable or not weakly referable: no cache
        return None


def _remember(fun: Any, backend: _Jax) -> None:
    with contextlib.suppress(TypeError):
        owner, key = _cache_key(fun)
        entries = _JAX_CACHE.get(owner)
        if entries is None:
            entries = _JAX_CACHE[owner] = {}
        entries[key] = backend
        while len(entries) > 16:  # many bound argument values: keep the latest
            del entries[next(iter(entries))]


_LOW_PRECISION = (
    "fun computes partly in float32 (JAX arrays made while jax_enable_x64 was off are "
    "float32: make them inside jax.enable_x64(True), or keep NumPy arrays)"
)


def _computes_in_float32(jax: Any, fun: Callable[[Array], Any], x: Array) -> bool:
    """True when tracing ``fun`` at a float64 ``x`` meets a float32 (or narrower)
    floating-point value: typically a JAX array made before x64 mode was on, which
    limits the gradient to single precision."""
    try:
        with jax.enable_x64(True):
            closed = jax.make_jaxpr(fun)(x)
    except Exception:  # the trace that matters is checked elsewhere
        return False
    narrow = {np.dtype(np.float32), np.dtype(np.float16)}
    jaxpr = closed.jaxpr
    atoms = [*jaxpr.constvars, *jaxpr.invars]
    for eqn in jaxpr.eqns:
        atoms.extend(eqn.invars)
        atoms.extend(eqn.outvars)
    for atom in atoms:
        dtype = getattr(getattr(atom, "aval", None), "dtype", None)
        if dtype is not None and (dtype in narrow or str(dtype) == "bfloat16"):
            return True
    return False


class _Jax:
    """``jax.jit(jax.value_and_grad(fun))``, called under ``jax.enable_x64(True)``;
    ``jax.jit(jax.vmap(...))`` of the same on a batch."""

    def __init__(self, jax: Any, fun: Callable[[Array], Any], jit: bool) -> None:
        self.jax, self.fun, self.jit = jax, fun, jit
        state = jax.enable_x64
        # The thread-local switch behind the context manager jax.enable_x64(True)
        # (whose only other work, a hook, is unset for this option); the context
        # manager itself where that is not so.
        fast = (callable(getattr(state, "swap_local", None))
                and callable(getattr(state, "set_local", None))
                and getattr(state, "_update_thread_local_hook", None) is None)
        self._x64: Any = state if fast else None
        jnp = jax.numpy
        vg = jax.value_and_grad(fun)

        def both(x: Any) -> Any:
            f, g = vg(x)
            return jnp.concatenate([jnp.reshape(f, (1,)).astype(g.dtype), g])

        self._one = jax.jit(both) if jit else both
        self.low_precision = False
        self._both = both
        self._many: Any = None  # built on the first batch
        self._loop = not jit

    def one(self, x: Array) -> tuple[float, Array]:
        if x.dtype is not _F64 and x.dtype != np.float32:
            x = x.astype(np.float64)
        state = self._x64
        if state is None:
            with self.jax.enable_x64(True):
                out = np.asarray(self._one(x))
        else:  # what jax.enable_x64(True) does on entry and exit, minus its object
            prev = state.swap_local(True)
            try:
                out = np.asarray(self._one(x))
            finally:
                state.set_local(prev)
        return float(out[0]), out[1:]

    def many(self, X: Array) -> tuple[Array, Array]:
        if not self._loop:
            try:
                with self.jax.enable_x64(True):
                    if self._many is None:
                        self._many = self.jax.jit(self.jax.vmap(self._both))
                    out = np.asarray(self._many(_real(X)))
                return out[:, 0].copy(), out[:, 1:]
            except Exception:  # cannot be vmapped: loop over the rows
                self._loop = True
        pairs = [self.one(x) for x in X]
        return (np.array([f for f, _ in pairs]),
                np.array([g for _, g in pairs]).reshape(X.shape))

    def exact(self) -> Exact:
        note = ("jit-compiled value_and_grad" if self.jit else
                "value_and_grad not jit-compiled: fun has Python control flow on values")
        if self.low_precision:
            note += f"; {_LOW_PRECISION}"
        return _Pair(self.one, self.many).exact("jax", note)

    @classmethod
    def build(
        cls, jax: Any, fun: Callable[[Array], Any], x0: Array, *, forced: bool,
        takes_numpy: bool = True,
    ) -> Exact | Fallback:
        """The exact gradient of ``fun``, traced at ``x0``; a function differentiated
        before reuses its backend and so its compiled code."""
        backend = _cached(fun)
        if backend is not None:
            try:
                backend.one(x0)
            except Exception:  # fails at this shape: trace afresh
                pass
            else:
                return backend.exact()
        found = cls._trace(jax, fun, x0, forced=forced, takes_numpy=takes_numpy)
        if isinstance(found, Fallback):
            return found
        _remember(fun, found)
        return found.exact()

    @classmethod
    def _trace(
        cls, jax: Any, fun: Callable[[Array], Any], x0: Array, *, forced: bool,
        takes_numpy: bool,
    ) -> _Jax | Fallback:
        x = _real(x0)
        plain = fun if takes_numpy else _converting(jax.numpy.asarray, fun)
        errors = jax.errors
        try:
            with jax.enable_x64(True):
                shape = jax.eval_shape(fun, x)
            jit = True
        except errors.ConcretizationTypeError as exc:
            if isinstance(exc, errors.TracerArrayConversionError):
                return cls._refuse(exc, forced, plain)
            jit = False  # Python control flow on values: differentiate eagerly
            shape = None
        except Exception as exc:  # anything JAX could not trace
            return cls._refuse(exc, forced, plain)
        if shape is not None:
            out = getattr(shape, "shape", None)
            if out is None:
                raise InvalidType(
                    f"fun: must return a scalar, got {type(shape).__name__}", argument="fun"
                )
            bad = _scalar_error(out, shape.dtype, x)
            if bad is not None:
                raise bad
        backend = cls(jax, fun, jit)
        if jit and x.dtype == np.float64:
            backend.low_precision = _computes_in_float32(jax, fun, x)
        try:
            backend.one(x)
        except Exception as exc:
            if isinstance(exc, TypeError) and "scalar" in str(exc) and not jit:
                raise InvalidArgument(
                    f"fun: must return a scalar to be differentiated ({_first_line(exc)})",
                    argument="fun",
                ) from None
            return cls._refuse(exc, forced, plain)
        return backend

    @staticmethod
    def _refuse(exc: BaseException, forced: bool, fun: Callable[[Array], Any]) -> Fallback:
        why = f"JAX could not trace fun ({_first_line(exc)})"
        if forced:
            raise InvalidArgument(
                f"grad: 'jax' needs fun written with jax.numpy; {why}; use grad='fd' for "
                f"finite differences",
                argument="grad",
            ) from None
        return Fallback(_in_x64(sys.modules["jax"], fun), why)


class _Torch:
    """``torch.autograd`` on one point; ``torch.func.vmap`` of
    ``torch.func.grad_and_value`` on a batch (a loop when that fails)."""

    def __init__(self, torch: Any, fun: Callable[[Any], Any]) -> None:
        self.torch, self.fun = torch, fun
        self._many: Any = None
        self._loop = False

    def one(self, x: Array, *, strict: bool = False) -> tuple[float, Array]:
        """f and its gradient at ``x``. ``strict``: raise when the value is cut from
        ``x`` in autograd's graph (``.item()``, ``.detach()``, NumPy or
        ``torch.tensor(...)`` inside), where autograd would report a zero gradient
        that is not one; otherwise such a value has a zero gradient (a constant
        piece of the function)."""
        torch = self.torch
        t = torch.from_numpy(np.array(_real(x))).requires_grad_(True)
        with torch.enable_grad():
            f = self.fun(t)
            if not isinstance(f, torch.Tensor):
                raise InvalidType(
                    f"fun: must return a torch.Tensor to be differentiated by PyTorch, got "
                    f"{type(f).__name__}",
                    argument="fun",
                )
            bad = _scalar_error(tuple(f.shape), _torch_dtype(torch, f.dtype), x)
            if bad is not None:
                raise bad
            if f.requires_grad:
                (g,) = torch.autograd.grad(f, t, allow_unused=True)
            elif strict:
                raise RuntimeError(
                    "its value is not connected to x in autograd's graph (.item(), "
                    ".detach(), NumPy or torch.tensor(...) inside?)"
                )
            else:
                g = None
        value = float(f.detach())
        if g is None:  # f does not depend on x here
            return value, np.zeros(x.shape, dtype=_real(x).dtype)
        return value, g.detach().numpy()

    def many(self, X: Array) -> tuple[Array, Array]:
        if not self._loop:
            torch = self.torch
            try:
                if self._many is None:
                    self._many = torch.func.vmap(torch.func.grad_and_value(self.fun))
                G, F = self._many(torch.from_numpy(np.array(_real(X))))
                g = G.detach().numpy()
                return F.detach().numpy().astype(g.dtype, copy=False), g
            except Exception:  # cannot be vmapped: loop over the rows
                self._loop = True
        pairs = [self.one(x) for x in X]
        return (np.array([f for f, _ in pairs]),
                np.array([g for _, g in pairs]).reshape(X.shape))

    @classmethod
    def build(
        cls, torch: Any, fun: Callable[[Any], Any], x0: Array, *, forced: bool,
        takes_numpy: bool = True,
    ) -> Exact | Fallback:
        backend = cls(torch, fun)
        try:
            backend.one(x0, strict=True)
        except (InvalidArgument, InvalidType):
            raise
        except Exception as exc:  # anything autograd could not run
            why = f"PyTorch could not differentiate fun ({_first_line(exc)})"
            if forced:
                raise InvalidArgument(
                    f"grad: 'torch' needs fun written with torch operations on a tensor; "
                    f"{why}; use grad='fd' for finite differences",
                    argument="grad",
                ) from None
            return Fallback(fun if takes_numpy else _converting(torch.from_numpy, fun), why)
        return _Pair(backend.one, backend.many).exact("torch", "autograd")


def _torch_dtype(torch: Any, dtype: Any) -> Any:
    """The NumPy dtype of a torch dtype (object for anything else)."""
    table = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16,
             torch.int64: np.int64, torch.int32: np.int32, torch.bool: np.bool_}
    return table.get(dtype, np.complex128 if dtype.is_complex else np.object_)


def _in_x64(jax: Any, fun: Callable[[Array], Any]) -> Callable[[Array], Any]:
    """``fun`` called under ``jax.enable_x64(True)``, so that JAX code in it computes
    in float64 for finite differences."""

    def in_x64(x: Array) -> Any:
        with jax.enable_x64(True):
            return fun(x)

    return in_x64


def _converting(convert: Callable[[Array], Any], fun: Callable[[Any], Any]
               ) -> Callable[[Array], float]:
    """``fun``, which refuses NumPy arrays, made to take them through ``convert`` (a
    library's array constructor), for finite differences when its library could not
    differentiate it."""

    def on_arrays(x: Array) -> float:
        out = fun(convert(np.array(x)))
        detach = getattr(out, "detach", None)
        return float(detach() if callable(detach) else out)

    return on_arrays
