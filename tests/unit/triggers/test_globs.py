import pytest

from domain.triggers import InvalidGlobError, glob_matches, matches_any, validate_glob

MATCHES = [
    ("main", "main"),
    ("release/*", "release/1.0"),
    ("release/*", "release/"),
    ("release/**", "release/1/hotfix"),
    ("release/**", "release/1.0"),
    ("**", "anything/at/all"),
    ("**", "main"),
    ("**/fix", "fix"),
    ("**/fix", "a/fix"),
    ("**/fix", "a/b/c/fix"),
    ("feature/**/wip", "feature/wip"),
    ("feature/**/wip", "feature/x/y/wip"),
    ("feat**", "feature/login"),
    ("*", "main"),
    ("*-stable", "6.1-stable"),
    ("v?", "v1"),
    ("v?.?", "v1.2"),
    ("v[0-9]*", "v1.2.3"),
    ("v[0-9].[0-9]", "v1.2"),
    ("[abc]", "b"),
    ("[!abc]", "d"),
    ("[^abc]", "d"),
    ("[]x]", "]"),
    ("[a-]", "-"),
    ("release-[0-9][0-9][0-9][0-9]", "release-2024"),
    ("hotfix/\\*", "hotfix/*"),
    ("a.b", "a.b"),
    ("(x)+", "(x)+"),
    ("dependabot/npm_and_yarn/*", "dependabot/npm_and_yarn/lodash-4.17.21"),
]

MISMATCHES = [
    ("main", "Main"),
    ("main", "main2"),
    ("main", "feature/main"),
    ("release/*", "release/1/hotfix"),
    ("release/*", "release"),
    ("release/*", "releases/1.0"),
    ("release/**", "release"),
    ("*", "feature/login"),
    ("*-stable", "x/6.1-stable"),
    ("v?", "v10"),
    ("v?", "v/"),
    ("?", ""),
    ("v[0-9]*", "vx"),
    ("[abc]", "d"),
    ("[!abc]", "a"),
    ("[!abc]", "/"),
    ("**/fix", "prefix"),
    ("feature/**/wip", "feature/wipe"),
    ("hotfix/\\*", "hotfix/x"),
    ("a.b", "axb"),
    ("(x)+", "xx"),
]


@pytest.mark.parametrize(("pattern", "name"), MATCHES)
def test_glob_matches(pattern: str, name: str) -> None:
    assert glob_matches(pattern, name)


@pytest.mark.parametrize(("pattern", "name"), MISMATCHES)
def test_glob_does_not_match(pattern: str, name: str) -> None:
    assert not glob_matches(pattern, name)


def test_an_empty_filter_list_means_all() -> None:
    assert matches_any((), "any/branch/at/all")


def test_a_filter_list_matches_when_any_pattern_does() -> None:
    assert matches_any(("main", "release/*"), "release/2.0")
    assert not matches_any(("main", "release/*"), "develop")


@pytest.mark.parametrize("pattern", ["", "release/[0-9", "[", "[!", "trailing\\", "[z-a]"])
def test_invalid_globs_are_rejected(pattern: str) -> None:
    with pytest.raises(InvalidGlobError):
        validate_glob(pattern)
