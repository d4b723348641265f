"""Stored contracts of the domain, checked statically: every event class of every
aggregate has an explicit, stable, unique topic that resolves to it; and the event log
never falls back to the library's in-memory persistence."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

import domain
from adapters.sql.store import StoreConfig, eventlog_env
from domain.eventlog import EventLog, PersistenceNotConfiguredError


def aggregates() -> list[type[Aggregate]]:
    found: dict[str, type[Aggregate]] = {}
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        for _, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, Aggregate) and value.__module__.startswith("domain."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def event_classes(aggregate: type[Aggregate]) -> list[type]:
    """Every event class nested in the aggregate, except its abstract ``Event`` base."""
    return [
        value
        for name, value in vars(aggregate).items()
        if inspect.isclass(value)
        and issubclass(value, CanMutateAggregate)
        and value is not aggregate.Event
        and name != "Event"
    ]


def test_the_walk_finds_every_aggregate() -> None:
    names = {a.__name__ for a in aggregates()}
    assert {"Run", "ConfigRepository", "Secret", "System", "Delivery", "CronTrigger"} <= names


@pytest.mark.parametrize("aggregate", aggregates(), ids=lambda a: a.__name__)
def test_every_event_class_has_an_explicit_topic_that_resolves_to_it(
    aggregate: type[Aggregate],
) -> None:
    classes = [aggregate, *event_classes(aggregate)]
    assert len(classes) > 1, f"{aggregate.__name__} has events"
    for cls in classes:
        topic = get_topic(cls)
        assert topic.startswith("danube:"), f"{cls.__qualname__} is stored as {topic}"
        assert resolve_topic(topic) is cls


def test_no_two_classes_share_a_topic() -> None:
    topics = [get_topic(c) for a in aggregates() for c in [a, *event_classes(a)]]
    assert len(topics) == len(set(topics))


def test_the_event_log_refuses_the_in_memory_default() -> None:
    with pytest.raises(PersistenceNotConfiguredError, match="in-memory"):
        EventLog({})
    with pytest.raises(PersistenceNotConfiguredError):
        EventLog({"PERSISTENCE_MODULE": "", "CREATE_TABLE": "y"})


def test_the_store_always_names_a_persistence_module(tmp_path: Path) -> None:
    sqlite = eventlog_env(StoreConfig(kind="sqlite", data_dir=tmp_path))
    postgres = eventlog_env(StoreConfig(kind="postgres", database_url="postgresql://x@h/db"))
    assert sqlite["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert postgres["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    with pytest.raises(ValueError, match="data directory"):
        eventlog_env(StoreConfig(kind="sqlite"))
