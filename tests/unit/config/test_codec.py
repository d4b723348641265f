"""The JSON-friendly encoding of a config round-trips exactly."""

import json

import pytest

from domain.config.codec import (
    config_error_from_dict,
    config_error_to_dict,
    config_from_dict,
    config_to_dict,
)
from domain.config.model import (
    Config,
    ConfigError,
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

FULL = Config(
    commit="0" * 40,
    settings=Settings(
        kubernetes=KubernetesConfig("jobs", "ghcr.io/x/y:1"),
        retention=Retention(1, 2, 3),
        observability=Observability("http://otel:4317", metrics_enabled=False, traces_enabled=True),
        egress_allowlist=("pypi.org",),
        git_authentication=(
            GitAuthentication(
                GitAuthenticationType.GITHUB_APP,
                "app",
                ("github.com/o/*",),
                app_id="1",
                installation_id="2",
                private_key_secret="pem",
            ),
            GitAuthentication(
                GitAuthenticationType.SSH_KEY,
                "key",
                ("*",),
                private_key_path="/k",
                known_hosts_path="/kh",
            ),
        ),
        server=ServerOverrides("0.0.0.0:8080", "/var/lib/danube"),
    ),
    pipelines=(
        Pipeline(
            name="web",
            repository="git@github.com:o/web.git",
            branch_filter=("main", "rel/*"),
            triggers=(
                Trigger(TriggerKind.PUSH, branches=("main",)),
                Trigger(TriggerKind.PULL_REQUEST),
                Trigger(TriggerKind.TAG, tags=("v*",)),
                Trigger(TriggerKind.CRON, schedule="0 * * * *", timezone="Asia/Tokyo", branch="x"),
            ),
            script="ci.py",
            max_duration_seconds=60,
            workspace_size_gb=1,
            worker=Worker("node:22", Resources("1", "1Gi", "2", "2Gi")),
            permissions=(("zeta", Permission.READ), ("alpha", Permission.ADMIN)),
            webhook_secret_name="hook",
            team="ops",
        ),
        Pipeline(name="api", repository="/srv/api"),
    ),
    users=(User("alice", "a@b.c", "$2b$04$" + "x" * 53, "Alice"), User("bob", "b@c.d")),
    teams=(Team("ops", ("alice", "bob"), global_admin=True), Team("dev")),
)

EXAMPLES = [Config(commit="c"), FULL]


@pytest.mark.parametrize("config", EXAMPLES)
def test_a_config_survives_encoding_through_json(config: Config) -> None:
    encoded = json.loads(json.dumps(config_to_dict(config), sort_keys=True))

    assert config_from_dict(encoded) == config


def test_the_encoding_is_deterministic_and_plain() -> None:
    first, second = config_to_dict(FULL), config_to_dict(FULL)

    assert json.dumps(first) == json.dumps(second)
    assert first["pipelines"][0]["permissions"] == [["zeta", "read"], ["alpha", "admin"]]
    assert type(first["pipelines"][0]["triggers"][0]["kind"]) is str


def test_tuples_turned_into_lists_by_a_transcoder_decode_the_same() -> None:
    listed = json.loads(json.dumps(config_to_dict(FULL)))

    decoded = config_from_dict(listed)

    assert decoded.pipelines[0].permissions[1] == ("alpha", Permission.ADMIN)
    assert isinstance(decoded.pipelines[0].branch_filter, tuple)


def test_fields_missing_from_an_older_encoding_take_their_defaults() -> None:
    assert config_from_dict({"commit": "c", "pipelines": [{"name": "p", "repository": "r"}]}) == (
        Config(commit="c", pipelines=(Pipeline(name="p", repository="r"),))
    )


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported config encoding format 2"):
        config_from_dict({"format": 2, "commit": "c"})


@pytest.mark.parametrize(
    "error",
    [ConfigError("pipelines/a.yaml", 3, "spec.x", "bad"), ConfigError("users.yaml", None, "", "m")],
)
def test_a_config_error_round_trips(error: ConfigError) -> None:
    assert config_error_from_dict(json.loads(json.dumps(config_error_to_dict(error)))) == error


def test_a_config_stored_before_the_documented_format_still_decodes() -> None:
    """Observability and git_authentication were free-form pairs; a pipeline had no team."""
    old = config_to_dict(FULL)
    old["settings"]["observability"] = [["tracing_endpoint", "http://otel:4317"]]
    old["settings"]["git_authentication"] = [["github.com", "github-token"]]
    del old["settings"]["server"]
    del old["pipelines"][0]["team"]

    decoded = config_from_dict(old)

    assert decoded.settings.observability == Observability()
    assert decoded.settings.git_authentication == ()
    assert decoded.settings.server == ServerOverrides()
    assert decoded.pipelines[0].team == ""
