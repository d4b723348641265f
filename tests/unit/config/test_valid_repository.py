from pathlib import Path

import bcrypt

from adapters.configrepo import load_config
from adapters.cron import CroniterSchedule
from domain.config.model import (
    Config,
    GitAuthentication,
    GitAuthenticationType,
    KubernetesConfig,
    Observability,
    Permission,
    Pipeline,
    Resources,
    Retention,
    ServerOverrides,
    Settings,
    Team,
    Trigger,
    TriggerKind,
    User,
    Worker,
)
from tests.unit.config.repo import load, pipeline, write

HASH = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()
TEAMS = "apiVersion: danube.dev/v1\nkind: Team\nmetadata: {name: platform}\nspec: {}\n"
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
          server:
            bind_address: "0.0.0.0:8080"
          observability:
            otel_endpoint: http://otel:4317
            traces_enabled: true
          egress_allowlist: [pypi.org, "*.github.com", 10.0.0.0/8]
          git_authentication:
            - type: github_app
              name: acme-app
              app_id: 123456
              installation_id: "78910"
              private_key_secret: github-app-acme-key
              match_patterns: ["github.com/acme/*"]
            - type: gitlab_token
              name: gitlab-internal
              url: https://gitlab.example.com
              token_secret: gitlab-token
              match_patterns: ["gitlab.example.com/*"]
            - type: ssh_key
              name: fallback
              private_key_path: /var/lib/danube/keys/git_fallback_key
              match_patterns: ["*"]
    """,
    "users.yaml": f"""
        apiVersion: danube.dev/v1
        kind: User
        metadata: {{name: bob}}
        spec:
          email: bob@example.com
          password_hash: "{HASH}"
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
          members: [alice@example.com]
          global_admin: true
        ---
        apiVersion: danube.dev/v1
        kind: Team
        metadata: {name: backend}
        spec:
          members: [alice@example.com, bob@example.com]
    """,
    "pipelines/web.yaml": f"""
        apiVersion: danube.dev/v1
        kind: Pipeline
        metadata:
          name: web
          team: backend
        spec:
          repository: git@github.com:org/web.git
          branch_filter: [main, "release/*"]
          triggers:
            - on: push
              branches: [main, "feature/[a-z]*"]
            - on: pull_request
              branches: [main]
            - on: tag
              tags: ["v*"]
            - on: cron
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
            - team: backend
              level: write
            - team: platform
              level: admin
          webhook_secret_name: github-webhook
    """,
    "pipelines/api.yml": """
        apiVersion: danube.dev/v1
        kind: Pipeline
        metadata: {name: api, team: platform}
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
            observability=Observability(otel_endpoint="http://otel:4317", traces_enabled=True),
            egress_allowlist=("pypi.org", "*.github.com", "10.0.0.0/8"),
            git_authentication=(
                GitAuthentication(
                    GitAuthenticationType.GITHUB_APP,
                    "acme-app",
                    ("github.com/acme/*",),
                    app_id="123456",
                    installation_id="78910",
                    private_key_secret="github-app-acme-key",
                ),
                GitAuthentication(
                    GitAuthenticationType.GITLAB_TOKEN,
                    "gitlab-internal",
                    ("gitlab.example.com/*",),
                    url="https://gitlab.example.com",
                    token_secret="gitlab-token",
                ),
                GitAuthentication(
                    GitAuthenticationType.SSH_KEY,
                    "fallback",
                    ("*",),
                    private_key_path="/var/lib/danube/keys/git_fallback_key",
                ),
            ),
            server=ServerOverrides(bind_address="0.0.0.0:8080"),
        ),
        pipelines=(
            Pipeline(
                name="api",
                repository="https://gitlab.example.com/org/api.git",
                permissions=(("platform", Permission.ADMIN),),
                team="platform",
            ),
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
                team="backend",
            ),
        ),
        users=(
            User("alice", "alice@example.com", HASH, "Alice Liddell"),
            User("bob", "bob@example.com", HASH),
        ),
        teams=(
            Team("backend", ("alice@example.com", "bob@example.com")),
            Team("platform", ("alice@example.com",), global_admin=True),
        ),
    )


def test_an_empty_repository_is_a_config_with_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path, "c1", schedules=CroniterSchedule) == Config(commit="c1")


def test_a_minimal_pipeline_takes_the_model_defaults(tmp_path: Path) -> None:
    files = {"pipelines/a.yaml": FULL_REPO["pipelines/api.yml"], "teams.yaml": TEAMS}
    config = load(tmp_path, files)

    assert config.pipelines == (
        Pipeline(
            name="api",
            repository="https://gitlab.example.com/org/api.git",
            permissions=(("platform", Permission.ADMIN),),
            team="platform",
        ),
    )
    assert config.settings == Settings()


def test_a_cron_trigger_defaults_to_utc_and_the_default_branch(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            "pipelines/n.yaml": """
                apiVersion: danube.dev/v1
                kind: Pipeline
                metadata: {name: nightly, team: web}
                spec:
                  repository: /srv/git/app
                  triggers: [{on: cron, schedule: "@daily"}]
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
