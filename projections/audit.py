"""The audit trail: who did what, when, and why, folded from every event that records
a decision — runs requested, scheduled, started, finished, cancelled; secrets read and
set; artifacts uploaded; configs accepted or rejected; draining; webhook deliveries and
cron ticks; every refusal of access (who was turned away from what). Each entry names
its actor and, for runs, the causal chain: the delivery (or cron tick, or user) that
triggered the run, the run, and the job.

Steps are not entries (a job's steps are in its own read model): the trail stays a list
of decisions a person would look for, not a copy of every log line's bookkeeping."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from domain.auth.aggregates import AccessDenial
from domain.config.aggregates import ConfigRepository
from domain.retention.aggregates import Reaping
from domain.runs.aggregates import Run
from domain.schedules.aggregates import CronTrigger
from domain.secrets.aggregates import Secret
from domain.system.aggregates import System
from domain.tokens.aggregates import ApiToken
from domain.webhooks.aggregates import Delivery
from projections.model import Column, ColumnType, Row, RowReader, Rows, Table

JSON = ColumnType.JSON

ENTRIES = Table(
    "audit_entries",
    (
        Column("at"),
        Column("action"),
        Column("actor"),
        Column("pipeline"),
        Column("run_id"),
        Column("job_id"),
        Column("delivery_id"),
        Column("trigger"),
        Column("reason"),
        Column("detail", JSON),
    ),
    indexes=(("at",), ("pipeline", "at"), ("actor", "at"), ("run_id", "at")),
)
# What later events of an aggregate need from its first one: a run's pipeline and
# trigger, a secret's scope and key.
SUBJECTS = Table(
    "audit_subjects",
    (Column("pipeline"), Column("name"), Column("delivery_id"), Column("trigger")),
)

_RUN_EVENTS = (
    Run.Requested, Run.JobScheduled, Run.JobStarted, Run.JobFinished, Run.CancelRequested,
    Run.SecretRead, Run.ArtifactUploaded, Run.ProvenanceRecorded, Run.LogReaped,
    Run.ArtifactsReaped,
)  # fmt: skip
_OTHER_EVENTS = (
    ConfigRepository.Accepted, ConfigRepository.Rejected, System.DrainStarted,
    System.DrainStopped, Delivery.Received, Delivery.Processed, Delivery.Replayed,
    Secret.Created, Secret.ValueSet, Secret.Removed, CronTrigger.Armed, CronTrigger.Fired,
    CronTrigger.Skipped,
    Reaping.ImageDeleted, Reaping.Finished, AccessDenial.Recorded, System.SecretsKeyRotated,
)  # fmt: skip
_TOKEN_EVENTS = (ApiToken.Created, ApiToken.Revoked)  # personal API tokens
# Fields shown as an entry's detail; nothing sealed, encrypted or bulky is ever named.
_DETAIL = ("state", "reason", "key", "scope", "name", "kind", "size", "sha256", "commit",
           "outcome", "runs", "provider", "event", "minute", "run_id", "policy", "names",
           "freed", "repository", "digest", "tags", "operation", "code",
           "master_key_id", "rewrapped")  # fmt: skip

_TOKEN_DETAIL = ("user", "token_id")  # whose API token, which one (never its hash)


class AuditProjection:
    name = "audit"
    tables = (ENTRIES, SUBJECTS)
    topics = frozenset(cls.TOPIC for cls in (*_RUN_EVENTS, *_OTHER_EVENTS, *_TOKEN_EVENTS))

    def apply(self, event: Any, rows: Rows) -> None:
        topic = type(event).TOPIC
        subject = event.originator_id.hex
        if topic == Run.Requested.TOPIC:
            trigger = dict(event.trigger)
            known = SUBJECTS.blank(subject)
            known.update(
                pipeline=event.pipeline,
                delivery_id=trigger.get("delivery_id", ""),
                trigger=trigger.get("type", ""),
                name=trigger.get("retry_of", ""),
            )
            rows.put("audit_subjects", known)
        elif topic == Delivery.Received.TOPIC:
            known = SUBJECTS.blank(subject)
            known.update(
                pipeline="", name=event.provider, delivery_id=event.delivery_id, trigger=""
            )
            rows.put("audit_subjects", known)
        elif topic == CronTrigger.Armed.TOPIC:  # its fires and skips name the pipeline
            known = SUBJECTS.blank(subject)
            known.update(pipeline=event.pipeline, name=event.schedule, delivery_id="", trigger="")
            rows.put("audit_subjects", known)
            return
        elif topic == Secret.Created.TOPIC:
            known = SUBJECTS.blank(subject)
            known.update(pipeline=event.scope, name=event.key, delivery_id="", trigger="")
            rows.put("audit_subjects", known)
            return  # the value's setting is the entry
        context = rows.get("audit_subjects", subject) or SUBJECTS.blank(subject)
        rows.put("audit_entries", _entry(event, topic, subject, context))


def _entry(event: Any, topic: str, subject: str, context: Row) -> Row:
    cause = dict(getattr(event, "cause", None) or {})
    job_id = getattr(event, "job_id", None)
    is_run = topic.startswith("danube:Run.")
    actor = cause.get("actor", "")
    if not actor:  # what a job does itself names the job; forges and cron name themselves
        actor = (
            "reaper" if topic.startswith("danube:Reaping") or "Reaped" in topic
            else "system:provenance" if topic == Run.ProvenanceRecorded.TOPIC
            else f"job:{job_id.hex}" if job_id is not None
            else f"webhook:{context['name'] or ''}" if topic.startswith("danube:Delivery")
            else "cron" if topic.startswith("danube:CronTrigger")
            else "system"
        )  # fmt: skip
    keys = (*_DETAIL, *_TOKEN_DETAIL)
    detail = {key: _plain(getattr(event, key)) for key in keys if hasattr(event, key)}
    if topic == Secret.ValueSet.TOPIC or topic == Secret.Removed.TOPIC:
        detail.update(scope=context["pipeline"] or "", key=context["name"] or "")
    if topic == ConfigRepository.Rejected.TOPIC:
        detail["errors"] = len(getattr(event, "errors", []) or [])
    entry = ENTRIES.blank(f"{subject}:{event.originator_version:010d}")
    entry.update(
        at=event.timestamp.isoformat(),
        action=topic.removeprefix("danube:"),
        actor=actor,
        pipeline=(context["pipeline"] or "")
        if is_run or topic.startswith("danube:CronTrigger")
        else (getattr(event, "pipeline", "") or ""),
        run_id=subject if is_run else "",
        job_id=job_id.hex if job_id is not None else "",
        delivery_id=context["delivery_id"] or "",
        trigger=(context["trigger"] or "") if is_run else cause.get("trigger", ""),
        reason=cause.get("reason", "") or str(detail.get("reason", "") or ""),
        detail=detail,
    )
    if is_run and context["name"]:
        entry["detail"] = {**detail, "retry_of": context["name"]}
    return entry


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class AuditView:
    """The trail, newest first, with keyset pagination over (``at``, ``id``)."""

    def __init__(self, reader: RowReader) -> None:
        self._reader = reader

    def entries(
        self,
        *,
        after: tuple[str, str] | None = None,
        limit: int = 50,
        pipelines: Collection[str] | None = None,
        **filters: str,
    ) -> tuple[list[Row], tuple[str, str] | None]:
        """Filters: pipeline, actor, run_id, action; ``pipelines``: only entries about
        these (None: every entry, those about no pipeline included). Returns the page
        and the cursor after its last entry (None when there is no more)."""
        where: dict[str, Any] = {key: value for key, value in filters.items() if value}
        if pipelines is not None:
            wanted = set(pipelines)
            if "pipeline" in where:
                wanted &= {where["pipeline"]}
            where["pipeline"] = sorted(wanted)
        rows = self._reader.find(
            "audit_entries",
            where,
            order_by=("at", "id"),
            descending=True,
            after=after,
            limit=limit + 1,
        )
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return rows[:limit], (last["at"], last["id"]) if last is not None else None

    def secret_reads(
        self,
        *,
        after: tuple[str, str] = ("", ""),
        pipelines: Collection[str] | None = None,
        limit: int = 1000,
    ) -> list[Row]:
        """The ledger: secrets handed to running jobs after (``at``, ``id``) ``after``
        (``(since, "")`` for "since"), oldest first; only reads by jobs of ``pipelines``
        if given."""
        where: dict[str, Any] = {"action": "Run.SecretRead"}
        if pipelines is not None:
            where["pipeline"] = sorted(pipelines)
        return self._reader.find(
            "audit_entries", where, order_by=("at", "id"), after=after, limit=limit
        )
