"""Exec over WebSocket with the v5/v4 channel protocols.

Binary frames whose first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 status,
4 resize, 255 close in v5). The end is one channel-3 frame with a Status, then a close
frame. The command runs as a local process group in the container's sandbox. When the
connection goes away the command keeps running (as with a real runtime); its output is
discarded and it is killed when the pod goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import signal
import time
from collections.abc import Callable
from typing import Any

from . import websocket as ws
from .cluster import Cluster
from .faults import ExecFault, FaultState, RequestInfo
from .kubelet import Kubelet
from .logs import node_unreachable, pick_container
from .meta import hex_id
from .pods import PodRuntime
from .records import RequestRecord
from .runtime import (
    ConfigError,
    Process,
    container_env,
    exit_status,
    kill_group,
    process_env,
    spawn,
)
from .sandbox import Sandbox
from .server import Connection, Request
from .status import ApiError, bad_request

JsonDict = dict[str, Any]
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def success_status() -> JsonDict:
    return {"metadata": {}, "status": "Success"}


def exit_code_status(argv: list[str], code: int) -> JsonDict:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(argv)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error_status(message: str) -> JsonDict:
    text = f"error executing command in container: {message}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {text}",
        "reason": "InternalError",
        "details": {"causes": [{"message": text}]},
        "code": 500,
    }


# After the command exits, its output is forwarded to the end, however slowly the client
# reads (as a kubelet does: the status follows the streams); only pipes that background
# children hold open and that stay silent this long are given up.
PUMP_DRAIN_SECONDS = 5.0
STALL_SECONDS = 600.0  # how long a stalled exec keeps a silent client connected


class ContainerNotRunning(Exception):
    """The kubelet's plain-text answer for a container that is not running."""


class ExecSession:
    def __init__(self, conn: Connection, fault: ExecFault | None, tty: bool) -> None:
        self.conn = conn
        self.fault = fault
        self.tty = tty
        self.forwarded = 0
        self.detached = False
        self.stalled = False
        self.sending = 0  # pumps handing a chunk to the client now
        self.last_read = time.monotonic()  # when a pump last read a chunk of output

    async def output(self, channel: int, data: bytes) -> None:
        if self.detached or self.stalled:
            return
        if self.tty:
            channel = STDOUT
        self.sending += 1
        try:
            await ws.send(self.conn, ws.OP_BINARY, bytes([channel]) + data)
        except (ConnectionError, OSError):
            self.detached = True
            return
        finally:
            self.sending -= 1
        self.forwarded += len(data)
        if self.fault and self.forwarded >= self.fault.after_bytes:
            if self.fault.action == "drop":
                self.detached = True
                self.conn.drop()
            elif self.fault.action == "stall":
                self.stalled = True  # nothing more is sent, no ping answered

    async def pump(self, stream: asyncio.StreamReader | None, channel: int) -> None:
        if stream is None:
            return
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await stream.read(32768):
                self.last_read = time.monotonic()
                await self.output(channel, chunk)

    async def drain(self, pumps: asyncio.Future[Any]) -> None:
        """Wait until the pumps forwarded all the command wrote: while they hand output
        to the client, however long that takes; not beyond ``PUMP_DRAIN_SECONDS`` of
        silence on pipes that its background children still hold open."""
        self.last_read = max(self.last_read, time.monotonic())  # silent since it exited
        while not pumps.done():
            await asyncio.wait({pumps}, timeout=0.1)
            silent = time.monotonic() - self.last_read > PUMP_DRAIN_SECONDS
            if not pumps.done() and not self.sending and silent:
                return


class ExecApi:
    def __init__(self, cluster: Cluster, kubelet: Kubelet, faults: FaultState) -> None:
        self.cluster = cluster
        self.kubelet = kubelet
        self.faults = faults

    def _target(self, info: RequestInfo, request: Request) -> tuple[PodRuntime, str]:
        pod = self.cluster.get("pods", info.namespace, info.name)
        container = pick_container(pod, request.param("container"))
        phase = pod["status"].get("phase")
        if phase in ("Succeeded", "Failed"):
            raise bad_request(
                f"cannot exec into a container in a completed pod; current phase is {phase}"
            )
        if not pod["spec"].get("nodeName"):
            raise bad_request(f"pod {info.name} does not have a host assigned")
        if not self.kubelet.node_ready:
            raise node_unreachable(f"exec/{info.namespace}/{info.name}/{container}")
        if not request.query.get("command"):
            raise bad_request("you must specify at least 1 command")
        if not any(request.flag(s) for s in ("stdin", "stdout", "stderr")):
            raise bad_request("you must specify at least one of stdin, stdout, stderr")
        rt = self.kubelet.pods[pod["metadata"]["uid"]]
        if rt.containers[container].state != "running" or rt.sandbox is None:
            raise ContainerNotRunning(f'container not found ("{container}")')
        return rt, container

    def negotiate(self, request: Request) -> str:
        offered = ws.offered_protocols(request)
        for protocol in PROTOCOLS:
            if protocol in offered:
                return protocol
        raise ApiError(
            bad_request(
                f"unable to upgrade: unable to negotiate protocol: client "
                f"supports {offered}, server supports {list(PROTOCOLS)}"
            ).status
        )

    async def serve(self, conn: Connection, request: Request, info: RequestInfo) -> int:
        """Validate, upgrade, run; returns the HTTP status of the handshake."""
        try:
            rt, container = self._target(info, request)
        except ContainerNotRunning as exc:
            await conn.send(500, {"Content-Type": "text/plain; charset=utf-8"}, str(exc).encode())
            return 500
        protocol = self.negotiate(request)
        fault = self.faults.take_exec_fault(info.name, container)
        await ws.accept(conn, request, protocol)
        session = ExecSession(conn, fault, request.flag("tty"))
        status = await self._run(rt, container, request, session)
        if session.detached:
            return 101
        if session.stalled:  # a black hole: the connection stays open until the client goes
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._await_close(conn, answer_pings=False), STALL_SECONDS)
            conn.drop()
            return 101
        with contextlib.suppress(ConnectionError, OSError):
            if status is not None and not (fault and fault.action == "no-status"):
                body = json.dumps(status, separators=(",", ":")).encode()
                record = request.extra.get("record")
                if isinstance(record, RequestRecord):
                    record.events.append(status)
                await ws.send(conn, ws.OP_BINARY, bytes([STATUS]) + body)
            await ws.send_close(conn)
            await asyncio.wait_for(self._await_close(conn), 1.0)
        return 101

    @staticmethod
    async def _await_close(conn: Connection, answer_pings: bool = True) -> None:
        with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
            while (await ws.receive(conn, lambda: answer_pings)).opcode != ws.OP_CLOSE:
                pass

    async def _run(
        self, rt: PodRuntime, container: str, request: Request, session: ExecSession
    ) -> JsonDict | None:
        if session.fault and session.fault.action == "internal-error":
            return internal_error_status(session.fault.message or "injected runtime failure")
        pod = self.kubelet.pod_object(rt)
        spec = rt.container_spec(container)
        assert rt.sandbox is not None
        try:
            declared = container_env(pod, spec, self.kubelet.containers.secret) if pod else {}
        except ConfigError:
            declared = {}
        env = process_env(pod or {"metadata": {"name": rt.name}}, spec, declared, rt.sandbox)
        argv = [rt.sandbox.rewrite(spec, a) for a in request.query["command"]]
        try:
            proc = await spawn(
                argv,
                rt.sandbox.working_dir(spec),
                env,
                stdin=request.flag("stdin"),
                merge_stderr=request.flag("tty"),
            )
        except OSError as exc:
            return internal_error_status(
                f'failed to exec in container: failed to start exec "{hex_id()}": OCI runtime '
                f"exec failed: exec failed: unable to start container process: exec: "
                f'"{argv[0]}": {exc.strerror or exc}: unknown'
            )
        rt.exec_processes.add(proc)
        try:
            rewrite = functools.partial(_rewrite_bytes, rt.sandbox, spec)
            return await self._attach(
                proc, request.query["command"], session, rt.uid, container, rewrite
            )
        finally:
            rt.exec_processes.discard(proc)

    async def _attach(
        self,
        proc: Process,
        argv: list[str],
        session: ExecSession,
        pod_uid: str,
        container: str,
        rewrite: Callable[[bytes], bytes],
    ) -> JsonDict | None:
        pumps = asyncio.gather(session.pump(proc.stdout, STDOUT), session.pump(proc.stderr, STDERR))
        reader = asyncio.ensure_future(self._read_client(proc, session, rewrite))
        try:
            returncode = await proc.wait()
            await session.drain(pumps)
        except asyncio.CancelledError:
            kill_group(proc, pod_uid, signal.SIGKILL, container)
            raise
        finally:
            reader.cancel()
        code = exit_status(returncode)
        return success_status() if code == 0 else exit_code_status(argv, code)

    async def _read_client(
        self,
        proc: Process,
        session: ExecSession,
        rewrite: Callable[[bytes], bytes],
    ) -> None:
        """Forward stdin (its mount paths rewritten, as the sandbox does for argv: what
        a step runs arrives there); a client that goes away leaves the command running."""
        try:
            while True:
                message = await ws.receive(session.conn, lambda: not session.stalled)
                if message.opcode == ws.OP_CLOSE:
                    break
                if not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                stdin = proc.stdin
                if stdin is None or stdin.is_closing():
                    continue
                if channel == STDIN and payload:
                    stdin.write(rewrite(payload))
                    await stdin.drain()
                elif channel == CLOSE and payload[:1] == bytes([STDIN]):
                    stdin.close()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        session.detached = True
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()


def _rewrite_bytes(sandbox: Sandbox, container: JsonDict, data: bytes) -> bytes:
    """Mount paths in stdin become the volumes' local directories (any bytes survive)."""
    text = data.decode("utf-8", errors="surrogateescape")
    return sandbox.rewrite(container, text).encode("utf-8", errors="surrogateescape")
