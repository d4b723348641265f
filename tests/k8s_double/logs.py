"""GET .../pods/NAME/log: a container's output, streamed while it runs with follow=true."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from .cluster import Cluster
from .faults import RequestInfo
from .kubelet import HOST_IP, Kubelet
from .meta import parse_time, rfc3339_nano, utcnow
from .runtime import LogBuffer
from .server import Connection, Request
from .status import ApiError, bad_request, internal_error

JsonDict = dict[str, Any]


def pick_container(pod: JsonDict, wanted: str | None) -> str:
    regular = [c["name"] for c in pod["spec"]["containers"]]
    inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
    name = pod["metadata"]["name"]
    if not wanted:
        if len(regular) == 1:
            return str(regular[0])
        text = (
            f"a container name must be specified for pod {name}, choose one of: "
            f"[{' '.join(regular)}]"
        )
        if inits:
            text += f" or one of the init containers: [{' '.join(inits)}]"
        raise bad_request(text)
    if wanted not in regular + inits:
        raise bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def node_unreachable(path: str) -> ApiError:
    return internal_error(
        f'Get "https://{HOST_IP}:10250/{path}": dial tcp {HOST_IP}:10250: connect: no route to host'
    )


class LogsApi:
    def __init__(self, cluster: Cluster, kubelet: Kubelet) -> None:
        self.cluster = cluster
        self.kubelet = kubelet

    def _buffer(self, info: RequestInfo, request: Request) -> LogBuffer:
        pod = self.cluster.get("pods", info.namespace, info.name)
        container = pick_container(pod, request.param("container"))
        rt = self.kubelet.pods.get(pod["metadata"]["uid"])
        if not pod["spec"].get("nodeName") or rt is None:
            raise bad_request(
                f'container "{container}" in pod "{info.name}" is waiting to '
                "start: ContainerCreating"
            )
        if not self.kubelet.node_ready:
            raise node_unreachable(f"containerLogs/{info.namespace}/{info.name}/{container}")
        rec = rt.containers[container]
        if request.flag("previous"):
            if container not in rt.previous_logs:
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{info.name}" not found'
                )
            return rt.previous_logs[container]
        if rec.state == "waiting" and rec.last_terminated is None:
            raise bad_request(
                f'container "{container}" in pod "{info.name}" is waiting to '
                f"start: {rec.reason or 'ContainerCreating'}"
            )
        return rt.logs[container]

    async def serve(self, conn: Connection, request: Request, info: RequestInfo) -> int:
        buffer = self._buffer(info, request)
        selected = self._select(buffer, request)
        stamps = request.flag("timestamps")
        limit = request.int_param("limitBytes")
        if not request.flag("follow"):
            body = b"".join(self._render(r, stamps) for r in selected)
            await conn.send(200, {"Content-Type": "text/plain"}, body[:limit] if limit else body)
            return 200
        await conn.start_stream(200, {"Content-Type": "text/plain"})
        peer_closed = asyncio.ensure_future(conn.wait_peer_closed())
        try:
            await self._follow(
                conn, buffer, len(buffer.records) - len(selected), stamps, limit, peer_closed
            )
        finally:
            peer_closed.cancel()
        return 200

    async def _follow(
        self,
        conn: Connection,
        buffer: LogBuffer,
        index: int,
        stamps: bool,
        limit: int | None,
        peer_closed: asyncio.Future[None],
    ) -> None:
        offset = sent = 0
        records = buffer.records
        while True:
            while index < len(buffer.records):
                records = buffer.records
                stamp, line = records[index]
                if offset < len(line):
                    data = self._render((stamp, line[offset:]), stamps and offset == 0)
                    if limit is not None:
                        data = data[: max(0, limit - sent)]
                    await conn.send_chunk(data)
                    sent += len(data)
                    offset = len(line)
                if not line.endswith(b"\n") and index == len(records) - 1:
                    break  # a partial last line may still grow
                index, offset = index + 1, 0
            if buffer.closed or (limit is not None and sent >= limit):
                await conn.end_stream()
                return
            if not self.kubelet.node_ready:
                conn.reset()
                return
            size = len(buffer.records[-1][1]) if buffer.records else 0
            waiter = asyncio.ensure_future(buffer.wait_beyond(len(buffer.records), size))
            await asyncio.wait({waiter, peer_closed}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if peer_closed.done():
                return

    @staticmethod
    def _render(record: tuple[dt.datetime, bytes], stamps: bool) -> bytes:
        stamp, line = record
        return (rfc3339_nano(stamp).encode() + b" " + line) if stamps else line

    @staticmethod
    def _select(buffer: LogBuffer, request: Request) -> list[tuple[dt.datetime, bytes]]:
        records = list(buffer.records)
        since_seconds, since_time = request.int_param("sinceSeconds"), request.param("sinceTime")
        if since_seconds is not None or since_time:
            cutoff = (
                utcnow() - dt.timedelta(seconds=since_seconds)
                if since_seconds is not None
                else parse_time(since_time or "")
            )
            records = [r for r in records if r[0] >= cutoff]
        tail = request.int_param("tailLines")
        if tail is not None:
            records = records[-tail:] if tail > 0 else []
        return records
