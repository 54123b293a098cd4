"""Query speed as the knowledge base grows: 1,000, 10,000 and 100,000 chunks.

The base is the real sample knowledge base, grown with synthetic documents: each is a copy of
a sample document presented as another branch's or product line's variant (title, amounts
and a reference changed, so lexical statistics stay realistic), ingested through the
registry and the index like any document. What is synthetic is the vectors: embedding
100,000 passages with the real model would take hours on two cores, so each synthetic
passage gets its source passage's vector plus a little noise (renormalised). Search cost
depends on the number and shape of vectors, not on how they were made, so the latencies
hold; retrieval quality on the grown base is not what this measures.
"""

from __future__ import annotations

import hashlib
import re
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from eval.bench import percentile_ms
from eval.golden import REFERENCE_DATE, load_golden
from kb.config import Settings
from kb.embedding import create_embedder
from kb.lexical import tokenize
from kb.services import Services
from kb.store import KnowledgeBase, chunk_metadata
from kb.types import Chunk, Query

_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class ScalePoint:
    chunks: int
    grow_seconds: float
    cold_first_answer_seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    concurrent_askers: int
    concurrent_questions_per_second: float
    peak_rss_mb: float
    disk_mb: float


def _vary(text: str, variant: int) -> str:
    """Another branch's version of a passage: its numbers shifted, a reference added."""

    def shift(match: re.Match[str]) -> str:
        value = int(match.group())
        return str(value + (variant % 7)) if value > 31 else match.group()

    return _NUMBER.sub(shift, text) + f"\nVariant reference BR-{variant:06d}."


def grow(kb: KnowledgeBase, target_chunks: int, seed: int = 7) -> float:
    """Add synthetic documents until the base has at least `target_chunks` current chunks."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed + target_chunks)
    index = kb.index
    source_ids = [cid for cid in index.ids if not cid.startswith("synthetic-")]
    positions = {cid: i for i, cid in enumerate(index.ids)}
    source = kb.registry.chunks_by_id(source_ids)
    by_document: dict[str, list[Chunk]] = {}
    for cid in source_ids:
        by_document.setdefault(source[cid].document.document_id, []).append(source[cid])
    documents = sorted(by_document)
    current = len(index)
    variant = sum(1 for d in kb.registry.documents() if d.document_id.startswith("synthetic-"))
    with kb.write() as session:
        while current < target_chunks:
            original = by_document[documents[variant % len(documents)]]
            info = replace(
                original[0].document,
                document_id=f"synthetic-{variant:06d}",
                version=1,
                title=f"{original[0].document.title} (variant {variant})",
                source_name=f"synthetic-{variant:06d}.txt",
                format="txt",
                groups=original[0].document.groups,
            )
            chunks = []
            for position, chunk in enumerate(original):
                text = _vary(chunk.text, variant)
                chunks.append(
                    replace(
                        chunk,
                        chunk_id=f"{info.document_id}:v1:{position}",
                        document=info,
                        position=position,
                        text=text,
                        content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    )
                )
            base = np.vstack(
                [index.store.index.reconstruct(positions[c.chunk_id]) for c in original]
            )
            vectors = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            session.registry.upsert_document(info, info.source_name)
            session.registry.add_version(
                info, hashlib.sha256(info.document_id.encode()).hexdigest(), chunks, None, 0, None
            )
            session.registry.add_terms([(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])
            session.index.add(
                [c.chunk_id for c in chunks],
                vectors,
                [c.text for c in chunks],
                [chunk_metadata(c) for c in chunks],
            )
            current += len(chunks)
            variant += 1
        session.changed = True
    return time.perf_counter() - started


def _disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)


def measure(settings: Settings, chunks: int, grow_seconds: float, askers: int = 8) -> ScalePoint:
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
        for q in load_golden()
    ]
    started = time.perf_counter()
    services = Services(
        settings, KnowledgeBase(settings, create_embedder(settings.embedding_model))
    )
    services.ask(queries[0])
    cold = time.perf_counter() - started
    for query in queries[:20]:
        services.ask(query)
    latencies = []
    for query in queries:
        begun = time.perf_counter()
        services.ask(query)
        latencies.append(time.perf_counter() - begun)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def ask(query: Query) -> None:
        try:
            services.ask(query)
        except BaseException as e:  # reported below: a concurrency bug must not pass silently
            with lock:
                errors.append(e)

    begun = time.perf_counter()
    with ThreadPoolExecutor(max_workers=askers) as pool:
        list(pool.map(ask, queries))
    throughput = len(queries) / (time.perf_counter() - begun)
    if errors:
        raise RuntimeError(f"{len(errors)} concurrent asks failed, first: {errors[0]!r}")
    services.close()
    return ScalePoint(
        chunks=chunks,
        grow_seconds=round(grow_seconds, 1),
        cold_first_answer_seconds=round(cold, 2),
        p50_ms=percentile_ms(latencies, 50),
        p95_ms=percentile_ms(latencies, 95),
        p99_ms=percentile_ms(latencies, 99),
        concurrent_askers=askers,
        concurrent_questions_per_second=round(throughput, 1),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        disk_mb=_disk_mb(settings.data_dir),
    )


def bench_scale(
    samples: Path, work_dir: Path, sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
) -> list[dict]:
    """Grow one base through the sizes in order, measuring at each."""
    settings = Settings(data_dir=work_dir / "kb")
    kb = KnowledgeBase(settings, create_embedder(settings.embedding_model))
    services = Services(settings, kb)
    services.ingest_paths([samples])
    results = []
    for size in sizes:
        seconds = grow(kb, size)
        point = measure(settings, len(kb.index), seconds)
        results.append(asdict(point))
    services.close()
    return results
