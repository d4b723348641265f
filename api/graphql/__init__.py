"""The GraphQL API (strawberry on FastAPI), served at ``/graphql``: queries over the
read models, mutations for commands, subscriptions for live runs, jobs and logs, all
through the application layer (``api.app``). Authorisation arrives with its own issue;
until then it is as open as the REST routes."""
