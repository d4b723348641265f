"""The ``observability`` keys of ``config.yaml`` (DESIGN.md §6): ``metrics_enabled``,
``traces_enabled``, ``otel_endpoint``, as the config in force says them."""

from __future__ import annotations

from dataclasses import dataclass

from domain.config.model import Config


@dataclass(frozen=True)
class Observability:
    metrics_enabled: bool = True
    traces_enabled: bool = False
    otel_endpoint: str = ""

    @property
    def tracing(self) -> bool:
        """Traces are exported only when both are set: off by default."""
        return self.traces_enabled and bool(self.otel_endpoint)


def observability_of(config: Config | None) -> Observability:
    """What ``config.yaml``'s ``observability`` says (its defaults before any config)."""
    if config is None:
        return Observability()
    given = config.settings.observability
    return Observability(
        metrics_enabled=given.metrics_enabled,
        traces_enabled=given.traces_enabled,
        otel_endpoint=given.otel_endpoint.strip(),
    )
