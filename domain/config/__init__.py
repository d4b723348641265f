"""Configuration as code: the validated contents of the config repository."""
