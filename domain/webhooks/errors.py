"""Errors of the webhook inbox."""

from __future__ import annotations


class InboxError(Exception):
    """Base of every rule an inbox command can break."""


class InboxDrainingError(InboxError):
    """Danube is draining: stored deliveries stay unprocessed, and are neither processed
    nor replayed, until draining ends."""
