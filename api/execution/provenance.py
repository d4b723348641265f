"""Writes the signed provenance of a job when it ends: the control plane's side of SLSA
provenance (the job pod never signs anything; it is inside the build's trust boundary).

The statement is built from the run's events, sealed in a DSSE envelope with the
signing key of the data directory (created on first use, 0600) and stored as the job's
``provenance.json`` artifact, recorded with ``Run.ProvenanceRecorded``."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from adapters.crypto.signing import (
    SIGNING_KEY_FILE,
    Ed25519Signer,
    load_or_create_signing_key,
)
from api.bootstrap import Danube
from domain.ids import JobId, RunId
from domain.provenance.envelope import seal
from domain.provenance.statement import provenance_statement
from domain.runs.entities import PROVENANCE_ARTIFACT, Artifact

log = logging.getLogger(__name__)


def signing_key_path(danube: Danube) -> Path:
    return Path(danube.settings.data_dir).resolve() / SIGNING_KEY_FILE


def builder_id(danube: Danube) -> str:
    return f"{danube.settings.public_url}/builder"


_LOCK = threading.Lock()


def provenance_signer(danube: Danube) -> Ed25519Signer:
    """The data directory's signing key, created on first use; kept for the process."""
    with _LOCK:
        signer: Ed25519Signer | None = danube.extras.get("provenance_signer")
        if signer is None:
            signer = load_or_create_signing_key(signing_key_path(danube))
            danube.extras["provenance_signer"] = signer
        return signer


class ProvenanceWriter:
    def __init__(self, danube: Danube) -> None:
        self._danube = danube

    def __call__(self, run_id: RunId, job_id: JobId) -> None:
        """Idempotent: a job that already has its provenance, or has not ended, is left."""
        danube = self._danube
        run = danube.runs.get(run_id)
        job = run.job(job_id)
        if not job.state.is_terminal or PROVENANCE_ARTIFACT in job.artifacts:
            return
        envelope = seal(
            provenance_statement(run, job_id, builder_id(danube)), provenance_signer(danube)
        )
        with danube.artifacts.begin(job_id.hex, PROVENANCE_ARTIFACT) as upload:
            upload.write(json.dumps(envelope, indent=2).encode() + b"\n")
            size, sha256 = upload.commit()
        danube.runs.record_provenance(
            run_id, job_id, Artifact(PROVENANCE_ARTIFACT, "file", size, sha256)
        )
        log.info("provenance of job %s written", job_id.hex)
