"""The dense index: LangChain's FAISS store, persisted without pickle, in generations.

LangChain's own `save_local` pickles its docstore, and `load_local` will only read it back
with `allow_dangerous_deserialization=True`. We persist only what cannot be rebuilt: the FAISS
index (`faiss.write_index`) and the order of chunk ids in it (JSON). The passages themselves
live in the SQLite registry, which LangChain's docstore reads when asked (_registry_docstore).

Files are immutable generations (`gen-000007.faiss` + `gen-000007.json`). A new generation is
written completely and fsynced before the registry's transaction names it current, so a crash
at any point leaves the previous generation and the previous registry, which agree.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kb.embedding import LangChainEmbeddings
from kb.errors import KBError
from kb.ports import Embedder
from kb.side_threads import HELPERS

logger = logging.getLogger(__name__)

_GENERATION = re.compile(r"^gen-(\d{6})\.(faiss|json)$")

SCAN_BLOCK_ROWS = 2048
"""Rows read by every query of a scan before the next block (3 MB of 384 floats, in this
machine's 2 MB L2 and 32 MB L3): two queries' scan of 100,000 vectors took 7.6 ms blocked
against 11.2 ms one query after the other (each read all 150 MB)."""
SCAN_SPLIT_ROWS = 32_768
"""From this many rows a scan is split between the caller and idle helper threads
(kb.side_threads: FAISS's kernel releases the GIL, and one core reads ~27 GB/s, so two
halve a scan of 100,000 vectors, 5.6 -> 2.9 ms)."""


def _inner_products(
    rows: np.ndarray, queries: list[np.ndarray], outputs: list[np.ndarray], start: int, stop: int
) -> None:
    """outputs[i][start:stop] = rows[start:stop] @ queries[i], FAISS's kernel, block by block
    (each block read from memory once for all the queries)."""
    import faiss

    dimension = rows.shape[1]
    for begin in range(start, stop, SCAN_BLOCK_ROWS):
        end = min(stop, begin + SCAN_BLOCK_ROWS)
        block = faiss.swig_ptr(rows[begin:end])
        for query, out in zip(queries, outputs, strict=True):
            faiss.fvec_inner_products_ny(
                faiss.swig_ptr(out[begin:end]), faiss.swig_ptr(query), block, dimension, end - begin
            )


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _registry_docstore(fetch_documents: Callable[[Sequence[str]], dict] | None):  # type: ignore[no-untyped-def]
    """LangChain's docstore for our FAISS store, reading each passage from the registry
    when LangChain asks for it, instead of holding a copy of every passage.

    Nothing of ours reads the docstore (searches return chunk ids; passages come from the
    registry), so the eager copy LangChain's InMemoryDocstore needs was pure cost: opening a
    base of 100,000 chunks read and wrapped every passage (10 s of a 10 s cold start, and a
    gigabyte at a million chunks), and its `add` copies the whole dictionary on every call
    (quadratic while a large batch is written). This one keeps only what a writer added or
    deleted since the generation was opened (not yet in the registry a reader sees)."""
    from langchain_community.docstore.base import AddableMixin, Docstore

    class RegistryDocstore(Docstore, AddableMixin):
        def __init__(self) -> None:
            self.added: dict = {}
            self.deleted: set[str] = set()

        def add(self, texts: dict) -> None:
            self.added.update(texts)
            self.deleted.difference_update(texts)

        def delete(self, ids: list) -> None:
            for chunk_id in ids:
                self.added.pop(chunk_id, None)
            self.deleted.update(ids)

        def search(self, search: str):  # type: ignore[no-untyped-def]
            if search in self.added:
                return self.added[search]
            if search not in self.deleted and fetch_documents is not None:
                found = fetch_documents([search]).get(search)
                if found is not None:
                    return found
            return f"ID {search} not found."

    return RegistryDocstore()


class FaissIndex:
    """Chunk vectors by chunk id, searchable by inner product (vectors are unit length)."""

    def __init__(self, embedder: Embedder, store=None) -> None:  # type: ignore[no-untyped-def]
        import faiss
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy

        self.embedder = embedder
        if store is None:
            store = FAISS(
                embedding_function=LangChainEmbeddings(embedder),
                index=faiss.IndexFlatIP(embedder.dimension),
                docstore=_registry_docstore(None),
                index_to_docstore_id={},
                distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
            )
        self.store = store
        self._ids: list[str] | None = None
        self._positions: dict[str, int] | None = None

    def __len__(self) -> int:
        return int(self.store.index.ntotal)

    @property
    def ids(self) -> list[str]:
        """Chunk ids in FAISS position order (cached: rebuilt only after add or delete)."""
        if self._ids is None:
            mapping = self.store.index_to_docstore_id
            self._ids = [mapping[i] for i in range(len(mapping))]
        return self._ids

    @property
    def positions(self) -> dict[str, int]:
        """FAISS position of each chunk id (cached like `ids`): looking up a few chunks'
        vectors must not rebuild a map of the whole base (65 ms a question at 100,000)."""
        if self._positions is None:
            self._positions = {cid: i for i, cid in enumerate(self.ids)}
        return self._positions

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the given chunks (those indexed), as PgVectorIndex.vectors
        gives them, so code that copies vectors (eval.scale) reads both stores alike."""
        positions, index = self.positions, self.store.index
        return {cid: index.reconstruct(positions[cid]) for cid in chunk_ids if cid in positions}

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Inner product of `vector` with every stored vector, in position order.

        One pass over the vectors (a matrix-vector product on FAISS's own storage, not a
        copy) serves every filter of a question: the retriever ranks the positions a scope
        and language allow from it, instead of one filtered FAISS search per language,
        each of which reads all the vectors again. Exact, like the flat index it reads.

        The product is FAISS's own (`fvec_inner_products_ny`, the kernel IndexFlatIP.search
        uses for one query): at 100,000 chunks it takes ~6 ms where numpy's matrix-vector
        product (OpenBLAS sgemv) took 20-26 ms on this machine, memory-bound either way
        (150 MB read). The two differ in the last bit of some scores (float32 sums in
        another order, |difference| <= 2e-7)."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.scores_of(self._stored(), vector)

    def scores_many(self, vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`scores` of each vector, in one pass over the stored vectors: a question and its
        call's context (kb.retrieve) cost little more than one of them. Each score is the
        one `scores` gives, bit for bit (the same kernel on the same row)."""
        if len(self) == 0:
            return [np.zeros(0, dtype=np.float32) for _ in vectors]
        return self.scores_of_many(self._stored(), vectors)

    def _stored(self) -> np.ndarray:
        """FAISS's own flat storage as a (count, dimension) array (a view, not a copy)."""
        import faiss

        count, dimension = len(self), self.embedder.dimension
        flat = faiss.downcast_index(self.store.index)
        return faiss.rev_swig_ptr(flat.get_xb(), count * dimension).reshape(count, dimension)

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """A contiguous copy of the vectors at `positions`, in that order."""
        if len(self) == 0:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.ascontiguousarray(self._stored()[positions])

    def scores_of(self, vectors: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Inner product of `vector` with each row of `vectors` (C-contiguous float32),
        with the kernel `scores` uses: a row gives the same float wherever it is stored."""
        return self.scores_of_many(vectors, [vector])[0]

    def scores_of_many(
        self, vectors: np.ndarray, queries: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """`scores_of` for each query, the rows read once for all of them (in blocks of
        SCAN_BLOCK_ROWS) and, from SCAN_SPLIT_ROWS rows, in two halves on two cores when a
        helper thread is idle (kb.side_threads). Every row's product is computed by the same
        kernel whatever the split, so the scores do not depend on it."""
        dimension = self.embedder.dimension
        wanted = [np.ascontiguousarray(q, dtype=np.float32) for q in queries]
        if any(q.shape != (dimension,) for q in wanted) or (
            vectors.ndim != 2 or vectors.shape[1] != dimension
        ):
            shapes = [q.shape for q in wanted]
            raise ValueError(f"expected vectors of {dimension}, got {shapes}, {vectors.shape}")
        if vectors.dtype != np.float32 or not vectors.flags.c_contiguous:
            raise ValueError("vectors must be C-contiguous float32")
        outputs = [np.empty(len(vectors), dtype=np.float32) for _ in wanted]
        count = len(vectors)
        if count == 0 or not wanted:
            return outputs
        pieces = 1 + HELPERS.count if count >= SCAN_SPLIT_ROWS else 1
        # Cut at block boundaries, so a piece's blocks are those of an unsplit scan.
        step = -(-count // pieces // SCAN_BLOCK_ROWS) * SCAN_BLOCK_ROWS or SCAN_BLOCK_ROWS
        HELPERS.run(
            [
                lambda start=start: _inner_products(
                    vectors, wanted, outputs, start, min(count, start + step)
                )
                for start in range(0, count, step)
            ]
        )
        return outputs

    def add(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[dict],
    ) -> None:
        if not ids:
            return
        if vectors.shape != (len(ids), self.embedder.dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of {self.embedder.dimension}, got {vectors.shape}"
            )
        self._ids = self._positions = None
        self.store.add_embeddings(
            text_embeddings=list(zip(texts, vectors.tolist(), strict=True)),
            metadatas=list(metadatas),
            ids=list(ids),
        )

    def delete(self, ids: Sequence[str]) -> None:
        present = set(self.store.index_to_docstore_id.values())
        wanted = [i for i in ids if i in present]
        if wanted:
            self._ids = self._positions = None
            self.store.delete(wanted)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) for the k nearest chunks."""
        if len(self) == 0:
            return []
        scores, positions = self.store.index.search(
            np.asarray([vector], dtype=np.float32), min(k, len(self))
        )
        mapping = self.store.index_to_docstore_id
        return [
            (mapping[int(p)], float(s))
            for s, p in zip(scores[0], positions[0], strict=True)
            if p >= 0
        ]

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path, generation: int) -> None:
        import faiss

        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"gen-{generation:06d}"
        blob = faiss.serialize_index(self.store.index).tobytes()
        _fsync_write(stem.with_suffix(".faiss"), blob)
        meta = {"model": self.embedder.name, "dimension": self.embedder.dimension, "ids": self.ids}
        _fsync_write(stem.with_suffix(".json"), json.dumps(meta).encode())
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @classmethod
    def load(
        cls,
        directory: Path,
        generation: int,
        embedder: Embedder,
        fetch_documents: Callable[[Sequence[str]], dict],
    ) -> FaissIndex:
        """Rebuild the LangChain store from generation files; its passages are read from the
        registry (`fetch_documents`) when LangChain asks for them."""
        import faiss
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy

        stem = directory / f"gen-{generation:06d}"
        try:
            meta = json.loads(stem.with_suffix(".json").read_text())
            blob = np.frombuffer(stem.with_suffix(".faiss").read_bytes(), dtype=np.uint8)
            index = faiss.deserialize_index(blob)
        except (OSError, ValueError, RuntimeError) as e:
            raise KBError(
                f"the vector index generation {generation} in {directory} cannot be read: {e}"
            ) from e
        if meta["model"] != embedder.name or meta["dimension"] != embedder.dimension:
            raise KBError(
                f"this knowledge base was built with the '{meta['model']}' embedding model but "
                f"'{embedder.name}' is configured; set KB_EMBEDDING_MODEL={meta['model']} or rebuild"
            )
        ids: list[str] = meta["ids"]
        if index.ntotal != len(ids):
            raise KBError(
                f"vector index generation {generation} is inconsistent ({index.ntotal} != {len(ids)})"
            )
        store = FAISS(
            embedding_function=LangChainEmbeddings(embedder),
            index=index,
            docstore=_registry_docstore(fetch_documents),
            index_to_docstore_id=dict(enumerate(ids)),
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        return cls(embedder, store)


def remove_old_generations(directory: Path, keep_from: int) -> None:
    """Delete generation files older than `keep_from` (readers of older ones have finished)."""
    if not directory.exists():
        return
    for path in directory.iterdir():
        match = _GENERATION.match(path.name)
        if (match and int(match.group(1)) < keep_from) or path.suffix == ".tmp":
            path.unlink(missing_ok=True)
