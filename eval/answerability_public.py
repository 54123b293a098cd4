"""An answerability model trained on public data only, judged on our golden set.

Issue 10's brief, option b: learn when to refuse from data nobody here wrote, then judge it on
the golden set's 28 must-refuse questions. The training set is made from DSTC10 track 2
(Apache-2.0; real spoken questions about San Francisco hotels, restaurants and attractions,
each labelled with the FAQ snippet that answers it; converted in eval/data/public/dstc10,
see its README): every question is asked twice of the snippet base,

- once of the whole base (answerable: its snippet is there), and
- once with its own snippet taken out (must refuse): the rest of the base still holds the
  entity's other facts and the same question about other places ("do they take credit
  cards" finds another hotel's answer), the same near-topic situation as a car-loan
  question in a bank whose base covers overdraft rates.

The question is asked as "<entity name>: <turn>" (the turns say "they" and "that place"; the
entity is what our call context would resolve). Retrieval is e5 only (no BM25 fusion),
top 5 passages. The signals are the ones eval.answerability computes on our base:
similarity of the top passage, its word coverage, the IDF-weighted share of words in no
passage, the phrase signals, the mean similarity to the base and the share of the question's
words in the top snippet's title (its FAQ question: the heading coverage). A sign-constrained logistic
fit (eval.answerability.fit_refusals) chooses the weights and, from the public answerable
questions alone, the threshold; nothing is fit on the golden set.

    python -m eval.answerability_public   # needs eval/reports/refusals-signals.json
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from eval.answerability import (
    PHRASE_SIGNALS,
    REPORTS,
    TOP_PASSAGES,
    fit_refusals,
    phrase_signals,
    roc_auc,
)
from eval.metrics import precision_recall
from kb.confidence import (
    ConfidenceEvidence,
    content_words,
    coverage,
    heading_coverage,
    inverse_document_frequency,
    unreadable_share,
)
from kb.lexical import tokenize

logger = logging.getLogger(__name__)

DSTC10 = Path(__file__).parent / "data" / "public" / "dstc10"
NAMES = (
    *(n for n in ConfidenceEvidence.names() if n not in ("chinese", "restricted_gap")),
    *PHRASE_SIGNALS,
)
"""Every signal but the question's language (the public set is English only) and the
restricted gap (nothing in it is restricted)."""
SHIPPED_NAMES = tuple(n for n in NAMES if n in ConfidenceEvidence.names())
"""The evidence `ask` uses, as far as the public set has it."""


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def training_rows(folder: Path = DSTC10) -> tuple[np.ndarray, np.ndarray]:
    """(signals in NAMES order, must refuse) for each question asked of the whole base and
    of the base without its own snippet."""
    from kb.embedding import E5Embedder

    corpus = _jsonl(folder / "corpus.jsonl")
    queries = {q["_id"]: q for q in _jsonl(folder / "queries.jsonl")}
    gold = {}
    for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, _ = line.split("\t")
        gold[query_id] = doc_id
    ids = [d["_id"] for d in corpus]
    texts = [f"{d['title']}\n{d['text']}" for d in corpus]
    position = {doc_id: i for i, doc_id in enumerate(ids)}
    tokens = [tokenize(t) for t in texts]
    frequency: dict[str, int] = {}
    for passage in tokens:
        for token in set(passage):
            frequency[token] = frequency.get(token, 0) + 1
    embedder = E5Embedder()
    vectors = embedder.embed_passages(texts)
    asked = [q for q in queries if q in gold]
    questions = [
        f"{corpus[position[gold[q]]]['title'].split(':')[0]}: {queries[q]['text']}" for q in asked
    ]
    question_vectors = embedder.embed_queries(questions)
    rows, refuse = [], []
    for query_id, question, vector in zip(asked, questions, question_vectors, strict=True):
        for removed in (None, position[gold[query_id]]):
            keep = np.array([i != removed for i in range(len(ids))])
            rows.append(_signals(question, vector, vectors, texts, tokens, frequency, keep))
            refuse.append(removed is not None)
    return np.array(rows), np.array(refuse)


def _signals(
    question: str,
    vector: np.ndarray,
    vectors: np.ndarray,
    texts: list[str],
    tokens: list[list[str]],
    frequency: dict[str, int],
    keep: np.ndarray,
) -> list[float]:
    passages = len(texts) - int((~keep).sum())
    removed = [tokens[i] for i in np.flatnonzero(~keep)]
    counts = dict(frequency)
    for passage in removed:
        for token in set(passage):
            counts[token] -= 1
    idf = {w: inverse_document_frequency(f, passages) for w, f in counts.items() if f > 0}
    scores = np.where(keep, vectors @ vector, -np.inf)
    top = np.argsort(-scores)[:TOP_PASSAGES]
    question_tokens = tokenize(question)
    words = content_words(question_tokens)
    readable = {w for w, f in counts.items() if f > 0}
    weights = {w: idf.get(w, inverse_document_frequency(0, passages)) for w in words}
    rarest, weighted, phrase = phrase_signals(
        question_tokens,
        [tokens[i] for i in top],
        idf,
        unseen_idf=inverse_document_frequency(0, passages),
    )
    value = {
        "similarity": float(scores[top[0]]),
        "coverage": coverage(question_tokens, texts[top[0]]),
        "unreadable": unreadable_share(words, weights, readable),
        "rarest_absent": rarest,
        "weighted_coverage": weighted,
        "phrase_coverage": phrase,
        "domain": float(vector @ vectors[keep].mean(axis=0)),
        "heading_coverage": heading_coverage(words, weights, texts[top[0]].split("\n", 1)[0]),
    }
    return [value[n] for n in NAMES]


def golden_rows(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The golden questions' signals as eval.answerability measured them on our base."""
    result = json.loads(path.read_text(encoding="utf-8"))
    golden = result["per_question"][: result["questions"]["golden"]]  # then the agent-style
    x = np.array([[r["evidence"].get(n, r.get(n)) for n in NAMES] for r in golden], dtype=float)
    return x, np.array([r["must_refuse"] for r in golden]), [r["question_id"] for r in golden]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=Path, default=REPORTS / "refusals-signals.json")
    parser.add_argument("--out", type=Path, default=REPORTS / "refusals-public.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    x_public, y_public = training_rows()
    x_golden, y_golden, _ = golden_rows(args.signals)
    result = {"training": "DSTC10 track 2 validation (Apache-2.0), gold snippet in / taken out"}
    for label, names in (
        ("all signals", NAMES),
        ("shipped evidence", SHIPPED_NAMES),
        ("similarity and coverage", NAMES[:2]),
    ):
        columns = [NAMES.index(n) for n in names]
        fit = fit_refusals(x_public[:, columns], y_public, names)
        public_refused = fit.refuses(x_public[:, columns])
        refused = fit.refuses(x_golden[:, columns])
        confidence = fit.confidence(x_golden[:, columns])
        result[label] = {
            "weights": {n: round(w, 4) for n, w in zip(names, fit.weights, strict=True)},
            "intercept": round(fit.intercept, 4),
            "refuse_below": round(fit.refuse_below, 4),
            "public_in_sample": precision_recall(list(public_refused), list(y_public)).as_dict(),
            "golden": precision_recall(list(refused), list(y_golden)).as_dict(),
            "golden_roc_auc": round(roc_auc(-confidence, y_golden), 4),
            "golden_answerable_refused": round(float(refused[~y_golden].mean()), 4),
        }
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
