"""The HTTP surface: FastAPI app, REST routes, health."""
