"""The observability keys of config.yaml, as the config in force says them."""

from __future__ import annotations

from api.observability.options import Observability, observability_of
from domain.config.model import Config, Settings
from domain.config.model import Observability as Configured


def config(**given: object) -> Config:
    return Config(commit="c", settings=Settings(observability=Configured(**given)))  # type: ignore[arg-type]


def test_without_a_config_metrics_are_on_and_traces_off() -> None:
    assert observability_of(None) == Observability(True, False, "")
    assert observability_of(None).tracing is False


def test_the_configs_keys_are_read() -> None:
    found = observability_of(
        config(metrics_enabled=False, traces_enabled=True, otel_endpoint=" http://c:4317 ")
    )
    assert found == Observability(False, True, "http://c:4317")
    assert found.tracing is True


def test_traces_need_both_the_switch_and_an_endpoint() -> None:
    assert observability_of(config(traces_enabled=True)).tracing is False
    assert observability_of(config(otel_endpoint="http://c:4317")).tracing is False
