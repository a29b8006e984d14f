"""The explorer server treats the browser as untrusted (issue 13).

Unit tests of the validation (any value of any type in the state or the controls gives a
notice, never an exception), of the formula worker (timeouts, restarts, the child's
lifetime), and the acceptance test: a real server (``descend app``, waitress, on a free
loopback port) answering one client's forged requests of every kind while another
client's ordinary requests are answered within 3 s each; each forged request is answered
within 10 s with a notice or a 4xx, and the server's memory grows by less than 500 MB.
The figures go to ``test-artifacts/hostile.json`` (quoted in ``benchmarks/README.md``).
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("dash")

from descend.app import callbacks, state, worker
from descend.app.state import DEFAULT, MAX_ITER_CAP, METHODS, clean, reduce

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
HOST = "127.0.0.1"
#: a tower that took minutes to parse before the parser bounded its own work
SLOW_FORMULA = "((((2/3)**100)**100)**100)**100*x + y"
EVIL_FORMULA = "__import__('os').system('echo owned') + x"


# -- validation of what the page sends -----------------------------------------------------


def test_clean_clamps_every_field_like_typed_input():
    forged = {**DEFAULT, "methods": ["gd", "adam"] * 5000, "cap": 1e12, "it": 1e12,
              "lr": -1, "view": "../../etc", "p1d": "huge", "policy": "eval", "gtol": "nan",
              "x0": [float("nan"), 1.0], "data": {"x": list(range(1_000_000)),
                                                  "y": list(range(1_000_000)),
                                                  "stats": [1e6, 0, 0, 0, 0, 0]},
              "unknown": "x" * 10_000, "clicks": "abc"}
    s = clean(forged)
    assert s["methods"] == ["gd"] and s["cap"] == s["it"] == MAX_ITER_CAP
    assert s["lr"] == DEFAULT["lr"] and s["view"] == "contour" and s["p1d"] == DEFAULT["p1d"]
    assert s["policy"] == "fixed" and s["gtol"] is None and s["x0"] == [-1.2, 1.0]
    assert s["data"] is None and "unknown" not in s and s["clicks"] == 0
    for key in ("methods", "cap", "lr", "view", "x0", "data"):
        assert key in s["notice"]
    assert clean(s) == {**s, "notice": ""}  # a clean state stays as it is
    assert clean({**DEFAULT, "cap": 10**9, "it": 10**9})["cap"] == MAX_ITER_CAP
    assert clean({**DEFAULT, "methods": list(METHODS)})["methods"] == list(METHODS)
    assert clean("garbage")["notice"].startswith("state:")
    assert clean({**DEFAULT, "f": "custom", "formula": "x" * 5000})["formula"] == ""


def test_data_in_the_state_is_checked_like_an_upload():
    good = callbacks.parse_upload(_csv("x,y\n0,1\n1,3\n2,5\n"), "a.csv")["data"]
    assert clean({**DEFAULT, "data": good})["data"] == good
    for bad in ({**good, "cols": [good["cols"][0][:2], good["cols"][1]]},
                {**good, "m2": [[-1, 0], [0, 1]]}, {**good, "n": 10**9},
                {**good, "cols": [["a", 1, 2], [1, 2, 3]]}, {**good, "xi": 0, "yi": 0},
                {**good, "cols": [[1, 2, 3], [1, 2, float("inf")]]}, {**good, "xi": True},
                {**good, "columns": ["x"] * 13}, {**good, "m2": [[1, 2], [3, 4]]},
                "text", [1, 2]):
        assert clean({**DEFAULT, "data": bad})["data"] is None


def test_upload_refuses_rows_with_missing_values():
    out = callbacks.parse_upload(_csv("x,y\n0,1\n1,\n2,5\nnan,3\n4,9\n"), "gaps.csv")
    assert out["error"].startswith("upload: gaps.csv: column") and "contains NaN" in out["error"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(trigger=st.sampled_from([*callbacks._CONTROLS, None, "nope"]), value=_json,
       field=st.sampled_from(sorted(DEFAULT)), forged=_json)
def test_no_value_of_any_type_makes_the_callback_raise(trigger, value, field, forged):
    values = {c: None for c in callbacks._CONTROLS}
    values[trigger or "url"] = value
    out = callbacks.update({**DEFAULT, field: forged}, trigger, values)
    s = out["state"]
    assert clean(s) == {**s, "notice": ""}
    assert isinstance(out["status"], str) and len(out["status"]) < 10_000


def test_bad_values_from_controls_give_notices():
    cases = {"lr": "abc", "lr-slider": "abc", "cap": "1e99x", "x0": "1, nan",
             "view": "../../etc", "gtol": "-3"}
    for trigger, value in cases.items():
        out = callbacks.update(dict(DEFAULT), trigger, {trigger: value})
        assert out["state"]["notice"], trigger
    long_url = "?" + "&".join(f"k{i}=v" for i in range(100))
    assert "fields" in callbacks.update(None, "url", {"url": long_url})["state"]["notice"]
    assert "4,096" in callbacks.update(None, "url", {"url": "?f=" + "a" * 5000}
                                       )["state"]["notice"]


def test_a_formula_from_the_state_is_parsed_only_after_the_worker_accepted_it():
    s = {**DEFAULT, "f": "custom", "formula": "__import__('os')", "variables": ["x"],
         "x0": [1.0], "error": ""}
    out = callbacks.update(s, "step", {"step": 1})
    assert out["error"].startswith("formula:") and out["figs"] == {}
    with pytest.raises(ValueError, match="formula:"):
        worker.formula("__import__('os')")


# -- the formula worker ---------------------------------------------------------------------


def test_worker_answers_normally_after_a_timeout():
    worker.check("x**2 + y**2")
    # a time limit of 0: the child cannot answer before it is looked at, so this one
    # runs over (a real formula no longer can: the parser bounds its own work)
    t0 = time.perf_counter()
    assert "longer than" in worker.check(SLOW_FORMULA, timeout=0.0)["error"]
    assert time.perf_counter() - t0 < 3.0
    ok = worker.check("x**2 + 5*y**2")  # the next request: a normal answer
    assert ok["variables"] == ["x", "y"]
    t0 = time.perf_counter()  # the same text again: refused at once, for a while
    assert "longer than" in worker.check(SLOW_FORMULA, timeout=0.0)["error"]
    assert time.perf_counter() - t0 < 0.1
    worker._failed.clear()


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - out
        out |= frontier
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(p)
        except OSError:
            pass
    return alive


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)  # polling /proc for the processes to end, not waiting on a result
    return _alive(pids)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep
            + os.environ.get("PYTHONPATH", "")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _start_app(port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "descend", "app", "--port", str(port)],
                            env=_env(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if log:
        out.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _request(port, "GET", "/")[0] == 200 and _children(proc.pid):
                return proc
        except OSError:
            pass
        time.sleep(0.1)  # polling for the port
    proc.kill()
    pytest.fail("the explorer did not start")


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_no_process_outlives_descend_app(how):
    port = _free_port()
    proc = _start_app(port)
    kids = _children(proc.pid)
    assert kids, "the formula worker should have started"
    proc.send_signal(how)
    proc.wait(timeout=20)
    assert not _wait_gone(kids, 5.0)


@pytest.mark.slow
def test_no_process_outlives_an_interpreter_that_used_the_worker():
    code = ("import os, sys; from descend.app import worker; worker.check('x**2');"
            " print(os.getpid(), flush=True); sys.stdin.readline()")
    for ending in ("exit", "kill"):
        with subprocess.Popen([sys.executable, "-c", code], env=_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None and proc.stdin is not None
            proc.stdout.readline()
            kids = _children(proc.pid)
            assert kids
            if ending == "exit":
                proc.stdin.close()
            else:
                proc.kill()
            proc.wait(timeout=20)
        assert not _wait_gone(kids, 5.0), ending


# -- the acceptance test: forged requests against a live server -------------------------------


def _csv(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def _request(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None,
             timeout: float = 30.0) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
    finally:
        conn.close()


def _huge_body(port: int, size: int) -> int:
    """POST ``size`` bytes (never held in memory); the status the server answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.putrequest("POST", "/_dash-update-component")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        chunk = b" " * (1 << 20)
        try:
            for _ in range(size >> 20):
                conn.send(chunk)
        except OSError:
            pass  # the server refused and closed before reading it all: what we want
        return conn.getresponse().status
    finally:
        conn.close()


class Dash:
    """Builds ``/_dash-update-component`` payloads as the page does."""

    def __init__(self, port: int) -> None:
        self.port = port
        _, deps = _request(port, "GET", "/_dash-dependencies")
        self.main = next(d for d in deps if "view-body" in d["output"])
        self.html = next(d for d in deps if d["output"] == "download-html.data")

    def payload(self, trigger: str, values: dict[str, Any], stores: dict[str, Any],
                dep: dict[str, Any] | None = None) -> dict[str, Any]:
        dep = dep or self.main
        outs = dep["output"].strip(".").split("...")
        prop = {i["id"]: i["property"] for i in dep["inputs"]}
        return {"output": dep["output"],
                "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
                            for o in outs] if len(outs) > 1 else
                {"id": outs[0].rsplit(".", 1)[0], "property": outs[0].rsplit(".", 1)[1]},
                "inputs": [{"id": i["id"], "property": i["property"],
                            "value": values.get(i["id"])} for i in dep["inputs"]],
                "state": [{"id": s["id"], "property": s["property"],
                           "value": stores.get(s["id"])} for s in dep["state"]],
                "changedPropIds": [f"{trigger}.{prop.get(trigger, 'value')}"]}

    def send(self, trigger: str, values: dict[str, Any], stores: dict[str, Any],
             dep: dict[str, Any] | None = None) -> tuple[int, Any, float]:
        t0 = time.perf_counter()
        status, body = _request(self.port, "POST", "/_dash-update-component",
                                self.payload(trigger, values, stores, dep))
        return status, body, time.perf_counter() - t0


def _rss_mb(pids: set[int]) -> float:
    total = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def _noticed(body: Any) -> bool:
    """The answer shows a message: the notice, the formula's error, or the status line."""
    if not isinstance(body, dict):
        return False
    resp = body.get("response", {})
    texts = [resp.get(k, {}).get("children") for k in ("notice", "formula-error")]
    return any(isinstance(t, str) and t for t in texts)


def _forgeries(dash: Dash, base: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, thunk -> (status, body)) for every kind of forged request."""
    s = base

    def main(trigger: str, values: dict[str, Any] | None = None,
             **state: Any) -> tuple[int, Any]:
        st_ = {**s, **state}
        status, body, _ = dash.send(trigger, {"step": 1, "url": "", **(values or {})},
                                    {"state": st_, "drawn": None})
        return status, body

    def raw(data: bytes) -> tuple[int, Any]:
        return _request(dash.port, "POST", "/_dash-update-component", raw=data)

    big_data = {"name": "x", "x": [0.5] * 1_000_000, "y": [1.0] * 1_000_000,
                "stats": [1e6, 0.5, 1, 0.25, 0.5, 1]}
    mid_data = {**big_data, "x": [0.5] * 200_000, "y": [1.0] * 200_000}
    nan_csv = _csv("x,y\n0,1\n1,nan\n2,5\n")
    classes = callbacks.parse_upload(_csv("a,b,t\n0,1,0\n1,3,1\n2,2,0\n3,5,1\n"),
                                     "t.csv")["data"]
    return [
        ("class column out of range", lambda: main(
            "step", f="regression", view="regression", task="classify",
            data={**classes, "ti": 99})),
        ("class column named by code", lambda: main(
            "tcol", {"xcol": "a", "ycol": "b", "tcol": EVIL_FORMULA}, f="regression",
            view="regression", data=classes)),
        ("mode as code", lambda: main("task", {"task": EVIL_FORMULA}, task=EVIL_FORMULA)),
        ("code as a formula in the state", lambda: main(
            "step", f="custom", formula=EVIL_FORMULA, variables=["x", "y"], error="")),
        ("code as a formula in the URL", lambda: main("url", {
            "url": "?f=custom&formula=" + EVIL_FORMULA.replace("+", "%2B")})),
        ("code as a formula in the box", lambda: main("formula", {"formula": EVIL_FORMULA})),
        ("5,000-character formula in the state", lambda: main(
            "step", f="custom", formula="x+" * 2500, variables=["x"], error="")),
        ("10,000 methods", lambda: main("run", methods=["gd", "adam"] * 5000)),
        ("cap and it 1e12", lambda: main("run", cap=1e12, it=1e12, gtol=None)),
        ("1,000,000 data points", lambda: main("step", data=big_data)),
        ("200,000 data points", lambda: main("step", data=mid_data)),
        ("264 MB body", lambda: (_huge_body(dash.port, 264 << 20), None)),
        ("upload with a NaN row", lambda: main("upload", {"upload": nan_csv})),
        ("lr as text", lambda: main("lr", {"lr": "abc"})),
        ("lr NaN", lambda: raw(json.dumps(dash.payload("lr", {"lr": math.nan},
                                                        {"state": s})).encode())),
        ("lr Infinity", lambda: main("lr-slider", {"lr-slider": "Infinity"})),
        ("negative lr", lambda: main("lr", {"lr": -1})),
        ("unknown tab", lambda: main("view", {"view": "../../etc/passwd"})),
        ("unknown method", lambda: main("method", {"method": ["evil", {"a": 1}]})),
        ("10,000 start coordinates", lambda: main("x0", {"x0": ",".join(["1"] * 10_000)})),
        ("over-long URL query", lambda: main("url", {"url": "?f=" + "a" * 200_000})),
        ("1,000 URL fields", lambda: main("url", {"url": "?" + "&".join(
            f"k{i}=1" for i in range(1000))})),
        ("state not a dict", lambda: main("step", **{"f": ["list"]})),
        ("clicks as text", lambda: main("step", {"step": "many"})),
        ("malformed JSON", lambda: raw(b"{not json")),
        ("no output field", lambda: raw(json.dumps({"inputs": []}).encode())),
        ("download with a forged view", lambda: dash.send(
            "download-html-button", {"download-html-button": 1},
            {"state": {**s, "view": "../../etc/passwd"}}, dash.html)[:2]),
    ]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_forged_requests_do_not_slow_an_ordinary_user():
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    proc = _start_app(port, ARTIFACTS / "hostile-server.log")
    try:
        dash = Dash(port)
        # the ordinary user's first answers: the page's load, a typed formula (checked once)
        _, first, _ = dash.send("url", {"url": "?f=rosenbrock"}, {})
        assert "state" in first["response"], first
        base = first["response"]["state"]["data"]
        status, typed, _ = dash.send("formula", {"formula": "x**2 + 3*y**2"}, {"state": base})
        assert status == 200 and typed["response"]["formula-error"]["children"] == ""
        pids = {proc.pid} | _children(proc.pid)
        rss0 = _rss_mb(pids)
        peak = [rss0]
        stop = threading.Event()
        ordinary: list[tuple[str, int, float]] = []
        forged: list[tuple[str, int, float, bool]] = []

        def user() -> None:
            stores: dict[str, Any] = {"state": base}
            clicks = 0
            script = ["step", "step", "step", "run", "view", "formula", "step", "reset"]
            k = 0
            while not stop.is_set():
                trigger = script[k % len(script)]
                k += 1
                values: dict[str, Any] = {"url": ""}
                if trigger == "step":
                    clicks += 1
                    values["step"] = clicks
                elif trigger == "view":
                    values["view"] = "surface" if k % 2 else "contour"
                elif trigger == "formula":
                    values["formula"] = "x**2 + 3*y**2"
                status, body, dt = dash.send(trigger, values, stores)
                ordinary.append((trigger, status, dt))
                if status == 200 and isinstance(body, dict):
                    for store in ("state", "drawn"):
                        if store in body["response"]:
                            stores[store] = body["response"][store]["data"]
                    if trigger == "formula":  # back to the preset for the next round
                        stores["state"] = base
                time.sleep(0.2)  # the user's pause between clicks

        def watch() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss_mb({proc.pid} | _children(proc.pid)))
                time.sleep(0.2)  # sampling the server's memory

        threads = [threading.Thread(target=user), threading.Thread(target=watch)]
        for t in threads:
            t.start()
        try:
            for _round in range(2):
                for name, thunk in _forgeries(dash, base):
                    t0 = time.perf_counter()
                    status, body = thunk()
                    dt = time.perf_counter() - t0
                    ok = (400 <= status < 500) or (status == 200 and (
                        _noticed(body) or name.startswith("download")))
                    if name.startswith("download") and status == 200:
                        ok = body["response"]["download-html"]["data"]["filename"] \
                            == "descend-contour.html"
                    forged.append((name, status, dt, ok))
        finally:
            stop.set()
            for t in threads:
                t.join()
        slowest = max(ordinary, key=lambda o: o[2])
        summary = {
            "ordinary_requests": len(ordinary), "ordinary_slowest": slowest[0],
            "ordinary_max_s": round(max(dt for *_, dt in ordinary), 3),
            "ordinary_errors": sum(1 for _, s_, _ in ordinary if s_ != 200),
            "forged": [{"kind": n, "status": s_, "seconds": round(dt, 3), "ok": ok}
                       for n, s_, dt, ok in forged],
            "forged_max_s": round(max(dt for _, _, dt, _ in forged), 3),
            "rss_start_mb": round(rss0), "rss_peak_mb": round(peak[0]),
        }
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "hostile.json").write_text(json.dumps(summary, indent=1))
        assert summary["ordinary_errors"] == 0
        assert summary["ordinary_max_s"] < 3.0, summary
        bad = [f for f in summary["forged"] if not f["ok"] or f["seconds"] >= 10.0]
        assert not bad, bad
        assert peak[0] - rss0 < 500, summary
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture(autouse=True, scope="module")
def _stop_worker() -> Iterator[None]:
    yield
    worker.shutdown()


def test_reduce_ignores_events_of_any_shape():
    for ev in ({"type": "set_start", "x0": {"a": 1}}, {"type": "step", "clicks": [1]},
               {"type": "set_option", "name": "cap", "value": "x"}, {"type": 5},
               {"type": "set_methods", "methods": "gd"}, {"type": "upload", "data": [1]}):
        s = reduce(DEFAULT, ev)
        assert state.clean(s) == {**s, "notice": ""}


def test_the_classification_mode_takes_nothing_from_the_page_on_trust():
    text = "a,b,t\n" + "\n".join(f"{i},{(i * 7) % 5},{int(i >= 10)}" for i in range(20))
    s = callbacks.update(None, "url", {"url": "?f=regression&view=regression"})["state"]
    s = callbacks.update(s, "upload", {"upload": _csv(text + "\n")})["state"]
    data = s["data"]
    assert data["ti"] == 2 and s["task"] == "auto"
    # the class column's index: an int among the columns, not x or y (else the data goes)
    for ti in (True, 3, -2, 0, 1, "2", 2.0, None, [2]):
        assert clean({**s, "data": {**data, "ti": ti}})["data"] is None, ti
    # a state without it (an older page) has none
    assert clean({**s, "data": {k: v for k, v in data.items() if k != "ti"}})["data"]["ti"] == -1
    # the mode: one of three words, else the default with a notice
    forged = clean({**s, "task": "eval('1')"})
    assert forged["task"] == "auto" and "task" in forged["notice"]
    for value in ("eval", 1, ["classify"], {"a": 1}):
        out = callbacks.update(s, "task", {"task": value})
        assert out["state"]["task"] == "auto"
    # column names must be among the file's
    for name in ("../../etc/passwd", "t" * 10_000, 7, ["t"]):
        out = callbacks.update(s, "tcol", {"xcol": "a", "ycol": "b", "tcol": name})
        assert out["state"]["data"]["ti"] == 2 and "columns:" in out["state"]["notice"]
    # a forged sample with a third class value: not classified, and the page is told why
    three = {**data, "cols": [data["cols"][0], data["cols"][1],
                              [float(k % 3) for k in range(20)]]}
    asked = callbacks.update({**s, "data": three, "task": "classify"}, "step", {"step": 1})
    assert "does not take exactly two values" in asked["state"]["notice"]
    assert "accuracy" not in asked["status"]
