"""Live call assist measured turn by turn: are the right documents on the agent's screen?

Dialogues are replayed through the call-session service in this process
(`services.call_sessions()`, the code the HTTP API drives), one turn at a time; after each
customer turn the assist snapshot is read and its suggestions (document ids, best first)
compared with the turn's gold documents. In the same run, the same turns are scored for a
baseline: plain top-3 retrieval of the customer's latest turn alone (no call context, no
hysteresis), i.e. `services.retrieve` of that turn, documents in rank order.

Metrics (pure functions below, tested in tests/unit/test_live_metrics.py):

- top-3 accuracy: share of labelled customer turns with a gold document among the first
  three suggestions;
- turns to first: in each topic (a run of consecutive labelled customer turns of one
  dialogue with the same gold set), the customer turn (1 = the topic's first) at which a
  gold document first appears in the top 3; mean and median over topics where it appears,
  and the share of topics where it never does;
- churn: over pairs of consecutive customer turns in the same topic, the share where the
  top suggestion changed (a suggestion appearing on, or leaving, an empty screen counts).

Datasets: (a) DSTC10 track 2 (public, Apache-2.0) over its own knowledge snippets, built the
way eval/public.py builds it; (b) the recorded calls in eval/data/calls/*.jsonl over the
sample bank (samples/), whose customer turns carry a `gold` list of acceptable files.

`python -m eval.live` writes eval/reports/live-assist.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

REPO = Path(__file__).parent.parent
CALLS_DIR = REPO / "eval" / "data" / "calls"
DSTC10_DIR = REPO / "eval" / "data" / "public" / "dstc10"
DSTC10_MIRROR = Path("/work/.mirror/alexa+alexa-with-dstc10-track2-dataset/repo")
TOP_K = 3
SYSTEMS = (
    ("live", "AnswerDesk live assist (call context + hysteresis, via CallSessions)"),
    ("latest_turn_top3", "Baseline: plain top-3 retrieval of the latest customer turn alone"),
)


# ---------------------------------------------------------------------- pure metrics


@dataclass(frozen=True)
class TurnOutcome:
    """What the screen showed after one customer turn. `gold` empty = not labelled."""

    dialogue: str
    turn: int  # customer turn number in the dialogue, from 1
    gold: frozenset[str]
    shown: tuple[str, ...]  # document labels, best first


def top_k_hit(shown: Sequence[str], gold: frozenset[str], k: int = TOP_K) -> bool:
    """Whether a gold document is among the first k shown."""
    return bool(gold) and not gold.isdisjoint(shown[:k])


def topic_segments(outcomes: Sequence[TurnOutcome]) -> list[list[TurnOutcome]]:
    """Runs of consecutive labelled customer turns of one dialogue with the same gold set, in
    order. An unlabelled turn, a new dialogue or a new gold set starts a new run."""
    segments: list[list[TurnOutcome]] = []
    previous: TurnOutcome | None = None
    for outcome in outcomes:
        if not outcome.gold:
            previous = None
            continue
        same = (
            previous is not None
            and previous.dialogue == outcome.dialogue
            and previous.gold == outcome.gold
            and outcome.turn == previous.turn + 1
        )
        if same:
            segments[-1].append(outcome)
        else:
            segments.append([outcome])
        previous = outcome
    return segments


def turns_to_first(segment: Sequence[TurnOutcome], k: int = TOP_K) -> int | None:
    """The turn of the topic (1 = its first) at which a gold document is first in the top k;
    None if it never is."""
    return next(
        (number for number, o in enumerate(segment, 1) if top_k_hit(o.shown, o.gold, k)), None
    )


def top_changes(segment: Sequence[TurnOutcome]) -> tuple[int, int]:
    """(pairs of consecutive turns where the top suggestion changed, pairs)."""
    tops = [o.shown[0] if o.shown else None for o in segment]
    changed = sum(1 for a, b in itertools.pairwise(tops) if a != b)
    return changed, max(0, len(tops) - 1)


def summarise_outcomes(outcomes: Sequence[TurnOutcome], k: int = TOP_K) -> dict:
    """Top-k accuracy, turns to first (mean, median, never share) and churn."""
    labelled = [o for o in outcomes if o.gold]
    hits = sum(1 for o in labelled if top_k_hit(o.shown, o.gold, k))
    segments = topic_segments(outcomes)
    firsts = [turns_to_first(s, k) for s in segments]
    found = [f for f in firsts if f is not None]
    changed = pairs = 0
    for segment in segments:
        c, p = top_changes(segment)
        changed, pairs = changed + c, pairs + p
    return {
        "turns": len(labelled),
        f"top{k}_hits": hits,
        f"top{k}_accuracy": round(hits / len(labelled), 4) if labelled else None,
        "topics": len(segments),
        "turns_to_first_mean": round(statistics.fmean(found), 3) if found else None,
        "turns_to_first_median": statistics.median(found) if found else None,
        "never_share": round(firsts.count(None) / len(firsts), 4) if firsts else None,
        "never": firsts.count(None),
        "churn": round(changed / pairs, 4) if pairs else None,
        "churn_changed": changed,
        "churn_pairs": pairs,
    }


# ---------------------------------------------------------------------- dialogues


@dataclass(frozen=True)
class ReplayTurn:
    speaker: str  # customer | agent | bot
    text: str
    gold: frozenset[str] = frozenset()
    extra_gold: dict[str, frozenset[str]] = field(default_factory=dict)
    """Other label views of this turn (e.g. DSTC10's exact snippet), scored separately."""


@dataclass(frozen=True)
class Dialogue:
    id: str
    turns: tuple[ReplayTurn, ...]
    prefix: tuple[ReplayTurn, ...] = ()
    """Earlier turns sent in one batch before the replay (context only, not measured)."""
    language: str = "en"


def read_recorded_call(path: Path) -> Dialogue:
    """A recorded call (JSONL, as `kb call simulate` reads it) with `gold` on customer turns."""
    from api.simulate import read_recording

    _reference, turns = read_recording(path)
    gold_lines = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and "speaker" in json.loads(line)
    ]
    replay = tuple(
        ReplayTurn(t["speaker"], t["text"], frozenset(g.get("gold") or ()))
        for t, g in zip(turns, gold_lines, strict=True)
    )
    chinese = any("\u4e00" <= ch <= "\u9fff" for t in replay for ch in t.text)
    return Dialogue(path.stem, replay, language="zh" if chinese else "en")


def dstc10_dialogues(
    data_dir: Path, dialogues: int = 150, window: int = 4, seed: int = 20240601
) -> tuple[list[Dialogue], dict]:
    """DSTC10 validation conversations ending in a knowledge-seeking user turn (the BEIR
    files eval/public_data.py writes). Labels, per customer turn: entity level (any snippet
    of the gold snippet's entity: hotel, restaurant, attraction) from the first turn where the
    conversation names the entity to the end; snippet level (the gold snippet) on the final,
    knowledge-seeking turn only. Replayed: the last `window` customer turns from the entity's
    first mention (earlier turns go in first as one batch of context)."""
    from eval.public_data import _entity_kind

    corpus = [json.loads(line) for line in (data_dir / "corpus.jsonl").open(encoding="utf-8")]
    titles = {d["_id"]: d.get("title") or "" for d in corpus}
    rows = [json.loads(line) for line in (data_dir / "queries.jsonl").open(encoding="utf-8")]
    qrels: dict[str, set[str]] = {}
    for line in (data_dir / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, cid, score = line.split("\t")[:3]
        if float(score) > 0:
            qrels.setdefault(qid, set()).add(cid)
    rows = [r for r in rows if qrels.get(r["_id"])]
    rng = random.Random(seed)
    chosen = sorted(rng.sample(rows, min(dialogues, len(rows))), key=lambda r: r["_id"])
    result = []
    for row in chosen:
        gold = frozenset(qrels[row["_id"]])
        first = sorted(gold)[0]
        entity = first.rsplit("-", 1)[0]
        entity_docs = frozenset(d for d in titles if d.rsplit("-", 1)[0] == entity)
        name = titles[first].split(":", 1)[0]
        turns = [
            ReplayTurn("customer" if t["role"] == "user" else "agent", t["text"])
            for t in row.get("history") or []
        ] + [ReplayTurn("customer", row["text"])]
        start = next(
            (i for i, t in enumerate(turns) if _entity_kind(t.text, (), name) == "entity_in_turn"),
            len(turns) - 1,
        )
        customer_at = [i for i, t in enumerate(turns) if t.speaker == "customer" and i >= start][
            -window:
        ]
        begin = customer_at[0]
        if begin > 0 and turns[begin - 1].speaker == "agent":
            begin -= 1  # the agent's turn before it (often naming the entity) is replayed too
        labelled = []
        for i, t in enumerate(turns[begin:], begin):
            if t.speaker != "customer":
                labelled.append(t)
                continue
            final = i == len(turns) - 1
            labelled.append(
                ReplayTurn(
                    t.speaker,
                    t.text,
                    entity_docs,
                    {"snippet": gold if final else frozenset()},
                )
            )
        result.append(Dialogue(row["_id"], tuple(labelled), tuple(turns[:begin])))
    info = {
        "available": len(rows),
        "sampled": len(chosen),
        "seed": seed,
        "window": window,
        "corpus_documents": len(corpus),
    }
    return result, info


# ---------------------------------------------------------------------- replay


@dataclass
class ReplayResult:
    outcomes: dict[str, list[TurnOutcome]]  # system -> outcomes (label view "gold")
    views: dict[str, dict[str, list[TurnOutcome]]]  # view -> system -> outcomes
    latency: dict[str, list[float]]
    per_dialogue: list[dict]


def replay(
    services: object,
    dialogues: Sequence[Dialogue],
    label_of: Callable[[str], str],
    groups: Sequence[str],
    batch_agent_turns: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Send each dialogue through a call session turn by turn and score both systems after
    every customer turn. With `batch_agent_turns`, an agent turn goes in with the customer
    turn after it (one snapshot computed instead of two)."""
    from eval.metrics import dedupe
    from kb.calls import Caller, NewTurn, Speaker
    from kb.types import Query

    sessions = services.call_sessions()  # type: ignore[attr-defined]
    caller = Caller("eval-live", None, tuple(groups))
    outcomes: dict[str, list[TurnOutcome]] = {name: [] for name, _ in SYSTEMS}
    views: dict[str, dict[str, list[TurnOutcome]]] = {}
    latency: dict[str, list[float]] = {name: [] for name, _ in SYSTEMS}
    per_dialogue = []

    def new(turn: ReplayTurn) -> NewTurn:
        return NewTurn(Speaker(turn.speaker), turn.text)

    for number, dialogue in enumerate(dialogues, 1):
        call = sessions.open(caller, reference=f"eval-live {dialogue.id}")
        if dialogue.prefix:
            sessions.add_turns(call.call_id, caller, [new(t) for t in dialogue.prefix])
        pending: list[ReplayTurn] = []
        customer_turn = 0
        rows = []
        for turn in dialogue.turns:
            if turn.speaker != "customer":
                if batch_agent_turns:
                    pending.append(turn)
                else:
                    sessions.add_turns(call.call_id, caller, [new(turn)])
                continue
            customer_turn += 1
            clock = time.perf_counter()
            sessions.add_turns(call.call_id, caller, [new(t) for t in [*pending, turn]])
            snapshot = sessions.assist(call.call_id, caller)
            latency["live"].append(time.perf_counter() - clock)
            pending = []
            live = tuple(dedupe([label_of(s.document_id) for s in snapshot.suggestions]))[:TOP_K]
            clock = time.perf_counter()
            hits = services.retrieve(Query(text=turn.text, groups=tuple(groups), k=10))  # type: ignore[attr-defined]
            latency["latest_turn_top3"].append(time.perf_counter() - clock)
            plain = tuple(dedupe([label_of(h.chunk.document.document_id) for h in hits]))[:TOP_K]
            shown = {"live": live, "latest_turn_top3": plain}
            for name, _ in SYSTEMS:
                outcomes[name].append(
                    TurnOutcome(dialogue.id, customer_turn, turn.gold, shown[name])
                )
                for view, gold in turn.extra_gold.items():
                    views.setdefault(view, {n: [] for n, _ in SYSTEMS})[name].append(
                        TurnOutcome(dialogue.id, customer_turn, gold, shown[name])
                    )
            rows.append(
                {
                    "turn": customer_turn,
                    "text": turn.text[:160],
                    "gold": sorted(turn.gold),
                    "live": list(live),
                    "live_hit": top_k_hit(live, turn.gold),
                    "baseline": list(plain),
                    "baseline_hit": top_k_hit(plain, turn.gold),
                }
            )
        sessions.end(call.call_id, caller)
        per_dialogue.append({"dialogue": dialogue.id, "language": dialogue.language, "turns": rows})
        if progress:
            progress(number, len(dialogues))
    return ReplayResult(outcomes, views, latency, per_dialogue)


def _ms(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def score(result: ReplayResult) -> dict:
    """Metrics per system (and per extra label view), with per-turn latency."""
    systems = {}
    for name, label in SYSTEMS:
        systems[name] = {
            "label": label,
            **summarise_outcomes(result.outcomes[name]),
            "p50_ms": _ms(result.latency[name], 0.5),
            "p95_ms": _ms(result.latency[name], 0.95),
        }
    views = {
        view: {name: summarise_outcomes(rows) for name, rows in by_system.items()}
        for view, by_system in result.views.items()
    }
    return {"systems": systems, "views": views, "per_dialogue": result.per_dialogue}


# ---------------------------------------------------------------------- knowledge bases


def _services(data_dir: Path, embedder: object | None = None):  # type: ignore[no-untyped-def]
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = Settings(data_dir=data_dir)
    embedder = embedder or create_embedder(settings.embedding_model)
    return Services(settings, KnowledgeBase(settings, embedder))


def _source_labels(services: object) -> dict[str, str]:
    return {d.document_id: d.source_name for d in services.kb.registry.documents()}  # type: ignore[attr-defined]


def evaluate_recorded_calls(
    services: object, recordings: Sequence[Path], progress: Callable[[int, int], None] | None = None
) -> dict:
    """The recorded calls over the knowledge base in `services` (gold = source file names)."""
    labels = _source_labels(services)
    groups = sorted({g for d in services.kb.registry.documents() for g in d.groups})  # type: ignore[attr-defined]
    dialogues = [read_recorded_call(p) for p in recordings]
    result = replay(services, dialogues, lambda d: labels.get(d, d), groups, progress=progress)
    scored = score(result)
    scored["dataset"] = {
        "name": "recorded calls over the sample bank",
        "calls": len(dialogues),
        "languages": {
            lang: sum(1 for d in dialogues if d.language == lang) for lang in ("en", "zh")
        },
        "customer_turns": sum(1 for d in dialogues for t in d.turns if t.speaker == "customer"),
        "labelled_turns": sum(1 for d in dialogues for t in d.turns if t.gold),
        "documents": len(labels),
        "chunks": len(services.kb.index),  # type: ignore[attr-defined]
        "files": [p.name for p in recordings],
        "licence": "written for this project from the sample bank's documents (samples/)",
        "gold": "per customer turn, the files an agent should open (both language versions "
        "of a procedure count when the bank has both)",
    }
    return scored


def evaluate_dstc10(
    work_dir: Path,
    data_dir: Path = DSTC10_DIR,
    dialogues: int = 150,
    window: int = 4,
    embedder: object | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """DSTC10 over its knowledge snippets, ingested with the real pipeline (as eval/public.py)."""
    from eval.datasets import load_beir
    from eval.public_data import SourceTree, build_dstc10, write_beir
    from ingest.sniff import safe_name

    if not (data_dir / "corpus.jsonl").is_file():
        write_beir(build_dstc10(SourceTree(DSTC10_MIRROR)), data_dir)
    manifest = json.loads((data_dir / "manifest.json").read_text("utf-8"))
    chosen, info = dstc10_dialogues(data_dir, dialogues, window)
    services = _services(work_dir / "dstc10-kb", embedder)
    try:
        dataset = load_beir(data_dir)
        started = time.perf_counter()
        report = services.ingest(dataset.uploads)
        ingest_seconds = time.perf_counter() - started
        corpus_of_name = {
            safe_name(f"{json.loads(line)['_id']}.md"): json.loads(line)["_id"]
            for line in (data_dir / "corpus.jsonl").open(encoding="utf-8")
        }
        labels = {d: corpus_of_name.get(s, d) for d, s in _source_labels(services).items()}
        result = replay(
            services, chosen, lambda d: labels.get(d, d), ("everyone",),
            batch_agent_turns=True, progress=progress,
        )  # fmt: skip
        scored = score(result)
        scored["dataset"] = {
            "name": manifest.get("title", "DSTC10"),
            "url": manifest.get("url"),
            "commit": manifest.get("commit"),
            "licence": manifest.get("licence"),
            "documents": info["corpus_documents"],
            "chunks": len(services.kb.index),
            "ingest_seconds": round(ingest_seconds, 1),
            "ingest_changed": report.chunks_embedded,
            "dialogues_available": info["available"],
            "dialogues": info["sampled"],
            "seed": info["seed"],
            "window": info["window"],
            "customer_turns": sum(1 for d in chosen for t in d.turns if t.speaker == "customer"),
            "sampling": manifest.get("sampling"),
        }
        return scored
    finally:
        services.close_api_stores()
        services.close()


# ---------------------------------------------------------------------- report


def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(systems: dict, with_latency: bool = True) -> list[str]:
    head = "| system | top-3 accuracy (hits/turns) | turns to first: mean / median | never appears (topics) | churn (changed/pairs) |"
    rule = "|---|---|---|---|---|"
    if with_latency:
        head += " p50 ms | p95 ms |"
        rule += "---|---|"
    lines = [head, rule]
    for name, row in systems.items():
        line = (
            f"| {row.get('label', name)} | {_fmt(row['top3_accuracy'])} "
            f"({row['top3_hits']}/{row['turns']}) | {_fmt(row['turns_to_first_mean'], 2)} / "
            f"{_fmt(float(row['turns_to_first_median'] or 0) or None, 1)} | "
            f"{_fmt(row['never_share'])} "
            f"({row['never']}/{row['topics']}) | {_fmt(row['churn'])} "
            f"({row['churn_changed']}/{row['churn_pairs']}) |"
        )
        if with_latency:
            line += f" {_fmt(row.get('p50_ms'), 1)} | {_fmt(row.get('p95_ms'), 1)} |"
        lines.append(line)
    return lines


def markdown_report(results: dict) -> str:
    runs = results.get("runs") or [results]
    lines = ["# Live call assist, turn by turn", ""]
    for run in runs:
        lines.append(
            f"- `{run['command']}` on {run['machine']}, {run['started_at']} ({run['seconds']} s; "
            f"load average {run['load_before']} before, {run['load_after']} after), code at "
            f"{run['code']}"
        )
    lines += [
        "",
        "The 2 cores were shared with other work (load averages above, 1/5/15 min), so "
        "latencies are upper bounds.",
        "",
        "Each dialogue is replayed through the call-session service in process "
        "(`services.call_sessions()`, the code behind `POST /v1/calls/{id}/turns` and "
        "`GET .../assist`); after each customer turn the snapshot's suggestions are read. The "
        "baseline, in the same run on the same turns, is plain top-3 retrieval of the "
        "customer's latest turn alone (`services.retrieve`, documents in rank order, no call "
        "context, no hysteresis).",
        "",
        "- **top-3 accuracy**: share of labelled customer turns with a gold document in the "
        "first three suggestions;",
        "- **turns to first**: per topic (consecutive customer turns of a call with the same "
        "gold), the customer turn at which a gold document first appears in the top 3 (1 = "
        "the topic's first turn); mean and median over topics where it appears; **never**: "
        "share of topics where it does not appear at all;",
        "- **churn**: share of consecutive customer-turn pairs within a topic where the top "
        "suggestion changed (appearing on or leaving an empty screen counts). Lower is "
        "steadier; it is not a quality measure by itself (a screen stuck on a wrong document "
        "has no churn).",
        "",
        "Latency: live = `add_turns` + `assist` (search with call context, answer, escalation "
        "rules, hysteresis, storing the masked turn); baseline = one `retrieve`.",
        "",
    ]
    if "recorded" in results:
        data = results["recorded"]
        meta = data["dataset"]
        lines += [
            "## Recorded calls over the sample bank",
            "",
            f"- {meta['calls']} calls ({meta['languages'].get('en', 0)} English, "
            f"{meta['languages'].get('zh', 0)} Chinese), {meta['customer_turns']} customer turns, "
            f"{meta['labelled_turns']} labelled; knowledge base: {meta['documents']} documents, "
            f"{meta['chunks']} chunks",
            f"- gold: {meta['gold']}",
            f"- source: {meta['licence']}; files: {', '.join(meta['files'])}",
            "",
            *_table(data["systems"]),
            "",
            "Per call (✓ = a gold document in the top 3 after that customer turn; live / "
            "baseline):",
            "",
            "| call | live | baseline |",
            "|---|---|---|",
        ]
        for call in data["per_dialogue"]:
            marks = [
                ("✓" if t["live_hit"] else "✗", "✓" if t["baseline_hit"] else "✗")
                for t in call["turns"]
                if t["gold"]
            ]
            lines.append(
                f"| {call['dialogue']} | {' '.join(m[0] for m in marks)} | "
                f"{' '.join(m[1] for m in marks)} |"
            )
        lines.append("")
    if "dstc10" in results:
        data = results["dstc10"]
        meta = data["dataset"]
        lines += [
            f"## {meta['name']}",
            "",
            f"- source: {meta['url']} at commit `{meta['commit']}`; licence: {meta['licence']} "
            "(LICENSE in the repository: Apache License 2.0)",
            f"- knowledge base: {meta['documents']} snippets ({meta['chunks']} chunks), the "
            "corpus of eval/reports/public.md, ingested with the real pipeline "
            f"({meta['ingest_seconds']} s)",
            f"- dialogues: {meta['dialogues']} of the {meta['dialogues_available']} validation "
            f"conversations that end in a knowledge-seeking turn (seeded sample, seed "
            f"{meta['seed']}; the validation set has no more); {meta['customer_turns']} customer "
            f"turns replayed: the last {meta['window']} customer turns from the first mention "
            "of the gold entity, earlier turns sent first as one batch of context; an agent "
            "turn is sent with the customer turn after it",
            "- labels: DSTC10 labels only the final, knowledge-seeking turn (its gold snippet). "
            "**Entity level** (table 1): a turn counts as a hit when any snippet of the gold "
            "snippet's entity (the hotel or restaurant being discussed) is in the top 3, on "
            "every replayed customer turn from the entity's first mention (our derived label, "
            "not DSTC10's). **Snippet level** (table 2): DSTC10's own gold snippet, final turn "
            "only, so turns-to-first and churn do not apply.",
            "",
            "Entity level:",
            "",
            *_table(data["systems"]),
            "",
        ]
        if "snippet" in data["views"]:
            lines += [
                "Snippet level, knowledge-seeking turn only:",
                "",
                "| system | top-3 accuracy (hits/turns) |",
                "|---|---|",
            ]
            for name, label in SYSTEMS:
                row = data["views"]["snippet"][name]
                lines.append(
                    f"| {label} | {_fmt(row['top3_accuracy'])} ({row['top3_hits']}/{row['turns']}) |"
                )
            lines.append("")
    if results.get("notes"):
        lines += ["## Reading the figures", "", *(f"- {note}" for note in results["notes"]), ""]
    return "\n".join(lines) + "\n"


def _code_version() -> str:
    from eval.public import code_version

    return code_version()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


RUN_KEYS = ("command", "machine", "started_at", "seconds", "load_before", "load_after", "code")


def combine(report_dir: Path) -> int:
    """One report from the two parts run separately (each keeps its own run details)."""
    previous = report_dir / "live-assist.json"
    notes = json.loads(previous.read_text("utf-8")).get("notes", []) if previous.is_file() else []
    combined: dict = {"runs": [], "notes": notes}
    for part in ("recorded", "dstc10"):
        data = json.loads((report_dir / f"live-assist-{part}.json").read_text("utf-8"))
        combined["runs"].append({k: data[k] for k in RUN_KEYS})
        combined[part] = data[part]
    (report_dir / "live-assist.json").write_text(
        json.dumps(combined, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (report_dir / "live-assist.md").write_text(markdown_report(combined), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.live", description=__doc__.split("\n")[0])
    parser.add_argument("--what", choices=("all", "recorded", "dstc10"), default="all")
    parser.add_argument("--calls", type=Path, default=CALLS_DIR, help="folder of recorded calls")
    parser.add_argument(
        "--samples-kb", type=Path,
        help="an ingested sample-bank base to copy (default: ingest samples/ afresh)",
    )  # fmt: skip
    parser.add_argument("--dialogues", type=int, default=150, help="DSTC10 dialogues to sample")
    parser.add_argument("--window", type=int, default=4, help="DSTC10 customer turns replayed")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/answerdesk-eval-live"))
    parser.add_argument("--report-dir", type=Path, default=REPO / "eval" / "reports")
    parser.add_argument(
        "--combine", action="store_true",
        help="write live-assist.json/.md from live-assist-recorded.json and "
        "live-assist-dstc10.json in --report-dir (parts run separately)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.combine:
        return combine(args.report_dir)

    from kb.embedding import create_embedder

    started = time.perf_counter()
    results: dict = {
        "command": "python -m eval.live"
        + (" " + " ".join(argv) if argv else " " + " ".join(sys.argv[1:])).rstrip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "started_at": time.strftime("%Y-%m-%dT%H:%M UTC", time.gmtime()),
        "load_before": _load(),
        "code": _code_version(),
    }
    embedder = create_embedder("e5")
    args.work_dir.mkdir(parents=True, exist_ok=True)

    def progress(label: str) -> Callable[[int, int], None]:
        return lambda done, total: print(f"\r{label}: {done}/{total}", end="", file=sys.stderr)

    if args.what in ("all", "recorded"):
        kb_dir = args.work_dir / "samples-kb"
        shutil.rmtree(kb_dir, ignore_errors=True)
        if args.samples_kb:
            shutil.copytree(args.samples_kb, kb_dir)
        services = _services(kb_dir, embedder)
        try:
            if not args.samples_kb:
                services.ingest_paths([REPO / "samples"])
            recordings = sorted(args.calls.glob("*.jsonl"))
            results["recorded"] = evaluate_recorded_calls(services, recordings, progress("calls"))
        finally:
            services.close_api_stores()
            services.close()
        print(file=sys.stderr)
    if args.what in ("all", "dstc10"):
        results["dstc10"] = evaluate_dstc10(
            args.work_dir, dialogues=args.dialogues, window=args.window, embedder=embedder,
            progress=progress("dstc10 dialogues"),
        )  # fmt: skip
        print(file=sys.stderr)
    results["seconds"] = round(time.perf_counter() - started)
    results["load_after"] = _load()
    args.report_dir.mkdir(parents=True, exist_ok=True)
    name = "live-assist" if args.what == "all" else f"live-assist-{args.what}"
    (args.report_dir / f"{name}.json").write_text(
        json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (args.report_dir / f"{name}.md").write_text(markdown_report(results), encoding="utf-8")
    print(f"wrote {args.report_dir / name}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
