"""The job coordinator: `python -m danube.coordinator`.

Runs in the job's workspace: loads `danubefile.py` (or `DANUBE_SCRIPT`), picks the
pipeline (`DANUBE_ENTRYPOINT`, else the one named like the Danube pipeline
`DANUBE_PIPELINE`, else the only one), runs it, and reports the outcome to the
master with `ReportStatus`.

Exit codes: 0 the pipeline succeeded; 1 it failed (a step, an exception in user code, a
missing or broken danubefile); 2 infrastructure: the master could not be reached,
rejected the job's token, or the environment is incomplete.
"""

from danube.coordinator._main import EXIT_FAILURE, EXIT_INFRASTRUCTURE, EXIT_SUCCESS, main

__all__ = ["EXIT_FAILURE", "EXIT_INFRASTRUCTURE", "EXIT_SUCCESS", "main"]
