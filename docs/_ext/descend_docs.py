"""Sphinx glue for descend's documentation: offline Plotly figures, the API pages, warnings.

- **Plotly, offline and once.** Gallery examples call ``fig.show()``; the ``descend_docs``
  renderer queues the figure and :func:`plotly_scraper` embeds it in the page as a ``<div>``
  with its data and no JavaScript library. ``plotly.min.js`` (from the installed plotly
  package) is copied once into ``_static/`` and linked only from pages that hold a figure.
  The first figure of each example is also written as a PNG for the gallery thumbnail.
- **MathJax, offline.** ``tex-svg.js`` from the ``django-static-mathjax`` wheel is copied into
  ``_static/`` and is what Sphinx's math renderer loads.
- **The API reference** is written at build time from ``descend.__all__`` and the ``__all__``
  of every public module directly under ``descend`` (:func:`public_api`), so no name is listed
  by hand and none can be forgotten.
- **No silent warning.** Each example runs with Python warnings turned into errors, so a
  warning in an example fails the build, like an exception does.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import logging
import pkgutil
import shutil
import textwrap
import warnings
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
from plotly.io._base_renderers import ExternalRenderer

#: Figures shown by the example block being run, in order.
_SHOWN: list[dict[str, Any]] = []
#: Examples that already have a thumbnail.
_THUMBS: set[str] = set()


class _Queue(ExternalRenderer):
    """``fig.show()`` during a docs build: queue the figure for :func:`plotly_scraper`."""

    def render(self, fig_dict: dict[str, Any]) -> None:
        _SHOWN.append(fig_dict)


pio.renderers["descend_docs"] = _Queue()


def _figure_html(fig_dict: dict[str, Any]) -> str:
    html = pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False,
                       default_width="100%", default_height=520, validate=False,
                       config={"responsive": True, "displaylogo": False})
    return f'<div class="descend-figure">\n{html}\n</div>'


def _thumbnail(fig_dict: dict[str, Any], path: str) -> None:
    import plotly.graph_objects as go

    from descend import plot

    fig = go.Figure(fig_dict)
    fig.update_layout(showlegend=False, title=None, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    plot.save(fig, Path(path).with_suffix(".png"), width=400, height=280)


def plotly_scraper(block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any],
                   **kwargs: Any) -> str:
    """Embed the figures a code block showed; the example's first one is also its thumbnail."""
    shown = list(_SHOWN)
    del _SHOWN[:]
    if not shown:
        return ""
    src = str(block_vars.get("src_file", ""))
    if src not in _THUMBS:
        _THUMBS.add(src)
        _thumbnail(shown[0], next(block_vars["image_path_iterator"]))
    rst = ""
    for fig_dict in shown:
        rst += "\n.. raw:: html\n\n" + textwrap.indent(_figure_html(fig_dict), "    ") + "\n"
    return rst


_SAVED_FILTERS: list[Any] = []


def strict_warnings(gallery_conf: dict[str, Any], fname: str, when: str = "before") -> None:
    """Before an example: every Python warning is an error; after it: the filters as they were."""
    del _SHOWN[:]
    pio.renderers.default = "descend_docs"
    if when == "before":
        _SAVED_FILTERS[:] = [list(warnings.filters)]
        warnings.simplefilter("error")
    elif _SAVED_FILTERS:
        warnings.filters[:] = _SAVED_FILTERS.pop()


# -- the public API -----------------------------------------------------------------------------


def public_modules() -> dict[str, Any]:
    """``descend`` and each public module directly under it that declares ``__all__``."""
    import descend

    mods: dict[str, Any] = {"descend": descend}
    for info in sorted(pkgutil.iter_modules(descend.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"descend.{info.name}")
        if hasattr(mod, "__all__"):
            mods[mod.__name__] = mod
    return mods


def public_api() -> dict[str, list[tuple[str, Any]]]:
    """Module name -> its public (name, object) pairs; modules listed in ``descend.__all__``
    are pages of their own, not entries."""
    out: dict[str, list[tuple[str, Any]]] = {}
    for modname, mod in public_modules().items():
        out[modname] = [(n, getattr(mod, n)) for n in mod.__all__
                        if not inspect.ismodule(getattr(mod, n))]
    return out


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"


def _entry(modname: str, name: str, obj: Any, canonical: dict[int, str]) -> str:
    here = f"{modname}.{name}"
    first = canonical.setdefault(id(obj), here) if _kind(obj) != "data" else here
    if first != here:  # documented under its first public name; link to it
        role = {"class": "class", "exception": "exc", "function": "func"}[_kind(obj)]
        return (f".. py:currentmodule:: {modname}\n\n``{name}``\n"
                f"    The same object as :{role}:`{first}`.\n")
    kind = _kind(obj)
    if kind == "data" and type(obj).__module__.split(".")[0] not in ("descend", "builtins"):
        # an object of another library (the explorer's Flask app): its class's docstring
        # would describe the library, not this name
        return (f".. py:data:: {modname}.{name}\n\n   A ``{type(obj).__module__}."
                f"{type(obj).__qualname__}``; see the module's description above.\n")
    directive = {"class": "autoclass", "exception": "autoexception",
                 "function": "autofunction", "data": "autodata"}[kind]
    opts = ""
    if kind in ("class", "exception"):
        opts = "   :show-inheritance:\n"
        members = public_members(obj)
        if members:
            opts += f"   :members: {', '.join(members)}\n"
    return f".. {directive}:: {modname}.{name}\n{opts}"


def public_members(cls: type) -> list[str]:
    """The public methods and properties ``cls`` itself defines (not inherited ones, not
    scikit-learn's generated ``set_*_request``, not NamedTuple fields or Enum members)."""
    from typing import Protocol

    skip: set[str] = set()
    if Protocol not in cls.__mro__:  # a protocol's methods are documented on the protocol
        for items in public_api().values():
            for _, obj in items:
                if inspect.isclass(obj) and Protocol in obj.__mro__:
                    skip |= {m for m in vars(obj) if not m.startswith("_")}
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name in skip:
            continue
        func = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if not (inspect.isfunction(func) or isinstance(value, property)):
            continue
        if not getattr(func, "__qualname__", "").startswith(cls.__qualname__ + "."):
            continue
        out.append(name)
    return out


def write_api_pages(app: Any) -> None:
    """Write ``reference/*.rst`` from :func:`public_api` (the pages are build output)."""
    out = Path(app.srcdir) / "reference"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    api = public_api()
    canonical: dict[int, str] = {}
    pages = []
    for modname, items in api.items():
        mod = importlib.import_module(modname)
        title = f"``{modname}``"
        summary = (inspect.getdoc(mod) or "").split("\n\n")[0]
        # A module whose name the top level gives to something else (the function
        # ``descend.sweep`` beside the module ``descend.sweep``) is not described again.
        shadowed = modname != "descend" and not inspect.ismodule(
            getattr(importlib.import_module("descend"), modname.split(".")[-1], mod))
        directive = "py:currentmodule" if shadowed else "py:module"
        lines = [title, "=" * len(title), "", f".. {directive}:: {modname}", "",
                 summary if modname == "descend" else f".. automodule:: {modname}\n   :no-index:",
                 ""]
        if modname == "descend":
            subs = sorted(m for m in api if m != "descend")
            lines += ["Names exported at the top level. The modules "
                      + ", ".join(f":doc:`{m} <{m}>`" for m in subs) + " have pages of their own.",
                      ""]
        for name, obj in items:
            lines += [_entry(modname, name, obj, canonical), ""]
        (out / f"{modname}.rst").write_text("\n".join(lines), encoding="utf-8")
        pages.append(modname)
    index = ["API reference", "=============", "",
             "Generated at build time from ``descend.__all__`` and the ``__all__`` of each public "
             "module directly under ``descend``: a name is in the public API exactly when it is "
             "listed here. Every entry's docstring is checked by ``tests/test_docstrings.py``.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {p}" for p in pages]
    (out / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


# -- static files --------------------------------------------------------------------------------


def _plotly_js() -> Path:
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def _mathjax_js() -> Path:
    import mathjax  # the django-static-mathjax wheel: MathJax 3 as static files

    path = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg.js"
    if not path.is_file():
        raise FileNotFoundError(f"MathJax's tex-svg.js not found at {path}")
    return path


def copy_static(app: Any, exc: Exception | None) -> None:
    """Copy plotly.min.js and MathJax into the built site's ``_static`` (once each)."""
    if exc is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_plotly_js(), static / "plotly.min.js")
    (static / "mathjax").mkdir(exist_ok=True)
    shutil.copyfile(_mathjax_js(), static / "mathjax" / "tex-svg.js")


def link_plotly(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                doctree: Any) -> None:
    """Pages with a figure load ``_static/plotly.min.js`` (before the figures' inline code)."""
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file("plotly.min.js", priority=100)


_BROWSER = contextlib.ExitStack()


def start_browser(app: Any) -> None:
    """One headless browser for every thumbnail of the build (kaleido; closed at the end)."""
    from descend._figures import export  # the session descend.plot.gallery uses too

    # kaleido's browser manager logs its temporary directory's clean-up at INFO level,
    # which reaches the build's output once Sphinx has configured logging
    logging.getLogger("choreographer").setLevel(logging.WARNING)
    _BROWSER.enter_context(export.session())


def stop_browser(app: Any, exc: Exception | None) -> None:
    _BROWSER.close()


def setup(app: Any) -> dict[str, Any]:
    pio.renderers.default = "descend_docs"
    app.connect("builder-inited", write_api_pages)
    app.connect("builder-inited", start_browser)
    app.connect("html-page-context", link_plotly)
    app.connect("build-finished", copy_static)
    app.connect("build-finished", stop_browser)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
