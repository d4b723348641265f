"""What ``danube login`` keeps for the commands that talk to a server: per server URL,
the issuer's tokens, in ``$XDG_CONFIG_HOME/danube/credentials.json`` (else
``~/.config/danube/``), mode 0600. ``DANUBE_TOKEN`` (a personal API token, or any bearer
token) wins over it. A stored ID token within a minute of its expiry is refreshed."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REFRESH_MARGIN = 60
TIMEOUT = 30.0


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "danube" / "credentials.json"


def load_all() -> dict[str, dict[str, Any]]:
    try:
        found = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def save(server: str, entry: dict[str, Any] | None) -> Path:
    """Store (or, with None, forget) ``server``'s tokens; the file is 0600 from the start."""
    everything = load_all()
    if entry is None:
        everything.pop(server, None)
    else:
        everything[server] = entry
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(everything, file, indent=2)
    os.chmod(temporary, 0o600)
    temporary.replace(path)
    return path


def bearer_for(server: str) -> str | None:
    """The token to send to ``server``: DANUBE_TOKEN, else the one ``danube login`` stored
    (refreshed first when it is about to expire), else None."""
    token = os.environ.get("DANUBE_TOKEN", "").strip()
    if token:
        return token
    entry = load_all().get(server)
    if not entry:
        return None
    if float(entry.get("expires_at", 0)) - time.time() < REFRESH_MARGIN and entry.get("refresh"):
        refreshed = _refresh(entry)
        if refreshed is not None:
            entry = refreshed
            save(server, entry)
    return str(entry.get("id_token") or "") or None


def entry_of(
    tokens: dict[str, Any], issuer: str, client_id: str, token_endpoint: str
) -> dict[str, Any]:
    id_token = str(tokens["id_token"])
    return {
        "issuer": issuer,
        "client_id": client_id,
        "token_endpoint": token_endpoint,
        "id_token": id_token,
        "refresh": tokens.get("refresh_token", ""),
        "expires_at": int(claims_of(id_token).get("exp", 0)),
    }


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the server verifies; the CLI only reads exp/nonce)."""
    try:
        segment = token.split(".")[1]
        found = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    body = urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    request = urllib.request.Request(url, body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        try:
            problem = json.loads(error.read())
        except ValueError:
            problem = {}
        raise ValueError(
            problem.get("error_description") or f"{error.code} {error.reason}"
        ) from None


def _refresh(entry: dict[str, Any]) -> dict[str, Any] | None:
    try:
        tokens = post_form(
            str(entry["token_endpoint"]),
            {
                "grant_type": "refresh_token",
                "refresh_token": str(entry["refresh"]),
                "client_id": str(entry["client_id"]),
            },
        )
    except (ValueError, OSError, KeyError):
        return None  # the server will say the stored token has expired: log in again
    refreshed = entry_of(tokens, entry["issuer"], entry["client_id"], entry["token_endpoint"])
    refreshed["refresh"] = refreshed["refresh"] or entry["refresh"]
    return refreshed
