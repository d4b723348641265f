"""Trigger ingestion's pure core: forge events, repository and branch matching, cron policy.

Adapters (``adapters/forges``, ``adapters/cron``) turn deliveries and expressions into the
values defined here; the API routes and evaluators compose them.
"""

from domain.triggers.cron import due_fire, floor_minute
from domain.triggers.errors import (
    InvalidGlobError,
    InvalidRepositoryUrlError,
    InvalidScheduleError,
    MalformedPayloadError,
    SignatureMismatchError,
    SignatureMissingError,
    TriggerError,
    WebhookRejectedError,
    WebhookSecretNotConfiguredError,
)
from domain.triggers.globs import glob_matches, matches_any, validate_glob
from domain.triggers.matching import TRIGGERING_PR_ACTIONS, can_trigger, match_pipelines
from domain.triggers.model import (
    EventKind,
    IgnoredDelivery,
    Provider,
    TriggerEvent,
    TriggerMatch,
    WebhookSecret,
    is_zero_sha,
)
from domain.triggers.ports import CronSchedule, ForgeWebhooks, ScheduleFactory
from domain.triggers.repository_url import normalise_repository_url, same_repository

__all__ = [
    "TRIGGERING_PR_ACTIONS",
    "CronSchedule",
    "EventKind",
    "ForgeWebhooks",
    "IgnoredDelivery",
    "InvalidGlobError",
    "InvalidRepositoryUrlError",
    "InvalidScheduleError",
    "MalformedPayloadError",
    "Provider",
    "ScheduleFactory",
    "SignatureMismatchError",
    "SignatureMissingError",
    "TriggerError",
    "TriggerEvent",
    "TriggerMatch",
    "WebhookRejectedError",
    "WebhookSecret",
    "WebhookSecretNotConfiguredError",
    "can_trigger",
    "due_fire",
    "floor_minute",
    "glob_matches",
    "is_zero_sha",
    "match_pipelines",
    "matches_any",
    "normalise_repository_url",
    "same_repository",
    "validate_glob",
]
