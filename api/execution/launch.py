"""What a job's coordinator is told: ``JobLaunch`` from the read model."""

from __future__ import annotations

from uuid import UUID

from domain.execution.git_access import GitCredentials
from domain.execution.ports import ActiveJob, JobLaunch
from domain.execution.tokens import JobTokens
from domain.ids import JobId, RunId
from projections.runs_view import JobView

FORGE_EVENTS = frozenset({"push", "pull_request", "tag"})


def trigger_context(stored_type: str) -> tuple[str, str]:
    """(``ctx.trigger_type``, ``ctx.trigger_event``) of a run whose trigger was stored as
    ``stored_type``: a forge's push, pull_request or tag came by webhook; cron is cron;
    the API, the CLI and everything else is manual."""
    if stored_type in FORGE_EVENTS:
        return "webhook", stored_type
    if stored_type == "cron":
        return "cron", ""
    return "manual", ""


class Launcher:
    def __init__(
        self, tokens: JobTokens, master_address: str, credentials: GitCredentials | None = None
    ) -> None:
        self._tokens = tokens
        self.master_address = master_address
        self._credentials = credentials

    def __call__(self, active: ActiveJob) -> JobLaunch:
        job = active if isinstance(active, JobView) else None
        if job is None:
            raise TypeError("the launcher reads jobs from the runs read model")
        spec = dict(job.spec or {})
        job_id = JobId(UUID(job.id))
        branch = job.ref.removeprefix("refs/heads/") if job.ref.startswith("refs/heads/") else ""
        trigger_type, trigger_event = trigger_context(job.trigger_type)
        env = {
            "DANUBE_MASTER_ADDRESS": self.master_address,
            "DANUBE_JOB_ID": str(job_id),
            "DANUBE_PIPELINE": job.pipeline,
            # Which @pipeline of the danubefile to run (empty: the one named like the
            # pipeline, else the only one).
            "DANUBE_ENTRYPOINT": str(spec.get("entrypoint") or ""),
            "DANUBE_REPO": job.repository,
            "DANUBE_BRANCH": branch,
            "DANUBE_COMMIT_SHA": job.commit_sha,
            "DANUBE_TRIGGER_TYPE": trigger_type,
            "DANUBE_TRIGGER_EVENT": trigger_event,
            "DANUBE_TRIGGER_REF": job.trigger_ref or job.ref,
            "DANUBE_SCRIPT": str(spec.get("script", "danubefile.py")),
            "PYTHONUNBUFFERED": "1",  # the pipeline's prints interleave with its steps
        }
        # Raises RepositoryAccessError: the job fails with it, before anything starts.
        access = self._credentials.access(job.repository) if self._credentials else None
        return JobLaunch(
            job_id=job_id,
            run_id=RunId(UUID(job.run_id)),
            pipeline=job.pipeline,
            repository=job.repository,
            commit_sha=job.commit_sha,
            ref=job.ref,
            token=self._tokens.issue(job_id),
            env=env,
            script=env["DANUBE_SCRIPT"],
            image=str(spec.get("image", "")),
            max_duration_seconds=int(spec.get("max_duration_seconds", 3600)),
            workspace_size_gb=int(spec.get("workspace_size_gb", 10)),
            resources={str(k): str(v) for k, v in dict(spec.get("resources", {})).items()},
            git_access=access,
        )
