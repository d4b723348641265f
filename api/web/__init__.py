"""Serving the web app (``webapp/``, built to static files) at ``/``."""
