"""``DistributionRegistry``: the reaper's ``Registry`` port over the Registry HTTP API v2
(https://distribution.github.io/distribution/spec/api/, OCI distribution spec).

Listing walks ``/v2/_catalog`` and ``/v2/<name>/tags/list`` (following ``Link`` pages),
resolves each tag to its manifest digest (``Docker-Content-Digest``, else the SHA-256 of
the manifest bytes) and reads the image config's ``created``; an index's age is its
newest child's. ``delete`` is ``DELETE /v2/<name>/manifests/<digest>``: the registry
then no longer serves the manifest, and its garbage collection
(``registry garbage-collect CONFIG``) frees the blobs."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from domain.retention.ports import Image, RegistryError

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[2:]
PAGE = 100


class DistributionRegistry:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def images(self) -> Iterator[Image]:
        for repository in self._paged("/v2/_catalog", "repositories"):
            by_digest: dict[str, list[str]] = {}
            manifests: dict[str, tuple[dict[str, Any], str]] = {}
            for tag in self._paged(f"/v2/{repository}/tags/list", "tags", missing_ok=True):
                manifest, digest, media_type = self._manifest(repository, tag)
                by_digest.setdefault(digest, []).append(tag)
                manifests[digest] = (manifest, media_type)
            for digest, tags in by_digest.items():
                manifest, media_type = manifests[digest]
                created, size = self._age_and_size(repository, manifest, media_type)
                yield Image(repository, digest, tuple(sorted(tags)), created, size)

    def delete(self, repository: str, digest: str) -> None:
        try:
            self._call("DELETE", f"/v2/{repository}/manifests/{digest}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return  # already gone
            if error.code == 405:
                raise RegistryError(
                    f"{self.base_url} refuses deletion (405): enable it in the registry's "
                    "config (storage: delete: enabled: true)"
                ) from None
            raise RegistryError(self._why("DELETE", repository, error)) from None

    # ---- reading ---------------------------------------------------------------------

    def _manifest(self, repository: str, reference: str) -> tuple[dict[str, Any], str, str]:
        body, headers = self._get(
            f"/v2/{repository}/manifests/{reference}", accept=", ".join(MANIFEST_TYPES)
        )
        digest = (
            headers.get("Docker-Content-Digest") or f"sha256:{hashlib.sha256(body).hexdigest()}"
        )
        manifest = json.loads(body)
        media_type = str(manifest.get("mediaType") or headers.get("Content-Type", ""))
        return manifest, digest, media_type

    def _age_and_size(
        self, repository: str, manifest: dict[str, Any], media_type: str
    ) -> tuple[datetime | None, int]:
        if media_type in INDEX_TYPES or "manifests" in manifest:
            ages, total = [], 0
            for child in manifest.get("manifests") or []:
                inner, _, inner_type = self._manifest(repository, str(child["digest"]))
                created, size = self._age_and_size(repository, inner, inner_type)
                total += size
                if created is not None:
                    ages.append(created)
            return (max(ages) if ages else None), total
        config = manifest.get("config") or {}
        size = int(config.get("size", 0)) + sum(
            int(layer.get("size", 0)) for layer in manifest.get("layers") or []
        )
        return self._created(repository, str(config.get("digest", ""))), size

    def _created(self, repository: str, config_digest: str) -> datetime | None:
        if not config_digest:
            return None
        body, _ = self._get(f"/v2/{repository}/blobs/{config_digest}")
        try:
            created = json.loads(body).get("created")
            moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except (ValueError, AttributeError, TypeError):
            return None  # no creation time: its age cannot be told, so it is kept
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def _paged(self, path: str, key: str, missing_ok: bool = False) -> Iterator[str]:
        url: str | None = f"{path}?n={PAGE}"
        while url:
            try:
                body, headers = self._call("GET", url)
            except urllib.error.HTTPError as error:
                if missing_ok and error.code == 404:
                    return  # a repository whose last tag was deleted
                raise RegistryError(self._why("GET", url, error)) from None
            yield from json.loads(body).get(key) or []
            url = _next_link(headers.get("Link", ""))

    def _get(self, path: str, accept: str = "") -> tuple[bytes, dict[str, str]]:
        try:
            return self._call("GET", path, accept)
        except urllib.error.HTTPError as error:
            raise RegistryError(self._why("GET", path, error)) from None

    def _call(self, method: str, path: str, accept: str = "") -> tuple[bytes, dict[str, str]]:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        request = urllib.request.Request(url, method=method)
        if accept:
            request.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.read(), dict(response.headers.items())
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryError(f"cannot reach the registry {self.base_url}: {reason}") from None

    def _why(self, method: str, what: str, error: urllib.error.HTTPError) -> str:
        return f"registry {self.base_url}: {method} {what} answered {error.code} {error.reason}"


def _next_link(header: str) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (a path, or a full URL)."""
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    return match.group(1) if match else None
