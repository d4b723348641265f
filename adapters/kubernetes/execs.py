"""One exec call: ``stream(..., binary=True, _preload_content=False)``, stdin written
once, stdout/stderr handed over frame by frame, and the channel-3 Status parsed here
(the client's ``returncode`` raises on anything but an exit code).

``stream`` swaps the ``ApiClient``'s ``call_api`` while it connects, which other threads
would see; so every exec gets an ``ApiClient`` of its own (on the adapter's
configuration: same credentials and TLS settings). ``stream`` offers no timeout for the
WebSocket handshake, so websocket-client's default timeout (used by nothing else here) is
set once: a handshake that hangs fails instead of holding a step forever.

``stream`` gives a ``WSClient`` with the handshake done; its frames are read here one at
a time from the WebSocket it holds (``_read`` says why not through ``WSClient``).
"""

from __future__ import annotations

import contextlib
import json
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket
from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.stream import stream
from websocket import ABNF

from adapters.kubernetes.client import KubeApi
from adapters.kubernetes.errors import ApiError

STDOUT, STDERR, STATUS = 1, 2, 3
Output = Callable[[int, bytes], None]  # channel, data


@dataclass(frozen=True)
class ExecEnd:
    """How an exec ended: an exit code from its Status, or why there is none."""

    exit_code: int | None
    problem: str = ""  # set when exit_code is None
    status: int = 0  # HTTP status of a refused handshake


def run_exec(
    api: KubeApi,
    namespace: str,
    pod: str,
    container: str,
    argv: list[str],
    output: Output,
    *,
    stdin: bytes | None = None,
    cancelled: threading.Event | None = None,
    poll: float = 0.2,
    idle_timeout: float | None = None,
) -> ExecEnd:
    """Run ``argv`` in ``container``, handing output to ``output`` as it arrives.

    With ``idle_timeout``, a connection that stays silent is pinged, and one on which
    nothing at all arrives (no output, not even the pong) for that long is given up as
    lost: a black-holed connection would otherwise hold the step until the job's
    deadline."""
    try:
        ws = _connect(api, namespace, pod, container, argv, stdin is not None)
    except ApiError as error:
        return ExecEnd(None, f"exec refused: {error.explain()}", error.status)
    try:
        if stdin is not None:
            ws.write_stdin(stdin)
        return _read(ws, output, cancelled, poll, idle_timeout)
    except Exception as error:  # the connection dropped (is_open() may still say True)
        return ExecEnd(None, f"exec connection lost: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            ws.close()


def _connect(
    api: KubeApi, namespace: str, pod: str, container: str, argv: list[str], stdin: bool
) -> Any:
    if websocket.getdefaulttimeout() is None:
        websocket.setdefaulttimeout(api.settings.request_timeout)

    def connect() -> Any:
        with ApiClient(api.api_client.configuration) as own:
            return stream(
                CoreV1Api(own).connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=argv,
                container=container,
                stdin=stdin,
                stdout=True,
                stderr=True,
                tty=False,
                binary=True,
                _preload_content=False,
                _request_timeout=api.settings.request_timeout,
            )

    ws = api.call("exec", connect, retry_for=0, ok="101")
    ws.sock.settimeout(api.settings.request_timeout)  # a frame stalled midway fails
    return ws


def _read(
    ws: Any,
    output: Output,
    cancelled: threading.Event | None,
    poll: float,
    idle_timeout: float | None,
) -> ExecEnd:
    """Frame by frame, each handed over as it arrives. Not through ``WSClient.update``
    and ``read_channel``: ``update`` reads every frame already waiting (megabytes, from
    a step printing fast) into one buffer per channel before returning, and keeps a copy
    of all output besides; and a ``read_channel`` of an empty channel reads on, so the
    last output could arrive with the status and the close after its channel was read."""
    sock = ws.sock  # websocket-client's WebSocket, the handshake done
    status = b""
    heard = pinged = time.monotonic()
    while True:
        if cancelled is not None and cancelled.is_set():
            return ExecEnd(None, "cancelled")
        if _arrives(ws, poll):
            heard = time.monotonic()
            opcode, frame = sock.recv_data_frame(True)  # data, close, or a pong
            if opcode == ABNF.OPCODE_CLOSE:
                return parse_status(status)
            if opcode in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT) and frame.data:
                channel, data = frame.data[0], bytes(frame.data[1:])
                if channel in (STDOUT, STDERR) and data:
                    output(channel, data)
                elif channel == STATUS:
                    status += data
            continue  # frames come back to back: the next may be there already
        if idle_timeout is not None:
            now = time.monotonic()
            if now - heard > idle_timeout:
                return ExecEnd(
                    None, f"nothing arrived on the exec connection for {idle_timeout:g}s"
                )
            if min(now - heard, now - pinged) > idle_timeout / 3:
                sock.ping()  # API servers answer pings themselves
                pinged = now


def _arrives(ws: Any, timeout: float) -> bool:
    """Whether bytes of a frame are waiting on the connection (within ``timeout``)."""
    sock = ws.sock.sock
    pending = getattr(sock, "pending", None)  # TLS may hold decrypted bytes already
    if pending is not None and pending() > 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def parse_status(raw: bytes) -> ExecEnd:
    """The exit code in a channel-3 Status (Success, or NonZeroExitCode with the code)."""
    if not raw:
        return ExecEnd(None, "the exec connection closed without a status")
    try:
        status = json.loads(raw)
    except ValueError:
        return ExecEnd(None, f"unreadable exec status {raw[:200]!r}")
    if status.get("status") == "Success":
        return ExecEnd(0)
    causes = (status.get("details") or {}).get("causes") or []
    if status.get("reason") == "NonZeroExitCode":
        for cause in causes:
            if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
                return ExecEnd(int(cause["message"]))
    return ExecEnd(None, f"exec failed: {status.get('message') or status.get('reason')}")
