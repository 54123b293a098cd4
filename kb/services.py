"""build_services(settings): the one place that wires adapters together.

The CLI and the app call these methods and nothing deeper, so both behave the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.clean import detect_language
from ingest.pipeline import (
    Progress,
    PurgeReport,
    Upload,
    collect_files,
    delete_document,
    ingest_uploads,
    purge_document,
)
from kb.access import Reader
from kb.answer import build_answer, claim_to_check
from kb.audit import AuditLog, stage
from kb.concept_cover import TokenCache, countable_concepts, covering_language_first
from kb.confidence import (
    CALIBRATIONS,
    NOTHING_FOUND,
    Calibration,
    ConfidenceEvidence,
    confidence,
    content_words,
    coverage,
    heading_coverage,
    inverse_document_frequency,
    unreadable_share,
)
from kb.config import Settings
from kb.conversation import SearchPlan, plan_search
from kb.diff import Passage as DiffPassage
from kb.diff import VersionDiff, diff_versions
from kb.domain import DomainSimilarity
from kb.embedding import create_embedder
from kb.errors import DocumentNotFoundError, KBError, QuestionTooLongError
from kb.feedback import Feedback, FeedbackStore
from kb.glossary import default_glossary
from kb.insights_report import InsightsBuilder, InsightsReport
from kb.lexical import tokenize
from kb.messages import Message
from kb.originals import Original, section_parts
from kb.procedures import ProcedureOption, gather_options, procedure_sections
from kb.publishing import (
    Draft,
    ReviewDecision,
    ReviewError,
    ReviewState,
    check_reviewer,
    may_preview,
    needs_review,
    require_comment,
)
from kb.querylog import QueryLog, shows_low_confidence
from kb.retrieve import HybridRetriever, Scope
from kb.store import KnowledgeBase, WriteSession
from kb.text import require_text
from kb.training.store import TrainingStore
from kb.types import (
    Answer,
    Chunk,
    ChunkKind,
    Citation,
    DocumentInfo,
    DocumentOptions,
    DocumentRecord,
    DocumentStatus,
    FileReport,
    Hit,
    IngestReport,
    Query,
)
from kb.users import UserStore

logger = logging.getLogger(__name__)
_DETECTOR_LOCK = threading.Lock()


def _inactive_notice(hit: Hit) -> str:
    info = hit.chunk.document
    if hit.status == DocumentStatus.EXPIRED:
        return Message("expired", title=info.title, date=info.expiry_date)
    return Message("not_yet_effective", title=info.title, date=info.effective_date)


@dataclass
class Services:
    settings: Settings
    kb: KnowledgeBase
    users: UserStore | None = None
    audit: AuditLog = field(init=False)
    feedback: FeedbackStore = field(init=False)
    questions: QueryLog = field(init=False)
    training: TrainingStore = field(init=False)
    retriever: HybridRetriever = field(init=False)
    domain: DomainSimilarity = field(init=False)
    insights_builder: InsightsBuilder = field(init=False)
    _words: tuple[int, dict[str, int], int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        reranker = None
        if self.settings.reranker_path is not None:
            from kb.rerank import CrossEncoderReranker

            reranker = CrossEncoderReranker(self.settings.reranker_path)
        self.retriever = HybridRetriever(self.kb, self.settings, reranker)
        self.domain = DomainSimilarity(self.retriever)
        self._tokens = TokenCache(self._document_text)
        if self.users is None:
            self.users = UserStore(self.settings.users_path)
        self.audit = AuditLog(self.settings.audit_path, self.settings.audit_key_path)
        if not self.settings.demo_users:
            for name in self.users.remove_demo_accounts():
                self.audit.record("system", "user_change", change="demo user removed", user=name)
        self.audit.deliver(self.kb.registry.db)  # events a crash left staged (kb.audit)
        self.feedback = FeedbackStore(self.settings.feedback_path)
        self.questions = QueryLog(self.settings.questions_path)
        self.training = TrainingStore(self.settings.training_path)
        self.insights_builder = InsightsBuilder(lambda text: self.kb.embedder.embed_query(text))

    # ------------------------------------------------------------------ documents

    def ingest_paths(
        self,
        paths: Sequence[Path],
        options: DocumentOptions | None = None,
        progress: Progress | None = None,
        manifest: Path | None = None,
    ) -> IngestReport:
        return self.ingest(collect_files(paths, manifest), options, progress)

    def ingest(
        self,
        uploads: Sequence[Upload],
        options: DocumentOptions | None = None,
        progress: Progress | None = None,
        user: str | None = None,
        *,
        as_draft: bool = False,
    ) -> IngestReport:
        """Ingest a batch; with `user`, each file's outcome goes into the audit trail.

        Four-eyes publishing (kb.publishing.needs_review): with `as_draft` (the Library: a
        person's upload) and `Settings.four_eyes` on, each new document or version is a
        draft submitted by `user`, awaiting a second person's review (audited as
        "draft_created"). Otherwise (`kb ingest`, evaluation, tests) it is live at once."""
        reviewed = needs_review(self.settings.four_eyes, user, as_draft)
        draft_by = user if reviewed else None

        def audit_file(session: WriteSession, file: FileReport) -> None:
            # Staged in the registry's transaction: the row commits with the change.
            action = "version_change" if file.status.value == "updated" else "upload"
            if file.draft and file.status.value in ("added", "updated"):
                action = "draft_created"
            stage(
                session.registry.db, user or "cli", action,
                file=file.source_name, status=file.status.value, document=file.document_id,
                version=file.version, reason=file.reason,
            )  # fmt: skip

        try:
            return ingest_uploads(
                self.kb, uploads, options, progress=progress,
                on_file=audit_file if user is not None else None, draft_by=draft_by,
            )  # fmt: skip
        finally:
            self.audit.deliver(self.kb.registry.db)

    def documents(self, include_deleted: bool = False, *, reader: Reader) -> list[DocumentRecord]:
        """The documents `reader` may read (kb.access): an unreadable one is not listed."""
        return [d for d in self.kb.registry.documents(include_deleted) if reader.can_read(d.groups)]

    def restricted_counts(self, *, reader: Reader) -> dict[str, int]:
        """How many current documents `reader` may not read, per group: numbers, never a
        title or id, so the Library can say that restricted documents exist."""
        counts: dict[str, int] = {}
        for d in self.kb.registry.documents():
            if not reader.can_read(d.groups):
                for group in d.groups:
                    counts[group] = counts.get(group, 0) + 1
        return counts

    def document(self, document_id: str, *, reader: Reader) -> DocumentRecord:
        """One document, if `reader` may read it; otherwise the same DocumentNotFoundError as
        for an id that does not exist (no hint that a restricted document has that id)."""
        record = self.kb.registry.document(document_id)
        if not reader.can_read(record.groups):
            raise DocumentNotFoundError(f"no document with id '{document_id}'")
        return record

    # ------------------------------------------------------------------ four-eyes publishing

    def drafts(
        self, states: Sequence[ReviewState] = (ReviewState.DRAFT,), *, reader: Reader
    ) -> list[Draft]:
        """Versions submitted for review in `states` (default: awaiting review), newest
        first, of documents `reader` may read (with the groups they were submitted with)."""
        return [
            d
            for d in self.kb.registry.drafts([s.value for s in states])
            if reader.can_read(d.groups)
        ]

    def approve_draft(
        self, document_id: str, version: int, reviewer: str, comment: str = "",
        today: dt.date | None = None,
    ) -> ReviewDecision:  # fmt: skip
        """Publish a draft (kb.publishing): `reviewer` must be an enabled knowledge or admin
        account other than its uploader, able to read it; the draft goes live as a new
        version does (the version in force retires, or stays until the draft's effective
        date). One transaction with the "draft_approved" audit row."""
        return self._decide(document_id, version, reviewer, comment, approve=True, today=today)

    def reject_draft(
        self, document_id: str, version: int, reviewer: str, comment: str
    ) -> ReviewDecision:
        """Reject a draft with a comment saying why: the version in force stays, the draft
        leaves the index (its rows stay, for the record and the diff). The same rule as
        `approve_draft`; audited as "draft_rejected"."""
        return self._decide(document_id, version, reviewer, comment, approve=False)

    def _decide(
        self, document_id: str, version: int, reviewer: str, comment: str, *, approve: bool,
        today: dt.date | None = None,
    ) -> ReviewDecision:  # fmt: skip
        assert self.users is not None
        account = self.users.get(reviewer)
        comment = require_comment(comment, rejecting=not approve)
        today = today or dt.date.today()
        self.document(document_id, reader=Reader.of(account))  # reviewing is reading
        with self.kb.write() as session:
            registry = session.registry
            every = [s.value for s in ReviewState]
            found = [d for d in registry.drafts(every) if (d.document_id, d.version) == (document_id, version)]  # fmt: skip
            if not found:
                raise ReviewError(
                    f"version {version} of {document_id} was not submitted for review"
                )
            draft = found[0]
            check_reviewer(account.name, account.role, account.disabled, draft)
            if approve:
                stale = registry.approve_draft(document_id, version, account.name, comment, today)
            else:
                stale = registry.reject_draft(document_id, version, account.name, comment)
            session.index.delete(stale)
            session.changed = True
            decision = ReviewDecision(
                document_id, version,
                ReviewState.APPROVED if approve else ReviewState.REJECTED, account.name, comment,
                retired_version=draft.live_version if approve and stale else None,
                scheduled_from=draft.effective_date
                if approve and draft.effective_date and draft.effective_date > today else None,
            )  # fmt: skip
            stage(
                registry.db, account.name, "draft_approved" if approve else "draft_rejected",
                document=document_id, version=version, reviewer=account.name, comment=comment,
                submitted_by=draft.submitted_by, replaced=decision.retired_version,
            )  # fmt: skip
        self.audit.deliver(self.kb.registry.db)
        return decision

    def version_diff(
        self, document_id: str, old_version: int, new_version: int, *, reader: Reader
    ) -> VersionDiff:
        """Two versions of a document compared passage by passage (kb.diff), if `reader`
        may read the document."""
        self.document(document_id, reader=reader)
        known = {v.version for v in self.kb.registry.versions(document_id)}
        for version in (old_version, new_version):
            if version not in known:
                raise DocumentNotFoundError(f"'{document_id}' has no version {version}")

        def passages(version: int) -> list[DiffPassage]:
            return [DiffPassage(c.section, c.text) for c in self._chunks(document_id, version)]

        return diff_versions(
            document_id, old_version, passages(old_version), new_version, passages(new_version)
        )

    def may_preview(self, user: str | None) -> bool:
        """Drafts answer in a preview only for reviewer roles (kb.publishing.may_preview);
        the operator (no user) may too."""
        if user is None:
            return True
        assert self.users is not None
        try:
            return may_preview(self.users.get(user).role)
        except KBError:
            return False

    def document_chunks(self, document_id: str, version: int, *, reader: Reader) -> list[Chunk]:
        self.document(document_id, reader=reader)
        return self._chunks(document_id, version)

    def _chunks(self, document_id: str, version: int) -> list[Chunk]:
        ids = self.kb.registry.chunk_ids(document_id, version)
        found = self.kb.registry.chunks_by_id(ids)
        return [found[i] for i in ids]

    def update_metadata(
        self,
        document_id: str,
        options: DocumentOptions,
        user: str | None = None,
        exact: bool = False,
        *,
        reader: Reader,
    ) -> DocumentInfo:
        """Change what the knowledge team stated (groups, category, dates, owner, review-by)
        without a new version, if `reader` may read the document; with `user`, what changed
        goes into the audit trail."""
        self.document(document_id, reader=reader)
        with self.kb.write() as session:
            before = session.registry.document_info(document_id)
            after = options.apply_to(before, exact)
            session.registry.update_metadata(after)
            session.changed = True
            if user is not None:
                changes = {
                    name: str(getattr(after, name))
                    for name in ("category", "effective_date", "expiry_date", "groups", "owner", "review_by")
                    if getattr(after, name) != getattr(before, name)
                }  # fmt: skip
                stage(session.registry.db, user, "metadata_edit", document=document_id, **changes)
        self.audit.deliver(self.kb.registry.db)
        return after

    def delete(self, document_id: str, user: str | None = None, *, reader: Reader) -> int:
        self.document(document_id, reader=reader)

        def audit_deletion(session: WriteSession, removed: int) -> None:
            stage(
                session.registry.db, user or "cli", "deletion", document=document_id, chunks=removed
            )

        removed = delete_document(
            self.kb, document_id, audit_deletion if user is not None else None
        )
        self.audit.deliver(self.kb.registry.db)
        return removed

    def purge(self, document_id: str, user: str | None = None, *, reader: Reader) -> PurgeReport:
        """Erase a document for good (ingest.pipeline.purge_document), if `reader` may read
        it; with `user`, the audit trail records that it was erased, in numbers only, in the
        same transaction."""
        self.document(document_id, reader=reader)

        def audit_purge(session: WriteSession, report: PurgeReport) -> None:
            stage(
                session.registry.db, user or "cli", "deletion", document=document_id,
                purged=True, versions=list(report.versions), chunks=report.chunks,
                terms=report.terms, vectors=report.vectors, originals=report.originals,
            )  # fmt: skip

        report = purge_document(self.kb, document_id, audit_purge if user is not None else None)
        self.audit.deliver(self.kb.registry.db)
        return report

    def search(self, query: str, k: int = 5, *, reader: Reader) -> list[tuple[Chunk, float]]:
        """Plain dense search over the current chunks `reader` may read (restricted chunks
        are excluded inside the FAISS search, as in retrieval), with cosine similarities."""
        scope = Scope.of(Query(query, groups=reader.groups, include_inactive=True))
        found = self.retriever.dense(query, scope, k)
        chunks = self.kb.registry.chunks_by_id([cid for cid, _ in found])
        return [(chunks[cid], score) for cid, score in found if cid in chunks]

    # ------------------------------------------------------------------ asking

    def groups_of(self, user_name: str) -> tuple[str, ...]:
        assert self.users is not None
        return self.users.get(user_name).access_groups

    def retrieve(self, query: Query, mode: str | None = None) -> list[Hit]:
        """Hits for a query (the call as context), within its scope; for evaluation too."""
        return self.search_hits(query, self.plan(query), mode)

    def plan(self, query: Query) -> SearchPlan:
        """What to search with (kb.conversation), typos corrected against the base's words."""
        plan = plan_search(query.text, query.history)
        corrected = self.retriever.correct_spelling(plan.question)
        return replace(plan, question=corrected) if corrected != plan.question else plan

    def search_hits(self, query: Query, plan: SearchPlan, mode: str | None = None) -> list[Hit]:
        hits = self.retriever.retrieve(
            query, plan.question, mode, context=plan.context, context_weight=plan.context_weight
        )
        if not self.settings.crosslingual_concepts:
            return hits
        return covering_language_first(  # kb.concept_cover
            hits,
            detect_language(plan.question),
            countable_concepts(default_glossary(), plan.question),
            self._tokens.passage,
            self._tokens.document,
        )

    def _document_text(self, document_id: str, version: int) -> list[str]:
        registry = self.kb.registry
        return [
            c.text for c in registry.chunks_by_id(registry.chunk_ids(document_id, version)).values()
        ]

    def ask(self, query: Query, today: dt.date | None = None, user: str | None = None) -> Answer:
        """Retrieve within the asker's scope and build the grounded answer. With `user`, the
        question (masked) and the documents shown go into the audit trail, and the question
        into the log the knowledge team's insights are built from.

        A question longer than the embedding model reads in one pass is searched by its
        first part, and the answer's notices say so: a long text costs no more than that
        (it used to be embedded whole, window by window, a minute for 100 kB). What people
        type is limited before it gets here (check_question); a call's turn is not.

        `query.preview` (drafts answer in place of what they would replace) is honoured
        only for reviewer roles (`may_preview`); for anyone else it is dropped."""
        if query.preview and not self.may_preview(user):
            query = replace(query, preview=False)
        readable = self._readable_for_model(query.text)
        searched = query if readable == query.text else replace(query, text=readable)
        with self.kb.registry.one_generation():  # one read of it per question (Registry)
            answer = self._answer(searched, today)
        if readable != query.text:
            cut = Message("question_cut", read=len(readable), total=len(query.text))
            answer = replace(answer, question=query.text, notices=(*answer.notices, cut))
        if user is not None:
            self.questions.record(user, answer, low_confidence=shows_low_confidence(answer))
            shown = [p.citation.chunk_id for p in answer.passages] or [
                c.chunk_id for c in answer.related
            ]
            self.audit.record_many(  # one transaction: fewer round trips on a shared store
                user,
                [
                    ("question", {"question": query.text, "resolved": answer.resolved_question}),
                    (
                        "answer_shown",
                        {
                            "status": answer.status.value,
                            "confidence": answer.confidence,
                            "passages": shown,
                        },
                    ),
                ],
            )
        return answer

    def check_question(self, text: str) -> None:
        """Refuse a question over `question_max_chars` with a message (QuestionTooLongError):
        the limit of `kb ask`, the Ask page's box and the API's schema. A question that is
        not text (a lone surrogate) is refused too (InvalidTextError, kb.text)."""
        require_text(text, "question")
        limit = self.settings.question_max_chars
        if len(text) > limit:
            raise QuestionTooLongError(
                f"the question is {len(text):,} characters long, over the limit of {limit:,}: "
                "ask about one thing at a time, in a sentence or two"
            )

    def _readable_for_model(self, text: str) -> str:
        """The start of `text` the embedding model reads in one pass (all of it, for an
        embedder that does not say)."""
        readable = getattr(self.kb.embedder, "readable_query", None)
        return readable(text) if readable is not None else text

    def give_feedback(self, user: str, answer: Answer, helpful: bool, reason: str = "") -> Feedback:
        """Store an agent's verdict on an answer (question masked) and audit it."""
        documents = tuple(
            dict.fromkeys(
                [p.citation.document_id for p in answer.passages]
                + [c.document_id for c in answer.related]
            )
        )
        stored = self.feedback.add(
            user,
            answer.question,
            helpful,
            reason,
            documents,
            answer.status.value,
            answer.confidence,
        )
        self.audit.record(
            user,
            "feedback",
            helpful=helpful,
            reason=reason,
            question=answer.question,
            documents=list(documents),
        )
        return stored

    def insights(
        self, since: dt.date, until: dt.date, today: dt.date | None = None, *, reader: Reader
    ) -> InsightsReport:
        """Knowledge gaps, document health and trends from agents' questions and feedback;
        documents `reader` may not read are left out of the health table and of the
        documents each gap lists."""
        documents = self.documents(reader=reader)
        readable = {d.document_id for d in self.kb.registry.documents(include_deleted=True)
                    if reader.can_read(d.groups)}  # fmt: skip
        return self.insights_builder.build(
            [
                replace(q, documents=tuple(d for d in q.documents if d in readable))
                for q in self.questions.all(since, until)
            ],
            [
                replace(f, documents=tuple(d for d in f.documents if d in readable))
                for f in self.feedback.all()
            ],
            documents,
            since,
            until,
            today or dt.date.today(),
        )

    def _answer(self, query: Query, today: dt.date | None) -> Answer:
        plan, as_of, hits = self._wide_hits(query, today)
        resolved = plan.question
        current = [h for h in hits if h.status == DocumentStatus.CURRENT]
        inactive = [h for h in hits if h.status != DocumentStatus.CURRENT]
        used = hits[: query.k] if query.include_inactive else current[: query.k]
        notices: list[str] = []
        if not query.include_inactive:
            cutoff = current[2].score if len(current) > 2 else 0.0
            seen: set[str] = set()
            for hit in inactive:
                if hit.score >= cutoff and hit.chunk.document.document_id not in seen:
                    seen.add(hit.chunk.document.document_id)
                    notices.append(_inactive_notice(hit))
        notices += self._superseded_notices(resolved, replace(query, as_of=as_of), used)
        value = self._confidence(resolved, used, replace(query, as_of=as_of))
        calibration = self._calibration()
        threshold = self.settings.answer_threshold
        return build_answer(
            query.text,
            resolved,
            used,
            confidence_value=value,
            threshold=calibration.refuse_below if threshold is None else threshold,
            confident_from=calibration.confident_from,
            procedure_options=self._procedure_options(used, replace(query, as_of=as_of), plan),
            situation=plan.context or "",
            originals=self._originals(used),
            notices=notices,
            as_of=as_of,
            cross_check=self._cross_check(query, resolved, used, as_of),
            follow_up=plan.follow_up,
        )

    def _cross_check(
        self, query: Query, resolved: str, used: Sequence[Hit], as_of: dt.date
    ) -> list[Hit]:
        """Passages to check the answer's amounts against (kb.answer.review_facts): the best
        lexical matches, among current documents in the asker's scope, for the amount the
        answer will quote (kb.answer.claim_to_check). One lexical search, a few milliseconds;
        none when the answer quotes no amount."""
        claim = claim_to_check(used, tokenize(resolved), as_of)
        if claim is None:
            return []
        scope = replace(query, include_inactive=False, as_of=as_of, k=8)
        return self.retriever.retrieve(scope, claim, "lexical")

    def confidence_evidence(self, query: Query, today: dt.date | None = None) -> ConfidenceEvidence:
        """The evidence exactly as `ask` computes it for this query, so the calibration is
        fit on what the answers use (`NOTHING_FOUND` when nothing was found)."""
        plan, as_of, hits = self._wide_hits(query, today)
        current = [h for h in hits if h.status == DocumentStatus.CURRENT][: query.k]
        if not current:
            return NOTHING_FOUND
        return self.evidence(plan.question, current, replace(query, as_of=as_of))

    def _wide_hits(
        self, query: Query, today: dt.date | None
    ) -> tuple[SearchPlan, dt.date, list[Hit]]:
        """The plan, the as-of date and the hits an answer is built from. Inactive documents
        are searched too, to say when one matched; answers come from current ones unless
        the agent asked to include them."""
        plan = self.plan(query)
        as_of = query.as_of or today or dt.date.today()
        wide = replace(query, include_inactive=True, as_of=as_of, k=query.k + 4)
        return plan, as_of, self.search_hits(wide, plan)

    def _calibration(self) -> Calibration:
        return CALIBRATIONS.get(self.kb.embedder.name, CALIBRATIONS["e5"])

    def evidence(self, resolved: str, hits: Sequence[Hit], query: Query) -> ConfidenceEvidence:
        """What confidence is computed from (kb.confidence.ConfidenceEvidence): the top
        hit's similarity and word coverage, the question's language, and the IDF-weighted
        share of its content words that no passage within the query's scope contains (a
        word only a restricted document holds counts as absent, like a word no document
        holds; the IDF weights of the words that are found come from the whole index)."""
        top = hits[0]
        similarity = top.dense_similarity
        if similarity is None:
            found = self.retriever.similarity(resolved, [top.chunk.chunk_id])
            similarity = found.get(top.chunk.chunk_id, 0.0)
        asked_in = detect_language(resolved)
        if {asked_in, top.chunk.language} == {"en", "zh"}:
            # The retriever's measured offset, which puts the other language's passages on
            # the question's own scale (HybridRetriever.dense_both_languages): e5 scores a
            # passage lower for being in the other language, whatever it says.
            similarity += self.settings.crosslingual_offset
        equivalents = default_glossary().equivalents(resolved)
        tokens = tokenize(resolved)
        words = content_words(tokens)
        frequencies, chunks = self._word_statistics()
        asked = {*words, *(e for w in words for e in equivalents.get(w, ()))}
        condition, params = Scope.of(replace(query, include_inactive=False)).sql()
        readable = self.retriever.lexical.readable(
            [t for t in asked if frequencies.get(t, 0) > 0], condition, params, query.preview
        )
        weights = {
            w: inverse_document_frequency(frequencies.get(w, 0) if w in readable else 0, chunks)
            for w in words
        }
        return ConfidenceEvidence(
            similarity=similarity,
            coverage=coverage(tokens, top.chunk.text, equivalents),
            unreadable=unreadable_share(words, weights, readable, equivalents),
            chinese={"zh": 1.0, "mixed": 0.5}.get(detect_language(resolved), 0.0),
            domain=self.domain.similarity(resolved, Scope.of(query)),
            restricted_gap=self.domain.restricted_gap(resolved, Scope.of(query)),
            heading_coverage=heading_coverage(
                words, weights, f"{top.chunk.document.title} {top.chunk.section}", equivalents
            ),
        )

    def _word_statistics(self) -> tuple[dict[str, int], int]:
        """Every indexed word with the number of chunks holding it, and the number of
        chunks: read once per index generation."""
        generation = self.kb.loaded_generation
        if self._words is None or self._words[0] != generation:
            lexical = self.retriever.lexical
            self._words = (generation, lexical.vocabulary(), lexical.chunk_count())
        return self._words[1], self._words[2]

    def _confidence(self, resolved: str, hits: Sequence[Hit], query: Query) -> float:
        if not hits:
            return 0.0
        return confidence(self.evidence(resolved, hits, query), self._calibration())

    def _procedure_options(
        self, hits: Sequence[Hit], query: Query, plan: SearchPlan
    ) -> list[ProcedureOption]:
        """The procedure sections an answer may show, with their similarity to the question
        (kb.procedures gathers and chooses; this only fetches what they need)."""

        read: dict[str, list[tuple[Chunk, ...]]] = {}
        # The version a hit came from (in a preview, a draft's), else the one in force.
        found = {h.chunk.document.document_id: h.chunk.document.version for h in hits}

        def sections(document_id: str) -> list[tuple[Chunk, ...]]:
            if document_id not in read:  # gather_options asks for a document several times
                version = (
                    found.get(document_id)
                    or self.kb.registry.document_info(document_id, as_of=query.as_of).version
                )
                chunks = self._chunks(document_id, version)  # a hit's: within the scope
                read[document_id] = procedure_sections(
                    [c for c in chunks if c.kind == ChunkKind.PROCEDURE]
                )
            return read[document_id]

        titles = self.retriever.titles(Scope.of(replace(query, include_inactive=False)))
        situation = tokenize(f"{plan.question} {plan.context or ''}")
        options = gather_options(hits, sections, titles, situation)
        if not options:
            return []
        similarity = self.retriever.similarity(
            plan.question, [c.chunk_id for o in options for c in o.parts]
        )
        return [
            replace(o, similarity=max(similarity.get(c.chunk_id, 0.0) for c in o.parts))
            for o in options
        ]

    def _originals(self, hits: Sequence[Hit]) -> dict[tuple[str, int], str | None]:
        keys = {(h.chunk.document.document_id, h.chunk.document.version) for h in hits}
        return self.kb.registry.original_paths(sorted(keys))  # one statement, not one a key

    def _superseded_notices(self, resolved: str, query: Query, used: Sequence[Hit]) -> list[str]:
        tokens = self.retriever.lexical_tokens(resolved)  # the same words: a cached search
        condition, params = Scope.of(query).sql(versions=False)
        old = self.retriever.lexical.search_superseded(tokens, 3, condition, params, query.as_of)
        if not old:
            return []
        best_current = max((h.lexical_score or 0.0 for h in used[:3]), default=0.0)
        chunk_id, version, score = old[0]
        if score <= best_current:
            return []
        chunk = self.kb.registry.chunks_by_id([chunk_id])[chunk_id]
        info = self.kb.registry.document_info(chunk.document.document_id, as_of=query.as_of)
        return [Message("superseded", old=version, title=info.title, current=info.version)]

    def original_file(self, document_id: str, version: int, *, reader: Reader) -> Path | None:
        self.document(document_id, reader=reader)
        name = self.kb.registry.original_path(document_id, version)
        return self.kb.originals.path(self.kb.registry.db, name) if name else None

    def open_original(self, citation: Citation, *, reader: Reader) -> Original:
        """What the viewer shows for a cited passage (kb.originals.view): the stored file,
        the passage and its pages as the registry holds them (not as the caller says), and
        the section around it. The rule of original_file: DocumentNotFoundError unless
        `reader` may read the document. Audited as "open_original"."""
        self.document(citation.document_id, reader=reader)
        chunks = self._chunks(citation.document_id, citation.version)
        cited = next((c for c in chunks if c.chunk_id == citation.chunk_id), None)
        name = self.kb.registry.original_path(citation.document_id, citation.version)
        self.audit.record(
            reader.name or "cli", "open_original", document=citation.document_id,
            version=citation.version, passage=citation.chunk_id,
        )  # fmt: skip
        return Original(
            citation=citation,
            format=chunks[0].document.format if chunks else "",
            path=self.kb.originals.path(self.kb.registry.db, name) if name else None,
            passage=cited.text if cited else "",
            pages=cited.pages if cited else (),
            parts=section_parts(chunks, citation.chunk_id),
        )

    def close(self) -> None:
        self.kb.close()
        if (jobs := self.__dict__.pop("_ingest_jobs", None)) is not None:
            jobs.close()
        if self.users is not None:
            self.users.close()
        self.audit.close()
        self.feedback.close()
        self.questions.close()
        self.training.close()

    # ------------------------------------------------------------------ calls and the API

    def call_sessions(self):  # type: ignore[no-untyped-def]  # -> kb.calls.CallSessions
        """Live call sessions (kb.calls), their store beside the registry; opened once."""
        if "_call_sessions" not in self.__dict__:
            from kb.calls import CallSessions, CallStore

            store = CallStore(self.settings.data_dir / "calls.sqlite")
            self.__dict__["_call_sessions"] = CallSessions(self, store)
        return self.__dict__["_call_sessions"]

    def integration_accounts(self):  # type: ignore[no-untyped-def]  # -> kb.tokens.TokenStore
        """The systems that call the HTTP API and their hashed tokens (kb.tokens)."""
        if "_integration_accounts" not in self.__dict__:
            from kb.tokens import TokenStore

            self.__dict__["_integration_accounts"] = TokenStore(
                self.settings.data_dir / "tokens.sqlite"
            )
        return self.__dict__["_integration_accounts"]

    def close_api_stores(self) -> None:
        """Close what call_sessions() and integration_accounts() opened (close() does not
        know them)."""
        for name in ("_call_sessions", "_integration_accounts"):
            opened = self.__dict__.pop(name, None)
            if opened is not None:
                opened.close()

    # ------------------------------------------------------------------ background jobs

    def ingest_jobs(self):  # type: ignore[no-untyped-def]  # -> kb.ingest_jobs.IngestJobs
        """Background ingestion jobs (kb.ingest_jobs; the runner is kb.job_runner), their
        store beside the registry (kb.jobs); opened once."""
        if "_ingest_jobs" not in self.__dict__:
            from kb.ingest_jobs import IngestJobs
            from kb.jobs import JobStore

            folder = self.settings.data_dir
            store = JobStore(folder / "jobs.sqlite", folder / "jobs")
            self.__dict__["_ingest_jobs"] = IngestJobs(self, store)
        return self.__dict__["_ingest_jobs"]

    # ------------------------------------------------------------------ escalation rules

    def escalation_rules(self):  # type: ignore[no-untyped-def]  # -> kb.escalation.RuleStore
        """The knowledge team's escalation rules (kb.escalation), versioned beside the
        registry and audited in this knowledge base's audit trail; opened once."""
        if "_escalation_rules" not in self.__dict__:
            from kb.escalation import RuleStore

            self.__dict__["_escalation_rules"] = RuleStore(
                self.settings.data_dir / "escalation.sqlite", audit=self.audit
            )
        return self.__dict__["_escalation_rules"]

    def escalation_detector(self):  # type: ignore[no-untyped-def]  # -> EscalationDetector
        """A detector over the current rules, using this knowledge base's embedder (loaded on
        first use) for meaning; rebuilt when the rule store's version changes."""
        from kb.escalation import EscalationDetector

        store = self.escalation_rules()
        version = store.version()
        with _DETECTOR_LOCK:  # calls run side by side: build one detector, not one each
            cached = self.__dict__.get("_escalation_detector")
            if cached is None or cached.version != version:
                cached = EscalationDetector(store.current(), embedder=self.kb.embedder)
                self.__dict__["_escalation_detector"] = cached
        return cached


def build_services(settings: Settings) -> Services:
    embedder = create_embedder(settings.embedding_model, settings.embedding_batch_size)
    return Services(settings, KnowledgeBase(settings, embedder))


def warm_up_in_background(services: Services) -> threading.Thread:
    """Load the embedding model on a daemon thread, so the first question asked after the
    server starts does not wait for it: PyTorch and the e5 tokenizer take 2-4 s to load
    (kb/e5_torch.py). Then the speller (the base's words and e5's vocabulary, kb.lexicon:
    ~0.15 s) and jieba's dictionary (Chinese search words, ~1 s), which the first question
    would otherwise read. A failure is only logged: the first question loads them again and
    reports the error itself."""

    def load() -> None:
        try:
            services.kb.embedder.embed_queries(["warm up"])
            services.retriever.correct_spelling("warm up")
            tokenize("预热")
        except Exception:  # the first real question will say what is wrong
            logger.exception("the models could not be loaded in the background")

    thread = threading.Thread(target=load, name="model-warm-up", daemon=True)
    thread.start()
    return thread
