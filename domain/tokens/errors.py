"""Named errors of the API tokens context."""

from __future__ import annotations


class TokenError(Exception):
    pass


class InvalidTokenRequestError(TokenError):
    """A token cannot be created as asked (bad scope, name or lifetime)."""


class TokenNotFoundError(TokenError):
    pass


class TokenRejectedError(TokenError):
    """A presented token is unknown, malformed, revoked or expired (the message says which)."""
