"""The Python ``gql`` client (websockets transport, graphql-transport-ws) follows a
job and its log, as a script would."""

from __future__ import annotations

import asyncio
from typing import Any

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.test_subscriptions import SLOW, requested, whole
from tests.support import auth_headers


def test_a_gql_script_follows_a_job_and_its_log(embedded: Embedded, url: str) -> None:
    job_id = requested(embedded, SLOW)
    ws_url = url.replace("http://", "ws://") + "/graphql"

    async def follow() -> tuple[list[dict[str, Any]], list[str]]:
        transport = WebsocketsTransport(
            url=ws_url,
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            headers=auth_headers(url),
        )
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            log = gql(
                "subscription L($id: ID!) { logAppended(jobId: $id) { offset text nextOffset complete } }"
            )
            chunks = [
                c["logAppended"]
                async for c in session.subscribe(log, variable_values={"id": job_id.hex})
            ]
            job = gql("subscription J($id: ID!) { jobUpdated(jobId: $id) { state } }")
            states = [
                u["jobUpdated"]["state"]
                async for u in session.subscribe(job, variable_values={"id": job_id.hex})
            ]
        return chunks, states

    chunks, states = asyncio.run(follow())
    assert whole(chunks) == embedded.log(job_id).decode()
    assert states == ["SUCCESS"], "a finished job is reported once, then the subscription ends"
