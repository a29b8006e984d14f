"""Every public name has a docstring whose numpydoc sections are complete.

The public API is ``descend.__all__`` plus the ``__all__`` of every public module directly
under ``descend`` (the same list the documentation's API reference is generated from, see
``docs/_ext/descend_docs.py``), and the public methods and properties their classes define.
Each is checked with numpydoc's validator for the rules in :data:`CHECKS`.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re
from typing import Any, Protocol

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

#: numpydoc rules enforced: a docstring exists (GL08) with a one-line summary that starts
#: with a capital letter and ends with a period (SS01, SS02, SS03, SS06); every parameter is
#: documented, with a description, and none that does not exist (PR01, PR02, PR07); and a
#: function that returns or yields something says what (RT01, RT03, YD01).
CHECKS = {"GL08", "SS01", "SS02", "SS03", "SS06", "PR01", "PR02", "PR07", "RT01", "RT03",
          "YD01"}


def public_modules() -> dict[str, Any]:
    import descend

    mods: dict[str, Any] = {"descend": descend}
    for info in sorted(pkgutil.iter_modules(descend.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"descend.{info.name}")
            if hasattr(mod, "__all__"):
                mods[mod.__name__] = mod
    return mods


def _protocol_members() -> set[str]:
    """Methods of the public protocols: implementations are documented on the protocol."""
    out: set[str] = set()
    for mod in public_modules().values():
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and Protocol in obj.__mro__:
                out |= {m for m in vars(obj) if not m.startswith("_")}
    return out


def _members(cls: type) -> list[str]:
    out = []
    skip = set() if Protocol in cls.__mro__ else _protocol_members()
    for name, value in vars(cls).items():
        if name.startswith("_") or name in skip:
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if (inspect.isfunction(func) or isinstance(value, property)) and getattr(
                func, "__qualname__", "").startswith(cls.__qualname__ + "."):
            out.append(name)
    return out


def public_objects() -> dict[str, Any]:
    """Dotted name -> object, each object once, under its first public name."""
    seen: dict[int, str] = {}
    out: dict[str, Any] = {}
    for modname, mod in public_modules().items():
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)):
                continue
            if id(obj) in seen:
                continue
            seen[id(obj)] = f"{modname}.{name}"
            if getattr(obj, "__module__", "").split(".")[0] != "descend":
                continue  # e.g. a Flask app built by descend.app: documented in the module
            out[f"{modname}.{name}"] = obj
            if inspect.isclass(obj):
                for member in _members(obj):
                    out[f"{modname}.{name}.{member}"] = getattr(obj, member)
    return out


OBJECTS = public_objects()


def _attributes(obj: Any) -> set[str]:
    from numpydoc.docscrape import NumpyDocString

    doc = NumpyDocString(inspect.getdoc(obj) or "")
    return {n.strip() for item in doc["Attributes"] for n in item.name.split(",")}


def _errors(name: str, obj: Any) -> list[tuple[str, str]]:
    result = numpydoc_validate.validate(numpydoc_validate.get_doc_object(obj))
    errors = [(code, msg) for code, msg in result["errors"] if code in CHECKS]
    if inspect.isclass(obj) and (issubclass(obj, enum.Enum) or Protocol in obj.__mro__
                                 or issubclass(obj, BaseException)):
        # the signature numpydoc reads is Enum's, Protocol's or Exception's, not a constructor
        errors = [e for e in errors if e[0] not in ("PR01", "PR02")]
    if inspect.isclass(obj):
        # a result-like class made by descend documents its fields as Attributes
        documented = _attributes(obj)
        errors = [e for e in errors if not (
            e[0] == "PR01" and set(re.findall(r"'([^']+)'", e[1])) <= documented)]
    return errors


def test_the_public_api_is_found() -> None:
    assert {"descend.minimize", "descend.Result", "descend.GDRegressor.fit",
            "descend.plot.contour", "descend.optimizers.adam"} <= set(OBJECTS)


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_docstring(name: str) -> None:
    errors = _errors(name, OBJECTS[name])
    assert not errors, "\n".join(f"{name}: {code} {msg}" for code, msg in errors)
