"""A small HTTP/1.1 server on asyncio streams, built for fault injection.

It owns every byte it writes, so the double can close a socket without a response,
reset it in the middle of a body, end a chunked stream cleanly or abruptly, stop
listening and listen again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import http
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 64 * 1024 * 1024


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    peer: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() in ("true", "1")

    def int_param(self, name: str) -> int | None:
        value = self.param(name)
        if value is None or value == "":
            return None
        return int(value)


class Connection:
    """One client TCP connection; writes go straight to the transport."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.closed = False
        self.streaming = False

    async def send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        head = self._head(status, {**headers, "Content-Length": str(len(body))})
        await self.write(head + body)

    async def send_partial(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Headers announcing the full body, then only half of it (for mid-response resets)."""
        head = self._head(status, {**headers, "Content-Length": str(len(body))})
        await self.write(head + body[: max(1, len(body) // 2)])

    async def start_stream(self, status: int, headers: dict[str, str]) -> None:
        self.streaming = True
        await self.write(self._head(status, {**headers, "Transfer-Encoding": "chunked"}))

    async def send_chunk(self, data: bytes) -> None:
        if data:
            await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self) -> None:
        self.streaming = False
        await self.write(b"0\r\n\r\n")

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("connection closed by the double")
        self.writer.write(data)
        await self.writer.drain()

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {status} {phrase}"]
        base = {"Date": email.utils.formatdate(usegmt=True), "Cache-Control": "no-cache, private"}
        for name, value in {**base, **headers}.items():
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def reset(self) -> None:
        """Abort with a TCP RST: the client sees ECONNRESET, no response."""
        if self.closed:
            return
        self.closed = True
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def drop(self) -> None:
        """End abruptly but after what was written: a FIN in the middle of a stream, no
        terminating chunk or close frame (a reset could discard data still unread)."""
        self.close()

    def close(self) -> None:
        """Close with a FIN after what has been written."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.close()

    async def wait_peer_closed(self) -> None:
        """Return when the client has gone (FIN or RST) or the double closed the socket.

        Polls instead of reading, so that nothing the client sends next on a kept-alive
        connection is consumed here.
        """
        while not self.peer_gone():  # noqa: ASYNC110 - reading would consume the next request
            await asyncio.sleep(0.05)

    def peer_gone(self) -> bool:
        return (
            self.closed
            or self.reader.at_eof()
            or self.reader.exception() is not None
            or self.writer.transport.is_closing()
        )


Handler = Callable[[Request, Connection], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader, peer: str) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if length > MAX_BODY:
            raise ValueError("request body too large")
        body = await reader.readexactly(length)
    split = urlsplit(target)
    query = parse_qs(split.query, keep_blank_values=True)
    return Request(method.upper(), target, unquote(split.path), query, headers, body, peer)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


class HttpServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self.connections: set[Connection] = set()

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True, limit=1024 * 1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_listening(self, drop_connections: bool = True) -> None:
        """Close the listening socket: new connections are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if drop_connections:
            for conn in list(self.connections):
                conn.reset()

    async def close(self) -> None:
        await self.stop_listening(drop_connections=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(reader, writer)
        self.connections.add(conn)
        peer = str(writer.get_extra_info("peername"))
        try:
            while not conn.closed:
                request = await read_request(reader, peer)
                if request is None:
                    break
                keep_alive = await self._handler(request, conn)
                if not keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            OSError,
        ):
            pass
        except asyncio.CancelledError:
            conn.reset()  # the double is shutting down; the stream callback must not see this
        finally:
            conn.close()
            self.connections.discard(conn)
