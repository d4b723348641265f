"""The Python half of the browser: ``browser/driver.mjs`` in a child process (one
Chromium for the whole session), asked to run one scenario of ``browser/scenarios.mjs``
at a time over stdin/stdout."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")


class ScenarioFailed(AssertionError):
    pass


class Browser:
    def __init__(self, out: Path) -> None:
        self.out = out
        self._process = subprocess.Popen(
            ["node", "driver.mjs"],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(out / "driver.log", "wb"),  # noqa: SIM115 (closed with the process)
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        assert self._process.stdout is not None
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        self.version = self._next(60)["version"]

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith("{"):
                self._lines.put(line)
        self._lines.put("")

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ScenarioFailed(f"the browser said nothing for {timeout}s") from None
        if not line:
            log = (self.out / "driver.log").read_text(errors="replace")[-3000:]
            raise ScenarioFailed(f"the browser driver exited: {log}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, scenario: str, timeout: float = 120, **args: Any) -> Any:
        """Run ``scenario`` in a fresh browser context; its result, or ScenarioFailed
        with what went wrong (a screenshot ``<scenario>-failed.png`` is in ``out``)."""
        assert self._process.stdin is not None
        args = {"out": str(self.out), **args}
        self._process.stdin.write(json.dumps({"scenario": scenario, "args": args}) + "\n")
        self._process.stdin.flush()
        reply = self._next(timeout)
        if not reply["ok"]:
            raise ScenarioFailed(
                f"{scenario} failed at {reply.get('url')}: {reply['error']}\n"
                f"console errors: {reply['consoleErrors']}"
            )
        if reply["consoleErrors"] and not args.get("console_errors_expected"):
            raise ScenarioFailed(f"{scenario}: console errors: {reply['consoleErrors']}")
        return reply["result"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def ensure_driver() -> None:
    """playwright-core from the committed lockfile (no browser is ever downloaded)."""
    if shutil.which("node") is None:
        raise ScenarioFailed("node is not installed: apt-get install -y nodejs npm")
    if not CHROMIUM.exists():
        raise ScenarioFailed(f"no {CHROMIUM}: apt-get install -y chromium (tests/ensure-deps.sh)")
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            check=True,
            timeout=300,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
        )
