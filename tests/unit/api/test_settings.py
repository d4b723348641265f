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
    with pytest.raises(SettingsError, match=r"DANUBE_DATABASE_URL \(\[store\] database_url\) must"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[server]\nbind_address = "localhost"\n',
            "[server] bind_address: expected host:port (e.g. 127.0.0.1:8080), got 'localhost'",
        ),
        ("[executor]\nmax_concurrent_jobs = 0\n", "[executor] max_concurrent_jobs: "),
        ('[config_repo]\nsync_interval = "soon"\n', "[config_repo] sync_interval: expected a"),
        ('[logging]\nlevel = "loud"\n', "[logging] level: "),
        ('log_format = "xml"\n', "log_format: "),
    ],
)
def test_a_bad_value_in_the_file_names_the_file_and_its_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "DANUBE_" not in str(error.value), "the file's key, not the variable, is named"


def test_a_bad_value_from_the_environment_names_the_variable_even_with_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[server]\nbind_address = "127.0.0.1:1"\n')
    monkeypatch.setenv("DANUBE_BIND_ADDRESS", "nowhere")
    with pytest.raises(SettingsError, match=r"^invalid setting DANUBE_BIND_ADDRESS \(bind"):
        load_settings(path)


def test_unknown_sections_and_keys_in_the_file_are_refused_by_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nbind_adress = "127.0.0.1:1"\n[nope]\nx = 1\n'
        '[logging]\nbind_address = "127.0.0.1:2"\n',
    )
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    lines = str(error.value).splitlines()
    assert lines[0] == f"{path}: unknown setting [server] bind_adress (did you mean bind_address?)"
    assert lines[1].startswith(f"{path}: unknown section [nope] (sections: [server], [store]")
    assert lines[2] == (
        f"{path}: unknown setting [logging] bind_address "
        "(it belongs in [server]: [server] bind_address)"
    )


def test_every_setting_has_exactly_one_section() -> None:
    from api.settings import Settings
    from api.settings_file import SECTIONS

    placed = [name for names in SECTIONS.values() for name in names]
    assert sorted(placed) == sorted(Settings.model_fields)


def test_every_setting_can_be_written_in_its_section(tmp_path: Path) -> None:
    from api.settings import Settings
    from api.settings_file import SECTIONS

    text = "".join(
        f'[{section}]\n{name} = "x"\n' for section, names in SECTIONS.items() for name in names
    )
    with pytest.raises(SettingsError) as error:  # "x" is a bad value for most of them
        load_settings(write(tmp_path, text))
    assert "unknown" not in str(error.value)
    assert len(Settings.model_fields) > 30


def test_an_unknown_danube_variable_is_warned_about_with_the_nearest_setting(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api.settings import warn_about_unknown_variables

    monkeypatch.setenv("DANUBE_BIND_ADRESS", "127.0.0.1:1")
    monkeypatch.setenv("DANUBE_WHATEVER", "1")
    monkeypatch.setenv("DANUBE_TEST_KUBECONFIG", "/k")  # the test suite's own: not a setting
    monkeypatch.setenv("DANUBE_CONFIG", "")
    with caplog.at_level("WARNING", logger="api.settings"):
        warnings = warn_about_unknown_variables()
    assert warnings == [
        "unknown environment variable DANUBE_BIND_ADRESS is ignored "
        "(did you mean DANUBE_BIND_ADDRESS?)",
        "unknown environment variable DANUBE_WHATEVER is ignored",
    ]
    assert [r.getMessage() for r in caplog.records] == warnings
    assert load_settings().bind_address == "127.0.0.1:8080", "a warning, not a failure"


def test_readiness_lag_is_a_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().readiness_max_lag == 30
    monkeypatch.setenv("DANUBE_READINESS_MAX_LAG", "2m")
    assert load_settings().readiness_max_lag == 120


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
