import os

import pytest

from domain.triggers import InvalidRepositoryUrlError, normalise_repository_url, same_repository

GITHUB_SPELLINGS = [
    "https://github.com/org/repo",
    "https://github.com/org/repo.git",
    "https://GitHub.com/Org/Repo.git",
    "https://github.com/org/repo/",
    "https://github.com/org/repo.git/",
    "https://github.com//org//repo",
    "http://github.com/org/repo",
    "https://github.com:443/org/repo.git",
    "http://github.com:80/org/repo",
    "https://user:ghp_token@github.com/org/repo.git",
    "https://github.com/org/repo.git?ref=main#readme",
    "  https://github.com/org/repo  ",
    "git@github.com:org/repo.git",
    "git@github.com:org/repo",
    "git@GITHUB.COM:Org/Repo.git",
    "git@github.com:/org/repo.git",
    "github.com:org/repo.git",
    "ssh://git@github.com/org/repo",
    "ssh://git@github.com/org/repo.git",
    "ssh://git@github.com:22/org/repo.git",
    "SSH://git@github.com/org/repo",
    "git+ssh://git@github.com/org/repo.git",
    "ssh+git://git@github.com/org/repo.git",
    "git://github.com/org/repo.git",
    "git://github.com:9418/org/repo.git",
    "github.com/org/repo",
    "GitHub.com/Org/Repo.git",
]


@pytest.mark.parametrize("url", GITHUB_SPELLINGS)
def test_every_spelling_of_a_github_repository_has_one_key(url: str) -> None:
    assert normalise_repository_url(url) == "github.com/org/repo"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "https://gitlab.example.com:8443/group/sub/project.git",
            "gitlab.example.com:8443/group/sub/project",
        ),
        (
            "ssh://git@gitlab.example.com:2222/group/project.git",
            "gitlab.example.com:2222/group/project",
        ),
        ("http://gitlab.example.com:8080/group/project", "gitlab.example.com:8080/group/project"),
        (
            "https://gitlab.example.com/Group/SubGroup/Project.git",
            "gitlab.example.com/group/subgroup/project",
        ),
        (
            "git@gitlab.example.com:group/subgroup/project.git",
            "gitlab.example.com/group/subgroup/project",
        ),
        ("https://[::1]:3000/org/repo.git", "[::1]:3000/org/repo"),
        ("https://10.0.0.5/org/repo", "10.0.0.5/org/repo"),
        ("https://github.com/org/repo.git.git", "github.com/org/repo.git"),
        ("https://github.com/org/my.repo", "github.com/org/my.repo"),
    ],
)
def test_non_default_ports_and_nested_groups_stay_in_the_key(url: str, key: str) -> None:
    assert normalise_repository_url(url) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://github.com/org/repo", "https://github.com/org/other"),
        ("https://github.com/org/repo", "https://gitlab.com/org/repo"),
        ("https://gitlab.example.com:8443/g/p", "https://gitlab.example.com/g/p"),
        ("https://github.com/org/repo", "https://github.com/org/repo/sub"),
        ("https://github.com/org/repo", "/srv/git/org/repo"),
    ],
)
def test_different_repositories_have_different_keys(a: str, b: str) -> None:
    assert not same_repository(a, b)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("/srv/git/repo", "/srv/git/repo"),
        ("/srv/git/repo/", "/srv/git/repo"),
        ("/srv/git/../git/./Repo", "/srv/git/Repo"),
        ("//srv//git//repo", "//srv/git/repo"),
        ("file:///srv/git/repo.git", "/srv/git/repo.git"),
        ("file:///srv/git/repo/", "/srv/git/repo"),
        ("file://localhost/srv/git/repo", "/srv/git/repo"),
        ("file:///srv/git/my%20repo", "/srv/git/my repo"),
    ],
)
def test_local_paths_and_file_urls_normalise_to_absolute_paths(path: str, key: str) -> None:
    assert normalise_repository_url(path) == key


def test_local_keys_keep_case_and_the_git_suffix() -> None:
    assert not same_repository("/srv/Repo", "/srv/repo")
    assert not same_repository("/srv/repo.git", "/srv/repo")
    assert same_repository("file:///srv/repo.git", "/srv/repo.git")


def test_relative_paths_are_made_absolute_against_the_working_directory() -> None:
    assert normalise_repository_url("repos/app") == os.path.join(os.getcwd(), "repos/app")
    assert normalise_repository_url("./repos.d/app") == os.path.join(os.getcwd(), "repos.d/app")
    assert normalise_repository_url("./repos/app/") == os.path.join(os.getcwd(), "repos/app")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "https://",
        "https:///org/repo",
        "https://github.com",
        "https://github.com/",
        "https://github.com/.git",
        "ftp://example.com/org/repo",
        "https://github.com:notaport/org/repo",
        "file://fileserver/share/repo",
        "git@github.com:",
    ],
)
def test_unusable_urls_are_rejected(url: str) -> None:
    with pytest.raises(InvalidRepositoryUrlError):
        normalise_repository_url(url)


def test_errors_do_not_repeat_credentials() -> None:
    with pytest.raises(InvalidRepositoryUrlError) as raised:
        normalise_repository_url("ftp://deploy:s3cr3t@example.com/org/repo")
    assert "s3cr3t" not in str(raised.value)


def test_an_unparseable_url_matches_nothing() -> None:
    assert not same_repository("https://", "https://")


@pytest.mark.parametrize(
    "url",
    [
        "https://GitHub.com/Org/Repo.git",
        "git@gitlab.example.com:Group/Sub/Project.git",
        "/srv/r.git",
    ],
)
def test_a_key_normalises_to_itself(url: str) -> None:
    key = normalise_repository_url(url)
    assert normalise_repository_url(key) == key
