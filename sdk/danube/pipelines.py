"""`@pipeline`: mark a function of danubefile.py as a pipeline the coordinator can run.

Example:
    >>> from danube import pipeline, step
    >>> @pipeline(name="web")
    ... def build() -> None:
    ...     step.run("make")
    >>> @pipeline                  # named after the function: "nightly"
    ... def nightly() -> None:
    ...     step.run("make long-tests")

A danubefile may define several pipelines; the coordinator runs the one the pipeline's
config names as its entrypoint (`DANUBE_ENTRYPOINT`), else the one named like the Danube
pipeline (`DANUBE_PIPELINE`), else the only one if there is just one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import overload

from danube.errors import PipelineDefinitionError

PipelineFunction = Callable[[], object]

__all__ = ["Pipeline", "pipeline"]


class Pipeline:
    """A pipeline function with its name; calling it runs the function."""

    def __init__(self, func: PipelineFunction, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise PipelineDefinitionError("a pipeline name must be a non-empty string")
        if inspect.iscoroutinefunction(func):
            raise PipelineDefinitionError(f"pipeline {name!r}: use a plain function, not async def")
        if _required_parameters(func):
            raise PipelineDefinitionError(f"pipeline {name!r}: the function must take no arguments")
        self.name = name
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self) -> None:
        self.func()

    def __repr__(self) -> str:
        return (
            f"Pipeline(name={self.name!r}, func={getattr(self.func, '__qualname__', self.func)!r})"
        )


@overload
def pipeline(func: PipelineFunction, /) -> Pipeline: ...


@overload
def pipeline(*, name: str | None = None) -> Callable[[PipelineFunction], Pipeline]: ...


def pipeline(
    func: PipelineFunction | None = None, /, *, name: str | None = None
) -> Pipeline | Callable[[PipelineFunction], Pipeline]:
    """Register a function as a pipeline: `@pipeline`, or `@pipeline(name="web")`.

    The function takes no arguments; it fails the job by raising (a failed
    `step.run()` raises `StepFailedError`) and succeeds by returning.
    """
    if func is not None:
        return Pipeline(func, getattr(func, "__name__", ""))

    def decorate(function: PipelineFunction) -> Pipeline:
        return Pipeline(function, name if name is not None else function.__name__)

    return decorate


def _required_parameters(func: PipelineFunction) -> list[str]:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in parameters
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
