"""Installation access tokens from a server speaking GitHub's documented endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.git.github_app import GitHubAppError, GitHubAppTokens
from tests.integration.git.github_app_server import GitHubApp, rsa_key_pem, serve_github


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[GitHubApp, str]]:
    app = GitHubApp("42", "1001", rsa_key_pem())
    with serve_github(tmp_path, app) as base:
        yield app, f"{base}/api"


def test_a_token_is_reused_until_shortly_before_it_expires(github: tuple[GitHubApp, str]) -> None:
    app, api = github
    now = [time.time()]
    tokens = GitHubAppTokens(api, clock=lambda: now[0])

    first = tokens.token("42", "1001", app.private_key_pem)
    now[0] += 50 * 60  # 10 minutes before the hour is up
    again = tokens.token("42", "1001", app.private_key_pem)
    now[0] += 6 * 60  # 4 minutes before: renewed
    renewed = tokens.token("42", "1001", app.private_key_pem)

    assert first == again != renewed
    assert app.issued == [first, renewed]


def test_a_jwt_for_another_app_is_refused_with_githubs_message(
    github: tuple[GitHubApp, str],
) -> None:
    app, api = github

    with pytest.raises(GitHubAppError) as refused:
        GitHubAppTokens(api).token("43", "1001", app.private_key_pem)

    assert str(refused.value) == (
        f"{api}/app/installations/1001/access_tokens answered 401: "
        "'Issuer' claim ('iss') must be an Integer"
    )


def test_a_key_that_is_not_pem_is_named_without_being_shown() -> None:
    with pytest.raises(GitHubAppError) as refused:
        GitHubAppTokens("http://127.0.0.1:9").token("42", "1", "not-a-key-ABCDEF")

    assert str(refused.value) == "the private key is not a PEM-encoded RSA key"
