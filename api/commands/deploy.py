"""``danube dex-config`` and ``danube network-policy``: what ``deploy/`` needs from the
config repository, rendered as YAML on stdout (deploy/install.sh stores it).

Both read the documented files (DESIGN.md §6) themselves: ``users.yaml`` (kind ``User``:
``metadata.name``, ``spec.email``, ``spec.password_hash``) and ``config.yaml`` (kind
``Config``: ``spec.egress_allowlist``). A path may be the file or the repository's
directory. Bad input stops with one line naming the file, the document and the field."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from api.auth.options import CLI_CLIENT_ID
from api.commands.errors import CommandError
from api.settings import Settings

API_VERSION = "danube.dev/v1"
BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
DNS_LABEL = re.compile(r"^(\*|[A-Za-z0-9*]([A-Za-z0-9*-]*[A-Za-z0-9*])?)$")
CLIENT_SECRET_VARIABLE = "DANUBE_OIDC_CLIENT_SECRET"
Document = dict[str, Any]


def documents(path: Path, default_name: str, kind: str) -> Iterator[tuple[str, Document]]:
    """The documents of ``kind`` in the file (or ``<directory>/<default_name>``), each with
    where it is (``users.yaml#2``) for error messages."""
    file = path / default_name if path.is_dir() else path
    try:
        loaded = list(yaml.safe_load_all(file.read_text(encoding="utf-8")))
    except OSError as error:
        raise CommandError(f"cannot read {file}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise CommandError(f"{file}: not valid YAML: {error}") from None
    for number, document in enumerate(loaded, start=1):
        where = f"{file.name}#{number}"
        if document is None:
            continue
        if not isinstance(document, dict):
            raise CommandError(f"{where}: a document is a mapping (apiVersion, kind, ...)")
        if document.get("kind") != kind:
            continue
        if document.get("apiVersion") != API_VERSION:
            raise CommandError(f"{where}: apiVersion must be {API_VERSION}")
        yield where, document


def _field(document: Document, where: str, *keys: str) -> Any:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None or value == "":
        raise CommandError(f"{where}: {'.'.join(keys)} is missing")
    return value


def static_passwords(path: Path) -> list[Document]:
    """Dex's static passwords: one per user, by e-mail, with the user's bcrypt hash."""
    entries: list[Document] = []
    names: set[str] = set()
    emails: set[str] = set()
    for where, user in documents(path, "users.yaml", "User"):
        name = str(_field(user, where, "metadata", "name"))
        email = str(_field(user, where, "spec", "email"))
        password_hash = str(_field(user, where, "spec", "password_hash"))
        if not EMAIL.match(email):
            raise CommandError(f"{where}: spec.email {email!r} is not an e-mail address")
        if not BCRYPT.match(password_hash):
            raise CommandError(
                f"{where}: spec.password_hash of {name} is not a bcrypt hash ($2b$12$...)"
            )
        if name in names or email.lower() in emails:
            raise CommandError(f"{where}: user {name} <{email}> is listed twice")
        names.add(name)
        emails.add(email.lower())
        entries.append({"email": email, "hash": password_hash, "username": name, "userID": name})
    if not entries:
        raise CommandError(f"{path}: no users (kind: User) to log in with")
    return entries


def dex_config(
    users: list[Document], issuer: str, client_id: str, redirect_uris: list[str]
) -> Document:
    """Dex's config: the users as static passwords and Danube as its client. The client
    secret is not in it: Dex reads it from DANUBE_OIDC_CLIENT_SECRET, as the server does.
    ``danube login`` is the public client ``danube-cli`` (loopback redirects, PKCE), which
    Danube's client trusts so the CLI's ID tokens are issued for Danube's audience."""
    return {
        "issuer": issuer,
        "storage": {"type": "memory"},
        "web": {"http": "0.0.0.0:5556"},
        "telemetry": {"http": "0.0.0.0:5558"},
        "oauth2": {"skipApprovalScreen": True, "responseTypes": ["code"]},
        "enablePasswordDB": True,
        "staticClients": [
            {
                "id": client_id,
                "name": "Danube",
                "redirectURIs": redirect_uris,
                "secretEnv": CLIENT_SECRET_VARIABLE,
                "trustedPeers": [CLI_CLIENT_ID],
            },
            {"id": CLI_CLIENT_ID, "name": "Danube command line", "public": True},
        ],
        "staticPasswords": users,
    }


def egress_allowlist(path: Path) -> list[str]:
    """``spec.egress_allowlist`` of config.yaml: DNS names, ``*`` as a wildcard."""
    names: list[str] = []
    for where, config in documents(path, "config.yaml", "Config"):
        allowlist = (config.get("spec") or {}).get("egress_allowlist") or []
        if not isinstance(allowlist, list):
            raise CommandError(f"{where}: spec.egress_allowlist is a list of DNS names")
        for index, name in enumerate(allowlist):
            if not isinstance(name, str) or not _is_dns_pattern(name):
                raise CommandError(
                    f"{where}: spec.egress_allowlist[{index}] {name!r} is not a DNS name "
                    "(no scheme, port or path; e.g. pypi.org or *.github.com)"
                )
            names.append(name.lower().rstrip("."))
    return list(dict.fromkeys(names))


def _is_dns_pattern(name: str) -> bool:
    labels = name.rstrip(".").split(".")
    return 0 < len(name) <= 253 and all(DNS_LABEL.match(label) for label in labels)


def cilium_policy(allowlist: list[str], namespace: str) -> Document:
    """A CiliumNetworkPolicy letting job pods reach the allowlisted names (``toFQDNs``).
    Cilium learns a name's addresses from the DNS answers it proxies, so DNS goes
    through its proxy; the gRPC, DNS and registry NetworkPolicies of deploy/ still apply."""
    fqdns = [{"matchPattern" if "*" in name else "matchName": name} for name in allowlist]
    egress: list[Document] = [
        {
            "toEndpoints": [
                {
                    "matchLabels": {
                        "k8s:io.kubernetes.pod.namespace": "kube-system",
                        "k8s:k8s-app": "kube-dns",
                    }
                }
            ],
            "toPorts": [
                {
                    "ports": [{"port": "53", "protocol": "ANY"}],
                    "rules": {"dns": [{"matchPattern": "*"}]},
                }
            ],
        }
    ]
    if fqdns:
        egress.append({"toFQDNs": fqdns})
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": {
            "name": "danube-jobs-egress-allowlist",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "danube"},
        },
        "spec": {
            "description": "Job pods reach the egress_allowlist of config.yaml",
            "endpointSelector": {},
            "egress": egress,
        },
    }


def print_dex_config(args: argparse.Namespace, settings: Settings) -> int:
    public_url = settings.public_url.rstrip("/")
    issuer = args.issuer or settings.oidc_issuer or f"{public_url}/dex"
    client_id = args.client_id or settings.oidc_client_id or "danube"
    redirect_uris = args.redirect_uri or [f"{public_url}/auth/callback"]
    config = dex_config(static_passwords(Path(args.users)), issuer, client_id, redirect_uris)
    sys.stdout.write(yaml.safe_dump(config, sort_keys=False))
    return 0


def print_network_policy(args: argparse.Namespace, settings: Settings) -> int:
    namespace = args.namespace or settings.k8s_namespace_jobs
    policy = cilium_policy(egress_allowlist(Path(args.config_yaml)), namespace)
    sys.stdout.write(yaml.safe_dump(policy, sort_keys=False))
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser(
        "dex-config", help="print Dex's config: users.yaml as logins, Danube as client"
    )
    sub.add_argument("users", help="users.yaml, or the config repository's directory")
    sub.add_argument(
        "--issuer", help="Dex's issuer URL (default: DANUBE_OIDC_ISSUER, else PUBLIC_URL/dex)"
    )
    sub.add_argument(
        "--client-id", help="Danube's client id (default: DANUBE_OIDC_CLIENT_ID or danube)"
    )
    sub.add_argument(
        "--redirect-uri",
        action="append",
        help="where Dex may send a login back (repeatable; default: PUBLIC_URL/auth/callback)",
    )
    sub.set_defaults(handler=print_dex_config)
    sub = commands.add_parser(
        "network-policy",
        help="print the CiliumNetworkPolicy opening config.yaml's egress_allowlist to job pods",
    )
    sub.add_argument("config_yaml", help="config.yaml, or the config repository's directory")
    sub.add_argument("--namespace", help="the jobs namespace (default: DANUBE_K8S_NAMESPACE_JOBS)")
    sub.set_defaults(handler=print_network_policy)
