"""Each distinct document is parsed and validated once: 200 clients subscribing with the
same text (a page's subscription) would otherwise each pay for parsing and for every
validation rule (milliseconds each, in the event loop every subscriber shares).

The limits (depth, aliases, tokens) are the schema's and fixed for its life, so a
document's validation errors are a function of its text; the parsed document is only
read by execution. The memo is bounded (texts are at most ``MAX_TOKENS`` tokens)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension

DOCUMENTS = 256  # distinct documents remembered (each a few KB at most)


class Documents:
    """Parsed documents and their validation errors by text, most recent last."""

    def __init__(self, size: int = DOCUMENTS) -> None:
        self._size = size
        self._known: OrderedDict[str, tuple[DocumentNode, list[GraphQLError]]] = OrderedDict()

    def get(self, text: str) -> tuple[DocumentNode, list[GraphQLError]] | None:
        found = self._known.get(text)
        if found is not None:
            self._known.move_to_end(text)
        return found

    def put(self, text: str, document: DocumentNode, errors: list[GraphQLError]) -> None:
        self._known[text] = (document, errors)
        if len(self._known) > self._size:
            self._known.popitem(last=False)


class RememberedDocuments(SchemaExtension):
    """Hands a known text its parsed document and validation errors (after the limits'
    extensions have set the parse options and rules, which a known text passed)."""

    def __init__(self, *, documents: Documents) -> None:
        super().__init__()
        self._documents = documents
        self._known: tuple[DocumentNode, list[GraphQLError]] | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        self._known = self._documents.get(text) if text else None
        if self._known is not None and context.graphql_document is None:
            context.graphql_document = self._known[0]
        yield

    def on_validate(self) -> Iterator[None]:
        context: Any = self.execution_context
        if self._known is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = list(self._known[1])
        yield
        if self._known is None and context.query and context.graphql_document is not None:
            errors = context.pre_execution_errors or []
            self._documents.put(context.query, context.graphql_document, list(errors))
