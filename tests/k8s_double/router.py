"""Request handling: classification, the request log, authentication, injected faults,
and dispatch to the REST, watch, log and exec handlers."""

from __future__ import annotations

import secrets
import traceback
from collections.abc import Callable
from typing import Any

from . import websocket as ws
from .execstream import ExecApi
from .faults import FaultState, RequestFault, RequestInfo
from .logs import LogsApi
from .records import RequestRecord
from .rest import Response, RestApi
from .server import Connection, Request
from .status import ApiError, bad_request, for_code, internal_error, no_route, unauthorized
from .watch import WatchHub

JsonDict = dict[str, Any]
NAMESPACED = {"pods", "secrets", "events"}
PUBLIC_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
VERSION = {
    "major": "1",
    "minor": "34",
    "emulationMajor": "1",
    "emulationMinor": "34",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "33",
    "gitVersion": "v1.34.0-k8s-double",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2025-08-27T00:00:00Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def classify(request: Request) -> RequestInfo | None:
    parts = [p for p in request.path.split("/") if p]
    if parts[:2] != ["api", "v1"] or len(parts) < 3:
        return None
    rest = parts[2:]
    info = RequestInfo()
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] in NAMESPACED:
        info.namespace, info.resource = rest[1], rest[2]
        info.name = rest[3] if len(rest) > 3 else ""
        info.subresource = rest[4] if len(rest) > 4 else ""
        if len(rest) > 5:
            return None
    elif rest[0] == "namespaces":
        info.resource = "namespaces"
        info.name = rest[1] if len(rest) > 1 else ""
        info.subresource = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3:
            return None
    elif rest[0] in NAMESPACED and len(rest) == 1:
        info.resource = rest[0]
    else:
        return None
    info.verb = _verb(request, info)
    return info


def _verb(request: Request, info: RequestInfo) -> str:
    method = request.method
    if info.subresource in ("exec", "attach", "portforward"):
        return "create" if method == "POST" else "get"
    if method == "GET":
        if info.name:
            return "get"
        return "watch" if request.flag("watch") else "list"
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if info.name else "deletecollection",
    }.get(method, method.lower())


class Router:
    def __init__(
        self,
        rest: RestApi,
        watches: WatchHub,
        logs: LogsApi,
        execs: ExecApi,
        faults: FaultState,
        token: Callable[[], str | None],
    ) -> None:
        self.rest = rest
        self.watches = watches
        self.logs = logs
        self.execs = execs
        self.faults = faults
        self.token = token
        self.records: list[RequestRecord] = []
        self.errors: list[str] = []  # unexpected exceptions: bugs of the double

    async def handle(self, request: Request, conn: Connection) -> bool:
        info = classify(request)
        record = RequestRecord(
            request.method,
            request.path,
            request.query,
            info.verb if info else request.method.lower(),
            info.resource if info else "",
            info.subresource if info else "",
            info.namespace if info else "",
            info.name if info else "",
            request.headers.get("content-type"),
        )
        self.records.append(record)
        request.extra["record"] = record
        fault = self.faults.take_request_fault(info) if info else None
        if fault is not None and fault.action == "reset":
            record.fault = "reset"
            conn.reset()
            return False
        try:
            self._authenticate(request)
            if fault is not None and fault.action == "error":
                record.fault = f"error {fault.code}"
                raise self._injected(fault, info or RequestInfo())
            if info is None:
                response = self._non_resource(request)
            else:
                streamed = await self._streaming(request, conn, info, record)
                if streamed is not None:
                    return streamed
                response = self.rest.handle(info, request)
        except ApiError as error:
            response = Response(error.code, error.status, error.headers)
        except (ConnectionError, OSError):
            return False
        except Exception as exc:  # a bug in the double: answer 500 and remember it
            self.errors.append(traceback.format_exc())
            bug = internal_error(f"k8s double bug: {exc!r}")
            response = Response(500, bug.status)
            if conn.streaming or conn.closed:
                conn.reset()
                return False
        record.body = request.extra.get("body")
        return await self._respond(conn, response, record, fault)

    def _authenticate(self, request: Request) -> None:
        token = self.token()
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not given and request.path.rstrip("/") in PUBLIC_PATHS:
            return
        if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise unauthorized()

    @staticmethod
    def _injected(fault: RequestFault, info: RequestInfo) -> ApiError:
        return for_code(
            fault.code,
            info.resource or "unknown",
            info.name,
            info.verb,
            fault.retry_after,
            fault.message,
        )

    async def _streaming(
        self, request: Request, conn: Connection, info: RequestInfo, record: RequestRecord
    ) -> bool | None:
        """Watches, logs and exec write their own responses; None for plain requests."""
        if info.verb == "watch":
            record.status = 200
            return await self.watches.serve(conn, request, info)
        if info.subresource == "log" and info.verb == "get":
            record.status = 200
            record.status = await self.logs.serve(conn, request, info)
            return not conn.closed
        if info.subresource == "exec":
            if not ws.is_upgrade(request):
                raise bad_request("Upgrade request required")
            record.status = await self.execs.serve(conn, request, info)
            return False
        return None

    def _non_resource(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method != "GET":
            raise no_route()
        if path == "/version":
            return Response(200, VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok")
        if path == "/api":
            return Response(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
                    ],
                },
            )
        if path == "/api/v1":
            return Response(200, self._resource_list())
        raise no_route()

    @staticmethod
    def _resource_list() -> JsonDict:
        def entry(name: str, kind: str, namespaced: bool, verbs: list[str]) -> JsonDict:
            return {
                "name": name,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": verbs,
            }

        crud = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        return {
            "kind": "APIResourceList",
            "groupVersion": "v1",
            "resources": [
                entry(
                    "namespaces",
                    "Namespace",
                    False,
                    ["create", "delete", "get", "list", "patch", "update", "watch"],
                ),
                entry("pods", "Pod", True, crud),
                {
                    **entry("pods/exec", "PodExecOptions", True, ["create", "get"]),
                    "singularName": "",
                },
                {**entry("pods/log", "Pod", True, ["get"]), "singularName": ""},
                entry("secrets", "Secret", True, crud),
                entry("events", "Event", True, ["get", "list", "watch"]),
            ],
        }

    async def _respond(
        self,
        conn: Connection,
        response: Response,
        record: RequestRecord,
        fault: RequestFault | None,
    ) -> bool:
        headers, body = response.encode()
        headers["Audit-Id"] = secrets.token_hex(16)
        if fault is not None and fault.action == "reset-after":
            record.fault = "reset after processing"
            conn.reset()
            return False
        record.status = response.status
        if not isinstance(response.body, bytes):
            record.response = response.body
        if fault is not None and fault.action == "reset-mid":
            record.fault = "reset mid-response"
            await conn.send_partial(response.status, headers, body)
            conn.reset()
            return False
        await conn.send(response.status, headers, body)
        return True
