"""deploy/install.sh: shellcheck-clean; its --dry-run prints, as one YAML stream, what it
would do and every object it would apply, touching no cluster (every kubectl call is
recorded: only offline rendering is allowed) and printing no generated key; and a real
run against a kubectl double that keeps objects as files (fake_kubectl.py: no API server
runs here) creates the keys once, and a second run changes nothing."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from tests.integration.deploy.render import DEPLOY, KUBECTL, ROOT, by_kind, invalid

INSTALL = DEPLOY / "install.sh"
OFFLINE_KUBECTL = ("kustomize ", "create secret generic danube-dex ")


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.yaml"
    password_hash = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(
        "apiVersion: danube.dev/v1\nkind: User\nmetadata:\n  name: alice\n"
        f"spec:\n  email: alice@example.com\n  password_hash: '{password_hash}'\n"
    )
    return path


@pytest.fixture
def config_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "apiVersion: danube.dev/v1\nkind: Config\nmetadata:\n  name: global\n"
        "spec:\n  egress_allowlist: [pypi.org, '*.github.com']\n"
    )
    return path


def install(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run install.sh with danube and a recording kubectl first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "kubectl.log"
    real = KUBECTL
    wrapper = bin_dir / "kubectl"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DANUBE_", "KUBECONFIG"))}
    env["PATH"] = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env["PATH"]])
    env["HOME"] = str(tmp_path)  # no kubeconfig: nothing to reach even by mistake
    result = subprocess.run(
        ["bash", str(INSTALL), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def objects(output: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(output) if doc]


def comments(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("# ")]


@pytest.mark.parametrize("script", ["deploy/install.sh", "deploy/images/build.sh"])
def test_the_shell_scripts_are_shellcheck_clean(script: str) -> None:
    result = subprocess.run(
        ["shellcheck", "--external-sources", str(ROOT / script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout


def test_a_dry_run_prints_every_object_it_would_apply_for_this_host(
    tmp_path: Path, users: Path, config_yaml: Path
) -> None:
    result, calls = install(
        tmp_path,
        "--dry-run",
        "--users",
        str(users),
        "--config-yaml",
        str(config_yaml),
        "--host",
        "ci.example.com",
        "--https",
        "--image-tag",
        "1.4.2",
    )
    assert result.returncode == 0, result.stderr
    # nothing but offline rendering: no apply, get, run or cluster-info
    assert calls and all(call.startswith(OFFLINE_KUBECTL) for call in calls), calls
    applied = objects(result.stdout)
    assert invalid(applied) == []
    config = by_kind(applied, "ConfigMap")["danube"]["data"]
    assert config["DANUBE_PUBLIC_URL"] == "https://ci.example.com"
    assert config["DANUBE_OIDC_ISSUER"] == "https://ci.example.com/dex"
    assert config["DANUBE_K8S_COORDINATOR_IMAGE"] == "ghcr.io/danube-ci/danube-coordinator:1.4.2"
    images = {
        c["image"]
        for o in applied
        if o["kind"] in {"Deployment", "StatefulSet"}
        for c in [*o["spec"]["template"]["spec"].get("initContainers", [])]
        + o["spec"]["template"]["spec"]["containers"]
    }
    assert "ghcr.io/danube-ci/danube:1.4.2" in images
    assert not [image for image in images if image.startswith("ghcr.io/danube-ci/danube:latest")]
    assert ("StatefulSet", "danube-postgres") in {
        (o["kind"], o["metadata"]["name"]) for o in applied
    }
    dex = yaml.safe_load(
        base64.b64decode(by_kind(applied, "Secret")["danube-dex"]["data"]["config.yaml"])
    )
    assert [p["email"] for p in dex["staticPasswords"]] == ["alice@example.com"]
    assert dex["staticClients"][0]["redirectURIs"] == ["https://ci.example.com/auth/callback"]
    policy = by_kind(applied, "CiliumNetworkPolicy")["danube-jobs-egress-allowlist"]
    assert policy["spec"]["egress"][1]["toFQDNs"] == [
        {"matchName": "pypi.org"},
        {"matchPattern": "*.github.com"},
    ]
    said = comments(result.stdout)
    assert any("would install K3s" in line and "Cilium" in line for line in said)
    for secret in ("danube-master-key", "danube-signing-key", "danube-oidc", "danube-postgres"):
        assert any(f"would create Secret danube-system/{secret} when absent" in s for s in said)
    assert said[-1] == "would print: Danube is ready at https://ci.example.com/ " + (
        f"(log in with a user of {users})"
    )
    assert not (tmp_path / ".danube").exists()


def test_a_dry_run_on_an_existing_cluster_with_an_external_database(
    tmp_path: Path, users: Path
) -> None:
    url = "postgresql://danube:s3cret-pw@db.example.com:5432/danube"
    result, calls = install(
        tmp_path,
        "--dry-run",
        "--existing-cluster",
        "--external-db",
        url,
        "--users",
        str(users),
        "--host",
        "10.0.0.5",
    )
    assert result.returncode == 0, result.stderr
    assert all(call.startswith((*OFFLINE_KUBECTL, "config current-context")) for call in calls)
    said = comments(result.stdout)
    assert not [line for line in said if "K3s" in line]
    assert any(line.startswith("using the current kubectl context") for line in said)
    applied = objects(result.stdout)
    assert "danube-postgres" not in by_kind(applied, "StatefulSet")
    assert "CiliumNetworkPolicy" not in {o["kind"] for o in applied}
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_two_dry_runs_print_the_same_objects(tmp_path: Path, users: Path) -> None:
    args = ("--dry-run", "--existing-cluster", "--users", str(users), "--host", "ci.example.com")
    first, _ = install(tmp_path, *args)
    second, _ = install(tmp_path, *args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "install.sh: --users users.yaml is required (the people who may log in)"),
        (("--users", "missing.yaml"), "install.sh: --users missing.yaml: no such file"),
        (
            ("--users", "USERS", "--external-db", "mysql://x"),
            "install.sh: --external-db must be a postgresql:// URL",
        ),
        (("--users", "USERS", "--frobnicate"), "install.sh: unknown argument --frobnicate"),
    ],
)
def test_bad_arguments_stop_before_anything_is_done(
    tmp_path: Path, users: Path, args: tuple[str, ...], message: str
) -> None:
    args = tuple(str(users) if a == "USERS" else a for a in args)
    result, calls = install(tmp_path, "--dry-run", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message
    assert calls == []


def test_a_bad_users_file_stops_the_install_with_danubes_reason(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(
        "apiVersion: danube.dev/v1\nkind: User\nmetadata: {name: bob}\n"
        "spec: {email: bob@example.com, password_hash: hunter2}\n"
    )
    result, _ = install(tmp_path, "--dry-run", "--existing-cluster", "--users", str(users))
    assert result.returncode != 0
    assert "spec.password_hash of bob is not a bcrypt hash" in result.stderr
    assert "would apply" not in result.stdout


class Cluster:
    """install.sh against tests/integration/deploy/fake_kubectl.py: objects kept as files."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "cluster"
        self.state.mkdir()
        self.bin = tmp_path / "fake-bin"
        self.bin.mkdir()
        kubectl = self.bin / "kubectl"
        fake = Path(__file__).with_name("fake_kubectl.py")
        kubectl.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
        kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
        self.tmp_path = tmp_path

    def install(self, *args: str) -> subprocess.CompletedProcess[str]:
        (self.state / "calls.log").write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DANUBE_", "KUBECONFIG"))}
        env.update(
            PATH=os.pathsep.join([str(self.bin), str(Path(sys.executable).parent), env["PATH"]]),
            HOME=str(self.tmp_path),
            FAKE_KUBECTL_STATE=str(self.state),
            REAL_KUBECTL=str(KUBECTL),
        )
        return subprocess.run(
            ["bash", str(INSTALL), "--existing-cluster", "--host", "ci.example.com", *args],
            cwd=self.tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def calls(self) -> list[str]:
        return (self.state / "calls.log").read_text().splitlines()

    def secret(self, name: str, key: str) -> bytes:
        stored = json.loads((self.state / f"Secret.danube-system.{name}.json").read_text())
        return base64.b64decode(stored["data"][key])


def test_an_install_creates_the_keys_once_and_a_second_run_changes_nothing(
    tmp_path: Path, users: Path
) -> None:
    cluster = Cluster(tmp_path)
    first = cluster.install("--users", str(users))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == "Danube is ready at http://ci.example.com/"
    assert len(cluster.secret("danube-master-key", "master.key")) == 32
    assert cluster.secret("danube-signing-key", "signing.key").startswith(b"-----BEGIN PRIVATE KEY")
    password = cluster.secret("danube-postgres", "POSTGRES_PASSWORD").decode()
    assert len(password) == 64
    assert cluster.secret("danube-database", "DANUBE_DATABASE_URL").decode() == (
        f"postgresql://danube:{password}@danube-postgres.danube-system.svc:5432/danube"
    )
    assert len(cluster.secret("danube-oidc", "DANUBE_OIDC_CLIENT_SECRET")) == 64
    dex = yaml.safe_load(cluster.secret("danube-dex", "config.yaml"))
    assert dex["issuer"] == "http://ci.example.com/dex"
    waited = [c.split()[2] for c in cluster.calls() if c.startswith("rollout status")]
    assert waited[0] == "statefulset/danube-postgres" and "deployment/danube-server" in waited
    for generated in (
        password,
        cluster.secret("danube-oidc", "DANUBE_OIDC_CLIENT_SECRET").decode(),
    ):
        assert generated not in first.stdout + first.stderr
    keys = {f.name: f.read_text() for f in cluster.state.glob("Secret.*")}

    second = cluster.install("--users", str(users))
    assert second.returncode == 0, second.stderr
    created = [c for c in cluster.calls() if c.startswith("create") and "--dry-run" not in c]
    assert created == []
    assert {f.name: f.read_text() for f in cluster.state.glob("Secret.*")} == keys
    assert "created" not in second.stderr and "configured" not in second.stderr
    assert not [c for c in cluster.calls() if c.startswith("rollout restart")]


def test_changed_users_reconfigure_dex_and_restart_it(tmp_path: Path, users: Path) -> None:
    cluster = Cluster(tmp_path)
    assert cluster.install("--users", str(users)).returncode == 0
    users.write_text(
        users.read_text().replace("alice@example.com", "alice@example.org"), encoding="utf-8"
    )
    again = cluster.install("--users", str(users))
    assert again.returncode == 0, again.stderr
    changed = [line for line in again.stderr.splitlines() if not line.startswith("install.sh:")]
    assert changed == ["secret/danube-dex configured"]
    assert "rollout restart deployment/danube-dex -n danube-system" in cluster.calls()
    dex = yaml.safe_load(cluster.secret("danube-dex", "config.yaml"))
    assert [p["email"] for p in dex["staticPasswords"]] == ["alice@example.org"]


def test_without_cilium_the_allowlist_policy_is_left_out_saying_so(
    tmp_path: Path, users: Path, config_yaml: Path
) -> None:
    cluster = Cluster(tmp_path)
    result = cluster.install("--users", str(users), "--config-yaml", str(config_yaml))
    assert result.returncode == 0, result.stderr
    assert "install.sh: no Cilium in this cluster" in result.stderr
    assert not list(cluster.state.glob("CiliumNetworkPolicy.*"))
    crd = {
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "ciliumnetworkpolicies.cilium.io"},
    }
    (cluster.state / "CustomResourceDefinition._.ciliumnetworkpolicies.cilium.io.json").write_text(
        json.dumps(crd)
    )
    result = cluster.install("--users", str(users), "--config-yaml", str(config_yaml))
    assert result.returncode == 0, result.stderr
    assert "ciliumnetworkpolicy.cilium/danube-jobs-egress-allowlist created" in result.stderr
