"""Settings: defaults, then danube.toml, then DANUBE_* variables; bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("DANUBE_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "danube.toml"
    path.write_text(text)
    return str(path)


def test_defaults_need_nothing() -> None:
    settings = load_settings()
    assert (settings.event_store, settings.executor) == ("sqlite", "local")
    assert settings.bind_address == "127.0.0.1:8080"
    assert settings.data_dir == Path(".danube")
    assert settings.max_concurrent_jobs == 4


def test_the_file_overrides_defaults_and_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        '[server]\nbind_address = "0.0.0.0:9090"\n'
        "[executor]\nmax_concurrent_jobs = 8\n"
        '[config_repo]\nurl = "https://git.example.com/ci/config.git"\nsync_interval = "5m"\n'
        '[kubernetes]\nnamespace_jobs = "ci-jobs"\n',
    )
    monkeypatch.setenv("DANUBE_MAX_CONCURRENT_JOBS", "16")
    settings = load_settings(path)
    assert settings.bind_address == "0.0.0.0:9090"
    assert settings.max_concurrent_jobs == 16
    assert settings.config_repo_url == "https://git.example.com/ci/config.git"
    assert settings.config_repo_sync_interval == 300
    assert settings.k8s_namespace_jobs == "ci-jobs"


def test_the_config_path_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANUBE_CONFIG", write(tmp_path, 'log_level = "debug"\n'))
    assert load_settings().log_level == "debug"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "DANUBE_BIND_ADDRESS",
            "localhost",
            "DANUBE_BIND_ADDRESS (bind_address): expected host:port",
        ),
        ("DANUBE_EVENT_STORE", "mysql", "DANUBE_EVENT_STORE (event_store)"),
        ("DANUBE_MAX_CONCURRENT_JOBS", "0", "DANUBE_MAX_CONCURRENT_JOBS (max_concurrent_jobs)"),
        ("DANUBE_MAX_CONCURRENT_JOBS", "many", "DANUBE_MAX_CONCURRENT_JOBS (max_concurrent_jobs)"),
        ("DANUBE_LOG_LEVEL", "loud", "DANUBE_LOG_LEVEL (log_level)"),
        ("DANUBE_CONFIG_REPO_SYNC_INTERVAL", "soon", "positive duration"),
        ("DANUBE_PUBLIC_URL", "ftp://x", "expected an http(s) URL"),
    ],
)
def test_an_invalid_value_stops_start_up_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings()


def test_postgres_needs_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANUBE_EVENT_STORE", "postgres")
    with pytest.raises(SettingsError, match="DANUBE_DATABASE_URL must be a postgresql:// URL"):
        load_settings()


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nbind_adress = "127.0.0.1:1"\n[nope]\nx = 1\n')
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert "unknown setting [server] bind_adress" in str(error.value)
    assert "unknown setting [nope] x" in str(error.value)


def test_a_broken_or_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"))
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(str(tmp_path / "missing.toml"))


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANUBE_GITHUB_WEBHOOK_SECRET", "s3cr3t-value")
    settings = load_settings()
    assert "s3cr3t-value" not in repr(settings)
    assert settings.github_webhook_secret.get_secret_value() == "s3cr3t-value"
