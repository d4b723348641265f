"""Subscriptions over a real WebSocket: live logs in batches with byte offsets, resume
without gap or duplicate, jobs and runs as they change, both WebSocket protocols."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import pytest

from domain.cause import Cause
from domain.ids import JobId
from tests.integration.execution.conftest import Embedded
from tests.integration.graphql.conftest import collect, connected, subscribe
from tests.support import auth_headers, wait_until

SLOW = """
from danube import pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("for i in $(seq 1 40); do echo line $i; sleep 0.02; done", name="count")
    step.run("echo last", name="last")
"""
NOOP = "from danube import pipeline\n@pipeline(name='demo')\ndef build() -> None:\n    pass\n"
LOG = """subscription L($id: ID!, $from: Int!) {
  logAppended(jobId: $id, fromOffset: $from) { offset text nextOffset complete } }"""


def requested(embedded: Embedded, danubefile: str = "") -> Any:
    """A new run's job, once the read model has it (subscriptions are to known jobs)."""
    _, job_id = embedded.request(danubefile or SLOW)
    wait_until(lambda: embedded.danube.views.job(job_id), what="the job's row")
    return job_id


def wakers(progress: Any) -> set[Any]:
    """The wakers listening to a read model now (copied while other threads add some)."""
    while True:
        try:
            return set(progress._events)
        except RuntimeError:  # changed size while copied
            continue


def whole(chunks: list[dict[str, Any]], start: int = 0) -> str:
    offset = start
    for chunk in chunks:
        assert chunk["offset"] == offset, "no gap, no overlap"
        offset = chunk["nextOffset"]
    return "".join(chunk["text"] for chunk in chunks)


def test_a_live_log_arrives_whole_in_batches_and_completes(embedded: Embedded, url: str) -> None:
    job_id = requested(embedded)
    payloads = asyncio.run(collect(url, LOG, id=job_id.hex, **{"from": 0}))
    assert all(p.get("data") for p in payloads), payloads
    chunks = [p["data"]["logAppended"] for p in payloads]
    text = whole(chunks)
    assert all(f"line {i}\n" in text for i in range(1, 41)) and "last\n" in text
    assert chunks[-1]["complete"] is True
    assert len(chunks) < 60, "batches, not a message per line"
    stored = embedded.log(job_id).decode()
    assert text == stored


def test_a_resumed_log_subscription_continues_with_no_gap_or_duplicate(
    embedded: Embedded, url: str
) -> None:
    job_id = requested(embedded)

    async def first_chunks() -> list[dict[str, Any]]:
        got = []
        async for payload in subscribe(url, LOG, id=job_id.hex, **{"from": 0}):
            got.append(payload["data"]["logAppended"])
            if "line 3\n" in whole(got):
                break  # the client disconnects
        return got

    before = asyncio.run(first_chunks())
    resume = before[-1]["nextOffset"]
    after = [
        p["data"]["logAppended"]
        for p in asyncio.run(collect(url, LOG, id=job_id.hex, **{"from": resume}))
    ]
    embedded.finished(job_id)
    assert whole(before) + whole(after, resume) == embedded.log(job_id).decode()


def test_a_finished_jobs_log_is_replayed_then_completes(embedded: Embedded, url: str) -> None:
    job_id = requested(embedded)
    embedded.finished(job_id)
    chunks = [
        p["data"]["logAppended"]
        for p in asyncio.run(collect(url, LOG, id=job_id.hex, **{"from": 0}))
    ]
    assert whole(chunks) == embedded.log(job_id).decode()
    assert chunks[-1]["complete"] is True


def test_job_updated_follows_the_job_to_its_end(embedded: Embedded, url: str) -> None:
    job_id = requested(embedded)
    query = """subscription J($id: ID!) { jobUpdated(jobId: $id) {
      state status { terminal } steps { number state } } }"""
    updates = [p["data"]["jobUpdated"] for p in asyncio.run(collect(url, query, id=job_id.hex))]
    states = [u["state"] for u in updates]
    assert states[-1] == "SUCCESS" and updates[-1]["status"]["terminal"] is True
    assert "RUNNING" in states
    assert updates[-1]["steps"] == [
        {"number": 1, "state": "SUCCESS"},
        {"number": 2, "state": "SUCCESS"},
    ]


def test_run_updated_reports_new_runs_of_a_pipeline_until_they_end(
    embedded: Embedded, url: str
) -> None:
    query = 'subscription { runUpdated(pipeline: "watched") { id state version jobs { state } } }'

    progress = embedded.danube.store.views.progress("runs")
    before = wakers(progress)  # wakers subscribed to the runs read model

    async def watch() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        stream = subscribe(url, query)
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.to_thread(  # the subscription is listening before the run is requested
            wait_until, lambda: wakers(progress) - before, 30, "the subscription"
        )
        run_id, _ = await asyncio.to_thread(embedded.request, NOOP, pipeline="watched")
        seen.append((await asyncio.wait_for(first, 60))["data"]["runUpdated"])
        while seen[-1]["state"] not in {"SUCCESS", "FAILURE"}:
            seen.append((await asyncio.wait_for(stream.__anext__(), 60))["data"]["runUpdated"])
        await stream.aclose()
        assert {update["id"] for update in seen} == {run_id.hex}
        return seen

    updates = asyncio.run(watch())
    versions = [u["version"] for u in updates]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert updates[-1]["state"] == "SUCCESS"
    # Each message's nested jobs are read for that message, not kept from the first one.
    assert updates[-1]["jobs"] == [{"state": "SUCCESS"}], updates


def test_the_legacy_graphql_ws_protocol_works_too(embedded: Embedded, url: str) -> None:
    job_id = requested(embedded)
    embedded.finished(job_id)

    async def legacy() -> list[dict[str, Any]]:
        return [
            p
            async for p in subscribe(url, LOG, protocol="graphql-ws", id=job_id.hex, **{"from": 0})
        ]

    chunks = [p["data"]["logAppended"] for p in asyncio.run(legacy())]
    assert whole(chunks) == embedded.log(job_id).decode()


def test_a_websocket_from_another_sites_page_is_refused(embedded: Embedded, url: str) -> None:
    import websockets

    async def connect(origin: str) -> bool:
        ws_url = url.replace("http://", "ws://") + "/graphql"
        headers = {"Origin": origin}
        try:
            async with websockets.connect(
                ws_url, subprotocols=["graphql-transport-ws"], additional_headers=headers
            ) as socket:  # type: ignore[list-item]
                await socket.send('{"type": "connection_init"}')
                await asyncio.wait_for(socket.recv(), 10)
                return True
        except (websockets.InvalidStatus, websockets.ConnectionClosed):
            return False

    assert asyncio.run(connect("https://evil.example")) is False
    assert asyncio.run(connect(url)) is True  # the server's own origin (as addressed)


def test_run_updated_misses_none_of_many_runs_requested_at_once(
    embedded: Embedded, url: str
) -> None:
    embedded.danube.system.start_draining(Cause(actor="user:test"))  # they stay queued
    query = 'subscription { runUpdated(pipeline: "crowd") { id state } }'
    progress = embedded.danube.store.views.progress("runs")
    before = wakers(progress)

    async def watch() -> set[str]:
        seen: set[str] = set()
        stream = subscribe(url, query)
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.to_thread(
            wait_until, lambda: wakers(progress) - before, 30, "the subscription"
        )
        requested = await asyncio.to_thread(
            lambda: {embedded.request(NOOP, pipeline="crowd")[0].hex for _ in range(80)}
        )
        seen.add((await asyncio.wait_for(first, 60))["data"]["runUpdated"]["id"])
        while seen != requested:
            seen.add((await asyncio.wait_for(stream.__anext__(), 60))["data"]["runUpdated"]["id"])
        await stream.aclose()
        return seen

    assert len(asyncio.run(watch())) == 80


BIG = """
from danube import pipeline, step

@pipeline(name="demo")
def build() -> None:
    step.run("python3 -c \\"import sys; [sys.stdout.write('x' * 99 + '\\\\\\\\n') for _ in range(300000)]\\"")
"""


def test_a_subscriber_that_stops_reading_holds_the_server_back_not_its_memory(
    embedded: Embedded, url: str
) -> None:
    """30 MB of log, a client that takes one batch and then reads nothing for a while:
    the server reads the next batch only when the last was sent, so it stalls within
    what the socket buffers hold (it does not read the whole log into a queue); once the
    client reads again, everything arrives. (The client offers permessage-deflate, as
    browsers do: were it accepted, these 30 MB would fit in the socket buffers as a few
    KB and the server would read on.)"""
    job_id = requested(embedded, BIG)
    assert embedded.finished(job_id, timeout=120).state == "success"
    size = len(embedded.log(job_id))
    logs = embedded.danube.logs  # what the server's queries read the log from
    reads: list[int] = []
    original = logs.read_bytes

    def counting(job: str, offset: int, limit: int) -> bytes:
        reads.append(offset)
        return original(job, offset, limit)

    logs.read_bytes = counting  # type: ignore[method-assign]  # counts, reads as before
    ws_url = url.replace("http://", "ws://") + "/graphql"

    async def slow_client() -> tuple[int, int, int]:
        import json

        import websockets

        async with websockets.connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            max_size=None,
            max_queue=1,
            additional_headers=auth_headers(url),
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init"}))
            await socket.recv()
            payload = {"query": LOG, "variables": {"id": job_id.hex, "from": 0}}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            await socket.recv()  # one batch, then nothing for a while
            await asyncio.sleep(3)
            stalled = len(reads)
            received = 0
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if message["type"] != "next":
                    break
                chunk = message["payload"]["data"]["logAppended"]
                received = chunk["nextOffset"]
            return stalled, len(reads), received

    stalled, total, received = asyncio.run(slow_client())
    assert received == size, "everything arrived once the client read again"
    assert total >= 100, "the log is read in many batches"
    assert stalled < total / 2, f"the server stalled with the client ({stalled} of {total} reads)"


def test_open_subscriptions_are_counted_by_kind_in_the_metrics(
    embedded: Embedded, url: str
) -> None:
    """danube_subscriptions_active{kind} follows subscriptions as they open and close."""
    from tests.integration.observability.conftest import scrape, value

    job_id = requested(embedded)
    job = "subscription J($id: ID!) { jobUpdated(jobId: $id) { state } }"

    def active(kind: str) -> float:
        return value(scrape(url), "danube_subscriptions_active", kind=kind)

    before = {kind: active(kind) for kind in ("log", "job", "runs")}

    async def watch() -> dict[str, float]:
        log_stream = subscribe(url, LOG, id=job_id.hex, **{"from": 0})
        job_stream = subscribe(url, job, id=job_id.hex)
        await log_stream.__anext__()
        await job_stream.__anext__()
        during = {kind: await asyncio.to_thread(active, kind) for kind in ("log", "job", "runs")}
        await log_stream.aclose()  # the clients go away before the job ends
        await job_stream.aclose()
        return during

    assert asyncio.run(watch()) == {
        "log": before["log"] + 1,
        "job": before["job"] + 1,
        "runs": before["runs"],
    }
    wait_until(
        lambda: {kind: active(kind) for kind in ("log", "job", "runs")} == before,
        what="the closed subscriptions to be counted out",
    )


def test_a_stalled_follower_of_a_live_log_holds_back_no_one_and_still_gets_every_byte(
    embedded: Embedded, url: str
) -> None:
    """Two clients follow a job printing 30 MB: one stops reading after its first batch.
    The other receives the whole log as it is printed; the stalled one, once it reads
    again, receives the whole log too, with no gap and no duplicate (it fell behind the
    job's shared tail and read the rest for itself)."""
    import json

    import websockets

    job_id = requested(embedded, BIG)
    ws_url = url.replace("http://", "ws://") + "/graphql"
    variables = {"id": job_id.hex, "from": 0}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with websockets.connect(
            ws_url,
            subprotocols=["graphql-transport-ws"],
            max_size=None,
            max_queue=1,
            ping_interval=None,
            additional_headers=auth_headers(url),
        ) as socket:  # type: ignore[list-item]
            await socket.send(json.dumps({"type": "connection_init"}))
            await socket.recv()
            payload = {"query": LOG, "variables": variables}
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            stalled = [json.loads(await socket.recv())["payload"]["data"]["logAppended"]]
            fast = [
                p["data"]["logAppended"]
                for p in await asyncio.wait_for(collect(url, LOG, **variables), 120)
            ]
            while not stalled[-1]["complete"]:
                message = json.loads(await asyncio.wait_for(socket.recv(), 60))
                stalled.append(message["payload"]["data"]["logAppended"])
            return fast, stalled

    fast, stalled = asyncio.run(scenario())
    stored = embedded.log(job_id).decode()
    assert len(stored) > 30_000_000
    assert whole(fast) == stored and fast[-1]["complete"] is True
    assert whole(stalled) == stored


def test_a_run_subscriber_too_far_behind_is_told_to_subscribe_again(embedded: Embedded) -> None:
    """Through the application layer (as GraphQL and any transport): a subscriber that
    takes nothing while more runs change than its queue holds gets what was queued,
    then a refusal saying to subscribe again; the server kept no more for it."""
    from api.app.errors import UnavailableError
    from api.app.live import Live
    from api.app.principal import OPERATOR
    from api.app.queries import RunFilter
    from api.app.wiring import application

    embedded.danube.system.start_draining(Cause(actor="user:test"))  # they stay queued
    danube = embedded.danube
    live = Live(
        application(danube).queries,
        lambda: danube.store.views.progress("runs"),
        lambda job_id: danube.logs.progress(JobId(UUID(job_id))),
        run_queue=3,
    )
    progress = embedded.danube.store.views.progress("runs")
    # A waker of its own (a count could miss it while an earlier test's waker leaves).
    before = wakers(progress)

    async def behind() -> tuple[int, str]:
        stream = live.runs(lambda _fresh: OPERATOR, RunFilter(pipeline="behind"))
        first = asyncio.ensure_future(stream.__anext__())

        def listening() -> bool:
            if first.done():
                first.result()  # refused: say why
            return bool(wakers(progress) - before)

        await asyncio.to_thread(wait_until, listening, 30, "the subscription")
        for _ in range(8):
            await asyncio.to_thread(embedded.request, NOOP, pipeline="behind")
        feed = live._feeds[RunFilter(pipeline="behind")]
        await asyncio.to_thread(  # it fell behind: the fan-out holds nothing more for it
            wait_until, lambda: feed.fanout.subscribers == 0, 30, "the subscriber dropped"
        )
        taken = [await first]
        try:
            while True:
                taken.append(await stream.__anext__())
        except UnavailableError as refused:
            return len(taken), refused.message

    taken, message = asyncio.run(behind())
    assert 3 <= taken <= 4  # its queue of 3 (and the one it was already waiting for)
    assert "subscribe again" in message


def test_runs_changed_sends_only_changes_of_runs_matching_its_filter(
    embedded: Embedded, url: str
) -> None:
    """The runs query's filter, live: a finished run of another pipeline, then a run of
    the watched one. Only the watched run's changes arrive, and only while it matches
    (state SUCCESS: its last changes, none while it was pending or running)."""
    query = """subscription R($f: RunsFilter) {
      runsChanged(filter: $f) { id pipeline state version } }"""
    progress = embedded.danube.store.views.progress("runs")
    before = wakers(progress)

    async def watch() -> tuple[list[dict[str, Any]], str]:
        stream = subscribe(url, query, f={"pipeline": "sieve", "state": "SUCCESS"})
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.to_thread(
            wait_until, lambda: wakers(progress) - before, 30, "the subscription"
        )
        _, chaff = await asyncio.to_thread(embedded.request, NOOP, pipeline="chaff")
        await asyncio.to_thread(embedded.finished, chaff)
        run_id, job_id = await asyncio.to_thread(embedded.request, NOOP, pipeline="sieve")
        await asyncio.to_thread(embedded.finished, job_id)
        seen = [(await asyncio.wait_for(first, 60))["data"]["runsChanged"]]
        final = await asyncio.to_thread(lambda: embedded.danube.runs.get(run_id).version)
        while seen[-1]["version"] < final:
            seen.append((await asyncio.wait_for(stream.__anext__(), 60))["data"]["runsChanged"])
        await stream.aclose()
        return seen, run_id.hex

    seen, run_id = asyncio.run(watch())
    assert {(u["id"], u["pipeline"], u["state"]) for u in seen} == {(run_id, "sieve", "SUCCESS")}


def test_runs_changed_tells_of_the_change_that_takes_a_run_out_of_its_filter(
    embedded: Embedded, url: str
) -> None:
    """A list of running runs stays right: the run's changes while RUNNING arrive, then
    the one that ends it (state SUCCESS), which a list of running runs removes it on."""
    query = """subscription R($f: RunsFilter) {
      runsChanged(filter: $f) { id state version } }"""
    progress = embedded.danube.store.views.progress("runs")
    before = wakers(progress)

    async def watch() -> tuple[list[dict[str, Any]], str]:
        stream = subscribe(url, query, f={"pipeline": "leaving", "state": "RUNNING"})
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.to_thread(
            wait_until, lambda: wakers(progress) - before, 30, "the subscription"
        )
        run_id, job_id = await asyncio.to_thread(embedded.request, SLOW, pipeline="leaving")
        await asyncio.to_thread(embedded.finished, job_id)
        seen = [(await asyncio.wait_for(first, 60))["data"]["runsChanged"]]
        while seen[-1]["state"] == "RUNNING":
            seen.append((await asyncio.wait_for(stream.__anext__(), 60))["data"]["runsChanged"])
        await stream.aclose()
        return seen, run_id.hex

    seen, run_id = asyncio.run(watch())
    assert {u["id"] for u in seen} == {run_id}
    assert [u["state"] for u in seen][-1] == "SUCCESS"
    assert {u["state"] for u in seen[:-1]} == {"RUNNING"}


def test_a_provenance_recorded_after_the_job_ended_reaches_run_subscribers(
    embedded: Embedded, url: str
) -> None:
    """An open Run page follows runUpdated: an artifact recorded once the run has ended
    (the control plane's provenance) arrives as an update of its own, with the run's
    version equal to its number of events, without waiting for another change."""
    from domain.runs.entities import Artifact

    query = """subscription { runUpdated(pipeline: "proven") {
      id state version jobs { artifacts { name } } } }"""
    progress = embedded.danube.store.views.progress("runs")
    before = wakers(progress)

    async def watch() -> tuple[dict[str, Any], int]:
        stream = subscribe(url, query)
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.to_thread(
            wait_until, lambda: wakers(progress) - before, 30, "the subscription"
        )
        run_id, job_id = await asyncio.to_thread(embedded.request, NOOP, pipeline="proven")
        seen = (await asyncio.wait_for(first, 60))["data"]["runUpdated"]
        while seen["state"] != "SUCCESS":
            seen = (await asyncio.wait_for(stream.__anext__(), 60))["data"]["runUpdated"]
        provenance = Artifact("provenance.json", "file", 2, "0" * 64)
        await asyncio.to_thread(embedded.danube.runs.record_provenance, run_id, job_id, provenance)
        while not seen["jobs"][0]["artifacts"]:
            seen = (await asyncio.wait_for(stream.__anext__(), 60))["data"]["runUpdated"]
        await stream.aclose()
        events = await asyncio.to_thread(lambda: embedded.danube.runs.get(run_id).version)
        return seen, events

    update, events = asyncio.run(watch())
    assert update["jobs"][0]["artifacts"] == [{"name": "provenance.json"}]
    assert update["version"] == events


def test_subscribers_of_the_same_run_feed_share_one_execution_of_each_message(
    embedded: Embedded, url: str
) -> None:
    """Three clients follow runUpdated of one pipeline with the same document: each
    receives every change as before (the same answers), and each change's nested jobs
    are read once for all of them, not once per subscriber."""
    query = """subscription { runUpdated(pipeline: "shared") { id state version
      jobs { state } } }"""
    views = embedded.danube.views  # what the server's DataLoaders read jobs from
    reads: list[int] = []
    original = views.jobs_by_id

    def counting(job_ids: Any) -> Any:
        reads.append(len(job_ids))
        return original(job_ids)

    views.jobs_by_id = counting  # type: ignore[method-assign]  # counts, reads as before
    from tests.integration.observability.conftest import scrape, value

    def following() -> float:
        return value(scrape(url), "danube_subscriptions_active", kind="runs")

    before = following()

    async def follow(stream: Any, first: Any) -> list[dict[str, Any]]:
        seen = [(await asyncio.wait_for(first, 60))["data"]["runUpdated"]]
        while seen[-1]["state"] != "SUCCESS":
            seen.append((await asyncio.wait_for(stream.__anext__(), 60))["data"]["runUpdated"])
        await stream.aclose()
        return seen

    async def watch() -> list[list[dict[str, Any]]]:
        streams = [subscribe(url, query) for _ in range(3)]
        firsts = [asyncio.ensure_future(stream.__anext__()) for stream in streams]
        await asyncio.to_thread(  # all three follow the run feed
            wait_until, lambda: following() == before + 3, 30, "the subscriptions"
        )
        await asyncio.to_thread(embedded.request, NOOP, pipeline="shared")
        return list(
            await asyncio.gather(*(follow(s, f) for s, f in zip(streams, firsts, strict=True)))
        )

    seen = asyncio.run(watch())
    assert all(updates[-1]["jobs"] == [{"state": "SUCCESS"}] for updates in seen), seen
    answers = {json.dumps(u, sort_keys=True) for updates in seen for u in updates}
    assert len(reads) <= len(answers), f"{len(reads)} reads for {len(answers)} distinct answers"


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_subscriptions_sharing_one_websocket_each_get_their_own_messages(
    embedded: Embedded, url: str, protocol: str
) -> None:
    """Two subscriptions on one WebSocket follow the same live log from different
    offsets: every message names its own subscription, and each gets the log from its
    offset in order with no gap or duplicate, then completes (messages after a
    subscription's first are sent straight from its resolver: each its own frames)."""
    job_id = requested(embedded)
    starts = {"a": 0, "b": 5}

    async def follow() -> dict[str, list[dict[str, Any]]]:
        async with connected(url, protocol) as socket:
            start = "subscribe" if protocol == "graphql-transport-ws" else "start"
            for id, offset in starts.items():
                payload = {"query": LOG, "variables": {"id": job_id.hex, "from": offset}}
                await socket.send(json.dumps({"id": id, "type": start, "payload": payload}))
            chunks: dict[str, list[dict[str, Any]]] = {id: [] for id in starts}
            done: set[str] = set()
            while done != set(starts):
                message = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if message["type"] == "ka":
                    continue
                assert message["id"] in starts and message["id"] not in done, message
                if message["type"] == "complete":
                    done.add(message["id"])
                    continue
                assert message["type"] in {"next", "data"}, message
                assert message["payload"].keys() == {"data"}, message
                chunks[message["id"]].append(message["payload"]["data"]["logAppended"])
            return chunks

    chunks = asyncio.run(follow())
    stored = embedded.log(job_id).decode()
    assert len(chunks["a"]) > 2, "the log arrived in several messages while it grew"
    for id, offset in starts.items():
        assert whole(chunks[id], offset) == stored[offset:]
        assert chunks[id][-1]["complete"] is True
