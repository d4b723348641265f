"""Per-job bearer tokens for the coordinator's gRPC calls.

A token is an HMAC of the job id under a server key, so every replica holding the key
verifies it without storing tokens anywhere (not in events, manifests or logs). A valid
token is only half the check: calls are also refused unless the job is running, which
is what makes a token expire when its job ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from domain.ids import JobId


class JobTokens:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the job token key must be at least 32 bytes")
        self._key = key

    def issue(self, job_id: JobId) -> str:
        digest = hmac.new(self._key, b"danube-job:" + job_id.bytes, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, job_id: JobId, token: str) -> bool:
        return hmac.compare_digest(self.issue(job_id), token)

    def __repr__(self) -> str:
        return "JobTokens(<key hidden>)"
