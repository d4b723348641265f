"""The inbox: store a verified delivery, then turn it into runs (exactly once in effect).

``deliver`` is the request path's command, before the forge gets its 2xx: it stores every
verified delivery (pings and events that start nothing too, so each is listed and can be
replayed) and processes it at once; ``process`` is the inbox worker's, for anything left
unprocessed (``receive`` stores without processing). Processing is
idempotent: run ids are derived from (pipeline, commit, trigger kind, ref), so a second
pass, a redelivery or a replay never starts a second run of the same trigger.

A delivery is left unprocessed (outcome ``pending``, nothing recorded) while Danube is
draining and while no configuration is in force yet: the worker processes it later, so
it starts its runs once draining ends or the first config lands."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from domain.cause import Cause
from domain.config.application import ConfigService
from domain.config.model import Pipeline
from domain.eventlog import EventLog
from domain.runs.application import RunsService
from domain.runs.errors import RunAlreadyExistsError
from domain.system.application import SystemService
from domain.triggers.errors import MalformedPayloadError
from domain.triggers.matching import match_pipelines
from domain.triggers.model import EventKind, IgnoredDelivery, TriggerEvent
from domain.triggers.ports import ForgeWebhooks
from domain.triggers.requests import run_request
from domain.webhooks.aggregates import Delivery, delivery_id_for
from domain.webhooks.errors import InboxDrainingError

log = logging.getLogger(__name__)

GLOBAL_SECRET = "global"
PENDING, DUPLICATE = "pending", "duplicate"
DRAINING = "Danube is draining; the delivery is processed when draining ends"
NO_CONFIG = "no configuration is in force yet; the delivery is processed once one is"
RETRY = "processing failed; the inbox worker tries again"
PING = "ping: the webhook reaches Danube"


@dataclass(frozen=True)
class Outcome:
    # started | ignored | failed (recorded); pending (left unprocessed); duplicate
    outcome: str
    runs: list[str]
    reason: str = ""


def authorised(pipelines: tuple[Pipeline, ...], verified_by: list[str]) -> list[Pipeline]:
    """The global secret speaks for every pipeline; a pipeline's own secret for itself."""
    if GLOBAL_SECRET in verified_by:
        return list(pipelines)
    names = {v.removeprefix("pipeline:") for v in verified_by if v.startswith("pipeline:")}
    return [p for p in pipelines if p.name in names]


class Inbox:
    def __init__(
        self,
        log: EventLog,
        runs: RunsService,
        config: ConfigService,
        system: SystemService,
        forges: Mapping[str, ForgeWebhooks],
    ) -> None:
        self._log, self._runs, self._config, self._forges = log, runs, config, forges
        self._system = system

    def forge(self, provider: str) -> ForgeWebhooks | None:
        return self._forges.get(provider)

    def deliver(
        self,
        provider: str,
        delivery_id: str,
        event: str,
        headers: Mapping[str, str],
        body: bytes,
        verified_by: list[str],
    ) -> Outcome:
        """Store a verified delivery and process it at once. Refused while draining
        (``InboxDrainingError``, nothing stored); a delivery id already stored is a
        ``duplicate`` and changes nothing. Once stored, a failure to process leaves it
        ``pending`` for the inbox worker rather than raising."""
        if self._system.is_draining():
            raise InboxDrainingError("Danube is draining: deliveries are refused until it ends")
        delivery = Delivery.receive(
            provider, delivery_id, event, dict(headers), body.decode("utf-8"), verified_by
        )
        try:
            self._log.create(delivery)
        except RecordConflictError:
            return Outcome(DUPLICATE, [])
        try:  # just stored, just checked for draining: no need to load or check again
            return self._process(delivery)
        except Exception:
            log.exception("processing delivery %s failed; it stays in the inbox", delivery_id)
            return Outcome(PENDING, [], RETRY)

    def receive(
        self,
        provider: str,
        delivery_id: str,
        event: str,
        headers: Mapping[str, str],
        body: bytes,
        verified_by: list[str],
    ) -> tuple[UUID, bool]:
        """Store the delivery; returns its id and False if it was already stored."""
        delivery = Delivery.receive(
            provider, delivery_id, event, dict(headers), body.decode("utf-8"), verified_by
        )
        try:
            self._log.create(delivery)
        except RecordConflictError:
            return delivery_id_for(provider, delivery_id), False
        return delivery.id, True

    def process(self, delivery_id: UUID) -> Outcome:
        delivery = self._log.load(Delivery, delivery_id)
        if delivery.processed:
            return Outcome(delivery.outcome, list(delivery.runs))
        if self._system.is_draining():
            return Outcome(PENDING, [], DRAINING)
        return self._process(delivery)

    def _process(self, delivery: Delivery) -> Outcome:
        outcome = self._outcome(delivery)
        if outcome.outcome == PENDING:
            return outcome

        def record(d: Delivery) -> bool:
            return d.record_processed(outcome.outcome, outcome.runs, outcome.reason)

        record(delivery)
        try:
            self._log.save(delivery)
        except RecordConflictError:  # processed meanwhile (the worker): record on fresh state
            self._log.update(Delivery, delivery.id, record)
        return outcome

    def replay(self, delivery_id: UUID, cause: Cause) -> Outcome:
        """Process a stored delivery again with the config in force now. Refused while
        draining (``InboxDrainingError``), with nothing recorded."""
        if self._system.is_draining():
            raise InboxDrainingError("Danube is draining: deliveries are replayed after it")
        self._log.update(Delivery, delivery_id, lambda d: d.replay(cause.to_dict()))
        return self.process(delivery_id)

    def _outcome(self, delivery: Delivery) -> Outcome:
        forge = self._forges.get(delivery.provider)
        if forge is None:
            return Outcome("failed", [], f"unknown provider {delivery.provider!r}")
        try:
            parsed = forge.parse(delivery.body.encode("utf-8"), delivery.headers)
        except MalformedPayloadError as error:
            return Outcome("failed", [], str(error))
        if isinstance(parsed, IgnoredDelivery):
            return Outcome("ignored", [], parsed.reason)
        if parsed.kind is EventKind.PING:
            return Outcome("ignored", [], PING)
        config = self._config.current()
        if config is None:
            return Outcome(PENDING, [], NO_CONFIG)
        return self._start(parsed, authorised(config.pipelines, delivery.verified_by))

    def _start(self, event: TriggerEvent, pipelines: list[Pipeline]) -> Outcome:
        matches = match_pipelines(event, pipelines)
        if not matches:
            what = event.tag or event.branch or event.ref
            return Outcome("ignored", [], f"no pipeline matches {event.repository_key} {what}")
        by_name = {p.name: p for p in pipelines}
        runs = []
        for match in matches:
            request = run_request(
                by_name[match.pipeline],
                kind=match.trigger.value,
                ref=match.ref,
                commit=match.commit,
                trigger={
                    "provider": event.provider.value,
                    "event": event.event_name,
                    "delivery_id": event.delivery_id,
                    "sender": event.sender,
                },
                deduplicate_on=match.ref,
            )
            cause = Cause(
                actor=f"webhook:{event.provider.value}",
                trigger=match.trigger.value,
                delivery_id=event.delivery_id,
            )
            with contextlib.suppress(RunAlreadyExistsError):  # this trigger already ran
                self._runs.request_run(request, cause)
            runs.append(request.run_id.hex)
        return Outcome("started", runs)
