"""The ``observability`` keys of ``config.yaml`` (DESIGN.md §6): ``metrics_enabled``,
``traces_enabled``, ``otel_endpoint``.

The config parser hands them over as ``(key, value)`` pairs today; a mapping is read the
same way, and values may be strings (``"false"``) or YAML booleans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.config.model import Config

_FALSE = {"false", "no", "off", "0", ""}


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
    if config is None:
        return Observability()
    raw: Any = getattr(config.settings, "observability", ())
    values = dict(raw.items() if isinstance(raw, Mapping) else _pairs(raw))
    return Observability(
        metrics_enabled=_flag(values.get("metrics_enabled"), default=True),
        traces_enabled=_flag(values.get("traces_enabled"), default=False),
        otel_endpoint=str(values.get("otel_endpoint") or "").strip(),
    )


def _pairs(raw: Iterable[Any]) -> list[tuple[str, Any]]:
    return [(str(pair[0]), pair[1]) for pair in raw if len(pair) == 2]


def _flag(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE
