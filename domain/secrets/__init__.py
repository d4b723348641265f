"""Encrypted secrets pipelines read at run time."""
