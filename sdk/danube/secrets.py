"""`secrets.get(key)`: read a secret of the pipeline at run time.

Secrets are set by an admin of the pipeline in Danube and fetched over the job's
authenticated connection; they never appear in the pod's environment or manifests. The
master masks a secret's value in the job log once it has been read.

Example:
    >>> from danube import secrets, step
    >>> token = secrets.get("PYPI_TOKEN")
    >>> step.run("twine upload dist/*", env={"TWINE_PASSWORD": token})
    0
"""

from __future__ import annotations

from danube import _runtime

__all__ = ["get"]


def get(key: str) -> str:
    """The value of the secret named `key`.

    Raises:
        SecretNotFoundError: no secret of that name is set for this pipeline.
        AccessDeniedError: the pipeline may not read it.
        MasterUnavailableError: the master could not be reached for the retry budget.
        MasterError: any other refusal (e.g. the job is no longer running).
    """
    if not isinstance(key, str) or not key:
        raise ValueError("secrets.get() needs a non-empty key")
    return _runtime.client().get_secret(key)
