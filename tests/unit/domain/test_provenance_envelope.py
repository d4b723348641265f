"""DSSE envelopes and provenance statements, in memory: PAE as the DSSE spec's example
gives it, a round trip, and each kind of tampering named by its own error."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.crypto.signing import Ed25519Signer, Ed25519Verifier
from domain.provenance.envelope import open_envelope, pae, seal
from domain.provenance.errors import (
    EnvelopeFormatError,
    PayloadChangedError,
    PayloadReserialisedError,
    PayloadTypeError,
    SubjectMismatchError,
    WrongKeyError,
)
from domain.provenance.statement import git_uri
from domain.provenance.subjects import check_subjects

STATEMENT = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "dist/app.whl", "digest": {"sha256": "ab" * 32}}],
    "predicateType": "https://slsa.dev/provenance/v1",
    "predicate": {"buildDefinition": {"buildType": "x:y", "externalParameters": {}}},
}


def keypair() -> tuple[Ed25519Signer, Ed25519Verifier]:
    key = Ed25519PrivateKey.generate()
    return Ed25519Signer(key), Ed25519Verifier(key.public_key())


def test_pae_is_the_dsse_specs_encoding() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_a_sealed_statement_opens_with_its_public_key() -> None:
    signer, verifier = keypair()
    envelope = seal(STATEMENT, signer)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    opened = open_envelope(json.dumps(envelope).encode(), verifier)
    assert opened.statement == STATEMENT and opened.keyid == signer.keyid
    assert check_subjects(opened.statement, {"app.whl": "ab" * 32}) == ["app.whl"]


def test_each_tampering_has_its_own_error() -> None:
    signer, verifier = keypair()
    envelope = seal(STATEMENT, signer)

    def opened(changed: dict[str, object]) -> None:
        open_envelope(json.dumps(changed).encode(), verifier)

    changed = dict(STATEMENT, predicateType="https://slsa.dev/provenance/v0.2")
    payload = json.dumps(changed, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(PayloadChangedError, match="changed after signing"):
        opened(dict(envelope, payload=base64.b64encode(payload).decode()))
    reordered = json.dumps(dict(reversed(list(STATEMENT.items())))).encode()
    with pytest.raises(PayloadReserialisedError, match="re-serialised"):
        opened(dict(envelope, payload=base64.b64encode(reordered).decode()))
    with pytest.raises(PayloadTypeError, match="payloadType was changed"):
        opened(dict(envelope, payloadType="application/json"))
    with pytest.raises(WrongKeyError, match="not by the given key"):
        open_envelope(json.dumps(envelope).encode(), keypair()[1])
    with pytest.raises(EnvelopeFormatError, match="no signatures"):
        opened({"payloadType": envelope["payloadType"], "payload": envelope["payload"]})
    with pytest.raises(SubjectMismatchError, match="the artifact was changed"):
        check_subjects(STATEMENT, {"app.whl": "cd" * 32})
    with pytest.raises(SubjectMismatchError, match="not a subject"):
        check_subjects(STATEMENT, {"other.whl": "ab" * 32})


@pytest.mark.parametrize(
    ("repository", "uri"),
    [
        ("https://github.com/acme/web.git", "https://github.com/acme/web.git"),
        ("git@github.com:acme/web.git", "ssh://git@github.com/acme/web.git"),
        ("/srv/git/web", "file:///srv/git/web"),
    ],
)
def test_repositories_become_uris(repository: str, uri: str) -> None:
    assert git_uri(repository) == uri
