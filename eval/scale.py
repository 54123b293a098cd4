"""Query speed as the knowledge base grows: 1,000, 10,000 and 100,000 chunks.

The base is the real sample knowledge base, grown with synthetic documents: each is a copy of
a sample document presented as another branch's or product line's variant (title, amounts
and a reference changed, so lexical statistics stay realistic), ingested through the
registry and the index like any document. What is synthetic is the vectors: embedding
100,000 passages with the real model would take hours on two cores, so each synthetic
passage gets its source passage's vector plus a little noise (renormalised). Search cost
depends on the number and shape of vectors, not on how they were made, so the latencies
hold; retrieval quality on the grown base is not what this measures.

The lexical tokens of a variant are its source passage's (tokenised once), with the same
numbers shifted and the variant reference's tokens added, instead of re-tokenising every
variant: that was two thirds of growing the base (jieba), and it is what lets the million
chunk point be built in minutes. Registry rows and index vectors still go through the
registry's and index's own methods in one write session.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import resource
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from eval.bench import machine_description, percentile_ms
from eval.golden import REFERENCE_DATE, load_golden
from kb.config import Settings
from kb.database import is_postgres
from kb.embedding import create_embedder
from kb.lexical import tokenize
from kb.lexical_pg import GIN_INDEX
from kb.pgvector_index import HNSW_INDEX, LANGUAGES, language_indexes
from kb.services import Services
from kb.store import KnowledgeBase, chunk_metadata
from kb.types import Chunk, DocumentInfo, Query

logger = logging.getLogger(__name__)
QUESTIONS = 100
"""Golden questions asked at each size (the first ones, in file order): all 215, three times
over at 100,000 chunks, took most of the ten minutes a run may take on this shared machine."""
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class ScalePoint:
    store: str  # KB_STORE: 'local' (SQLite + FAISS) or 'postgres' (PostgreSQL + pgvector)
    chunks: int
    grow_seconds: float
    cold_start_seconds: float  # open the base (index, registry) and answer one question
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_ms_per_ask: float  # process CPU time per sequential ask (less sensitive to load)
    vector_kept_p50_ms: float  # the same asks again, question vectors already computed:
    vector_kept_p95_ms: float  # the search and answer alone, without the embedding model
    vector_kept_p99_ms: float
    questions_per_second_8: float  # 8 concurrent askers
    questions_per_second_32: float  # 32 concurrent askers
    rss_mb: float  # resident memory after the measurements
    peak_rss_mb: float
    disk_mb: float  # the data folder, plus the base's schemas in PostgreSQL
    load_average: float  # the machine's 1-minute load when the point was measured
    previous_p95_ms: float | None  # the same size in the report this run replaces
    p95_speedup: float | None  # previous_p95_ms / p95_ms


def _number_shift(variant: int):  # type: ignore[no-untyped-def]
    def shift(match: re.Match[str]) -> str:
        value = int(match.group())
        return str(value + (variant % 7)) if value > 31 else match.group()

    return shift


def _vary(text: str, variant: int) -> str:
    """Another branch's version of a passage: its numbers shifted, a reference added."""

    return _NUMBER.sub(_number_shift(variant), text) + f"\nVariant reference BR-{variant:06d}."


def _vary_terms(tokens: list[str], variant: int) -> str:
    """The lexical terms of `_vary(text, variant)` from `text`'s tokens: numbers shifted
    alike, the reference's tokens added (an amount written "25,000" is one token, so it
    shifts here while `_vary` shifts its parts; a negligible difference in statistics)."""
    shift = _number_shift(variant)
    shifted = [_NUMBER.sub(shift, t) if t.isdigit() else t for t in tokens]
    return " ".join([*shifted, "variant", "reference", "br", f"{variant:06d}"])


def _variant_chunks(original: list[Chunk], variant: int) -> tuple[DocumentInfo, list[Chunk]]:
    """Document `variant`: another branch's copy of `original` (one document's chunks)."""
    info = replace(
        original[0].document,
        document_id=f"synthetic-{variant:06d}",
        version=1,
        title=f"{original[0].document.title} (variant {variant})",
        source_name=f"synthetic-{variant:06d}.txt",
        format="txt",
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
    return info, chunks


def grow(
    kb: KnowledgeBase,
    target_chunks: int,
    seed: int = 7,
    documents_per_write: int | None = None,
) -> float:
    """Add synthetic documents until the base has at least `target_chunks` indexed chunks.

    The one builder of synthetic bases, for both stores (eval.postgres_scale uses it too):
    vectors are read with the index's `vectors()` (FAISS's storage or pgvector) and written
    with its `add()`. `documents_per_write` splits the growth into several write sessions
    (PostgreSQL: one transaction per batch, progress visible); None writes it all in one
    (the local store copies its FAISS generation once per session)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed + target_chunks)
    index = kb.index
    source_ids = [cid for cid in index.ids if not cid.startswith("synthetic-")]
    source = kb.registry.chunks_by_id(source_ids)
    source_vectors = index.vectors(source_ids)
    tokens = {cid: tokenize(source[cid].text) for cid in source_ids}
    by_document: dict[str, list[Chunk]] = {}
    for cid in sorted(source, key=lambda c: (source[c].document.document_id, source[c].position)):
        by_document.setdefault(source[cid].document.document_id, []).append(source[cid])
    documents = sorted(by_document)
    current = len(index)
    variant = sum(1 for d in kb.registry.documents() if d.document_id.startswith("synthetic-"))
    postgres = is_postgres(kb.registry.db)
    if postgres and current < target_chunks:
        # A bulk load: the HNSW and GIN indexes are made once afterwards, not row by row.
        kb.registry.db.execute("DROP INDEX IF EXISTS chunk_vectors_hnsw")
        for language in LANGUAGES:
            kb.registry.db.execute(f"DROP INDEX IF EXISTS chunk_vectors_hnsw_{language}")
        kb.registry.db.execute("DROP INDEX IF EXISTS chunk_terms_tsv")
    while current < target_chunks:
        with kb.write() as session:
            written = 0
            while current < target_chunks and (
                documents_per_write is None or written < documents_per_write
            ):
                original = by_document[documents[variant % len(documents)]]
                info, chunks = _variant_chunks(original, variant)
                base = np.vstack([source_vectors[c.chunk_id] for c in original])
                vectors = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                session.registry.upsert_document(info, info.source_name)
                digest = hashlib.sha256(info.document_id.encode()).hexdigest()
                session.registry.add_version(info, digest, chunks, None, 0, None)
                session.registry.add_terms(
                    [
                        (c.chunk_id, _vary_terms(tokens[o.chunk_id], variant))
                        for c, o in zip(chunks, original, strict=True)
                    ]
                )
                session.index.add(
                    [c.chunk_id for c in chunks],
                    vectors,
                    [c.text for c in chunks],
                    [chunk_metadata(c) for c in chunks],
                )
                current += len(chunks)
                variant += 1
                written += 1
            session.changed = True
        logger.info("grown to %d chunks (%.0f s)", current, time.perf_counter() - started)
    if postgres:
        kb.registry.db.execute("SET maintenance_work_mem = '1GB'")
        for statement in [HNSW_INDEX, *language_indexes()]:
            kb.registry.db.execute(statement)
        kb.registry.db.execute(GIN_INDEX)
        kb.registry.db.execute("ANALYZE")  # the planner's statistics for the grown tables
    return time.perf_counter() - started


def _disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1)


def _database_mb(settings: Settings) -> float:
    """What the base's schemas take in PostgreSQL: tables, indexes and TOAST."""
    import psycopg

    assert settings.database_url
    prefix = settings.database_schema.replace("_", r"\_") + r"\_%"
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname LIKE %s AND c.relkind IN ('r', 'm')",
            (prefix,),
        ).fetchone()
    return round(int(row[0]) / 1e6, 1)


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return round(int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _throughput(services: Services, queries: list[Query], askers: int) -> float:
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
    return round(throughput, 1)


def measure(
    settings: Settings,
    chunks: int,
    grow_seconds: float,
    questions: int | None = None,
    previous: dict | None = None,
) -> ScalePoint:
    """Open the base afresh (cold start), then time warm asks of the golden questions (the
    first `questions` of them, QUESTIONS by default), one at a time and with 8 and 32 askers."""
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
        for q in load_golden()
    ][: questions or QUESTIONS]
    embedder = create_embedder(settings.embedding_model)
    embedder.embed_queries(["warm the model up"])  # the model's own loading is not the base's
    started = time.perf_counter()
    services = Services(settings, KnowledgeBase(settings, embedder))
    services.ask(queries[0])
    cold = time.perf_counter() - started
    for query in queries[:20]:
        services.ask(query)
    latencies = []
    cpu = time.process_time()
    for query in queries:
        begun = time.perf_counter()
        services.ask(query)
        latencies.append(time.perf_counter() - begun)
    cpu_ms = (time.process_time() - cpu) / len(queries) * 1000
    kept = []
    for query in queries:
        begun = time.perf_counter()
        services.ask(query)
        kept.append(time.perf_counter() - begun)
    eight = _throughput(services, queries, 8)
    thirty_two = _throughput(services, queries, 32)
    rss = _rss_mb()
    services.close()
    p95 = percentile_ms(latencies, 95)
    before = (previous or {}).get("p95_ms")
    disk = _disk_mb(settings.data_dir)
    if settings.uses_postgres:
        disk = round(disk + _database_mb(settings), 1)
    return ScalePoint(
        store=settings.store,
        chunks=chunks,
        grow_seconds=round(grow_seconds, 1),
        cold_start_seconds=round(cold, 2),
        p50_ms=percentile_ms(latencies, 50),
        p95_ms=p95,
        p99_ms=percentile_ms(latencies, 99),
        cpu_ms_per_ask=round(cpu_ms, 1),
        vector_kept_p50_ms=percentile_ms(kept, 50),
        vector_kept_p95_ms=percentile_ms(kept, 95),
        vector_kept_p99_ms=percentile_ms(kept, 99),
        questions_per_second_8=eight,
        questions_per_second_32=thirty_two,
        rss_mb=rss,
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        disk_mb=disk,
        load_average=round(os.getloadavg()[0], 1),
        previous_p95_ms=before,
        p95_speedup=round(before / p95, 2) if before and p95 else None,
    )


def bench_scale(
    samples: Path,
    work_dir: Path,
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
    previous: dict[tuple[str, int], dict] | None = None,
    questions: dict[int, int] | None = None,
    stores: tuple[str, ...] = ("local",),
    database_url: str | None = None,
    postgres_schema: str | None = None,
    base: Path | None = None,
) -> list[dict]:
    """Ingest `samples` once, then, for each store, grow one base through the sizes in
    order, measuring at each. The postgres base is the ingested sample base copied with
    kb.migrate (no re-embedding) into a namespace of its own, dropped at the end.
    `previous` holds the last report's points by (store, size) (for before/after);
    `questions` limits how many golden questions are asked at a size (a million chunks).
    `postgres_schema` names a postgres base built before (by an earlier run or
    eval.postgres_scale) to measure, and grow if it is smaller, instead of a new one; it is
    kept (growing 100,000 chunks into PostgreSQL takes ~10 minutes on this machine)."""
    previous, questions = previous or {}, questions or {}
    local = Settings(data_dir=work_dir / "kb")
    embedder = create_embedder(local.embedding_model)
    sample_base = work_dir / "samples-kb"
    if base is not None:  # `samples` ingested before (data/kb): copied, with its audit key
        from kb.audit import default_key_file

        shutil.copytree(base, local.data_dir, ignore=shutil.ignore_patterns("*.lock"))
        key = default_key_file(base / "audit.sqlite")
        if key.exists():
            shutil.copy2(key, default_key_file(local.data_dir / "audit.sqlite"))
    elif "local" in stores or postgres_schema is None:
        services = Services(local, KnowledgeBase(local, embedder))
        services.ingest_paths([samples])
        services.close()
    if base is not None or "local" in stores or postgres_schema is None:
        shutil.copytree(local.data_dir, sample_base, ignore=shutil.ignore_patterns("*.lock"))
    results = []
    for store in stores:
        if store == "local":
            settings = local
        else:
            if not database_url:
                raise ValueError("the postgres store needs a database URL (KB_DATABASE_URL)")
            settings = Settings(
                data_dir=work_dir / "postgres-cache",
                store="postgres",
                database_url=database_url,
                database_schema=postgres_schema or f"kbscale{os.getpid()}",
            )
            if postgres_schema is None:
                from kb.migrate import migrate_to_postgres

                source = Settings(data_dir=sample_base, store="local")
                migrate_to_postgres(source, settings, embedder)
        kb = KnowledgeBase(settings, embedder)
        try:
            for size in sizes:
                seconds = grow(kb, size, documents_per_write=None if store == "local" else 400)
                chunks = len(kb.index)
                point = measure(
                    settings,
                    chunks,
                    seconds,
                    questions.get(size),
                    _nearest({k[1]: v for k, v in previous.items() if k[0] == store}, chunks),
                )
                logger.info("scale point: %s", point)
                results.append(asdict(point))
        finally:
            kb.close()
            if settings.uses_postgres and postgres_schema is None:
                from kb.postgres import drop_namespace

                assert settings.database_url
                drop_namespace(settings.database_url, settings.database_schema)
    return results


def schema_needs_key(schema: str) -> str:
    """Why `--schema` needs KB_AUDIT_KEY_FILE, said before anything runs: the base's shared
    audit trail is sealed with the key of the run that built it, and this run's working
    folder is new, so without that key the first write fails deep inside the bench."""
    return (
        f"--schema {schema} measures a base another run built: set KB_AUDIT_KEY_FILE to that "
        "run's audit key (eval.postgres_scale keeps it beside its data folder, e.g. "
        "/tmp/pgscale/100000.audit-key for the schema pgscale100000)"
    )


def _nearest(points: dict[int, dict], chunks: int) -> dict | None:
    """The previous point of about the same size (grown bases overshoot a size a little)."""
    for size, point in points.items():
        if abs(size - chunks) <= max(50, chunks // 50):
            return point
    return None


REPORT_INTRO = (
    "The base is samples/ grown with synthetic variants of its documents (see eval/scale.py: "
    "their vectors are their source passage's plus noise, their lexical terms their source's "
    "with numbers shifted). Latencies are warm `ask()` over the first {questions} golden "
    "questions (at a million chunks the first {million_questions}), one at a time, after 20 "
    "to warm up; cpu_ms_per_ask is the "
    "process's CPU time per sequential ask; vector_kept_* time the same questions again with their "
    "vectors already computed (search and answer without the embedding model, whose first "
    "call for a question takes 40 ms to over a second on this machine); throughput is with 8 and 32 concurrent askers "
    "(threads in one process). Cold start opens the base (index and registry) and answers one "
    "question, the embedding model already loaded. rss_mb is resident memory after the "
    "measurements, disk_mb the knowledge base folder. load_average is the machine's 1-minute "
    "load while measuring: this machine is shared, and latencies grow with it. previous_p95_ms "
    "is the p95 of the report this run replaced (same command, code before this run's "
    "changes, another load)."
)


MILLION_QUESTIONS = 30


def _key(point: dict) -> tuple[str, int]:
    return point.get("store", "local"), point["chunks"]


def write_report(points: list[dict], report_dir: Path, command: str, notes: str = "") -> str:
    """bench-scale.json and bench-scale.md; points are merged with the existing report's by
    store and size, so a separate run (the other store, the million-chunk point) adds its
    rows; each run's command is listed."""
    json_path = report_dir / "bench-scale.json"
    kept: dict[tuple[str, int], dict] = {}
    commands: list[str] = []
    if json_path.exists():
        old = json.loads(json_path.read_text())
        commands = old.get("commands", [])
        for point in old.get("points", []):
            if "store" in point:  # this format: keep rows other runs measured
                kept[_key(point)] = point
    for point in points:
        store = point["store"]
        for key in [
            k for k in kept if k[0] == store and _nearest({k[1]: kept[k]}, point["chunks"])
        ]:
            del kept[key]
        kept[_key(point)] = point
    commands = [c for c in commands if c != command] + [command]
    ordered = [kept[key] for key in sorted(kept)]
    record = {"commands": commands, "machine": machine_description(), "points": ordered}
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    keys = list(ordered[0])
    lines = [
        "# Query speed as the knowledge base grows",
        "",
        "Commands (rows are merged by store and size): "
        + ", ".join(f"`{c}`" for c in commands)
        + f", on {record['machine']}. "
        + REPORT_INTRO.format(questions=QUESTIONS, million_questions=MILLION_QUESTIONS),
        "",
        "| " + " | ".join(keys) + " |",
        "|---" * len(keys) + "|",
    ]
    lines += ["| " + " | ".join(str(p.get(k)) for k in keys) + " |" for p in ordered]
    if notes:
        lines += ["", notes]
    report = "\n".join(lines) + "\n"
    (report_dir / "bench-scale.md").write_text(report)
    return report


def previous_points(report_dir: Path) -> dict[tuple[str, int], dict]:
    """The last report's points by (store, chunks); rows without a store were local."""
    json_path = report_dir / "bench-scale.json"
    if not json_path.exists():
        return {}
    return {_key(p): p for p in json.loads(json_path.read_text()).get("points", [])}


def stores_to_measure(chosen: str | None, database_url: str | None) -> tuple[str, ...]:
    """Both stores when a database URL is set (KB_DATABASE_URL), else the local one."""
    if chosen:
        return (chosen,)
    return ("local", "postgres") if database_url else ("local",)


def main(argv: list[str] | None = None) -> int:
    """`python -m eval.scale samples --sizes 1000000`: points `kb bench --scale` does not
    take by default (a million chunks takes most of ten minutes on its own)."""
    parser = argparse.ArgumentParser(prog="python -m eval.scale")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--questions", type=int, default=None)
    parser.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    parser.add_argument(
        "--store",
        choices=("local", "postgres"),
        help="one store only (default: both when KB_DATABASE_URL is set)",
    )
    parser.add_argument(
        "--schema",
        help="postgres: measure (and grow if smaller) this existing base, kept afterwards",
    )
    parser.add_argument(
        "--base",
        type=Path,
        help="an ingested base of the folder (data/kb) to copy instead of ingesting it again",
    )
    args = parser.parse_args(argv)
    database_url = os.environ.get("KB_DATABASE_URL") or None
    stores = stores_to_measure(args.store, database_url)
    if args.schema and not os.environ.get("KB_AUDIT_KEY_FILE"):
        parser.error(schema_needs_key(args.schema))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    previous = previous_points(args.report_dir)
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        points = bench_scale(
            args.folder,
            Path(tmp),
            tuple(args.sizes),
            previous,
            {size: args.questions for size in args.sizes} if args.questions else None,
            stores,
            database_url,
            args.schema,
            args.base,
        )
    sizes = " ".join(str(s) for s in args.sizes)
    command = f"python -m eval.scale {args.folder} --sizes {sizes}"
    if args.questions:
        command += f" --questions {args.questions}"
    if args.store:
        command += f" --store {args.store}"
    if args.schema:
        command += f" --schema {args.schema}"
    if args.base:
        command += f" --base {args.base}"
    print(write_report(points, args.report_dir, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
