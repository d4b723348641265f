"""Wiring for job execution: the vault, job output, executors and their loops."""
