"""Lexical search: BM25 over our own tokens, kept in SQLite FTS5 inside the registry.

Why FTS5 rather than an in-memory BM25 library: the lexical index then lives in the same
database and the same transaction as the registry, so an ingest that fails halfway leaves it
consistent for free, updates are incremental (no rebuild of 100,000 chunks per upload), and
filters (groups, category, dates) are a SQL join. FTS5's ranking function is Okapi BM25.

Tokens are ours, not FTS5's: Chinese is segmented with jieba (search mode, which also emits
the shorter words inside long ones, so 挂失 matches 挂失申请), English is lower-cased,
stop-worded and lightly stemmed. The tokens are stored space-separated, so FTS5's own
tokenizer only has to split on spaces. Chinese runs are converted to Simplified first
(kb.script), so a Traditional question and a Simplified passage share tokens, and vice versa.

Stored tokens are only as good as the tokenizer that made them: the registry's meta table
records `TOKENIZER_VERSION`, and `ensure_current_terms` re-tokenises every chunk once when a
knowledge base built by an earlier tokenizer is opened.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from kb.database import is_postgres
from kb.lexical_bm25 import Bm25Postings
from kb.lexical_scope import ChunkOwners
from kb.script import CJK_RUN, CONVERTER_VERSION, to_simplified

logger = logging.getLogger(__name__)

TOKENIZER_VERSION = f"3; {CONVERTER_VERSION}"
"""Bump the leading number whenever `tokenize` changes what it returns for indexed text:
knowledge bases stamped with another version re-tokenise their chunks when opened."""
_VERSION_KEY = "lexical_tokenizer"
_CJK_RUN = CJK_RUN
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
"""The comma inside "25,000": an amount is one token ("25000"), not "25" and "000", so the
£23,000 a customer wants to send does not match every amount in thousands (£2,000)."""
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "him",
        "her",
        "his",
        "they",
        "them",
        "their",
        "not",
        "no",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "about",
        "into",
        "over",
        "under",
        "then",
        "any",
        "some",
        "such",
        "only",
        "own",
        "same",
        "other",
        "each",
        "both",
        "all",
        "more",
        "most",
        "few",
        "up",
        "down",
        "out",
        "off",
        "please",
        "customer",
        "customers",
        "s",
        "t",
    ]
)
_CJK_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "是",
        "在",
        "我",
        "你",
        "他",
        "她",
        "和",
        "与",
        "及",
        "或",
        "有",
        "要",
        "怎么",
        "怎样",
        "如何",
        "什么",
        "请问",
    ]
)
_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def _stem(word: str) -> str:
    """A light English stemmer: plurals and common verb endings, nothing clever."""
    if len(word) <= 3 or word.isdigit() or word.endswith(("ss", "us", "is")):
        return word
    for suffix, keep in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + keep
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                stem = word[:-1]
            return stem
    return word


def tokenize(text: str) -> list[str]:
    """Search tokens for English and Chinese text (used for both chunks and questions).

    Chinese tokens are Simplified whatever the script of `text`; `kb.script.align` finds
    them in the text as written."""
    tokens: list[str] = []
    lowered = text.lower().replace("’", "'")
    position = 0
    for match in _CJK_RUN.finditer(lowered):
        tokens.extend(_latin_tokens(lowered[position : match.start()]))
        for word in _jieba().lcut_for_search(to_simplified(match.group())):
            if word not in _CJK_STOPWORDS:
                tokens.append(word)
        position = match.end()
    tokens.extend(_latin_tokens(lowered[position:]))
    return tokens


def _live(drafts: bool) -> str:
    """The versions a search reads: live ones, and drafts in a preview (kb.publishing)."""
    return "v.status IN ('current', 'draft')" if drafts else "v.status = 'current'"


def _latin_tokens(text: str) -> list[str]:
    words = (w.split("'")[0] for w in _LATIN_WORD.findall(_THOUSANDS.sub("", text)))
    return [_stem(w) for w in words if w and w not in _STOPWORDS]


def stored_tokenizer_version(db: sqlite3.Connection) -> str | None:
    """The tokenizer version a registry's lexical tokens were made with (None: before
    versions were recorded, or a new registry)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_VERSION_KEY,)).fetchone()
    return None if row is None else str(row[0])


def ensure_current_terms(db: sqlite3.Connection) -> int:
    """Re-tokenise every chunk of a registry whose tokens another tokenizer version made.

    Called when a registry is opened, so an upgrade needs no manual step. The check is one
    read; the rebuild runs once, in one transaction (readers keep the old tokens until it
    commits), and a second process that waited for it finds the new version and does nothing.
    Returns how many chunks were re-tokenised. If another writer holds the database past the
    busy timeout, the rebuild is left to the next opening rather than failing this one.
    """
    if stored_tokenizer_version(db) == TOKENIZER_VERSION or db.in_transaction:
        return 0
    started = time.perf_counter()
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        logger.warning("lexical tokens not rebuilt now (database busy: %s); will retry", e)
        return 0
    try:
        previous = stored_tokenizer_version(db)
        if previous == TOKENIZER_VERSION:
            db.execute("COMMIT")
            return 0
        rows = db.execute("SELECT chunk_id, text FROM chunks").fetchall()
        if rows:
            logger.info(
                "re-tokenising %d chunks for the lexical index (tokenizer %r, was %r)",
                len(rows),
                TOKENIZER_VERSION,
                previous,
            )
        db.execute("DELETE FROM chunk_terms")
        db.executemany(
            "INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)",
            ((row[0], " ".join(tokenize(row[1]))) for row in rows),
        )
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_VERSION_KEY, TOKENIZER_VERSION),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if rows:
        logger.info(
            "lexical index rebuilt: %d chunks in %.1fs", len(rows), time.perf_counter() - started
        )
    return len(rows)


_ONE_FTS_TOKEN = re.compile(r"[^\W_]+")
"""A phrase FTS5's unicode61 tokenizer reads as one token (letters and digits, no "_")."""


def _phrases(expression: str) -> list[str] | None:
    """The words of a `_match_expression` in order, or None when one of them is not a single
    FTS5 token (FTS5 then runs the query itself)."""
    words = [w.replace('""', '"') for w in expression[1:-1].split('" OR "')]
    return words if all(_ONE_FTS_TOKEN.fullmatch(w) for w in words) else None


def _match_expression(tokens: Sequence[str]) -> str | None:
    unique = list(dict.fromkeys(t for t in tokens if t))
    if not unique:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in unique)


def purge_terms(db: sqlite3.Connection, chunk_ids: Sequence[str]) -> int:
    """Erase chunks' searchable tokens for good (`kb docs purge`), inside the caller's
    transaction; how many rows went.

    Deleting an FTS5 row only adds a "deleted" marker to a new segment: the tokens stay in
    the old segments (and the marker repeats them) until the segments are merged. 'optimize'
    merges every segment into one, so the index no longer holds them at all; the caller turns
    on `PRAGMA secure_delete` so the freed pages are zeroed."""
    removed = 0
    for start in range(0, len(chunk_ids), 500):
        batch = list(chunk_ids[start : start + 500])
        marks = ",".join("?" * len(batch))
        removed += db.execute(
            f"DELETE FROM chunk_terms WHERE chunk_id IN ({marks})", batch
        ).rowcount
    db.execute("INSERT INTO chunk_terms(chunk_terms) VALUES ('optimize')")
    return removed


# BM25's best matches come from the FTS index alone (FTS5 ranks by its hidden `rank` column,
# BM25); the joins and filters then run on that short list. Joining every match before
# ranking cost 150 ms a question at 100,000 chunks. The list is generous, so the filters
# (groups, dates, current version) rarely leave fewer than k, and it is kept for the next
# search with the same words (an answer also looks for superseded versions with them).
_TOP_MATCHES = (
    "SELECT chunk_id, rank FROM chunk_terms WHERE chunk_terms MATCH ? ORDER BY rank LIMIT ?"
)
_CANDIDATES = 400


def in_scope(db: Any, chunk_ids: Sequence[str], condition: str, params: Sequence[object]) -> list:
    """(chunk id, version) of the candidates that `condition` (a Scope's SQL over chunks c,
    documents d, versions v) lets through: the one filter both lexical backends apply."""
    marks = ",".join("?" * len(chunk_ids))
    return db.execute(
        f"""
        SELECT c.chunk_id, c.version FROM chunks c
        JOIN documents d ON d.document_id = c.document_id
        JOIN versions v ON v.document_id = c.document_id AND v.version = c.version
        WHERE c.chunk_id IN ({marks}) AND {condition}
        """,
        (*chunk_ids, *params),
    ).fetchall()


class LexicalIndex:
    """BM25 search over the registry's `chunk_terms` FTS5 table."""

    def __new__(cls, db: sqlite3.Connection) -> LexicalIndex:
        # A registry in PostgreSQL has no FTS5: the same search there is kb.lexical_pg's.
        if is_postgres(db):
            from kb.lexical_pg import PgLexicalIndex

            return PgLexicalIndex(db)  # type: ignore[return-value]
        return super().__new__(cls)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._cache: dict[tuple[str, int], list[tuple[str, float]]] = {}
        self._postings: tuple[int, Bm25Postings] | None = None
        self._owners: tuple[int, ChunkOwners] | None = None
        self._lock = threading.Lock()

    def _top(self, expression: str, version: int) -> list[tuple[str, float]]:
        """The best BM25 matches of an FTS expression, cached until the database changes
        (`version`: its PRAGMA data_version)."""
        key = (expression, version)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = self._ranked(expression, version)
            with self._lock:
                if len(self._cache) > 32:
                    self._cache.clear()
                self._cache[key] = cached
        return cached

    def _ranked(self, expression: str, version: int) -> list[tuple[str, float]]:
        """FTS5's `ORDER BY rank LIMIT` list, from the in-memory postings (kb.lexical_bm25,
        the same scores) when every phrase of the expression is one FTS5 token."""
        words = _phrases(expression)
        if words is None:
            return [
                (r[0], float(r[1]))
                for r in self.db.execute(_TOP_MATCHES, (expression, _CANDIDATES))
            ]
        with self._lock:
            if self._postings is None or self._postings[0] != version:
                self._postings = (version, Bm25Postings(self.db))
            postings = self._postings[1]
        top = postings.top(words, _CANDIDATES)
        if not top:
            return []
        names = postings.chunk_ids([rowid for rowid, _ in top])
        return [(names[rowid], rank) for rowid, rank in top if rowid in names]

    def _chunk_owners(self, version: int) -> ChunkOwners:
        """Each chunk's version and language, and what scopes allow, for this state of the
        database (kb.lexical_scope): read once, ~0.2 s at 100,000 chunks."""
        with self._lock:
            if self._owners is None or self._owners[0] != version:
                self._owners = (version, ChunkOwners(self.db))
            return self._owners[1]

    def _filtered(
        self,
        expression: str,
        condition: str,
        params: Sequence[object],
        k: int,
        language: str | None = None,
    ) -> list[tuple]:
        """(chunk id, version, score) of the best matches whose version `condition` (on
        `d` and `v`) lets through, and in `language` if given; equal scores in chunk id
        order, as the join (kb.lexical.in_scope) returned them."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        top = self._top(expression, version)
        if not top:
            return []
        rank = dict(top)
        rows = self._chunk_owners(version).in_scope(list(rank), condition, params, language)
        return sorted(((r[0], r[1], -rank[r[0]]) for r in rows), key=lambda row: -row[2])[:k]

    def search(
        self,
        tokens: Sequence[str],
        k: int,
        allowed_sql: str,
        allowed_params: Sequence[object],
        language: str | None = None,
        drafts: bool = False,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) of live chunks passing the filter.

        `allowed_sql` is a condition on `d` (documents) and `v` (the chunk's version) that
        the retriever builds from the asking user's groups and the date and category filters
        (kb.retrieve.Scope.sql: a version's own dates say on which days it answers). With
        `drafts` (the reviewers' preview, kb.publishing), drafts awaiting review too.
        """
        expression = _match_expression(tokens)
        if expression is None:
            return []
        condition = f"{_live(drafts)} AND ({allowed_sql})"
        rows = self._filtered(expression, condition, allowed_params, k, language)
        return [(chunk_id, score) for chunk_id, _, score in rows]

    def vocabulary(self) -> dict[str, int]:
        """Every indexed token with the number of chunks that contain it (for spelling)."""
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_vocabulary "
            "USING fts5vocab(main, chunk_terms, 'row')"
        )
        return {t: n for t, n in self.db.execute("SELECT term, doc FROM temp.chunk_vocabulary")}

    def chunk_count(self) -> int:
        """How many chunks the index holds (all versions): the N of inverse document
        frequencies computed from `vocabulary`."""
        return int(self.db.execute("SELECT count(*) FROM chunk_terms").fetchone()[0])

    def readable(
        self,
        tokens: Sequence[str],
        allowed_sql: str,
        allowed_params: Sequence[object],
        drafts: bool = False,
    ) -> set[str]:
        """The `tokens` that occur in at least one current chunk passing the filter (the
        asker's groups and dates, as for `search`): one indexed lookup per token, stopping
        at the first chunk found."""
        found: set[str] = set()
        for token in dict.fromkeys(t for t in tokens if t):
            row = self.db.execute(
                f"""
                SELECT 1 FROM chunk_terms t
                JOIN chunks c ON c.chunk_id = t.chunk_id
                JOIN documents d ON d.document_id = c.document_id
                JOIN versions v ON v.document_id = c.document_id AND v.version = c.version
                WHERE chunk_terms MATCH ? AND {_live(drafts)} AND ({allowed_sql})
                LIMIT 1
                """,
                ('"' + token.replace('"', '""') + '"', *allowed_params),
            ).fetchone()
            if row is not None:
                found.add(token)
        return found

    def search_superseded(
        self,
        tokens: Sequence[str],
        k: int,
        allowed_sql: str,
        allowed_params: Sequence[object],
        as_of: dt.date | None = None,
    ) -> list[tuple[str, int, float]]:
        """(chunk id, version, BM25) of chunks of earlier versions of still-current documents:
        retired ones, and live ones a later version replaces on `as_of` (or today).

        Their terms stay in the index for this: to tell the agent that an earlier version
        matched the question better than the current one, without ever answering from it.
        `allowed_sql` is a condition on `d` only (groups, category).
        """
        expression = _match_expression(tokens)
        if expression is None:
            return []
        day = (as_of or dt.date.today()).isoformat()
        condition = (
            "d.current_version IS NOT NULL AND (v.status = 'superseded' OR (v.status = 'current' "
            f"AND v.replaced_on IS NOT NULL AND v.replaced_on <= ?)) AND ({allowed_sql})"
        )
        return [
            (c, int(v), s)
            for c, v, s in self._filtered(expression, condition, [day, *allowed_params], k)
        ]
