"""Forge webhooks (GitHub, GitLab): verification and parsing into ``domain.triggers`` values.

The errors are the domain's (``domain.triggers.errors``), re-exported for convenience.
"""

from adapters.forges.github import GitHubWebhooks
from adapters.forges.gitlab import GitLabWebhooks
from domain.triggers.errors import (
    MalformedPayloadError,
    SignatureMismatchError,
    SignatureMissingError,
    WebhookRejectedError,
    WebhookSecretNotConfiguredError,
)

__all__ = [
    "GitHubWebhooks",
    "GitLabWebhooks",
    "MalformedPayloadError",
    "SignatureMismatchError",
    "SignatureMissingError",
    "WebhookRejectedError",
    "WebhookSecretNotConfiguredError",
]
