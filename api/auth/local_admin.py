"""The first-start local admin (DESIGN.md §8): with no config repository, one user
``admin`` (a global admin) whose random password is printed once and kept in a 0600 file
in the data directory. Once a config repository's config is in force, its users replace
this one. To change the password, write a new one into the file (or set a config
repository)."""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from pathlib import Path

from domain.config.model import Team, User

NAME = "admin"
EMAIL = "admin@danube.local"
TEAM = "local-admins"
PASSWORD_FILE = "admin-password"


def password_path(data_dir: Path) -> Path:
    return data_dir.resolve() / PASSWORD_FILE


def ensure_password(data_dir: Path) -> str | None:
    """Create the admin's password file if there is none; the new password, or None
    when it existed already (it is never printed twice)."""
    path = password_path(data_dir)
    if path.exists():
        return None
    password = secrets.token_urlsafe(18)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return None
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    return password


def read_password(data_dir: Path) -> str | None:
    try:
        return password_path(data_dir).read_text().strip() or None
    except OSError:
        return None


def user() -> User:
    return User(name=NAME, email=EMAIL, display_name="Local admin")


def team() -> Team:
    """How the config view sees the local admin: the member of a global_admin team."""
    return Team(name=TEAM, members=(EMAIL,), global_admin=True)


def password_matches(data_dir: Path, password: str) -> bool:
    expected = read_password(data_dir)
    return expected is not None and hmac.compare_digest(expected.encode(), password.encode())


def announcement(password: str, data_dir: Path) -> str:
    path = password_path(data_dir)
    return (
        "\n"
        "  Danube created a local admin for this machine (no config repository is set):\n"
        f"    user:     {NAME}\n"
        f"    password: {password}\n"
        f"  It is shown once; it is also in {path} (mode 0600).\n"
        "  To change it, write a new password into that file. Once a config repository\n"
        "  is set (DANUBE_CONFIG_REPO_URL), its users.yaml replaces this user.\n"
    )


def announce_first_admin(data_dir: Path, config_repo_url: str, config_in_force: bool) -> bool:
    """On a start with no config repository: create the admin's password the first time
    and print it once to the terminal. True when it was created now."""
    if config_repo_url or config_in_force:
        return False
    password = ensure_password(data_dir)
    if password is None:
        return False
    sys.stderr.write(announcement(password, data_dir))
    sys.stderr.flush()
    return True
