"""``descend demo`` prints what the tutorials print, read from the tutorials themselves.

The expected lines are taken from the source documents in ``shared/seeds/`` (the paraboloid's
grid, start, epochs and best guess; the fitted line's ``array([...])``), so the test checks
the demo against the texts, not against numbers copied into the test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"  # beside the repository


def _tutorial(prefix: str) -> str:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not found:
        pytest.skip(f"the tutorial {prefix}_*.txt is not in {SEEDS}")
    return found[0].read_text(encoding="utf-8")


def _paraboloid_lines() -> list[str]:
    text = _tutorial("001")
    lines = [m.group(0) for m in re.finditer(r"(xs|ys): \[[-\d, ]+\]", text)][:2]
    zs = re.search(r"zs: \[\[[\d, \[\]]+\]\] …", text)
    assert zs and len(lines) == 2
    lines.append(zs.group(0))
    lines.append(re.search(r"# (\[6, -3\])", text).group(1))
    lines += re.findall(r"# (Epoch \d+: \[[-\d.e]+, [-\d.e]+\])", text)
    lines.append(re.search(r"# (Best guess for a minimum: \[[-\d.e]+, [-\d.e]+\])", text).group(1))
    assert len(lines) == 4 + 10 + 1
    return lines


def _demo_output() -> list[str]:
    done = subprocess.run([sys.executable, "-m", "descend", "demo"], capture_output=True,
                          text=True, timeout=300, check=True)
    return done.stdout.splitlines()


@pytest.fixture(scope="module")
def demo() -> list[str]:
    return _demo_output()


def test_demo_prints_the_paraboloid_tutorials_lines_in_order(demo: list[str]) -> None:
    want = _paraboloid_lines()
    start = demo.index(want[0])
    got = [line for line in demo[start:] if line.strip()][: len(want)]
    assert got == want


def test_demo_prints_the_fitted_line_as_the_tutorial_does(demo: list[str]) -> None:
    want = re.search(r"array\(\[-10\.\d+, +2\.\d+\]\)", _tutorial("002")).group(0)
    assert want in demo


def test_demo_names_the_tutorials_by_topic(demo: list[str]) -> None:
    assert not any(re.search(r"seed|== 00\d", line, re.IGNORECASE) for line in demo)
