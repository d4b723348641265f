"""What a finished job built, as an in-toto Statement v1 with a SLSA Provenance v1
predicate (https://in-toto.io/Statement/v1, https://slsa.dev/provenance/v1).

Built by the control plane from the run's events, never from anything the job pod says
about itself: the pod is inside the build's trust boundary. Field names follow the
published formats exactly, so that other verifiers read what Danube signs.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from domain.ids import JobId
from domain.runs.aggregates import Run
from domain.runs.entities import PROVENANCE_ARTIFACT

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
BUILD_TYPE = "https://danube.dev/provenance/job/v1"


def provenance_statement(run: Run, job_id: JobId, builder_id: str) -> dict[str, Any]:
    """The statement for one job of ``run``. Every artifact the job uploaded is a
    subject with its sha256 (the provenance artifact itself is not its own subject)."""
    job = run.job(job_id)
    subjects = [
        {"name": artifact.name, "digest": {"sha256": artifact.sha256}}
        for name, artifact in sorted(job.artifacts.items())
        if name != PROVENANCE_ARTIFACT
    ]
    steps = [
        {
            "number": step.number,
            "name": step.name,
            "command": step.command,  # recorded masked: no secret value is in it
            "image": step.image,
            "state": step.state.value,
            "exitCode": step.exit_code,
        }
        for _, step in sorted(job.steps.items())
    ]
    metadata: dict[str, Any] = {"invocationId": f"urn:danube:job:{job_id.hex}"}
    if job.started_at is not None:
        metadata["startedOn"] = _rfc3339(job.started_at)
    if job.finished_at is not None:
        metadata["finishedOn"] = _rfc3339(job.finished_at)
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "pipeline": run.pipeline,
                    "repository": run.repository,
                    "ref": run.ref,
                    "trigger": dict(run.trigger),
                    "cause": run.cause.to_dict(),
                },
                "internalParameters": {
                    "job": job.name,
                    "workerImage": str(run.spec.get("image", "")),
                    "parameters": dict(run.spec),
                    "state": job.state.value,
                    "steps": steps,
                },
                "resolvedDependencies": [
                    {
                        "uri": f"git+{git_uri(run.repository)}@{run.ref}",
                        "digest": {"gitCommit": run.commit_sha},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": builder_id},
                "metadata": metadata,
            },
        },
    }


def canonical_json(document: Any) -> bytes:
    """How Danube serialises what it signs: sorted keys, no insignificant whitespace.
    A verifier can tell a re-serialised (reordered) payload from a changed one by it."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def git_uri(repository: str) -> str:
    """The repository as a URI: URLs as they are, scp-like ``user@host:path`` as
    ``ssh://user@host/path``, a local path as ``file://``."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", repository):
        return repository
    scp = re.match(r"^([^@/:]+@)?([^/:]+):(.+)$", repository)
    if scp and not repository.startswith("/"):
        return f"ssh://{scp.group(1) or ''}{scp.group(2)}/{scp.group(3).lstrip('/')}"
    return f"file://{repository}" if repository.startswith("/") else f"file:///{repository}"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
