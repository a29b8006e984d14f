"""Writing figures to files: self-contained HTML, and PNG/SVG/PDF through kaleido.

Static images need a Chrome or Chromium that kaleido (v1) drives through
``choreographer``; descend looks for ``$BROWSER_PATH``, then Debian's
``/usr/bin/chromium``, then ``chromium``/``google-chrome`` on ``PATH``. It never
downloads a browser. Every file is written to a temporary file in the target's
directory and renamed into place, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._files import atomic_write
from ..errors import ExportError, InvalidArgument, InvalidType

__all__ = ["FORMATS", "find_browser", "save", "session"]

FORMATS = (".html", ".png", ".svg", ".pdf")
_DEBIAN_CHROMIUM = "/usr/bin/chromium"
_INSTALL = "install it with `apt-get install chromium` (Debian/Ubuntu) or set BROWSER_PATH"


def find_browser() -> str | None:
    """The Chrome/Chromium executable kaleido should drive, or None.

    ``$BROWSER_PATH`` wins when set (even when it points nowhere, so that the
    error names it); then ``/usr/bin/chromium``; then ``PATH``.
    """
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).is_file() else None
    if Path(_DEBIAN_CHROMIUM).is_file():
        return _DEBIAN_CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _kaleido_options(path: Path) -> dict[str, Any]:
    browser = find_browser()
    if browser is None:
        where = os.environ.get("BROWSER_PATH")
        looked = f"BROWSER_PATH={where!r} is not a file" if where else (
            f"looked for {_DEBIAN_CHROMIUM} and chromium/google-chrome on PATH"
        )
        raise ExportError(
            f"path: writing {path.name!r} needs Chrome or Chromium ({looked}); {_INSTALL}. "
            "'.html' needs no browser."
        )
    # No MathJax: the default fetches it from a CDN, which may be unreachable.
    return {"path": browser, "mathjax": False}


def _import_kaleido() -> Any:
    try:
        import kaleido
    except ImportError:
        raise ExportError(
            "path: static images need kaleido >= 1; install it with "
            "`pip install 'descend[export]'` (and a Chromium: `apt-get install chromium`)"
        ) from None
    return kaleido


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Keep one browser open for every static export inside the ``with`` block.

    Each :func:`save` to PNG/SVG/PDF otherwise starts and stops a browser (about a
    second). Nested or concurrent sessions reuse the running one.
    """
    kaleido = _import_kaleido()
    server = kaleido._global_server
    if server.is_running():
        yield
        return
    kaleido.start_sync_server(**_kaleido_options(Path("image.png")), silence_warnings=True)
    try:
        yield
    finally:
        kaleido.stop_sync_server(silence_warnings=True)


def _image_bytes(fig: Any, path: Path, fmt: str, width: int, height: int, scale: float) -> bytes:
    kaleido = _import_kaleido()
    kopts = _kaleido_options(path)
    from kaleido.errors import ChromeNotFoundError

    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    extra = {} if kaleido._global_server.is_running() else {"kopts": kopts}
    try:
        data = kaleido.calc_fig_sync(fig.to_dict(), opts=opts, **extra)
    except ChromeNotFoundError as exc:  # pragma: no cover - find_browser checked the file
        raise ExportError(f"path: kaleido could not start {kopts['path']}: {exc}; {_INSTALL}") \
            from None
    except Exception as exc:
        raise ExportError(f"path: exporting {path.name!r} failed: {exc}") from exc
    if not isinstance(data, bytes) or not data:
        raise ExportError(f"path: exporting {path.name!r} produced no data")
    return data


def save(
    fig: Any,
    path: str | os.PathLike[str],
    *,
    width: int | None = None,
    height: int | None = None,
    scale: float = 1.0,
) -> Path:
    """Write ``fig`` to ``path``; the suffix picks the format. See :func:`descend.plot.save`."""
    from plotly import graph_objects as go

    if not isinstance(fig, go.Figure):
        raise InvalidType(
            f"fig: expected a plotly.graph_objects.Figure, got {type(fig).__name__}",
            argument="fig",
        )
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidArgument(
            f"path: cannot tell the format of {str(target)!r} from its suffix "
            f"{suffix or '(none)'!r}; use one of {', '.join(FORMATS)}",
            argument="path",
        )
    if not target.parent.is_dir():
        raise InvalidArgument(
            f"path: the directory {str(target.parent)!r} does not exist", argument="path"
        )
    if suffix == ".html":
        data = fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")
    else:
        w = int(width or fig.layout.width or 800)
        h = int(height or fig.layout.height or 600)
        data = _image_bytes(fig, target, suffix[1:], w, h, scale)
    atomic_write(target, data)
    return target
