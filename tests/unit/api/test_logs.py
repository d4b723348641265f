"""Structured logs redact secrets by key and by known value."""

from __future__ import annotations

import json
import logging

from api.logs import JsonFormatter, Redactor


def render(redactor: Redactor, message: str, *args: object, **extra: object) -> dict:  # type: ignore[type-arg]
    record = logging.LogRecord("danube.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter(redactor).format(record))


def test_a_log_line_is_one_json_object_with_extra_fields() -> None:
    entry = render(Redactor(), "run %s requested", "r1", pipeline="web")
    assert entry["msg"] == "run r1 requested"
    assert (entry["level"], entry["logger"], entry["pipeline"]) == ("info", "danube.test", "web")


def test_sensitive_keys_are_redacted_whatever_their_value() -> None:
    entry = render(Redactor(), "login", password="hunter2", headers={"Authorization": "Bearer x"})
    assert entry["password"] == "[REDACTED]"
    assert entry["headers"] == {"Authorization": "[REDACTED]"}


def test_known_secret_values_are_redacted_anywhere() -> None:
    redactor = Redactor()
    redactor.add("tok-123456")
    entry = render(redactor, "cloning with tok-123456", detail=["x tok-123456 y"])
    assert "tok-123456" not in json.dumps(entry)


def test_passwords_in_urls_are_redacted() -> None:
    entry = render(Redactor(), "connecting to postgresql://ci:pa55w0rd@db:5432/danube")
    assert entry["msg"] == "connecting to postgresql://ci:[REDACTED]@db:5432/danube"
