"""Load test of the explorer: concurrent simulated sessions on loopback, Step and Run.

The script starts the server itself (gunicorn, ``--workers`` processes, default 2, or
waitress, the server of ``descend app``, with ``--workers 1``) on a free port of 127.0.0.1, reads
the callback's shape from ``/_dash-dependencies``, and runs ``--sessions`` sessions
(default 50) for ``--seconds`` (default 60). A session loads the page state once, then
clicks Step (carrying the stores the server sent back, ``state`` and ``drawn``, the key of
the figure on the page, as the page does) with a pause of ``--think`` seconds (default 0.5,
a fast clicker), a Run every 10th click (and the next three clicks are frames of its
playing, ``tick``), a Reset every 50th instead of a Run, and every 50th a drag of the
learning rate: three live redraws of the whole 1,000-step path 120 ms apart, as the page
sends them while the slider is dragged (``drag``). Each session starts Rosenbrock at its
own point (x = -1.2 + 0.002 i), so no two sessions ask for the same runs (the server's
caches of runs cannot serve one session's from another's). It prints requests per second,
p50/p95/p99 latency and errors per kind.

Reproduce: ``python benchmarks/load_app.py --seconds 60``. Only loopback is contacted.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(port: int, workers: int, threads: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if workers > 1:
        gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
        cmd = [gunicorn, "-w", str(workers), "--threads", str(threads), "-b", f"{HOST}:{port}",
               "--backlog", "256",
               "--log-level", "warning", "descend.app:server"]
    else:
        cmd = [sys.executable, "-c",
               f"from descend.app import serve; serve('{HOST}', {port}, 1)"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = request(port, "GET", "/")
            if status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the explorer did not start")


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        ok = resp.status == 200 and raw[:1] in (b"{", b"[")
        return resp.status, json.loads(raw) if ok else raw
    finally:
        conn.close()


class Callback:
    """Builds ``/_dash-update-component`` payloads for the explorer's main callback."""

    def __init__(self, port: int) -> None:
        _, deps = request(port, "GET", "/_dash-dependencies")
        self.dep = next(d for d in deps if "state.data" in d["output"]
                        and "view-body" in d["output"])

    def payload(self, trigger: str, stores: dict[str, Any], values: dict[str, Any]
                ) -> dict[str, Any]:
        outs = self.dep["output"].strip(".").split("...")
        props = {i["id"]: i["property"] for i in self.dep["inputs"]}
        inputs = [{"id": i["id"], "property": i["property"], "value": values.get(i["id"])}
                  for i in self.dep["inputs"]]
        states = [{"id": s["id"], "property": s["property"],
                   "value": stores.get(s["id"])} for s in self.dep["state"]]
        return {"output": self.dep["output"],
                "outputs": [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
                            for o in outs],
                "inputs": inputs, "state": states,
                "changedPropIds": [f"{trigger}.{props[trigger]}"]}


def kind_of(n: int, stores: dict[str, Any]) -> str:
    """The n-th action of a session: Reset every 50th, Run every 10th, a drag of the
    learning rate every 50th (a burst of throttled redraws), frames of the run after a
    Run (the page plays it), Steps otherwise."""
    if "state" not in stores:
        return "load"
    if n % 50 == 49:
        return "reset"
    if n % 10 == 9:
        return "run"
    if n % 50 == 24:
        return "drag"
    if n % 10 in (0, 1, 2) and n >= 10:
        return "tick"
    return "step"


def session(port: int, cb: Callback, stop: float, think: float, url: str,
            out: dict[str, list[float]], errors: dict[str, int], lock: threading.Lock,
            rng: random.Random | None = None) -> None:
    """One simulated user. With ``rng`` (``--arrivals random``) the user starts at a
    random moment of the first ``10 * think`` seconds, at a random point of the cycle of
    50 actions, and pauses ``think`` times a uniform factor in [0.5, 1.5]: users who do
    not all click, run and drag in the same second. Without it (``lockstep``) every
    session follows the same schedule, so all 50 drag within the same moment."""
    stores: dict[str, Any] = {}
    clicks = 0
    n = 0
    offset = 0
    if rng is not None:
        offset = rng.randrange(50)
        time.sleep(rng.uniform(0.0, 10 * think))
    lr = -3.0
    while time.monotonic() < stop:
        kind = kind_of(n + offset if n else 0, stores)
        sends: list[tuple[str, dict[str, Any]]]
        if kind == "step":
            clicks += 1
            sends = [("step", {"step": clicks})]
        elif kind == "load":
            sends = [("url", {"url": url})]
        elif kind == "drag":  # three throttled values 120 ms apart, as the page sends them
            sends = []
            for _ in range(3):
                lr += 0.01 if lr < -2.9 else -0.1
                sends.append(("live", {"live": {"id": "lr-slider", "value": round(lr, 3)}}))
        elif kind == "tick":
            sends = [("ticker", {"ticker": n})]
        else:
            sends = [(kind, {kind: n})]
        for trigger, values in sends:
            t0 = time.perf_counter()
            try:
                status, body = request(port, "POST", "/_dash-update-component",
                                       cb.payload(trigger, stores, values))
                good = status == 200 and isinstance(body, dict)
            except OSError:
                good, body = False, None
            dt = time.perf_counter() - t0
            with lock:
                if good:
                    out.setdefault(kind, []).append(dt)
                else:
                    errors[kind] = errors.get(kind, 0) + 1
            if good:
                assert isinstance(body, dict)
                for store in ("state", "drawn"):  # no_update leaves a store out of the answer
                    if store in body["response"]:
                        stores[store] = body["response"][store]["data"]
            if kind == "drag":
                time.sleep(0.12)  # the page's throttle between two redraws of a drag
        n += 1
        # the user's pause between clicks
        time.sleep(think if rng is None else think * rng.uniform(0.5, 1.5))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--think", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    ap.add_argument("--arrivals", choices=("random", "lockstep"), default="random",
                    help="users at random moments (default) or all on one schedule")
    args = ap.parse_args()
    port = free_port()
    proc = start(port, args.workers, args.threads)
    try:
        cb = Callback(port)
        out: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        lock = threading.Lock()
        stop = time.monotonic() + args.seconds
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(args.sessions) as pool:
            futs = [pool.submit(session, port, cb, stop, args.think,
                                f"?f=rosenbrock&x0={-1.2 + 0.002 * i:.3f},1", out, errors, lock,
                                random.Random(i) if args.arrivals == "random" else None)
                    for i in range(args.sessions)]
            for f in futs:
                f.result()
        wall = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    total = sum(len(v) for v in out.values())
    print(f"{args.sessions} sessions, {args.workers} worker(s) x {args.threads} thread(s), "
          f"think {args.think:g} s, {args.arrivals} arrivals, "
          f"{wall:.0f} s: {total / wall:.1f} requests/s, errors {sum(errors.values())}")
    print("| request | count | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in ("step", "drag", "tick", "run", "reset", "load"):
        xs = out.get(kind, [])
        if xs:
            print(f"| {kind} | {len(xs)} | {statistics.median(xs) * 1000:.0f} | "
                  f"{pct(xs, 0.95):.0f} | {pct(xs, 0.99):.0f} | {errors.get(kind, 0)} |")


if __name__ == "__main__":
    main()
