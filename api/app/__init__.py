"""The application layer: the commands and queries every entry point (REST, GraphQL,
the CLI) calls, with typed results and one mapping of domain errors. Transports parse,
call one function here and render its result; no rule lives in them."""
