"""Records that cross module borders.

Every arrow in the data flow (file -> blocks -> chunks -> index/registry -> report) passes one
of these frozen records, so a module can be read and tested knowing only its inputs and outputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum

EVERYONE = "everyone"
"""The access group every user belongs to; the default for documents with no restriction."""


class BlockKind(StrEnum):
    """What a parsed piece of a document is, whatever format it came from."""

    TITLE = "title"  # a heading; `level` says how deep (1 = top)
    TEXT = "text"  # a paragraph of running text
    LIST_ITEM = "list_item"  # one bullet or numbered step; `level` is its nesting (1 = top)
    TABLE = "table"  # a whole table; `rows` holds the cells, row 0 the header


class Category(StrEnum):
    POLICY = "policy"
    PROCEDURE = "procedure"
    FAQ = "faq"
    PRODUCT_SHEET = "product_sheet"


@dataclass(frozen=True)
class Block:
    """One structural element of a parsed document, in reading order.

    Parsers (ingest/load.py) produce these from unstructured or pdfplumber output; the chunker
    only ever sees Blocks, so it is independent of file formats.
    """

    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 1
    rows: tuple[tuple[str, ...], ...] = ()  # TABLE only: cells, first row is the header


@dataclass(frozen=True)
class PageConfidence:
    """How sure OCR was of one scanned page (0-1): the engine's line scores weighted by
    characters (ingest.ocr). Pages with a real text layer have none."""

    page: int
    confidence: float


@dataclass(frozen=True)
class ParsedDocument:
    """What a file holds, before chunking.

    `properties` carries format metadata worth keeping (e-mail sender/subject, sheet names);
    `effective_date`/`expiry_date`/`owner` are what the parser found written in the document.
    """

    source_name: str  # original file name only, never a path
    format: str  # pdf, docx, html, md, txt, pptx, xlsx, csv, eml, png, jpeg, tiff
    title: str
    blocks: tuple[Block, ...]
    language: str  # "en", "zh" or "mixed"
    page_count: int | None = None
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    owner: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    ocr_pages: tuple[PageConfidence, ...] = ()  # the scanned pages read by OCR, if any


@dataclass(frozen=True)
class DocumentOptions:
    """What the knowledge team states at upload; None means 'infer or find in the document'."""

    category: Category | None = None
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    groups: tuple[str, ...] | None = None  # None: keep the document's groups, or everyone if new
    owner: str | None = None  # None: the owner written in the document, or keep the stored one
    review_by: dt.date | None = None  # when the knowledge team must check the document again
    replaces: str | None = None  # document id this upload is the new version of (any file name)

    def apply_to(self, info: DocumentInfo, exact: bool = False) -> DocumentInfo:
        """The document's metadata with what was stated here overriding what was stored.

        With `exact` (an edit form showing every field), an empty date, owner or review-by
        clears the stored one instead of keeping it."""
        if exact:
            info = replace(info, effective_date=None, expiry_date=None, owner=None, review_by=None)
        return DocumentInfo(
            document_id=info.document_id,
            version=info.version,
            title=info.title,
            source_name=info.source_name,
            format=info.format,
            language=info.language,
            category=self.category or info.category,
            effective_date=self.effective_date or info.effective_date,
            expiry_date=self.expiry_date or info.expiry_date,
            groups=self.groups or info.groups,
            owner=self.owner or info.owner,
            review_by=self.review_by or info.review_by,
            replaced_on=info.replaced_on,
        )


class ChunkKind(StrEnum):
    TEXT = "text"
    PROCEDURE = "procedure"
    TABLE = "table"


@dataclass(frozen=True)
class DocumentInfo:
    """Document-level metadata copied onto every chunk so a hit is self-describing."""

    document_id: str
    version: int
    title: str
    source_name: str
    format: str
    language: str
    category: Category
    effective_date: dt.date | None
    expiry_date: dt.date | None
    groups: tuple[str, ...]
    owner: str | None = None
    review_by: dt.date | None = None
    # The day a later version of the document takes over (this one answers through the day
    # before); None while no later version is scheduled. Dates belong to versions (kb.validity).
    replaced_on: dt.date | None = None


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: one passage, one whole procedure or one whole table.

    `chunk_id` is `{document_id}:v{version}:{position}` so it is stable across re-runs and
    tells at a glance where a passage came from.
    """

    chunk_id: str
    document: DocumentInfo
    position: int
    kind: ChunkKind
    text: str  # what is shown and embedded: includes the section heading(s)
    section_path: tuple[str, ...]
    pages: tuple[int, ...]
    language: str
    content_hash: str
    table_rows: tuple[tuple[str, ...], ...] = ()

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)


class FileStatus(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class FileReport:
    """The outcome of one file in an ingest batch, as shown to the knowledge team."""

    source_name: str
    status: FileStatus
    document_id: str | None = None
    version: int | None = None
    chunks: int = 0
    pages: int | None = None
    reason: str | None = None
    seconds: float = 0.0
    draft: bool = False  # stored and indexed, not answered until a reviewer approves it
    reused: int = 0  # of `chunks`, how many took a stored vector instead of being embedded


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]
    seconds: float
    chunks_embedded: int = 0  # passages the model embedded
    chunks_reused: int = 0  # passages that took the vector stored for the same text

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)


@dataclass(frozen=True)
class VersionRecord:
    document_id: str
    version: int
    content_hash: str
    source_name: str
    format: str
    # "current" (in force or scheduled), "superseded", "deleted", or under four-eyes
    # publishing (kb.publishing) "draft" (awaiting review), "rejected" or "withdrawn"
    status: str
    ingested_at: str
    chunk_count: int
    page_count: int | None
    byte_size: int
    effective_date: dt.date | None = None  # this version's own dates (kb.validity)
    expiry_date: dt.date | None = None
    replaced_on: dt.date | None = None  # a later version answers from this day


@dataclass(frozen=True)
class DocumentRecord:
    document_id: str
    title: str
    source_name: str
    format: str
    language: str
    category: Category
    effective_date: dt.date | None
    expiry_date: dt.date | None
    groups: tuple[str, ...]
    owner: str | None
    current_version: int | None  # None once deleted
    chunk_count: int
    updated_at: str
    versions: tuple[VersionRecord, ...] = field(default=())
    review_by: dt.date | None = None
    # `current_version` and the dates above are those of the version in force today; a
    # later version waiting for its effective date is scheduled (kb.validity).
    scheduled_version: int | None = None
    scheduled_from: dt.date | None = None
    draft_version: int | None = None  # a version awaiting review (kb.publishing), if any
    # OCR confidence of each scanned page of the version in force (ingest.ocr); empty when
    # every page had a text layer
    ocr_pages: tuple[PageConfidence, ...] = ()


# ---------------------------------------------------------------------- asking


@dataclass(frozen=True)
class Turn:
    """One earlier turn of the conversation: role is "user" or "assistant"."""

    role: str
    text: str


class DocumentStatus(StrEnum):
    CURRENT = "current"
    EXPIRED = "expired"
    NOT_YET_EFFECTIVE = "not_yet_effective"
    SUPERSEDED = "superseded"  # a later version of the document is in force on that day


@dataclass(frozen=True)
class Query:
    """A question with everything that scopes it. Filters are applied inside retrieval."""

    text: str
    history: tuple[Turn, ...] = ()
    groups: tuple[str, ...] = (EVERYONE,)
    category: Category | None = None
    as_of: dt.date | None = None  # None: today
    include_inactive: bool = False  # expired / not-yet-effective documents, flagged
    k: int = 8
    # Drafts awaiting review answer in place of the versions they would replace (the
    # knowledge team's preview; Services.ask honours it for reviewer roles only).
    preview: bool = False


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the evidence for its rank."""

    chunk: Chunk
    score: float  # fused (reciprocal rank fusion) score
    dense_similarity: float | None = None  # cosine similarity, when dense search found it
    lexical_score: float | None = None  # BM25, when lexical search found it
    status: DocumentStatus = DocumentStatus.CURRENT


@dataclass(frozen=True)
class Citation:
    """Where a passage or step comes from, precisely enough to open and check it."""

    document_id: str
    title: str
    source_name: str
    section: str
    pages: tuple[int, ...]
    version: int
    effective_date: dt.date | None
    chunk_id: str
    original: str | None = None  # file name under the knowledge base's originals folder


@dataclass(frozen=True)
class Highlighted:
    """Verbatim text with the character spans that match the question."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Step:
    """One line of a procedure, in order: a numbered step, a sub-step, or a note/warning."""

    text: str
    number: str | None  # "3", "a", None for notes
    level: int  # 1 = top-level step
    kind: str  # "step", "note" or "warning"
    citation: Citation


@dataclass(frozen=True)
class Passage:
    text: Highlighted
    citation: Citation
    score: float
    kind: ChunkKind
    status: DocumentStatus = DocumentStatus.CURRENT


class AnswerStatus(StrEnum):
    ANSWERED = "answered"
    NOT_COVERED = "not_covered"


@dataclass(frozen=True)
class Answer:
    """What the agent sees: the answer, the steps, the sources, and how sure we are."""

    question: str
    resolved_question: str  # the question as searched, after using the conversation
    status: AnswerStatus
    confidence: float  # 0..1, calibrated so that the refusal threshold is meaningful
    sentences: tuple[tuple[Highlighted, Citation], ...] = ()
    steps: tuple[Step, ...] = ()
    passages: tuple[Passage, ...] = ()
    related: tuple[Citation, ...] = ()  # for NOT_COVERED: the closest articles
    notices: tuple[str, ...] = ()  # conflicts, expired or superseded material
    advice: str | None = None  # e.g. what to do when the base does not cover the question
