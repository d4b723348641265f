"""Invariants of the config repository, webhook delivery and cron trigger aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.config.aggregates import CONFIG_ID, ConfigRepository
from domain.config.model import Trigger, TriggerKind
from domain.schedules.aggregates import CronTrigger
from domain.webhooks.aggregates import Delivery, delivery_id_for

SYNC = {"actor": "system:config-sync"}


def repository() -> ConfigRepository:
    repo = ConfigRepository._create(ConfigRepository.Created, id=CONFIG_ID)
    repo.collect_events()
    return repo


def test_a_commit_is_accepted_or_rejected_once() -> None:
    repo = repository()
    assert repo.accept("a" * 40, {"commit": "a" * 40}, SYNC)
    assert not repo.accept("a" * 40, {"commit": "a" * 40}, SYNC)
    assert repo.reject("b" * 40, [{"file": "x.yaml"}], SYNC)
    assert not repo.reject("b" * 40, [{"file": "x.yaml"}], SYNC)
    assert not repo.reject("a" * 40, [], SYNC), "the config in force is never rejected"
    assert repo.accepted_commit == "a" * 40, "a rejection leaves the config in force"
    assert len(repo.collect_events()) == 2


def test_a_fetch_problem_is_recorded_once_per_message_and_once_when_it_clears() -> None:
    repo = repository()
    assert repo.fetch_failed("unreachable")
    assert not repo.fetch_failed("unreachable")
    assert repo.fetch_failed("authentication failed")
    assert repo.fetch_recovered()
    assert not repo.fetch_recovered()


def test_a_delivery_is_keyed_by_provider_and_delivery_id() -> None:
    delivery = Delivery.receive("github", "d-1", "push", {}, "{}", ["global"])
    assert delivery.id == delivery_id_for("github", "d-1") != delivery_id_for("gitlab", "d-1")
    assert delivery.record_processed("started", ["r1"], "")
    assert not delivery.record_processed("started", ["r1"], "")
    delivery.replay({"actor": "admin"})
    assert not delivery.processed


def test_a_cron_trigger_handles_each_minute_once_and_only_forwards() -> None:
    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    trigger = CronTrigger.arm(
        "nightly", Trigger(kind=TriggerKind.CRON, schedule="* * * * *"), noon - timedelta(seconds=1)
    )
    assert trigger.fired(noon, "r1")
    assert not trigger.fired(noon, "r2")
    assert not trigger.skipped(noon - timedelta(minutes=1), "draining")
    assert trigger.skipped(noon + timedelta(minutes=1), "draining")
