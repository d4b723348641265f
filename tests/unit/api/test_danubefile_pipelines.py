"""Which pipelines a danubefile declares, read from its syntax tree (never run)."""

from __future__ import annotations

import textwrap

import pytest

from api.commands.danubefile import declared_pipelines

CASES = {
    "a name given": ('@pipeline(name="web")\ndef build(): ...', ["web"]),
    "no name: the function's": ("@pipeline\ndef build(): ...", ["build"]),
    "empty call: the function's": ("@pipeline()\ndef build(): ...", ["build"]),
    "name=None: the function's": ("@pipeline(name=None)\ndef build(): ...", ["build"]),
    "through the module": ('@danube.pipeline(name="x")\ndef f(): ...', ["x"]),
    "several, in order": ('@pipeline\ndef b(): ...\n@pipeline(name="a")\ndef a(): ...', ["b", "a"]),
    "inside an if": ('if True:\n    @pipeline(name="x")\n    def f(): ...', ["x"]),
    "inside a try": ("try:\n    pass\nexcept Exception:\n    @pipeline\n    def f(): ...", ["f"]),
    "other decorators ignored": ("@functools.cache\ndef f(): ...", []),
    "methods are not module pipelines": ("class C:\n    @pipeline\n    def f(self): ...", []),
    "a computed name: unknown": ("@pipeline(name=NAME)\ndef f(): ...", None),
    "a positional argument: unknown": ('@pipeline("x")\ndef f(): ...', None),
    "not Python: unknown": ("def (:", None),
}


@pytest.mark.parametrize(("source", "expected"), CASES.values(), ids=CASES.keys())
def test_declared_pipelines(source: str, expected: list[str] | None) -> None:
    assert declared_pipelines(textwrap.dedent(source)) == expected


def test_reading_the_names_runs_nothing_of_the_file() -> None:
    source = 'raise SystemExit("ran")\n@pipeline(name="quiet")\ndef f(): ...'
    assert declared_pipelines(source) == ["quiet"]
