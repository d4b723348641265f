"""Subscription messages carrying a large text (a log chunk) are encoded once per text
and spliced in: what a client receives is exactly what plain JSON encoding gives,
whatever the client named its operation or fields."""

from __future__ import annotations

import json
from typing import Any

from api.graphql.router import graphql_router


def plain(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


def next_message(id: str, text: str, field: str = "logAppended") -> dict[str, Any]:
    chunk = {"offset": 7, "text": text, "nextOffset": 7 + len(text), "complete": False}
    return {"id": id, "type": "next", "payload": {"data": {field: chunk}}}


def test_a_shared_text_encodes_as_plain_json_for_every_subscriber() -> None:
    router = graphql_router()
    text = "".join(f'{i} "quoted" \\ tab\t ünï €\n' for i in range(2000))
    for id in ("1", "2", '"abc"', "x" * 40):
        message = next_message(id, text)
        assert router.encode_json(message) == plain(message)
        assert json.loads(router.encode_json(message)) == message


def test_aliases_both_protocols_small_texts_and_other_messages_are_unchanged() -> None:
    router = graphql_router()
    big = "y" * 100_000
    legacy = {**next_message("9", big, field="tail"), "type": "data"}
    aliased = next_message("3", big, field="mine")
    aliased["payload"]["data"]["mine"]["alsoText"] = big
    for message in (
        legacy,
        aliased,
        next_message("4", "short"),
        {"type": "connection_ack"},
        {"data": {"log": {"text": big}}},  # an HTTP response
        {"id": "5", "type": "next", "payload": {"data": None, "errors": [{"message": "x"}]}},
    ):
        assert router.encode_json(message) == plain(message)


def test_one_answer_sent_to_many_subscribers_encodes_as_plain_json_for_each() -> None:
    """Subscribers of one feed are handed the same executed answer (the same dict): it
    is encoded once and each message, whatever its operation id, is what plain JSON
    encoding gives."""
    router = graphql_router()
    answer = {"runUpdated": {"id": "r1", "state": "SUCCESS", "jobs": [{"state": "SUCCESS"}]}}
    for id in ("1", "2", '"x"', "ü"):
        for kind in ("next", "data"):
            message = {"id": id, "type": kind, "payload": {"data": answer}}
            assert router.encode_json(message) == plain(message)
