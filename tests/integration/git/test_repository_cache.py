"""The cached clone: fetching branches, force-push detection, exporting and checking out."""

from pathlib import Path

import pytest

from adapters.git import FetchResult, GitError, GitRefNotFoundError, GitRepository
from tests.integration.git.origin import Origin, git


def test_the_first_fetch_returns_the_head_with_nothing_before_it(
    origin: Origin, cache: Path
) -> None:
    head = origin.commit({"config.yaml": "a"})
    origin.push()

    result = GitRepository(origin.file_url, cache).fetch("main")

    assert result == FetchResult("main", head, previous=None, forced=False)
    assert result.changed


def test_a_fast_forward_is_a_change_but_not_forced(origin: Origin, cache: Path) -> None:
    old = origin.commit({"config.yaml": "a"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")
    new = origin.commit({"config.yaml": "b"})
    origin.push()

    assert repo.fetch("main") == FetchResult("main", new, previous=old, forced=False)


def test_fetching_an_unchanged_branch_reports_no_change(origin: Origin, cache: Path) -> None:
    origin.commit({"config.yaml": "a"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")

    assert not repo.fetch("main").changed


def test_a_force_push_is_detected(origin: Origin, cache: Path) -> None:
    base = origin.commit({"config.yaml": "a"})
    dropped = origin.commit({"config.yaml": "b"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")
    origin.reset(base)
    rewritten = origin.commit({"config.yaml": "c"}, "rewritten")
    origin.push(force=True)

    result = repo.fetch("main")

    assert result == FetchResult("main", rewritten, previous=dropped, forced=True)
    assert repo.is_ancestor(base, rewritten)
    assert not repo.is_ancestor(dropped, rewritten)


def test_the_cache_is_reused_by_a_new_instance(origin: Origin, cache: Path) -> None:
    old = origin.commit({"config.yaml": "a"})
    origin.push()
    GitRepository(origin.file_url, cache).fetch("main")
    new = origin.commit({"config.yaml": "b"})
    origin.push()

    result = GitRepository(str(origin.bare.as_uri()), cache).fetch("main")

    assert (result.previous, result.commit) == (old, new)
    assert len(list(cache.glob("*.git"))) == 1


def test_an_ancestor_the_cache_never_saw_is_no_ancestor(origin: Origin, cache: Path) -> None:
    head = origin.commit({"a": "1"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")

    assert not repo.is_ancestor("2" * 40, head)
    with pytest.raises(GitRefNotFoundError):
        repo.is_ancestor(head, "2" * 40)


def test_fetching_a_missing_branch_names_the_branch_and_the_remote(
    origin: Origin, cache: Path
) -> None:
    origin.commit({"a": "1"})
    origin.push()

    with pytest.raises(GitRefNotFoundError) as caught:
        GitRepository(origin.file_url, cache).fetch("develop")

    assert str(caught.value) == (
        f"fetching branch 'develop' of {origin.file_url} failed: "
        "fatal: couldn't find remote ref refs/heads/develop"
    )


@pytest.mark.parametrize("branch", ["a..b", "-x", "a b", "feature/*", "x.lock"])
def test_an_invalid_branch_name_is_refused_before_git_runs(
    origin: Origin, cache: Path, branch: str
) -> None:
    with pytest.raises(GitRefNotFoundError):
        GitRepository(origin.file_url, cache).fetch(branch)


def test_exporting_a_commit_writes_its_files_only(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    old = origin.commit({"config.yaml": "old", "pipelines/web.yaml": "w"})
    origin.commit({"config.yaml": "new", "extra.txt": "e"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")

    repo.export(old, tmp_path / "out")

    files = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")
    )
    assert files == ["config.yaml", "pipelines", "pipelines/web.yaml"]
    assert (tmp_path / "out" / "config.yaml").read_text() == "old"


def test_exporting_into_a_non_empty_directory_is_refused(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    head = origin.commit({"a": "1"})
    origin.push()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")

    with pytest.raises(GitError, match="is not empty"):
        GitRepository(origin.file_url, cache).export(head, tmp_path / "out")


def test_a_checkout_is_a_detached_clone_whose_origin_has_no_credentials(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    first = origin.commit({"danubefile.py": "print(1)"})
    origin.commit({"danubefile.py": "print(2)"})
    origin.push()
    repo = GitRepository(origin.file_url, cache)
    repo.fetch("main")

    repo.checkout(first, tmp_path / "ws")

    assert git("rev-parse", "HEAD", cwd=tmp_path / "ws") == first
    assert (tmp_path / "ws" / "danubefile.py").read_text() == "print(1)"
    assert git("remote", "get-url", "origin", cwd=tmp_path / "ws") == origin.file_url


def test_resolving_fetches_the_commit_so_it_can_be_exported(
    origin: Origin, cache: Path, tmp_path: Path
) -> None:
    first = origin.commit({"a": "1"})
    origin.commit({"a": "2"})
    origin.push()
    origin.tag("v1")
    repo = GitRepository(origin.file_url, cache)

    assert repo.resolve(first) == first
    assert repo.resolve("v1") == repo.resolve("main")
    repo.export(first, tmp_path / "out")
    assert (tmp_path / "out" / "a").read_text() == "1"


def test_an_abbreviated_sha_is_resolved_through_the_cache(origin: Origin, cache: Path) -> None:
    first = origin.commit({"a": "1"})
    origin.commit({"a": "2"})
    origin.push()

    assert GitRepository(origin.file_url, cache).resolve(first[:10]) == first


def test_an_unknown_commit_cannot_be_exported(origin: Origin, cache: Path, tmp_path: Path) -> None:
    origin.commit({"a": "1"})
    origin.push()

    with pytest.raises(GitRefNotFoundError):
        GitRepository(origin.file_url, cache).export("3" * 40, tmp_path / "out")
