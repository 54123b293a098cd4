"""The one Settings object. Built once at the edge (CLI, app, tests) and passed down.

Nothing else reads the environment. Every field can be set as `KB_<NAME>` in the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

QUESTION_MAX_CHARS = 2000
"""The default longest question (Settings.question_max_chars); the API's request schema
uses it (api.models), as it is declared before any settings are read."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("data/kb"),
        description="Where this knowledge base lives; several can sit side by side.",
    )
    embedding_model: str = Field(
        default="e5",
        description="Embedding backend by name: 'e5' (multilingual, default) or 'minilm' "
        "(English only; see eval/reports for the comparison).",
    )
    embedding_batch_size: int = Field(default=32, gt=0)
    max_file_mb: float = Field(
        default=50.0,
        gt=0,
        description="Larger files are refused; the Library's uploader says so and takes no "
        "more (`make run` gives Streamlit the same limit).",
    )
    four_eyes: bool = Field(
        default=True,
        description="Four-eyes publishing (kb.publishing): a document or version uploaded by "
        "a person in the Library is a draft, answered only in the reviewers' preview until a "
        "second person with the reviewer right (knowledge or admin) approves it. `kb ingest` "
        "(the operator on the server) publishes directly. Off: every upload is live at once.",
    )
    default_group: str = Field(
        default="unclassified",
        min_length=1,
        description="Access group of a new file that a kb-manifest.csv governs but gives no "
        "groups (not listed, or an empty groups cell). By default a group nobody holds: a file "
        "the knowledge team forgot to list stays closed, and the ingest report says so, "
        "until the manifest lists it. 'everyone' opens such files instead.",
    )
    max_unzipped_mb: float = Field(
        default=200.0,
        gt=0,
        description="An Office file (.docx/.pptx/.xlsx) whose parts would unpack to more is "
        "refused before parsing (zip bombs).",
    )
    max_zip_entries: int = Field(
        default=10_000, gt=0, description="An Office file with more parts is refused."
    )
    max_pdf_pages: int = Field(
        default=2_000, gt=0, description="A PDF with more pages is refused before parsing."
    )
    parse_memory_mb: int = Field(
        default=3072,
        ge=512,
        description="Address-space cap of the process that parses files (the parsers alone "
        "take about 1.2 GB of it); a file needing more is reported and skipped.",
    )
    parse_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Parsing one file longer than this stops it; the file is reported and "
        "skipped, the rest of the batch goes on.",
    )
    ocr_seconds_per_page: float = Field(
        default=30.0,
        gt=0,
        description="Time added to the parse timeout for each page that may need OCR (a "
        "scanned page takes 3-10 s on 2 cores, a text page milliseconds).",
    )
    ocr_review_confidence: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="A scanned page read with a lower OCR confidence is flagged for review "
        "in the Library.",
    )
    chunk_max_chars: int = Field(
        default=900, ge=200, description="Target passage size; CJK characters count double."
    )
    procedure_max_chars: int = Field(
        default=2400,
        ge=400,
        description="A numbered procedure longer than this is split at step boundaries.",
    )
    retrieval_mode: str = Field(default="hybrid", description="hybrid, dense or lexical")
    retrieval_candidates: int = Field(
        default=50, gt=0, description="How many hits each search contributes to fusion."
    )
    dense_weight: float = Field(default=1.0, ge=0)
    lexical_weight: float = Field(default=1.0, ge=0)
    glossary_expansion: str = Field(
        default="both",
        description="Which questions get glossary equivalents added to their BM25 search: "
        "'zh' (Chinese questions), 'en', 'both' or 'none'.",
    )
    same_language_ratio: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="A passage in the question's language goes first if its fused score is at "
        "least this share of a better passage in the other language (1: off).",
    )
    crosslingual_offset: float = Field(
        default=0.03,
        ge=0,
        description="Added to the similarity of passages in the other language (0: off).",
    )
    crosslingual_lexical_weight: float = Field(
        default=0.0,
        ge=0,
        description="Weight of a BM25 search of the other language's passages with the "
        "glossary's translations of the question's terms (0: off).",
    )
    crosslingual_slot: int = Field(
        default=5,
        ge=0,
        description="When none of the first this many documents is in the other language, "
        "the other language's best passage for the question's terms takes this place "
        "(0: off). A bilingual bank keeps some answers in one language only.",
    )
    crosslingual_concepts: bool = Field(
        default=True,
        description="Put the other language's best passage first when its document holds "
        "more of the question's glossary concepts than the top one's (kb.concept_cover).",
    )
    rrf_k: float = Field(default=60.0, gt=0, description="Reciprocal rank fusion constant.")
    reranker_path: Path | None = Field(
        default=None, description="A local cross-encoder folder; none by default."
    )
    rerank_candidates: int = Field(default=20, gt=0)
    question_max_chars: int = Field(
        default=QUESTION_MAX_CHARS,
        gt=0,
        description="Longer questions are refused, with a message, in the app, the CLI and "
        "the API (whose schema says 2000). A question the embedding model cannot read in one "
        "pass is cut for the search, and the answer says so.",
    )
    answer_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Below this confidence the answer says the base does not cover the "
        "question; default: the embedding model's calibrated value.",
    )
    allowed_link_hosts: str = Field(
        default="",
        description="Comma-separated hosts (with their subdomains) whose links in document "
        "text stay clickable, e.g. 'intranet.bank.example'; none by default: every link and "
        "image in content is shown as text.",
    )
    demo_users: bool = Field(
        default=False,
        description="Demo accounts, one per role (`kb users demo`); only for demos (`make run` "
        "turns it on). Off, every start-up removes them.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="The key that seals the audit trail's head (HMAC-SHA256), created 0600 "
        "if missing; default: `<data dir>.audit-key`, beside the data folder. Keep it out of "
        "the database's backups (see kb.audit).",
    )
    auth_provider: str | None = Field(
        default=None,
        description="Name of an OpenID Connect provider configured in .streamlit/secrets.toml "
        "([auth.NAME]); when set, people sign in with st.login and their e-mail must match a "
        "local account, which gives their role and groups.",
    )
    allow_local_sign_in: bool = Field(
        default=True,
        description="Keep the local-password form beside the OIDC button (off: OIDC only).",
    )
    customer_messages_dir: Path = Field(
        default=Path(__file__).parent / "data" / "banking77",
        description="Folder of real customer messages (BANKING77 layout: test.csv/train.csv "
        "with text,category) that trainers turn into call drills.",
    )
    session_idle_minutes: float = Field(
        default=30.0,
        gt=0,
        description="A signed-in session that sees no activity for this long ends; the next "
        "click or reload shows the sign-in page (kb.sessions).",
    )
    session_max_hours: float = Field(
        default=12.0,
        gt=0,
        description="Every session ends this long after sign-in, however active (one shift).",
    )
    lock_timeout_seconds: float = Field(default=600.0, gt=0)
    keep_index_generations: int = Field(default=2, ge=1)
    store: Literal["local", "postgres"] = Field(
        default="local",
        description="Where the knowledge base lives: 'local' (SQLite and FAISS files under "
        "data_dir, no server) or 'postgres' (PostgreSQL with pgvector at database_url, shared "
        "by every replica; data_dir then holds only this machine's caches).",
    )
    database_url: str | None = Field(
        default=None,
        repr=False,
        description="postgresql://user:password@host:port/database, for store=postgres.",
    )
    database_schema: str = Field(
        default="answerdesk",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="Prefix of the PostgreSQL schemas of this knowledge base "
        "(<prefix>_registry, <prefix>_audit, ...); several bases can share one database.",
    )

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    def model_post_init(self, context: Any, /) -> None:
        """A postgres base binds its data folder, so every store opened under it (by path,
        as the stores always have been) opens in PostgreSQL instead (kb.database.bind)."""
        if self.store == "postgres":
            if not self.database_url:
                raise ValueError("KB_STORE=postgres needs KB_DATABASE_URL")
            from kb.database import bind

            bind(self.data_dir, self.database_url, self.database_schema)
        else:
            from kb.database import unbind

            unbind(self.data_dir)

    @property
    def uses_postgres(self) -> bool:
        return self.store == "postgres"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.sqlite"

    @property
    def audit_key_path(self) -> Path:
        from kb.audit import default_key_file

        return (self.audit_key_file or default_key_file(self.audit_path)).expanduser()

    @property
    def users_path(self) -> Path:
        return self.data_dir / "users.sqlite"

    @property
    def sessions_path(self) -> Path:
        return self.data_dir / "sessions.sqlite"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    @property
    def questions_path(self) -> Path:
        return self.data_dir / "questions.sqlite"

    @property
    def training_path(self) -> Path:
        return self.data_dir / "training.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def originals_dir(self) -> Path:
        """Copies of ingested files, by content hash, so agents can open the original."""
        return self.data_dir / "originals"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / ".ingest.lock"
