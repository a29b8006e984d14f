"""Every code block of the README and the user guide runs, and prints what the text shows.

Blocks are taken from ``README.md`` (fenced) and ``docs/**/*.rst`` (``.. code-block::``), in
order, one document at a time:

- ``python``: executed in the document's namespace (shared by its blocks, in order);
- ``pycon``: ``>>>`` examples run as doctests in the same namespace, output compared
  (``...`` matches anything, whitespace is normalized);
- ``console``: each ``$ command`` runs in a shell with the venv's ``descend`` first on the
  PATH; the lines under it, if any, are compared with what it printed. It must exit 0, or 2
  when the expected output is an ``error: ...`` line;
- ``bash``: each command line must exit 0.

The commands run in a scratch folder that holds the files the examples name as the reader's
own (``data.csv``, ``new.csv``, ``data/*.parquet``; see :func:`_fixture_files`), with Python
warnings as errors. A block that cannot run here is marked in the source, visibly, with its
reason: ``<!-- test: skip (reason) -->`` in Markdown, ``.. test: skip (reason)`` in rst.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst")),
             *sorted((ROOT / "docs" / "guide").glob("*.rst"))]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
SKIP = re.compile(r"test: skip \((?P<reason>[^)]+)\)")


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    text: str
    skip: str | None


def _markdown_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP.search(prev)
        out.append(Block(path, start + 1, lang, "\n".join(lines[start + 1 : j]),
                         skip.group("reason") if skip and prev.startswith("<!--") else None))
        i = j + 1
    return out


def _rst_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)\.\. code-block:: (\w+)\s*$", line)
        if not m:
            continue
        indent = len(m.group(1))
        body: list[str] = []
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or
                                  len(lines[j]) - len(lines[j].lstrip()) > indent):
            body.append(lines[j])
            j += 1
        text = "\n".join(body).strip("\n")
        width = min((len(x) - len(x.lstrip()) for x in text.splitlines() if x.strip()), default=0)
        text = "\n".join(x[width:] for x in text.splitlines())
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        skip = SKIP.search(prev)
        out.append(Block(path, i + 1, m.group(2), text,
                         skip.group("reason") if skip and prev.strip().startswith("..") else None))
    return out


def blocks(path: Path) -> list[Block]:
    return _markdown_blocks(path) if path.suffix == ".md" else _rst_blocks(path)


def _fixture_files(folder: Path) -> None:
    """The reader's own files that the examples name: a table with columns a, b and the
    target y (y = 1 + 2a - 3b + noise), new rows to predict (id, a, b), the same table as
    Parquet, and classes.csv (a, b and a label, yes or no, from a logistic model)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(size=300)
    frame = pd.DataFrame({"a": a, "b": b, "y": 1 + 2 * a - 3 * b + rng.normal(0, 0.01, 300)})
    frame.to_csv(folder / "data.csv", index=False)
    frame.iloc[:2, :2].assign(id=["r1", "r2"])[["id", "a", "b"]].to_csv(folder / "new.csv",
                                                                        index=False)
    odds = 0.5 + 3 * a - 2 * b + rng.logistic(size=300)  # classes.csv: a, b and label
    frame[["a", "b"]].assign(label=np.where(odds > 0, "yes", "no")).to_csv(
        folder / "classes.csv", index=False)
    (folder / "data").mkdir()
    for k in range(3):  # with the index: dask's Parquet reader warns on index=False files
        frame.iloc[k * 100 : (k + 1) * 100].to_parquet(folder / "data" / f"part-{k}.parquet")


def _check_output(want: str, got: str) -> bool:
    checker = doctest.OutputChecker()
    return checker.check_output(want.strip() + "\n", got.strip() + "\n", FLAGS)


def _run_shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "PYTHONWARNINGS": "error"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _console(block: Block, cwd: Path) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    assert commands, f"{block.doc.name}:{block.line}: a console block without a '$ ' command"
    for command, shown in commands:
        done = _run_shell(command, cwd)
        got = done.stdout + done.stderr
        want = "\n".join(shown).strip()
        expect = 2 if want.startswith("error:") else 0
        where = f"{block.doc.name}:{block.line}: $ {command}"
        assert done.returncode == expect, f"{where}\nexit {done.returncode}:\n{got}"
        if want:
            assert _check_output(want, got), f"{where}\nshown:\n{want}\nprinted:\n{got}"


def _bash(block: Block, cwd: Path) -> None:
    for line in block.text.splitlines():
        command = line.split(" #")[0].strip()
        if not command or command.startswith("#"):
            continue
        done = _run_shell(command, cwd)
        assert done.returncode == 0, (f"{block.doc.name}:{block.line}: $ {command}\n"
                                      f"exit {done.returncode}:\n{done.stdout}{done.stderr}")


def _pycon(block: Block, namespace: dict[str, object]) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.text, namespace, f"{block.doc.name}:{block.line}",
                              str(block.doc), block.line)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    out = io.StringIO()
    runner.run(test, out=out.write, clear_globs=False)
    namespace.update(test.globs)  # the DocTest ran on a copy
    assert runner.failures == 0, out.getvalue()


def _python(block: Block, namespace: dict[str, object]) -> None:
    code = compile(block.text, f"{block.doc.name}:{block.line}", "exec")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, namespace)


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_block_runs(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixture_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}
    for block in blocks(doc):
        if block.skip is not None or block.lang not in ("python", "pycon", "console", "bash"):
            continue
        if block.lang == "python":
            _python(block, namespace)
        elif block.lang == "pycon":
            _pycon(block, namespace)
        elif block.lang == "console":
            _console(block, tmp_path)
        else:
            _bash(block, tmp_path)


def test_the_readme_has_blocks_of_every_kind_and_few_skips() -> None:
    found = blocks(ROOT / "README.md")
    kinds = {b.lang for b in found if b.skip is None}
    assert {"python", "pycon", "console"} <= kinds, kinds
    skipped = [b for b in found if b.skip is not None]
    assert all(b.skip.strip() for b in skipped)
    assert len(skipped) <= 4, [f"line {b.line}: {b.skip}" for b in skipped]


def test_the_readme_names_the_tutorials_by_topic() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"seed\s*00[0-3]", text, re.IGNORECASE)


def test_skip_markers_are_found(tmp_path: Path) -> None:
    md = tmp_path / "x.md"
    md.write_text("a\n\n<!-- test: skip (serves forever) -->\n```bash\nmake run\n```\n"
                  "```python\nprint(1)\n```\n")
    got = [(b.lang, b.skip) for b in blocks(md)]
    assert got == [("bash", "serves forever"), ("python", None)]
    rst = tmp_path / "x.rst"
    rst.write_text(".. test: skip (needs a cluster)\n\n.. code-block:: console\n\n"
                   "    $ descend app\n\ntext\n\n.. code-block:: pycon\n\n    >>> 1 + 1\n    2\n")
    got = [(b.lang, b.skip, b.text) for b in blocks(rst)]
    assert got == [("console", "needs a cluster", "$ descend app"),
                   ("pycon", None, ">>> 1 + 1\n2")]
