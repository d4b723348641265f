"""``GET /api/v1/provenance/public-key``: the key that verifies the provenance Danube
signs (PEM), so that anyone can check it without access to the server's machine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.bootstrap import Danube
from api.execution.provenance import provenance_signer

router = APIRouter(prefix="/api/v1")


@router.get(
    "/provenance/public-key",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}, "description": "PEM"}},
)
def public_key(request: Request) -> Response:
    danube: Danube = request.app.state.danube
    signer = provenance_signer(danube)
    return Response(
        content=signer.public_pem(),
        media_type="application/x-pem-file",
        headers={"X-Key-Id": signer.keyid},
    )
