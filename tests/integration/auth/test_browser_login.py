"""Browser-free login against the built-in issuer, over real HTTP: follow the redirects,
post the login form, get the session cookie, call an API with it, log out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.sql.store import StoreConfig
from api.auth import local_admin
from api.auth.issuer import s256
from api.auth.minting import Lifetimes
from tests.integration.auth.conftest import Server, log_in


@pytest.fixture
def store_config(tmp_path: Path) -> Iterator[StoreConfig]:
    """Logging in touches no event store: SQLite is enough here."""
    local_admin.ensure_password(tmp_path)
    return StoreConfig(kind="sqlite", data_dir=tmp_path)


def test_the_first_admin_logs_in_through_the_built_in_issuer(
    server: Server, tmp_path: Path
) -> None:
    password = local_admin.read_password(tmp_path)
    assert password
    with httpx.Client(timeout=30) as client:
        assert client.get(f"{server.url}/auth/me").status_code == 401
        done = log_in(server, client, password, next_path="/pipelines/example?tab=runs")
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/pipelines/example?tab=runs"
        cookie = done.headers["set-cookie"]
        assert cookie.startswith("danube_session=")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # http://127.0.0.1: browsers would drop it
        me = client.get(f"{server.url}/auth/me")
        assert me.status_code == 200, me.text
        assert me.json() == {
            "name": "admin",
            "email": "admin@danube.local",
            "via": "session",
            "scope": "write",
        }
        out = client.post(f"{server.url}/auth/logout")
        assert out.status_code == 204
        assert "danube_session=;" in out.headers["set-cookie"]
        assert client.get(f"{server.url}/auth/me").status_code == 401


def test_a_wrong_password_shows_the_form_again(server: Server) -> None:
    with httpx.Client(timeout=30) as client:
        answer = log_in(server, client, "not-the-password")
        assert answer.status_code == 401
        assert "Wrong user name or password." in answer.text
        assert '<input name="password" type="password"' in answer.text
        assert client.get(f"{server.url}/auth/me").status_code == 401


def test_a_forged_or_tampered_session_cookie_is_no_session(server: Server, tmp_path: Path) -> None:
    password = local_admin.read_password(tmp_path) or ""
    with httpx.Client(timeout=30) as client:
        log_in(server, client, password)
        real = client.cookies["danube_session"]
        tampered = real[:-6] + ("AAAA" if real[-6:-2] != "AAAA" else "BBBB") + real[-2:]
        for value in (tampered, "eyJ1c2VyIjogeyJsb2dpbiI6ICJhZG1pbiJ9fQ=="):
            forged = httpx.Client(timeout=30, cookies={"danube_session": value})
            with forged:
                assert forged.get(f"{server.url}/auth/me").status_code == 401


def test_login_never_redirects_off_site(server: Server, tmp_path: Path) -> None:
    password = local_admin.read_password(tmp_path) or ""
    with httpx.Client(timeout=30) as client:
        done = log_in(server, client, password, next_path="//evil.example/steal")
        assert done.headers["location"] == "/"


def test_the_issuer_refuses_requests_without_pkce_or_with_a_foreign_redirect(
    server: Server,
) -> None:
    base = f"{server.url}/auth/issuer/authorize"
    good = {
        "response_type": "code",
        "client_id": "danube",
        "redirect_uri": f"{server.url}/auth/callback",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "state": "s",
    }
    with httpx.Client(timeout=30) as client:
        assert client.get(base, params=good).status_code == 200
        no_pkce = {k: v for k, v in good.items() if not k.startswith("code_challenge")}
        refused = client.get(base, params=no_pkce)
        assert refused.status_code == 400 and "PKCE is required" in refused.text
        foreign = client.get(base, params={**good, "redirect_uri": "https://evil.example/cb"})
        assert foreign.status_code == 400 and "redirect_uri must be" in foreign.text
        plain = client.get(base, params={**good, "code_challenge_method": "plain"})
        assert plain.status_code == 400


def test_a_session_near_its_tokens_expiry_is_refreshed_and_ends_when_it_cannot_be(
    server: Server, tmp_path: Path
) -> None:
    password = local_admin.read_password(tmp_path) or ""
    minter = server.app.state.oidc_issuer.minter
    minter.lifetimes = Lifetimes(id_token=30)  # inside the refresh margin from the start
    with httpx.Client(timeout=30) as client:
        log_in(server, client, password)
        before = client.cookies["danube_session"]
        me = client.get(f"{server.url}/auth/me")
        assert me.status_code == 200, me.text
        assert client.cookies["danube_session"] != before  # refreshed: a new session cookie
        minter.lifetimes = Lifetimes(id_token=30, refresh_token=-1)
        log_in(server, client, password)  # a session whose refresh token is already expired
        ended = client.get(f"{server.url}/auth/me")
        assert ended.status_code == 401
        assert "your session has ended" in ended.json()["detail"]
        assert "danube_session=;" in ended.headers["set-cookie"]
        assert client.get(f"{server.url}/auth/me").status_code == 401


def test_an_authorization_code_is_used_once_and_only_with_its_verifier(
    server: Server, tmp_path: Path
) -> None:
    verifier = "v" * 64
    params = {
        "client_id": "danube-cli",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "state": "s",
        "nonce": "n",
        "code_challenge": s256(verifier),
        "scope": "openid",
        "username": "admin@danube.local",  # the e-mail logs in too
        "password": local_admin.read_password(tmp_path) or "",
    }
    token_url = f"{server.url}/auth/issuer/token"

    def code() -> str:
        posted = httpx.post(f"{server.url}/auth/issuer/authorize", data=params, timeout=30)
        assert posted.status_code == 303, posted.text
        return parse_qs(urlsplit(posted.headers["location"]).query)["code"][0]

    def exchange(code: str, code_verifier: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": params["redirect_uri"],
            "client_id": "danube-cli",
            "code_verifier": code_verifier,
        }
        return httpx.post(token_url, data=form, timeout=30)

    wrong = exchange(code(), "w" * 64)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert "code_verifier does not match" in wrong.json()["error_description"]
    issued = code()
    first = exchange(issued, verifier)
    assert first.status_code == 200, first.text
    assert {"id_token", "access_token", "refresh_token"} <= set(first.json())
    again = exchange(issued, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    refreshed = httpx.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": "danube-cli",
        },
        timeout=30,
    )
    assert refreshed.status_code == 200 and refreshed.json()["id_token"]
    stolen = httpx.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": "danube",
        },
        timeout=30,
    )
    assert stolen.status_code == 400  # issued to another client
