"""A real CNCF distribution registry (Debian's docker-registry) on a free local port with
deletion enabled, and images pushed into it with skopeo from OCI layouts built here."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.support import free_port, http_get, wait_until

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


@dataclass
class Registry:
    url: str
    root: Path
    config: Path

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def push(self, repository: str, tag: str, created: datetime, content: bytes = b"") -> str:
        """Build a one-layer OCI image created at ``created`` and push it; its digest."""
        layout = self.root / "layouts" / f"{repository.replace('/', '_')}-{tag}"
        digest = _oci_layout(layout, tag, created, content or f"{repository}:{tag}".encode())
        subprocess.run(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             f"oci:{layout}:{tag}", f"docker://{self.host}/{repository}:{tag}"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return digest

    def tags(self, repository: str) -> list[str]:
        status, body = http_get(f"{self.url}/v2/{repository}/tags/list")
        if status == 404:
            return []
        assert status == 200, body
        return sorted(json.loads(body).get("tags") or [])


@contextmanager
def running_registry(tmp: Path) -> Iterator[Registry]:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        [REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_get(f"{url}/v2/")[0] == 200, timeout=30, what="the registry")
        yield Registry(url, tmp, config)
    finally:
        process.terminate()
        process.wait(10)


def _oci_layout(root: Path, tag: str, created: datetime, content: bytes) -> str:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("content.txt")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    layer, layer_size = blob(gzip.compress(tar.getvalue(), mtime=0))
    config, config_size = blob(json.dumps({
        "created": created.isoformat().replace("+00:00", "Z"),
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers",
                   "diff_ids": [f"sha256:{hashlib.sha256(tar.getvalue()).hexdigest()}"]},
    }).encode())  # fmt: skip
    manifest, manifest_size = blob(json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer, "size": layer_size}],
    }).encode())  # fmt: skip
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest, "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }))  # fmt: skip
    return manifest
