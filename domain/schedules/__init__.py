"""Cron triggers: each scheduled minute fires once, across restarts and replicas."""
