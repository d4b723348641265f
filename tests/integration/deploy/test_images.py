"""The image build files: hadolint-clean, non-root, no build tools in the final stage,
and their one build step (deploy/images/build.sh) run here on exactly the files each
Dockerfile copies, so a wrong path or a broken install fails CI, not a user's build.

There is no container runtime on these machines; what the build stage runs is run
directly. Dependencies come from the test's own environment (pip --no-deps and
PYTHONPATH) to keep it fast; the packages, their entry points and the web app's place are
built for real."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.integration.deploy.render import ROOT

IMAGES = ROOT / "deploy" / "images"
BUILD_TOOLS = ("gcc", "build-essential", "make ", "python3-dev", "pip install")


def instructions(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """The stages of a Dockerfile, each a list of (INSTRUCTION, arguments)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword.upper(), " ".join(rest.split())))
    return stages


def copy_context(dockerfile: Path, context: Path) -> None:
    """Do the build stage's COPY instructions from the repository into ``context``."""
    for keyword, arguments in instructions(dockerfile)[0]:
        if keyword != "COPY":
            continue
        *sources, destination = arguments.split()
        for source in sources:
            origin = ROOT / source
            assert origin.exists(), f"{dockerfile.name}: COPY {source}: not in the repository"
            target = context / destination
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True, ignore=_ignored)
            else:
                target = target / origin.name if destination.endswith("/") else target
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)


def _ignored(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n in {"__pycache__", "node_modules"} or n.endswith(".egg-info")]


def build(target: str, context: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DANUBE_PIP_ARGS": "--no-deps",
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(
        ["sh", str(context / "deploy/images/build.sh"), target, str(context), str(prefix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_dockerfiles_pass_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    dockerfiles = sorted(IMAGES.glob("*.Dockerfile"))
    assert [f.name for f in dockerfiles] == ["coordinator.Dockerfile", "server.Dockerfile"]
    result = subprocess.run(
        [str(hadolint), "--config", str(IMAGES / ".hadolint.yaml"), *map(str, dockerfiles)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", ["server", "coordinator"])
def test_each_image_is_multi_stage_non_root_and_without_build_tools(image: str) -> None:
    build_stage, final = instructions(IMAGES / f"{image}.Dockerfile")
    assert (
        "RUN",
        f"sh deploy/images/build.sh {image} /src /opt/danube",
    ) in build_stage
    assert ("COPY", "--from=build /opt/danube /opt/danube") in final
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users == ["1000:1000"]
    runs = " ".join(arguments for keyword, arguments in final if keyword == "RUN")
    assert not [tool for tool in BUILD_TOOLS if tool in runs]
    assert "git" in runs.split()  # config repository (server), checkout (coordinator)


@pytest.mark.parametrize("image", ["server", "coordinator"])
def test_the_build_context_holds_every_copied_path(image: str) -> None:
    """What <image>.Dockerfile.dockerignore leaves out, COPY cannot find."""
    patterns = (IMAGES / f"{image}.Dockerfile.dockerignore").read_text().split()
    kept = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    for keyword, arguments in instructions(IMAGES / f"{image}.Dockerfile")[0]:
        if keyword == "COPY":
            for source in arguments.split()[:-1]:
                assert any(fnmatch.fnmatch(source.rstrip("/"), k) for k in kept), source


def test_the_server_build_installs_every_process_and_the_built_web_app(tmp_path: Path) -> None:
    context = tmp_path / "src"
    copy_context(IMAGES / "server.Dockerfile", context)
    (context / "webapp/dist").mkdir(parents=True, exist_ok=True)  # copied if built here
    (context / "webapp/dist/index.html").write_text("<!doctype html><title>Danube</title>")
    result = build("server", context, tmp_path / "opt")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "opt/bin/danube").exists()
    web = tmp_path / "opt/share/danube/webapp/index.html"
    assert web.read_text().startswith("<!doctype html>")
    help_text = subprocess.run(
        [str(tmp_path / "opt/bin/danube"), "--help"],
        env={**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]},
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    for command in ("server", "projector", "dispatcher", "pod-adapter", "migrate"):
        assert command in help_text


def test_the_coordinator_build_installs_the_sdk_and_its_coordinator(tmp_path: Path) -> None:
    context = tmp_path / "src"
    copy_context(IMAGES / "coordinator.Dockerfile", context)
    assert sorted(p.name for p in context.iterdir()) == ["deploy", "sdk"]
    result = build("coordinator", context, tmp_path / "opt")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "opt/bin/danube-coordinator").exists()
    assert not (tmp_path / "opt/bin/danube").exists()  # the server stays out of job pods


def test_a_build_without_the_sources_fails_saying_what_is_missing(tmp_path: Path) -> None:
    context = tmp_path / "src"
    copy_context(IMAGES / "coordinator.Dockerfile", context)
    shutil.rmtree(context / "sdk")
    result = build("coordinator", context, tmp_path / "opt")
    assert result.returncode == 1
    assert f"build.sh: no {context}/sdk/pyproject.toml" in result.stderr
