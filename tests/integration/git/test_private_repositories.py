"""Private pipeline repositories, through the whole embedded system: ``config.yaml``
``git_authentication`` synced from a config repository, the secret set in Danube, a
manual trigger resolving the ref, and the local executor's checkout running the
danubefile. The remotes are real: ``git http-backend`` behind basic auth accepting only
the GitLab-style token; GitHub's installation access-token endpoint in front of a
``git http-backend`` accepting only the tokens it issued; ``sshd`` accepting only the
configured key. A wrong credential fails clearly, and no credential appears in the
stored events, read models or logs (every file of the data directory is scanned)."""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from adapters.sql.store import StoreConfig
from api.bootstrap import Danube, build, build_scheduler
from api.execution.embedded import start_execution
from api.processes import Supervisor
from api.triggers.loops import cron_scheduler, sync_loop
from domain.cause import Cause
from domain.ids import JobId, RunId, job_id_for, new_run_id
from domain.runs.application import RunRequest
from domain.runs.states import TERMINAL
from domain.secrets.aggregates import GLOBAL
from domain.triggers.manual import TriggerRefusedError
from projections.audit import AuditView
from projections.runs_view import JobView
from tests.integration.execution.conftest import settings_for
from tests.integration.git.github_app_server import GitHubApp, rsa_key_pem, serve_github
from tests.integration.git.http_server import serve_git
from tests.integration.git.origin import Origin
from tests.integration.git.ssh_server import keygen, serve_ssh
from tests.support import wait_until

OPS = Cause(actor="user:ops", trigger="manual")
HASH = "$2b$04$S6ybGz8QSRqlR7Q0yQ7D6ON6ZPfqIbSoUu5bmoJ.GztCQhMrV0bmq"
TOKEN = "glpat-the-right-token-123"
DANUBEFILE = """\
from danube import pipeline, step

@pipeline(name="app")
def build() -> None:
    step.run("cat README.md", name="show")
"""


def config_files(
    repository: str, authentication: str, triggers: str = "[{on: push}]"
) -> dict[str, str]:
    entries = textwrap.indent(textwrap.dedent(authentication).strip(), "    ")
    files = {
        "config.yaml": "apiVersion: danube.dev/v1\nkind: Config\nmetadata: {name: global}\n"
        f"spec:\n  git_authentication:\n{entries}\n",
        "users.yaml": f"""
            apiVersion: danube.dev/v1
            kind: User
            metadata: {{name: alice}}
            spec: {{email: alice@example.com, password_hash: "{HASH}"}}
        """,
        "teams.yaml": """
            apiVersion: danube.dev/v1
            kind: Team
            metadata: {name: web}
            spec: {members: [alice@example.com]}
        """,
        "pipelines/app.yaml": f"""
            apiVersion: danube.dev/v1
            kind: Pipeline
            metadata: {{name: app, team: web}}
            spec:
              repository: {repository}
              triggers: {triggers}
        """,
    }
    return {name: textwrap.dedent(text).lstrip() for name, text in files.items()}


@dataclass
class Private:
    danube: Danube
    app: Origin  # the private pipeline repository (its bare repository is served)
    commit: str
    config: Origin
    data: Path

    def configure(self, repository: str, authentication: str, **more: str) -> None:
        self.config.commit(config_files(repository, authentication, **more), "config")
        self.config.push()
        result = sync_loop(self.danube, self.danube.webhook_secrets.forget).sync()
        assert result.outcome == "accepted", result.message

    def secret(self, name: str, value: str) -> None:
        self.danube.secrets.set(GLOBAL, name, value, OPS)

    def trigger(self) -> JobView:
        run = self.danube.triggers.trigger("app", "main", OPS)
        return self.finished(job_id_for(run.run_id, "main"))

    def delivered(self) -> JobView:
        """A run at a known commit, as a webhook delivery requests it (no ref to resolve)."""
        run_id = new_run_id()
        config = self.danube.config.current()
        assert config is not None
        pipeline = config.pipelines[0]
        self.danube.runs.request_run(
            RunRequest(
                run_id=run_id,
                pipeline="app",
                repository=pipeline.repository,
                ref="refs/heads/main",
                commit_sha=self.commit,
                trigger={"type": "push", "ref": "refs/heads/main"},
                spec={},
            ),
            OPS,
        )
        return self.finished(job_id_for(run_id, "main"))

    def finished(self, job_id: JobId) -> JobView:
        def done() -> JobView | None:
            job = self.danube.views.job(job_id)
            return job if job is not None and job.state in TERMINAL else None

        return wait_until(done, timeout=120, what=f"job {job_id} to finish")

    def log(self, job: JobView) -> str:
        return self.danube.logs.read_bytes(job.id.replace("-", ""), 0, 1 << 24).decode()

    def stored_anywhere(self, *values: str) -> list[str]:
        """Files of the data directory (events, read models, logs: all SQLite; a
        workspace still being removed) holding any of ``values``."""
        found = []
        for directory, _, names in os.walk(self.data):  # what vanishes meanwhile is skipped
            for name in names:
                try:
                    data = (Path(directory) / name).read_bytes()
                except OSError:
                    continue
                found += [f"{name}: {v[:6]}..." for v in values if v.encode() in data]
        return found


def make_private(tmp_path: Path, **overrides: str) -> Iterator[Private]:
    data = tmp_path / "data"
    app = Origin(tmp_path / "forge" / "acme")
    commit = app.commit({"danubefile.py": DANUBEFILE, "README.md": "private code\n"})
    app.push()
    config = Origin(tmp_path / "config-repo")
    store = StoreConfig(kind="sqlite", data_dir=data)
    danube = build(settings_for(store, data, config_repo_url=config.file_url, **overrides))
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, "127.0.0.1:0")
    try:
        yield Private(danube, app, commit, config, data)
    finally:
        supervisor.stop()
        execution.stop()
        danube.close()


@pytest.fixture
def private(tmp_path: Path) -> Iterator[Private]:
    yield from make_private(tmp_path)


GITLAB = """
- type: gitlab_token
  name: gitlab-internal
  url: http://127.0.0.1
  token_secret: gitlab-token
  match_patterns: ["127.0.0.1:*/acme/*"]
"""


def test_a_gitlab_token_reaches_a_private_repository(
    private: Private, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
        private.configure(f"{base}/acme/origin.git", GITLAB)
        private.secret("gitlab-token", TOKEN)

        job = private.trigger()

    log = private.log(job)
    assert job.state == "success", log
    assert job.commit_sha == private.commit
    assert "private code" in log
    assert "with gitlab_token 'gitlab-internal'" in log
    assert private.stored_anywhere(TOKEN) == []
    assert TOKEN not in caplog.text


def test_a_wrong_gitlab_token_fails_with_an_authentication_error(
    private: Private, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "glpat-a-wrong-token-456"
    with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
        private.configure(f"{base}/acme/origin.git", GITLAB)
        private.secret("gitlab-token", wrong)
        key = base.removeprefix("http://") + "/acme/origin"

        with pytest.raises(TriggerRefusedError) as refused:
            private.trigger()
        job = private.delivered()

    expected = f"authentication to {key} failed with gitlab_token 'gitlab-internal': "
    assert expected in str(refused.value)
    assert job.state == "failure"
    assert job.reason.startswith(expected), job.reason
    assert private.stored_anywhere(wrong, TOKEN) == []
    assert wrong not in caplog.text and wrong not in str(refused.value)


def test_a_missing_secret_fails_the_run_naming_the_secret(private: Private, tmp_path: Path) -> None:
    with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
        private.configure(f"{base}/acme/origin.git", GITLAB)

        job = private.delivered()

    assert job.state == "failure"
    assert "failed with gitlab_token 'gitlab-internal': cannot read the secret 'gitlab-token'" in (
        job.reason
    )


EVERY_MINUTE = '[{on: cron, schedule: "* * * * *", branch: main}]'


def test_a_cron_trigger_resolves_a_private_repository_with_its_credentials(
    private: Private, tmp_path: Path
) -> None:
    """Cron in the server (``danube up``, ``danube server``) resolves the branch with the
    same ``git_authentication`` credentials as a manual trigger."""
    with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
        private.configure(f"{base}/acme/origin.git", GITLAB, triggers=EVERY_MINUTE)
        private.secret("gitlab-token", TOKEN)

        fired = cron_scheduler(private.danube, private.danube.commits).tick()

        assert len(fired) == 1, "the cron trigger was skipped"
        job = private.finished(job_id_for(RunId(UUID(fired[0])), "main"))
    assert job.state == "success", private.log(job)
    assert job.commit_sha == private.commit
    assert private.stored_anywhere(TOKEN) == []


def test_cron_in_a_scheduler_without_the_master_key_says_why_it_skips(
    private: Private, tmp_path: Path
) -> None:
    """``danube scheduler`` holds no master key: a repository whose credential is a
    Danube secret is skipped with a reason in the audit trail, not silently."""
    with serve_git(tmp_path / "forge", "oauth2", TOKEN) as base:
        private.configure(f"{base}/acme/origin.git", GITLAB, triggers=EVERY_MINUTE)
        private.secret("gitlab-token", TOKEN)
        scheduling = build_scheduler(private.danube.settings)
        try:
            fired = cron_scheduler(scheduling, scheduling.commits).tick()
        finally:
            scheduling.close()

    assert fired == []
    projection = next(p for p in private.danube.projections if p.name == "audit")
    audit = AuditView(private.danube.store.views.reader(projection))

    def skipped() -> dict[str, object] | None:
        rows, _ = audit.entries(pipeline="app", action="CronTrigger.Skipped")
        return rows[0] if rows else None

    entry = wait_until(skipped, timeout=30, what="the skip in the audit trail")
    assert entry["actor"] == "cron"
    assert "cannot read the secret 'gitlab-token'" in str(entry["reason"])
    assert "holds no master key" in str(entry["reason"])


def github_app_yaml(app: GitHubApp) -> str:
    return f"""
        - type: github_app
          name: acme-app
          app_id: "{app.app_id}"
          installation_id: "{app.installation_id}"
          private_key_secret: github-app-acme-key
          match_patterns: ["127.0.0.1:*/acme/*"]
    """


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[GitHubApp, str]]:
    app = GitHubApp("123456", "78910", rsa_key_pem())
    with serve_github(tmp_path / "forge", app) as base:
        yield app, base


@pytest.fixture
def private_github(github: tuple[GitHubApp, str], tmp_path: Path) -> Iterator[Private]:
    yield from make_private(tmp_path, github_api_url=f"{github[1]}/api")


def test_a_github_app_installation_token_reaches_a_private_repository(
    private_github: Private, github: tuple[GitHubApp, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app, base = github
    private_github.configure(f"{base}/acme/origin.git", github_app_yaml(app))
    private_github.secret("github-app-acme-key", app.private_key_pem)

    job = private_github.trigger()

    log = private_github.log(job)
    assert job.state == "success", log
    assert "private code" in log
    assert len(app.issued) == 1, "resolving and checking out share one cached token"
    assert private_github.stored_anywhere(app.issued[0], app.private_key_pem[40:80]) == []
    assert app.issued[0] not in caplog.text


def test_a_github_app_with_the_wrong_key_fails_with_githubs_answer(
    private_github: Private, github: tuple[GitHubApp, str]
) -> None:
    app, base = github
    private_github.configure(f"{base}/acme/origin.git", github_app_yaml(app))
    private_github.secret("github-app-acme-key", rsa_key_pem())  # not the app's key

    job = private_github.delivered()

    key = base.removeprefix("http://") + "/acme/origin"
    assert job.state == "failure"
    assert job.reason == (
        f"authentication to {key} failed with github_app 'acme-app': "
        f"{base}/api/app/installations/78910/access_tokens answered 401: "
        "A JSON web token could not be decoded"
    )
    assert app.issued == [] and app.refusals


def test_an_ssh_key_reaches_a_private_repository_and_a_wrong_one_fails(
    private: Private, tmp_path: Path
) -> None:
    with serve_ssh(tmp_path / "sshd") as server:
        wrong = keygen(tmp_path / "wrong_key")
        entry = """
            - type: ssh_key
              name: deploy-key
              private_key_path: "{key}"
              known_hosts_path: "{known_hosts}"
              match_patterns: ["127.0.0.1:*/*"]
        """
        url = server.url(private.app.bare)
        private.configure(url, entry.format(key=server.client_key, known_hosts=server.known_hosts))
        good = private.trigger()
        private.configure(url, entry.format(key=wrong, known_hosts=server.known_hosts))
        bad = private.delivered()

    assert good.state == "success", private.log(good)
    assert bad.state == "failure"
    assert bad.reason.startswith("authentication to 127.0.0.1:"), bad.reason
    assert "failed with ssh_key 'deploy-key': " in bad.reason
    secret_part = server.client_key.read_text().splitlines()[2]
    assert private.stored_anywhere(secret_part) == []
