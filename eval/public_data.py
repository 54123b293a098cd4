"""Public datasets nobody on the team wrote, converted to the BEIR layout `load_beir` reads.

Why our own conversion: the sources come as challenge files (DSTC10: partial conversations
plus labels plus a knowledge base; DRCD: SQuAD-style reading comprehension), and we want the
same retrieval question from each: given the conversation so far and the customer's
latest turn, which document answers it? The converted files are written under
eval/data/public/<name>/ and are not committed (the fetched repositories' content stays out
of our history); `python -m eval.public_data <name> --source <checkout or bare git dir>`
rebuilds them byte for byte, since every sample is drawn with a fixed seed.

Output, per dataset: corpus.jsonl ({_id, title, text}), queries.jsonl ({_id, text, history,
language, kind, dialogue}), qrels/test.tsv (query-id, corpus-id, score) and manifest.json
(source URL, licence, commit, how it was sampled), which the report quotes.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import KBError
from kb.types import Turn

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).parent / "data" / "public"


@dataclass(frozen=True)
class CorpusDoc:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class PublicQuery:
    """One user turn to retrieve for: `history` is every earlier turn of its conversation."""

    id: str
    text: str
    gold: tuple[str, ...]
    language: str
    history: tuple[Turn, ...] = ()
    kind: str = ""  # what sort of turn, for the per-kind breakdown (dataset-specific)
    dialogue: str = ""  # the conversation it belongs to (empty for single questions)


@dataclass(frozen=True)
class BuiltDataset:
    name: str
    corpus: tuple[CorpusDoc, ...]
    queries: tuple[PublicQuery, ...]
    manifest: dict = field(default_factory=dict)


class SourceTree:
    """Files of a source repository, from a checkout folder or a bare git directory (what
    the `fetch` tool brings: /work/.mirror/<owner>+<name>/repo), at one commit."""

    def __init__(self, root: Path, revision: str = "HEAD") -> None:
        self.root = root
        self.revision = revision
        self.bare = not (root / ".git").exists() and (root / "HEAD").is_file()
        if not root.is_dir():
            raise KBError(f"no such source folder: {root}")

    def _git(self, *args: str) -> bytes:
        option = [f"--git-dir={self.root}"] if self.bare else ["-C", str(self.root)]
        done = subprocess.run(["git", *option, *args], capture_output=True, check=False)
        if done.returncode != 0:
            raise KBError(f"git {' '.join(args)} in {self.root}: {done.stderr.decode().strip()}")
        return done.stdout

    @property
    def commit(self) -> str:
        try:
            return self._git("rev-parse", self.revision).decode().strip()
        except (KBError, OSError):
            return "unknown (not a git checkout)"

    def json(self, path: str) -> object:
        if self.bare:
            data = self._git("show", f"{self.revision}:{path}")
        else:
            file = self.root / path
            if not file.is_file():
                raise KBError(f"{self.root} has no {path}")
            data = file.read_bytes()
        return json.loads(data)


# ---------------------------------------------------------------- DSTC10 track 2, task 2

DSTC10_URL = "https://github.com/alexa/alexa-with-dstc10-track2-dataset"


def _entity_docs(knowledge: dict, domain: str, entity: str) -> list[CorpusDoc]:
    """One corpus document per knowledge snippet, named after its entity: most snippet
    titles ("Do you offer delivery?") do not say which restaurant they are about."""
    record = knowledge[domain][entity]
    name = record.get("name") or f"{domain} (all)"
    return [
        CorpusDoc(f"{domain}-{entity}-{doc_id}".replace("*", "all"), f"{name}: {doc['title']}",
                  doc["body"])
        for doc_id, doc in sorted(record["docs"].items(), key=lambda pair: int(pair[0]))
    ]  # fmt: skip


def _words(text: str) -> set[str]:
    return {w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split()}


def _entity_kind(turn: str, history: tuple[Turn, ...], name: str) -> str:
    """Where the conversation names the gold entity: in the latest turn itself, only in
    earlier turns, or nowhere word for word (ASR noise, "that place")."""
    distinctive = _words(name) - {"the", "of", "and", "san", "francisco", "hotel", "inn",
                                   "restaurant", "cafe", "house", "bar", "a", "at"}  # fmt: skip
    if not distinctive:
        return "entity_unnamed"
    if distinctive <= _words(turn):
        return "entity_in_turn"
    if any(distinctive <= _words(t.text) for t in history):
        return "entity_in_history"
    return "entity_unnamed"


def build_dstc10(tree: SourceTree, max_docs: int = 800, seed: int = 20240601) -> BuiltDataset:
    """DSTC10 track 2 task 2 validation set: real spoken conversations (human transcripts
    as recognised by ASR) of people planning a San Francisco trip with an agent, asking
    about hotels, restaurants and attractions. Every knowledge-seeking user turn with a gold
    snippet becomes a query; the corpus is every snippet of every entity some turn needs,
    so the other snippets of the same entity ("their parking" vs "their wifi") and the same
    question about other entities ("do they deliver?") are the distractors."""
    knowledge = tree.json("task2/data/knowledge.json")
    logs = tree.json("task2/data/val/logs.json")
    labels = tree.json("task2/data/val/labels.json")
    assert isinstance(knowledge, dict) and isinstance(logs, list) and isinstance(labels, list)
    if len(logs) != len(labels):
        raise KBError(f"DSTC10: {len(logs)} logs but {len(labels)} labels")
    dialogue_of: dict[str, str] = {}
    queries: list[PublicQuery] = []
    entities: dict[tuple[str, str], None] = {}
    for number, (log, label) in enumerate(zip(logs, labels, strict=True)):
        if not label.get("target") or not label.get("knowledge"):
            continue
        *earlier, last = log
        history = tuple(
            Turn("user" if t["speaker"] == "U" else "assistant", t["text"]) for t in earlier
        )
        gold = []
        for item in label["knowledge"]:
            key = (item["domain"], str(item["entity_id"]))
            entities[key] = None
            gold.append(f"{key[0]}-{key[1]}-{item['doc_id']}".replace("*", "all"))
        first = log[0]["text"]
        dialogue = dialogue_of.setdefault(first, f"d{len(dialogue_of):03d}")
        first_gold = label["knowledge"][0]
        name = knowledge[first_gold["domain"]][str(first_gold["entity_id"])].get("name") or ""
        queries.append(
            PublicQuery(
                id=f"dstc10-val-{number:04d}",
                text=last["text"],
                gold=tuple(gold),
                language="en",
                history=history,
                kind=_entity_kind(last["text"], history, name),
                dialogue=dialogue,
            )
        )
    corpus = [doc for d, e in entities for doc in _entity_docs(knowledge, d, e)]
    gold_ids = {g for q in queries for g in q.gold}
    if len(corpus) > max_docs:
        # Keep every gold snippet; drop a seeded sample of the others.
        rng = random.Random(seed)
        others = [d for d in corpus if d.id not in gold_ids]
        keep = set(rng.sample([d.id for d in others], max(0, max_docs - len(gold_ids))))
        corpus = [d for d in corpus if d.id in gold_ids or d.id in keep]
    manifest = {
        "name": "dstc10",
        "title": "DSTC10 track 2 task 2 (knowledge-grounded spoken dialogue), validation set",
        "url": DSTC10_URL,
        "licence": "Apache-2.0",
        "commit": tree.commit,
        "files": [
            "task2/data/knowledge.json",
            "task2/data/val/logs.json",
            "task2/data/val/labels.json",
        ],
        "sampling": (
            f"all {len(queries)} knowledge-seeking user turns of the validation set "
            f"({len(dialogue_of)} conversations); history = every earlier turn (user and "
            "agent, ASR text as given); corpus = every knowledge snippet of the "
            f"{len(entities)} entities those turns ask about, titled '<entity name>: "
            f"<snippet question>'"
            + (
                f"; capped at {max_docs} documents: every gold snippet plus a random sample "
                f"(seed {seed}) of those entities' other snippets"
                if len(corpus) >= max_docs
                else ""
            )
        ),
        "language": "en",
    }
    return BuiltDataset("dstc10", tuple(corpus), tuple(queries), manifest)


# ---------------------------------------------------------------- DRCD

DRCD_URL = "https://github.com/DRCKnowledgeTeam/DRCD"


def build_drcd(
    tree: SourceTree,
    paragraphs: int = 300,
    questions: int = 300,
    seed: int = 20240601,
    split: str = "test",
) -> BuiltDataset:
    """DRCD (Delta Reading Comprehension Dataset): Traditional Chinese Wikipedia paragraphs
    with questions people wrote about them. Each paragraph is a document and each question
    a query whose gold is its paragraph. Whole articles are sampled, so the distractors
    include the other paragraphs of the same article, on the same subject."""
    raw = tree.json(f"DRCD_{split}.json")
    assert isinstance(raw, dict)
    articles = sorted(raw["data"], key=lambda a: int(a["id"]))
    rng = random.Random(seed)
    rng.shuffle(articles)
    chosen: list[dict] = []
    total = 0
    for article in articles:
        size = len(article["paragraphs"])
        if total + size > paragraphs:
            continue
        chosen.append(article)
        total += size
        if total == paragraphs:
            break
    corpus: list[CorpusDoc] = []
    candidates: list[PublicQuery] = []
    for article in chosen:
        for paragraph in article["paragraphs"]:
            corpus.append(CorpusDoc(paragraph["id"], article["title"], paragraph["context"]))
            for qa in paragraph["qas"]:
                candidates.append(
                    PublicQuery(
                        id=qa["id"],
                        text=qa["question"],
                        gold=(paragraph["id"],),
                        language="zh-Hant",
                        kind="single_question",
                    )
                )
    # Spread the questions over paragraphs: one per paragraph first, then a second, ...
    by_paragraph: dict[str, list[PublicQuery]] = {}
    for query in candidates:
        by_paragraph.setdefault(query.gold[0], []).append(query)
    for group in by_paragraph.values():
        rng.shuffle(group)
    picked: list[PublicQuery] = []
    depth = 0
    while len(picked) < questions and any(len(g) > depth for g in by_paragraph.values()):
        layer = [g[depth] for g in by_paragraph.values() if len(g) > depth]
        rng.shuffle(layer)
        picked += layer[: questions - len(picked)]
        depth += 1
    picked.sort(key=lambda q: q.id)
    manifest = {
        "name": "drcd",
        "title": f"DRCD (Traditional Chinese Wikipedia reading comprehension), {split} split",
        "url": DRCD_URL,
        "licence": "CC BY-SA 3.0 (compiled from Wikipedia)",
        "commit": tree.commit,
        "files": [f"DRCD_{split}.json"],
        "sampling": (
            f"{len(chosen)} whole articles drawn at random (seed {seed}) up to {paragraphs} "
            f"paragraphs ({len(corpus)} taken); {len(picked)} of their {len(candidates)} "
            "questions, at most one per paragraph until every paragraph has one; each "
            "paragraph is a document titled with its article's title"
        ),
        "language": "zh-Hant",
    }
    return BuiltDataset("drcd", tuple(corpus), tuple(picked), manifest)


# ---------------------------------------------------------------- writing


def write_beir(dataset: BuiltDataset, out_dir: Path) -> Path:
    """Write the BEIR files plus manifest.json; checks every gold document is in the corpus."""
    ids = {d.id for d in dataset.corpus}
    missing = sorted({g for q in dataset.queries for g in q.gold} - ids)
    if missing:
        raise KBError(f"{dataset.name}: gold documents missing from the corpus: {missing[:5]}")
    if len(ids) != len(dataset.corpus):
        raise KBError(f"{dataset.name}: duplicate corpus ids")
    (out_dir / "qrels").mkdir(parents=True, exist_ok=True)
    with (out_dir / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for doc in dataset.corpus:
            row = {"_id": doc.id, "title": doc.title, "text": doc.text}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (out_dir / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for query in dataset.queries:
            row = {
                "_id": query.id,
                "text": query.text,
                "history": [{"role": t.role, "text": t.text} for t in query.history],
                "language": query.language,
                "kind": query.kind,
                "dialogue": query.dialogue,
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{q.id}\t{gold}\t1" for q in dataset.queries for gold in q.gold]
    (out_dir / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = {
        **dataset.manifest,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "rebuild": f"python -m eval.public_data {dataset.name} --source <checkout of "
        f"{dataset.manifest.get('url', '?')} at {dataset.manifest.get('commit', '?')}>",
    }
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out_dir


BUILDERS: dict[str, Callable[[SourceTree], BuiltDataset]] = {
    "dstc10": build_dstc10,
    "drcd": build_drcd,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.public_data",
        description="Convert a public dataset to the BEIR layout under eval/data/public/NAME.",
    )
    parser.add_argument("name", choices=sorted(BUILDERS))
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        help="the source repository: a checkout, or a bare git directory",
    )
    parser.add_argument("--revision", default="HEAD", help="commit to read (bare git only)")
    parser.add_argument("--out", type=Path, help="default: eval/data/public/NAME")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        dataset = BUILDERS[args.name](SourceTree(args.source, args.revision))
        out = write_beir(dataset, args.out or DEFAULT_DIR / args.name)
    except KBError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {len(dataset.corpus)} documents and {len(dataset.queries)} queries to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
