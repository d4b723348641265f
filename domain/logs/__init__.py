"""Job logs: what may be written to a job's log (masking of secrets and tokens)."""
