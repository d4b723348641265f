"""Retention: the reaper removes old job logs, artifacts and registry images."""
