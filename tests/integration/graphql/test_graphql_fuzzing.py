"""schemathesis fuzzes the GraphQL schema (from introspection) against a real server:
no 5xx, and every error it provokes is a named refusal (an ``extensions.code`` of
ours), never an unexpected failure. schemathesis counts every GraphQL error as a
failure, so its report is read: what matters is what kind of errors they are."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from api.bootstrap import build
from api.graphql.resolvers import EXPECTED_CODES
from api.settings import Settings
from tests.integration.execution.records import Rest
from tests.support import auth_headers

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
STATUS = re.compile(r"^\[(\d{3})\] ", re.MULTILINE)
BODY = re.compile(r"^\s+`(\{.*\})`$", re.MULTILINE)


def test_fuzzed_graphql_queries_get_answers_or_named_refusals_never_5xx(tmp_path: Path) -> None:
    danube = build(Settings(data_dir=tmp_path / "data", log_level="error"))
    try:
        with Rest(danube) as rest:
            result = subprocess.run(
                [
                    str(SCHEMATHESIS),
                    "run",
                    f"{rest.url}/graphql",
                    "--header",
                    f"Authorization: {auth_headers(rest.url)['Authorization']}",
                    "--max-examples=30",
                    "--phases=fuzzing",
                    "--seed=13",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp_path,
            )
    finally:
        danube.close()
    report = result.stdout
    assert "generated" in report, report[-3000:] + result.stderr[-2000:]
    statuses = {int(code) for code in STATUS.findall(report)}
    assert not {s for s in statuses if s >= 500}, report[-6000:]
    bodies = BODY.findall(report)
    assert bodies, "the fuzzer provokes refusals (e.g. first: 0); their bodies are checked"
    for body in bodies:
        for error in json.loads(body).get("errors", []):
            code = (error.get("extensions") or {}).get("code")
            assert code in EXPECTED_CODES, (error, report[-3000:])
