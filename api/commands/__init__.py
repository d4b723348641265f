"""The ``danube`` subcommands, one module per concern."""
