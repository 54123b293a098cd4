"""Which lexical candidates a scope lets through, without a join per search.

A lexical search ranks its ~400 best candidates in memory (kb.lexical_bm25), then keeps
those the asker's scope allows: the scope's SQL condition (kb.retrieve.Scope.sql, on the
documents table `d` and the chunk's version `v`) used to be joined to the 400 chunk ids on
every search, with the groups' `json_each` subquery evaluated per chunk: ~10 ms a search at
100,000 chunks, two or three searches a question.

The condition only reads `d` and `v`, so its verdict is the same for every chunk of one
version. Here it is evaluated once per version (one statement over the versions table, a few
thousand rows) and kept per condition and parameters, with each chunk's version and
language read once, all for one state of the database (PRAGMA data_version, as the lexical
cache): a search then looks its candidates up in two dictionaries. SQLite still decides what
the condition means; the rows it lets through are those the join gave, in its order
(chunk id).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

_LANGUAGE_BITS = 8
"""A chunk's version and language are packed in one int (version index << 8 | language)."""


class ChunkOwners:
    """Every chunk's version and language, and the versions each scope condition allows,
    for one state of the registry."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        versions: dict[tuple[str, int], int] = {}
        languages: dict[str, int] = {}
        owners: dict[str, int] = {}
        for chunk_id, document_id, version, language in db.execute(
            "SELECT chunk_id, document_id, version, language FROM chunks"
        ):
            number = versions.setdefault((document_id, version), len(versions))
            code = languages.setdefault(language, len(languages))
            if code >= 1 << _LANGUAGE_BITS:
                raise ValueError(f"more than {1 << _LANGUAGE_BITS} chunk languages")
            owners[chunk_id] = number << _LANGUAGE_BITS | code
        self.versions = versions
        self.version_numbers = [version for _, version in versions]
        self.languages = languages
        self.owners = owners
        self._allowed: dict[tuple[str, tuple[object, ...]], frozenset[int]] = {}
        self._lock = threading.Lock()

    def allowed_versions(self, condition: str, params: Sequence[object]) -> frozenset[int]:
        """The versions (their numbers here) that `condition` lets through: one statement,
        then kept for this condition and these parameters."""
        key = (condition, tuple(params))
        with self._lock:
            found = self._allowed.get(key)
        if found is None:
            rows = self.db.execute(
                "SELECT v.document_id, v.version FROM versions v "
                f"JOIN documents d ON d.document_id = v.document_id WHERE {condition}",
                list(params),
            ).fetchall()
            found = frozenset(
                self.versions[(r[0], r[1])] for r in rows if (r[0], r[1]) in self.versions
            )
            with self._lock:
                if len(self._allowed) > 256:
                    self._allowed.clear()
                self._allowed[key] = found
        return found

    def in_scope(
        self,
        chunk_ids: Sequence[str],
        condition: str,
        params: Sequence[object],
        language: str | None = None,
    ) -> list[tuple[str, int]]:
        """(chunk id, version) of the chunks whose version `condition` allows (and in
        `language`, if given), in chunk id order: the rows kb.lexical.in_scope's join
        returns for the same condition, in the order SQLite returns them."""
        allowed = self.allowed_versions(condition, params)
        wanted = -1 if language is None else self.languages.get(language, -2)
        mask = (1 << _LANGUAGE_BITS) - 1
        rows = []
        for chunk_id in sorted(set(chunk_ids)):
            owner = self.owners.get(chunk_id)
            if owner is None or (owner >> _LANGUAGE_BITS) not in allowed:
                continue
            if wanted != -1 and owner & mask != wanted:
                continue
            rows.append((chunk_id, self.version_numbers[owner >> _LANGUAGE_BITS]))
        return rows
