"""Failures against real remotes: authentication (HTTP 401), unreachable hosts, timeouts.

The HTTP remote is ``git http-backend`` behind a small basic-auth server. SSH keys and
host keys against a real sshd are in ``test_ssh_remote.py``; here, an unreachable ssh host
and the ssh command line.
"""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.git import (
    GitAuthenticationError,
    GitRepository,
    GitUnreachableError,
    resolve_ref,
)
from adapters.git.command import git_environment
from tests.integration.git.conftest import PASSWORD, USER
from tests.integration.git.origin import Origin


def authenticated(base: str, user: str = USER, password: str = PASSWORD) -> str:
    scheme, rest = base.split("://")
    return f"{scheme}://{user}:{password}@{rest}/origin.git"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_an_http_remote_with_credentials_works(
    origin: Origin, http_base: str, cache: Path, tmp_path: Path
) -> None:
    head = origin.commit({"config.yaml": "x"})
    origin.push()
    url = authenticated(http_base)

    assert resolve_ref(url, "main") == head
    repo = GitRepository(url, cache)
    assert repo.fetch("main").commit == head
    repo.checkout(head, tmp_path / "ws")
    assert (tmp_path / "ws" / "config.yaml").read_text() == "x"


def test_a_wrong_password_is_an_authentication_error_that_hides_it(
    origin: Origin, http_base: str, cache: Path
) -> None:
    origin.commit({"a": "1"})
    origin.push()
    url = authenticated(http_base, password="wrong-password")

    with pytest.raises(GitAuthenticationError) as caught:
        GitRepository(url, cache).fetch("main")

    error = caught.value
    assert error.remote == f"{http_base.replace('://', f'://{USER}:***@')}/origin.git"
    assert error.remote in str(error)
    assert "Authentication failed" in error.detail
    assert "wrong-password" not in f"{error} {error.stderr} {error.detail}"


def test_missing_credentials_fail_at_once_instead_of_prompting(
    origin: Origin, http_base: str
) -> None:
    origin.commit({"a": "1"})
    origin.push()

    with pytest.raises(GitAuthenticationError) as caught:
        resolve_ref(f"{http_base}/origin.git", "main")

    assert "terminal prompts disabled" in caught.value.detail


def test_a_token_as_user_name_is_hidden_too(origin: Origin, http_base: str) -> None:
    scheme, rest = http_base.split("://")

    with pytest.raises(GitAuthenticationError) as caught:
        resolve_ref(f"{scheme}://ghp_tokentoken@{rest}/origin.git", "main")

    assert "ghp_tokentoken" not in f"{caught.value} {caught.value.stderr}"
    assert f"{scheme}://***@{rest}/origin.git" in str(caught.value)


def test_a_repository_the_server_does_not_have_is_unreachable(http_base: str) -> None:
    url = authenticated(http_base).replace("origin.git", "missing.git")

    with pytest.raises(GitUnreachableError) as caught:
        resolve_ref(url, "main")

    assert "not found" in caught.value.detail


def test_a_path_without_a_repository_is_unreachable(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(GitUnreachableError) as caught:
        GitRepository(str(tmp_path / "nothing"), cache).fetch("main")

    assert "does not appear to be a git repository" in caught.value.detail
    assert str(tmp_path / "nothing") in str(caught.value)


def test_a_refused_http_connection_is_unreachable(closed_port: int) -> None:
    with pytest.raises(GitUnreachableError) as caught:
        resolve_ref(f"http://127.0.0.1:{closed_port}/origin.git", "main")

    assert "127.0.0.1" in str(caught.value)


def test_a_refused_ssh_connection_is_unreachable(closed_port: int, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    key.chmod(0o600)

    with pytest.raises(GitUnreachableError) as caught:
        resolve_ref(f"ssh://git@127.0.0.1:{closed_port}/org/repo.git", "main", ssh_key_path=key)

    assert "Connection refused" in caught.value.stderr


def test_a_remote_that_never_answers_times_out(silent_port: int, cache: Path) -> None:
    url = f"http://127.0.0.1:{silent_port}/origin.git"

    with pytest.raises(GitUnreachableError, match=r"timed out after 0.5s"):
        GitRepository(url, cache, timeout=0.5).fetch("main")


def test_ssh_uses_the_configured_key_without_prompting(tmp_path: Path) -> None:
    key = tmp_path / "my key"

    env = git_environment(key)

    assert env["GIT_SSH_COMMAND"] == (
        "ssh -o BatchMode=yes -o ConnectTimeout=30 -i "
        f"'{key}' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new"
    )
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_ASKPASS" not in env
    assert "SSH_ASKPASS" not in env


def test_a_known_hosts_file_pins_host_keys(tmp_path: Path) -> None:
    key, known = tmp_path / "key", tmp_path / "known hosts"

    command = git_environment(key, known_hosts_path=known)["GIT_SSH_COMMAND"]

    assert command.endswith(
        f"""-o IdentitiesOnly=yes -o 'UserKnownHostsFile="{known}"' """
        "-o StrictHostKeyChecking=yes"
    )
