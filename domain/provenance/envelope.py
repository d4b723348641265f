"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1): a payload,
its type, and signatures over PAE(type, payload), never over the payload alone, so a
signature cannot be replayed under another payload type."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Protocol

from domain.provenance.errors import (
    EnvelopeFormatError,
    PayloadChangedError,
    PayloadReserialisedError,
    PayloadTypeError,
    WrongKeyError,
)
from domain.provenance.statement import PAYLOAD_TYPE, canonical_json


class Signer(Protocol):
    """Signs bytes with a private key. ``keyid`` names the key (stable, public)."""

    @property
    def keyid(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks a signature with a public key; ``keyid`` as its ``Signer``'s."""

    @property
    def keyid(self) -> str: ...

    def verify(self, signature: bytes, message: bytes) -> bool: ...


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding: lengths are ASCII decimal byte counts."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def seal(statement: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The statement signed in a DSSE envelope (JSON form)."""
    payload = canonical_json(statement)
    signature = signer.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": signer.keyid, "sig": base64.b64encode(signature).decode()}],
    }


@dataclass(frozen=True)
class Opened:
    statement: dict[str, Any]
    keyid: str


def open_envelope(raw: bytes, verifier: Verifier) -> Opened:
    """The statement of a DSSE envelope signed by ``verifier``'s key, or a named
    ``ProvenanceError`` saying what is wrong with it."""
    envelope = _parse(raw)
    payload_type, payload = envelope["payloadType"], _b64(envelope["payload"], "payload")
    signatures = envelope["signatures"]
    ours = [s for s in signatures if not s.get("keyid") or s.get("keyid") == verifier.keyid]
    if not ours:
        keyids = ", ".join(str(s.get("keyid")) for s in signatures)
        raise WrongKeyError(f"signed by key {keyids}, not by the given key {verifier.keyid}")
    for signature in ours:
        sig = _b64(signature.get("sig", ""), "signature")
        if verifier.verify(sig, pae(payload_type, payload)):
            if payload_type != PAYLOAD_TYPE:
                raise PayloadTypeError(f"payloadType is {payload_type!r}, not {PAYLOAD_TYPE}")
            return Opened(_statement(payload), verifier.keyid)
    raise _diagnose(payload_type, payload, [_b64(s.get("sig", ""), "signature") for s in ours],
                    verifier)  # fmt: skip


def _diagnose(
    payload_type: str, payload: bytes, signatures: list[bytes], verifier: Verifier
) -> Exception:
    """Why no signature verifies: the most specific reason that can be told."""
    if payload_type != PAYLOAD_TYPE and any(
        verifier.verify(sig, pae(PAYLOAD_TYPE, payload)) for sig in signatures
    ):
        return PayloadTypeError(
            f"payloadType was changed from {PAYLOAD_TYPE} to {payload_type!r} after signing"
        )
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if document is not None and canonical_json(document) != payload:
        return PayloadReserialisedError(
            "the signature does not match: the statement was re-serialised after signing "
            "(its JSON keys reordered or reformatted)"
        )
    return PayloadChangedError(
        f"the signature by key {verifier.keyid} does not match: the statement was changed "
        "after signing, or it was signed by another key"
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(raw)
    except ValueError as error:
        raise EnvelopeFormatError(f"not a DSSE envelope: not JSON ({error})") from None
    if not isinstance(envelope, dict):
        raise EnvelopeFormatError("not a DSSE envelope: expected a JSON object")
    missing = [k for k in ("payloadType", "payload", "signatures") if k not in envelope]
    if missing:
        raise EnvelopeFormatError(f"not a DSSE envelope: no {', '.join(missing)}")
    if not isinstance(envelope["signatures"], list) or not envelope["signatures"]:
        raise EnvelopeFormatError("not a DSSE envelope: signatures must be a non-empty list")
    if not all(isinstance(s, dict) for s in envelope["signatures"]):
        raise EnvelopeFormatError("not a DSSE envelope: each signature must be an object")
    return envelope


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeFormatError(f"not a DSSE envelope: the {what} is not base64") from None


def _statement(payload: bytes) -> dict[str, Any]:
    try:
        statement = json.loads(payload)
    except ValueError:
        raise EnvelopeFormatError("the signed payload is not JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != (
        "https://in-toto.io/Statement/v1"
    ):
        raise EnvelopeFormatError("the signed payload is not an in-toto Statement v1")
    return statement
