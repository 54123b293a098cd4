"""Records that cross module borders.

Every arrow in the data flow (file -> blocks -> chunks -> index/registry -> report) passes one
of these frozen records, so a module can be read and tested knowing only its inputs and outputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
class ParsedDocument:
    """What a file holds, before chunking.

    `properties` carries format metadata worth keeping (e-mail sender/subject, sheet names);
    `effective_date`/`expiry_date`/`owner` are what the parser found written in the document.
    """

    source_name: str  # original file name only, never a path
    format: str  # pdf, docx, html, md, txt, pptx, xlsx, csv, eml
    title: str
    blocks: tuple[Block, ...]
    language: str  # "en", "zh" or "mixed"
    page_count: int | None = None
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    owner: str | None = None
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DocumentOptions:
    """What the knowledge team states at upload; None means 'infer or find in the document'."""

    category: Category | None = None
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    groups: tuple[str, ...] | None = None  # None: keep the document's groups, or everyone if new


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


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileReport, ...]
    seconds: float
    chunks_embedded: int = 0

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)


@dataclass(frozen=True)
class VersionRecord:
    document_id: str
    version: int
    content_hash: str
    source_name: str
    format: str
    status: str  # "current" or "superseded" or "deleted"
    ingested_at: str
    chunk_count: int
    page_count: int | None
    byte_size: int


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
