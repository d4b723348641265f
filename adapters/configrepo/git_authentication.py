"""``config.yaml`` ``spec.git_authentication``: credentials for pipeline repositories.

A list, each entry ``type`` (``github_app``, ``gitlab_token`` or ``ssh_key``), ``name``,
``match_patterns`` (globs over the normalised repository URL, ``github.com/acme/*``) and
the fields of its type. The entries hold names of Danube secrets and paths of key files,
never a secret value.
"""

from __future__ import annotations

import yaml

from adapters.configrepo import checks
from adapters.configrepo.nodes import Fields, line_of
from domain.config.model import GitAuthentication, GitAuthenticationType

COMMON_FIELDS = ("type", "name", "match_patterns")
TYPE_FIELDS = {
    GitAuthenticationType.GITHUB_APP: ("app_id", "installation_id", "private_key_secret"),
    GitAuthenticationType.GITLAB_TOKEN: ("url", "token_secret"),
    GitAuthenticationType.SSH_KEY: ("private_key_path", "known_hosts_path"),
}
REQUIRED = {
    GitAuthenticationType.GITHUB_APP: ("app_id", "installation_id", "private_key_secret"),
    GitAuthenticationType.GITLAB_TOKEN: ("token_secret",),
    GitAuthenticationType.SSH_KEY: ("private_key_path",),
}
ALL_FIELDS = COMMON_FIELDS + tuple(f for fields in TYPE_FIELDS.values() for f in fields)
_CHECKS = {
    "private_key_secret": checks.secret_name,
    "token_secret": checks.secret_name,
    "private_key_path": checks.non_empty,
    "known_hosts_path": checks.non_empty,
    "url": checks.repository_url,
}


def _type(value: str) -> str | None:
    types = [t.value for t in GitAuthenticationType]
    if value in types:
        return None
    return f"unknown git authentication type '{value}': expected one of {', '.join(types)}"


def _pattern(value: str) -> str | None:
    if not value.strip() or any(ch.isspace() for ch in value):
        return f"invalid match pattern '{value}': must not be empty or contain spaces"
    return None


def parse_git_authentication(spec: Fields) -> tuple[GitAuthentication, ...]:
    node = spec.get("git_authentication")
    if isinstance(node, yaml.MappingNode):
        spec.error(
            node,
            "git_authentication",
            "is written as a list of credentials: "
            "[{type: gitlab_token, name: ..., token_secret: ..., match_patterns: [...]}]",
        )
        return ()
    found: list[GitAuthentication] = []
    seen: dict[str, int] = {}
    for path, item in spec.items("git_authentication"):
        entry = Fields(spec.problems, item, spec.field(path), ALL_FIELDS)
        parsed = _entry(entry)
        if parsed is None:
            continue
        name_line = line_of(entry.get("name"))  # type: ignore[arg-type]  # it was read
        if parsed.name in seen:
            message = f"duplicate name '{parsed.name}' (first at line {seen[parsed.name]})"
            entry.error(entry.get("name"), "name", message)
            continue
        seen[parsed.name] = name_line
        found.append(parsed)
    return tuple(found)


def _entry(entry: Fields) -> GitAuthentication | None:
    type_text = entry.string("type", _type, required=True)
    name = entry.string("name", checks.dns_name, required=True)
    entry.get("match_patterns", required=True)  # reports it when missing
    patterns = entry.strings("match_patterns", _pattern)
    if type_text is None:
        return None
    kind = GitAuthenticationType(type_text)
    others = set(ALL_FIELDS) - {*COMMON_FIELDS, *TYPE_FIELDS[kind]}
    entry.forbid(sorted(others), f"for a {kind.value} credential")
    values = {
        key: entry.string(key, *_checks(key), required=key in REQUIRED[kind], numbers=True)
        for key in TYPE_FIELDS[kind]
    }
    if name is None or not patterns or any(values[key] is None for key in REQUIRED[kind]):
        return None
    given = {key: value for key, value in values.items() if value is not None}
    return GitAuthentication(type=kind, name=name, match_patterns=patterns, **given)


def _checks(key: str) -> tuple[checks.Check, ...]:
    check = _CHECKS.get(key)
    return (check,) if check is not None else (checks.non_empty,)
