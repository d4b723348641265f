"""Turning a branch, tag or SHA into a commit on a real remote (path and file:// URLs)."""

import pytest

from adapters.git import GitRefNotFoundError, resolve_ref
from tests.integration.git.origin import Origin


@pytest.fixture
def history(origin: Origin) -> dict[str, str]:
    first = origin.commit({"a.txt": "1"}, "first")
    second = origin.commit({"a.txt": "2"}, "second")
    origin.push("main")
    origin.tag("v1.0")
    origin.switch("release/1.x", first)
    fix = origin.commit({"fix.txt": "x"}, "fix")
    origin.push("release/1.x")
    origin.tag("v0.9", annotated=True)
    return {"first": first, "second": second, "fix": fix}


@pytest.mark.parametrize("url_kind", ["path", "file"])
def test_a_branch_resolves_to_its_head(
    origin: Origin, history: dict[str, str], url_kind: str
) -> None:
    url = str(origin.bare) if url_kind == "path" else origin.file_url

    assert resolve_ref(url, "main") == history["second"]
    assert resolve_ref(url, "release/1.x") == history["fix"]
    assert resolve_ref(url, "refs/heads/main") == history["second"]


def test_a_lightweight_and_an_annotated_tag_resolve_to_their_commits(
    origin: Origin, history: dict[str, str]
) -> None:
    assert resolve_ref(origin.file_url, "v1.0") == history["second"]
    assert resolve_ref(origin.file_url, "v0.9") == history["fix"]
    assert resolve_ref(origin.file_url, "refs/tags/v0.9") == history["fix"]


def test_head_resolves_to_the_default_branch(origin: Origin, history: dict[str, str]) -> None:
    assert resolve_ref(origin.file_url, "HEAD") == history["second"]


def test_a_tag_wins_over_a_branch_of_the_same_name_as_in_git(
    origin: Origin, history: dict[str, str]
) -> None:
    origin.switch("v1.0", history["first"])
    origin.push("v1.0")

    assert resolve_ref(origin.file_url, "v1.0") == history["second"]
    assert resolve_ref(origin.file_url, "refs/heads/v1.0") == history["first"]


def test_a_full_sha_inside_the_history_resolves_to_itself(
    origin: Origin, history: dict[str, str]
) -> None:
    assert resolve_ref(origin.file_url, history["first"]) == history["first"]
    assert resolve_ref(origin.file_url, history["fix"].upper()) == history["fix"]


def test_a_missing_branch_is_a_ref_not_found_error_naming_the_remote(
    origin: Origin, history: dict[str, str]
) -> None:
    with pytest.raises(GitRefNotFoundError) as caught:
        resolve_ref(origin.file_url, "nope")

    assert str(caught.value) == f"no branch, tag or commit 'nope' in {origin.file_url}"


def test_an_unknown_full_sha_is_not_found(origin: Origin, history: dict[str, str]) -> None:
    with pytest.raises(GitRefNotFoundError):
        resolve_ref(origin.file_url, "1" * 40)


def test_an_abbreviated_sha_asks_for_the_full_one(origin: Origin, history: dict[str, str]) -> None:
    with pytest.raises(GitRefNotFoundError, match="give the full SHA"):
        resolve_ref(origin.file_url, history["first"][:8])


def test_a_ref_that_looks_like_an_option_is_refused(
    origin: Origin, history: dict[str, str]
) -> None:
    with pytest.raises(GitRefNotFoundError, match="invalid ref"):
        resolve_ref(origin.file_url, "--upload-pack=touch /tmp/x")
