"""The built-in issuer's signing key: RSA 2048, generated on first use and kept 0600 in
the data directory, so tokens stay valid across restarts. A key file with looser modes
is refused, like the master key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from joserfc.jwk import RSAKey

KEY_FILE = "oidc-issuer-key.pem"


class IssuerKeyError(Exception):
    pass


def load_or_create_key(data_dir: Path) -> RSAKey:
    path = data_dir.resolve() / KEY_FILE
    if not path.exists():
        key = RSAKey.generate_key(2048, private=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use that one
            return load_or_create_key(data_dir)
        with os.fdopen(fd, "wb") as file:
            file.write(key.as_pem(private=True))
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise IssuerKeyError(f"{path} is readable by others: chmod 600 it")
    key = RSAKey.import_key(path.read_bytes())
    return RSAKey.import_key(
        key.as_dict(private=True), parameters={"kid": key.thumbprint(), "use": "sig"}
    )
