"""The GraphQL API (strawberry on FastAPI), served at ``/graphql``. A first, minimal
schema: the ``pipelines`` query and the ``triggerRun`` mutation. Authorisation arrives
with its own issue; until then it is as open as the REST routes."""
