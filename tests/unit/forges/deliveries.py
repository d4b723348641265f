"""Building real-shaped webhook deliveries from the stored payloads, signed for real."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).parent / "payloads"
GITHUB_SECRET = "It's a Secret to Everybody"
GITLAB_TOKEN = "glwht-7f3c2a9e4b1d"
GITHUB_DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_bytes())
    return data


def body(name_or_data: str | dict[str, Any]) -> bytes:
    if isinstance(name_or_data, str):
        return (PAYLOADS / name_or_data).read_bytes()
    return json.dumps(name_or_data).encode()


def github_signature(raw: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def github_headers(
    event: str, raw: bytes, secret: str = GITHUB_SECRET, delivery: str = GITHUB_DELIVERY
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": github_signature(raw, secret),
    }


def gitlab_headers(event: str, token: str = GITLAB_TOKEN, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.6.0",
        "X-Gitlab-Event": event,
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "X-Gitlab-Token": token,
        "X-Gitlab-Webhook-UUID": "5f9a6c3e-2b1d-4c8e-9f0a-1b2c3d4e5f60",
        "X-Gitlab-Event-UUID": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "Idempotency-Key": "d8b0e5a2-3f4c-4b6d-9e1f-2a3b4c5d6e7f",
    }
    headers.update(extra)
    return headers
