"""Metrics, traces and what readiness needs to know about this process: the
observability of Danube (README "Metrics, traces and readiness")."""
