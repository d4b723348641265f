"""Signed SLSA provenance of finished jobs: in-toto statements in DSSE envelopes."""
