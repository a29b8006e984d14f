"""Every explorer link the documentation shows describes the view the text says it does.

The explorer reads its state from the URL and quietly replaces a value it does not accept
with the default, so a link whose parameter was renamed or whose preset moved would still
open, but on another view. Each ``?f=...`` query quoted in the README, the user guide and
the gallery is read with :func:`descend.app.state.from_query` and every value it names must
survive as given.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

pytest.importorskip("dash")

from descend.app.state import FLAGS, PARAMS, from_query

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst")),
           *sorted((ROOT / "docs" / "examples").rglob("*.py"))]
SOURCES = [p for p in SOURCES if not {"_build", "auto_examples", "reference"} & set(p.parts)]
NUMBERS = {"lr", "it", "cap", "gtol", "ftol", "xtol", "speed", *PARAMS}


def _queries() -> list[tuple[str, str]]:
    out = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        # an inline literal may be wrapped over lines (and a Python comment's ``#``)
        for m in re.finditer(r"`+(\?f=[^`]+?)`+", text):
            query = re.sub(r"\s*\n\s*(#\s*)?", "", m.group(1))
            out.append((f"{path.relative_to(ROOT)}: {query}", query))
    return out


QUERIES = _queries()


def test_the_links_are_found():
    assert len(QUERIES) >= 10
    assert any("view=basins" in q for _, q in QUERIES)


@pytest.mark.parametrize("query", [q for _, q in QUERIES], ids=[n for n, _ in QUERIES])
def test_the_link_opens_what_it_says(query):
    state = from_query(query)
    assert state["notice"] == ""
    for key, value in parse_qsl(query.lstrip("?"), strict_parsing=True):
        assert key in state, f"{key}: not a parameter of the explorer's URL"
        got = state[key]
        if key == "methods":
            assert got == value.split(","), key
        elif key == "x0":
            assert got == [float(v) for v in value.split(",")], key
        elif key in NUMBERS:
            assert float(got) == float(value), key
        elif key in FLAGS:
            assert got is (value == "1"), key
        else:  # names: f, view, p1d, policy, formula and the CHOICES
            assert got == value, key
