"""The users and teams authentication knows: those of the config in force, or, with no
config in force, the first-start local admin (``api.auth.local_admin``; it can log in
with a password once its password file exists, and have API tokens from the start)."""

from __future__ import annotations

import functools
from pathlib import Path

import bcrypt

from api.auth import local_admin
from domain.config.application import ConfigService
from domain.config.model import Team, User


@functools.cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=12))


class Directory:
    def __init__(self, config: ConfigService, data_dir: Path) -> None:
        self._config, self._data_dir = config, data_dir

    def local(self) -> bool:
        """True while no config is in force: the local admin is the only user."""
        return self._config.current() is None

    def users(self) -> tuple[User, ...]:
        config = self._config.current()
        if config is not None:
            return config.users
        return (local_admin.user(),)

    def teams(self) -> tuple[Team, ...]:
        """The teams the policy sees: the config's, or the local admin's global_admin team."""
        config = self._config.current()
        if config is not None:
            return config.teams
        return (local_admin.team(),)

    def find(self, login: str) -> User | None:
        """A user by ``metadata.name`` or e-mail (case-insensitive)."""
        wanted = login.strip().lower()
        if not wanted:
            return None
        return next(
            (u for u in self.users() if u.name.lower() == wanted or u.email.lower() == wanted),
            None,
        )

    def check_password(self, login: str, password: str) -> User | None:
        """The user when ``password`` is theirs; None otherwise (unknown user included)."""
        user = self.find(login)
        if user is None or not password:
            bcrypt.checkpw(b"x", _dummy_hash())  # as slow as a real check: no user enumeration
            return None
        if self.local() and user.name == local_admin.NAME:
            return user if local_admin.password_matches(self._data_dir, password) else None
        if not user.password_hash:
            return None
        try:
            ok = bcrypt.checkpw(password.encode(), user.password_hash.encode())
        except ValueError:  # not a bcrypt hash
            return None
        return user if ok else None
