"""Sealed step material: what a step needs to run that the event log may keep only
encrypted — its environment, and its command as given when masking changed it for
display. Implements ``domain.execution.ports.StepMaterial``.

Every piece is sealed by the vault under a data key of its own whose id names the job
(``step-<job id hex>-<random>``), so a job's keys can be found and destroyed without
reading its events. The material is needed only while the job runs (to start a step,
and to reattach to one after a restart of the pod adapter); the reconciler destroys it
when the job ends, after which nothing sealed for the job can be opened again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from api.execution.vault import SecretVault
from domain.execution.ports import RecordedStep
from domain.ids import JobId
from domain.secrets.errors import SecretUnreadableError
from domain.secrets.ports import SealedValue

STEP_ENV_AAD = b"danube-step-env"
STEP_COMMAND_AAD = b"danube-step-command"
KEY_PREFIX = "step-"


@dataclass(frozen=True)
class SealedStep:
    """What ``Run.StepStarted`` keeps: each field is None when there is nothing to seal."""

    command: dict[str, str] | None
    env: dict[str, str] | None


class SealedStepMaterial:
    def __init__(self, vault: SecretVault) -> None:
        self._vault = vault

    def seal(self, job_id: JobId, command: str | None, env: Mapping[str, str]) -> SealedStep:
        """Seal ``command`` (None: the shown command is the one to run) and ``env``."""
        return SealedStep(
            command=None if command is None else self._seal(job_id, command, STEP_COMMAND_AAD),
            env=self._seal(job_id, json.dumps(dict(env), sort_keys=True), STEP_ENV_AAD)
            if env
            else None,
        )

    def open(self, step: RecordedStep) -> tuple[str, dict[str, str]]:
        command = step.command
        if step.command_sealed:
            command = self._open(step.command_sealed, STEP_COMMAND_AAD)
        env: dict[str, str] = {}
        if step.env_sealed:
            env = {
                str(k): str(v)
                for k, v in json.loads(self._open(step.env_sealed, STEP_ENV_AAD)).items()
            }
        return command, env

    def destroy(self, job_id: JobId) -> None:
        self._vault.shred(self._vault.key_ids(_prefix(job_id)))

    def held(self) -> set[JobId]:
        found = set()
        for key_id in self._vault.key_ids(KEY_PREFIX):
            try:
                found.add(JobId(uuid.UUID(key_id[len(KEY_PREFIX) :].split("-", 1)[0])))
            except ValueError:
                continue  # not one of ours
        return found

    def _seal(self, job_id: JobId, text: str, aad: bytes) -> dict[str, str]:
        key_id = f"{_prefix(job_id)}{uuid.uuid4().hex}"
        sealed = self._vault.seal(text.encode("utf-8", "surrogatepass"), aad, key_id)
        return {
            "key_id": sealed.key_id,
            "nonce": sealed.nonce.hex(),
            "ciphertext": sealed.ciphertext.hex(),
        }

    def _open(self, sealed: Mapping[str, str], aad: bytes) -> str:
        try:
            value = SealedValue(
                sealed["key_id"],
                bytes.fromhex(sealed["nonce"]),
                bytes.fromhex(sealed["ciphertext"]),
            )
        except (KeyError, TypeError, ValueError):
            raise SecretUnreadableError("it is not sealed material of this vault") from None
        return self._vault.open(value, aad).decode("utf-8", "surrogatepass")


def _prefix(job_id: JobId) -> str:
    return f"{KEY_PREFIX}{job_id.hex}-"
