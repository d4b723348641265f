"""What the REST routes answer when they refuse, declared in the OpenAPI document so it
matches behaviour: every status a route returns, with its body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

UUID_PATTERN = r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$"

_MEANING = {
    400: "The request is malformed; ``detail`` names the problem",
    401: "Not authenticated",
    404: "No such resource",
    413: "The body is too large",
    503: "Danube is draining or not ready; retry later",
}


class ErrorBody(BaseModel):
    """A refusal: what was wrong, in words."""

    detail: str


class WebhookReply(BaseModel):
    """What a webhook delivery was answered with: ``status`` says what happened."""

    status: str
    detail: str | None = None
    delivery: str | None = None
    runs: list[str] | None = None
    reason: str | None = None


def errors(*codes: int, model: type[BaseModel] = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer these statuses with ``model``."""
    return {code: {"model": model, "description": _MEANING[code]} for code in codes}
