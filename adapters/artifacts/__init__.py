"""Artifact storage: files a job uploaded, kept under the job."""
