"""The master key file: created 0600 without races, refused when others may read it."""

from __future__ import annotations

import errno
import os
import pickle
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.crypto.errors import InsecureKeyFileError, InvalidKeyFileError, KeyFileExistsError
from adapters.crypto.keyfile import (
    KEY_SIZE,
    MasterKey,
    generate_master_key,
    load_master_key,
    load_or_create_master_key,
)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Creation must not rely on the process's umask for its 0600."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_key_file_is_created_with_32_random_bytes_and_mode_0600(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "data" / "master.key"
    key = load_or_create_master_key(path)
    assert mode(path) == 0o600
    assert len(path.read_bytes()) == KEY_SIZE
    assert load_or_create_master_key(path) == key
    assert load_master_key(path).key_id == key.key_id
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]  # no temp left


def test_processes_starting_together_all_get_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_or_create_master_key(path), range(32)))
    assert {key.key_id for key in keys} == {load_master_key(path).key_id}


@pytest.mark.parametrize("insecure", [0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o620])
def test_a_key_file_others_may_access_is_refused(tmp_path: Path, insecure: int) -> None:
    path = tmp_path / "master.key"
    load_or_create_master_key(path)
    path.chmod(insecure)
    with pytest.raises(InsecureKeyFileError) as refused:
        load_or_create_master_key(path)
    assert str(path) in str(refused.value)
    assert f"{insecure:04o}" in str(refused.value)


@pytest.mark.parametrize("secure", [0o600, 0o400])
def test_a_key_file_only_its_owner_may_read_is_accepted(tmp_path: Path, secure: int) -> None:
    path = tmp_path / "master.key"
    key = load_or_create_master_key(path)
    path.chmod(secure)
    assert load_master_key(path) == key


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_key_file_of_the_wrong_size_is_refused(tmp_path: Path, size: int) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(b"k" * size)
    path.chmod(0o600)
    with pytest.raises(InvalidKeyFileError, match=f"{path}.*exactly 32"):
        load_or_create_master_key(path)


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    (tmp_path / "master.key").mkdir(mode=0o700)
    with pytest.raises(InvalidKeyFileError, match="not a regular file"):
        load_or_create_master_key(tmp_path / "master.key")


def test_generating_refuses_to_overwrite_unless_forced(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "master.key"
    first = generate_master_key(path)
    assert mode(path) == 0o600
    with pytest.raises(KeyFileExistsError, match="already exists"):
        generate_master_key(path)
    assert load_master_key(path) == first
    second = generate_master_key(path, force=True)
    assert second != first
    assert load_master_key(path) == second
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


def test_key_material_never_shows_in_repr_str_or_pickle(tmp_path: Path) -> None:
    raw = bytes(range(32))
    key = MasterKey(raw)
    for text in (repr(key), str(key), f"{key}"):
        assert key.key_id in text
        assert raw.hex() not in text and repr(raw) not in text
    with pytest.raises(TypeError, match="not serialisable"):
        pickle.dumps(key)


def test_a_master_key_has_exactly_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey(b"short")


def test_without_hard_links_the_key_file_is_still_created_exclusively_and_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, permissive_umask: None
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(errno.EPERM, "hard links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "master.key"
    key = load_or_create_master_key(path)
    assert mode(path) == 0o600
    assert load_master_key(path) == key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]
    with pytest.raises(KeyFileExistsError):
        generate_master_key(path)
