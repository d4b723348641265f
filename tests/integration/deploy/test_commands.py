"""``danube dex-config`` and ``danube network-policy`` as an operator runs them: the
config repository's users.yaml and config.yaml in, YAML for deploy/ out, and bad input
refused with one line naming the file, the document and the field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from tests.integration.deploy.render import SKIPPED_KINDS

# Rule fields of cilium.io/v2 CiliumNetworkPolicy.spec (the CRD's schema, which is not
# available offline: SKIPPED_KINDS).
CILIUM_RULE_FIELDS = {
    "description", "endpointSelector", "nodeSelector", "ingress", "ingressDeny",
    "egress", "egressDeny", "labels", "enableDefaultDeny",
}  # fmt: skip
CILIUM_EGRESS_FIELDS = {
    "toEndpoints", "toPorts", "toFQDNs", "toCIDR", "toCIDRSet", "toEntities",
    "toServices", "toGroups", "toRequires", "toNodes", "icmps", "authentication",
}  # fmt: skip


def danube(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DANUBE_")}
    environment.update(DANUBE_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def user(name: str, email: str, password_hash: str) -> dict[str, Any]:
    return {
        "apiVersion": "danube.dev/v1",
        "kind": "User",
        "metadata": {"name": name},
        "spec": {"email": email, "password_hash": password_hash},
    }


def write(path: Path, *documents: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump_all(documents))
    return path


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def test_users_log_in_to_dex_by_email_with_their_bcrypt_hash(tmp_path: Path) -> None:
    write(
        tmp_path / "users.yaml",
        user("alice", "alice@example.com", hashed("alice-pw")),
        user("bob", "bob@example.com", hashed("bob-pw")),
    )
    result = danube(
        tmp_path, "dex-config", str(tmp_path), DANUBE_PUBLIC_URL="https://ci.example.com"
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    logins = {entry["email"]: entry for entry in config["staticPasswords"]}
    assert sorted(logins) == ["alice@example.com", "bob@example.com"]
    assert bcrypt.checkpw(b"alice-pw", logins["alice@example.com"]["hash"].encode())
    assert logins["bob@example.com"]["username"] == "bob"
    assert config["enablePasswordDB"] is True
    assert config["issuer"] == "https://ci.example.com/dex"
    client, cli = config["staticClients"]
    assert client["id"] == "danube"
    # danube login: a public client (loopback redirects, PKCE) whose tokens Danube accepts
    assert cli == {"id": "danube-cli", "name": "Danube command line", "public": True}
    assert client["trustedPeers"] == ["danube-cli"]
    assert client["redirectURIs"] == ["https://ci.example.com/auth/callback"]
    # the client secret is not in the config: Dex reads the variable the server reads
    assert client["secretEnv"] == "DANUBE_OIDC_CLIENT_SECRET"
    assert "secret" not in client


def test_the_issuer_and_client_follow_the_oidc_settings_and_options(tmp_path: Path) -> None:
    users = write(tmp_path / "people.yaml", user("alice", "alice@example.com", hashed("x")))
    result = danube(
        tmp_path,
        "dex-config",
        str(users),
        "--redirect-uri",
        "https://ci.example.com/a",
        "--redirect-uri",
        "https://ci.example.com/b",
        DANUBE_OIDC_ISSUER="https://login.example.com/dex",
        DANUBE_OIDC_CLIENT_ID="ci",
    )
    config = yaml.safe_load(result.stdout)
    assert config["issuer"] == "https://login.example.com/dex"
    assert config["staticClients"][0]["id"] == "ci"
    assert config["staticClients"][0]["redirectURIs"] == [
        "https://ci.example.com/a",
        "https://ci.example.com/b",
    ]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            user("bob", "bob@example.com", "plain-text"),
            "users.yaml#2: spec.password_hash of bob is not a bcrypt hash ($2b$12$...)",
        ),
        (
            user("bob", "not-an-address", hashed("x")),
            "users.yaml#2: spec.email 'not-an-address' is not an e-mail address",
        ),
        (
            user("bob", "ALICE@example.com", hashed("x")),
            "users.yaml#2: user bob <ALICE@example.com> is listed twice",
        ),
        (
            {"apiVersion": "danube.dev/v1", "kind": "User", "metadata": {"name": "bob"}},
            "users.yaml#2: spec.email is missing",
        ),
    ],
)
def test_a_bad_user_is_refused_naming_the_document(
    tmp_path: Path, second: dict[str, Any], message: str
) -> None:
    users = write(tmp_path / "users.yaml", user("alice", "alice@example.com", hashed("x")), second)
    result = danube(tmp_path, "dex-config", str(users))
    assert refusal(result) == f"danube dex-config: {message}"
    assert result.stdout == ""


def test_no_users_or_no_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "users.yaml"
    empty.write_text("# nobody yet\n")
    assert refusal(danube(tmp_path, "dex-config", str(empty))) == (
        f"danube dex-config: {empty}: no users (kind: User) to log in with"
    )
    missing = tmp_path / "none" / "users.yaml"
    assert refusal(danube(tmp_path, "dex-config", str(missing))) == (
        f"danube dex-config: cannot read {missing}: No such file or directory"
    )


def config_yaml(path: Path, allowlist: object) -> Path:
    return write(
        path / "config.yaml",
        {
            "apiVersion": "danube.dev/v1",
            "kind": "Config",
            "metadata": {"name": "global"},
            "spec": {"egress_allowlist": allowlist},
        },
    )


def test_the_egress_allowlist_becomes_a_cilium_policy_for_job_pods(tmp_path: Path) -> None:
    config_yaml(tmp_path, ["pypi.org", "*.github.com", "PyPI.org", "files.pythonhosted.org."])
    result = danube(tmp_path, "network-policy", str(tmp_path), DANUBE_K8S_NAMESPACE_JOBS="ci-jobs")
    assert result.returncode == 0, result.stderr
    policy = yaml.safe_load(result.stdout)
    assert policy["apiVersion"] == "cilium.io/v2"
    assert policy["kind"] == "CiliumNetworkPolicy" and policy["kind"] in SKIPPED_KINDS
    assert policy["metadata"]["namespace"] == "ci-jobs"
    spec = policy["spec"]
    assert set(spec) <= CILIUM_RULE_FIELDS
    assert spec["endpointSelector"] == {}  # every pod of the jobs namespace
    for rule in spec["egress"]:
        assert set(rule) <= CILIUM_EGRESS_FIELDS
    dns, fqdns = spec["egress"]
    # Cilium learns the names' addresses from the DNS answers its proxy sees
    assert dns["toPorts"][0]["rules"] == {"dns": [{"matchPattern": "*"}]}
    assert dns["toPorts"][0]["ports"] == [{"port": "53", "protocol": "ANY"}]
    assert fqdns["toFQDNs"] == [
        {"matchName": "pypi.org"},
        {"matchPattern": "*.github.com"},
        {"matchName": "files.pythonhosted.org"},
    ]


def test_an_empty_allowlist_lets_job_pods_resolve_names_and_reach_nothing_more(
    tmp_path: Path,
) -> None:
    config_yaml(tmp_path, [])
    policy = yaml.safe_load(danube(tmp_path, "network-policy", str(tmp_path)).stdout)
    assert policy["metadata"]["namespace"] == "danube-jobs"
    assert [list(rule) for rule in policy["spec"]["egress"]] == [["toEndpoints", "toPorts"]]


@pytest.mark.parametrize("entry", ["https://pypi.org", "pypi.org:443", "pypi.org/simple", "a..b"])
def test_an_allowlist_entry_that_is_not_a_dns_name_is_refused(tmp_path: Path, entry: str) -> None:
    config_yaml(tmp_path, ["pypi.org", entry])
    assert refusal(danube(tmp_path, "network-policy", str(tmp_path))) == (
        f"danube network-policy: config.yaml#1: spec.egress_allowlist[1] {entry!r} is not a "
        "DNS name (no scheme, port or path; e.g. pypi.org or *.github.com)"
    )
