"""Authorisation: who may do what to which pipeline (``policy``), and the record of
every refusal (``aggregates``)."""
