"""What the double remembers of each request, for tests to assert on."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class RequestRecord:
    """One request as the double saw it; `status` 0 means no HTTP response was sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    verb: str
    resource: str
    subresource: str
    namespace: str
    name: str
    content_type: str | None = None
    status: int = 0
    fault: str | None = None
    body: Any = field(default=None, repr=False)
    response: Any = field(default=None, repr=False)  # the JSON body sent, if any
    events: list[JsonDict] = field(default_factory=list, repr=False)  # watch events, exec status
    at: float = field(default_factory=time.time, repr=False)  # when it arrived (epoch seconds)
