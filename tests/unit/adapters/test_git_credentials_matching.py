"""Which ``git_authentication`` entry a repository gets: the first whose pattern matches
its normalised URL; local repositories none."""

import pytest

from adapters.git.credentials import matching
from domain.config.model import GitAuthentication, GitAuthenticationType

APP = GitAuthentication(GitAuthenticationType.GITHUB_APP, "acme-app", ("github.com/acme/*",))
GITLAB = GitAuthentication(GitAuthenticationType.GITLAB_TOKEN, "gl", ("gitlab.example.com/*",))
FALLBACK = GitAuthentication(GitAuthenticationType.SSH_KEY, "fallback", ("*",))
ENTRIES = (APP, GITLAB, FALLBACK)


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("https://github.com/acme/api.git", APP),
        ("git@github.com:Acme/API.git", APP),
        ("ssh://git@github.com/acme/api", APP),
        ("https://gitlab.example.com/group/sub/project.git", GITLAB),
        ("https://github.com/other/api.git", FALLBACK),
        ("/srv/git/app", None),
        ("file:///srv/git/app.git", None),
        ("./relative/repo", None),
    ],
)
def test_the_first_matching_entry_wins_and_local_repositories_get_none(
    repository: str, expected: GitAuthentication | None
) -> None:
    assert matching(ENTRIES, repository) == expected
