"""Live subscription figures (DESIGN.md §11) on the embedded default: GraphQL
subscriptions over real WebSockets against a server in a process of its own.

1. SUBSCRIBERS clients follow one job's log (``logAppended`` from offset 0) while its
   step prints LINES timestamped lines: every subscriber must receive every line; lines/s
   per subscriber; p50/p99 from the line being written (its timestamp, just before the
   log store commits it) to a client receiving it.
2. SUBSCRIBERS clients follow ``runUpdated`` of one pipeline while RUNS one-step runs
   complete: p50/p99 from a run's ``finishedAt`` to receipt of its final update.
Plus the server's CPU seconds per delivered message and its peak RSS. The baseline in
the same run: one client reading the same finished log through one ``log`` query.

The clients are 200 WebSockets in this one process, on the same cores as the server:
the first five log followers and the first run follower parse every message (and time
it) through the ``websockets`` library; the others speak the protocol over a plain
socket and read only the end of each message (a log chunk's byte offsets: each must
start where the last ended, and every subscriber must end at the size the parsing ones
ended at, having read all LINES lines), so that the client's CPU, reported as
``client_cpu_seconds_*``, takes as little as it can from the server being measured.

    python bench/subscriptions.py          # about two minutes: 200 subscribers, 100k lines
    python bench/subscriptions.py --full   # 1,000,000 lines
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FULL = "--full" in sys.argv
LINES = int(os.environ.get("DANUBE_BENCH_LINES", 1_000_000 if FULL else 100_000))
SUBSCRIBERS = int(os.environ.get("DANUBE_BENCH_SUBSCRIBERS", 200))
RUNS = int(os.environ.get("DANUBE_BENCH_RUNS", 100))
TICK = os.sysconf("SC_CLK_TCK")

PRINTER = """
from danube import pipeline, step

@pipeline(name="bench")
def logs() -> None:
    step.run("BENCH_GO=@GO@ python3 printer.py", name="print")
"""
PRINTING = f"""
import os, sys, time
out = sys.stdout
print("waiting for the subscribers", flush=True)
deadline = time.time() + 300
while not os.path.exists(os.environ["BENCH_GO"]) and time.time() < deadline:
    time.sleep(0.01)
for i in range({LINES}):
    out.write(f"{{i}} {{time.time():.6f}}\\n")
    if i % 500 == 0:
        out.flush()
"""
NOOP = "from danube import pipeline, step\n@pipeline(name='bench')\ndef b() -> None: step.run('true')\n"
LOG = """subscription L($id: ID!) {
  logAppended(jobId: $id, fromOffset: 0) { text offset nextOffset complete } }"""
TAIL = re.compile(rb'"offset":(\d+),"nextOffset":(\d+),"complete":(true|false)\}\}\}\}$')
RUNS_SUB = """subscription { runUpdated(pipeline: "many") { id state finishedAt } }"""


# ---- the server (a process of its own) ---------------------------------------------


def serve(port: int, data: Path) -> None:
    """Serve HTTP on ``port``; read commands from stdin: ``log`` (request the printing
    run, print its job id) and ``runs N`` (request N runs of the no-op pipeline)."""
    from api.bootstrap import build
    from api.execution.embedded import start_execution
    from api.processes import HttpServer, Supervisor
    from api.server import create_app
    from api.settings import Settings
    from domain.cause import Cause
    from domain.ids import job_id_for, new_run_id
    from domain.runs.application import RunRequest

    danube = build(Settings(data_dir=data, log_level="error", max_concurrent_jobs=20))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")  # keeps gRPC alive
    supervisor.add("http", HttpServer(create_app(danube), "127.0.0.1", port))
    repos = {
        "bench": make_repo(
            data / "printer", PRINTER.replace("@GO@", str(data / "go")), {"printer.py": PRINTING}
        ),
        "many": make_repo(data / "noop", NOOP),
    }

    def request(pipeline: str) -> str:
        path, commit = repos[pipeline]
        run_id = new_run_id()
        request = RunRequest(
            run_id, pipeline, str(path), "refs/heads/main", commit, {"type": "manual"}
        )
        danube.runs.request_run(request, Cause(actor="bench"))
        return job_id_for(run_id, "main").hex

    token = danube.api_tokens.create("admin", "bench", "write", None, Cause(actor="bench"))
    print("ready", token.token, flush=True)  # the local admin's: a global admin
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "log":
            print(request("bench"), flush=True)
        elif command == "runs":
            for _ in range(int(rest[0])):
                request("many")
            print("requested", flush=True)
    execution.stop()


def make_repo(path: Path, danubefile: str, files: dict[str, str] | None = None) -> tuple[Path, str]:
    path.mkdir(parents=True)
    (path / "danubefile.py").write_text(textwrap.dedent(danubefile))
    for name, text in (files or {}).items():
        (path / name).write_text(text)
    git = ["git", "-C", str(path), "-c", "user.name=bench", "-c", "user.email=b@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    return path, commit.strip()


# ---- the clients -------------------------------------------------------------------

AUTH: dict[str, str] = {}  # the server's token for its clients


async def subscription(
    url: str, query: str, variables: dict[str, Any], sink: Any, parse: bool = True
) -> None:
    """Follow one subscription; hand each message's answer to ``sink`` (with ``parse``)
    or the message as received, as bytes (without: a subscriber that only counts does
    not spend the client's CPU, which the 200 subscribers share with the server, on a
    WebSocket library and JSON: see ``counting``)."""
    if not parse:
        return await counting(url, query, variables, sink)
    import websockets

    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=None,
        additional_headers=AUTH,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] != "next":
                return
            if sink(message["payload"]["data"], time.time()) is False:
                return


async def counting(url: str, query: str, variables: dict[str, Any], sink: Any) -> None:
    """A graphql-transport-ws subscriber that only counts: RFC 6455 over a plain asyncio
    stream, each frame's payload handed to ``sink`` as the bytes received (no UTF-8
    decoding, no JSON) until the subscription ends. Answers pings; handles
    continuation frames (the server sends none) by joining them."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in AUTH.items())
    writer.write(
        f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: graphql-transport-ws\r\n{headers}\r\n".encode()
    )
    response = await reader.readuntil(b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101"), response

    def send(opcode: int, payload: bytes) -> None:  # a client's frames are masked
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        size = len(payload)
        head = (
            struct.pack("!BB", 0x80 | opcode, 0x80 | size)
            if size < 126
            else (
                struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
                if size < 65536
                else struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
            )
        )
        writer.write(head + mask + masked)

    send(1, json.dumps({"type": "connection_init"}).encode())
    payload = {"query": query, "variables": variables}
    acked = False
    try:
        parts: list[bytes] = []
        while True:
            first, second = await reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", await reader.readexactly(8))[0]
            data = await reader.readexactly(size)
            opcode = first & 0x0F
            if opcode == 9:  # ping
                send(10, data)
                continue
            if opcode == 8:  # close
                return
            parts.append(data)
            if not first & 0x80:  # more of this message follows
                continue
            message, parts = b"".join(parts), []
            if not acked:  # connection_ack
                acked = True
                send(1, json.dumps({"id": "1", "type": "subscribe", "payload": payload}).encode())
                continue
            if b'"type":"next"' not in message[:64]:
                return  # complete or error
            if sink(message, time.time()) is False:
                return
    finally:
        writer.close()


def log_sink(lines: list[int], latencies: list[float], sample: bool, ready: Any) -> Any:
    pending = [""]

    def take(data: Any, now: float) -> bool:
        if lines[2] == 0:
            ready()
        lines[2] += 1
        if not sample:  # not parsed: the client's CPU is not what is measured. Only the
            # end of the message as received is read: its byte offsets (each chunk must
            # start where the last ended: no gap, no duplicate) and whether it is the last.
            found = TAIL.search(data, len(data) - 100)
            assert found is not None, data[-100:]
            offset, lines[1] = int(found[1]), int(found[2])
            lines[3] += offset != lines[4]
            lines[4] = lines[1]
            return found[3] == b"false"
        chunk = data["logAppended"]
        lines[3] += chunk["offset"] != lines[4]
        lines[1] = lines[4] = chunk["nextOffset"]
        text = pending[0] + chunk["text"]
        *complete, pending[0] = text.split("\n")
        for line in complete:
            parts = line.split(" ")
            if len(parts) == 2 and parts[0].isdigit():
                lines[0] += 1
                if sample and int(parts[0]) % 100 == 0:
                    latencies.append(now - float(parts[1]))
        return not chunk["complete"]

    return take


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def bench(port: int, server: subprocess.Popen[str], go: Path) -> dict[str, Any]:
    ws = f"ws://127.0.0.1:{port}/graphql"
    assert server.stdin is not None
    assert server.stdout is not None
    server.stdin.write("log\n")
    server.stdin.flush()
    job_id = server.stdout.readline().strip()
    await asyncio.sleep(1.0)  # the job's row is in the read model
    # Each subscriber's printer's lines parsed, the log's size received, messages, gaps or
    # overlaps between its chunks, and where its next chunk must start.
    counts = [[0, 0, 0, 0, 0] for _ in range(SUBSCRIBERS)]
    latencies: list[float] = []
    # The printer waits until every subscriber has received the step's first line:
    # latencies are of lines written while all of them follow (not of connecting 200).
    following, all_ready = [0], asyncio.Event()

    def ready() -> None:
        following[0] += 1
        if following[0] == SUBSCRIBERS:
            all_ready.set()

    subscribers = asyncio.gather(
        *(
            subscription(
                ws, LOG, {"id": job_id}, log_sink(counts[i], latencies, i < 5, ready), i < 5
            )
            for i in range(SUBSCRIBERS)
        )
    )
    await asyncio.wait_for(all_ready.wait(), 300)
    cpu_before = cpu_seconds(server.pid)
    client_before = time.process_time()
    started = time.monotonic()
    await asyncio.to_thread(go.touch)
    await subscribers
    log_seconds = time.monotonic() - started
    log_cpu = cpu_seconds(server.pid) - cpu_before
    client_cpu = time.process_time() - client_before

    baseline_started = time.monotonic()
    query = '{ log(jobId: "JOB", limit: 1048576) { nextOffset } }'.replace("JOB", job_id)
    body = json.dumps({"query": query}).encode()
    headers = {"Content-Type": "application/json", **AUTH}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, headers)
    await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=60).read())
    baseline_seconds = time.monotonic() - baseline_started

    finished: dict[str, float] = {}
    run_latencies: list[float] = []

    def run_sink(data: dict[str, Any], now: float) -> bool:
        run = data["runUpdated"]
        if run["finishedAt"] and run["id"] not in finished:
            finished[run["id"]] = now
            run_latencies.append(now - datetime.fromisoformat(run["finishedAt"]).timestamp())
        return len(finished) < RUNS

    cpu_before = cpu_seconds(server.pid)
    client_before = time.process_time()
    others = [0]  # messages the other watchers received

    def ignore(data: Any, now: float) -> bool:  # the other watchers only receive (unparsed)
        others[0] += 1
        return True

    watchers = [
        asyncio.ensure_future(
            subscription(ws, RUNS_SUB, {}, run_sink if i == 0 else ignore, i == 0)
        )
        for i in range(SUBSCRIBERS)
    ]
    await asyncio.sleep(2.0)  # subscribed before the runs are requested
    server.stdin.write(f"runs {RUNS}\n")
    server.stdin.flush()
    await asyncio.wait_for(watchers[0], 600)
    for watcher in watchers[1:]:
        watcher.cancel()
    runs_cpu = cpu_seconds(server.pid) - cpu_before
    runs_client_cpu = time.process_time() - client_before
    # The first few subscribers parse every line (and sample latencies); every one must
    # have received the whole log (the same size as they did) with no gap or overlap.
    delivered = LINES * SUBSCRIBERS
    every_line = (
        all(c[0] == LINES for c in counts[:5])
        and len({c[1] for c in counts}) == 1
        and not any(c[3] for c in counts)
    )
    return {
        "subscribers": SUBSCRIBERS,
        "lines": LINES,
        "every_subscriber_got_every_line": every_line,
        "lines_per_second_per_subscriber": round(LINES / log_seconds),
        "log_messages_per_subscriber": round(sum(c[2] for c in counts) / SUBSCRIBERS),
        "log_latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "log_latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "server_cpu_us_per_delivered_line": round(log_cpu / max(delivered, 1) * 1e6, 2),
        "client_cpu_seconds_log_phase": round(client_cpu, 1),
        "server_cpu_seconds_log_phase": round(log_cpu, 1),
        "runs": RUNS,
        "run_messages_per_subscriber": round(others[0] / max(SUBSCRIBERS - 1, 1)),
        "run_update_latency_p50_ms": round(percentile(run_latencies, 0.5) * 1000, 1),
        "run_update_latency_p99_ms": round(percentile(run_latencies, 0.99) * 1000, 1),
        "server_cpu_seconds_runs_phase": round(runs_cpu, 2),
        "client_cpu_seconds_runs_phase": round(runs_client_cpu, 2),
        "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
        "baseline_one_query_whole_log_seconds": round(baseline_seconds, 3),
        "ratio_subscribers_time_to_one_query": round(log_seconds / max(baseline_seconds, 1e-6), 1),
    }


def main() -> None:
    from tests.support import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="danube-bench-") as tmp:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # The server's printer prints as many lines as the clients expect (--full
            # is not on the server's command line).
            env={**os.environ, "DANUBE_BENCH_LINES": str(LINES)},
        )
        try:
            assert server.stdout is not None
            ready, token = server.stdout.readline().split()
            assert ready == "ready"
            AUTH["Authorization"] = f"Bearer {token}"
            figures = asyncio.run(bench(port, server, Path(tmp) / "go"))
        finally:
            server.terminate()
            server.wait(30)
    figures["targets_met"] = bool(
        figures["every_subscriber_got_every_line"]
        and figures["log_latency_p99_ms"] <= 500
        and figures["run_update_latency_p99_ms"] <= 250
        and figures["server_peak_rss_mb"] <= 400
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
