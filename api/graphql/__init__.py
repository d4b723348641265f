"""The GraphQL API (strawberry on FastAPI), served at ``/graphql``: queries over the
read models, mutations for commands, subscriptions for live runs, jobs and logs, all
through the application layer (``api.app``), which checks every one of them against the
caller's permissions."""
