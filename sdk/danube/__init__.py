"""Danube pipeline SDK: write CI/CD pipelines in plain Python.

```python
from danube import pipeline, step, secrets, artifacts, ctx

@pipeline(name="web")
def build() -> None:
    step.run("pip install -r requirements.txt", name="deps")
    version = step.run("git describe --tags", capture=True).strip()
    step.run("pytest -q", env={"VERSION": version}, timeout=600)
    artifacts.upload("dist/")
```

- `pipeline`: decorator marking a pipeline function (see `danube.pipelines`).
- `step`: `step.run(command, ...)` runs a command in the job's worker (`danube.step`).
- `secrets`: `secrets.get(key)` reads a secret (`danube.secrets`).
- `artifacts`: `artifacts.upload(path, name=None)` stores a file or directory.
- `ctx`: the running job: `ctx.job_id`, `ctx.branch`, `ctx.commit_sha`, `ctx.workspace`, ...
- errors: `StepFailedError`, `MasterUnavailableError`, ... (`danube.errors`).

The `danube.coordinator` module (`python -m danube.coordinator`) runs a danubefile.
"""

from danube import artifacts, secrets, step
from danube.context import JobContext, ctx
from danube.errors import (
    AccessDeniedError,
    ArtifactError,
    AuthenticationError,
    ConfigurationError,
    DanubeError,
    InvalidRequestError,
    JobNotRunningError,
    MasterError,
    MasterUnavailableError,
    PipelineDefinitionError,
    SecretNotFoundError,
    StepFailedError,
)
from danube.pipelines import Pipeline, pipeline
from danube.results import ArtifactInfo, OutputChunk, StepOutcome, StepResult

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "ArtifactError",
    "ArtifactInfo",
    "AuthenticationError",
    "ConfigurationError",
    "DanubeError",
    "InvalidRequestError",
    "JobContext",
    "JobNotRunningError",
    "MasterError",
    "MasterUnavailableError",
    "OutputChunk",
    "Pipeline",
    "PipelineDefinitionError",
    "SecretNotFoundError",
    "StepFailedError",
    "StepOutcome",
    "StepResult",
    "artifacts",
    "ctx",
    "pipeline",
    "secrets",
    "step",
]
