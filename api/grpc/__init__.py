"""The gRPC surface: JobService for coordinators, plus health and reflection."""
