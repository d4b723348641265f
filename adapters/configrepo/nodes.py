"""Reading YAML files as node trees, so every value keeps the line it came from.

``yaml.compose`` gives nodes with positions; ``Fields`` reads one mapping node with
typed accessors that report wrong types, unknown and duplicate keys and missing
required fields to a ``Problems`` collector instead of raising, so one pass finds
every error of a document.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml

from adapters.configrepo.checks import Check
from domain.config.model import ConfigError

MAX_FILE_BYTES = 1024 * 1024
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
# YAML 1.1 booleans that YAML 1.2 (and a reader) takes for words: where a string is
# expected, a plain one is the word as written (``branches: [on]`` is the branch "on").
_WORD_BOOLEANS = {"yes", "no", "on", "off"}
_TYPE_NAMES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:timestamp": "a date",
    _NULL: "nothing",
    _STR: "a string",
}


class Problems:
    """Collects the errors found in one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[ConfigError] = []

    def add(self, line: int | None, field: str, message: str) -> None:
        self.errors.append(ConfigError(self.file, line, field, message))


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Loader(yaml.SafeLoader):
    """Safe loading that refuses aliases: no "billion laughs", no shared sub-trees."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not supported", mark
            )
        return super().compose_node(parent, index)


def read_documents(path: Path, problems: Problems) -> tuple[list[yaml.Node], bool]:
    """The non-empty documents of a file, and whether the whole file could be read."""
    if path.is_symlink():
        problems.add(None, "", "symbolic links are not allowed in the config repository")
        return [], False
    if path.stat().st_size > MAX_FILE_BYTES:
        problems.add(None, "", f"file is larger than {MAX_FILE_BYTES} bytes")
        return [], False
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.add(None, "", f"file is not valid UTF-8: {error}")
        return [], False
    documents: list[yaml.Node] = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if not (node.tag == _NULL and node.value == ""):
                _on_keys_are_strings(node)
                documents.append(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        problem = error.problem or "syntax error"
        context = f" ({error.context})" if error.context else ""
        problems.add(line, "", f"invalid YAML: {problem}{context}")
        return documents, False
    return documents, True


def _on_keys_are_strings(node: yaml.Node) -> None:
    """A plain mapping key ``on`` is the string it looks like (as in GitHub Actions), not
    YAML 1.1's boolean true. Only keys: values keep their types."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            plain = isinstance(key, yaml.ScalarNode) and key.style is None
            if plain and key.tag == _BOOL and key.value == "on":
                key.tag = _STR
            _on_keys_are_strings(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _on_keys_are_strings(item)


def _word(node: yaml.Node) -> bool:
    """A plain ``yes``/``no``/``on``/``off``: a word where a string is expected."""
    if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
        return False
    return node.style is None and str(node.value).lower() in _WORD_BOOLEANS


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _TYPE_NAMES.get(node.tag, f"a value tagged {node.tag}")


def is_null(node: yaml.Node | None) -> bool:
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL)


class Fields:
    """Typed access to the keys of one YAML mapping node at ``path`` (``spec.worker``).

    ``line`` is where a missing required key is reported: the line of the key that holds
    this mapping. A missing or wrongly typed mapping reads as empty, so callers carry on
    with defaults and the remaining errors are still found.
    """

    def __init__(
        self,
        problems: Problems,
        node: yaml.Node | None,
        path: str,
        allowed: Collection[str] | None,
        line: int | None = None,
    ) -> None:
        self.problems, self.path = problems, path
        self.line = line if line is not None or node is None else line_of(node)
        self._keys: dict[str, yaml.Node] = {}
        self._values: dict[str, yaml.Node] = {}
        self._wrong_type = False  # already reported: no "missing field" errors inside
        if is_null(node):
            return
        assert node is not None
        if not isinstance(node, yaml.MappingNode):
            problems.add(line_of(node), path, f"expected a mapping, got {describe(node)}")
            self._wrong_type = True
            return
        self._collect(node, allowed)

    def _collect(self, node: yaml.MappingNode, allowed: Collection[str] | None) -> None:
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR):
                self.error(key_node, "", f"keys must be strings, got {describe(key_node)}")
                continue
            key = key_node.value
            if key in self._keys:
                first = line_of(self._keys[key])
                self.error(key_node, key, f"duplicate key (first at line {first})")
            elif allowed is not None and key not in allowed:
                self.error(key_node, key, _unknown_field(key, allowed))
            else:
                self._keys[key] = key_node
                self._values[key] = value_node

    @property
    def wrong_type(self) -> bool:
        """The node was not a mapping (already reported)."""
        return self._wrong_type

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path and key else self.path or key

    def error(self, node: yaml.Node | None, key: str, message: str) -> None:
        line = self.line if node is None else line_of(node)
        self.problems.add(line, self.field(key), message)

    def get(self, key: str, *, required: bool = False) -> yaml.Node | None:
        node = self._values.get(key)
        if is_null(node):
            if required and not self._wrong_type:
                self.error(None, key, "missing required field")
            return None
        return node

    def forbid(self, keys: Collection[str], reason: str) -> None:
        for key in keys:
            if (node := self._values.get(key)) is not None:
                self.error(node, key, f"not allowed {reason}")

    def mapping(self, key: str, allowed: Collection[str]) -> Fields:
        key_node = self._keys.get(key)
        line = self.line if key_node is None else line_of(key_node)
        return Fields(self.problems, self._values.get(key), self.field(key), allowed, line)

    def string(
        self, key: str, *checks: Check, required: bool = False, numbers: bool = False
    ) -> str | None:
        node = self.get(key, required=required)
        return None if node is None else self.scalar(node, key, checks, numbers)

    def scalar(
        self, node: yaml.Node, key: str, checks: tuple[Check, ...], numbers: bool = False
    ) -> str | None:
        accepted = node.tag == _STR or _word(node) or (numbers and describe(node) == "a number")
        if not isinstance(node, yaml.ScalarNode) or not accepted:
            quotable = isinstance(node, yaml.ScalarNode) and node.tag != _NULL
            hint = " (put it in quotes)" if quotable else ""
            self.error(node, key, f"expected a string, got {describe(node)}{hint}")
            return None
        value = str(node.value)
        for check in checks:
            if (message := check(value)) is not None:
                self.error(node, key, message)
                return None
        return value

    def integer(self, key: str, *, minimum: int | None = None) -> int | None:
        node = self.get(key)
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            self.error(node, key, f"expected a whole number, got {describe(node)}")
            return None
        value = int(_CONSTRUCTOR.construct_yaml_int(node))
        if minimum is not None and value < minimum:
            self.error(node, key, f"must be at least {minimum}, got {value}")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        node = self.get(key)
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.error(node, key, f"expected true or false, got {describe(node)}")
            return None
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))

    def items(self, key: str) -> Iterator[tuple[str, yaml.Node]]:
        """The elements of a list field, each with its own path (``triggers[0]``)."""
        node = self.get(key)
        if node is None:
            return
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, key, f"expected a list, got {describe(node)}")
            return
        for index, item in enumerate(node.value):
            yield f"{key}[{index}]", item

    def strings(self, key: str, *checks: Check) -> tuple[str, ...]:
        values = (self.scalar(item, path, checks) for path, item in self.items(key))
        return tuple(v for v in values if v is not None)

    def pairs(
        self, key: str, key_check: Check, *value_checks: Check
    ) -> tuple[tuple[str, str, int], ...]:
        """A mapping of string to string, as ``(key, value, line)`` in file order."""
        node = self.get(key)
        if node is None:
            return ()
        inner = Fields(self.problems, node, self.field(key), None)
        result = []
        for name, value_node in inner._values.items():
            if (message := key_check(name)) is not None:
                inner.error(inner._keys[name], name, message)
            elif (value := inner.scalar(value_node, name, value_checks)) is not None:
                result.append((name, value, line_of(value_node)))
        return tuple(result)


def _unknown_field(key: str, allowed: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        return f"unknown field (did you mean '{close[0]}'?)"
    return "unknown field; expected one of: " + ", ".join(sorted(allowed))
