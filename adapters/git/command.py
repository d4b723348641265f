"""Running the ``git`` CLI: never interactive, always bounded in time, errors classified.

Every call closes stdin, disables terminal and askpass prompts, runs ssh in batch mode,
and kills the whole process group (git, its remote helpers, ssh) when the timeout
expires. Failures become ``GitAuthenticationError``, ``GitUnreachableError``,
``GitRefNotFoundError`` or ``GitError`` carrying git's own explanatory stderr line, with
credentials in URLs redacted everywhere.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.git.errors import (
    GitAuthenticationError,
    GitError,
    GitRefNotFoundError,
    GitUnreachableError,
)

DEFAULT_TIMEOUT = 120.0
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")
# Variables that would point git at another repository or let it prompt.
_DROPPED_ENV = {
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_ASKPASS",
    "SSH_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_TERMINAL_PROMPT", "GIT_EDITOR",
}  # fmt: skip
_AUTH_PATTERNS = (
    "authentication failed", "could not read username", "could not read password",
    "terminal prompts disabled", "permission denied", "access denied",
    "returned error: 401", "returned error: 403", "invalid username or password",
    "host key verification failed", "load key", "invalid credentials",
)  # fmt: skip
_REF_PATTERNS = (
    "couldn't find remote ref", "not our ref", "no such remote ref", "unknown revision",
    "bad object", "invalid reference", "not a valid object name", "needed a single revision",
    "not a tree object", "bad revision",
)  # fmt: skip
_UNREACHABLE_PATTERNS = (
    "could not resolve host", "connection refused", "connection timed out", "timed out",
    "no route to host", "network is unreachable", "does not appear to be a git repository",
    "not found", "could not read from remote repository", "failed to connect",
    "unable to access", "connection reset", "returned error: 5", "ssl", "couldn't connect",
    "name or service not known", "temporary failure in name resolution", "no such file",
)  # fmt: skip


def redact(text: str) -> str:
    """``text`` with URL credentials hidden: ``https://user:***@host``, ``https://***@host``.

    A user name alone is kept for ssh (``ssh://git@host``), where it is never a secret;
    for http(s) a lone user name is often a token, so it is hidden too."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        if ":" in userinfo:
            return f"{scheme}{userinfo.split(':', 1)[0]}:***@"
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        return match.group(0)

    return _URL_USERINFO.sub(hide, text)


def strip_credentials(url: str) -> str:
    """``url`` without any user info, for places where it is stored (a checkout's origin)."""
    return _URL_USERINFO.sub(lambda m: m["scheme"], url)


def ssh_command(ssh_key_path: Path | None, known_hosts_path: Path | None = None) -> str:
    """The ssh git runs: never prompting; with ``known_hosts_path``, only the host keys
    pinned there are trusted (an unknown or changed key fails); without it, a key file
    trusts a host on first use, as ``ssh -o StrictHostKeyChecking=accept-new`` does."""
    parts = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"]
    if ssh_key_path is not None:
        parts += ["-i", str(ssh_key_path), "-o", "IdentitiesOnly=yes"]
    if known_hosts_path is not None:
        # Quoted: ssh splits this option's value into several files at whitespace.
        parts += ["-o", f'UserKnownHostsFile="{known_hosts_path}"']
        parts += ["-o", "StrictHostKeyChecking=yes"]
    elif ssh_key_path is not None:
        parts += ["-o", "StrictHostKeyChecking=accept-new"]
    return shlex.join(parts)


def git_environment(
    ssh_key_path: Path | None,
    extra: dict[str, str] | None = None,
    known_hosts_path: Path | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        GIT_SSH_COMMAND=ssh_command(ssh_key_path, known_hosts_path),
        LC_ALL="C",
        LANGUAGE="C",
    )
    env.update(extra or {})
    return env


def http_header_config(header: str) -> dict[str, str]:
    """Environment that makes git send ``header`` on its HTTP(S) requests."""
    if not header:
        return {}
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": header,
    }


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Git:
    """How to run git: which ssh key, how long a call may take, which ssh host keys to
    trust."""

    ssh_key_path: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    known_hosts_path: Path | None = None
    # "Authorization: ..." sent on HTTP(S) requests; given to git in its environment,
    # never on its command line (where other users of the machine could read it).
    http_header: str = field(default="", repr=False)

    def run(
        self,
        args: Sequence[str],
        *,
        operation: str,
        remote: str = "",
        cwd: Path | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> GitResult:
        """Run ``git args``; with ``check``, a non-zero exit raises a classified error.
        ``operation`` and ``remote`` name what was attempted in error messages."""
        command = ["git", "-c", "core.askPass=", "-c", "credential.interactive=never", *args]
        with subprocess.Popen(
            command,
            cwd=cwd,
            env=git_environment(
                self.ssh_key_path,
                {**http_header_config(self.http_header), **(env or {})},
                self.known_hosts_path,
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a timeout can kill git's helpers and ssh too
        ) as process:
            try:
                out, err = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                where = f" of {redact(remote)}" if remote else ""
                raise GitUnreachableError(
                    f"{operation}{where} timed out after {self.timeout:g}s",
                    remote=redact(remote),
                    detail="timed out",
                ) from None
        result = GitResult(
            process.returncode, out.decode(errors="replace"), redact(err.decode(errors="replace"))
        )
        if check and result.returncode != 0:
            raise classify(operation, remote, result.stderr)
        return result


def classify(operation: str, remote: str, stderr: str) -> GitError:
    """The error for a failed git call, by what git said on stderr."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lowered = [line.lower() for line in lines]
    shown_remote = redact(remote)
    where = f" of {shown_remote}" if remote else ""
    for kind, patterns in (
        (GitAuthenticationError, _AUTH_PATTERNS if remote else ()),
        (GitRefNotFoundError, _REF_PATTERNS),
        (GitUnreachableError, _UNREACHABLE_PATTERNS if remote else ()),
    ):
        for line, low in zip(lines, lowered, strict=True):
            if any(pattern in low for pattern in patterns):
                return kind(f"{operation}{where} failed: {line}", remote=shown_remote,
                            detail=line, stderr=stderr)  # fmt: skip
    detail = _explaining_line(lines)
    return GitError(f"{operation}{where} failed: {detail}", remote=shown_remote,
                    detail=detail, stderr=stderr)  # fmt: skip


def _explaining_line(lines: list[str]) -> str:
    for prefix in ("fatal:", "error:"):
        found = [line for line in lines if line.lower().startswith(prefix)]
        if found:
            return found[-1]
    return lines[-1] if lines else "git exited with an error and said nothing"
