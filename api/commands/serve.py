"""``danube up``, ``danube server``, ``danube projector``, ``danube pod-adapter``: the
long-running processes."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from api.bootstrap import Danube, build, build_core, build_pod_adapter, build_server
from api.settings import Settings

if TYPE_CHECKING:
    from api.processes import HttpServer
    from api.triggers.loops import ConfigSyncLoop

log = logging.getLogger("danube")


def up(args: argparse.Namespace, settings: Settings) -> int:
    """Everything in one process: the embedded default."""
    from api.commands.example import ensure_example_run
    from api.execution.embedded import start_execution
    from api.processes import StopSignals, Supervisor, run_until_signalled
    from api.triggers.loops import config_sync_loop, start_triggers

    if settings.executor == "kubernetes":
        from api.execution.kubernetes import refuse_loopback_master

        refuse_loopback_master(settings, settings.grpc_address)
    danube = build(settings)
    config_sync = config_sync_loop(danube, danube.webhook_secrets.forget)
    http = _http_server(danube, config_sync)
    _first_admin(danube)  # once start-up can no longer fail on its address
    signals = StopSignals()  # a signal while starting stops cleanly once started
    danube.store.start_listening()  # PostgreSQL: other processes' commits (e.g. the CLI's)
    supervisor = Supervisor()
    execution = start_execution(danube, supervisor, settings.grpc_address)
    start_triggers(danube, supervisor, scheduler=config_sync)
    supervisor.add("http", http)
    if not args.no_example:
        ensure_example_run(danube)
    log.info(
        "danube is up",
        extra={
            "url": settings.public_url,
            "data_dir": str(settings.data_dir.resolve()),
            "event_store": settings.event_store,
            "executor": settings.executor,
            "grpc": execution.grpc.address,
        },
    )
    run_until_signalled(danube, supervisor, execution.stop, signals)
    return 0


def server(args: argparse.Namespace, settings: Settings) -> int:
    from api.execution.lifetimes import serve_jobs
    from api.execution.provenance import provenance_follower
    from api.processes import StopSignals, Supervisor, run_until_signalled
    from api.triggers.loops import config_sync_loop, start_triggers

    danube = build_server(settings)  # every capability: HTTP, the JobService, triggers
    forget = danube.webhook_secrets.forget
    config_sync = None if args.no_scheduler else config_sync_loop(danube, forget)
    http = _http_server(danube, config_sync)
    _first_admin(danube)  # once start-up can no longer fail on its address
    signals = StopSignals()
    danube.store.start_listening()
    supervisor = Supervisor()
    start_triggers(danube, supervisor, scheduler=False if args.no_scheduler else config_sync)
    supervisor.add("http", http)
    supervisor.add("provenance", provenance_follower(danube))  # where artifacts are stored
    grpc = serve_jobs(danube, supervisor, settings.grpc_address)  # what job pods dial
    run_until_signalled(danube, supervisor, lambda: grpc.stop(grace=1.0), signals)
    return 0


def _first_admin(danube: Danube) -> None:
    """DESIGN.md §8: with no config repository, a local admin whose password is shown once."""
    from api.auth.local_admin import announce_first_admin

    settings = danube.settings
    in_force = danube.config.current() is not None
    announce_first_admin(settings.data_dir, settings.config_repo_url, in_force)


def _http_server(danube: Danube, config_sync: ConfigSyncLoop | None) -> HttpServer:
    """Bound before anything starts: an address in use stops start-up at once."""
    from api.processes import HttpServer
    from api.server import create_app

    settings = danube.settings
    try:
        app = create_app(danube, config_sync=config_sync)
        return HttpServer(app, settings.http_host, settings.http_port)
    except BaseException:
        danube.close()
        raise


def pod_adapter(args: argparse.Namespace, settings: Settings) -> int:
    """The Kubernetes executor in a process of its own: reconciles the jobs of the read
    models (kept by ``danube projector``) with pods; job pods dial ``danube server``."""
    from api.execution.kubernetes import FreshlyMaskedOutput, kubernetes_executor
    from api.execution.leased import LeasedExecutor
    from api.execution.lifetimes import job_state_releaser
    from api.execution.loops import output_flusher, reconciler
    from api.observability.process import observe_process
    from api.processes import StopSignals, Supervisor, hold_lease, run_until_signalled

    if not settings.k8s_master_address:
        print(
            "danube: set DANUBE_K8S_MASTER_ADDRESS to the host:port job pods dial for the "
            "JobService (danube server's gRPC address as seen from the cluster)",
            file=sys.stderr,
        )
        return 2
    danube = build_pod_adapter(settings)  # no inbox, triggers, artifacts or signer
    signals = StopSignals()
    danube.store.start_listening()
    lease = hold_lease(danube, "pod-adapter", signals)  # standing by while another acts
    if lease is None:
        danube.close()
        return 0
    executor = LeasedExecutor(kubernetes_executor(settings, danube.logs), lease)
    supervisor = Supervisor()
    observe_process(danube, supervisor, "pod_adapter", settings.pod_adapter_metrics_address)
    supervisor.on_stop(danube.store.views.announce_all)
    output = FreshlyMaskedOutput(
        danube.logs, danube.views, danube.store.log.position, danube.wait_for_views
    )
    reconciling = reconciler(danube, executor, settings.k8s_master_address, output)
    supervisor.add("reconciler", reconciling)
    supervisor.add("output-flusher", output_flusher(danube.logs))
    supervisor.add("job-state", job_state_releaser(danube))  # what late writes left
    log.info(
        "pod adapter is up",
        extra={"namespace": settings.k8s_namespace_jobs, "master": settings.k8s_master_address},
    )

    def stop_executing() -> None:
        executor.close()
        reconciling.wait_for_steps(5.0)

    try:
        run_until_signalled(danube, supervisor, stop_executing, signals)
    finally:
        lease.release()  # after the last write: a standby takes over at once
    return 0


def projector(args: argparse.Namespace, settings: Settings) -> int:
    from api.observability.process import observe_process
    from api.processes import (
        StopSignals,
        Supervisor,
        hold_lease,
        run_until_signalled,
        start_projectors,
    )

    danube = build_core(settings)  # no master key: folding events never opens a secret
    signals = StopSignals()
    danube.store.start_listening()
    lease = hold_lease(danube, "projector", signals)  # standing by while another acts
    if lease is None:
        danube.close()
        return 0
    supervisor = Supervisor()
    observe_process(danube, supervisor, "projector", settings.projector_metrics_address)
    start_projectors(danube, supervisor)
    try:
        run_until_signalled(danube, supervisor, None, signals)
    finally:
        lease.release()
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser("up", help="run everything in one process: the embedded default")
    sub.add_argument(
        "--no-example", action="store_true", help="do not run the example pipeline on first start"
    )
    sub.set_defaults(handler=up)
    sub = commands.add_parser(
        "server", help="run the API server (production: one of several processes)"
    )
    sub.add_argument(
        "--no-scheduler",
        action="store_true",
        help="leave cron triggers and config sync to `danube scheduler` (several replicas)",
    )
    sub.set_defaults(handler=server)
    commands.add_parser("projector", help="run the projection followers (production)").set_defaults(
        handler=projector
    )
    commands.add_parser(
        "pod-adapter", help="run jobs as Kubernetes pods (production: with server and projector)"
    ).set_defaults(handler=pod_adapter)
