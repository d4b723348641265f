"""metav1.Status bodies exactly as kube-apiserver writes them, and the error carrying one."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]


class ApiError(Exception):
    """Raised by handlers; the router answers with `status` as the body."""

    def __init__(self, status: JsonDict, headers: dict[str, str] | None = None) -> None:
        super().__init__(status.get("message", ""))
        self.status = status
        self.headers = headers or {}

    @property
    def code(self) -> int:
        return int(self.status["code"])


def failure(code: int, reason: str, message: str, details: JsonDict | None = None) -> JsonDict:
    body: JsonDict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def success(details: JsonDict | None = None) -> JsonDict:
    body: JsonDict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details is not None:
        body["details"] = details
    return body


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(
        failure(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})
    )


def no_route() -> ApiError:
    message = "the server could not find the requested resource"
    return ApiError(failure(404, "NotFound", message, {}))


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(
        failure(
            409,
            "AlreadyExists",
            f'{resource} "{name}" already exists',
            {"name": name, "kind": resource},
        )
    )


def conflict(resource: str, name: str) -> ApiError:
    return ApiError(
        failure(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again",
            {"name": name, "kind": resource},
        )
    )


def invalid(kind: str, name: str, causes: list[JsonDict]) -> ApiError:
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(
        failure(
            422,
            "Invalid",
            f'{kind} "{name}" is invalid: {joined}',
            {"name": name, "kind": kind, "causes": causes},
        )
    )


def bad_request(message: str) -> ApiError:
    return ApiError(failure(400, "BadRequest", message))


def forbidden_terminating(resource: str, name: str, namespace: str) -> ApiError:
    return ApiError(
        failure(
            403,
            "Forbidden",
            f'{resource} "{name}" is forbidden: unable to create new content in namespace '
            f"{namespace} because it is being terminated",
            {
                "name": name,
                "kind": resource,
                "causes": [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            },
        )
    )


def unauthorized() -> ApiError:
    return ApiError(failure(401, "Unauthorized", "Unauthorized"))


def internal_error(message: str) -> ApiError:
    return ApiError(
        failure(
            500,
            "InternalError",
            f"Internal error occurred: {message}",
            {"causes": [{"message": message}]},
        )
    )


def expired(requested: str, oldest: int) -> JsonDict:
    return failure(410, "Expired", f"too old resource version: {requested} ({oldest})")


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        failure(
            405,
            "MethodNotAllowed",
            f"the server does not allow this method on the requested resource ({method})",
            {},
        )
    )


def for_code(
    code: int,
    resource: str,
    name: str,
    verb: str,
    retry_after: int | None = None,
    message: str | None = None,
) -> ApiError:
    """The Status the API server would send for an injected error `code`."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if code == 401:
        return unauthorized()
    if code == 404:
        return not_found(resource, name or "unknown")
    if code == 409:
        return already_exists(resource, name) if verb == "create" else conflict(resource, name)
    if code == 429:
        details: JsonDict = {} if retry_after is None else {"retryAfterSeconds": retry_after}
        text = message or "Too many requests, please try again later."
        return ApiError(failure(429, "TooManyRequests", text, details), headers)
    if code == 503:
        details = {} if retry_after is None else {"retryAfterSeconds": retry_after}
        text = message or "The server is currently unable to handle the request"
        return ApiError(failure(503, "ServiceUnavailable", text, details), headers)
    if code == 504:
        return ApiError(
            failure(
                504,
                "Timeout",
                message
                or "Timeout: request did not complete "
                "within requested timeout - context deadline exceeded",
            )
        )
    if code == 403:
        return ApiError(
            failure(
                403,
                "Forbidden",
                message or f'{resource} "{name}" is forbidden',
                {"name": name, "kind": resource},
            )
        )
    if code == 500:
        return internal_error(message or "etcdserver: request timed out")
    if code == 400:
        return bad_request(message or "the server rejected our request for an unknown reason")
    if code == 410:
        return ApiError(failure(410, "Expired", message or "too old resource version: 1 (2)"))
    return ApiError(failure(code, "Unknown", message or f"injected error {code}"), headers)
