"""The candidate secrets a webhook delivery is verified against: the global one from
settings, and each pipeline's own (a Danube secret named by ``webhook_secret_name``)."""

from __future__ import annotations

import threading
import time

from domain.config.application import ConfigService
from domain.secrets.application import SecretsService
from domain.secrets.errors import SecretsError
from domain.triggers.model import WebhookSecret

TTL_SECONDS = 30.0


class WebhookSecrets:
    def __init__(
        self, globals_: dict[str, str], config: ConfigService, secrets: SecretsService
    ) -> None:
        self._globals = globals_
        self._config, self._secrets = config, secrets
        self._cache: tuple[float, list[WebhookSecret]] = (0.0, [])
        self._lock = threading.Lock()

    def candidates(self, provider: str) -> list[WebhookSecret]:
        value = self._globals.get(provider, "")
        found = [WebhookSecret("global", value)] if value else []
        return found + self._per_pipeline()

    def _per_pipeline(self) -> list[WebhookSecret]:
        with self._lock:
            loaded_at, cached = self._cache
            if time.monotonic() - loaded_at < TTL_SECONDS:
                return cached
        config = self._config.current()
        found = []
        for pipeline in config.pipelines if config is not None else ():
            if not pipeline.webhook_secret_name:
                continue
            try:
                _, value = self._secrets.find(pipeline.name, pipeline.webhook_secret_name)
            except SecretsError:
                continue  # not set (yet): this pipeline accepts only the global secret
            found.append(WebhookSecret(f"pipeline:{pipeline.name}", value))
        with self._lock:
            self._cache = (time.monotonic(), found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._cache = (0.0, [])
