"""deploy/systemd/danube.service: a unit systemd accepts, running ``danube up`` as the
dedicated user with its data in /var/lib/danube, restarted on failure (not on bad
settings), and reloading the config repository with a command Danube has."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.integration.deploy.render import DEPLOY

UNIT = DEPLOY / "systemd" / "danube.service"


def service() -> dict[str, list[str]]:
    """The [Service] section: each key with its values in order (keys may repeat)."""
    section, values = "", defaultdict(list)
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key].append(value)
    return values


def test_danube_up_runs_as_its_own_user_with_its_data_in_var_lib_danube() -> None:
    unit = service()
    assert unit["ExecStart"] == ["/opt/danube/bin/danube up"]
    assert unit["User"] == unit["Group"] == ["danube"]
    assert unit["StateDirectory"] == ["danube"] and unit["StateDirectoryMode"] == ["0700"]
    assert "DANUBE_DATA_DIR=/var/lib/danube" in unit["Environment"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]


def test_reload_syncs_the_config_repository_with_a_command_danube_has() -> None:
    (reload,) = service()["ExecReload"]
    program, *command = reload.split()
    assert program == "/opt/danube/bin/danube"
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    danube = Path(sys.executable).parent / "danube"
    unit = tmp_path / "danube.service"
    unit.write_text(UNIT.read_text().replace("/opt/danube/bin/danube", str(danube)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
