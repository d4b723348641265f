"""The one permission check every operation of the application layer makes: ask the
policy (through the principal), and on a refusal record it (an event, so the audit
trail shows it), count it, and raise the refusal the transports map to 401 / 403."""

from __future__ import annotations

import logging
from collections.abc import Callable

from api.app.errors import ForbiddenError, UnauthenticatedError
from api.app.principal import Principal
from domain.auth.aggregates import DenialsService
from domain.auth.policy import Action

log = logging.getLogger(__name__)


class Access:
    def __init__(self, denials: DenialsService, counted: Callable[[], None]) -> None:
        self._denials, self._counted = denials, counted

    def require(
        self, principal: Principal, action: Action, operation: str, pipeline: str | None = None
    ) -> None:
        """Return when ``principal`` may do ``action`` (on ``pipeline``); otherwise
        record the refusal and raise ``UnauthenticatedError`` or ``ForbiddenError``."""
        decision = principal.decide(action, pipeline)
        if decision.allowed:
            return
        self.denied(principal, operation, decision.code, decision.reason, pipeline or "")

    def authenticated(self, principal: Principal, operation: str) -> None:
        """Anyone signed in may; nobody else."""
        self.require(principal, Action.READ_STATUS, operation)

    def denied(
        self, principal: Principal, operation: str, code: str, reason: str, pipeline: str = ""
    ) -> None:
        self._counted()
        try:
            self._denials.record(operation, code, pipeline, principal.cause(reason=reason))
        except Exception:  # the refusal stands even when it cannot be recorded
            log.exception("could not record the refusal of %s to %s", principal.actor, operation)
        if code == "UNAUTHENTICATED":
            raise UnauthenticatedError(f"{operation}: {reason}")
        raise ForbiddenError(f"{operation}: {reason}")
