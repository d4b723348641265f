"""Settings as the command line takes them: ``--config``, errors naming the file and key,
unknown variables warned about, and an unreachable database told apart by its exit
status (3) from ``replay --check`` finding differences (1)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.sql.store import StoreConfig
from tests.support import danube_env, free_port, http_get, wait_until


def danube(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_config_names_the_file_and_its_key_for_a_bad_value(tmp_path: Path) -> None:
    config = tmp_path / "danube.toml"
    config.write_text('[server]\nbind_address = "localhost"\n')
    env = danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path / "data"))
    env.pop("DANUBE_BIND_ADDRESS")  # the file's value is the one under test
    result = danube("--config", str(config), "up", env=env)
    assert result.returncode == 2
    assert one_line(result) == (
        f"danube up: {config}: [server] bind_address: "
        "expected host:port (e.g. 127.0.0.1:8080), got 'localhost'"
    )


def test_config_is_what_the_process_runs_with(tmp_path: Path) -> None:
    """``--config`` wins over DANUBE_CONFIG (here a broken file) and its values apply."""
    port = free_port()
    config = tmp_path / "danube.toml"
    config.write_text(
        f'[server]\nbind_address = "127.0.0.1:{port}"\ngrpc_address = "127.0.0.1:0"\n'
        f'data_dir = "{tmp_path / "from-the-file"}"\n[logging]\nlevel = "info"\n'
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    env = {k: v for k, v in danube_env(StoreConfig(kind="sqlite", data_dir=tmp_path)).items()}
    for name in (
        "DANUBE_DATA_DIR",
        "DANUBE_LOG_LEVEL",
        "DANUBE_BIND_ADDRESS",
        "DANUBE_GRPC_ADDRESS",
    ):
        env.pop(name, None)  # the file's values are the ones under test
    env["DANUBE_CONFIG"] = str(broken)
    env["DANUBE_BIND_ADRESS"] = "127.0.0.1:1"  # a typo: warned about, not used
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--config", str(config), "up", "--no-example"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: http_get(f"http://127.0.0.1:{port}/health")[0] == 200,
            timeout=60,
            what="the API on the file's bind_address",
        )
        assert (tmp_path / "from-the-file" / "events.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    output = process.stdout.read().decode()  # type: ignore[union-attr]
    assert code == 0, output[-3000:]
    logs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    warnings = [line["msg"] for line in logs if line["level"] == "warning"]
    assert (
        "unknown environment variable DANUBE_BIND_ADRESS is ignored "
        "(did you mean DANUBE_BIND_ADDRESS?)"
    ) in warnings


@pytest.mark.parametrize("command", [["replay", "--check"], ["up"], ["status"]], ids=" ".join)
def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path, command: list[str]) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    env = danube_env(
        StoreConfig(kind="postgres", database_url=closed, schema="nowhere"),
        DANUBE_BIND_ADDRESS=f"127.0.0.1:{free_port()}",
        DANUBE_DATA_DIR=str(tmp_path),
    )
    result = danube(*command, env=env)
    assert result.returncode == 3, result.stderr
    line = one_line(result)
    assert line.startswith(f"danube {command[0]}: cannot use the event store: ")
    assert "Connection refused" in line or "connection failed" in line
