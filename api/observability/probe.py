"""Readiness as a whole (``api.http.health`` serves it): every check at once, each with
its own time limit (``DANUBE_READINESS_CHECK_TIMEOUT``), the event store and every read
model's lag in time included. Built over the process's core by the composition
(``create_app``); the route receives only the ``readiness`` callable."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from adapters.artifacts.space import free_bytes, free_space_problem
from api.observability.lag import lag_seconds
from api.observability.readiness import NotReadyError, optional_checks

if TYPE_CHECKING:
    from api.bootstrap import Core
    from api.triggers.loops import ConfigSyncLoop

Result = dict[str, Any]


def readiness(danube: Core, config_sync: ConfigSyncLoop | None = None) -> dict[str, Result]:
    timeout = danube.settings.readiness_check_timeout
    checks: dict[str, Callable[[], Result]] = {
        "event_store": lambda: _store(danube),
        "data_dir_free_space": lambda: _free_space(danube),
    }
    for name, check in optional_checks(danube, config_sync).items():
        checks[name] = lambda check=check: _detail(check, timeout)  # type: ignore[misc]
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="readiness")
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        wait(futures.values(), timeout=timeout)
        results = {name: _outcome(future, timeout) for name, future in futures.items()}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung check ends on its own
    store = results.pop("event_store")
    if "event_store" not in store:  # timed out or failed as a whole
        return {"event_store": store, **results}
    return {"event_store": store["event_store"], **store["projections"], **results}


def _outcome(future: Future[Result], timeout: float) -> Result:
    if not future.done():
        return {"ok": False, "error": f"no answer within {timeout:g}s"}
    try:
        return future.result()
    except Exception as error:  # any failure is reported, not raised
        return {"ok": False, "error": str(error) or type(error).__name__}


def _detail(check: Callable[[float], str], timeout: float) -> Result:
    try:
        return {"ok": True, "detail": check(timeout)}
    except NotReadyError as error:
        return {"ok": False, "error": str(error)}


def _store(danube: Core) -> Result:
    """The event store and every read model (one check: they share the database)."""
    projections: dict[str, Result] = {}
    try:
        head = danube.store.feed.max_position()
        store: Result = {"ok": True, "position": head}
    except Exception as error:
        store, head = {"ok": False, "error": str(error)}, None
    max_lag = danube.settings.readiness_max_lag
    for projection in danube.projections:
        name = f"projection:{projection.name}"
        try:
            position = danube.store.views.position(projection.name)
            lag = None if head is None else lag_seconds(danube, position, head)
            ok = lag is not None and lag <= max_lag
            projections[name] = {"ok": ok, "position": position, "lag_seconds": lag}
        except Exception as error:
            projections[name] = {"ok": False, "error": str(error)}
    return {"ok": store["ok"], "event_store": store, "projections": projections}


def _free_space(danube: Core) -> dict[str, Any]:
    """Uploads stop below ``DANUBE_MIN_FREE_DISK_BYTES`` free on the data directory."""
    settings = danube.settings
    try:
        problem = free_space_problem(settings.data_dir, settings.min_free_disk_bytes)
        check: dict[str, Any] = {"ok": problem is None, "free_bytes": free_bytes(settings.data_dir)}
    except OSError as error:
        return {"ok": False, "error": str(error)}
    return check if problem is None else check | {"error": problem}
