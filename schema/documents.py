"""Parsed documents, their validation and their cost, kept per schema and bounded in bytes.

Each distinct query text is parsed, validated and costed once per process. Entries are keyed
by a 16-byte BLAKE2b digest of the text (the text itself is not kept), evicted least recently
used first once their total weight passes ``max_bytes``. An entry weighs what its parsed form
takes, estimated as ``PARSED_BYTES_PER_CHAR`` times the length of its text. A document over
``max_length`` characters or ``max_tokens`` tokens is refused by the parser before it does
any real work, and a document that does not parse is never kept.
"""

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse

__all__ = ["PARSED_BYTES_PER_CHAR", "CachedDocument", "DocumentCache"]

# graphql-core's AST with locations takes 75-165 bytes per character of a dense document
# (measured on payql's own operations); documents full of long strings take less.
PARSED_BYTES_PER_CHAR = 100

Rules = tuple[type[ASTValidationRule], ...]


@dataclass(slots=True, eq=False)
class CachedDocument:
    """One parsed document, with what validating and costing it found."""

    document: DocumentNode
    weight: int
    rules: Rules | None = None
    errors: list[GraphQLError] = field(default_factory=list)
    costs: dict[str | None, int] = field(default_factory=dict)  # by operation name


class DocumentCache:
    """Documents by digest of their text, least recently used evicted past ``max_bytes``."""

    def __init__(self, *, max_length: int, max_tokens: int, max_bytes: int) -> None:
        self.max_length = max_length
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes
        self.total_bytes = 0
        # The parser's limits, for any other parse of a request's document.
        self.parse_options = {"max_tokens": max_tokens, "max_source_length": max_length}
        self._entries: OrderedDict[bytes, CachedDocument] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> CachedDocument:
        """The cached document for ``query``, parsed now if it is not cached.

        :raises GraphQLError: the document is too long, has too many tokens or does not parse.
        """
        if len(query) > self.max_length:  # refused before hashing or lexing anything
            parse(query, max_source_length=self.max_length)
        key = hashlib.blake2b(query.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        document = parse(query, max_tokens=self.max_tokens, max_source_length=self.max_length)
        entry = CachedDocument(document, weight=len(query) * PARSED_BYTES_PER_CHAR)
        if entry.weight <= self.max_bytes:
            self._keep(key, entry)
        return entry

    def _keep(self, key: bytes, entry: CachedDocument) -> None:
        self._entries[key] = entry
        self.total_bytes += entry.weight
        while self.total_bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.total_bytes -= evicted.weight
