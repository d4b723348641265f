"""A secret (and the job's token) is masked in every form a job may print it in,
however the job splits it: at every byte position over two writes, with pauses of 0,
0.3 and 1 s between them, on one stream and half on stdout, half on stderr. Nothing of
it is in the log API, the stored events, any table of the database or Danube's own
logs."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import psycopg
import pytest

from adapters.sql.store import StoreConfig
from domain.cause import Cause
from tests.integration.execution.conftest import Embedded
from tests.integration.execution.records import Rest, places_holding
from tests.support import PG_URL, http_get

ADMIN = Cause(actor="user:admin")
VALUE = 'p/ss"w+rd&Ü?-42'  # differs in each URL and JSON form

DANUBEFILE = '''
import base64, json, os, sys, threading, time
from urllib.parse import quote, quote_plus
from danube import pipeline, secrets, step

PROGRAM = """python3 -c '
import json, os, time
forms = [bytes.fromhex(f) for f in json.loads(os.environ["FORMS"])]
pause, second = float(os.environ["PAUSE"]), int(os.environ["SECOND"])
for index, at in json.loads(os.environ["SPLITS"]):
    os.write(1, b"x: " + forms[index][:at])
    if pause:
        time.sleep(pause)
    os.write(second, forms[index][at:] + b"\\\\n")
'"""


def printed(value):
    raw = value.encode()
    texts = {value, quote(value), quote(value, safe=""), quote_plus(value)}
    texts |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    forms = {text.encode() for text in texts} | {base64.b64encode(raw)}
    for shift in range(3):  # inside a longer encoded stream, at each alignment
        wrapped = b"ab"[:shift] + raw + b"yz"
        forms |= {base64.b64encode(wrapped), base64.urlsafe_b64encode(wrapped)}
    return sorted(forms)


@pipeline(name="demo")
def build():
    value = secrets.get("DEPLOY_TOKEN")
    with open("/proc/self/environ", "rb") as environ:  # as the job's processes can
        token = dict(v.split(b"=", 1) for v in environ.read().split(b"\\0") if b"=" in v)[
            b"DANUBE_JOB_TOKEN"
        ].decode()
    sys.stdout.write("coordinator: " + value[:5])
    sys.stdout.flush()
    time.sleep(0.3)
    print(value[5:], flush=True)
    forms = printed(value) + printed(token)
    every = [[i, at] for i, form in enumerate(forms) for at in range(1, len(form))]
    plain = {forms.index(value.encode()), forms.index(token.encode())}
    some = [
        [i, at]
        for i, form in enumerate(forms)
        for at in (range(1, len(form)) if i in plain else {1, len(form) // 2, len(form) - 1})
    ]
    runs = [(0, every)] + [(pause, some) for pause in (0.3, 1)]
    work = []
    for pause, splits in runs:  # 12 steps run side by side: about 36 s of pauses each
        size = int(36 / pause) if pause else len(splits)
        for second in (1, 2):
            for part in range(0, len(splits), size):
                work.append((pause, second, splits[part : part + size]))
    env = {"FORMS": json.dumps([form.hex() for form in forms])}

    def run(pause, second, splits):
        step.run(
            PROGRAM,
            name=f"pause {pause} to {second}",
            env=dict(env, PAUSE=str(pause), SECOND=str(second), SPLITS=json.dumps(splits)),
        )

    for item in work[:2]:  # the splits without pauses: one step at a time
        run(*item)
    threads = [threading.Thread(target=run, args=item) for item in work[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("all splits printed", len(threads), flush=True)
'''


def needles(value: str) -> set[bytes]:
    """What must not show: the value in each form, and of each base64 stream the part
    that encodes the value's bits only."""
    raw = value.encode()
    texts = {value, quote(value), quote(value, safe=""), quote_plus(value)}
    texts |= {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    found = {text.encode() for text in texts} | {base64.b64encode(raw).rstrip(b"=")}
    for shift in range(3):
        wrapped = b"ab"[:shift] + raw + b"yz"
        first, end = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
        for encoded in (base64.b64encode(wrapped), base64.urlsafe_b64encode(wrapped)):
            found.add(encoded[first:end])
    return found


def database_dump(config: StoreConfig, embedded: Embedded) -> bytes:
    """Every byte of every table: the files of the data directory on SQLite, each table
    of the schema as text on PostgreSQL."""
    if config.kind == "sqlite":
        files = sorted((embedded.tmp / "data").rglob("*"))
        return b"".join(path.read_bytes() for path in files if path.is_file())
    parts = []
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (config.schema,),
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(f'SELECT t::text FROM "{config.schema}"."{table}" t').fetchall()
            parts += [row[0].encode() for row in rows]
            # bytea columns show as hex in the text form: look at them decoded too
            for (text,) in rows:
                parts += [bytes.fromhex(h) for h in _hex_runs(text)]
    return b"\n".join(parts)


def _hex_runs(text: str) -> list[str]:
    return [
        run[2:] for run in text.replace(",", " ").replace(")", " ").split() if run.startswith("\\x")
    ]


def test_a_secret_and_the_job_token_split_anywhere_with_any_pause_never_show(
    cold: Embedded, store_config: StoreConfig, caplog: pytest.LogCaptureFixture
) -> None:
    embedded = cold  # the job reads its own token from its coordinator's environment
    caplog.set_level(logging.DEBUG)
    embedded.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request(DANUBEFILE)
    job = embedded.finished(job_id, timeout=300)
    log = embedded.log(job_id)
    assert job.state == "success", log.decode(errors="replace")[-3000:]
    assert b"all splits printed" in log
    assert b"coordinator: ***" in log, log[:3000]
    assert len(log) < 4 * 1024 * 1024  # one read of the log API
    token = embedded.danube.tokens.issue(job_id)
    secret_forms = needles(VALUE) | needles(token)
    with Rest(embedded.danube) as rest:
        status, shown = http_get(f"{rest.url}/api/v1/jobs/{job_id}/logs")
    assert status == 200
    [whole] = [s for s in embedded.danube.views.steps(job_id) if s.name == "pause 0 to 1"]
    lines = embedded.danube.logs.step_bytes(job_id, whole.number, "stdout").splitlines()
    assert len(lines) > 500 and all(b"***" in line for line in lines), lines
    stored = database_dump(store_config, embedded)
    own = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records).encode()
    for form in secret_forms:
        if form in log:
            at = log.index(form)
            chunks = embedded.danube.logs.store.read(job_id.hex, max(0, at - 200), 400)
            raise AssertionError([(c.offset, c.step, c.stream, c.data) for c in chunks])
        assert form not in shown, form
        assert form not in stored, form
        assert form not in own, form
    assert places_holding(embedded.danube, VALUE, job_id) == []
    assert places_holding(embedded.danube, token, job_id) == []


def test_the_default_url_encoding_of_a_secret_is_masked_in_names_commands_and_reasons(
    embedded: Embedded,
) -> None:
    embedded.danube.secrets.set("demo", "DEPLOY_TOKEN", VALUE, ADMIN)
    _, job_id = embedded.request("""
        from urllib.parse import quote
        from danube import pipeline, secrets, step

        @pipeline(name="demo")
        def build() -> None:
            shown = quote(secrets.get("DEPLOY_TOKEN"))  # keeps the '/'
            step.run(f"echo {shown}", name=f"deploy {shown}")
            raise RuntimeError(f"could not deploy with {shown}")
    """)
    job = embedded.finished(job_id)
    assert job.state == "failure"
    assert job.reason == "RuntimeError: could not deploy with ***"
    [step] = embedded.danube.views.steps(job_id)
    assert (step.name, step.command) == ("deploy ***", "echo ***")
    encoded = quote(VALUE)
    assert "/" in encoded and encoded.encode() not in embedded.log(job_id)
    assert places_holding(embedded.danube, encoded, job_id) == []
