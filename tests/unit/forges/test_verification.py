import hmac

import pytest

from adapters.forges import (
    GitHubWebhooks,
    GitLabWebhooks,
    SignatureMismatchError,
    SignatureMissingError,
    WebhookSecretNotConfiguredError,
)
from domain.triggers import WebhookSecret
from tests.unit.forges.deliveries import (
    GITHUB_SECRET,
    GITLAB_TOKEN,
    body,
    github_headers,
    github_signature,
    gitlab_headers,
)

github = GitHubWebhooks()
gitlab = GitLabWebhooks()
GLOBAL = WebhookSecret("global", GITHUB_SECRET)
RAW = body("github/push_branch.json")


def test_a_correctly_signed_github_delivery_is_verified() -> None:
    assert github.verify(RAW, github_headers("push", RAW), [GLOBAL]) == ("global",)


def test_verification_reports_which_candidate_secret_matched() -> None:
    candidates = [
        WebhookSecret("global", "the global secret"),
        WebhookSecret("pipeline:api", "api secret"),
        WebhookSecret("pipeline:web", "web secret"),
    ]
    headers = github_headers("push", RAW, secret="web secret")
    assert github.verify(RAW, headers, candidates) == ("pipeline:web",)


def test_every_candidate_sharing_the_secret_is_reported_in_order() -> None:
    candidates = [WebhookSecret("pipeline:b", "shared"), WebhookSecret("pipeline:a", "shared")]
    headers = github_headers("push", RAW, secret="shared")
    assert github.verify(RAW, headers, candidates) == ("pipeline:b", "pipeline:a")


def test_headers_are_found_whatever_their_case_and_hex_case() -> None:
    headers = {"x-hub-signature-256": github_signature(RAW).upper().replace("SHA256=", "sha256=")}
    assert github.verify(RAW, headers, [GLOBAL]) == ("global",)


def test_a_delivery_without_a_signature_is_refused_naming_the_header() -> None:
    headers = github_headers("push", RAW)
    del headers["X-Hub-Signature-256"]  # the legacy SHA-1 header alone is not enough
    with pytest.raises(SignatureMissingError) as raised:
        github.verify(RAW, headers, [GLOBAL])
    assert raised.value.header == "X-Hub-Signature-256"
    assert "X-Hub-Signature-256" in str(raised.value)


@pytest.mark.parametrize(
    "signature",
    [
        "sha1=8c5e2b0e3b0c4e6f1a2b3c4d5e6f7a8b9c0d1e2f",
        "sha256=not-hex-at-all",
        "sha256=abcd",
        "sha256=",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ],
)
def test_a_malformed_signature_is_a_mismatch(signature: str) -> None:
    with pytest.raises(SignatureMismatchError, match="malformed"):
        github.verify(RAW, {"X-Hub-Signature-256": signature}, [GLOBAL])


def test_a_signature_made_with_another_secret_is_refused_without_echoing_secrets() -> None:
    headers = github_headers("push", RAW, secret="a guess")
    with pytest.raises(SignatureMismatchError) as raised:
        github.verify(RAW, headers, [GLOBAL, WebhookSecret("pipeline:web", "hunter2")])
    assert GITHUB_SECRET not in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert "a guess" not in str(raised.value)


def test_a_tampered_body_is_refused() -> None:
    headers = github_headers("push", RAW)
    tampered = RAW.replace(b"refs/heads/main", b"refs/heads/prod")
    with pytest.raises(SignatureMismatchError):
        github.verify(tampered, headers, [GLOBAL])


def test_verification_does_not_parse_the_body() -> None:
    raw = b"{ this is not json"
    assert github.verify(raw, github_headers("push", raw), [GLOBAL]) == ("global",)


@pytest.mark.parametrize("secrets", [[], [WebhookSecret("global", "")]])
def test_without_a_configured_secret_every_delivery_is_refused(
    secrets: list[WebhookSecret],
) -> None:
    with pytest.raises(WebhookSecretNotConfiguredError):
        github.verify(RAW, github_headers("push", RAW), secrets)
    with pytest.raises(WebhookSecretNotConfiguredError):
        gitlab.verify(RAW, gitlab_headers("Push Hook", token=""), secrets)


def test_an_empty_secret_never_verifies_anything() -> None:
    unsigned = github_headers("push", RAW, secret="")
    candidates = [WebhookSecret("unset", ""), GLOBAL]
    with pytest.raises(SignatureMismatchError):
        github.verify(RAW, unsigned, candidates)


def test_every_candidate_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(len(a))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    candidates = [GLOBAL, WebhookSecret("b", "x"), WebhookSecret("c", ""), WebhookSecret("d", "y")]
    github.verify(RAW, github_headers("push", RAW), candidates)
    gitlab.verify(RAW, gitlab_headers("Push Hook", token="y"), candidates)
    assert calls == [32] * 6  # three usable candidates each, no early exit, equal lengths


def test_secret_values_stay_out_of_reprs() -> None:
    assert "hunter2" not in repr(WebhookSecret("pipeline:web", "hunter2"))


def test_a_gitlab_delivery_with_the_right_token_is_verified() -> None:
    candidates = [WebhookSecret("global", "other"), WebhookSecret("pipeline:web", GITLAB_TOKEN)]
    assert gitlab.verify(RAW, gitlab_headers("Push Hook"), candidates) == ("pipeline:web",)


def test_a_gitlab_delivery_without_a_token_is_refused_naming_the_header() -> None:
    headers = gitlab_headers("Push Hook")
    del headers["X-Gitlab-Token"]
    with pytest.raises(SignatureMissingError, match="X-Gitlab-Token"):
        gitlab.verify(RAW, headers, [WebhookSecret("global", GITLAB_TOKEN)])
    with pytest.raises(SignatureMissingError):
        gitlab.verify(RAW, gitlab_headers("Push Hook", token="  "), [WebhookSecret("g", "t")])


@pytest.mark.parametrize(
    "token", ["wrong", GITLAB_TOKEN + "x", GITLAB_TOKEN[:-1], GITLAB_TOKEN.upper()]
)
def test_a_gitlab_delivery_with_a_wrong_token_is_refused(token: str) -> None:
    with pytest.raises(SignatureMismatchError) as raised:
        gitlab.verify(
            RAW, gitlab_headers("Push Hook", token=token), [WebhookSecret("g", GITLAB_TOKEN)]
        )
    assert raised.value.header == "X-Gitlab-Token"
    assert GITLAB_TOKEN not in str(raised.value)
