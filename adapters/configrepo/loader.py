"""Load a checked-out config repository into a validated ``Config``.

Layout: ``config.yaml`` (kind Config, at most one), ``users.yaml`` (kind User),
``teams.yaml`` (kind Team) and ``pipelines/*.yaml`` (kind Pipeline); ``.yml`` works
too. A missing file means "none of that kind"; every other file is ignored. Every
document has ``apiVersion: danube.dev/v1``, ``kind``, ``metadata.name`` and ``spec``.

All files are read and checked before anything is decided, so ``ConfigInvalidError``
lists every problem at once, sorted by file and line.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from adapters.configrepo import checks
from adapters.configrepo.kinds import (
    METADATA_FIELDS,
    PIPELINE_FIELDS,
    SETTINGS_FIELDS,
    TEAM_FIELDS,
    USER_FIELDS,
    Reference,
    parse_pipeline,
    parse_settings,
    parse_team,
    parse_user,
)
from adapters.configrepo.nodes import Fields, Problems, line_of, read_documents
from domain.config.model import Config, ConfigError, ConfigInvalidError, Settings
from domain.triggers.ports import ScheduleFactory

API_VERSION = "danube.dev/v1"
_Parser = Callable[[str, Fields, Fields, list[Reference]], Any]
_Kinds = dict[str, tuple[tuple[str, ...], _Parser]]
_KIND_NAMES = ("Config", "User", "Team", "Pipeline")
_TOP_FILES = (("config", "Config"), ("users", "User"), ("teams", "Team"))


@dataclass(frozen=True)
class _Definition:
    kind: str
    name: str
    file: str
    line: int


@dataclass
class _Loaded:
    """Everything read so far, across files."""

    objects: dict[str, list[Any]] = field(default_factory=dict)
    definitions: list[_Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)  # kinds with an unreadable file
    errors: list[ConfigError] = field(default_factory=list)


def load_config(directory: Path, commit: str, *, schedules: ScheduleFactory) -> Config:
    """The validated config in ``directory``; raises ``ConfigInvalidError`` with every error.
    ``schedules`` builds the cron schedules the scheduler will run: every cron trigger's
    schedule is built with it, so what it refuses is a config error here."""
    if not directory.is_dir():
        raise FileNotFoundError(f"config repository directory {directory} does not exist")
    kinds = _kinds(schedules)
    loaded = _Loaded()
    for relative, kind in _config_files(directory):
        problems = Problems(relative)
        documents, complete = read_documents(directory / relative, problems)
        if not complete:
            loaded.incomplete.add(kind)
        for document in documents:
            _read_document(document, kind, problems, loaded, kinds)
        loaded.errors.extend(problems.errors)
    loaded.errors.extend(_duplicates(loaded.definitions))
    loaded.errors.extend(_unknown_references(loaded))
    loaded.errors.extend(_shared_emails(loaded.references))
    loaded.errors.extend(_unknown_members(loaded))
    if loaded.errors:
        ordered = sorted(loaded.errors, key=lambda e: (e.file, e.line or 0))
        raise ConfigInvalidError(commit, tuple(ordered))
    return _config(commit, loaded.objects)


def _kinds(schedules: ScheduleFactory) -> _Kinds:
    return {
        "Config": (SETTINGS_FIELDS, parse_settings),
        "User": (USER_FIELDS, parse_user),
        "Team": (TEAM_FIELDS, parse_team),
        "Pipeline": (PIPELINE_FIELDS, partial(parse_pipeline, schedules=schedules)),
    }


def _config_files(directory: Path) -> Iterator[tuple[str, str]]:
    for stem, kind in _TOP_FILES:
        for suffix in (".yaml", ".yml"):
            if (directory / f"{stem}{suffix}").is_file():
                yield f"{stem}{suffix}", kind
    pipelines = directory / "pipelines"
    if pipelines.is_symlink():
        yield "pipelines", "Pipeline"  # reported by read_documents, never followed
    elif pipelines.is_dir():
        found = [p for p in pipelines.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file()]
        for path in sorted(found):
            yield f"pipelines/{path.name}", "Pipeline"


def _read_document(
    node: yaml.Node, expected: str, problems: Problems, loaded: _Loaded, kinds: _Kinds
) -> None:
    top = Fields(problems, node, "", ("apiVersion", "kind", "metadata", "spec"))
    api_version = top.string("apiVersion", required=True)
    if api_version is not None and api_version != API_VERSION:
        message = f"unsupported apiVersion '{api_version}': expected '{API_VERSION}'"
        top.error(top.get("apiVersion"), "apiVersion", message)
    kind = top.string("kind", required=True)
    if kind is None:
        return
    if kind not in kinds:
        known = ", ".join(sorted(kinds))
        top.error(top.get("kind"), "kind", f"unknown kind '{kind}': expected one of {known}")
        return
    if kind != expected:
        message = f"kind {kind} does not belong in {problems.file} (expected {expected})"
        top.error(top.get("kind"), "kind", message)
        return
    metadata = top.mapping("metadata", METADATA_FIELDS.get(kind, ("name",)))
    name = _name(metadata, kind, loaded)
    allowed, parse = kinds[kind]
    result = parse(name or "", metadata, top.mapping("spec", allowed), loaded.references)
    if result is not None and name is not None:
        loaded.objects.setdefault(kind, []).append(result)


def _name(metadata: Fields, kind: str, loaded: _Loaded) -> str | None:
    """The document's valid name; any string name is remembered, so that a bad name is
    reported once rather than again at every reference to it."""
    node = metadata.get("name")
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        file = metadata.problems.file
        loaded.definitions.append(_Definition(kind, node.value, file, line_of(node)))
    return metadata.string("name", checks.dns_name, required=True)


def _duplicates(definitions: list[_Definition]) -> Iterator[ConfigError]:
    first: dict[tuple[str, str], _Definition] = {}
    for item in definitions:
        # Only one Config document may exist, whatever it is called.
        key = (item.kind, "" if item.kind == "Config" else item.name)
        if (seen := first.get(key)) is None:
            first[key] = item
            continue
        where = f"{seen.file}:{seen.line}"
        message = (
            f"kind Config may appear only once (first at {where})"
            if item.kind == "Config"
            else f"duplicate {item.kind} name '{item.name}' (first defined at {where})"
        )
        yield ConfigError(item.file, item.line, "metadata.name", message)


def _unknown_references(loaded: _Loaded) -> Iterator[ConfigError]:
    names: dict[str, set[str]] = {}
    for item in loaded.definitions:
        names.setdefault(item.kind, set()).add(item.name)
    for ref in loaded.references:
        if ref.kind not in _KIND_NAMES or ref.kind in loaded.incomplete:
            continue  # not a name; or its file could not be read, which is reported already
        known = names.get(ref.kind, set())
        if ref.name not in known:
            yield ConfigError(ref.file, ref.line, ref.field, _unknown(ref, known))


def _shared_emails(references: list[Reference]) -> Iterator[ConfigError]:
    """Users log in by email (Dex static passwords are keyed by it): it must be unique."""
    first: dict[str, Reference] = {}
    for ref in references:
        if ref.kind != "email":
            continue
        if (seen := first.setdefault(ref.name, ref)) is not ref:
            where = f"{seen.file}:{seen.line}"
            message = f"email '{ref.name}' is already used by another user (at {where})"
            yield ConfigError(ref.file, ref.line, ref.field, message)


def _unknown_members(loaded: _Loaded) -> Iterator[ConfigError]:
    """Team members are users' e-mail addresses; a user name written instead is told
    which address to write."""
    if "User" in loaded.incomplete:
        return
    users = loaded.objects.get("User", [])
    emails = {user.email.lower() for user in users}
    by_name = {user.name: user.email for user in users}
    for ref in loaded.references:
        if ref.kind != "member" or ref.name.lower() in emails:
            continue
        if ref.name in by_name:
            message = (
                f"'{ref.name}' is written '{by_name[ref.name]}' "
                "(members are users' e-mail addresses)"
            )
        elif "@" not in ref.name:
            message = f"'{ref.name}' is not an e-mail address: members are users' e-mail addresses"
        else:
            message = f"unknown member '{ref.name}': no user in users.yaml has this spec.email"
        yield ConfigError(ref.file, ref.line, ref.field, message)


def _unknown(ref: Reference, known: set[str]) -> str:
    where = "teams.yaml" if ref.kind == "Team" else "users.yaml"
    message = f"unknown {ref.kind.lower()} '{ref.name}'"
    close = difflib.get_close_matches(ref.name, sorted(known), n=1)
    if close:
        return f"{message} (did you mean '{close[0]}'?)"
    return f"{message}: not defined in {where}"


def _config(commit: str, objects: dict[str, list[Any]]) -> Config:
    def by_name(kind: str) -> tuple[Any, ...]:
        return tuple(sorted(objects.get(kind, []), key=lambda item: item.name))

    settings = objects.get("Config", [Settings()])[0]
    return Config(
        commit=commit,
        settings=settings,
        pipelines=by_name("Pipeline"),
        users=by_name("User"),
        teams=by_name("Team"),
    )
