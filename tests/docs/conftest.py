"""Tests of the built documentation site; ``make docs`` runs them right after the build.

They read ``docs/_build/html``, so they are collected only when ``DESCEND_DOCS_TESTS=1``
(which ``make docs`` sets): a plain ``pytest`` run (``make test``) comes before the build and
does not see them, and ``make docs`` fails if the site is missing rather than skipping.
"""

from __future__ import annotations

import os

if os.environ.get("DESCEND_DOCS_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]
