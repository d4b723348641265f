"""Commands for scripts that talk to a running server over its API (GraphQL, and the
SSE log stream): ``danube runs``, ``danube logs``, ``danube cancel``, ``danube rerun``.
The server is ``--server`` or ``DANUBE_PUBLIC_URL``. Tables for people, ``--json`` for
scripts; a refusal exits 1 with the API's message, an unreachable server exits 1 too."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from api.commands.credentials import bearer_for
from api.commands.errors import EXIT_FAILED, CommandError
from api.settings import Settings

RUNS = """query Runs($filter: RunsFilter, $first: Int!) {
  runs(filter: $filter, first: $first) { edges { node {
    id pipeline branch commitSha state triggerType actor requestedAt finishedAt } } } }"""
CANCEL = """mutation Cancel($id: ID!) { cancelRun(runId: $id) {
  __typename ... on RunCancelled { run { id state } } ... on Problem { message } } }"""
RERUN = """mutation Rerun($id: ID!, $only: Boolean!) { rerun(runId: $id, onlyFailed: $only) {
  __typename ... on RerunStarted { run { id state jobs { id reusedFrom } } }
  ... on Problem { message } } }"""
TIMEOUT = 30.0


class Api:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.token = token  # sent as Authorization: Bearer (DANUBE_TOKEN or danube login)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        reply = self._open("/graphql", body, {"Content-Type": "application/json"})
        answer: dict[str, Any] = json.loads(reply.read())
        if answer.get("errors"):
            raise CommandError(answer["errors"][0]["message"], EXIT_FAILED)
        data: dict[str, Any] = answer["data"]
        return data

    def post(self, path: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self._open(path, b"", {}).read())
        return result

    def stream(self, path: str) -> Any:
        return self._open(path, None, {"Accept": "text/event-stream"}, timeout=None)

    def _open(
        self,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
        timeout: float | None = TIMEOUT,
    ) -> Any:
        if self.token:
            headers = {**headers, "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.base + path, body, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            raise CommandError(_message(error), EXIT_FAILED) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            message = f"cannot reach the server at {self.base}: {reason}"
            raise CommandError(message, EXIT_FAILED) from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read()).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or f"the server answered {error.code} {error.reason}")


def _api(args: argparse.Namespace, settings: Settings) -> Api:
    server = (args.server or settings.public_url).rstrip("/")
    return Api(server, bearer_for(server))


def runs(args: argparse.Namespace, settings: Settings) -> int:
    state = args.state.upper() if args.state else None
    filter = {"pipeline": args.pipeline or "", "state": state}
    found = _api(args, settings).graphql(RUNS, filter=filter, first=args.limit)
    items = [edge["node"] for edge in found["runs"]["edges"]]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    rows = [("RUN", "PIPELINE", "BRANCH", "COMMIT", "STATE", "TRIGGER", "REQUESTED")]
    rows += [
        (r["id"], r["pipeline"], r["branch"] or "-", r["commitSha"][:12], r["state"].lower(),
         r["triggerType"], r["requestedAt"][:19])
        for r in items
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def logs(args: argparse.Namespace, settings: Settings) -> int:
    """The job's log; with ``--follow``, live until the job ends."""
    api = _api(args, settings)
    if not args.follow:
        reply = api._open(f"/api/v1/jobs/{args.job}/logs", None, {})
        sys.stdout.buffer.write(reply.read())
        return 0
    with api.stream(f"/api/v1/jobs/{args.job}/logs/stream") as stream:
        event = ""
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "log":
                sys.stdout.write(json.loads(line.removeprefix("data: "))["text"])
                sys.stdout.flush()
            elif line.startswith("data: ") and event == "end":
                return 0
    return 0


def cancel(args: argparse.Namespace, settings: Settings) -> int:
    """``ID`` is a run, or a job (whose run is cancelled)."""
    api = _api(args, settings)
    result = api.graphql(CANCEL, id=args.id)["cancelRun"]
    if result["__typename"] == "RunNotFound":
        api.post(f"/api/v1/jobs/{args.id}/cancel")  # a job's id, or the API says why not
        print(f"cancel requested for the run of job {args.id}")
        return 0
    if result["__typename"] != "RunCancelled":
        raise CommandError(result["message"], EXIT_FAILED)
    print(json.dumps(result["run"]) if args.json else f"cancel requested for run {args.id}")
    return 0


def rerun(args: argparse.Namespace, settings: Settings) -> int:
    result = _api(args, settings).graphql(RERUN, id=args.run, only=args.only_failed)["rerun"]
    if result["__typename"] != "RerunStarted":
        raise CommandError(result["message"], EXIT_FAILED)
    run = result["run"]
    if args.json:
        print(json.dumps(run))
    else:
        reused = sum(1 for job in run["jobs"] if job["reusedFrom"])
        print(f"run {run['id']} started ({reused} of {len(run['jobs'])} jobs reused)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def client(name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
        parser.add_argument("--server", help="the server's URL (default: DANUBE_PUBLIC_URL)")
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
        return parser

    listing = client("runs", "list runs, newest first (from a running server)")
    listing.add_argument("--pipeline", default="")
    listing.add_argument("--state", default="", help="pending, running, success, failure, ...")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=runs)
    log = client("logs", "print a job's log (from a running server)")
    log.add_argument("job")
    log.add_argument("--follow", "-f", action="store_true", help="live, until the job ends")
    log.set_defaults(handler=logs)
    stop = client("cancel", "cancel a run (or the run of a job)")
    stop.add_argument("id", metavar="RUN|JOB")
    stop.set_defaults(handler=cancel)
    again = client("rerun", "start a run again")
    again.add_argument("run")
    again.add_argument("--only-failed", action="store_true", help="reuse jobs that succeeded")
    again.set_defaults(handler=rerun)
