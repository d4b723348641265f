"""The example a new user sees on the first ``danube up``: a small git repository with a
danubefile, and one run of it; and, next to it, a config repository in the documented
format (DESIGN.md §6) that names it, to copy from."""

from __future__ import annotations

import logging
import secrets
import subprocess
from pathlib import Path

import bcrypt

from api.auth.local_admin import read_password
from api.bootstrap import Danube
from domain.cause import Cause
from domain.ids import new_run_id
from domain.runs.application import RunRequest

log = logging.getLogger(__name__)

PIPELINE = "example"
DANUBEFILE = '''\
"""An example pipeline: edit it, commit, and run it again with `danube run`."""

from danube import artifacts, ctx, pipeline, step


@pipeline(name="example")
def build() -> None:
    step.run("echo hello from $(hostname) at commit $COMMIT", env={"COMMIT": ctx.commit_sha[:12]},
             name="hello")
    python = step.run("python3 --version", capture=True).strip()
    step.run(f"echo building with {python}", name="build")
    step.run("mkdir -p dist && date > dist/built-at.txt", name="package")
    artifacts.upload("dist/built-at.txt")
'''


def example_repository(data_dir: Path) -> Path:
    """``<data_dir>/example``: a git repository with the example danubefile."""
    path = data_dir / "example"
    if (path / ".git").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    (path / "danubefile.py").write_text(DANUBEFILE)
    git = ["git", "-C", str(path), "-c", "user.name=Danube", "-c", "user.email=danube@localhost"]
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "danubefile.py"],
        ["commit", "-q", "-m", "An example pipeline"],
    ):
        subprocess.run([*git, *command], check=True, capture_output=True, timeout=60)
    return path


CONFIG_FILES = {
    "config.yaml": """\
apiVersion: danube.dev/v1
kind: Config
metadata:
  name: global
spec:
  retention:
    logs_days: 30
    artifacts_days: 14
""",
    "users.yaml": """\
apiVersion: danube.dev/v1
kind: User
metadata:
  name: admin
spec:
  email: admin@danube.local
  # bcrypt of the first-start admin's password (the data directory's admin-password);
  # make one: python3 -c 'import bcrypt; print(bcrypt.hashpw(b"PW", bcrypt.gensalt()).decode())'
  password_hash: "{password_hash}"
""",
    "teams.yaml": """\
# members are users' e-mail addresses
apiVersion: danube.dev/v1
kind: Team
metadata:
  name: engineering
spec:
  members:
    - admin@danube.local
  global_admin: true            # every pipeline, and the system actions
""",
    "pipelines/example.yaml": """\
apiVersion: danube.dev/v1
kind: Pipeline
metadata:
  name: example
  team: engineering             # the owning team
spec:
  repository: {repository}
  triggers:
    - on: push
      branches: ["main"]
    - on: cron
      schedule: "0 6 * * *"     # UTC
  entrypoint: example
""",
}


def example_config_repository(data_dir: Path, repository: Path) -> Path:
    """``<data_dir>/example-config``: a git repository with a config naming ``repository``
    (``danube config validate`` accepts it; ``DANUBE_CONFIG_REPO_URL`` may point at it)."""
    path = data_dir / "example-config"
    if (path / ".git").exists():
        return path
    # the first-start admin keeps their password once this config is in force
    password = read_password(data_dir) or secrets.token_urlsafe(18)
    password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()
    for name, text in CONFIG_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(
            text.replace("{password_hash}", password_hash).replace("{repository}", str(repository))
        )
    _commit(path, "An example config repository")
    return path


def _commit(path: Path, message: str) -> None:
    git = ["git", "-C", str(path), "-c", "user.name=Danube", "-c", "user.email=danube@localhost"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run([*git, *command], check=True, capture_output=True, timeout=60)


def ensure_example_run(danube: Danube) -> None:
    """Request one run of the example the first time Danube starts with no runs at all."""
    if danube.settings.config_repo_url or danube.store.log.position() > 0:
        return  # configured pipelines, or not the first start
    try:
        path = example_repository(danube.settings.data_dir.resolve())
        config = example_config_repository(danube.settings.data_dir.resolve(), path)
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("could not prepare the example pipeline: %s", error)
        return
    danube.runs.request_run(
        RunRequest(
            run_id=new_run_id(),
            pipeline=PIPELINE,
            repository=str(path),
            ref="refs/heads/main",
            commit_sha=commit,
            trigger={"type": "manual"},
            spec={"entrypoint": PIPELINE},
        ),
        Cause(actor="system:example", trigger="manual"),
    )
    log.info("requested a run of the example pipeline", extra={"repository": str(path)})
    log.info(
        "an example config repository to start from: %s (check it with: danube config validate %s)",
        config,
        config,
    )
