"""``danube login``: the authorization code flow with PKCE and a loopback redirect (as
``gh auth login`` and ``gcloud auth login`` do): the browser logs in at the issuer, which
redirects to a one-shot listener on 127.0.0.1; the tokens are stored 0600 for the
commands that talk to the server. ``danube logout`` forgets them; ``danube whoami`` says
who the server takes you for."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import urllib.parse
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from api.commands.client import Api
from api.commands.credentials import bearer_for, claims_of, entry_of, post_form, save
from api.commands.errors import EXIT_FAILED, CommandError
from api.settings import Settings

WAIT_SECONDS = 300.0


class Loopback:
    """One redirect to ``http://127.0.0.1:PORT/callback``, then it stops listening."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.query: dict[str, str] = {}
        self.arrived = threading.Event()
        loopback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/callback":
                    self.send_error(404)
                    return
                loopback.query = dict(urllib.parse.parse_qsl(url.query))
                ok = "code" in loopback.query
                text = "Logged in to Danube: you can close this tab." if ok else "Login failed."
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(text.encode())
                loopback.arrived.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://{host}:{self.http.server_address[1]}/callback"

    def wait(self, timeout: float) -> dict[str, str]:
        thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        thread.start()
        try:
            if not self.arrived.wait(timeout):
                raise CommandError(
                    f"no login within {int(timeout)} s; run danube login again", EXIT_FAILED
                )
        finally:
            self.http.shutdown()
            self.http.server_close()
        return self.query


def login(args: argparse.Namespace, settings: Settings) -> int:
    server = (args.server or settings.public_url).rstrip("/")
    api = Api(server)
    where: dict[str, Any] = json.loads(api._open("/auth/cli", None, {}).read())
    issuer, client_id = str(where["issuer"]), str(where["client_id"])
    discovery = json.loads(Api(issuer)._open("/.well-known/openid-configuration", None, {}).read())
    verifier, state, nonce = (
        secrets.token_urlsafe(48),
        secrets.token_urlsafe(16),
        secrets.token_urlsafe(16),
    )
    loopback = Loopback(str(where.get("redirect_host") or "127.0.0.1"))
    url = (
        discovery["authorization_endpoint"]
        + "?"
        + urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": loopback.redirect_uri,
                "scope": where["scope"],
                "state": state,
                "nonce": nonce,
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
            }
        )
    )
    print(
        f"Open this address in a browser to log in to {server}:\n  {url}",
        file=sys.stderr,
        flush=True,
    )
    if not args.no_browser:
        webbrowser.open(url)
    answer = loopback.wait(args.timeout)
    if answer.get("state") != state or "code" not in answer:
        reason = answer.get("error_description") or answer.get("error") or "state mismatch"
        raise CommandError(f"login refused: {reason}", EXIT_FAILED)
    try:
        tokens = post_form(
            discovery["token_endpoint"],
            {
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": loopback.redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
    except ValueError as error:
        raise CommandError(f"the issuer refused the login: {error}", EXIT_FAILED) from None
    if claims_of(str(tokens.get("id_token", ""))).get("nonce") != nonce:
        raise CommandError("the issuer's ID token does not carry this login's nonce", EXIT_FAILED)
    entry = entry_of(tokens, issuer, client_id, discovery["token_endpoint"])
    me = _me(server, entry["id_token"])
    path = save(server, entry)
    print(f"Logged in to {server} as {me['name']} ({me['email']}); token stored in {path}")
    return 0


def logout(args: argparse.Namespace, settings: Settings) -> int:
    server = (args.server or settings.public_url).rstrip("/")
    path = save(server, None)
    print(f"Logged out of {server} (forgotten in {path})")
    return 0


def whoami(args: argparse.Namespace, settings: Settings) -> int:
    server = (args.server or settings.public_url).rstrip("/")
    token = bearer_for(server)
    if token is None:
        raise CommandError(
            f"not logged in to {server}: run danube login (or set DANUBE_TOKEN)", EXIT_FAILED
        )
    me = _me(server, token)
    print(f"{me['name']} ({me['email']}) via {me['via']}, scope {me['scope']}")
    return 0


def _me(server: str, token: str) -> dict[str, Any]:
    reply = Api(server, token)._open("/auth/me", None, {})
    found: dict[str, Any] = json.loads(reply.read())
    return found


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def command(name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
        parser.add_argument("--server", help="the server's URL (default: DANUBE_PUBLIC_URL)")
        return parser

    sub = command("login", "log in to a server in the browser; stores the token (0600)")
    sub.add_argument("--no-browser", action="store_true", help="only print the address to open")
    sub.add_argument("--timeout", type=float, default=WAIT_SECONDS, help="seconds to wait (300)")
    sub.set_defaults(handler=login)
    command("logout", "forget the token danube login stored").set_defaults(handler=logout)
    command("whoami", "who the server takes you for").set_defaults(handler=whoami)
