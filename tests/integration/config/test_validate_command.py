"""``danube config validate PATH``: a team checks its config change before merging it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.config.conftest import files

DOCUMENTED = Path(__file__).parents[2] / "unit" / "config" / "documented"


def validate(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANUBE_")}
    env["DANUBE_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "config", "validate", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(root: Path, contents: dict[str, str]) -> Path:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_valid_checkout_passes_with_exit_0(tmp_path: Path) -> None:
    checkout = shutil.copytree(DOCUMENTED, tmp_path / "checkout")

    result = validate(checkout, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{checkout}: valid (1 pipelines, 2 users, 3 teams)"


def test_every_error_is_listed_as_file_line_field_message_with_exit_1(tmp_path: Path) -> None:
    broken = files(
        {
            "pipelines/hello.yaml": """
                apiVersion: danube.dev/v1
                kind: Pipeline
                metadata: {name: hello-world}
                spec:
                  repository: https://github.com/Codertocat/Hello-World.git
                  triggers:
                    - kind: push
                  permissions: {web: write}
            """,
            "teams.yaml": """
                apiVersion: danube.dev/v1
                kind: Team
                metadata: {name: web}
                spec: {members: [bob, nobody@example.com]}
            """,
        }
    )
    checkout = write(tmp_path / "checkout", broken)

    result = validate(checkout, tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "pipelines/hello.yaml:3: metadata.team: missing required field: the owning team "
        "(e.g. 'team: engineering')",
        "pipelines/hello.yaml:7: spec.triggers[0]: 'kind: push' is written 'on: push'",
        "pipelines/hello.yaml:8: spec.permissions: a mapping of teams is written as a list: "
        "[{team: web, level: write}]",
        "teams.yaml:4: spec.members[0]: 'bob' is written 'bob@example.com' "
        "(members are users' e-mail addresses)",
        "teams.yaml:4: spec.members[1]: unknown member 'nobody@example.com': "
        "no user in users.yaml has this spec.email",
    ]
    assert result.stderr.strip() == f"5 errors in {checkout}"


def test_a_path_that_is_no_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = validate(tmp_path / "missing", tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"danube config validate: {tmp_path / 'missing'} is not a directory"
    )
