"""``danube provenance verify``, ``danube keys generate --signing`` and ``danube keys
public``.

``verify FILE --public-key KEY [--artifact FILE ...]`` checks a DSSE envelope someone
handed over; ``verify --job ID`` checks a job's stored ``provenance.json`` and every
artifact it names, on the server's machine (the key defaults to the data directory's
signing key). Exit status: 0 verified, 1 any mismatch (one line saying which), 2 usage."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from adapters.artifacts.names import ArtifactError
from adapters.crypto.signing import (
    SIGNING_KEY_FILE,
    Ed25519Verifier,
    generate_signing_key,
    load_or_create_signing_key,
)
from api.bootstrap import build
from api.commands.errors import EXIT_FAILED, EXIT_USAGE, CommandError
from api.settings import Settings
from domain.provenance.envelope import open_envelope
from domain.provenance.errors import ProvenanceError
from domain.provenance.subjects import check_subjects, subject_digests
from domain.runs.entities import PROVENANCE_ARTIFACT


def verify(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.file) == bool(args.job):
        raise CommandError("give either a provenance FILE or --job ID", EXIT_USAGE)
    if args.job:
        return _verify_job(args, settings)
    if not args.public_key:
        raise CommandError("--public-key KEY is needed to verify a FILE", EXIT_USAGE)
    envelope = _read(Path(args.file), "the provenance file")
    artifacts = {Path(f).name: _sha256(Path(f)) for f in args.artifact}
    return _check(envelope, _verifier(args.public_key, settings), artifacts)


def _verify_job(args: argparse.Namespace, settings: Settings) -> int:
    try:
        job_id = UUID(args.job).hex
    except ValueError:
        raise CommandError(f"invalid job id {args.job!r}: expected a UUID", EXIT_USAGE) from None
    danube = build(settings)
    try:
        store = danube.artifacts
        try:
            with store.open(job_id, PROVENANCE_ARTIFACT) as file:
                envelope = file.read()
        except ArtifactError:
            job = danube.views.job(job_id)
            reaped = job.artifacts_reaped if job is not None else None
            why = f"was reaped on {reaped['at']}" if reaped else "is not stored (yet)"
            raise CommandError(f"the provenance of job {job_id} {why}", EXIT_FAILED) from None
        verifier = _verifier(args.public_key, settings)
        try:
            statement = open_envelope(envelope, verifier).statement
        except ProvenanceError as error:
            raise CommandError(str(error), EXIT_FAILED) from None
        artifacts = {}
        for name in subject_digests(statement):
            try:
                with store.open(job_id, name) as file:
                    artifacts[name] = _digest(file)
            except ArtifactError:
                raise CommandError(
                    f"artifact {name}: named by the statement, not stored any more", EXIT_FAILED
                ) from None
    finally:
        danube.close()
    return _check(envelope, verifier, artifacts)


def _check(envelope: bytes, verifier: Ed25519Verifier, artifacts: dict[str, str]) -> int:
    try:
        opened = open_envelope(envelope, verifier)
        checked = check_subjects(opened.statement, artifacts)
    except ProvenanceError as error:
        raise CommandError(str(error), EXIT_FAILED) from None
    subjects = len(subject_digests(opened.statement))
    print(f"verified: signed by key {opened.keyid}; {subjects} subject(s)")
    for name in checked:
        print(f"  {name}: sha256 {artifacts[name]} matches")
    return 0


def _verifier(public_key: str | None, settings: Settings) -> Ed25519Verifier:
    if public_key:
        return _or_refuse(lambda: Ed25519Verifier.from_pem(_read(Path(public_key), public_key)))
    path = settings.data_dir.resolve() / SIGNING_KEY_FILE
    return _or_refuse(lambda: Ed25519Verifier.from_pem(_read(path, str(path)), str(path)))


def _or_refuse(make: Any) -> Ed25519Verifier:
    try:
        verifier: Ed25519Verifier = make()
    except ProvenanceError as error:
        raise CommandError(str(error), EXIT_FAILED) from None
    return verifier


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {what}: {error.strerror or error}", EXIT_USAGE) from None


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return _digest(file)
    except OSError as error:
        raise CommandError(
            f"cannot read artifact {path}: {error.strerror or error}", EXIT_USAGE
        ) from None


def _digest(file: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def generate_signing(args: argparse.Namespace, settings: Settings) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir.resolve() / SIGNING_KEY_FILE
    try:
        signer = generate_signing_key(path, force=args.force)
    except ProvenanceError as error:
        raise CommandError(str(error), EXIT_FAILED) from None
    print(f"signing key {signer.keyid} written to {path} (mode 0600)")
    return 0


def public(args: argparse.Namespace, settings: Settings) -> int:
    """The public half of the signing key (created first if there is none yet)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        signer = load_or_create_signing_key(settings.data_dir.resolve() / SIGNING_KEY_FILE)
    except ProvenanceError as error:
        raise CommandError(str(error), EXIT_FAILED) from None
    print(signer.public_pem(), end="")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    provenance = commands.add_parser("provenance", help="check signed SLSA provenance")
    actions = provenance.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify_ = actions.add_parser(
        "verify", help="check a provenance envelope's signature and its subjects' digests"
    )
    verify_.add_argument("file", nargs="?", help="a provenance.json (DSSE envelope)")
    verify_.add_argument("--public-key", metavar="KEY", help="PEM public key file")
    verify_.add_argument(
        "--artifact", action="append", default=[], metavar="FILE", help="check FILE's sha256"
    )
    verify_.add_argument("--job", metavar="ID", help="the stored provenance of job ID")
    verify_.set_defaults(handler=verify)
