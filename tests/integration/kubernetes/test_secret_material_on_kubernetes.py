"""On "Kubernetes" as on the local executor: a step's sealed environment and command are
opened to run it and destroyed when the job ends, what the job says of its steps is
recorded masked, and the job's token (a mounted file here) is masked in its log."""

from __future__ import annotations

import pytest

from api.execution.material import SealedStepMaterial
from domain.cause import Cause
from domain.secrets.errors import SecretUnreadableError
from tests.integration.execution.records import places_holding, step_events
from tests.integration.kubernetes.conftest import Kube

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"


def test_step_material_is_opened_to_run_and_destroyed_when_the_job_ends(kube: Kube) -> None:
    kube.danube.secrets.set("demo", "TOKEN", VALUE, ADMIN)
    _, job_id = kube.request(
        """
        import os
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            token = secrets.get("TOKEN")
            step.run('[ "$TOKEN" = "$(cat expected)" ] && echo env-as-given', env={"TOKEN": token})
            step.run(f"[ {token} = $(cat expected) ] && echo command-as-given")
            with open(os.environ["DANUBE_JOB_TOKEN_FILE"]) as file:
                print("job token:", file.read())
    """,
        files={"expected": VALUE},
    )
    job = kube.finished(job_id)
    log = kube.log(job_id)
    assert job.state == "success", log.decode(errors="replace")
    assert b"env-as-given" in log and b"command-as-given" in log
    assert b"job token: ***" in log
    assert kube.danube.tokens.issue(job_id).encode() not in log
    events = step_events(kube.danube, job_id)
    assert [e.command_sealed is not None for e in events] == [False, True]
    for event in events:
        with pytest.raises(SecretUnreadableError):
            SealedStepMaterial(kube.danube.vault).open(event)
    assert kube.danube.vault.key_ids("step-") == []
    assert places_holding(kube.danube, VALUE, job_id) == []
    execs = kube.double.requests_matching(resource="pods", subresource="exec")
    assert execs, "the steps ran through exec"
    assert all(VALUE not in f"{r.path}?{r.query}" for r in execs), "not in any exec URL"
    kube.nothing_left()
