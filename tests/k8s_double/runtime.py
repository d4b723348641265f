"""The local container runtime: sandboxes, volume directories, mount-path rewriting,
environment, processes (one process group each) and container logs.

Mounts are simulated by rewriting: every occurrence of a container's `mountPath` in its
command, args, env values and workingDir (and in exec commands) is replaced with the
local directory of the volume.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .meta import utcnow
from .sandbox import Sandbox, SecretLookup, field_value

JsonDict = dict[str, Any]


class ConfigError(Exception):
    """The container cannot be configured (CreateContainerConfigError)."""


# logs -----------------------------------------------------------------------------


class LogBuffer:
    """A container's log as (timestamp, line) records, like CRI log files."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self.records: list[tuple[dt.datetime, bytes]] = []
        self.closed = False
        self._event = asyncio.Event()
        self._on_change = on_change
        self._open_line = False

    def append(self, data: bytes) -> None:
        now = utcnow()
        for piece in data.splitlines(keepends=True):
            if self._open_line and self.records:
                stamp, previous = self.records[-1]
                self.records[-1] = (stamp, previous + piece)
            else:
                self.records.append((now, piece))
            self._open_line = not piece.endswith(b"\n")
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def data(self) -> bytes:
        return b"".join(line for _, line in self.records)

    def _wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()
        self._on_change()

    async def wait_beyond(self, count: int, size: int) -> None:
        """Wait until there are more than `count` records, the last one grew, or closed."""
        while (
            not self.closed
            and len(self.records) <= count
            and (not self.records or len(self.records[-1][1]) <= size)
        ):
            await self._event.wait()


_VAR = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes $(VAR) expansion: known variables are replaced, $$ escapes."""

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR.sub(replace, text)


# environment ------------------------------------------------------------------------


def _secret_value(ref: JsonDict, namespace: str, get_secret: SecretLookup) -> str | None:
    secret = get_secret(namespace, ref.get("name", ""))
    if secret is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'secret "{ref.get("name", "")}" not found')
    data = secret.get("data") or {}
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise ConfigError(f"couldn't find key {ref['key']} in Secret {namespace}/{ref['name']}")
    return base64.b64decode(data[ref["key"]]).decode("utf-8", "replace")


def container_env(pod: JsonDict, container: JsonDict, get_secret: SecretLookup) -> dict[str, str]:
    """The container's declared environment, with $(VAR) expansion and valueFrom resolved."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "secretRef" in source:
            ref = source["secretRef"]
            secret = get_secret(namespace, ref.get("name", ""))
            if secret is None:
                if not ref.get("optional"):
                    raise ConfigError(f'secret "{ref.get("name", "")}" not found')
                continue
            for key, value in (secret.get("data") or {}).items():
                env[prefix + key] = base64.b64decode(value).decode("utf-8", "replace")
        elif "configMapRef" in source and not source["configMapRef"].get("optional"):
            raise ConfigError(f'configmap "{source["configMapRef"].get("name", "")}" not found')
    for var in container.get("env") or []:
        value_from = var.get("valueFrom")
        if value_from is None:
            env[var["name"]] = expand(var.get("value", ""), env)
        elif "fieldRef" in value_from:
            env[var["name"]] = field_value(pod, value_from["fieldRef"]["fieldPath"])
        elif "secretKeyRef" in value_from:
            value = _secret_value(value_from["secretKeyRef"], namespace, get_secret)
            if value is not None:
                env[var["name"]] = value
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            if not ref.get("optional"):
                raise ConfigError(f'configmap "{ref.get("name", "")}" not found')
    return env


def process_env(
    pod: JsonDict, container: JsonDict, declared: dict[str, str], sandbox: Sandbox
) -> dict[str, str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(sandbox.container_dir(container["name"])),
        "HOSTNAME": pod["metadata"]["name"],
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    base.update({k: sandbox.rewrite(container, v) for k, v in declared.items()})
    base[MARKER] = container_marker(pod["metadata"].get("uid", ""), container["name"])
    return base


def container_argv(container: JsonDict, env: dict[str, str], sandbox: Sandbox) -> list[str]:
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    return [sandbox.rewrite(container, expand(a, env)) for a in argv]


# processes ------------------------------------------------------------------------


class Process:
    """A container's or an exec's process, started off the event loop (``spawn``): what
    the double uses of ``asyncio.subprocess.Process`` (pid, returncode, the pipes as
    streams, ``wait``)."""

    def __init__(
        self,
        started: Started,
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
    ) -> None:
        self._popen, exited = started
        self.pid = self._popen.pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._exited = asyncio.wrap_future(exited)

    @property
    def returncode(self) -> int | None:
        """None until the process has been reaped (its pid may be reused after)."""
        return self._popen.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


Started = tuple["subprocess.Popen[bytes]", "Future[int]"]


def _start(argv: list[str], **options: Any) -> Started:
    """In a spawner thread: the process, and a thread waiting for its exit."""
    popen = subprocess.Popen(argv, **options)
    exited: Future[int] = Future()

    def reap() -> None:
        exited.set_result(popen.wait())

    threading.Thread(target=reap, name=f"k8s-double-wait-{popen.pid}", daemon=True).start()
    return popen, exited


_SPAWNER = ThreadPoolExecutor(4, thread_name_prefix="k8s-double-spawn")


async def spawn(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    stdin: bool = False,
    merge_stderr: bool = False,
) -> Process:
    """Start a process in its own session, in a thread: forking and waiting for the
    child's exec (slow when the machine is loaded) must not hold up the double's event
    loop, which serves the API meanwhile. Raises OSError as ``subprocess.Popen`` does."""
    started = _SPAWNER.submit(
        _start,
        argv,
        cwd=str(cwd),
        env=env,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        start_new_session=True,
    )
    try:
        popen = (await asyncio.wrap_future(started))[0]
    except asyncio.CancelledError:
        started.add_done_callback(_kill_abandoned)  # started after all: nobody owns it
        raise
    loop = asyncio.get_running_loop()
    try:
        return Process(
            started.result(),
            await _writer(loop, popen.stdin) if popen.stdin else None,
            await _reader(loop, popen.stdout) if popen.stdout else None,
            await _reader(loop, popen.stderr) if popen.stderr else None,
        )
    except BaseException:
        _kill_abandoned(started)
        raise


def _kill_abandoned(started: Future[Started]) -> None:
    if started.cancelled() or started.exception() is not None:
        return
    popen, exited = started.result()
    if not exited.done():  # its waiter reaps it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)


async def _reader(loop: asyncio.AbstractEventLoop, pipe: IO[bytes]) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
    return reader


async def _writer(loop: asyncio.AbstractEventLoop, pipe: IO[bytes]) -> asyncio.StreamWriter:
    transport, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop=loop), pipe
    )
    return asyncio.StreamWriter(transport, protocol, None, loop)


# Every process of a container (and of an exec in it) carries this variable, inherited
# by its descendants: what stands in for the container's cgroup, so processes that left
# their process group or session (setsid, nohup) still die with their container.
MARKER = "K8S_DOUBLE_CONTAINER"


def container_marker(pod_uid: str, container: str) -> str:
    return f"{pod_uid}/{container}"


def kill_marked(pod_uid: str, container: str | None = None) -> None:
    """SIGKILL every process of the pod's containers (or of one container), now."""
    if pod_uid:
        _kill_all([_wanted(pod_uid, container)])


def kill_marked_pods(pod_uids: list[str]) -> None:
    """``kill_marked`` for several whole pods, in one scan."""
    wanted = [_wanted(uid, None) for uid in pod_uids if uid]
    if wanted:
        _kill_all(wanted)


async def reap_marked(pod_uid: str, container: str | None = None) -> None:
    """``kill_marked`` in the reaper's thread: scanning /proc reads the environment of
    every process on the machine, which must not hold up the double's event loop (the
    API it serves); what several containers ask for at once is looked for in one scan."""
    if pod_uid:
        await _REAPER.kill(_wanted(pod_uid, container))


Wanted = tuple[bytes, bool]  # a marker entry, and whether it is a prefix (a whole pod)


def _wanted(pod_uid: str, container: str | None) -> Wanted:
    return f"{MARKER}={container_marker(pod_uid, container or '')}".encode(), container is None


def _kill_all(wanted: list[Wanted]) -> None:
    for _ in range(5):  # again, for what forked while we looked
        found = [pid for pid in _pids() if _environ_matches_any(pid, wanted)]
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if not found:
            return


class _Reaper:
    """One daemon thread (started when first needed) doing the /proc scans that
    coroutines ask for; each asks with a future of its own loop."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._pending: list[tuple[Wanted, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._thread: threading.Thread | None = None

    async def kill(self, wanted: Wanted) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._changed:
            self._pending.append((wanted, loop, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="k8s-double-reaper", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        await done

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._pending:
                    self._changed.wait()
                batch, self._pending = self._pending, []
            try:
                _kill_all([wanted for wanted, _, _ in batch])
            except Exception:  # the thread must outlive a failed scan: others wait on it
                traceback.print_exc()
            finally:
                for _, loop, done in batch:
                    with contextlib.suppress(RuntimeError):  # its loop is closed
                        loop.call_soon_threadsafe(_resolve, done)


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


_REAPER = _Reaper()


def _pids() -> list[int]:
    return [
        int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()
    ]


def _environ_matches(pid: int, wanted: bytes, prefix: bool) -> bool:
    return _environ_matches_any(pid, [(wanted, prefix)])


def _environ_matches_any(pid: int, wanted: list[Wanted]) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as file:
            environ = file.read()
    except OSError:
        return False
    if MARKER.encode() not in environ:
        return False  # most processes on the machine are no container's
    entries = environ.split(b"\0")
    return any(
        e.startswith(marker) if prefix else e == marker
        for marker, prefix in wanted
        for e in entries
    )


def kill_group(
    proc: Process,
    pod_uid: str,
    sig: int = signal.SIGKILL,
    container: str | None = None,
) -> None:
    """Signal the process group ``proc`` leads, if it still is that group: a reaped
    leader's pid, and so its group id, may already belong to a process of someone else
    (pid_max can be 32768, and other test runs share the machine), so the group is
    signalled only while its leader is unreaped and carries the container's marker.
    What a reaped leader left behind is ``kill_marked``'s."""
    if proc.returncode is not None:
        return
    wanted = f"{MARKER}={container_marker(pod_uid, container or '')}".encode()
    if not _environ_matches(proc.pid, wanted, container is None):
        return  # reaped meanwhile (the child watcher runs in a thread), or a zombie
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def exit_status(returncode: int) -> int:
    """Exit code as a container runtime reports it (128 + signal when killed)."""
    return 128 - returncode if returncode < 0 else returncode


async def pump(stream: asyncio.StreamReader | None, sink: Callable[[bytes], Any]) -> None:
    if stream is None:
        return
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await stream.read(65536):
            result = sink(chunk)
            if asyncio.iscoroutine(result):
                await result
