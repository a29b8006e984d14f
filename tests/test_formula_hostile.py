"""Hostile formulas, each in a child process with a time limit (issue 13).

Every text of at most 1,000 characters must be accepted or refused quickly, and every use
of an accepted formula (value, gradient, Hessian, batches, LaTeX, str, a few steps of
``minimize``) must work or raise :class:`~descend.errors.FormulaError`, nothing else.

The cases run in one child process (a few when one stalls): a watchdog inside the child
(``SIGPROF``, on CPU time) stops a case that runs past its limit, and the parent kills a
child that stops answering (a long computation inside C, where the signal cannot
interrupt it), marks that case as a hang and starts a new child for the cases after it.
The child's address space is capped so that a blow-up fails its case instead of swapping
the machine.

Run this file as a script to print the table of cases and times::

    .venv/bin/python tests/test_formula_hostile.py
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

import pytest

#: CPU seconds one case may take inside the child (parse and every use); CPU time, so that
#: other processes on a busy machine cannot make a case look slow.
CASE_LIMIT = 20.0
#: The most CPU seconds a parse (accept or refuse) may take; the issue asks for "well under
#: a second" for every text of at most 1,000 characters. A hang detector, not a benchmark.
PARSE_LIMIT = 1.0
#: Wall-clock seconds the parent waits for one case before it kills the child: generous,
#: as the limit above is CPU time and a loaded machine stretches it.
HANG = 300.0
MEMORY_LIMIT = 2 << 30  # bytes of address space for the child

XS = "^".join(["x"] * 60)  # x^x^...^x, 60 levels
V64 = [f"v{i}" for i in range(64)]


def _nest(fn: str, inner: str, depth: int) -> str:
    return f"{fn}(" * depth + inner + ")" * depth


#: (label, text). Each is refused or accepted; none may hang or leak another exception.
CASES: list[tuple[str, str]] = [
    # towers of exact powers (the float value underflows or stays near 1)
    ("rational tower 4x", "((((2/3)**100)**100)**100)**100"),
    ("near-1 tower", "((1+1/999999999999999)**100)**100"),
    ("near-1 tower 3x", "(((1+1/999999999999999)**100)**100)**100*x"),
    ("near-1 tower 6x", "((((((1+1/999999999999999)^100)^100)^100)^100)^100)^100*x + x^2"),
    ("underflowing tower", "((2/3)**100)**100*x + x**2"),
    ("tower in a divisor", "x/((2/3)**100)**100"),
    ("tower in an exponent", "x^(((2/3)^100)^100)"),
    ("coefficient tower", "((2/3*x)^100)^100"),
    ("coefficient tower 3x", "(((2/3*x)^100)^100)^100"),
    ("variable tower 5x", "((((x^100)^100)^100)^100)^100"),
    ("variable tower 10x", "(" * 10 + "x" + "^100)" * 10),
    ("power of a power tower", "((999999999999999*x)^100)^100 + y"),
    ("big base, big exponent", "999999999999999^99*x"),
    ("exp-log to a power", "exp(100*log(2/3*x))^100"),
    ("exp-log huge factor", "exp(999999999999999*log(2*x))"),
    ("exp-log constant", "exp(100*log(exp(100*log(2/3))))*x"),
    ("exp-log nested", "exp(99*log(exp(99*log(exp(99*log(3*x))))))"),
    ("root tower", "((2^(1/3))^99)^99*x"),
    ("big rationals", "(3/7)^99*(5/11)^99*(13/17)^99*(19/23)^99*x"),
    ("harmonic sum", "(" + "+".join(f"1/{k}" for k in range(1, 101)) + ")*x"),
    ("near-1 rationals", "(999999999999999/999999999999998)^100^100*x"),
    ("x^x^...^x (60)", XS),
    ("x^x^...^x (12)", "^".join(["x"] * 12)),
    ("(x^x)^(x^x) nested", "((x^x)^(x^x))^((x^x)^(x^x))"),
    # big integers reaching functions
    ("sqrt of a big product", "sqrt(999999999999989*999999999999947)*x"),
    ("log of a big product", "log(999999999999989*999999999999947*999999999999937)*x"),
    ("sin of a big integer", "sin(999999999999999^2)*x"),
    ("sin of 2^99", "sin(2^99)*x + cos(3^99)*y"),
    ("exp of a big rational", "exp(999999999999999/999999999999998)*x"),
    ("big integer times x", "999999999999999^20*x + 1"),
    ("big integer power of x", "x^(999999999999999^2)"),
    ("big integer exponent of sum", "(x+1)^(99^9)"),
    ("huge exponent", "x^1e300"),
    ("huge negative exponent", "x^-99^99"),
    ("9^9^9", "9^9^9*x"),
    ("exponent tower", "2^2^2^2^2*x"),
    ("exp2 overflow", "exp2(1e15)*x"),
    ("tiny constant", "1e-300*1e-300*x"),
    ("tiny literal", "0." + "0" * 900 + "1*x"),
    ("long literal", "1" * 900),
    ("many zeros", "0" * 1000),
    ("1e999", "1e999*x"),
    # domain and definedness
    ("tan(pi/2)", "tan(pi/2)*x"),
    ("log(0)", "log(0)*x"),
    ("log base 1", "log(x, 1)"),
    ("log base 0", "log(x, 0)"),
    ("log base -2", "log(x, -2)"),
    ("cube root of -1", "(-1)^(1/3)*x"),
    ("complex everywhere", "sqrt(-x^2-1)"),
    ("0^0", "0^0*x"),
    ("0/0 in exponent", "x^(0/0)"),
    ("x - x divisor", "1/(x-x)"),
    ("sign of 0", "sign(0)*x + sign(x)"),
    # nesting and length
    ("sin nested 99", _nest("sin", "x", 99)),
    ("exp nested 30", _nest("exp", "x", 30)),
    ("exp nested 99", _nest("exp", "x", 99)),
    ("sqrt nested 99", _nest("sqrt", "x", 99)),
    ("log nested 99", _nest("log", "x", 99)),
    ("abs nested 99", _nest("abs", "x", 99)),
    ("relu nested 99", _nest("relu", "x", 99)),
    ("max nested 60", "max(" * 60 + "x" + ", y)" * 60),
    ("sigmoid nested 99", _nest("sigmoid", "x", 99)),
    ("parentheses 100", "(" * 100 + "x" + ")" * 100),
    ("parentheses 101", "(" * 101 + "x" + ")" * 101),
    ("minus chain", "-" * 199 + "x"),
    ("plus chain 1000", "x+" * 499 + "x"),
    ("power chain 100", "^".join(["x"] * 100)),
    ("power chain 2s", "^".join(["2"] * 100)),
    ("division chain", "/".join(["x"] * 100)),
    ("product of sines", "*".join(f"sin({k}*x)" for k in range(1, 41))),
    ("product of sums", "*".join(f"(x+{k})" for k in range(1, 66))),
    ("nested products", "(" * 40 + "x" + "*(x+1))" * 40),
    ("sum of nested powers", "+".join(f"(x+{k})^{k}" for k in range(1, 51))),
    ("max of 60", "max(" + ", ".join(f"{k}*x" for k in range(60)) + ")"),
    ("min of products", "min(" + ", ".join(f"x*y^{k}" for k in range(40)) + ")"),
    # many variables
    ("64 variables, sum", "+".join(f"{v}^2" for v in V64)),
    ("64 variables, product", "*".join(V64)),
    ("64 variables, sin of sum", "sin(" + "+".join(V64) + ")^2"),
    ("64 variables, chain", "+".join(f"({a}-{b})^2" for a, b in itertools.pairwise(V64))),
    ("65 variables", "+".join(f"v{i}" for i in range(65))),
    # as many syntax nodes as 1,000 characters allow (MAX_NODES is 600)
    ("x+x+...+x (500 terms)", "+".join(["x"] * 500)),
    ("x*y+... (250 products)", "+".join(["x*y"] * 250)),
    ("64 variables, shifted squares", "+".join(f"({v}-{i % 7})^2" for i, v in enumerate(V64))),
    ("64 variables, products of pairs", "+".join(f"{a}*{b}" for a, b in itertools.pairwise(V64))),
    ("sum of sines of products", "+".join(f"sin(x*y*{k})" for k in range(1, 60))),
    ("product of 64 sines", "*".join(f"sin({v})" for v in V64)),
    # unicode and look-alikes
    ("fullwidth x", "ｘ^2"),
    ("math italic x", "𝑥^2"),
    ("ligature fi", "ﬁ+1"),
    ("right-to-left override", "x\u202e+1"),
    ("zero-width joiner", "x\u200d+1"),
    ("combining accent", "x\u0301+1"),
    ("Cyrillic a", "а+1"),
    ("non-breaking space", "x\u00a0+1"),
    ("superscript two", "x²"),
    ("NUL", "x\x00+1"),
    ("surrogate", "x\udcff"),
    # Python objects, names and syntax
    ("dunder import", "__import__('os').system('true')"),
    ("dunder name", "__class__"),
    ("dunder attribute", "x.__class__.__mro__"),
    ("dunder function", "__builtins__(x)"),
    ("underscore", "_"),
    ("attribute", "x.real"),
    ("attribute of a call", "sin(x).evalf"),
    ("attribute of a number", "(1).conjugate()"),
    ("lambda", "(lambda: x)()"),
    ("list comprehension", "[x for x in (1, 2)]"),
    ("generator", "sum(x for x in (1, 2))"),
    ("set", "{x}"),
    ("dict", "{x: 1}"),
    ("subscript", "x[0]"),
    ("subscript expression", "x[0+1]"),
    ("subscript negative", "x[-1]"),
    ("subscript huge", "x[99999999999]"),
    ("slice", "x[0:2]"),
    ("starred", "max(*x)"),
    ("keyword argument", "log(x, base=2)"),
    ("walrus", "(y := x)"),
    ("f-string", "f'{x}'"),
    ("bytes", "b'x'"),
    ("await", "await x"),
    ("yield", "(yield x)"),
    ("conditional", "x if x else y"),
    ("comparison chain", "0 < x < 1"),
    ("boolean", "x and y"),
    ("semicolon", "x; import os"),
    ("newline statement", "x\nimport os"),
    ("Ellipsis", "..."),
    ("True", "True*x"),
    ("None", "None"),
    ("complex literal", "1j*x"),
    ("hex literal", "0x10*x"),
    ("underscore literal", "1_000*x"),
    ("sympy name", "Symbol('x')"),
    ("sympify", "sympify('x')"),
    ("eval", "eval('x')"),
    ("builtin max with default", "max(x, default=1)"),
    ("function as variable", "sin + x"),
    ("typo function", "sinn(y)"),
    ("typo catalog name", "rosenbrok"),
    ("catalog name", "rosenbrock"),
    ("empty", ""),
    ("only spaces", " " * 1000),
    ("too long", "x+" * 500 + "x"),
    ("many arguments", "max(" + ", ".join(["x"] * 300) + ")"),
    ("no arguments", "max()"),
    ("one argument to max", "max(x)"),
    ("three arguments to log", "log(x, 2, 3)"),
]

_CHILD = r"""
import json, math, resource, signal, sys, time, warnings
limit, memory, start = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
cases = json.load(sys.stdin)

class Timeout(BaseException):
    pass

def alarm(*_):
    raise Timeout

signal.signal(signal.SIGPROF, alarm)
import numpy as np
from descend import minimize
from descend.errors import FormulaError
from descend.formula import parse

def uses(f):
    p = f.n_vars
    a = np.linspace(0.3, 0.9, p)
    X = np.random.default_rng(0).uniform(-2, 2, size=(3, p))
    X[0] = 0.0
    return [
        ("value", lambda: f(a)), ("grad", lambda: f.grad(a)),
        ("hessian", lambda: f.hessian(a)), ("value_at", lambda: f.value_at(a)),
        ("grad_at", lambda: f.grad_at(a)), ("batch value", lambda: f(X)),
        ("batch grad", lambda: f.grad(X)), ("batch hessian", lambda: f.hessian(X)),
        ("latex", lambda: f.latex), ("partials_latex", lambda: f.partials_latex),
        ("str", lambda: str(f)), ("repr", lambda: repr(f)), ("hash", lambda: hash(f)),
        ("eq", lambda: f == f),
    ] + ([("minimize", lambda: minimize(f, a, lr=1e-3, max_iter=3))] if p else [])

for i in range(start, len(cases)):
    text = cases[i]
    print(json.dumps({"i": i, "started": True}), flush=True)
    out = {"i": i, "outcome": "", "reason": "", "parse_cpu": None, "use_s": None, "bad": []}
    signal.setitimer(signal.ITIMER_PROF, limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            c0 = time.process_time()
            try:
                f = parse(text)
            except FormulaError as exc:
                out["outcome"], out["reason"] = "refused", exc.reason
            except BaseException as exc:
                if isinstance(exc, Timeout):
                    raise
                out["outcome"] = "error"
                out["reason"] = f"{type(exc).__name__}: {str(exc)[:120]}"
            else:
                out["outcome"] = "accepted"
            out["parse_cpu"] = time.process_time() - c0
            if out["outcome"] == "accepted":
                t0 = time.process_time()
                for name, use in uses(f):
                    try:
                        if name == "minimize":  # its own warnings are not the parser's
                            warnings.simplefilter("ignore")
                        use()
                    except FormulaError:
                        pass
                    except BaseException as exc:
                        if isinstance(exc, Timeout):
                            out["bad"].append(f"{name}: timed out")
                            raise
                        out["bad"].append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
                out["use_s"] = time.process_time() - t0
    except Timeout:
        out["outcome"] = out["outcome"] or "timeout"
        out["bad"].append(f"over {limit} s")
    except MemoryError:
        out["outcome"] = out["outcome"] or "memory"
        out["bad"].append("MemoryError")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    print(json.dumps(out), flush=True)
"""


@dataclass
class Outcome:
    label: str
    text: str
    outcome: str  # accepted, refused, error, timeout, memory, hang
    reason: str
    parse_cpu: float | None
    use_s: float | None
    bad: list[str]


def run_cases(
    cases: list[tuple[str, str]], limit: float = CASE_LIMIT, env: dict[str, str] | None = None
) -> list[Outcome]:
    """Run every case in child processes; a child that stops answering is killed."""
    texts = [t for _, t in cases]
    results: dict[int, dict[str, Any]] = {}
    start = 0
    while start < len(texts):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(limit), str(MEMORY_LIMIT), str(start)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stream: Any, sink: queue.Queue[str | None] = lines) -> None:
            for line in stream:
                sink.put(line)
            sink.put(None)

        assert child.stdin is not None and child.stdout is not None
        reader = threading.Thread(target=pump, args=(child.stdout,), daemon=True)
        reader.start()
        child.stdin.write(json.dumps(texts))
        child.stdin.close()
        current = start
        wait = 120.0  # the first case also pays for the imports
        try:
            while True:
                try:
                    line = lines.get(timeout=wait)
                except queue.Empty:
                    results[current] = {"outcome": "hang", "bad": ["the child stopped answering"]}
                    break
                if line is None:  # the child ended (crashed, or finished)
                    if current < len(texts) and current not in results:
                        results[current] = {"outcome": "crash", "bad": ["the child died"]}
                    break
                msg = json.loads(line)
                current = msg["i"]
                if msg.get("started"):
                    wait = HANG
                else:
                    results[current] = msg
                    current += 1
        finally:
            child.kill()
            child.wait()
            reader.join()
            child.stdout.close()
        start = max(results) + 1 if results else len(texts)
    return [
        Outcome(label, text, r.get("outcome", "missing"), r.get("reason", ""),
                r.get("parse_cpu"), r.get("use_s"), r.get("bad", []))
        for (label, text), r in ((cases[i], results.get(i, {})) for i in range(len(cases)))
    ]


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return run_cases(CASES)


def test_the_corpus_is_varied() -> None:
    assert len(CASES) >= 100
    assert len({label for label, _ in CASES}) == len(CASES)
    assert all(len(text) <= 1001 for _, text in CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[label for label, _ in CASES])
def test_hostile_formula_is_accepted_or_refused_quickly(
    outcomes: list[Outcome], index: int
) -> None:
    o = outcomes[index]
    assert o.outcome in ("accepted", "refused"), (o.text[:80], o.outcome, o.reason, o.bad)
    assert o.parse_cpu is not None and o.parse_cpu < PARSE_LIMIT, (o.text[:80], o.parse_cpu)
    assert not o.bad, (o.text[:80], o.bad)
    if o.outcome == "refused":
        assert o.reason and "\n" not in o.reason


def _table(outcomes: list[Outcome]) -> str:
    rows = ["| case | outcome | parse CPU s | uses CPU s | problems |", "|---|---|---|---|---|"]
    for o in outcomes:
        cpu = "" if o.parse_cpu is None else f"{o.parse_cpu:.3f}"
        use = "" if o.use_s is None else f"{o.use_s:.2f}"
        bad = "; ".join(o.bad)[:100]
        rows.append(f"| {o.label} | {o.outcome} | {cpu} | {use} | {bad} |")
    return "\n".join(rows)


if __name__ == "__main__":
    limit = float(os.environ.get("HOSTILE_LIMIT", CASE_LIMIT))
    found = run_cases(CASES, limit=limit)
    print(_table(found))
    with open(os.environ.get("HOSTILE_JSON", os.devnull), "w") as fh:
        json.dump([o.__dict__ for o in found], fh)
