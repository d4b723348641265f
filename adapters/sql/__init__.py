"""SQL storage: the event store (SQLite and PostgreSQL recorders with group commit and
live following), the read-model store, the projection followers and replay.

The two databases differ in a handful of places (placeholders, connections, locking,
notifications); those live in ``dialect.py`` and the recorder classes. Everything else is
written once."""
