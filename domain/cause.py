"""Who or what caused a command: carried by every event so the audit trail can answer
"who did this"."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Cause:
    """``actor`` names a principal: ``user:alice``, ``webhook:github``, ``cron``,
    ``system:dispatcher``, ``executor:local``. ``trigger`` is the trigger kind for
    commands that start runs, ``delivery_id`` the forge's delivery for webhook-caused
    commands, ``reason`` free text for operators."""

    actor: str
    trigger: str = ""
    delivery_id: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Cause:
        return cls(
            actor=data.get("actor", ""),
            trigger=data.get("trigger", ""),
            delivery_id=data.get("delivery_id", ""),
            reason=data.get("reason", ""),
        )


SYSTEM = Cause(actor="system")
