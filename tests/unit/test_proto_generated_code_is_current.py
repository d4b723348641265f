"""The committed gRPC code in sdk/danube/_proto is what proto/generate.py produces now."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "sdk" / "danube" / "_proto"
GENERATOR = ROOT / "proto" / "generate.py"


def _files(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_committed_generated_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    out = tmp_path / "_proto"
    completed = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"proto/generate.py failed:\n{completed.stderr}"

    fresh, committed = _files(out), _files(COMMITTED)
    problems = [f"missing from sdk/danube/_proto: {name}" for name in fresh.keys() - committed]
    problems += [f"not generated any more: {name}" for name in committed.keys() - fresh]
    for name in sorted(fresh.keys() & committed):
        if fresh[name] != committed[name]:
            diff = difflib.unified_diff(
                committed[name].splitlines(),
                fresh[name].splitlines(),
                f"committed/{name}",
                f"generated/{name}",
                lineterm="",
                n=1,
            )
            problems.append("\n".join(list(diff)[:40]))
    assert not problems, (
        "sdk/danube/_proto is out of date with proto/; run "
        "`.venv/bin/python proto/generate.py` and commit the result.\n\n" + "\n\n".join(problems)
    )
