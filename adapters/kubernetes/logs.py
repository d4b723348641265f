"""A job's container logs into its output: the checkout's, then the coordinator's.

Each log is followed (``follow=true`` with a read timeout) and re-requested when the
stream breaks, skipping the bytes already delivered; a container that has ended is read
to its end once more, so nothing it printed is missed. Checkout output is redacted line
by line (a repository URL may carry credentials).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Protocol

from adapters.kubernetes.client import KubeApi
from adapters.kubernetes.errors import ApiError, Backoff

log = logging.getLogger(__name__)
_USERINFO = re.compile(rb"(?P<scheme>https?://)[^/@\s'\"]+@")


class LogHost(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def pod(self) -> str: ...
    @property
    def cancelled(self) -> threading.Event: ...

    def container_state(self, container: str) -> str:
        """ "waiting", "running", "terminated", or "absent" (no pod)."""

    def wait_for_change(self, timeout: float) -> None: ...

    def write_log(self, data: bytes) -> None:
        """Into the job's output, unless the job was stopped."""


class JobLogs:
    def __init__(
        self, api: KubeApi, host: LogHost, read_timeout: float, since: float | None = None
    ) -> None:
        """``since`` (epoch seconds): only output from about then on (a job adopted after
        a restart of the adapter), else everything."""
        self._api, self._host, self._read_timeout, self._since = api, host, read_timeout, since
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"logs-{host.pod}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._follow("checkout", redact=True)
            self._follow("coordinator", redact=False)
        except Exception:
            log.exception("following the logs of pod %s failed", self._host.pod)
        finally:
            self.done.set()

    def _follow(self, container: str, redact: bool) -> None:
        delivered, quiet = 0, 0
        backoff = Backoff(base=0.05, cap=1.0)
        while not self._host.cancelled.is_set() and not self._api.stopping.is_set():
            state = self._host.container_state(container)
            if state == "absent":
                return
            if state == "waiting":
                self._host.wait_for_change(1.0)
                continue
            try:
                got = self._read(container, delivered, redact)
            except ApiError as error:
                if error.status == 404:
                    return
                got = 0  # e.g. not started after all, or the node is unreachable
            delivered += got
            if state == "terminated":
                return
            quiet = 0 if got else quiet + 1
            self._host.cancelled.wait(backoff.delay(quiet, None) if quiet else 0)

    def _read(self, container: str, skip: int, redact: bool) -> int:
        """Deliver what follows the first ``skip`` bytes; returns how many were new."""
        since = None if self._since is None else math.ceil(time.time() - self._since) + 1
        stream = self._api.pod_log(
            self._host.namespace, self._host.pod, container, self._read_timeout, since
        )
        seen = delivered = 0
        pending = b""
        try:
            for chunk in stream.chunks():
                new = chunk[max(0, skip - seen) :]
                seen += len(chunk)
                if not new:
                    continue
                delivered += len(new)
                if redact:
                    pending += new
                    lines, _, pending = pending.rpartition(b"\n")
                    if lines:
                        self._host.write_log(_USERINFO.sub(rb"\g<scheme>***@", lines + b"\n"))
                else:
                    self._host.write_log(new)
        except Exception as error:  # a broken stream: the caller reconnects
            log.debug("log stream of %s/%s ended: %s", self._host.pod, container, error)
        finally:
            stream.close()
            if pending:
                self._host.write_log(_USERINFO.sub(rb"\g<scheme>***@", pending))
        return delivered
