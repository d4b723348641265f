"""What the command line can tell from a danubefile without running it: the names of
the pipelines it declares with ``@pipeline``, read from its syntax tree (user code is
never imported or executed in the CLI process)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

DECORATOR = "pipeline"


def declared_pipelines(source: str) -> list[str] | None:
    """The names of the module-level functions decorated with ``@pipeline`` (its
    ``name=``, else the function's name), in file order. None when only running the
    file could tell: it does not parse, or a ``name=`` is not a string literal."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    names: list[str] = []
    for function in _module_functions(tree.body):
        for decorator in function.decorator_list:
            if not _is_pipeline(decorator):
                continue
            name = _declared_name(decorator, function.name)
            if name is None:
                return None
            names.append(name)
    return names


def _module_functions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at module level, also inside ``if``/``try``/``with`` blocks."""
    for statement in body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            yield statement
            continue
        if isinstance(statement, ast.ClassDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            nested = getattr(statement, field, None)
            if isinstance(nested, list):
                yield from _module_functions(nested)
        for handler in getattr(statement, "handlers", []):
            yield from _module_functions(handler.body)


def _is_pipeline(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id == DECORATOR
    return isinstance(target, ast.Attribute) and target.attr == DECORATOR


def _declared_name(decorator: ast.expr, function_name: str) -> str | None:
    if not isinstance(decorator, ast.Call):
        return function_name  # bare @pipeline
    if decorator.args:
        return None
    for keyword in decorator.keywords:
        if keyword.arg == "name":
            value = keyword.value
            if isinstance(value, ast.Constant) and value.value is None:
                return function_name
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return None
    return function_name
