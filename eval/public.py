"""AnswerDesk against two plain baselines on public datasets nobody on the team wrote.

Why: our golden set was written by us, so it can flatter us. Here the questions come from
public datasets (see eval/public_data.py), and every system is scored in the same run on
the same documents with the same embedding model:

- AnswerDesk as configured: the real ingestion pipeline, then `services.retrieve` with the
  conversation history, exactly as the app calls it (whatever it does with the history);
- AnswerDesk on the latest turn alone (history dropped), to show what context is worth;
- a plain "BM25 + dense" baseline: the whole conversation so far concatenated with the
  question, documents ranked by reciprocal-rank fusion of BM25 over whole documents and
  e5 similarity over the tutorial baseline's chunks (so it shares their embeddings);
- the LangChain tutorial baseline: RecursiveCharacterTextSplitter 1000/200 + FAISS with
  the same embedder, queried with the concatenated conversation.

Metrics are document-level: recall@k (share of the gold documents in the top k; every
query here has one gold document, so it is the hit rate) and MRR@10.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.datasets import load_beir
from eval.metrics import dedupe, recall_at, reciprocal_rank
from ingest.sniff import safe_name
from kb.errors import KBError
from kb.ports import Embedder
from kb.types import Query, Turn

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as (stage, done, total) while a long stage runs."""

SYSTEMS: tuple[tuple[str, str], ...] = (
    ("answerdesk", "AnswerDesk (history as the app uses it)"),
    ("answerdesk_latest_turn", "AnswerDesk, latest turn only (history dropped)"),
    ("bm25_dense_concat", "BM25 + e5 dense, RRF, over concatenated history + question"),
    ("langchain_tutorial", "LangChain tutorial (1000/200 splitter + FAISS, e5), concatenated"),
)
SHORT = {
    "answerdesk": "AnswerDesk",
    "answerdesk_latest_turn": "AnswerDesk, latest turn only",
    "bm25_dense_concat": "BM25 + dense, concatenated",
    "langchain_tutorial": "LangChain tutorial",
}
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10")
RRF_K = 60.0
POOL = 100  # how many documents each of BM25 and dense contribute to the baseline's fusion


@dataclass(frozen=True)
class EvalQuery:
    id: str
    text: str
    history: tuple[Turn, ...]
    relevant: frozenset[str]
    kind: str = ""
    dialogue: str = ""


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    text: str


def concatenated(query: EvalQuery) -> str:
    """What a plain system searches with: every turn so far, then the question."""
    return "\n".join([t.text for t in query.history] + [query.text])


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9]+")


def plain_tokens(text: str) -> list[str]:
    """Baseline tokens, deliberately independent of kb.lexical (so the baseline does not move
    when our tokenizer changes): lower-cased Latin words, jieba search-mode words for Chinese,
    no stop words, no stemming."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    lowered = text.lower()
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(lowered):
        tokens += _LATIN.findall(lowered[position : match.start()])
        tokens += [w for w in jieba.lcut_for_search(match.group()) if w.strip()]
        position = match.end()
    return tokens + _LATIN.findall(lowered[position:])


class TutorialIndex:
    """The LangChain tutorial's index: 1000/200 recursive splits of each document, in
    LangChain's FAISS store, embedded (in batches) by our embedder."""

    def __init__(self, docs: Sequence[Doc], embedder: Embedder, progress: Progress | None = None):
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from kb.embedding import LangChainEmbeddings

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        texts: list[str] = []
        owners: list[str] = []
        for doc in docs:
            for piece in splitter.split_text(f"{doc.title}\n\n{doc.text}"):
                texts.append(piece)
                owners.append(doc.id)
        vectors: list[np.ndarray] = []
        batch = 32
        for start in range(0, len(texts), batch):
            vectors.append(embedder.embed_passages(texts[start : start + batch]))
            if progress:
                progress("baseline index", min(start + batch, len(texts)), len(texts))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, embedder.dimension))
        self.embedder = embedder
        self.chunks = len(texts)
        self.store = FAISS.from_embeddings(
            list(zip(texts, matrix.tolist(), strict=True)),
            LangChainEmbeddings(embedder),
            metadatas=[{"corpus_id": owner} for owner in owners],
        )

    def search(self, vector: np.ndarray, k: int) -> list[str]:
        """Corpus ids of the k nearest chunks, in order (a document may repeat)."""
        found = self.store.similarity_search_by_vector(vector.tolist(), k=min(k, self.chunks))
        return [d.metadata["corpus_id"] for d in found]


class FusionBaseline:
    """BM25 over whole documents + dense over the tutorial chunks (best chunk per document),
    fused by reciprocal rank: what a team gets from two libraries and no further thought."""

    def __init__(self, docs: Sequence[Doc], dense: TutorialIndex) -> None:
        from rank_bm25 import BM25Okapi

        self.ids = [d.id for d in docs]
        self.bm25 = BM25Okapi([plain_tokens(f"{d.title}\n{d.text}") or [""] for d in docs])
        self.dense = dense

    def search(self, text: str, vector: np.ndarray, k: int = 10) -> list[str]:
        scores = self.bm25.get_scores(plain_tokens(text) or [""])
        order = np.argsort(-scores, kind="stable")[:POOL]
        lexical = [self.ids[i] for i in order if scores[i] > 0]
        dense = dedupe(self.dense.search(vector, 4 * POOL))[:POOL]
        fused: dict[str, float] = defaultdict(float)
        for ranking in (lexical, dense):
            for rank, doc in enumerate(ranking, start=1):
                fused[doc] += 1.0 / (RRF_K + rank)
        return [doc for doc, _ in sorted(fused.items(), key=lambda p: (-p[1], p[0]))][:k]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def _scores(ranked: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    wanted = set(relevant)
    return {
        "recall@1": recall_at(ranked, wanted, 1),
        "recall@5": recall_at(ranked, wanted, 5),
        "recall@10": recall_at(ranked, wanted, 10),
        "mrr@10": reciprocal_rank(ranked, wanted, 10),
    }


def _mean(rows: Sequence[dict[str, float]], key: str) -> float:
    return round(sum(r[key] for r in rows) / len(rows), 4) if rows else 0.0


def _rank(ranked: Sequence[str], relevant: frozenset[str]) -> int | None:
    return next((i for i, doc in enumerate(ranked, start=1) if doc in relevant), None)


def _within(ranked: Sequence[str], relevant: frozenset[str], k: int) -> bool:
    return bool(relevant.intersection(ranked[:k]))


def evaluate_public(
    dataset_dir: Path,
    work_dir: Path,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    examples: int = 5,
) -> dict:
    """Ingest the corpus once with the real pipeline, then score the four systems on every
    query. Returns metrics per system, per kind of turn, paired wins/losses against
    AnswerDesk, latency, and example turns AnswerDesk misses that the plain baseline finds."""
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.services import Services
    from kb.store import KnowledgeBase

    corpus_file = dataset_dir / "corpus.jsonl"
    if not corpus_file.is_file():
        raise KBError(f"{dataset_dir} has no corpus.jsonl (the baselines need the raw text)")
    dataset = load_beir(dataset_dir)  # validates the layout and builds the uploads
    docs = [Doc(str(r["_id"]), r.get("title") or "", r["text"]) for r in _read_jsonl(corpus_file)]
    titles = {d.id: d.title for d in docs}
    extra = {str(r["_id"]): r for r in _read_jsonl(dataset_dir / "queries.jsonl")}
    queries = [
        EvalQuery(
            q.id,
            q.text,
            q.history,
            frozenset(c for c, s in dataset.qrels.get(q.id, {}).items() if s > 0),
            str(extra.get(q.id, {}).get("kind") or ""),
            str(extra.get(q.id, {}).get("dialogue") or ""),
        )
        for q in dataset.queries
    ]
    queries = [q for q in queries if q.relevant]
    manifest_file = dataset_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text("utf-8")) if manifest_file.is_file() else {}

    settings = Settings(data_dir=work_dir / "kb")
    embedder = embedder or create_embedder(settings.embedding_model)
    services = Services(settings, KnowledgeBase(settings, embedder))
    started = time.perf_counter()
    report = services.ingest(
        dataset.uploads,
        progress=(lambda done, total, _name: progress("ingest", done, total)) if progress else None,
    )
    ingest_seconds = time.perf_counter() - started
    corpus_of_name = {safe_name(f"{d.id}.md"): d.id for d in docs}
    corpus_of_document: dict[str, str] = {}
    for file in report.files:
        if file.document_id and file.source_name in corpus_of_name:
            corpus_of_document.setdefault(file.document_id, corpus_of_name[file.source_name])
    failed = [
        {"file": f.source_name, "reason": f.reason}
        for f in report.files
        if f.status.value == "failed"
    ]

    started = time.perf_counter()
    tutorial = TutorialIndex(docs, embedder, progress)
    fusion = FusionBaseline(docs, tutorial)
    baseline_seconds = time.perf_counter() - started

    def answerdesk(query: EvalQuery, history: tuple[Turn, ...]) -> list[str]:
        _forget_query_vectors(services)  # each call pays for its own embedding, as in the app
        hits = services.retrieve(Query(text=query.text, history=history, k=10))
        return dedupe([corpus_of_document.get(h.chunk.document.document_id, "") for h in hits])

    if queries:  # warm up (model, caches) so the first timed query is not a cold start
        answerdesk(queries[0], queries[0].history)
        fusion.search(concatenated(queries[0]), embedder.embed_query(concatenated(queries[0])))
    explain = _planner(services)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name, _ in SYSTEMS}
    latency: dict[str, list[float]] = {name: [] for name, _ in SYSTEMS}
    per_query: list[dict] = []
    rankings: dict[str, dict[str, list[str]]] = {}
    for number, query in enumerate(queries, start=1):
        ranked: dict[str, list[str]] = {}
        clock = time.perf_counter()
        ranked["answerdesk"] = answerdesk(query, query.history)
        latency["answerdesk"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        ranked["answerdesk_latest_turn"] = answerdesk(query, ())
        latency["answerdesk_latest_turn"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        text = concatenated(query)
        vector = embedder.embed_query(text)
        embedded = time.perf_counter() - clock
        clock = time.perf_counter()
        ranked["bm25_dense_concat"] = fusion.search(text, vector, 10)
        latency["bm25_dense_concat"].append(embedded + time.perf_counter() - clock)
        clock = time.perf_counter()
        ranked["langchain_tutorial"] = dedupe(tutorial.search(vector, 10))
        latency["langchain_tutorial"].append(embedded + time.perf_counter() - clock)
        record: dict = {
            "id": query.id,
            "kind": query.kind,
            "turns": len(query.history) + 1,
            # How AnswerDesk used the history for this turn (its search plan).
            "answerdesk_plan": explain(query.text, query.history)[1],
        }
        for name, _ in SYSTEMS:
            rows[name].append(_scores(ranked[name], query.relevant) | {"kind": query.kind})
            record[name] = _rank(ranked[name], query.relevant)
        per_query.append(record)
        rankings[query.id] = ranked
        if progress:
            progress("queries", number, len(queries))
    services.close()

    systems = []
    for name, label in SYSTEMS:
        systems.append(
            {
                "system": name,
                "label": label,
                **{key: _mean(rows[name], key) for key in METRICS},
                "p50_ms": _percentile(latency[name], 0.5),
                "p95_ms": _percentile(latency[name], 0.95),
            }
        )
    kinds = sorted({q.kind for q in queries if q.kind})
    by_kind = {
        kind: {
            "n": sum(1 for q in queries if q.kind == kind),
            **{
                name: {key: _mean([r for r in rows[name] if r["kind"] == kind], key)
                       for key in ("recall@5", "mrr@10")}
                for name, _ in SYSTEMS
            },
        }
        for kind in kinds
    }  # fmt: skip
    plans = [record["answerdesk_plan"] for record in per_query]
    by_plan = {
        label: {
            "n": plans.count(label),
            **{
                name: {key: _mean([r for r, p in zip(rows[name], plans, strict=True)
                                   if p == label], key)
                       for key in ("recall@5", "mrr@10")}
                for name, _ in SYSTEMS
            },
        }
        for label in dict.fromkeys(sorted(plans))
    }  # fmt: skip
    paired: dict[str, dict] = {"recall@1": {}, "recall@5": {}}
    for key, table in paired.items():
        for name, _ in SYSTEMS[1:]:
            ours = [r[key] for r in rows["answerdesk"]]
            theirs = [r[key] for r in rows[name]]
            wins = sum(1 for a, b in zip(ours, theirs, strict=True) if a > b)
            losses = sum(1 for a, b in zip(ours, theirs, strict=True) if a < b)
            table[name] = {
                "answerdesk_only": wins,
                "baseline_only": losses,
                "sign_test_p": _sign_test(wins, losses),
            }
    misses = []
    for query in queries:
        ranked = rankings[query.id]
        ours, theirs = ranked["answerdesk"], ranked["bm25_dense_concat"]
        if not _within(ours, query.relevant, 5) and _within(theirs, query.relevant, 5):
            gold = sorted(query.relevant)[0]
            misses.append(
                {
                    "id": query.id,
                    "kind": query.kind,
                    "history_tail": [f"{t.role}: {t.text}" for t in query.history[-3:]],
                    "turn": query.text,
                    "answerdesk_searched_with": explain(query.text, query.history)[0],
                    "gold": f"{gold}: {titles.get(gold, '')}",
                    "answerdesk_rank": _rank(ours, query.relevant),
                    "answerdesk_top3": [f"{d}: {titles.get(d, '')}" for d in ours[:3]],
                    "baseline_rank": _rank(theirs, query.relevant),
                }
            )
    return {
        "dataset": dataset.name,
        "manifest": {k: v for k, v in manifest.items() if k != "files"},
        "documents": len(dataset.uploads),
        "ingested": sum(1 for f in report.files if f.status.value == "added"),
        "failed": failed,
        "chunks": report.chunks_embedded + report.chunks_reused,
        "baseline_chunks": tutorial.chunks,
        "queries": len(queries),
        "ingest_seconds": round(ingest_seconds, 1),
        "baseline_index_seconds": round(baseline_seconds, 1),
        "systems": systems,
        "by_kind": by_kind,
        "by_answerdesk_plan": by_plan,
        "paired_vs_answerdesk": paired,
        "answerdesk_misses_baseline_hits": {"count": len(misses), "examples": misses[:examples]},
        "per_query": per_query,
    }


def _forget_query_vectors(services: object) -> None:
    """Empty the retriever's cache of query embeddings (if it has one), so a question asked
    twice (with and without history) is timed the same way both times."""
    cache = getattr(getattr(services, "retriever", None), "_vectors", None)
    if cache is not None and hasattr(cache, "clear"):
        cache.clear()


def _planner(services: object) -> Callable[[str, tuple[Turn, ...]], tuple[str, str]]:
    """(what AnswerDesk searched with, how it used the history) for a turn, read from its
    search plan (`Services.plan`) or, in older code, `resolve_question`. Tolerant of both
    changing: kb.conversation and kb.services are being reworked in parallel."""
    plan_of = getattr(services, "plan", None)
    if callable(plan_of):

        def from_plan(text: str, history: tuple[Turn, ...]) -> tuple[str, str]:
            plan = plan_of(Query(text=text, history=history, k=10))
            question = str(getattr(plan, "question", text))
            context = getattr(plan, "context", None)
            weight = getattr(plan, "context_weight", 0.0)
            if context:
                return (
                    f"{question} || call context, weight {weight:g}: {context}",
                    f"question + call context (weight {weight:g})",
                )
            changed = question.strip() != text.strip()
            return question, "resolved question only" if changed else "latest turn alone"

        return from_plan
    try:
        from kb.conversation import resolve_question
    except ImportError:  # pragma: no cover - only if the function is renamed
        return lambda text, _history: (text, "latest turn alone")

    def resolved(text: str, history: tuple[Turn, ...]) -> tuple[str, str]:
        question = str(resolve_question(text, history))
        changed = question.strip() != text.strip()
        return question, "resolved with the previous question" if changed else "latest turn alone"

    return resolved


def _sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test on the queries where exactly one side finds the gold."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return round(min(1.0, 2 * tail), 4)


# ---------------------------------------------------------------- reports


def markdown_report(results: dict) -> str:
    """One table per dataset (all four systems), with its source, licence and size."""
    lines = [
        "# Retrieval on public datasets",
        "",
        f"`{results.get('command', 'kb eval public')}`"
        + (f" on {results['machine']}" if results.get("machine") else "")
        + ". Document-level metrics; every query has exactly one gold document, so recall@k "
        "is the share of queries whose gold document is in the top k. Latency is one "
        "retrieval with a warm model, one query at a time, embedding the query included for "
        "every system (AnswerDesk's query-vector cache is emptied before each call); the "
        "machine is shared, so read latencies as upper bounds.",
        "",
    ]
    for name in sorted(results.get("datasets", {})):
        data = results["datasets"][name]
        manifest = data.get("manifest", {})
        lines += [
            f"## {manifest.get('title', name)}",
            "",
            f"- source: {manifest.get('url', '?')} at commit `{manifest.get('commit', '?')}`",
            f"- licence: {manifest.get('licence', '?')}",
            f"- size: {data['documents']} documents ({data['chunks']} AnswerDesk chunks, "
            f"{data['baseline_chunks']} tutorial chunks), {data['queries']} queries",
            f"- sampling: {manifest.get('sampling', '?')}",
            f"- ingestion: {data['ingest_seconds']} s with the real pipeline; baseline index "
            f"{data['baseline_index_seconds']} s; evaluated {data.get('evaluated_at', '?')} "
            f"with the code at {data.get('code', '?')}",
            "",
            "| system | " + " | ".join(METRICS) + " | p50 ms | p95 ms |",
            "|---" * (len(METRICS) + 3) + "|",
        ]
        for row in data["systems"]:
            lines.append(
                f"| {row['label']} | "
                + " | ".join(f"{row[k]:.3f}" for k in METRICS)
                + f" | {row['p50_ms']} | {row['p95_ms']} |"
            )
        if data["failed"]:
            lines += ["", f"{len(data['failed'])} documents failed to ingest, e.g. "
                      f"{data['failed'][0]['file']}: {data['failed'][0]['reason']}"]  # fmt: skip
        lines += [
            "",
            "Turn by turn against AnswerDesk (with history): turns where only AnswerDesk / "
            "only the other system has the gold document at rank 1 and in the top 5 "
            "(two-sided sign test p):",
            "",
            "| system | recall@1: AnswerDesk only / other only (p) | recall@5: same |",
            "|---|---|---|",
        ]
        paired = data["paired_vs_answerdesk"]
        for name, _ in SYSTEMS[1:]:
            cells = [
                f"{p['answerdesk_only']} / {p['baseline_only']} ({p['sign_test_p']})"
                for p in (paired["recall@1"][name], paired["recall@5"][name])
            ]
            lines.append(f"| {SHORT[name]} | {cells[0]} | {cells[1]} |")
        if len(data["by_kind"]) > 1:
            lines += [
                "",
                "Recall@5 by kind of turn:",
                "",
                "| kind | n | " + " | ".join(SHORT[name] for name, _ in SYSTEMS) + " |",
                "|---" * (len(SYSTEMS) + 2) + "|",
            ]  # fmt: skip
            for kind, row in data["by_kind"].items():
                lines.append(
                    f"| {kind} | {row['n']} | "
                    + " | ".join(f"{row[name]['recall@5']:.3f}" for name, _ in SYSTEMS)
                    + " |"
                )
        split = data.get("by_answerdesk_plan", {})
        if len(queries_with(split)) > 1:
            lines += [
                "",
                "Recall@5 by how AnswerDesk used the history (its search plan for the turn):",
                "",
                "| AnswerDesk searched with | n | "
                + " | ".join(SHORT[name] for name, _ in SYSTEMS)
                + " |",
                "|---" * (len(SYSTEMS) + 2) + "|",
            ]
            for label, row in split.items():
                lines.append(
                    f"| {label} | {row['n']} | "
                    + " | ".join(f"{row[name]['recall@5']:.3f}" for name, _ in SYSTEMS)
                    + " |"
                )
        misses = data["answerdesk_misses_baseline_hits"]
        lines += [
            "",
            f"Turns AnswerDesk misses (gold not in its top 5) that the BM25 + dense baseline "
            f"finds: {misses['count']}.",
        ]
        for example in misses["examples"][:3]:
            history = " / ".join(example["history_tail"]) or "(none)"
            lines += [
                "",
                f'- `{example["id"]}` ({example["kind"] or "turn"}): "{example["turn"]}"',
                f"  - previous turns: {history[:300]}",
                f'  - AnswerDesk searched with: "{example["answerdesk_searched_with"][:240]}"',
                f"  - gold: {example['gold']}; AnswerDesk rank {example['answerdesk_rank']}, "
                f"baseline rank {example['baseline_rank']}",
                f"  - AnswerDesk's top 3: {'; '.join(example['answerdesk_top3'])}",
            ]
        lines.append("")
    return "\n".join(lines) + "\n"


def code_version() -> str:
    """The commit the evaluated code is at, and whether kb/, ingest/ or eval/ had
    uncommitted changes: AnswerDesk's retrieval changes often, so numbers need a version."""
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise OSError(done.stderr)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "kb", "ingest", "eval")
    except OSError:
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def queries_with(split: dict) -> list[str]:
    """The groups of a breakdown that have any queries."""
    return [label for label, row in split.items() if row.get("n")]


def available_datasets(data_dir: Path) -> list[str]:
    """Folders under data_dir that hold a converted dataset (corpus.jsonl)."""
    if not data_dir.is_dir():
        return []
    return sorted(p.name for p in data_dir.iterdir() if (p / "corpus.jsonl").is_file())


def run_public(
    data_dir: Path,
    names: Sequence[str],
    report_dir: Path,
    work_dir: Path,
    command: str,
    progress: Callable[[str], Progress] | None = None,
) -> dict:
    """Evaluate the named datasets and merge them into report_dir/public.json and public.md
    (a dataset evaluated earlier keeps its last results unless evaluated again)."""
    import datetime as dt

    from eval.bench import machine_description

    if not names:
        raise KBError(
            f"no converted datasets in {data_dir}: build them first, see "
            "eval/data/public/README.md (python -m eval.public_data NAME --source ...)"
        )
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / "public.json"
    merged: dict = json.loads(json_path.read_text("utf-8")) if json_path.is_file() else {}
    merged.setdefault("datasets", {})
    version = code_version()  # before the first dataset imports the code it measures
    for name in names:
        folder = data_dir / name
        if not folder.is_dir():
            raise KBError(
                f"no dataset {name!r} in {data_dir}; found: {available_datasets(data_dir)}"
            )
        started = time.perf_counter()
        result = evaluate_public(folder, work_dir / name, progress(name) if progress else None)
        result["wall_seconds"] = round(time.perf_counter() - started, 1)
        result["evaluated_at"] = dt.datetime.now().isoformat(timespec="minutes")
        result["code"] = version
        merged["datasets"][name] = result
    merged["command"] = command
    merged["machine"] = machine_description()
    json_path.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (report_dir / "public.md").write_text(markdown_report(merged), "utf-8")
    return merged
