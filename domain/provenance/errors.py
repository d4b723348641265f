"""Why a provenance document is not trusted: one class per kind of tampering, each with
a message that says what was found."""

from __future__ import annotations


class ProvenanceError(Exception):
    """A provenance document failed verification (or could not be read)."""


class EnvelopeFormatError(ProvenanceError):
    """Not a DSSE envelope holding an in-toto statement."""


class WrongKeyError(ProvenanceError):
    """Signed, but by another key than the one given."""


class PayloadChangedError(ProvenanceError):
    """The signature does not match the statement: it was changed after signing."""


class PayloadReserialisedError(ProvenanceError):
    """The statement's JSON was re-serialised (keys reordered) after signing."""


class PayloadTypeError(ProvenanceError):
    """The envelope's payloadType is not (or no longer) the in-toto media type."""


class SubjectMismatchError(ProvenanceError):
    """An artifact's digest differs from its subject's, or it is no subject at all."""


class SigningKeyError(ProvenanceError):
    """The signing key cannot be created, read or used."""
