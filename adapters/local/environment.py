"""The environments the local executor's processes get.

Every process starts from the server's own environment without its ``DANUBE_*``
variables (the server's configuration, possibly secrets). The coordinator adds the
job's environment, its token and its workspace; a step adds only what it passed; git
gets what keeps it from ever prompting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from domain.execution.ports import JobLaunch

_SERVER_PREFIX = "DANUBE_"
# Variables that would point git elsewhere or let it ask for credentials.
_GIT_DROPPED = frozenset({
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_ASKPASS",
    "SSH_ASKPASS", "GIT_SSH", "GIT_EDITOR",
})  # fmt: skip


def server_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_SERVER_PREFIX)}


def step_environment(step_env: Mapping[str, str]) -> dict[str, str]:
    return {**server_environment(), **step_env}


def coordinator_environment(job: JobLaunch, workspace: Path) -> dict[str, str]:
    env = {**server_environment(), "DANUBE_SCRIPT": job.script, **job.env}
    env["DANUBE_WORKSPACE"] = str(workspace)
    env["DANUBE_JOB_TOKEN"] = job.token
    return env


def git_environment() -> dict[str, str]:
    env = {k: v for k, v in server_environment().items() if k not in _GIT_DROPPED}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        SSH_ASKPASS_REQUIRE="never",
        LC_ALL="C",
        LANGUAGE="C",
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")
    return env
