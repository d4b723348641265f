from pathlib import Path

import bcrypt

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from domain.config.model import (
    Config,
    KubernetesConfig,
    Permission,
    Pipeline,
    Resources,
    Retention,
    Settings,
    Team,
    Trigger,
    TriggerKind,
    User,
    Worker,
)
from tests.unit.config.repo import load, pipeline, write

HASH = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()
SHA = "sha256:" + "ab" * 32

FULL_REPO = {
    "config.yaml": """
        apiVersion: danube.dev/v1
        kind: Config
        metadata:
          name: danube
        spec:
          kubernetes:
            namespace_jobs: ci-jobs
            coordinator_image: registry.local:5000/danube/coordinator:1.2
          retention:
            logs_days: 7
            artifacts_days: 14
            registry_images_days: 60
          observability:
            tracing_endpoint: http://otel:4317
          egress_allowlist: [pypi.org, "*.github.com", 10.0.0.0/8]
          git_authentication:
            github.com: github-token
    """,
    "users.yaml": f"""
        apiVersion: danube.dev/v1
        kind: User
        metadata: {{name: bob}}
        spec:
          email: bob@example.com
        ---
        apiVersion: danube.dev/v1
        kind: User
        metadata: {{name: alice}}
        spec:
          email: alice@example.com
          password_hash: "{HASH}"
          display_name: Alice Liddell
    """,
    "teams.yaml": """
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {name: platform}
        spec:
          members: [alice]
          global_admin: true
        ---
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {name: backend}
        spec:
          members: [alice, bob]
    """,
    "pipelines/web.yaml": f"""
        apiVersion: danube.dev/v1
        kind: Pipeline
        metadata:
          name: web
        spec:
          repository: git@github.com:org/web.git
          branch_filter: [main, "release/*"]
          triggers:
            - kind: push
              branches: [main, "feature/[a-z]*"]
            - kind: pull_request
              branches: [main]
            - kind: tag
              tags: ["v*"]
            - kind: cron
              schedule: "0 3 * * 1-5"
              timezone: Europe/Vienna
              branch: main
          script: ci/danubefile.py
          max_duration_seconds: 900
          workspace_size_gb: 5
          worker:
            image: ghcr.io/org/node@{SHA}
            resources:
              requests: {{cpu: 250m, memory: 512Mi}}
              limits: {{cpu: 1.5, memory: 2Gi}}
          permissions:
            backend: write
            platform: admin
          webhook_secret_name: github-webhook
    """,
    "pipelines/api.yml": """
        apiVersion: danube.dev/v1
        kind: Pipeline
        metadata: {name: api}
        spec:
          repository: https://gitlab.example.com/org/api.git
    """,
    "README.md": "not configuration",
    "pipelines/notes.txt": "ignored too",
}


def test_a_full_repository_loads_into_the_exact_model(tmp_path: Path) -> None:
    config = load(tmp_path, FULL_REPO, commit="abc123")

    assert config == Config(
        commit="abc123",
        settings=Settings(
            kubernetes=KubernetesConfig(
                namespace_jobs="ci-jobs",
                coordinator_image="registry.local:5000/danube/coordinator:1.2",
            ),
            retention=Retention(logs_days=7, artifacts_days=14, registry_images_days=60),
            observability=(("tracing_endpoint", "http://otel:4317"),),
            egress_allowlist=("pypi.org", "*.github.com", "10.0.0.0/8"),
            git_authentication=(("github.com", "github-token"),),
        ),
        pipelines=(
            Pipeline(name="api", repository="https://gitlab.example.com/org/api.git"),
            Pipeline(
                name="web",
                repository="git@github.com:org/web.git",
                branch_filter=("main", "release/*"),
                triggers=(
                    Trigger(TriggerKind.PUSH, branches=("main", "feature/[a-z]*")),
                    Trigger(TriggerKind.PULL_REQUEST, branches=("main",)),
                    Trigger(TriggerKind.TAG, tags=("v*",)),
                    Trigger(
                        TriggerKind.CRON,
                        schedule="0 3 * * 1-5",
                        timezone="Europe/Vienna",
                        branch="main",
                    ),
                ),
                script="ci/danubefile.py",
                max_duration_seconds=900,
                workspace_size_gb=5,
                worker=Worker(
                    image=f"ghcr.io/org/node@{SHA}",
                    resources=Resources("250m", "512Mi", "1.5", "2Gi"),
                ),
                permissions=(("backend", Permission.WRITE), ("platform", Permission.ADMIN)),
                webhook_secret_name="github-webhook",
            ),
        ),
        users=(
            User("alice", "alice@example.com", HASH, "Alice Liddell"),
            User("bob", "bob@example.com"),
        ),
        teams=(
            Team("backend", ("alice", "bob")),
            Team("platform", ("alice",), global_admin=True),
        ),
    )


def test_an_empty_repository_is_a_config_with_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path, "c1", schedules=CroniterSchedule) == Config(commit="c1")


def test_a_minimal_pipeline_takes_the_model_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, {"pipelines/a.yaml": FULL_REPO["pipelines/api.yml"]})

    assert config.pipelines == (
        Pipeline(name="api", repository="https://gitlab.example.com/org/api.git"),
    )
    assert config.settings == Settings()


def test_a_cron_trigger_defaults_to_utc_and_the_default_branch(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            "pipelines/n.yaml": """
                apiVersion: danube.dev/v1
                kind: Pipeline
                metadata: {name: nightly}
                spec:
                  repository: /srv/git/app
                  triggers: [{kind: cron, schedule: "@daily"}]
            """
        },
    )

    assert config.pipelines[0].triggers == (Trigger(TriggerKind.CRON, schedule="@daily"),)


def test_empty_documents_and_comment_only_files_are_skipped(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            "teams.yaml": "# no teams yet\n",
            "users.yaml": "---\n---\n",
        },
    )

    assert config == Config(commit="c0ffee")


def test_a_null_optional_field_means_its_default(tmp_path: Path) -> None:
    text = pipeline("repository: /srv/git/app\nbranch_filter:\nscript:\n", name="api")
    config = load(tmp_path, {"pipelines/api.yaml": text})

    assert config.pipelines[0].branch_filter == ()
    assert config.pipelines[0].script == "danubefile.py"


def test_pipelines_in_nested_directories_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, {"pipelines/old/web.yaml": "not: [valid"})

    assert load_config(tmp_path, "c", schedules=CroniterSchedule).pipelines == ()
