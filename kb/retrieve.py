"""Hybrid retrieval: dense (FAISS) + lexical (BM25), fused, with filters applied inside.

Filters are not a post-processing step: a restricted chunk is excluded from the dense ranking
itself (only the allowed positions are ranked, exactly) and from the SQL of the lexical search,
so it can never reach a user outside its groups, whatever the query and however many
restricted chunks would otherwise have ranked first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.clean import detect_language
from kb.access import can_read, readable_sql
from kb.config import Settings
from kb.glossary import default_glossary
from kb.index import FaissIndex
from kb.lexical import LexicalIndex, tokenize
from kb.lexical_bm25 import best_first
from kb.pgvector_index import PgVectorIndex, SearchRequest
from kb.ports import Reranker
from kb.procedures import TitleIndex
from kb.side_threads import HELPERS
from kb.spelling import SpellFix
from kb.store import KnowledgeBase
from kb.types import EVERYONE, Category, Chunk, DocumentInfo, DocumentStatus, Hit, Query
from kb.validity import version_status

logger = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "lexical")
_OTHER_LANGUAGE = {"zh": "en", "en": "zh"}
_RECENT_SCORES = 16
"""Query score vectors kept (HybridRetriever._scores): 400 kB each at 100,000 chunks, 4 MB
at a million; enough for the texts of several concurrent asks."""


def fuse_rankings(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: float = 60.0
) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(id) = sum of weight / (k + rank), rank from 1.

    Rank-based, so BM25 scores and cosine similarities never need to share a scale.
    """
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def prefer_language(hits: list[Hit], language: str, ratio: float) -> list[Hit]:
    """Among the hits that scored nearly as well as the best (at least `ratio` of its fused
    score), put those in the question's language first, keeping order otherwise: an
    English-speaking agent should not read Chinese first (or the reverse) on close calls."""
    if not hits or ratio >= 1.0:
        return hits
    close = [h for h in hits if h.score >= ratio * hits[0].score]
    own = [h for h in close if h.chunk.language in (language, "mixed")]
    if not own:
        return hits
    return own + [h for h in close if h not in own] + hits[len(close) :]


def document_status(info: DocumentInfo, as_of: dt.date) -> DocumentStatus:
    """Is this version in force on `as_of`? Its own dates are inclusive (valid from the
    effective date through the expiry date), and a later version takes over on its
    `replaced_on` (kb.validity)."""
    return version_status(info.effective_date, info.expiry_date, info.replaced_on, as_of)


@dataclass(frozen=True)
class Scope:
    """Who is asking and what they may see: derived from a Query, hashable for caching."""

    groups: frozenset[str]
    category: Category | None
    as_of: dt.date
    include_inactive: bool
    # Drafts awaiting review answer in place of the versions they would replace (the
    # reviewers' preview, kb.publishing); otherwise a draft is never seen.
    preview: bool = False

    @classmethod
    def of(cls, query: Query, today: dt.date | None = None) -> Scope:
        return cls(
            groups=frozenset(query.groups) | {EVERYONE},
            category=query.category,
            as_of=query.as_of or today or dt.date.today(),
            include_inactive=query.include_inactive,
            preview=query.preview,
        )

    @staticmethod
    def judged(info: DocumentInfo) -> tuple:
        """Everything `allows` reads of a version: versions alike here get the same
        verdict from every scope (_Catalog judges one of each). Keep the two in step."""
        return (
            info.groups,
            info.category,
            info.effective_date,
            info.expiry_date,
            info.replaced_on,
        )

    def allows(self, info: DocumentInfo) -> bool:
        # Reads only what `judged` returns.
        if not can_read(self.groups, info.groups):  # the access rule (kb.access)
            return False
        if self.category is not None and info.category != self.category:
            return False
        status = document_status(info, self.as_of)
        if status == DocumentStatus.SUPERSEDED:  # another version answers on that day
            return False
        return self.include_inactive or status == DocumentStatus.CURRENT

    def sql(self, versions: bool = True) -> tuple[str, list[object]]:
        """The same rule as `allows`, as a condition on the documents table `d` and the
        chunk's versions row `v`; with `versions=False`, access and category only (on `d`)."""
        readable, params = readable_sql(self.groups)
        clauses = [readable]
        if self.category is not None:
            clauses.append("d.category = ?")
            params.append(self.category.value)
        if not versions:
            return " AND ".join(clauses), params
        # The dates are the chunk's version's own (`v`): a version replaced on or before
        # that day never answers, even with inactive documents included.
        clauses.append("(v.replaced_on IS NULL OR v.replaced_on > ?)")
        params.append(self.as_of.isoformat())
        if self.preview:
            # As if each draft were approved today (Registry.live_infos(preview=True)): a
            # live version stops answering on the day its document's draft would start.
            clauses.append(
                "(v.status = 'draft' OR NOT EXISTS (SELECT 1 FROM versions p WHERE "
                "p.document_id = v.document_id AND p.status = 'draft' AND p.version > v.version "
                "AND COALESCE(p.effective_date, ?) <= ?))"
            )
            params += [dt.date.today().isoformat(), self.as_of.isoformat()]
        else:
            clauses.append("v.status = 'current'")
        if not self.include_inactive:
            clauses.append("(v.effective_date IS NULL OR v.effective_date <= ?)")
            clauses.append("(v.expiry_date IS NULL OR v.expiry_date >= ?)")
            params += [self.as_of.isoformat(), self.as_of.isoformat()]
        return " AND ".join(clauses), params


class _Catalog:
    """Which document version each FAISS position belongs to, for one index generation.

    Versions, not documents: while a scheduled version waits for its effective date, the
    document has two live versions in the index, each answering on its own days."""

    def __init__(self, kb: KnowledgeBase, ids: list[str]) -> None:
        rows = kb.registry.db.execute(
            "SELECT chunk_id, document_id, version, language FROM chunks"
        ).fetchall()
        owner = {r[0]: (r[1], r[2]) for r in rows}
        language = {r[0]: r[3] for r in rows}
        self.position_language = np.array([language.get(cid, "") for cid in ids])
        self.versions = kb.registry.live_infos()
        # The reviewers' preview: drafts too, lined up as if approved (kb.publishing).
        self.preview_versions = kb.registry.live_infos(preview=True)
        self.known = set(self.versions) | set(self.preview_versions)
        self.version_keys = sorted(self.known)
        index_of = {key: i for i, key in enumerate(self.version_keys)}
        self.position_document = np.array(
            [index_of.get(owner.get(cid, ("", 0)), -1) for cid in ids], dtype=np.int64
        )
        self._allowed: dict[tuple[Scope, str | None], np.ndarray] = {}
        self._verdicts: dict[Scope, np.ndarray] = {}
        self._kinds: dict[bool, tuple[list[DocumentInfo], np.ndarray]] = {}
        self._titles: dict[Scope, TitleIndex] = {}
        self._language_rows: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._lock = threading.Lock()

    def language_rows(
        self, index: FaissIndex, language: str
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The FAISS positions of `language`'s chunks (ascending) and a contiguous copy of
        their vectors, when that language holds at most a third of the base (None otherwise:
        scanning the whole index then costs about as much as the copy would save).

        For a one-off search in one language (the other language's place,
        HybridRetriever._with_other_language): at 100,000 chunks an English question's
        Chinese rendering then reads 17,500 vectors, not 100,000 (~1 ms, not 6-11 ms).
        Each row's product is the same kernel on the same floats, so the scores are the
        full scan's, bit for bit. Made on first use, per index generation."""
        with self._lock:
            if language not in self._language_rows:
                positions = np.flatnonzero(self.position_language == language)
                rows = None
                if 0 < len(positions) <= len(self.position_language) // 3:
                    rows = (positions, index.vectors_at(positions))
                self._language_rows[language] = rows
            return self._language_rows[language]

    def infos(self, scope: Scope) -> dict[tuple[str, int], DocumentInfo]:
        """The versions `scope` may find: live ones, or in a preview drafts lined up too."""
        return self.preview_versions if scope.preview else self.versions

    def allowed(self, scope: Scope, language: str | None = None) -> np.ndarray:
        """The FAISS positions `scope` may see, optionally only chunks in `language`, in
        ascending order (cached per scope and language: built once, not per question)."""
        key = (scope, language)
        with self._lock:
            if key not in self._allowed:
                mask = self._verdicts_of(scope)[self.position_document]  # -1 maps to False
                if language is not None:
                    mask &= self.position_language == language
                if len(self._allowed) > 256:
                    self._allowed.clear()
                self._allowed[key] = np.flatnonzero(mask)
            return self._allowed[key]

    def _verdicts_of(self, scope: Scope) -> np.ndarray:
        """`_judge(scope)`, kept per scope: each version is judged once per scope, whatever
        the language asked for and for the titles too. Called under the lock."""
        verdicts = self._verdicts.get(scope)
        if verdicts is None:
            verdicts = self._judge(scope)
            if len(self._verdicts) > 256:
                self._verdicts.clear()
            self._verdicts[scope] = verdicts
        return verdicts

    def _judge(self, scope: Scope) -> np.ndarray:
        """`scope.allows` of each version in `version_keys` (False for a version `scope`
        does not list), then False for the unknown (-1). Versions alike in what `allows`
        reads (Scope.judged: groups, category, dates) are judged once: at 100,000 chunks
        ~8,000 versions are a few dozen kinds, so a scope's first question judges those,
        not 8,000 (~10 ms). Called under the lock."""
        kinds = self._kinds.get(scope.preview)
        if kinds is None:
            infos = self.infos(scope)
            found: dict[tuple, int] = {}
            samples: list[DocumentInfo] = []
            kind_of = np.full(len(self.version_keys) + 1, -1, dtype=np.int64)
            for i, key in enumerate(self.version_keys):
                info = infos.get(key)
                if info is not None:
                    kind = found.setdefault(Scope.judged(info), len(found))
                    if kind == len(samples):
                        samples.append(info)
                    kind_of[i] = kind
            kinds = self._kinds[scope.preview] = (samples, kind_of)
        samples, kind_of = kinds
        allowed = np.array([scope.allows(info) for info in samples] + [False], dtype=bool)
        return allowed[kind_of]  # -1 (not listed, or unknown) is the trailing False

    def titles(self, scope: Scope) -> TitleIndex:
        """Title of every document `scope` may read, by id, filed for finding references
        (kb.procedures.TitleIndex; cached per scope: at 100,000 chunks, judging every
        version for every question cost 70 ms, and filing the titles again 10 more)."""
        with self._lock:
            cached = self._titles.get(scope)
        if cached is None:
            with self._lock:
                verdicts = self._verdicts_of(scope)
            infos = self.infos(scope)
            # `version_keys` is sorted: a document's last allowed version gives its title.
            cached = TitleIndex(
                {
                    key[0]: infos[key].title
                    for key, allowed in zip(self.version_keys, verdicts, strict=False)
                    if allowed
                }
            )
            with self._lock:
                if len(self._titles) > 256:
                    self._titles.clear()
                self._titles[scope] = cached
        return cached


def top_positions(scores: np.ndarray, allowed: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The `k` best (position, score) among the `allowed` positions, best first; equal
    scores in position order. Exact: every allowed position is considered."""
    if k <= 0 or len(allowed) == 0:
        return []
    candidates = scores[allowed]
    chosen = best_first(candidates, k)  # ties at the cut: the lowest positions
    order = chosen[np.lexsort((allowed[chosen], -candidates[chosen]))]
    return [(int(allowed[i]), float(candidates[i])) for i in order]


class VectorCache:
    """Query embeddings by text, the most recently used `size` kept (thread-safe).

    Sized for many asks at once (50 live calls each embed a question and its call context
    per customer turn); 4096 vectors of 384 floats are 6 MB."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def get_many(
        self, texts: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]
    ) -> list[np.ndarray]:
        """The vectors of `texts`, the ones not kept embedded in one batch by `embed`."""
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            for text, vector in zip(missing, embed(missing), strict=True):
                found[text] = vector
            with self._lock:
                for text in missing:
                    self._vectors[text] = found[text]
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return [found[t] for t in texts]


class HybridRetriever:
    """Dense + lexical search over one knowledge base, fused and filtered by scope."""

    def __init__(
        self, kb: KnowledgeBase, settings: Settings, reranker: Reranker | None = None
    ) -> None:
        if settings.retrieval_mode not in MODES:
            raise ValueError(
                f"retrieval_mode must be one of {MODES}. Currently, it is {settings.retrieval_mode!r}"
            )
        self.kb = kb
        self.settings = settings
        self.reranker = reranker
        self.lexical = LexicalIndex(kb.registry.db)
        self._catalog: tuple[int, _Catalog] | None = None
        self._vectors = VectorCache()
        self._lock = threading.Lock()
        self._spelling: tuple[int, SpellFix] | None = None
        self._recent_scores: OrderedDict[tuple[int, str], tuple[weakref.ref, np.ndarray]] = (
            OrderedDict()
        )

    def _current_catalog(self) -> _Catalog:
        index = self.kb.index
        generation = self.kb.loaded_generation
        with self._lock:
            if self._catalog is None or self._catalog[0] != generation:
                self._catalog = (generation, _Catalog(self.kb, index.ids))
            return self._catalog[1]

    def correct_spelling(self, text: str) -> str:
        """`text` with typos corrected against the knowledge base's words (kb.spelling); the
        vocabulary is read once per index generation."""
        generation = self.kb.loaded_generation
        with self._lock:
            if self._spelling is None or self._spelling[0] != generation:
                self._spelling = (generation, SpellFix(self.lexical.vocabulary()))
            fixer = self._spelling[1]
        return fixer.correct(text)

    def titles(self, scope: Scope) -> TitleIndex:
        """Title of every document `scope` may read, by id (for references between them)."""
        return self._current_catalog().titles(scope)

    def dense(
        self,
        text: str,
        scope: Scope,
        k: int,
        language: str | None = None,
        once: bool = False,
    ) -> list[tuple[str, float]]:
        """The `k` nearest chunks `scope` allows (in `language`, if given). `once`: this
        text is searched in this language only (its scores are not kept for other searches),
        so a small language's own rows are scanned instead of the whole index
        (_Catalog.language_rows); the result is the same."""
        index = self.kb.index
        if isinstance(index, PgVectorIndex):  # PostgreSQL: the scope's filters run in SQL
            condition, params = scope.sql()
            return index.search(self._query_vector(text), k, condition, params, language)
        if len(index) == 0:
            return []
        catalog = self._current_catalog()
        allowed = catalog.allowed(scope, language)
        if len(allowed) == 0:
            return []
        ids = index.ids
        rows = None
        if once and language is not None and not self._has_scores(text, index):
            rows = catalog.language_rows(index, language)
        if rows is None:
            top = top_positions(self._scores(text, index), allowed, k)
        else:
            positions, vectors = rows
            scores = index.scores_of(vectors, self._query_vector(text))
            top = top_positions(scores, np.searchsorted(positions, allowed), k)
            top = [(int(positions[p]), s) for p, s in top]
        return [(ids[p], s) for p, s in top]

    def dense_both_languages(self, text: str, scope: Scope, k: int) -> list[tuple[str, float]]:
        """Dense hits from both languages, on one scale.

        Multilingual models score passages in the question's own language higher whatever
        the topic (e5-small: a Chinese question about mortgages prefers any Chinese passage
        to the English mortgage procedure). Searching each language apart and adding a
        measured offset to the other language's similarities corrects that bias."""
        other = _OTHER_LANGUAGE.get(detect_language(text))
        if other is None or self.settings.crosslingual_offset <= 0:
            return self.dense(text, scope, k)
        index = self.kb.index
        if isinstance(index, PgVectorIndex):  # PostgreSQL: both searches side by side
            condition, params = scope.sql()
            vector = self._query_vector(text)
            same, found = index.search_many(
                [
                    SearchRequest(vector, k, condition, params, language)
                    for language in (_OTHER_LANGUAGE[other], other)
                ]
            )
        else:
            same = self.dense(text, scope, k, language=_OTHER_LANGUAGE[other])
            found = self.dense(text, scope, k, language=other)
        shift = self.settings.crosslingual_offset
        across = [(cid, score + shift) for cid, score in found]
        return sorted(same + across, key=lambda pair: -pair[1])[:k]

    def lexical_tokens(self, text: str) -> list[str]:
        """The question's search words, plus the glossary's equivalents of its banking terms
        when expansion is on for the question's language. With the cross-lingual search on
        (`lexical_across`), only equivalents in the question's own language are added here
        ("client" for "customer"): translations in one search with the question's words let
        a passage in the other language match every translated term and outrank the
        passages in the agent's own language."""
        tokens = tokenize(text)
        language = detect_language(text)
        if self.settings.glossary_expansion in ("both", language):
            expanded = default_glossary().expand(text)
            if self.settings.crosslingual_lexical_weight > 0 and language in _OTHER_LANGUAGE:
                expanded = [t for t in expanded if detect_language(t) == language]
            tokens += expanded
        return tokens

    def lexical_search(self, text: str, scope: Scope, k: int) -> list[tuple[str, float]]:
        condition, params = scope.sql()
        return self.lexical.search(
            self.lexical_tokens(text), k, condition, params, drafts=scope.preview
        )

    def lexical_across(self, text: str, scope: Scope, k: int) -> list[tuple[str, float]]:
        """BM25 over the other language's passages with the glossary's translations of the
        question's terms only. In one search with the question's own words, passages in the
        question's language match more terms and crowd out the other language's, although a
        Chinese-only procedure may be the one answer to an English question."""
        other = _OTHER_LANGUAGE.get(detect_language(text))
        if other is None:
            return []
        translated = [t for t in default_glossary().expand(text) if detect_language(t) == other]
        if not translated:
            return []
        condition, params = scope.sql()
        return self.lexical.search(
            translated, k, condition, params, language=other, drafts=scope.preview
        )

    def retrieve(
        self,
        query: Query,
        text: str | None = None,
        mode: str | None = None,
        context: str | None = None,
        context_weight: float = 0.0,
    ) -> list[Hit]:
        """The top `query.k` hits for `text` (default: the query's text) within its scope.

        With a `context` (the call so far, see kb.conversation), its own dense and lexical
        rankings join the fusion at `context_weight` times the question's weights. Counted
        as an ask at work (kb.side_threads): alone, its scans, postings reads and embedding
        may use the other core; among as many asks as cores, they do not."""
        with HELPERS.working():
            return self._retrieve(query, text, mode, context, context_weight)

    def _retrieve(
        self,
        query: Query,
        text: str | None,
        mode: str | None,
        context: str | None,
        context_weight: float,
    ) -> list[Hit]:
        text = text if text is not None else query.text
        mode = mode or self.settings.retrieval_mode
        scope = Scope.of(query)
        pool = max(self.settings.retrieval_candidates, query.k)
        rankings: list[list[str]] = []
        weights: list[float] = []
        uses_context = bool(context and context_weight > 0 and context.strip() != text.strip())
        if mode in ("hybrid", "dense"):
            self._embed_together(text, context if uses_context else None)
            self._scan_together([text, context] if context and uses_context else [text])
        dense = self.dense_both_languages(text, scope, pool) if mode in ("hybrid", "dense") else []
        if mode in ("hybrid", "dense"):
            self._prefetch_other_language(text, scope)
        lexical = self.lexical_search(text, scope, pool) if mode in ("hybrid", "lexical") else []
        rankings += [[cid for cid, _ in dense], [cid for cid, _ in lexical]]
        weights += [self.settings.dense_weight, self.settings.lexical_weight]
        if mode in ("hybrid", "lexical") and self.settings.crosslingual_lexical_weight > 0:
            across = self.lexical_across(text, scope, pool)
            rankings.append([cid for cid, _ in across])
            weights.append(self.settings.crosslingual_lexical_weight * self.settings.lexical_weight)
        if context and uses_context:
            weight = context_weight * self._context_share(text, rankings, weights)
            if mode in ("hybrid", "dense"):
                rankings.append([cid for cid, _ in self.dense_both_languages(context, scope, pool)])
                weights.append(weight * self.settings.dense_weight)
            if mode in ("hybrid", "lexical"):
                rankings.append([cid for cid, _ in self.lexical_search(context, scope, pool)])
                weights.append(weight * self.settings.lexical_weight)
        fused = fuse_rankings(rankings, weights, self.settings.rrf_k)
        if self.reranker is not None:
            fused = self._rerank(text, fused[: self.settings.rerank_candidates])
        top = fused[: query.k]
        chunks = self.kb.registry.chunks_by_id([cid for cid, _ in top])
        dense_scores, lexical_scores = dict(dense), dict(lexical)
        hits = []
        for cid, score in top:
            chunk = chunks.get(cid)
            info = self._shown(chunk, scope) if chunk is not None else None
            if chunk is None or info is None:  # belt and braces
                continue
            hits.append(
                Hit(
                    chunk=chunk,
                    score=score,
                    dense_similarity=dense_scores.get(cid),
                    lexical_score=lexical_scores.get(cid),
                    status=document_status(info, scope.as_of),
                )
            )
        hits = prefer_language(hits, detect_language(text), self.settings.same_language_ratio)
        if mode == "lexical":  # the reserved place is found densely
            return hits
        return self._with_other_language(text, scope, hits)

    def _with_other_language(self, text: str, scope: Scope, hits: list[Hit]) -> list[Hit]:
        """Give the other language one place among the first documents (`crosslingual_slot`).

        The multilingual model ranks passages in the question's language first even when
        only the other language's documents answer it (a Chinese question about overdrafts,
        which only the English sheet covers). When none of the first documents is in the
        other language, that language's best passage for the question's glossary terms
        (kb.glossary.translate, searched densely on that language's own scale) takes the
        last of those places; the question's own ranking is kept above it."""
        slot = self.settings.crosslingual_slot
        language = detect_language(text)
        other = _OTHER_LANGUAGE.get(language)
        if slot <= 0 or other is None or not hits:
            return hits
        documents: list[str] = []
        place = len(hits)
        for index, hit in enumerate(hits):
            if hit.chunk.document.document_id not in documents:
                if len(documents) == slot - 1:
                    place = index
                    break
                documents.append(hit.chunk.document.document_id)
        place = min(place, len(hits) - 1)  # few documents found: the last hit gives way
        if place < 1 or any(h.chunk.language == other for h in hits[:place]):
            return hits
        rendering = default_glossary().translate(text, other) or text
        found = self.dense(rendering, scope, 1, language=other, once=True)
        if not found:
            return hits
        chunk = self.kb.registry.chunks_by_id([found[0][0]]).get(found[0][0])
        if chunk is None or chunk.document.document_id in documents:
            return hits
        info = self._shown(chunk, scope)
        if info is None:
            return hits
        score = hits[place].score
        added = Hit(
            chunk=chunk,
            score=score,
            dense_similarity=None,
            lexical_score=None,
            status=document_status(info, scope.as_of),
        )
        rest = [h for h in hits[place:] if h.chunk.chunk_id != chunk.chunk_id]
        return [*hits[:place], added, *rest][: len(hits)]

    def _prefetch_other_language(self, text: str, scope: Scope) -> None:
        """PostgreSQL: start `_with_other_language`'s one-row search of the question's
        rendering now, beside the lexical search (PgVectorIndex.prefetch); that search
        takes its rows if it is made. The same statement either way: answers unchanged."""
        index = self.kb.index
        other = _OTHER_LANGUAGE.get(detect_language(text))
        if not isinstance(index, PgVectorIndex) or other is None:
            return
        if self.settings.crosslingual_slot <= 0 or not getattr(
            self.kb.embedder, "batch_invariant", False
        ):
            return  # no such search, or its vector not embedded yet (`_embed_together`)
        rendering = default_glossary().translate(text, other) or text
        condition, params = scope.sql()
        index.prefetch(SearchRequest(self._query_vector(rendering), 1, condition, params, other))

    def _shown(self, chunk: Chunk, scope: Scope) -> DocumentInfo | None:
        """The metadata `scope` sees `chunk`'s version with, or None if it may not see it.

        The catalog's entry when it has one (in a preview, the timeline with drafts lined
        up); a version the catalog knows but this scope does not list is a draft outside a
        preview, or one a draft replaces inside it; a version written after the catalog was
        built is judged by its own metadata (the lexical SQL already kept drafts out)."""
        catalog = self._current_catalog()
        key = (chunk.document.document_id, chunk.document.version)
        infos = catalog.infos(scope)
        if key in infos:
            info = infos[key]
        elif key in catalog.known:
            return None
        else:
            info = chunk.document
        return info if scope.allows(info) else None

    def _context_share(self, text: str, rankings: list[list[str]], weights: list[float]) -> float:
        """How much of the call's context weight to use: all of it unless the question
        alone already finds a passage that contains every one of its words, then a fifth
        (a short but complete question, "What is the CHAPS fee?", names its own subject)."""
        words = set(tokenize(text))
        top = fuse_rankings(rankings, weights, self.settings.rrf_k)[:1]
        if not words or not top:
            return 1.0
        chunk = self.kb.registry.chunks_by_id([top[0][0]]).get(top[0][0])
        if chunk is None:
            return 1.0
        found = set(tokenize(chunk.text))
        return 0.2 if words <= found else 1.0

    def _embed_together(self, text: str, context: str | None) -> None:
        """Embed in one call every text this retrieval may search densely: the question,
        the call's context, and the question's glossary rendering in the other language
        (`_with_other_language`; 1.7 texts an ask on the golden set). Short texts cost the
        model about what reading its weights costs: one question 14 ms, two 20 (e5 on
        PyTorch). Its vectors do not depend on the batch (tests/unit/test_e5_torch.py), so
        the answers are those of embedding each text alone."""
        if not getattr(self.kb.embedder, "batch_invariant", False):
            return  # a padded batch (MiniLM) would change the vectors: one at a time
        texts = [text]
        if context:
            texts.append(context)
        other = _OTHER_LANGUAGE.get(detect_language(text))
        if self.settings.crosslingual_slot > 0 and other is not None:
            texts.append(default_glossary().translate(text, other) or text)
        self._vectors.get_many(texts, self.kb.embedder.embed_queries)

    def _scan_together(self, texts: list[str]) -> None:
        """Score every text this retrieval searches over the whole index in one pass
        (FaissIndex.scores_many) and keep the scores (`_scores`): a follow-up's question and
        its call's context read the 100,000 vectors once, not once each (their scans 11-13 ->
        6-7 ms a follow-up at 100,000, with the two cores of kb.index._ScanHelpers). The
        scores are those of scanning each text alone, bit for bit."""
        index = self.kb.index
        if isinstance(index, PgVectorIndex) or len(index) == 0:
            return
        missing = [t for t in dict.fromkeys(texts) if not self._has_scores(t, index)]
        if len(missing) < 2:
            return  # one text: `_scores` scans it when the search needs it
        vectors = [self._query_vector(t) for t in missing]  # embedded by `_embed_together`
        self._keep_scores(index, dict(zip(missing, index.scores_many(vectors), strict=True)))

    def _query_vector(self, text: str) -> np.ndarray:
        """The query's embedding, kept (VectorCache): one ask uses it up to three times, and
        under load a small cache emptied when full dropped vectors in the middle of asks."""
        return self._vectors.get_many([text], self.kb.embedder.embed_queries)[0]

    def _rerank(self, text: str, fused: list[tuple[str, float]]) -> list[tuple[str, float]]:
        assert self.reranker is not None
        chunks = self.kb.registry.chunks_by_id([cid for cid, _ in fused])
        ordered = [cid for cid, _ in fused if cid in chunks]
        scores = self.reranker.score(text, [chunks[cid].text for cid in ordered])
        return sorted(zip(ordered, scores, strict=True), key=lambda pair: -pair[1])

    def similarity(self, text: str, chunk_ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `text` to given chunks (for confidence when lexical found them)."""
        index = self.kb.index
        if isinstance(index, PgVectorIndex):
            return index.similarity(self._query_vector(text), chunk_ids)
        positions = index.positions
        wanted = [(cid, positions[cid]) for cid in chunk_ids if cid in positions]
        if not wanted:
            return {}
        scores = self._scores(text, index)
        return {cid: float(scores[p]) for cid, p in wanted}

    def _has_scores(self, text: str, index: FaissIndex) -> bool:
        """Whether `text`'s scores over `index` are kept (`_scores` would not scan)."""
        with self._lock:
            found = self._recent_scores.get((id(index), text))
            return found is not None and found[0]() is index

    def _scores(self, text: str, index: FaissIndex) -> np.ndarray:
        """The query's similarity to every chunk of `index` (FaissIndex.scores), kept for
        the last few texts: one ask ranks the same scores for each language and reads them
        again for its confidence and procedures."""
        key = (id(index), text)
        with self._lock:
            found = self._recent_scores.get(key)
            if found is not None and found[0]() is index:  # not a reused id
                self._recent_scores.move_to_end(key)
                return found[1]
        scores = index.scores(self._query_vector(text))
        self._keep_scores(index, {text: scores})
        return scores

    def _keep_scores(self, index: FaissIndex, scores: dict[str, np.ndarray]) -> None:
        """Keep texts' scores over `index` as the most recent (`_RECENT_SCORES` in all)."""
        with self._lock:
            for text, found in scores.items():
                self._recent_scores[(id(index), text)] = (weakref.ref(index), found)
                self._recent_scores.move_to_end((id(index), text))
            while len(self._recent_scores) > _RECENT_SCORES:
                self._recent_scores.popitem(last=False)
