"""Upgrading the read-model tables: columns an older version kept and this one must not
(the steps' sealed environment and command) are dropped on start, with their data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from adapters.sql.store import SqlStore, StoreConfig
from projections.runs import RunsProjection
from tests.support import danube_env


def columns(store: SqlStore, table: str) -> set[str]:
    with store.views.dialect.read() as cur:
        cur.execute(f"SELECT * FROM {store.views.table_name(table)} WHERE 1 = 0")
        return {column[0] for column in cur.description or ()}


def test_an_upgrade_drops_the_sealed_step_columns_an_older_version_copied(store: SqlStore) -> None:
    steps, p = store.views.table_name("steps"), store.views.dialect.placeholder
    with store.views.dialect.write() as cur:  # as an older version left it
        cur.execute(
            f"CREATE TABLE {steps} (id TEXT PRIMARY KEY, job_id TEXT, number BIGINT, "
            "env_sealed TEXT, command_sealed TEXT)"
        )
        cur.execute(
            f"INSERT INTO {steps} (id, job_id, number, env_sealed) VALUES ({p}, {p}, {p}, {p})",
            ("j:000001", "j", 1, '{"ciphertext": "00"}'),
        )
    store.views.ensure(RunsProjection())
    found = columns(store, "steps")
    assert "env_sealed" not in found and "command_sealed" not in found
    assert {"job_id", "number", "timeout_seconds"} <= found  # kept, and added
    with store.views.dialect.read() as cur:
        cur.execute(f"SELECT id, job_id FROM {steps}")
        assert [tuple(row) for row in cur.fetchall()] == [("j:000001", "j")]
    store.views.ensure(RunsProjection())  # again: nothing left to drop


def test_commands_that_open_no_secret_do_not_read_the_master_key(tmp_path: Path) -> None:
    """They open no secret: a key file other processes would refuse (readable by
    others) does not stop them, and none is created where there was none."""
    unsafe, fresh = tmp_path / "unsafe", tmp_path / "fresh"
    unsafe.mkdir(mode=0o700)
    (unsafe / "master.key").write_bytes(os.urandom(32))
    (unsafe / "master.key").chmod(0o644)
    commands = [["migrate"], ["replay", "--check"], ["status"], ["drain"], ["undrain"]]
    for data_dir, run in ((unsafe, commands), (fresh, commands[:1] + commands[2:3])):
        env = danube_env(StoreConfig(kind="sqlite", data_dir=data_dir))
        for command in run:
            result = subprocess.run(
                [sys.executable, "-m", "api.cli", *command],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
    assert not (fresh / "master.key").exists()
