"""What travels to a step: its environment and command on stdin, never in the exec URL."""

from __future__ import annotations

import pytest

from adapters.kubernetes.scripts import (
    COMMAND_VARIABLE,
    SOURCE_SCRIPT,
    InvalidStepEnvironmentError,
    env_payload,
    new_end_marker,
    parse_result,
    step_argv,
)


def test_the_environment_is_export_lines_then_the_command_ending_with_the_marker() -> None:
    payload = env_payload({"A": "plain", "B": "it's $HOME\nand `more`"}, "END", "echo $A")
    assert payload == (
        b"export A=plain\nexport B='it'\"'\"'s $HOME\nand `more`'\n"
        b"__danube_step_command='echo $A'\nEND\n"
    )
    assert f'"${COMMAND_VARIABLE}"' in SOURCE_SCRIPT, "what runs is what the file sets"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"1X": "v"}, "invalid environment variable name '1X'"),
        ({"A-B": "v"}, "invalid environment variable name 'A-B'"),
        ({"A": "nul\0"}, "the value of A contains a NUL character"),
        ({COMMAND_VARIABLE: "v"}, f"invalid environment variable name '{COMMAND_VARIABLE}'"),
    ],
)
def test_an_environment_no_process_can_hold_is_refused(env: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidStepEnvironmentError, match=problem):
        env_payload(env, "END", "true")


def test_a_command_no_process_can_take_is_refused() -> None:
    with pytest.raises(InvalidStepEnvironmentError, match="command contains a NUL"):
        env_payload({}, "END", "echo \0")


def test_markers_are_unguessable() -> None:
    assert new_end_marker() != new_end_marker()
    assert len(new_end_marker()) > 40


def test_the_exec_argv_carries_offsets_but_neither_command_nor_environment() -> None:
    argv = step_argv("/bin/sh", 3, 90.0, (10, 20), "END")
    assert argv[:2] == ["/bin/sh", "-c"]
    assert argv[3:] == ["danube-step", "3", "90", "10", "20", "END"]
    assert step_argv("/bin/sh", 1, 0, (0, 0), "E")[5] == "0"


@pytest.mark.parametrize(
    ("stdout", "result"),
    [
        (b"0\n", (0, False)),
        (b"143\ntimeout\n", (143, True)),
        (b"none\n", (None, False)),
        (b"", (None, False)),
    ],
)
def test_the_recorded_result_is_read_back(stdout: bytes, result: tuple[int | None, bool]) -> None:
    assert parse_result(stdout) == result
