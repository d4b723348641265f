"""Why a command cannot do its work, as the command line reports it."""

from __future__ import annotations

EXIT_FAILED, EXIT_USAGE = 1, 2


class CommandError(Exception):
    """An expected reason a command stops: ``danube`` prints it as one line (no
    traceback) and exits with ``exit_code`` (2: what was asked makes no sense here;
    1: Danube refuses it now)."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
