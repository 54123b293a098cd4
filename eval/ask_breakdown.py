"""Where a warm ask() spends its time, question by question (issue 14's p95 tail).

    python -m eval.ask_breakdown --data-dir /tmp/s14/kb100k [--questions 100] [--json out.json]

The same protocol as eval.scale.measure (open the base, ask the first question, 20 to warm
up, then the first `--questions` golden questions timed one at a time, then the same again
with their vectors kept), with the ask's parts timed: each probe wraps one method for the
run and records its own time, without the probes it calls (exclusive time), so the parts
add up to the ask. Python's garbage collector is timed through `gc.callbacks` (its pauses
also count in whichever part they interrupted). The probes cost ~1-2 us a call, a few
hundred calls an ask: under 1 ms. Parts timed on another thread (the question's embedding
runs beside the lexical searches, kb.retrieve) are wall time on that thread: the parts of
an ask then add up to more than the ask.

Why the ask's own methods and not cProfile: cProfile slows every Python call 1.5-2x, most of
all the many small ones, which moves a tail made of a few slow calls; and it aggregates
over all asks, while the question here is what the slowest 10 % are made of.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.golden import REFERENCE_DATE, load_golden

PROBES: tuple[tuple[str, str, str], ...] = (
    # (module, attribute: "Class.method" or a module function, part)
    ("kb.services", "Services.ask", "ask (rest)"),
    ("kb.services", "Services._readable_for_model", "question length (tokenizer)"),
    ("kb.services", "Services.plan", "plan + spelling"),
    ("kb.retrieve", "HybridRetriever.retrieve", "fusion + hits (rest of retrieve)"),
    ("kb.embedding", "E5Embedder.embed_queries", "embedding"),
    ("kb.embedding", "MiniLMEmbedder.embed_queries", "embedding"),
    ("kb.retrieve", "HybridRetriever._current_catalog", "dense: catalog"),
    ("kb.retrieve", "_Catalog.allowed", "dense: scope filter"),
    ("kb.retrieve", "_Catalog.language_rows", "dense: scope filter"),
    ("kb.retrieve", "_Catalog.titles", "titles by scope"),
    ("kb.index", "FaissIndex.scores", "dense: scan"),
    ("kb.index", "FaissIndex.scores_of", "dense: scan"),
    ("kb.index", "FaissIndex.scores_many", "dense: scan"),
    ("kb.retrieve", "top_positions", "dense: top k"),
    ("kb.retrieve", "HybridRetriever.dense", "dense: rest"),
    ("kb.pgvector_index", "PgVectorIndex.search", "dense: pgvector"),
    # A batch side by side (its wall time; one call however many searches it holds).
    ("kb.pgvector_index", "PgVectorIndex.search_many", "dense: pgvector"),
    ("kb.retrieve", "HybridRetriever.lexical_tokens", "lexical: tokens + glossary"),
    ("kb.glossary", "Glossary.expand", "glossary"),
    ("kb.glossary", "Glossary.translate", "glossary"),
    ("kb.glossary", "Glossary.equivalents", "glossary"),
    ("kb.lexical", "LexicalIndex._ranked", "lexical: BM25"),
    ("kb.lexical_bm25", "Bm25Postings.postings", "lexical: postings read"),
    ("kb.lexical_bm25", "Bm25Postings.read", "lexical: postings read"),
    ("kb.lexical", "LexicalIndex._chunk_owners", "lexical: scope filter"),
    ("kb.lexical_scope", "ChunkOwners.allowed_versions", "lexical: scope filter"),
    ("kb.lexical_scope", "ChunkOwners.in_scope", "lexical: scope filter"),
    ("kb.lexical", "LexicalIndex.search", "lexical: rest"),
    ("kb.lexical", "LexicalIndex.search_superseded", "lexical: superseded"),
    ("kb.lexical", "LexicalIndex.readable", "confidence: readable() SQL"),
    ("kb.lexical", "LexicalIndex.vocabulary", "confidence: vocabulary"),
    ("kb.lexical_pg", "PgLexicalIndex.search", "lexical: postgres"),
    ("kb.lexical_pg", "PgLexicalIndex.readable", "confidence: readable() SQL"),
    ("kb.services", "Services._confidence", "confidence: rest"),
    ("kb.domain", "DomainSimilarity.similarity", "confidence: domain"),
    ("kb.domain", "DomainSimilarity.restricted_gap", "confidence: domain"),
    ("kb.services", "Services._procedure_options", "procedures"),
    ("kb.services", "Services._cross_check", "cross-check"),
    ("kb.services", "build_answer", "answer building"),
    ("kb.registry", "Registry.chunks_by_id", "registry reads"),
    ("kb.registry", "Registry.document_info", "registry reads"),
    ("kb.registry", "Registry.original_paths", "registry reads"),
)


@dataclass
class AskParts:
    """One timed ask: its total and the exclusive time of each part, in ms."""

    number: int  # the golden question's place in the file, from 1
    question: str
    total_ms: float
    parts: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    embedded: list[str] = field(default_factory=list)  # texts given to the model
    embedded_tokens: int = 0
    gc_ms: float = 0.0
    gc_collections: int = 0
    history: bool = False
    groups: tuple[str, ...] = ()


class Probes:
    """Wraps the PROBES methods for as long as it is installed; `current` collects."""

    def __init__(self) -> None:
        self.current: AskParts | None = None
        # Per thread (retrieve embeds on another thread): the time spent in probes called
        # from each open probe.
        self._local = threading.local()
        self._undo: list[tuple[Any, str, Any]] = []
        self._lock = threading.Lock()
        self._gc_started = 0.0

    def _wrap(self, function: Callable, part: str) -> Callable:
        probes = self

        def probed(*args: Any, **kwargs: Any) -> Any:
            if probes.current is None:
                return function(*args, **kwargs)
            if part == "embedding":
                probes.current.embedded += list(args[1])
            record = probes.current
            stack = probes._local.__dict__.setdefault("stack", [])
            begun = time.perf_counter()
            stack.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - begun
                inner = stack.pop()
                if stack:
                    stack[-1] += elapsed
                with probes._lock:
                    record.parts[part] = record.parts.get(part, 0.0) + (elapsed - inner) * 1000
                    record.calls[part] = record.calls.get(part, 0) + 1

        return probed

    def _on_gc(self, phase: str, info: dict) -> None:
        if self.current is None:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.current.gc_ms += (time.perf_counter() - self._gc_started) * 1000
            self.current.gc_collections += 1

    def install(self) -> None:
        import importlib

        for module_name, attribute, part in PROBES:
            module = importlib.import_module(module_name)
            owner: Any = module
            *path, name = attribute.split(".")
            for step in path:
                owner = getattr(owner, step)
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            self._undo.append((owner, name, original))
            setattr(owner, name, self._wrap(original, part))
        gc.callbacks.append(self._on_gc)

    def remove(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()
        gc.callbacks.remove(self._on_gc)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 1)


def run(data_dir: Path, questions: int, probed: bool = True) -> dict[str, list[AskParts]]:
    """The timed asks of eval.scale.measure's two sequential passes, part by part."""
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.services import Services
    from kb.store import KnowledgeBase
    from kb.types import Query

    golden = load_golden()[:questions]
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
        for q in golden
    ]
    if os.environ.get("KB_DATABASE_URL") and os.environ.get("KB_DATABASE_SCHEMA"):
        settings = Settings(
            data_dir=data_dir,
            store="postgres",
            database_url=os.environ["KB_DATABASE_URL"],
            database_schema=os.environ["KB_DATABASE_SCHEMA"],
        )
    else:
        settings = Settings(data_dir=data_dir)
    embedder = create_embedder(settings.embedding_model)
    embedder.embed_queries(["warm the model up"])
    probes = Probes()
    if probed:
        probes.install()
    services = Services(settings, KnowledgeBase(settings, embedder))
    try:
        services.ask(queries[0])
        for query in queries[:20]:
            services.ask(query)
        passes: dict[str, list[AskParts]] = {}
        for name in ("first", "vector_kept"):
            asks = []
            for number, query in enumerate(queries, 1):
                record = AskParts(
                    number, query.text, 0.0, history=bool(query.history), groups=query.groups
                )
                probes.current = record
                begun = time.perf_counter()
                services.ask(query)
                record.total_ms = (time.perf_counter() - begun) * 1000
                probes.current = None
                counts = getattr(embedder, "token_counts", None)
                if record.embedded and counts is not None:
                    record.embedded_tokens = sum(counts(record.embedded))
                asks.append(record)
            passes[name] = asks
        return passes
    finally:
        services.close()
        if probed:
            probes.remove()


def summary(asks: list[AskParts], tail_share: float = 0.10) -> str:
    """Markdown: percentiles, the mean parts of all asks and of the slowest `tail_share`,
    and the slowest asks one by one."""
    totals = [a.total_ms for a in asks]
    ordered = sorted(asks, key=lambda a: -a.total_ms)
    tail = ordered[: max(1, round(len(asks) * tail_share))]
    parts = sorted(
        {p for a in asks for p in a.parts}, key=lambda p: -sum(a.parts.get(p, 0) for a in tail)
    )

    def mean(group: list[AskParts], part: str) -> float:
        return sum(a.parts.get(part, 0.0) for a in group) / len(group)

    lines = [
        f"asks {len(asks)}: p50/p95/p99 {_percentile(totals, 50)} / {_percentile(totals, 95)} / "
        f"{_percentile(totals, 99)} ms; mean {sum(totals) / len(totals):.1f}, slowest "
        f"{len(tail)} mean {sum(a.total_ms for a in tail) / len(tail):.1f}",
        "",
        "| part | mean ms, all | mean ms, slowest | calls an ask, all | calls, slowest |",
        "|---|---:|---:|---:|---:|",
    ]
    for part in parts:
        calls_all = sum(a.calls.get(part, 0) for a in asks) / len(asks)
        calls_tail = sum(a.calls.get(part, 0) for a in tail) / len(tail)
        lines.append(
            f"| {part} | {mean(asks, part):.1f} | {mean(tail, part):.1f} | {calls_all:.1f} | "
            f"{calls_tail:.1f} |"
        )
    gc_all = sum(a.gc_ms for a in asks) / len(asks)
    gc_tail = sum(a.gc_ms for a in tail) / len(tail)
    lines += [f"| (of which Python GC) | {gc_all:.1f} | {gc_tail:.1f} | | |", ""]
    lines += [
        "| # | ms | largest parts (ms) | texts embedded (tokens) | GC ms | history | groups |",
        "|---:|---:|---|---|---:|---|---|",
    ]
    for a in tail:
        largest = sorted(a.parts.items(), key=lambda item: -item[1])[:4]
        described = ", ".join(f"{p} {v:.0f}" for p, v in largest)
        lines.append(
            f"| {a.number} | {a.total_ms:.0f} | {described} | {len(a.embedded)} "
            f"({a.embedded_tokens}) | {a.gc_ms:.0f} | {'yes' if a.history else ''} | "
            f"{' '.join(a.groups)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ask_breakdown")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--json", type=Path, help="every ask's parts, for a closer look")
    parser.add_argument(
        "--no-probes", action="store_true", help="time the asks only (the probes' own cost)"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    passes = run(args.data_dir, args.questions, probed=not args.no_probes)
    print(f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    for name, asks in passes.items():
        print(f"\n## {name} pass\n")
        print(summary(asks))
    if args.json:
        args.json.write_text(
            json.dumps({k: [asdict(a) for a in v] for k, v in passes.items()}, ensure_ascii=False)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
