"""A scope condition judged per kind of version on PostgreSQL, as kb.lexical_scope does on SQLite.

A scope's condition (kb.retrieve.Scope.sql: groups through `json_each`, category, status,
dates) reads only the documents row `d` and the version row `v`, so versions alike in every
column it reads get the same verdict. At 100,000 chunks the 7,885 versions are ~40 kinds.
PostgreSQL ran each new condition over every version (the groups' JSON parsed 7,885 times,
~10-15 ms on the server), and a group's first question runs several: the lexical search's
and readable()'s scope masks (kb.lexical_pg_postings.ScopeMasks) and kb.domain's verdicts
(the scope's mean, the restricted gap). Here the kinds are read once per registry generation
(one statement, grouped in SQL: one row a kind, its versions as two arrays) and a condition
runs on the kinds, bound as arrays under the aliases `d` and `v`. PostgreSQL still decides
what the condition means; only the rows it sees are fewer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kb.lexical_scope import _KIND_COLUMNS, reads_only_kind_columns

_GENERATION_SQL = "(SELECT value FROM meta WHERE key = 'index_generation')"
_CHANGES_SQL = "(SELECT changes FROM lexical_stats WHERE id = 1)"

_TYPES = {"current_version": "bigint"}
"""Kind columns that are not text (kb.registry's documents and versions tables)."""

_COLUMNS = [(t, c) for t in ("d", "v") for c in _KIND_COLUMNS[t]]


@dataclass(frozen=True)
class VersionKinds:
    """The registry's versions by kind, at one registry generation and lexical state."""

    generation: int
    changes: int  # kb.lexical_pg's change counter: a write of terms moves it
    values: list[tuple[object, ...]]  # per kind, the `_COLUMNS` values
    documents: list[list[str]]  # per kind, its versions' documents
    versions: list[list[int]]  # and their numbers

    @classmethod
    def read(cls, db: Any) -> VersionKinds:
        """Every kind with its versions, the generation and the change counter, in one
        statement (one snapshot)."""
        columns = ", ".join(f"{t}.{c}" for t, c in _COLUMNS)
        rows = db.execute(
            f"SELECT {_GENERATION_SQL}, {_CHANGES_SQL}, array_agg(v.document_id), "
            f"array_agg(v.version), {columns} FROM versions v "
            f"JOIN documents d ON d.document_id = v.document_id GROUP BY {columns}"
        ).fetchall()
        if not rows:
            row = db.execute(f"SELECT {_GENERATION_SQL}, {_CHANGES_SQL}").fetchone()
            return cls(int(row[0] or 0), int(row[1] or 0), [], [], [])
        return cls(
            int(rows[0][0] or 0),
            int(rows[0][1] or 0),
            [tuple(r[4:]) for r in rows],
            [list(r[2]) for r in rows],
            [[int(v) for v in r[3]] for r in rows],
        )

    def passing(
        self, db: Any, condition: str, params: Sequence[object]
    ) -> tuple[list[str], list[int]]:
        """The versions (documents, numbers) `condition` passes: one statement on the kinds.
        The caller checks `reads_only_kind_columns(condition)` first."""
        if not self.values:
            return [], []
        arrays = [f"?::{_TYPES.get(c, 'text')}[]" for _, c in _COLUMNS]
        names = [f"{t}_{c}" for t, c in _COLUMNS]

        def aliased(table: str) -> str:
            return ", ".join(f"{t}_{c} AS {c}" for t, c in _COLUMNS if t == table)

        sql = (
            f"WITH k AS (SELECT * FROM unnest(?::bigint[], {', '.join(arrays)}) "
            f"AS k(kind, {', '.join(names)})), "
            f"d AS (SELECT kind, {aliased('d')} FROM k), "
            f"v AS (SELECT kind, {aliased('v')} FROM k) "
            f"SELECT v.kind FROM v JOIN d ON d.kind = v.kind WHERE {condition}"
        )
        bound: list[object] = [list(range(len(self.values)))]
        bound += [[value[i] for value in self.values] for i in range(len(_COLUMNS))]
        documents: list[str] = []
        versions: list[int] = []
        for (kind,) in db.execute(sql, [*bound, *params]).fetchall():
            documents += self.documents[kind]
            versions += self.versions[kind]
        return documents, versions


class KindsByBase:
    """The latest VersionKinds of each base (schema) this process reads, read again when the
    registry's generation (or, when the caller gives it, the lexical change counter) moves
    on."""

    def __init__(self) -> None:
        self._kinds: dict[tuple, VersionKinds] = {}
        self._lock = threading.Lock()

    def passing(
        self,
        db: Any,
        generation: int,
        condition: str,
        params: Sequence[object],
        changes: int | None = None,
    ) -> tuple[list[str], list[int]] | None:
        """The versions `condition` passes at `generation` (and lexical state `changes`, if
        given), judged per kind; None when the condition reads a column no kind is made of,
        or the base is no longer (or not yet) there (the caller then runs the condition
        over the versions)."""
        if not reads_only_kind_columns(condition):
            return None
        schema = getattr(db, "schema", None)
        key = (getattr(db, "url", None), schema) if schema is not None else (id(db),)
        with self._lock:
            kinds = self._kinds.get(key)

        def current(found: VersionKinds | None) -> bool:
            return (
                found is not None
                and found.generation == generation
                and changes in (None, found.changes)
            )

        if not current(kinds):
            kinds = VersionKinds.read(db)
            with self._lock:
                self._kinds[key] = kinds
            if not current(kinds):
                return None
        assert kinds is not None
        return kinds.passing(db, condition, params)


KINDS = KindsByBase()
"""The process's kinds, shared by the lexical scope masks and kb.domain."""
