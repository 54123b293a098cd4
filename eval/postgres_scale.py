"""ask() on KB_STORE=postgres at 1,000, 10,000 and 100,000 chunks: cold and warm latency,
and the lexical search's exhaustive scoring against its max-score cut (kb.lexical_pg).

    .venv/bin/python -m eval.postgres_scale --chunks 100000

The base is built once and kept in the PostgreSQL namespace `--schema` (default
`pgscale`): the local sample base (`--source`, default data/kb) is copied with kb.migrate
(no re-embedding), then grown with synthetic variants of its documents, as eval/scale.py
grows a local base (another branch's copy: numbers shifted, a reference added; each vector
its source's plus a little noise, renormalised): the same function, eval.scale.grow, reading
the vectors from pgvector and writing 400 documents per transaction.
A later run finds the base at the size it needs and only measures (`--rebuild` starts over).

At each size, for the golden questions:
* lexical: each question's uncached top-10 (the golden scope) three times, exhaustively in
  SQL (every chunk holding any question word scored: what kb.lexical_pg did first), with
  the SQL's max-score cut, and from the in-memory postings (kb.lexical_pg_postings, what
  a search uses once they are copied), timed in the same loop; the cut's list compared
  with the exhaustive one (identical lists, overlap@10), and the postings' too.
  On the copied sample base the cut's lists are also compared with SQLite FTS5's.
* ask(): every question once on a new Services (cold: never asked, no cache holds it; the
  question's embedding by the model is part of it), again (warm), and a third time with the
  lexical cache emptied (database cold: every search runs in PostgreSQL, the question's
  vectors are cached), latencies p50/p95/p99.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from eval.golden import REFERENCE_DATE, load_golden
from eval.scale import grow
from kb.config import Settings
from kb.embedding import create_embedder
from kb.lexical import LexicalIndex
from kb.retrieve import HybridRetriever, Scope
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import EVERYONE, Query

_DOCUMENTS_PER_WRITE = 400


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


def current_chunks(kb: KnowledgeBase) -> int:
    return int(kb.registry.db.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0])


def build(settings: Settings, source_dir: Path, rebuild: bool) -> None:
    """The namespace holds the migrated sample base (copied once)."""
    from kb.migrate import migrate_to_postgres, target_tables_with_rows
    from kb.postgres import drop_namespace

    assert settings.database_url
    if rebuild:
        drop_namespace(settings.database_url, settings.database_schema)
    if target_tables_with_rows(settings.database_url, settings.database_schema):
        return
    source = Settings(data_dir=source_dir, store="local")
    print(f"copying {source_dir} into '{settings.database_schema}' (kb migrate)", flush=True)
    migrate_to_postgres(source, settings, create_embedder(settings.embedding_model))


def _scoped(question) -> tuple[str, list]:  # type: ignore[no-untyped-def]
    scope = Scope(
        groups=frozenset(question.groups) | {EVERYONE},
        category=None,
        as_of=question.as_of or REFERENCE_DATE,
        include_inactive=False,
    )
    condition, params = scope.sql()
    return condition, list(params)


def compare_lexical(kb: KnowledgeBase, source_dir: Path | None) -> dict:
    """Uncached top-10 per golden question: exhaustive vs max-score cut (and FTS5)."""

    class _Holder:
        settings = kb.settings

    pg = LexicalIndex(kb.registry.db)  # kb.lexical_pg.PgLexicalIndex on PostgreSQL
    inner: Any = pg
    fts = None
    if source_dir is not None:
        fts = LexicalIndex(
            sqlite3.connect(f"file:{source_dir / 'registry.sqlite'}?mode=ro", uri=True)
        )
    times: dict[str, list[float]] = {"exhaustive": [], "cut": [], "postings": []}
    # The in-memory postings (kb.lexical_pg_postings) built before the loop, so every
    # question is timed against the same copy.
    inner._postings(*inner._statistics([])[:2])
    inner.mirror.wait()
    identical_postings = 0
    identical = identical_fts = compared = 0
    overlaps: list[float] = []
    for question in load_golden():
        tokens = HybridRetriever.lexical_tokens(_Holder(), question.text)
        condition, params = _scoped(question)
        results = {}
        for name in ("exhaustive", "cut", "postings"):
            inner.prune = name != "exhaustive"
            inner.mirrored = name == "postings"
            inner._cache.clear()
            begun = time.perf_counter()
            results[name] = [c for c, _ in pg.search(tokens, 10, condition, params)]
            times[name].append(time.perf_counter() - begun)
        inner.prune, inner.mirrored = True, True
        a, b = results["exhaustive"], results["cut"]
        identical_postings += results["postings"] == a
        if fts is not None:
            identical_fts += [c for c, _ in fts.search(tokens, 10, condition, params)] == b
        if not a and not b:
            identical += 1
            continue
        compared += 1
        identical += a == b
        overlaps.append(len(set(a) & set(b)) / max(len(a), len(b)))
    out = {
        "questions": len(load_golden()),
        "identical": identical,
        "overlap_at_10": round(statistics.mean(overlaps), 4) if overlaps else 1.0,
        "exhaustive_ms": _percentiles(times["exhaustive"]),
        "cut_ms": _percentiles(times["cut"]),
        "postings_ms": _percentiles(times["postings"]),
        "postings_identical_to_exhaustive": identical_postings,
    }
    if fts is not None:
        out["identical_to_fts5"] = identical_fts
    return out


def measure_ask(settings: Settings) -> dict:
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
        for q in load_golden()
    ]
    embedder = create_embedder(settings.embedding_model)
    services = Services(settings, KnowledgeBase(settings, embedder))
    embedder.embed_query("warm the model up")  # loading the model is not a question's cost
    cold, warm = [], []
    for query in queries:
        begun = time.perf_counter()
        services.ask(query)
        cold.append(time.perf_counter() - begun)
    for query in queries:
        begun = time.perf_counter()
        services.ask(query)
        warm.append(time.perf_counter() - begun)
    # New to the database only: the question's vectors are cached from the passes above,
    # the lexical index's cache is emptied, so every search runs in PostgreSQL again.
    uncached = []
    lexical: Any = services.retriever.lexical
    for query in queries:
        lexical._cache.clear()
        begun = time.perf_counter()
        services.ask(query)
        uncached.append(time.perf_counter() - begun)
    return {
        "cold_ms": _percentiles(cold),
        "warm_ms": _percentiles(warm),
        "database_cold_ms": _percentiles(uncached),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000, help="largest size measured")
    parser.add_argument("--points", default="1000,10000,100000")
    parser.add_argument("--schema", default="pgscale")
    parser.add_argument("--source", type=Path, default=Path("data/kb"))
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/pgscale"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--lexical-only", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get("KB_DATABASE_URL")
    if not url:
        parser.error("set KB_DATABASE_URL (tools/postgres.sh url)")
    points = [int(p) for p in args.points.split(",") if int(p) <= args.chunks]
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    for point in points:
        # One namespace per size, each built once: later runs only measure.
        settings = Settings(
            data_dir=args.data_dir / str(point),
            store="postgres",
            database_url=url,
            database_schema=f"{args.schema}{point}",
        )
        build(settings, args.source, args.rebuild)
        kb = KnowledgeBase(settings, create_embedder(settings.embedding_model))
        if point == points[0] and current_chunks(kb) < point:
            size = current_chunks(kb)
            print(f"[{size}] sample base, lexical {compare_lexical(kb, args.source)}", flush=True)
        if current_chunks(kb) < point:
            print(f"growing to {point} chunks", flush=True)
            grow(kb, point, documents_per_write=_DOCUMENTS_PER_WRITE)
        size = current_chunks(kb)
        print(f"[{size}] lexical {compare_lexical(kb, None)}", flush=True)
        if not args.lexical_only:
            print(f"[{size}] ask {measure_ask(settings)}", flush=True)
        kb.close()
        load = os.getloadavg()
        print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
