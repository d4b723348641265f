"""Load a danubefile and choose the pipeline to run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from danube.errors import PipelineDefinitionError
from danube.pipelines import Pipeline

MODULE_NAME = "danubefile"


def load_script(path: Path, workspace: Path) -> ModuleType:
    """Import the danubefile at `path` as module `danubefile`, with the workspace (and the
    script's directory) on `sys.path`.

    Raises:
        PipelineDefinitionError: the file is missing, or importing it raised (its cause
            is the original exception, e.g. a SyntaxError).
    """
    if not path.is_file():
        raise PipelineDefinitionError(f"{path.name} not found in {path.parent}")
    for directory in dict.fromkeys([path.parent, workspace]):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise PipelineDefinitionError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[MODULE_NAME]
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise PipelineDefinitionError(
            f"cannot load {path.name}: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def pipelines_in(module: ModuleType) -> dict[str, Pipeline]:
    """The pipelines a module defines (or imports), by name."""
    found: dict[str, Pipeline] = {}
    for value in vars(module).values():
        if not isinstance(value, Pipeline):
            continue
        other = found.setdefault(value.name, value)
        if other is not value:
            raise PipelineDefinitionError(f"two pipelines are named {value.name!r}")
    return found


def select_pipeline(pipelines: dict[str, Pipeline], wanted: str, script: str) -> Pipeline:
    """The pipeline named `wanted`; else the only one; else an error listing the names."""
    if wanted in pipelines:
        return pipelines[wanted]
    if len(pipelines) == 1:
        return next(iter(pipelines.values()))
    if not pipelines:
        raise PipelineDefinitionError(
            f"{script} defines no pipeline; decorate a function with @pipeline"
        )
    names = ", ".join(repr(name) for name in sorted(pipelines))
    if wanted:
        raise PipelineDefinitionError(
            f"{script} defines no pipeline named {wanted!r}; it defines {names}"
        )
    raise PipelineDefinitionError(
        f"{script} defines several pipelines ({names}); set the pipeline's entrypoint "
        "(DANUBE_ENTRYPOINT) to choose one"
    )
