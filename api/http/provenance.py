"""``GET /api/v1/provenance/public-key``: the key that verifies the provenance Danube
signs (PEM), so that anyone can check it without access to the server's machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter(prefix="/api/v1")


class PublicKey(Protocol):
    """What the route shows of the signing key (``app.state.provenance_key``)."""

    keyid: str

    def public_pem(self) -> str: ...


@router.get(
    "/provenance/public-key",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM"}},
)
def public_key(request: Request) -> Response:
    key: Callable[[], PublicKey] = request.app.state.provenance_key
    signer = key()
    return Response(
        content=signer.public_pem(),
        media_type="application/x-pem-file",
        headers={"X-Key-Id": signer.keyid},
    )
