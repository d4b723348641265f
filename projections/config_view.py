"""Query interfaces over the config and deliveries read models."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from projections.config import STATE_ID
from projections.model import Row, RowReader


class ConfigView:
    def __init__(self, reader: RowReader) -> None:
        self._reader = reader

    def state(self) -> Row | None:
        """Commit in force and when it was accepted; last rejection and its errors; a
        current fetch problem."""
        return self._reader.get("config_state", STATE_ID)

    def pipelines(self, names: Collection[str] | None = None) -> list[Row]:
        """The configured pipelines (only those named in ``names`` if given)."""
        return self._reader.find("config_pipelines", {} if names is None else {"id": sorted(names)})

    def pipeline(self, name: str) -> Row | None:
        return self._reader.get("config_pipelines", name)

    def users(self) -> list[Row]:
        return self._reader.find("config_users", {})

    def teams(self) -> list[Row]:
        return self._reader.find("config_teams", {})

    def permissions(self, pipeline: str | None = None) -> list[Row]:
        where: dict[str, Any] = {"pipeline": pipeline} if pipeline else {}
        return self._reader.find("config_permissions", where)


class DeliveriesView:
    def __init__(self, reader: RowReader) -> None:
        self._reader = reader

    def recent(self, limit: int = 50, provider: str = "") -> list[Row]:
        where = {"provider": provider} if provider else {}
        return self._reader.find(
            "deliveries", where, order_by=("received_at", "id"), descending=True, limit=limit
        )

    def get(self, delivery_id: str) -> Row | None:
        return self._reader.get("deliveries", delivery_id)

    def unprocessed(self, limit: int = 100) -> list[Row]:
        return self._reader.find(
            "deliveries", {"processed": 0}, order_by=("received_at", "id"), limit=limit
        )
