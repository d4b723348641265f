"""Per-role composition: each process builds only what its role uses. The scheduler
(cron, config sync, the reaper) never reads the master key; the pod adapter builds what
runs jobs and nothing of the trigger side."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.crypto.keyfile import InsecureKeyFileError
from api.bootstrap import build, build_pod_adapter, build_scheduler
from api.settings import Settings
from tests.integration.config.conftest import files
from tests.integration.git.origin import Origin

TRIGGER_SIDE = ("inbox", "triggers", "webhook_secrets", "artifacts", "signer")
KEYED = ("vault", "secrets", "tokens", "logs")


def test_the_scheduler_syncs_the_config_with_no_usable_master_key(tmp_path: Path) -> None:
    """A master key the server would refuse (readable by others) does not stop the
    scheduler: it never opens it."""
    from api.triggers.loops import sync_loop

    origin = Origin(tmp_path / "config-repo")
    origin.commit(files(), "first")
    origin.push()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "master.key").write_bytes(b"\0" * 32)
    (data / "master.key").chmod(0o644)
    settings = Settings(data_dir=data, config_repo_url=origin.file_url, log_level="error")
    with pytest.raises(InsecureKeyFileError):
        build(settings).close()
    scheduler = build_scheduler(settings)
    try:
        assert sync_loop(scheduler).sync().outcome == "accepted"
        assert scheduler.config.current() is not None
        unbuilt = (*KEYED, "inbox", "triggers", "webhook_secrets", "signer")
        assert not any(hasattr(scheduler, part) for part in unbuilt)
    finally:
        scheduler.close()


def test_the_scheduler_creates_no_master_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_scheduler(Settings(data_dir=data, log_level="error")).close()
    assert data.is_dir()
    assert not (data / "master.key").exists()


def test_the_pod_adapter_builds_what_runs_jobs_and_nothing_of_the_trigger_side(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    adapter = build_pod_adapter(Settings(data_dir=data, log_level="error"))
    try:
        assert all(hasattr(adapter, part) for part in KEYED)
        assert not any(hasattr(adapter, part) for part in TRIGGER_SIDE)
        assert (data / "master.key").is_file()  # job tokens and sealed steps need it
    finally:
        adapter.close()
