"""RFC 6455 server side: the upgrade handshake and the frame codec, over a `Connection`."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

from .server import Connection, Request

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


@dataclass(frozen=True)
class Message:
    opcode: int
    data: bytes


def is_upgrade(request: Request) -> bool:
    return (
        "websocket" in request.headers.get("upgrade", "").lower()
        and "upgrade" in request.headers.get("connection", "").lower()
    )


def offered_protocols(request: Request) -> list[str]:
    raw = request.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


async def accept(conn: Connection, request: Request, protocol: str) -> None:
    key = request.headers.get("sec-websocket-key", "")
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    head = (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {base64.b64encode(digest).decode('ascii')}\r\n"
        f"Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
    )
    conn.streaming = True
    await conn.write(head.encode("latin-1"))


def encode_frame(opcode: int, payload: bytes) -> bytes:
    length = len(payload)
    first = bytes([0x80 | opcode])
    if length < 126:
        header = first + bytes([length])
    elif length < 1 << 16:
        header = first + bytes([126]) + struct.pack("!H", length)
    else:
        header = first + bytes([127]) + struct.pack("!Q", length)
    return header + payload


async def send(conn: Connection, opcode: int, payload: bytes) -> None:
    await conn.write(encode_frame(opcode, payload))


async def send_close(conn: Connection, code: int = 1000, reason: str = "") -> None:
    await send(conn, OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))


async def _read_frame(conn: Connection) -> tuple[bool, int, bytes]:
    first, second = await conn.reader.readexactly(2)
    fin, opcode = bool(first & 0x80), first & 0x0F
    masked, length = bool(second & 0x80), second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await conn.reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await conn.reader.readexactly(8))
    mask = await conn.reader.readexactly(4) if masked else b""
    payload = await conn.reader.readexactly(length)
    if masked and length:
        key = (mask * (length // 4 + 1))[:length]
        value = int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")
        payload = value.to_bytes(length, "big")
    return fin, opcode, payload


async def receive(conn: Connection, answer_pings: Callable[[], bool] = lambda: True) -> Message:
    """The next data or close message; answers pings on the way (unless ``answer_pings``
    says otherwise: a black-holed connection answers nothing)."""
    buffer = bytearray()
    message_opcode = None
    while True:
        fin, opcode, payload = await _read_frame(conn)
        if opcode == OP_PING:
            if answer_pings():
                await send(conn, OP_PONG, payload)
            continue
        if opcode == OP_PONG:
            continue
        if opcode == OP_CLOSE:
            return Message(OP_CLOSE, payload)
        if opcode != OP_CONTINUATION:
            message_opcode = opcode
        buffer += payload
        if fin:
            return Message(message_opcode or OP_BINARY, bytes(buffer))
