"""A step's environment and its command as given are kept only sealed, and only while the
job runs: once it ends (however it ends) nothing sealed for its steps can be opened
again, and once a secret it used is removed nothing recorded holds or opens to it."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.execution.material import SealedStepMaterial
from domain.cause import Cause
from domain.ids import RunId
from domain.secrets.errors import SecretUnreadableError
from tests.integration.execution.conftest import Embedded
from tests.integration.execution.records import places_holding, step_events
from tests.support import wait_until

ADMIN = Cause(actor="user:admin")
VALUE = "s3cr3t-Value-42"

USES_THE_SECRET = """
    from danube import pipeline, secrets, step

    @pipeline(name="demo")
    def build() -> None:
        token = secrets.get("TOKEN")
        step.run('test "$TOKEN" = "$(cat expected)"', env={"TOKEN": token})
        step.run(f"test {token} = $(cat expected)")
"""


def material(embedded: Embedded) -> SealedStepMaterial:
    return SealedStepMaterial(embedded.danube.vault)


def assert_nothing_opens(embedded: Embedded, job_id: UUID) -> None:
    events = step_events(embedded.danube, job_id)  # type: ignore[arg-type]
    assert events, "the job recorded no step"
    for event in events:
        with pytest.raises(SecretUnreadableError):
            material(embedded).open(event)
    assert embedded.danube.vault.key_ids("step-") == []


def test_after_a_job_ends_nothing_sealed_for_its_steps_opens(embedded: Embedded) -> None:
    embedded.danube.secrets.set("demo", "TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request(USES_THE_SECRET, files={"expected": VALUE})
    job = embedded.finished(job_id)
    assert job.state == "success", embedded.log(job_id).decode(errors="replace")
    first, second = step_events(embedded.danube, job_id)
    assert first.env_sealed is not None and first.command_sealed is None
    assert second.env_sealed is None and second.command_sealed is not None
    assert_nothing_opens(embedded, job_id)


def test_after_secret_rm_nothing_recorded_holds_or_opens_to_the_value(
    embedded: Embedded,
) -> None:
    secrets = embedded.danube.secrets
    secrets.set("demo", "TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request(USES_THE_SECRET, files={"expected": VALUE})
    assert embedded.finished(job_id).state == "success"
    secrets.remove("demo", "TOKEN", ADMIN)
    assert embedded.danube.store.keys.all() == []  # no data key left: nothing decrypts
    assert_nothing_opens(embedded, job_id)
    assert places_holding(embedded.danube, VALUE, job_id) == []


def test_a_cancelled_job_leaves_no_step_material_that_opens(embedded: Embedded) -> None:
    embedded.danube.secrets.set("demo", "TOKEN", VALUE, ADMIN)
    run_id, job_id = embedded.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            step.run("echo st''arted; sleep 300", env={"TOKEN": secrets.get("TOKEN")})
    """)
    wait_until(lambda: b"started\n" in embedded.log(job_id), timeout=30, what="the step to run")
    assert material(embedded).held() == {job_id}  # needed while the step runs
    embedded.danube.runs.cancel_run(RunId(run_id), ADMIN)
    assert embedded.finished(job_id).state == "cancelled"
    wait_until(lambda: not material(embedded).held(), what="the material to be destroyed")
    assert_nothing_opens(embedded, job_id)


def test_a_failed_job_leaves_no_step_material_that_opens(embedded: Embedded) -> None:
    embedded.danube.secrets.set("demo", "TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            step.run(f"test {secrets.get('TOKEN')} = wrong")
    """)
    assert embedded.finished(job_id).state == "failure"
    assert_nothing_opens(embedded, job_id)
