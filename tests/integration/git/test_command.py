"""Redaction and classification of git's output (pure; next to the git tests they serve)."""

import pytest

from adapters.git import GitAuthenticationError, GitError, GitRefNotFoundError, GitUnreachableError
from adapters.git.command import classify, redact, strip_credentials


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:tok@github.com/o/r.git", "https://user:***@github.com/o/r.git"),
        ("https://ghp_abc@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"),
        ("ssh://git:pw@host/r.git", "ssh://git:***@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        (
            "fatal: unable to access 'https://a:b@h/r/'",
            "fatal: unable to access 'https://a:***@h/r/'",
        ),
        ("/srv/git/repo", "/srv/git/repo"),
    ],
)
def test_credentials_in_urls_are_redacted(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_a_stored_url_loses_its_credentials_entirely() -> None:
    assert strip_credentials("https://u:p@h.example/r.git") == "https://h.example/r.git"


@pytest.mark.parametrize(
    ("stderr", "kind", "detail"),
    [
        ("git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.",
         GitAuthenticationError, "git@h: Permission denied (publickey)."),
        ("remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://h/r.git/'",
         GitAuthenticationError, "remote: HTTP Basic: Access denied"),
        ("fatal: couldn't find remote ref refs/heads/x", GitRefNotFoundError,
         "fatal: couldn't find remote ref refs/heads/x"),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", GitUnreachableError,
         "fatal: unable to access 'https://h/': Could not resolve host: h"),
        ("warning: something\nfatal: the remote end hung up unexpectedly\nerror: x", GitError,
         "fatal: the remote end hung up unexpectedly"),
        ("", GitError, "git exited with an error and said nothing"),
    ],
)  # fmt: skip
def test_a_failure_is_classified_by_what_git_said(
    stderr: str, kind: type[GitError], detail: str
) -> None:
    error = classify("fetching", "https://u:p@h/r.git", stderr)

    assert type(error) is kind
    assert error.detail == detail
    assert str(error) == f"fetching of https://u:***@h/r.git failed: {detail}"
