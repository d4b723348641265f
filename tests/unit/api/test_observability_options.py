"""The observability keys of config.yaml, read from the parser's pairs or a mapping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from api.observability.options import Observability, observability_of
from domain.config.model import Config, Settings


def test_without_a_config_metrics_are_on_and_traces_off() -> None:
    assert observability_of(None) == Observability(True, False, "")
    assert observability_of(None).tracing is False


@pytest.mark.parametrize(
    "given",
    [
        (
            ("metrics_enabled", "false"),
            ("traces_enabled", "true"),
            ("otel_endpoint", "http://c:4317"),
        ),
        {"metrics_enabled": False, "traces_enabled": True, "otel_endpoint": "http://c:4317"},
    ],
)
def test_pairs_and_mappings_are_read_alike(given: Any) -> None:
    config: Any = SimpleNamespace(settings=SimpleNamespace(observability=given))
    found = observability_of(config)
    assert found == Observability(False, True, "http://c:4317")
    assert found.tracing is True


def test_traces_need_both_the_switch_and_an_endpoint() -> None:
    only_switch = Config(commit="c", settings=Settings(observability=(("traces_enabled", "yes"),)))
    assert observability_of(only_switch).tracing is False
    only_endpoint = Config(
        commit="c", settings=Settings(observability=(("otel_endpoint", "http://c:4317"),))
    )
    assert observability_of(only_endpoint).tracing is False
