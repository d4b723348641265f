"""Reads of data the reaper removed answer 410 Gone with when and under which policy,
never 404 (the job exists) or 500."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


def gone_if_reaped(reaped: dict[str, Any] | None, what: str) -> None:
    if reaped:
        raise HTTPException(
            410,
            f"{what} was removed by the reaper on {reaped['at']} under {reaped['policy']}",
            headers={"X-Reaped-At": str(reaped["at"])},
        )
