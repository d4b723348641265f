"""Who is asking. Authentication (its own issue) fills this from tokens; until then an
HTTP caller is the anonymous API principal and a command line on the server's machine
is the local operator. Every command's cause comes from here."""

from __future__ import annotations

from dataclasses import dataclass

from domain.cause import Cause


@dataclass(frozen=True)
class Principal:
    actor: str  # as it appears in causes and the audit trail: "api", "user:alice", ...

    def cause(self, *, trigger: str = "", reason: str = "") -> Cause:
        return Cause(actor=self.actor, trigger=trigger, reason=reason)


ANONYMOUS = Principal(actor="api")
OPERATOR = Principal(actor="operator")
