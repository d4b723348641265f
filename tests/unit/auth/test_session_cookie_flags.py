"""The session cookie's Secure flag follows the public URL unless set, and the cookie
carries HttpOnly and SameSite=Lax always."""

from __future__ import annotations

import os

import pytest

from api.auth.options import oidc_options
from api.auth.session import SessionCookies
from api.settings import Settings


@pytest.mark.parametrize(
    ("public_url", "setting", "secure"),
    [
        ("http://127.0.0.1:8080", None, False),
        ("http://localhost:8080", None, False),
        ("https://ci.example.com", None, True),
        ("http://ci.example.com", None, True),  # over plain http the browser drops it: loud
        ("http://127.0.0.1:8080", True, True),
        ("https://ci.example.com", False, False),
    ],
)
def test_secure_is_on_unless_the_public_url_is_plain_http_on_loopback(
    public_url: str, setting: bool | None, secure: bool
) -> None:
    extra = {} if setting is None else {"session_cookie_secure": setting}
    options = oidc_options(Settings(public_url=public_url, **extra))
    assert options.cookie_secure is secure
    cookie = SessionCookies(app=None, key=os.urandom(32), name="s", secure=secure)  # type: ignore[arg-type]
    header = cookie.cookie({"user": {"login": "alice"}})
    assert "; HttpOnly" in header and "; SameSite=Lax" in header and "; Path=/" in header
    assert ("; Secure" in header) is secure


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANUBE_SESSION_COOKIE_SECURE", "false")
    assert oidc_options(Settings(public_url="https://ci.example.com")).cookie_secure is False


def test_a_cookie_sealed_under_another_key_opens_to_no_session() -> None:
    ours = SessionCookies(app=None, key=os.urandom(32), name="s", secure=True)  # type: ignore[arg-type]
    theirs = SessionCookies(app=None, key=os.urandom(32), name="s", secure=True)  # type: ignore[arg-type]
    sealed = theirs.seal({"user": {"login": "admin"}})
    assert theirs.open(sealed) == {"user": {"login": "admin"}}
    assert ours.open(sealed) == {}
    assert ours.open("not base64 at all!") == {}
