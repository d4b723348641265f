"""Configuration as code: the git-backed config source and the sync loop."""
