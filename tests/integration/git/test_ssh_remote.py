"""SSH remotes against a real ``sshd``: a deploy key, a pinned host key, and what a user
sees when either is wrong."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.git import GitAuthenticationError, GitRepository, resolve_ref, resolve_ref_name
from tests.integration.git.origin import Origin
from tests.integration.git.ssh_server import SshServer, keygen, serve_ssh


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    with serve_ssh(tmp_path / "sshd") as server:
        yield server


def test_a_deploy_key_and_a_pinned_host_key_fetch_and_check_out(
    origin: Origin, sshd: SshServer, cache: Path, tmp_path: Path
) -> None:
    head = origin.commit({"config.yaml": "over ssh"})
    origin.push()
    origin.tag("v1")
    url = sshd.url(origin.bare)
    pinned = tmp_path / "my keys" / "known hosts"  # spaces in the path are no problem
    pinned.parent.mkdir()
    pinned.write_text(sshd.known_hosts.read_text())
    keys = {"ssh_key_path": sshd.client_key, "known_hosts_path": pinned}

    assert resolve_ref(url, "main", **keys) == head
    assert resolve_ref_name(url, "v1", **keys) == (head, "refs/tags/v1")
    repo = GitRepository(url, cache, **keys)
    assert repo.fetch("main").commit == head
    repo.checkout(head, tmp_path / "ws")
    assert (tmp_path / "ws" / "config.yaml").read_text() == "over ssh"


def test_a_key_the_server_does_not_accept_is_an_authentication_error(
    origin: Origin, sshd: SshServer, tmp_path: Path
) -> None:
    origin.commit({"a": "1"})
    origin.push()
    stranger = keygen(tmp_path / "stranger")

    with pytest.raises(GitAuthenticationError) as caught:
        resolve_ref(
            sshd.url(origin.bare),
            "main",
            ssh_key_path=stranger,
            known_hosts_path=sshd.known_hosts,
        )

    assert "Permission denied (publickey)" in caught.value.detail
    assert f"127.0.0.1:{sshd.port}" in str(caught.value)


def test_a_host_key_that_is_not_the_pinned_one_is_refused(
    origin: Origin, sshd: SshServer, tmp_path: Path
) -> None:
    """A server presenting another key than the one pinned (a man in the middle, or a
    re-installed server) is refused before any credentials are offered."""
    origin.commit({"a": "1"})
    origin.push()
    impostor = keygen(tmp_path / "impostor")
    kind, key = (tmp_path / "impostor.pub").read_text().split()[:2]
    pinned = tmp_path / "known_hosts"
    pinned.write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    assert impostor.exists()

    with pytest.raises(GitAuthenticationError) as caught:
        resolve_ref(
            sshd.url(origin.bare), "main", ssh_key_path=sshd.client_key, known_hosts_path=pinned
        )

    assert "Host key verification failed" in caught.value.detail


def test_a_host_missing_from_the_pinned_file_is_refused(
    origin: Origin, sshd: SshServer, tmp_path: Path
) -> None:
    origin.commit({"a": "1"})
    origin.push()
    empty = tmp_path / "known_hosts"
    empty.write_text("")

    with pytest.raises(GitAuthenticationError) as caught:
        GitRepository(
            sshd.url(origin.bare),
            tmp_path / "cache",
            ssh_key_path=sshd.client_key,
            known_hosts_path=empty,
        ).fetch("main")

    assert "Host key verification failed" in caught.value.detail
