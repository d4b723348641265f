"""Writes the signed provenance of a job when it ends: the control plane's side of SLSA
provenance (the job pod never signs anything; it is inside the build's trust boundary).

The statement is built from the run's events, sealed in a DSSE envelope with the
signing key of the data directory (created on first use, 0600) and stored as the job's
``provenance.json`` artifact, recorded with ``Run.ProvenanceRecorded``.

``ProvenanceFollower`` runs in the process that stores artifacts (``danube up``, ``run``
and ``server``; not the pod adapter, which has no artifact store). It follows the
``Run.JobFinished`` events of the log from the position it keeps in
``<data_dir>/provenance.position``, so a job that ended while it was down gets its
provenance when it starts again; writing is idempotent."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from adapters.artifacts.filesystem import FilesystemArtifactStore
from adapters.crypto.signing import Ed25519Signer
from adapters.sql.wakeup import Wakeup
from api.bootstrap import Danube
from domain.eventlog import EventLog
from domain.ids import JobId, RunId
from domain.provenance.envelope import seal
from domain.provenance.statement import provenance_statement
from domain.runs.aggregates import Run
from domain.runs.application import RunsService
from domain.runs.entities import PROVENANCE_ARTIFACT, Artifact

log = logging.getLogger(__name__)


def builder_id(public_url: str) -> str:
    return f"{public_url}/builder"


class ProvenanceWriter:
    """``signer``: the data directory's signing key, created on first use and kept."""

    def __init__(
        self,
        runs: RunsService,
        artifacts: FilesystemArtifactStore,
        signer: Callable[[], Ed25519Signer],
        builder: str,
    ) -> None:
        self._runs, self._artifacts, self._signer, self._builder = runs, artifacts, signer, builder

    def __call__(self, run_id: RunId, job_id: JobId) -> None:
        """Idempotent: a job that already has its provenance, or has not ended, is left;
        so is a job that uploaded no artifact (there is no subject to attest)."""
        run = self._runs.get(run_id)
        job = run.job(job_id)
        if not job.state.is_terminal or PROVENANCE_ARTIFACT in job.artifacts:
            return
        if not job.artifacts:  # a statement binds artifacts: with none it attests nothing
            log.debug("job %s uploaded no artifacts: no provenance", job_id.hex)
            return
        envelope = seal(provenance_statement(run, job_id, self._builder), self._signer())
        with self._artifacts.begin(job_id.hex, PROVENANCE_ARTIFACT) as upload:
            upload.write(json.dumps(envelope, indent=2).encode() + b"\n")
            size, sha256 = upload.commit()
        self._runs.record_provenance(
            run_id, job_id, Artifact(PROVENANCE_ARTIFACT, "file", size, sha256)
        )
        log.info("provenance of job %s written", job_id.hex)


def provenance_follower(danube: Danube) -> ProvenanceFollower:
    """The follower of a process that stores artifacts, over its parts."""
    settings = danube.settings
    write = ProvenanceWriter(
        danube.runs, danube.artifacts, danube.signer, builder_id(settings.public_url)
    )
    return ProvenanceFollower(
        danube.store.log,
        danube.store.views.progress("runs"),
        write,
        Path(settings.data_dir).resolve(),
    )


POSITION_FILE = "provenance.position"
BATCH = 100
INTERVAL = 1.0


class ProvenanceFollower:
    def __init__(
        self,
        events: EventLog,
        runs_moved: Wakeup,
        write: Callable[[RunId, JobId], None],
        data_dir: Path,
        interval: float = INTERVAL,
    ) -> None:
        self._events, self._runs_moved, self._interval = events, runs_moved, interval
        self._write = write
        self._path = data_dir / POSITION_FILE
        self.position = self._load()

    def __call__(self, stopping: threading.Event) -> None:
        progress = self._runs_moved
        while not stopping.is_set():
            generation = progress.generation()
            try:
                self.catch_up()
            except Exception:  # e.g. the store is briefly unreachable: next round
                log.exception("following ended jobs for their provenance failed")
            progress.wait(generation, self._interval)

    def catch_up(self) -> None:
        recorder, mapper = self._events.recorder, self._events.mapper
        while True:
            batch = recorder.select_notifications(
                self.position + 1, BATCH, topics=[Run.JobFinished.TOPIC]
            )
            if not batch:
                return
            for notification in batch:
                event = mapper.to_domain_event(notification)
                if isinstance(event, Run.JobFinished):
                    self._write_one(RunId(event.originator_id), JobId(event.job_id))
                self.position = notification.id
            self._save()

    def _write_one(self, run_id: RunId, job_id: JobId) -> None:
        try:
            self._write(run_id, job_id)
        except Exception:  # one job's trouble must not stop the others
            log.exception("writing the provenance of job %s failed", job_id.hex)

    def _load(self) -> int:
        try:
            return int(self._path.read_text().strip() or 0)
        except FileNotFoundError:
            position = self._events.position()  # from now: no backfill
        except ValueError:
            log.warning("%s is not a position; following from now", self._path)
            position = self._events.position()
        self.position = position
        self._save()
        return position

    def _save(self) -> None:
        temp = self._path.with_name(f".{POSITION_FILE}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            temp.write_text(f"{self.position}\n")
            os.replace(temp, self._path)
