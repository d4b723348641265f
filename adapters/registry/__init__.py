"""The internal OCI registry, through the Registry HTTP API v2 (distribution spec)."""
