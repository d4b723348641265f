"""The REST verbs on objects: get, list, create, update, patch, delete, deletecollection."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from . import objects, podspec
from .cluster import Cluster
from .faults import RequestInfo
from .meta import clone
from .patch import APPLY_PATCH, apply_patch
from .selectors import Selector
from .server import Request
from .status import ApiError, bad_request, expired, method_not_allowed, success

JsonDict = dict[str, Any]


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[dict[str, str], bytes]:
        if isinstance(self.body, bytes):
            return {"Content-Type": "text/plain", **self.headers}, self.body
        data = (json.dumps(self.body, separators=(",", ":")) + "\n").encode("utf-8")
        return {"Content-Type": "application/json", **self.headers}, data


def parse_body(request: Request, resource: str) -> Any:
    kind = objects.KINDS.get(resource, "Object")
    try:
        return json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: {exc}') from None


def list_item(obj: JsonDict) -> JsonDict:
    item: JsonDict = clone(obj)
    item.pop("kind", None)
    item.pop("apiVersion", None)
    return item


class RestApi:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store

    def handle(self, info: RequestInfo, request: Request) -> Response:
        if info.subresource == "status" and info.verb == "get":
            return Response(200, clone(self.cluster.get(info.resource, info.namespace, info.name)))
        if info.subresource:
            raise method_not_allowed(request.method)
        handler = {
            "get": self._get,
            "list": self._list,
            "create": self._create,
            "update": self._update,
            "patch": self._patch,
            "delete": self._delete,
            "deletecollection": self._delete_collection,
        }.get(info.verb)
        if handler is None:
            raise method_not_allowed(request.method)
        return handler(info, request)

    def _get(self, info: RequestInfo, request: Request) -> Response:
        return Response(200, clone(self.cluster.get(info.resource, info.namespace, info.name)))

    def _list(self, info: RequestInfo, request: Request) -> Response:
        if info.namespace and info.resource != "namespaces":
            self.cluster.require_namespace(info.namespace)
        selector = Selector.parse(
            info.resource, request.param("labelSelector"), request.param("fieldSelector")
        )
        items = [
            o for o in self.store.list(info.resource, info.namespace or None) if selector.matches(o)
        ]
        meta: JsonDict = {"resourceVersion": str(self.store.rv)}
        items = self._paginate(items, request, meta)
        kind = objects.KINDS[info.resource] + "List"
        return Response(
            200,
            {
                "kind": kind,
                "apiVersion": "v1",
                "metadata": meta,
                "items": [list_item(o) for o in items],
            },
        )

    def _paginate(self, items: list[JsonDict], request: Request, meta: JsonDict) -> list[JsonDict]:
        token, limit = request.param("continue"), request.int_param("limit")
        if token:
            try:
                state = json.loads(base64.b64decode(token))
                start_rv, start_key = int(state["rv"]), tuple(state["start"])
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid") from None
            if start_rv < self.store.compacted:
                raise ApiError(
                    dict(
                        expired(str(start_rv), self.store.compacted),
                        message=(
                            "The provided continue parameter is too old to display a consistent list "
                            "result. You can start a new list without the continue parameter."
                        ),
                    )
                )
            items = [o for o in items if self._key(o) > start_key]
        if limit and len(items) > limit:
            last = self._key(items[limit - 1])
            state = {"rv": self.store.rv, "start": list(last)}
            meta["continue"] = base64.b64encode(json.dumps(state).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return items

    @staticmethod
    def _key(obj: JsonDict) -> tuple[str, str]:
        return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

    def _create(self, info: RequestInfo, request: Request) -> Response:
        if info.resource == "events":
            raise method_not_allowed(request.method)
        body = parse_body(request, info.resource)
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be an object")
        request.extra["body"] = clone(body)
        if request.param("dryRun") == "All":
            return Response(201, self._dry_run(info, body))
        return Response(201, clone(self.cluster.create(info.resource, info.namespace, body)))

    def _dry_run(self, info: RequestInfo, body: JsonDict) -> JsonDict:
        if info.resource == "pods":
            return podspec.new_pod(body, info.namespace)
        if info.resource == "secrets":
            return objects.new_secret(body, info.namespace)
        return objects.new_namespace(body)

    def _update(self, info: RequestInfo, request: Request) -> Response:
        old = self.cluster.get(info.resource, info.namespace, info.name)
        body = parse_body(request, info.resource)
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be an object")
        objects.check_name(body, info.name)
        body.setdefault("metadata", {})["name"] = info.name
        return Response(200, clone(self.cluster.update(info.resource, old, body)))

    def _patch(self, info: RequestInfo, request: Request) -> Response:
        old = self.cluster.get(info.resource, info.namespace, info.name)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(APPLY_PATCH):
            raise ApiError(
                {
                    **bad_request("server-side apply is not supported by the double").status,
                    "code": 415,
                    "reason": "UnsupportedMediaType",
                }
            )
        patch = parse_body(request, info.resource)
        request.extra["body"] = clone(patch)
        patched = apply_patch(content_type, old, patch)
        objects.check_name(patched, info.name)
        return Response(200, clone(self.cluster.update(info.resource, old, patched)))

    def _delete_options(self, request: Request) -> JsonDict:
        options: JsonDict = {}
        grace = request.int_param("gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        if request.param("propagationPolicy"):
            options["propagationPolicy"] = request.param("propagationPolicy")
        if request.param("orphanDependents") == "true":
            options["propagationPolicy"] = "Orphan"
        if request.body.strip():
            body = parse_body(request, "DeleteOptions")
            if isinstance(body, dict):
                options.update({k: v for k, v in body.items() if v is not None})
        return options

    def _delete(self, info: RequestInfo, request: Request) -> Response:
        options = self._delete_options(request)
        result = clone(self.cluster.delete(info.resource, info.namespace, info.name, options))
        if info.resource in ("pods", "namespaces"):
            return Response(200, result)
        meta = result["metadata"]
        if meta.get("deletionTimestamp") and meta.get("finalizers"):
            return Response(200, result)
        return Response(
            200, success({"name": meta["name"], "kind": info.resource, "uid": meta["uid"]})
        )

    def _delete_collection(self, info: RequestInfo, request: Request) -> Response:
        options = self._delete_options(request)
        selector = Selector.parse(
            info.resource, request.param("labelSelector"), request.param("fieldSelector")
        )
        deleted = []
        for obj in list(self.store.list(info.resource, info.namespace or None)):
            if selector.matches(obj):
                meta = obj["metadata"]
                deleted.append(
                    list_item(
                        self.cluster.delete(
                            info.resource, meta.get("namespace", ""), meta["name"], options
                        )
                    )
                )
        kind = objects.KINDS[info.resource] + "List"
        return Response(
            200,
            {
                "kind": kind,
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": deleted,
            },
        )
