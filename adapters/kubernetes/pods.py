"""A job's pod and its Secret, built by pure functions (DESIGN.md §5).

One pod per job, named after the job id: a ``checkout`` init container clones the
repository at the commit into the shared ``/workspace`` emptyDir; ``coordinator``
(Danube's image) runs the danubefile with the job token read from a file mounted from
the job's Secret; ``worker`` (the pipeline's image) idles while the pod adapter execs
each step in it. The worker has two more emptyDirs: ``control`` at ``/danube``, where
each step's output and exit status are written (``/danube/steps``, see ``scripts``)
outside the workspace, so a step that cleans its workspace cannot destroy them, with a
size limit of its own (``PodTemplate.control_size``); and ``home`` at ``/home/danube``,
the steps' ``HOME`` (tool caches), as large as the workspace. Everything runs as a
non-root user without privileges, so the pod is admitted under Pod Security
"restricted". The manifest holds no secret value: the token, the repository URL
(which may carry credentials) and the checkout's credentials from ``git_authentication``
(an HTTP header, or an ssh key with its pinned host keys) are only in the Secret, which
only the checkout reads them from.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from adapters.kubernetes.scripts import CHECKOUT_SCRIPT, CONTROL_DIR, WORKER_IDLE_SCRIPT
from domain.config.model import Resources, Worker
from domain.execution.ports import JobLaunch
from domain.ids import JobId

Manifest = dict[str, Any]

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "danube"
PIPELINE_LABEL = "danube.dev/pipeline"
RUN_LABEL = "danube.dev/run"
JOB_LABEL = "danube.dev/job"
SELECTOR = f"{MANAGED_BY}={MANAGER}"
NAME_PREFIX = "danube-job-"

WORKSPACE = "/workspace"
HOME = "/home/danube"
JOB_SECRET_DIR = "/var/run/danube/job"
# The checkout's own view of the job's Secret: the repository URL and the credentials
# for it, which the coordinator (running the pipeline's code) never sees.
CHECKOUT_SECRET_DIR = "/var/run/danube/checkout"
TOKEN_KEY, REPOSITORY_KEY = "token", "repository"
GIT_HEADER_KEY, SSH_KEY_KEY, KNOWN_HOSTS_KEY = "git-http-header", "git-ssh-key", "git-known-hosts"
TOKEN_FILE = f"{JOB_SECRET_DIR}/{TOKEN_KEY}"
# Git refuses repositories owned by another user (the emptyDir's root is root's).
GIT_SAFE_DIRECTORY = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": "*",
}
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@")
_SIDECAR_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}


@dataclass(frozen=True)
class PodTemplate:
    """What every job pod shares (from the settings)."""

    namespace: str = "danube-jobs"
    coordinator_image: str = "ghcr.io/danube-ci/danube:latest"
    coordinator_command: tuple[str, ...] = ("python3", "-m", "danube.coordinator")
    checkout_image: str = ""  # empty: the coordinator image (it has git)
    shell: str = "/bin/sh"
    run_as_user: int = 1000
    termination_grace_seconds: int = 10
    start_budget_seconds: int = 900  # added to max_duration_seconds for activeDeadlineSeconds
    control_size: str = "1Gi"  # the control emptyDir: every step's output until the job ends


def pod_name(job_id: JobId) -> str:
    return f"{NAME_PREFIX}{job_id.hex}"


def secret_name(job_id: JobId) -> str:
    return f"{NAME_PREFIX}{job_id.hex}"


def job_id_of(obj: Mapping[str, Any]) -> JobId | None:
    """The job a pod or Secret of ours belongs to, from its label."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    try:
        return JobId(UUID(labels.get(JOB_LABEL, "")))
    except ValueError:
        return None


def label_value(text: str) -> str:
    """``text`` as a valid label value (63 characters, alphanumeric at both ends)."""
    value = _LABEL_VALUE.sub("-", text)[:63].strip("-._")
    return value or "unnamed"


def labels(job: JobLaunch) -> dict[str, str]:
    return {
        MANAGED_BY: MANAGER,
        PIPELINE_LABEL: label_value(job.pipeline),
        RUN_LABEL: str(job.run_id),
        JOB_LABEL: str(job.job_id),
    }


def strip_credentials(url: str) -> str:
    """``url`` without a password or token; an ssh user name (never a secret) stays."""

    def strip(match: re.Match[str]) -> str:
        keep = ":" not in match["userinfo"] and not match["scheme"].lower().startswith("http")
        return match.group(0) if keep else match["scheme"]

    return _USERINFO.sub(strip, url)


def secret_manifest(
    job: JobLaunch, template: PodTemplate, owner: Mapping[str, Any] | None = None
) -> Manifest:
    """The job's Secret: its token and the repository URL as given (maybe with
    credentials); ``owner``, the job's pod once created, goes in its ownerReferences."""
    manifest: Manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name(job.job_id),
            "namespace": template.namespace,
            "labels": labels(job),
        },
        "data": {
            TOKEN_KEY: _b64(job.token),
            REPOSITORY_KEY: _b64(job.repository),
            **_git_access_data(job),
        },
    }
    if owner is not None:
        manifest["metadata"].update(owner_patch(owner)["metadata"])
    return manifest


def _git_access_data(job: JobLaunch) -> dict[str, str]:
    access = job.git_access
    if access is None:
        return {}
    if access.ssh_private_key:
        return {
            SSH_KEY_KEY: _b64(access.ssh_private_key),
            KNOWN_HOSTS_KEY: _b64(access.ssh_known_hosts),
        }
    return {GIT_HEADER_KEY: _b64(access.http_header)}


def owner_patch(pod: Mapping[str, Any]) -> Manifest:
    """Makes the pod the Secret's owner: the Secret goes with the pod."""
    meta = pod["metadata"]
    owner = {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}
    return {"metadata": {"ownerReferences": [owner]}}


def pod_manifest(job: JobLaunch, template: PodTemplate) -> Manifest:
    size = f"{max(1, job.workspace_size_gb)}Gi"
    deadline = max(1, job.max_duration_seconds) + template.start_budget_seconds
    uid = template.run_as_user
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(job.job_id),
            "namespace": template.namespace,
            "labels": labels(job),
            "annotations": {
                "danube.dev/pipeline-name": job.pipeline,
                "danube.dev/commit": job.commit_sha,
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": template.termination_grace_seconds,
            "activeDeadlineSeconds": deadline,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "fsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": [_checkout(job, template)],
            "containers": [_coordinator(job, template), _worker(job, template)],
            "volumes": [
                {"name": "workspace", "emptyDir": {"sizeLimit": size}},
                {"name": "control", "emptyDir": {"sizeLimit": template.control_size}},
                {"name": "home", "emptyDir": {"sizeLimit": size}},
                {
                    "name": "job-secret",
                    "secret": {
                        "secretName": secret_name(job.job_id),
                        "defaultMode": 0o440,
                        "items": [{"key": TOKEN_KEY, "path": TOKEN_KEY}],
                    },
                },
                {
                    "name": "checkout-secret",
                    "secret": {
                        "secretName": secret_name(job.job_id),
                        "defaultMode": 0o440,
                        "items": [
                            {"key": key, "path": key}
                            for key in (REPOSITORY_KEY, *_git_access_data(job))
                        ],
                    },
                },
            ],
        },
    }


def _checkout(job: JobLaunch, template: PodTemplate) -> Manifest:
    env = {
        "DANUBE_REPO": strip_credentials(job.repository),
        "DANUBE_COMMIT_SHA": job.commit_sha,
        "DANUBE_REF": job.ref,
        "DANUBE_REPOSITORY_FILE": f"{CHECKOUT_SECRET_DIR}/{REPOSITORY_KEY}",
        # Files that exist only when git_authentication gave the job credentials.
        "DANUBE_GIT_HEADER_FILE": f"{CHECKOUT_SECRET_DIR}/{GIT_HEADER_KEY}",
        "DANUBE_GIT_SSH_KEY_FILE": f"{CHECKOUT_SECRET_DIR}/{SSH_KEY_KEY}",
        "DANUBE_GIT_KNOWN_HOSTS_FILE": f"{CHECKOUT_SECRET_DIR}/{KNOWN_HOSTS_KEY}",
        "DANUBE_GIT_CREDENTIAL": job.git_access.description if job.git_access else "",
        "DANUBE_GIT_REPOSITORY": job.git_access.repository if job.git_access else "",
        "GIT_TERMINAL_PROMPT": "0",
        "HOME": "/tmp",
        **GIT_SAFE_DIRECTORY,
    }
    return _container(
        "checkout",
        template.checkout_image or template.coordinator_image,
        [template.shell, "-c", CHECKOUT_SCRIPT],
        env,
        [
            _mount("workspace", WORKSPACE),
            _mount("checkout-secret", CHECKOUT_SECRET_DIR, read_only=True),
        ],
        _SIDECAR_RESOURCES,
    )


def _coordinator(job: JobLaunch, template: PodTemplate) -> Manifest:
    env = {k: v for k, v in job.env.items() if v != job.token and k != "DANUBE_JOB_TOKEN"}
    env.update(
        DANUBE_REPO=strip_credentials(env.get("DANUBE_REPO", job.repository)),
        DANUBE_SCRIPT=job.script,
        DANUBE_WORKSPACE=WORKSPACE,
        DANUBE_JOB_TOKEN_FILE=TOKEN_FILE,
        **GIT_SAFE_DIRECTORY,
    )
    return _container(
        "coordinator",
        template.coordinator_image,
        list(template.coordinator_command),
        env,
        [_mount("workspace", WORKSPACE), _mount("job-secret", JOB_SECRET_DIR, read_only=True)],
        _SIDECAR_RESOURCES,
    )


def _worker(job: JobLaunch, template: PodTemplate) -> Manifest:
    env = {
        "CI": "true",
        "DANUBE_WORKSPACE": WORKSPACE,
        "HOME": HOME,
        **GIT_SAFE_DIRECTORY,
    }
    return _container(
        "worker",
        job.image or Worker().image,
        [template.shell, "-c", WORKER_IDLE_SCRIPT],
        env,
        [_mount("workspace", WORKSPACE), _mount("control", CONTROL_DIR), _mount("home", HOME)],
        worker_resources(job.resources),
    )


def worker_resources(given: Mapping[str, str]) -> Manifest:
    """The pipeline's ``worker.resources`` over the defaults of ``domain.config``."""
    default = Resources()

    def pick(key: str) -> str:
        value = str(given.get(key, "") or "").strip()
        return value or str(getattr(default, key))

    return {
        "requests": {"cpu": pick("cpu_request"), "memory": pick("memory_request")},
        "limits": {"cpu": pick("cpu_limit"), "memory": pick("memory_limit")},
    }


def _container(
    name: str,
    image: str,
    command: list[str],
    env: Mapping[str, str],
    mounts: list[Manifest],
    resources: Mapping[str, Any],
) -> Manifest:
    return {
        "name": name,
        "image": image,
        "command": [_literal(word) for word in command],
        "env": [{"name": key, "value": _literal(value)} for key, value in env.items()],
        "workingDir": WORKSPACE,
        "volumeMounts": mounts,
        "resources": {group: dict(values) for group, values in resources.items()},
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _mount(volume: str, path: str, read_only: bool = False) -> Manifest:
    mount: Manifest = {"name": volume, "mountPath": path}
    if read_only:
        mount["readOnly"] = True
    return mount


def _literal(text: str) -> str:
    """Kubernetes expands ``$(VAR)`` in commands and env values; ``$$`` is a ``$``."""
    return text.replace("$", "$$")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
