"""Executing jobs: the executor port every backend implements (local processes,
Kubernetes pods), the dispatcher and the reconciler that drive it."""
