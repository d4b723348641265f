"""Errors of trigger ingestion. Messages name what is wrong, never a secret's value."""

from __future__ import annotations


class TriggerError(Exception):
    """Base of every error raised while turning forge deliveries or schedules into runs."""


class WebhookRejectedError(TriggerError):
    """A delivery failed verification; nothing of its body may be trusted or parsed.

    ``header`` names the header that was checked (``X-Hub-Signature-256``).
    """

    def __init__(self, header: str, message: str) -> None:
        self.header = header
        super().__init__(message)


class SignatureMissingError(WebhookRejectedError):
    """The delivery carries no signature/token header at all."""

    def __init__(self, header: str) -> None:
        super().__init__(header, f"webhook delivery has no {header} header")


class SignatureMismatchError(WebhookRejectedError):
    """The header is present but malformed, or matches none of the configured secrets."""

    def __init__(self, header: str, reason: str = "matches no configured secret") -> None:
        super().__init__(header, f"{header} {reason}")


class WebhookSecretNotConfiguredError(WebhookRejectedError):
    """No usable (non-empty) secret was configured, so every delivery is refused."""

    def __init__(self, header: str) -> None:
        super().__init__(header, f"no webhook secret is configured to verify {header}")


class MalformedPayloadError(TriggerError, ValueError):
    """A verified delivery whose body or headers are not what the forge documents."""


class InvalidRepositoryUrlError(TriggerError, ValueError):
    """A repository URL or path that cannot be normalised."""


class InvalidGlobError(TriggerError, ValueError):
    """A branch or tag glob that cannot be compiled (e.g. an unclosed ``[``)."""


class InvalidScheduleError(TriggerError, ValueError):
    """A cron expression or timezone that cannot be evaluated."""
