"""The single-value checks: what passes and what is refused."""

import pytest

from adapters.configrepo import checks
from adapters.cron import CroniterSchedule

cron_schedule = checks.cron_schedule(CroniterSchedule)
# A fixed hash (it names a test: pytest-xdist's workers must collect the same names).
BCRYPT_OF_PW = "$2b$04$FF69HjXqgTXSoDJMmYTk3uiJMC7yX34Ba2Gskp6dkKdD8tnUtMiYS"

VALID = [
    (checks.image_reference, "python:3.12-slim"),
    (checks.image_reference, "node"),
    (checks.image_reference, "library/node:22"),
    (checks.image_reference, "ghcr.io/org/img@sha256:" + "0123456789abcdef" * 4),
    (checks.image_reference, "ghcr.io/org/img:1.0@sha256:" + "a" * 64),
    (checks.image_reference, "registry:5000/a/b:tag"),
    (checks.image_reference, "localhost/app"),
    (checks.image_reference, "my-registry.example.com/team/app_name__x:v1.2.3"),
    (checks.quantity, "500m"),
    (checks.quantity, "2Gi"),
    (checks.quantity, "1.5"),
    (checks.quantity, "2"),
    (checks.quantity, "1e3"),
    (checks.quantity, "128974848"),
    (checks.quantity, "0.5"),
    (checks.glob, "main"),
    (checks.glob, "release/*"),
    (checks.glob, "feature/[a-z]*"),
    (checks.glob, "hotfix-[!x]?"),
    (checks.glob, "[]]x"),
    (cron_schedule, "*/5 * * * mon-fri"),
    (cron_schedule, "0 3 1 * *"),
    (cron_schedule, "@hourly"),
    (checks.timezone, "UTC"),
    (checks.timezone, "America/New_York"),
    (checks.dns_name, "a"),
    (checks.dns_name, "web-2"),
    (checks.dns_name, "a" * 63),
    (checks.secret_name, "github-webhook"),
    (checks.secret_name, "WEBHOOK_SECRET.v2"),
    (checks.bcrypt_hash, BCRYPT_OF_PW),
    (checks.bcrypt_hash, "$2y$10$" + "a" * 53),
]

INVALID = [
    (checks.image_reference, "UPPER/case"),
    (checks.image_reference, "a b"),
    (checks.image_reference, ":tag"),
    (checks.image_reference, "img:"),
    (checks.image_reference, "img@sha256:" + "a" * 63),
    (checks.image_reference, "img@md5"),
    (checks.image_reference, "-registry.io/a"),
    (checks.image_reference, "a//b"),
    (checks.image_reference, ""),
    (checks.quantity, "2GB"),
    (checks.quantity, "-1"),
    (checks.quantity, "abc"),
    (checks.quantity, "0"),
    (checks.quantity, "0m"),
    (checks.quantity, "1 Gi"),
    (checks.quantity, ""),
    (checks.glob, ""),
    (checks.glob, "rel/[0-9"),
    (checks.glob, "a]"),
    (checks.glob, "a..b"),
    (checks.glob, "a~1"),
    (checks.glob, "refs:x"),
    (checks.glob, "[z-a]"),
    (cron_schedule, "61 * * * *"),
    (cron_schedule, "* * * *"),
    (cron_schedule, "0 0 * * * *"),
    (cron_schedule, "0 25 * * *"),
    (cron_schedule, "H * * * *"),
    (cron_schedule, "0 0 31 2 *"),
    (cron_schedule, "@reboot"),
    (checks.timezone, "Mars/Olympus"),
    (checks.timezone, "../etc/passwd"),
    (checks.dns_name, "Web"),
    (checks.dns_name, "-web"),
    (checks.dns_name, "web-"),
    (checks.dns_name, "a" * 64),
    (checks.dns_name, "a.b"),
    (checks.secret_name, "my secret"),
    (checks.secret_name, ".."),
    (checks.secret_name, "a/b"),
    (checks.bcrypt_hash, "plaintext"),
    (checks.bcrypt_hash, "$2b$03$" + "a" * 53),
    (checks.bcrypt_hash, "$2b$12$" + "a" * 52),
    (checks.bcrypt_hash, "$1$abc$" + "a" * 53),
]


@pytest.mark.parametrize(("check", "value"), VALID)
def test_a_valid_value_passes(check: checks.Check, value: str) -> None:
    assert check(value) is None


@pytest.mark.parametrize(("check", "value"), INVALID)
def test_an_invalid_value_is_refused_with_a_message(check: checks.Check, value: str) -> None:
    message = check(value)

    assert message
