"""Ingestion benchmark: how fast samples/ goes in, and what parsing and indexing cost on top
of the embedding model itself.

Everything is measured in one process on a temporary knowledge base, so the ratios compare
like with like on a noisy machine: first ingest, unchanged re-ingest, and the raw embedding
throughput of exactly the chunk texts the ingest produced.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest.pipeline import collect_files, ingest_uploads
from kb.config import Settings
from kb.embedding import create_embedder
from kb.store import KnowledgeBase
from kb.types import FileStatus


@dataclass(frozen=True)
class IngestBenchmark:
    files: int
    pages: int
    chunks: int
    failed: int
    first_seconds: float
    unchanged_seconds: float
    embed_only_seconds: float
    model_load_seconds: float
    files_per_second: float
    pages_per_second: float
    chunks_per_second: float
    embed_only_chunks_per_second: float
    end_to_end_vs_embedding: float  # chunk throughput of the pipeline / of the model alone
    unchanged_vs_first: float
    ask_p50_ms: float
    ask_p95_ms: float
    ask_p99_ms: float
    asks: int
    cold_first_answer_seconds: float
    machine: str


def machine_description() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def percentile_ms(values: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    import numpy as np

    return round(float(np.percentile(values, q)) * 1000, 1) if values else 0.0


def _ask_latencies(settings: Settings, embedding_model: str) -> tuple[float, list[float]]:
    """Cold: a fresh model and knowledge base, time to the first answer. Warm: ask() over the
    golden questions twice, the second round timed."""
    from eval.golden import load_golden
    from kb.services import Services
    from kb.types import Query

    started = time.perf_counter()
    services = Services(settings, KnowledgeBase(settings, create_embedder(embedding_model)))
    services.ask(Query("customer lost their debit card abroad"))
    cold = time.perf_counter() - started
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of) for q in load_golden()
    ]
    for query in queries:
        services.ask(query)
    latencies = []
    for query in queries:
        started = time.perf_counter()
        services.ask(query)
        latencies.append(time.perf_counter() - started)
    services.close()
    return cold, latencies


def bench_ingest(
    samples: Path, manifest: Path | None, embedding_model: str = "minilm"
) -> IngestBenchmark:
    embedder = create_embedder(embedding_model)
    started = time.perf_counter()
    embedder.embed_query("warm up")  # the model load is reported apart from throughput
    model_load = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "kb", embedding_model=embedding_model)
        kb = KnowledgeBase(settings, embedder)
        uploads = collect_files([samples], manifest)
        first = ingest_uploads(kb, uploads, progress=None)
        again = ingest_uploads(kb, uploads, progress=None)
        assert all(f.status in (FileStatus.UNCHANGED, FileStatus.FAILED) for f in again.files)
        texts = [c.text for c in kb.registry.chunks_by_id(kb.registry.current_chunk_ids()).values()]
        kb.close()
        cold, latencies = _ask_latencies(settings, embedding_model)
    started = time.perf_counter()
    embedder.embed_passages(texts)
    embed_only = time.perf_counter() - started
    pages = sum(f.pages or 1 for f in first.files if f.status != FileStatus.FAILED)
    chunks = first.chunks_embedded
    return IngestBenchmark(
        files=len(first.files),
        pages=pages,
        chunks=chunks,
        failed=first.count(FileStatus.FAILED),
        first_seconds=round(first.seconds, 2),
        unchanged_seconds=round(again.seconds, 3),
        embed_only_seconds=round(embed_only, 2),
        model_load_seconds=round(model_load, 2),
        files_per_second=round(len(first.files) / first.seconds, 2),
        pages_per_second=round(pages / first.seconds, 2),
        chunks_per_second=round(chunks / first.seconds, 1),
        embed_only_chunks_per_second=round(len(texts) / embed_only, 1),
        end_to_end_vs_embedding=round((chunks / first.seconds) / (len(texts) / embed_only), 3),
        unchanged_vs_first=round(again.seconds / first.seconds, 4),
        ask_p50_ms=percentile_ms(latencies, 50),
        ask_p95_ms=percentile_ms(latencies, 95),
        ask_p99_ms=percentile_ms(latencies, 99),
        asks=len(latencies),
        cold_first_answer_seconds=round(cold, 3),
        machine=machine_description(),
    )


def write_report(result: IngestBenchmark, folder: Path, command: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "bench-ingest.json"
    json_path.write_text(json.dumps({"command": command, **asdict(result)}, indent=2) + "\n")
    rows = [
        ("files (failed)", f"{result.files} ({result.failed})"),
        ("pages (documents without pages count 1)", result.pages),
        ("chunks", result.chunks),
        ("first ingest", f"{result.first_seconds} s"),
        (
            "unchanged re-ingest",
            f"{result.unchanged_seconds} s ({result.unchanged_vs_first:.1%} of first)",
        ),
        ("files / s", result.files_per_second),
        ("pages / s", result.pages_per_second),
        ("chunks / s end to end", result.chunks_per_second),
        ("chunks / s, embedding model alone, same texts", result.embed_only_chunks_per_second),
        ("end-to-end / embedding-only throughput", result.end_to_end_vs_embedding),
        ("model load (excluded above)", f"{result.model_load_seconds} s"),
        (
            f"warm ask() p50 / p95 / p99 over {result.asks} golden questions",
            f"{result.ask_p50_ms} / {result.ask_p95_ms} / {result.ask_p99_ms} ms",
        ),
        (
            "cold start to first answer (new model + knowledge base, in process)",
            f"{result.cold_first_answer_seconds} s",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    md_path = folder / "bench-ingest.md"
    md_path.write_text(
        f"# Ingestion and query benchmark (sample knowledge base)\n\n`{command}` on {result.machine}.\n\n| measure | value |\n|---|---|\n{table}\n"
    )
    return json_path, md_path
