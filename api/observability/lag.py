"""How far behind a read model is, in time (readiness and the lag metric)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.bootstrap import Core


def lag_seconds(danube: Core, position: int, head: int) -> float:
    """How long ago the oldest event after ``position`` happened; 0 when caught up."""
    if position >= head:
        return 0.0
    since = danube.store.feed.recorded_after(position)
    if since is None:
        return 0.0
    return round(max((datetime.now(UTC) - since).total_seconds(), 0.0), 3)
