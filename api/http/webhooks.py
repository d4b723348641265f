"""``POST /webhooks/github`` and ``/webhooks/gitlab``: verify, store, then process.

Order matters: the signature is checked on the raw body before anything is parsed; a
body that is too large, unsigned or badly signed, or arrives while draining, or is not
the JSON the forge documents, is refused with nothing stored. Every other delivery (pings
and events that start nothing too) is stored before the 2xx reply, so a crash after the
reply loses nothing (the inbox worker processes what is left) and each is listed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.http.errors import WebhookReply, errors
from api.observability.hooks import count_delivery
from domain.triggers.errors import (
    InvalidRepositoryUrlError,
    MalformedPayloadError,
    WebhookRejectedError,
)
from domain.triggers.model import TriggerEvent
from domain.triggers.repository_url import normalise_repository_url
from domain.webhooks.application import DUPLICATE, PENDING, Inbox
from domain.webhooks.errors import InboxDrainingError

if TYPE_CHECKING:
    from api.triggers.loops import ConfigSyncLoop
    from api.triggers.secrets import WebhookSecrets

router = APIRouter()

# Only these reach the inbox: never a signature or a token.
KEPT_HEADERS = {
    "content-type", "user-agent", "x-github-event", "x-github-delivery", "x-github-hook-id",
    "x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-webhook-uuid", "idempotency-key",
    "x-gitlab-instance",
}  # fmt: skip


class BodyTooLargeError(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class WebhookIntake:
    """What the webhook route uses (``app.state.webhooks``): the inbox, the secrets a
    delivery is verified with, the body limit, and the config sync a push to the config
    repository wakes (None where this process runs none)."""

    inbox: Inbox
    secrets: WebhookSecrets
    max_body_bytes: int
    config_repo_url: str = ""
    config_sync: ConfigSyncLoop | None = None


def reply(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": message, **extra}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": WebhookReply, "description": "Stored, or a run started"}
}


@router.post(
    "/webhooks/{provider}",
    response_model=WebhookReply,
    responses=errors(400, 401, 404, 413, 503, model=WebhookReply) | ACCEPTED,
)
async def receive(provider: str, request: Request) -> JSONResponse:
    intake: WebhookIntake = request.app.state.webhooks
    forge = intake.inbox.forge(provider)
    if forge is None:
        return reply(404, "unknown forge", detail=f"no webhooks for {provider!r}: github, gitlab")
    limit = intake.max_body_bytes
    try:
        body = await read_body(request, limit)
    except BodyTooLargeError:
        return reply(413, "rejected", detail=f"the body exceeds {limit} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    response = await run_in_threadpool(_handle, intake, provider, forge, body, headers)
    count_delivery(provider, response)
    return response


def _handle(
    intake: WebhookIntake,
    provider: str,
    forge: Any,
    body: bytes,
    headers: dict[str, str],
) -> JSONResponse:
    secrets = intake.secrets.candidates(provider)
    try:
        verified = list(forge.verify(body, headers, secrets))
    except WebhookRejectedError as error:
        return reply(401, "rejected", detail=str(error))
    try:
        body.decode("utf-8")
        parsed = forge.parse(body, headers)
    except (MalformedPayloadError, UnicodeDecodeError) as error:
        return reply(400, "rejected", detail=f"malformed payload: {error}")
    kept = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
    try:
        outcome = intake.inbox.deliver(
            provider, parsed.delivery_id, parsed.event_name, kept, body, verified
        )
    except InboxDrainingError:
        return JSONResponse(
            {"status": "draining", "detail": "Danube is draining; retry later"},
            status_code=503,
            headers={"Retry-After": "60"},
        )
    if outcome.outcome == DUPLICATE:
        return reply(200, "duplicate", delivery=parsed.delivery_id)
    if isinstance(parsed, TriggerEvent):
        _maybe_sync_config(intake, parsed)
    if outcome.outcome == PENDING:  # stored; the inbox worker processes it later
        return reply(202, "accepted", delivery=parsed.delivery_id, reason=outcome.reason)
    return reply(
        202 if outcome.outcome == "started" else 200,
        outcome.outcome,
        delivery=parsed.delivery_id,
        runs=outcome.runs,
        reason=outcome.reason,
    )


def _maybe_sync_config(intake: WebhookIntake, event: TriggerEvent) -> None:
    """A push to the config repository itself: sync now instead of at the next interval."""
    url, config_sync = intake.config_repo_url, intake.config_sync
    if config_sync is None or not url:
        return
    with contextlib.suppress(InvalidRepositoryUrlError):
        if normalise_repository_url(url) in event.repository_keys():
            config_sync.wake()
