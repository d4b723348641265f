"""`ctx`: facts about the running job, read from the coordinator's environment."""

from __future__ import annotations

import os
from collections.abc import Mapping


class JobContext:
    """The job this code runs in. Every attribute is read when accessed.

    Attributes are empty strings when the coordinator did not provide them (e.g.
    `trigger_event` for a manual run). `workspace` defaults to the current directory.

    Example:
        >>> from danube import ctx
        >>> if ctx.branch == "main" and ctx.trigger_event == "push": ...
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def _get(self, name: str) -> str:
        environ = os.environ if self._environ is None else self._environ
        return environ.get(name, "")

    @property
    def job_id(self) -> str:
        """The job's id (`DANUBE_JOB_ID`)."""
        return self._get("DANUBE_JOB_ID")

    @property
    def pipeline(self) -> str:
        """The name of the Danube pipeline being run (`DANUBE_PIPELINE`), as configured;
        not necessarily the name of the `@pipeline` function that runs."""
        return self._get("DANUBE_PIPELINE")

    @property
    def repo(self) -> str:
        """The repository URL the job checked out (`DANUBE_REPO`)."""
        return self._get("DANUBE_REPO")

    @property
    def branch(self) -> str:
        """The branch of the run (`DANUBE_BRANCH`); empty for a tag without branch."""
        return self._get("DANUBE_BRANCH")

    @property
    def commit_sha(self) -> str:
        """The full commit SHA checked out in the workspace (`DANUBE_COMMIT_SHA`)."""
        return self._get("DANUBE_COMMIT_SHA")

    @property
    def trigger_type(self) -> str:
        """How the run was started: `webhook` (a forge's delivery), `cron` or `manual`
        (the API, the CLI, the web app) (`DANUBE_TRIGGER_TYPE`)."""
        return self._get("DANUBE_TRIGGER_TYPE")

    @property
    def trigger_event(self) -> str:
        """What the forge sent, for a `webhook` run: `push`, `pull_request` or `tag`;
        empty otherwise (`DANUBE_TRIGGER_EVENT`)."""
        return self._get("DANUBE_TRIGGER_EVENT")

    @property
    def trigger_ref(self) -> str:
        """The ref behind the trigger, e.g. `refs/tags/v1.2.0` (`DANUBE_TRIGGER_REF`)."""
        return self._get("DANUBE_TRIGGER_REF")

    @property
    def workspace(self) -> str:
        """The job's workspace directory (`DANUBE_WORKSPACE`, default: current directory)."""
        return self._get("DANUBE_WORKSPACE") or os.getcwd()

    def __repr__(self) -> str:
        return (
            f"JobContext(job_id={self.job_id!r}, pipeline={self.pipeline!r}, "
            f"branch={self.branch!r}, commit_sha={self.commit_sha!r})"
        )


ctx = JobContext()
"""The running job's context."""
