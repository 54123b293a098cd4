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

A new condition is evaluated on the kinds of version, not on every version: versions alike in
every column the condition reads (`_KIND_COLUMNS`: groups, category, status, dates) get the
same verdict, and at 100,000 chunks 7,885 versions are 40 kinds. The condition runs on those
rows (bound as `VALUES`, under the aliases `d` and `v`): 0.1-0.5 ms where the groups'
`json_each` over every version took ~10 ms, four times on a group's first question. A
condition that reads any other column (the reviewers' preview reads `v.document_id`) runs
over the versions as before.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Sequence

_LANGUAGE_BITS = 8
"""A chunk's version and language are packed in one int (version index << 8 | language)."""

_KIND_COLUMNS = {
    "d": (
        "groups_json",
        "category",
        "language",
        "effective_date",
        "expiry_date",
        "current_version",
    ),
    "v": ("status", "effective_date", "expiry_date", "replaced_on"),
}
"""The columns of the documents (`d`) and versions (`v`) rows a kind of version is made of."""

_MAX_KIND_PARAMS = 30_000
"""Bound values in one statement of kinds at most (SQLite allows 32,766): beyond that the
condition runs over the versions."""

_KIND_SHARE = 0.5
"""Kinds are judged when they are at most this share of the versions (otherwise the
versions are: binding every kind would cost more than it saves)."""

_COLUMN = re.compile(r"\b([dv])\.(\w+)")


def reads_only_kind_columns(condition: str) -> bool:
    """Whether every `d.` and `v.` column `condition` names is one of `_KIND_COLUMNS`."""
    return all(name in _KIND_COLUMNS[table] for table, name in _COLUMN.findall(condition))


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
        self._kinds: tuple[list[tuple[object, ...]], list[list[int]]] | None = None
        self._lock = threading.Lock()

    def kinds(self) -> tuple[list[tuple[object, ...]], list[list[int]]]:
        """The distinct `_KIND_COLUMNS` values of the versions that hold chunks (the `d`
        columns, then the `v` ones) and each kind's version numbers: one statement, once."""
        with self._lock:
            kinds = self._kinds
        if kinds is None:
            columns = [f"{t}.{c}" for t in ("d", "v") for c in _KIND_COLUMNS[t]]
            found: dict[tuple[object, ...], int] = {}
            members: list[list[int]] = []
            for row in self.db.execute(
                f"SELECT v.document_id, v.version, {', '.join(columns)} FROM versions v "
                "JOIN documents d ON d.document_id = v.document_id"
            ):
                number = self.versions.get((row[0], row[1]))
                if number is None:
                    continue
                kind = found.setdefault(tuple(row[2:]), len(found))
                if kind == len(members):
                    members.append([])
                members[kind].append(number)
            kinds = (list(found), members)
            with self._lock:
                self._kinds = kinds
        return kinds

    def _by_kind(self, condition: str, params: Sequence[object]) -> frozenset[int] | None:
        """The versions `condition` lets through, judged on one version of each kind; None
        when it reads other columns or the kinds are too many to be worth it."""
        if not reads_only_kind_columns(condition):
            return None
        values, members = self.kinds()
        width = 1 + len(_KIND_COLUMNS["d"]) + len(_KIND_COLUMNS["v"])
        too_many = len(values) > _KIND_SHARE * len(self.versions)
        if too_many or len(values) * width + len(params) > _MAX_KIND_PARAMS:
            return None
        if not values:
            return frozenset()
        row = f"({', '.join('?' * width)})"
        cte = (
            f"WITH kinds(kind, {', '.join('d_' + c for c in _KIND_COLUMNS['d'])}, "
            f"{', '.join('v_' + c for c in _KIND_COLUMNS['v'])}) AS "
            f"(VALUES {', '.join([row] * len(values))}), "
            f"d(kind, {', '.join(_KIND_COLUMNS['d'])}) AS "
            f"(SELECT kind, {', '.join('d_' + c for c in _KIND_COLUMNS['d'])} FROM kinds), "
            f"v(kind, {', '.join(_KIND_COLUMNS['v'])}) AS "
            f"(SELECT kind, {', '.join('v_' + c for c in _KIND_COLUMNS['v'])} FROM kinds) "
        )
        bound: list[object] = []
        for kind, value in enumerate(values):
            bound += [kind, *value]
        try:
            rows = self.db.execute(
                f"{cte}SELECT v.kind FROM v JOIN d ON d.kind = v.kind WHERE {condition}",
                [*bound, *params],
            ).fetchall()
        except sqlite3.Error:  # a column named without `d.` or `v.`: the plain statement
            return None
        return frozenset(number for (kind,) in rows for number in members[kind])

    def allowed_versions(self, condition: str, params: Sequence[object]) -> frozenset[int]:
        """The versions (their numbers here) that `condition` lets through: one statement,
        then kept for this condition and these parameters."""
        key = (condition, tuple(params))
        with self._lock:
            found = self._allowed.get(key)
        if found is None:
            found = self._by_kind(condition, params)
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
