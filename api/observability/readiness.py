"""The readiness checks beyond the event store and the read models (README
"Readiness"): each returns what it found, or raises ``NotReadyError`` saying why not.
Each is run with its own time limit by ``api.http.health``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from api.observability.process import HEARTBEAT_SECONDS

if TYPE_CHECKING:
    from api.bootstrap import Core
    from api.triggers.loops import ConfigSyncLoop

Check = Callable[[float], str]


class NotReadyError(Exception):
    pass


def optional_checks(danube: Core, config_sync: ConfigSyncLoop | None) -> dict[str, Check]:
    """The checks that apply to this server's configuration, by name."""
    settings = danube.settings
    checks: dict[str, Check] = {}
    if settings.executor == "kubernetes":
        checks["kubernetes"] = lambda timeout: _kubernetes(danube, timeout)
    if settings.oidc_issuer:
        checks["oidc"] = lambda timeout: _oidc(settings.oidc_issuer, timeout)
    else:
        checks["oidc"] = lambda timeout: _built_in_issuer(danube)
    if settings.registry_url:
        checks["registry"] = lambda timeout: _registry(settings.registry_url, timeout)
    if config_sync is not None:
        checks["config_sync"] = lambda timeout: _config_sync(config_sync)
    for role in ("dispatcher", "pod_adapter"):
        checks[role] = lambda timeout, role=role: _heartbeat(danube, role)  # type: ignore[misc]
    return checks


def _kubernetes(danube: Core, timeout: float) -> str:
    from adapters.kubernetes.readiness import KubernetesNotReadyError, check_jobs_namespace
    from api.execution.kubernetes import kubernetes_settings

    settings = kubernetes_settings(danube.settings)
    try:
        return check_jobs_namespace(settings.client, danube.settings.k8s_namespace_jobs, timeout)
    except KubernetesNotReadyError as error:
        raise NotReadyError(str(error)) from None


def _oidc(issuer: str, timeout: float) -> str:
    url = f"{issuer}/.well-known/openid-configuration"
    status, body = _get(url, timeout)
    if status != 200:
        raise NotReadyError(f"issuer discovery {url} answered {status}")
    try:
        found = json.loads(body).get("issuer")
    except (ValueError, AttributeError):
        raise NotReadyError(f"issuer discovery {url} did not answer JSON") from None
    if found != issuer:
        raise NotReadyError(f"issuer discovery names issuer {found!r}, expected {issuer!r}")
    jwks_uri = str(json.loads(body).get("jwks_uri") or "")
    status, body = _get(jwks_uri, timeout) if jwks_uri else (0, b"")
    try:
        keys = json.loads(body).get("keys") if status == 200 else None
    except (ValueError, AttributeError):
        keys = None
    if not keys:
        raise NotReadyError(f"the issuer's JWKS {jwks_uri or '(none named)'} holds no keys")
    return f"issuer discovery answers at {url}; its JWKS holds {len(keys)} key(s)"


def _built_in_issuer(danube: Core) -> str:
    """The built-in issuer signs with a key in the data directory: it must load."""
    from api.auth.keys import IssuerKeyError, load_or_create_key

    try:
        key = load_or_create_key(danube.settings.data_dir)
    except (IssuerKeyError, OSError, ValueError) as error:
        raise NotReadyError(f"the built-in issuer's signing key: {error}") from None
    kid = (key.kid or "")[:12]
    return f"built-in issuer at {danube.settings.public_url}/auth/issuer, key {kid}"


def _registry(registry: str, timeout: float) -> str:
    url = f"{registry}/v2/"
    status, _ = _get(url, timeout)
    if status not in (200, 401):  # 401: it answers, and wants credentials
        raise NotReadyError(f"{url} answered {status}")
    return f"{url} answers {status}"


def _config_sync(config_sync: ConfigSyncLoop) -> str:
    ok, why = config_sync.health.verdict()
    if not ok:
        raise NotReadyError(why)
    return why


def _heartbeat(danube: Core, role: str) -> str:
    beat = danube.store.heartbeats.last(role)
    if beat is None:
        return "not run as a process of its own"
    age = (datetime.now(UTC) - beat.beat_at).total_seconds()
    limit = 3 * HEARTBEAT_SECONDS
    if age > limit:
        raise NotReadyError(f"last heartbeat of {beat.process} {age:.0f}s ago (limit {limit:.0f}s)")
    return f"{beat.process} beat {age:.1f}s ago"


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read(1 << 20)
    except urllib.error.HTTPError as error:
        return int(error.code), b""
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotReadyError(f"{url} unreachable: {reason}") from None
