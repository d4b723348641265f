"""Personal API tokens: created and revoked as events (audit facts); only a hash is kept."""
