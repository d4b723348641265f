"""Wiring for triggers: webhooks, cron, manual runs and the config sync loop."""
