"""Could more evidence make refusals right? Candidate answerability signals, judged held out.

Issue 10 asks for refusal precision and recall of 0.90 on the golden set (28 must-refuse
questions among 215), with thresholds checked on data they were not fit on. The shipped
confidence (kb.confidence) reaches about 0.47/0.61 held out. This module measures, on an
existing knowledge base, whether the signals the brief proposed would close the gap, before
any of them is wired into `ask`:

- phrase evidence from the top five passages (`phrase_signals`): the IDF of the question's
  rarest content word that no top passage holds ("car" in "car loans", "Klarna"), the
  IDF-weighted share of the question's content words in the best passage, and the
  IDF-weighted share of its adjacent content-word pairs found side by side in a passage
  ("business loan", "safe deposit"); glossary equivalents count as found;
- the question's mean similarity to every passage the asker may read (`domain_similarity`):
  e5 scores some questions high against everything, so the top passage's similarity means
  more next to how close the question is to the base as a whole. Measured here first, it is
  now shipped evidence (kb.confidence.ConfidenceEvidence.domain, kb.domain) and is read from
  the evidence `ask` computes;
- the restricted gap (`restricted_gap`): the question's best similarity over the current
  passages the asker may NOT read minus its best over those they may read, 0 when that is
  negative or their scope excludes nothing. A large gap says the answer lives in a document
  they cannot see (the fraud playbook, the complaints executive office). Shipped since
  4fdadd3; since December 2 it compares each unreadable passage with readable ones in its
  own language (kb.domain.language_gap); the earlier comparison across languages stays a
  candidate here (`restricted_gap_mixed_languages`) to measure the change;
- the heading coverage: the share of the question's content words in the top passage's
  document title and section path, shipped (kb.confidence.heading_coverage) after it was
  judged here;
- the restricted gap with the retriever's `crosslingual_offset` added to the passages in
  the other language (`restricted_gap_offset`), the first idea for putting both maxima on
  one scale;
- the document margin (`document_margin`): the best readable passage's similarity minus the
  best of another document's, and the agreement of the dense and lexical searches on the
  top document (`dense_lexical_agreement`).

Each set of signals is added to the shipped evidence and judged the way eval.run judges the
shipped calibration: a sign-constrained, class-balanced logistic fit and the "at most one
answerable question in ten refused" threshold (`fit_refusals`), 5-fold held out on the golden
set (`held_out_refusals`), and fit on the whole golden set then applied to the agent-style
rewrites (eval/agent_style.py), whose "answerable refused" must not rise.

`ceiling` is deliberately not a legitimate figure: a logistic regression over the question's
own e5 vector and every signal, trained on four folds of the golden set and judged on the
fifth with the threshold that is best on the judged fold itself. It is an upper bound on what
any classifier over these representations could reach, trained on public data or not.

    KB_DATA_DIR=/tmp/kbref python -m eval.answerability   # writes eval/reports/refusals-signals.*
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

from eval.golden import GoldQuestion, load_agent_style, load_golden
from eval.metrics import precision_recall, stratified_folds
from eval.run import CV_FOLDS, CV_SEED, REFUSAL_TARGET, query_of
from ingest.clean import detect_language
from kb.access import RESTRICTED_READER
from kb.confidence import (
    DIRECTION,
    ConfidenceEvidence,
    content_words,
    inverse_document_frequency,
)
from kb.conversation import SearchPlan
from kb.glossary import default_glossary
from kb.lexical import tokenize
from kb.retrieve import Scope
from kb.services import Services
from kb.types import EVERYONE, DocumentStatus

logger = logging.getLogger(__name__)

REPORTS = Path(__file__).parent / "reports"
TOP_PASSAGES = 5
AGREEMENT_POOL = 20
"""Hits each search returns for `dense_lexical_agreement`."""
PHRASE_SIGNALS = ("rarest_absent", "weighted_coverage", "phrase_coverage")
SIGNALS = (
    *PHRASE_SIGNALS,
    "document_margin",
    "dense_lexical_agreement",
    "restricted_gap_mixed_languages",
    "restricted_gap_offset",
)
SIGNAL_DIRECTION = {
    "rarest_absent": -1.0,
    "weighted_coverage": 1.0,
    "phrase_coverage": 1.0,
    "document_margin": 1.0,
    "dense_lexical_agreement": 1.0,
    "restricted_gap_mixed_languages": -1.0,
    "restricted_gap_offset": -1.0,
}
"""Which way each new signal may move the confidence, as kb.confidence.DIRECTION does for
the shipped ones: a fit on 28 must-refuse questions may not turn one around."""
MAX_FALSE_REFUSALS = 0.10
"""eval.run.fit_calibration's rule: the threshold refuses at most this share of the
answerable questions it was fit on."""


@dataclass(frozen=True)
class QuestionSignals:
    """One question's shipped evidence and the candidate signals, with its label."""

    question_id: str
    language: str
    must_refuse: bool
    evidence: ConfidenceEvidence
    rarest_absent: float
    weighted_coverage: float
    phrase_coverage: float
    document_margin: float = 0.0
    dense_lexical_agreement: float = 0.0
    restricted_gap_mixed_languages: float = 0.0
    restricted_gap_offset: float = 0.0

    def value(self, name: str) -> float:
        if name in SIGNALS:
            return float(getattr(self, name))
        return float(getattr(self.evidence, name))


# ---------------------------------------------------------------- the signals, pure


def phrase_signals(
    question_tokens: Sequence[str],
    passages_tokens: Sequence[Sequence[str]],
    idf: Mapping[str, float],
    equivalents: Mapping[str, set[str]] | None = None,
    unseen_idf: float = 0.0,
) -> tuple[float, float, float]:
    """(rarest_absent, weighted_coverage, phrase_coverage) of a question against its top
    passages, all from search tokens (so agent filler and typed numbers are already gone
    when the question is the planned one, kb.phrasing and kb.spelling).

    rarest_absent: the highest IDF among the content words no passage holds (0.0 when
    every word is found). weighted_coverage: the best passage's IDF-weighted share of the
    content words. phrase_coverage: the IDF-weighted share of adjacent content-word pairs
    found adjacent in some passage (1.0 for a one-word question). A word missing from `idf`
    (in no passage of the base) weighs `unseen_idf`."""
    equivalents = equivalents or {}
    words = content_words(question_tokens)
    if not words:
        return 0.0, 0.0, 0.0
    weight = {w: idf.get(w, unseen_idf) for w in words}
    total = sum(weight.values()) or 1.0
    present = [set(p) for p in passages_tokens]

    def found(word: str, tokens: set[str]) -> bool:
        return word in tokens or bool(equivalents.get(word, set()) & tokens)

    anywhere = set().union(*present) if present else set()
    absent = [w for w in words if not found(w, anywhere)]
    rarest_absent = max((weight[w] for w in absent), default=0.0)
    weighted_coverage = max(
        (sum(weight[w] for w in words if found(w, tokens)) / total for tokens in present),
        default=0.0,
    )
    ordered = [t for t in question_tokens if t in weight]
    pairs = list(dict.fromkeys(pairwise(ordered)))
    if not pairs:
        return rarest_absent, weighted_coverage, 1.0
    adjacent = {pair for p in passages_tokens for pair in pairwise(p)}
    pair_weight = {pair: weight[pair[0]] + weight[pair[1]] for pair in pairs}
    covered = sum(w for pair, w in pair_weight.items() if pair in adjacent)
    return rarest_absent, weighted_coverage, covered / (sum(pair_weight.values()) or 1.0)


def domain_similarity(question_vector: np.ndarray, passage_vectors: np.ndarray) -> float:
    """The question's mean cosine similarity to the passages (unit vectors): the similarity
    to their mean vector, one dot product."""
    if len(passage_vectors) == 0:
        return 0.0
    return float(question_vector @ passage_vectors.mean(axis=0))


def restricted_gap(scores: np.ndarray, readable: np.ndarray, restricted: np.ndarray) -> float:
    """Best of `scores` at the `restricted` positions minus best at the `readable` ones, 0.0
    when that is negative or nothing is restricted (the asker's scope excludes nothing)."""
    if len(restricted) == 0:
        return 0.0
    best_readable = float(scores[readable].max()) if len(readable) else 0.0
    return max(0.0, float(scores[restricted].max()) - best_readable)


def document_margin(scores: np.ndarray, readable: np.ndarray, documents: np.ndarray) -> float:
    """The best readable passage's similarity minus the best readable passage's of ANOTHER
    document (`documents`: each position's document); 0.0 when one document holds them
    all. A question the base covers usually has one clear document."""
    if len(readable) == 0:
        return 0.0
    best = readable[int(np.argmax(scores[readable]))]
    others = readable[documents[readable] != documents[best]]
    return float(scores[best] - scores[others].max()) if len(others) else 0.0


def dense_lexical_agreement(
    dense_documents: Sequence[str], lexical_documents: Sequence[str], depth: int = 5
) -> float:
    """1 / (1 + the rank of the dense search's top document among the lexical search's first
    `depth` distinct documents), 0.0 when it is not among them: do the two searches agree on
    the one document?"""
    if not dense_documents:
        return 0.0
    ranked = list(dict.fromkeys(lexical_documents))[:depth]
    top = dense_documents[0]
    return 1.0 / (1 + ranked.index(top)) if top in ranked else 0.0


# ---------------------------------------------------------------- fit and judge, as eval.run does


@dataclass(frozen=True)
class RefusalFit:
    """A logistic curve over named signals (raw scale) and the threshold below which the
    answer refuses."""

    names: tuple[str, ...]
    intercept: float
    weights: tuple[float, ...]
    refuse_below: float

    def confidence(self, x: np.ndarray) -> np.ndarray:
        z = np.clip(self.intercept + x @ np.array(self.weights), -500, 500)
        return 1.0 / (1.0 + np.exp(-z))

    def refuses(self, x: np.ndarray) -> np.ndarray:
        return self.confidence(x) < self.refuse_below


def direction_of(name: str) -> float:
    return SIGNAL_DIRECTION.get(name, DIRECTION.get(name, 0.0))


def fit_refusals(
    x: np.ndarray, must_refuse: np.ndarray, names: Sequence[str], regularisation: float = 1e-2
) -> RefusalFit:
    """eval.run.fit_calibration's fit on arrays, so signals outside ConfidenceEvidence can be
    judged the same way: L2-regularised logistic regression of "answerable" on standardised
    signals, class-balanced, each weight held to the sign `direction_of` allows (solved
    with L-BFGS-B bounds instead of projected gradient steps); the threshold refuses at most
    MAX_FALSE_REFUSALS of the answerable questions it was fit on."""
    from scipy.optimize import minimize

    y = (~must_refuse).astype(float)
    balance = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        margin = z @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(margin, -500, 500)))
        eps = 1e-12
        value = -np.mean(balance * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        value += 0.5 * regularisation * float(w @ w)
        gradient = balance * (p - y)
        return value, np.append(z.T @ gradient / len(y) + regularisation * w, gradient.mean())

    bounds = [
        (0.0, None) if direction_of(n) > 0 else (None, 0.0) if direction_of(n) < 0 else (None, None)
        for n in names
    ] + [(None, None)]
    theta = minimize(loss, np.zeros(len(names) + 1), jac=True, bounds=bounds, method="L-BFGS-B").x
    raw = theta[:-1] / std
    curve = RefusalFit(tuple(names), float(theta[-1] - raw @ mean), tuple(map(float, raw)), 0.5)
    answerable = curve.confidence(x[~must_refuse])
    threshold = float(np.quantile(answerable, MAX_FALSE_REFUSALS)) if len(answerable) else 0.5
    return replace(curve, refuse_below=threshold)


def matrix(rows: Sequence[QuestionSignals], names: Sequence[str]) -> np.ndarray:
    return np.array([[r.value(n) for n in names] for r in rows], dtype=float)


def labels(rows: Sequence[QuestionSignals]) -> np.ndarray:
    return np.array([r.must_refuse for r in rows], dtype=bool)


def held_out_refusals(
    rows: Sequence[QuestionSignals], names: Sequence[str], folds: int = CV_FOLDS
) -> dict:
    """Refusal precision/recall with `fit_refusals` fit on k-1 folds and judged on the one
    left out (stratified by language and must-refuse, eval.run's folds and seed), and
    in-sample for comparison."""
    x, y = matrix(rows, names), labels(rows)
    fold_of = np.array(
        stratified_folds([f"{r.language}:{r.must_refuse}" for r in rows], folds, CV_SEED)
    )
    decided = np.zeros(len(rows), dtype=bool)
    for fold in range(folds):
        test = fold_of == fold
        decided[test] = fit_refusals(x[~test], y[~test], names).refuses(x[test])
    in_sample = fit_refusals(x, y, names).refuses(x)
    return {
        "in_sample": precision_recall(list(in_sample), list(y)).as_dict(),
        "held_out": precision_recall(list(decided), list(y)).as_dict(),
        "held_out_missed": [
            r.question_id for r, d in zip(rows, decided, strict=True) if r.must_refuse and not d
        ],
        "held_out_wrongly_refused": [
            r.question_id for r, d in zip(rows, decided, strict=True) if d and not r.must_refuse
        ],
    }


def transferred(
    train: Sequence[QuestionSignals], judged: Sequence[QuestionSignals], names: Sequence[str]
) -> dict:
    """Fit on `train` (the golden set), judge on `judged` (the agent-style rewrites): refusal
    precision/recall and the share of answerable questions refused."""
    fit = fit_refusals(matrix(train, names), labels(train), names)
    refused, y = fit.refuses(matrix(judged, names)), labels(judged)
    return {
        **precision_recall(list(refused), list(y)).as_dict(),
        "answerable_refused": round(float(refused[~y].mean()), 4),
        "weights": {n: round(w, 4) for n, w in zip(names, fit.weights, strict=True)},
    }


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return math.nan
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def ceiling(
    rows: Sequence[QuestionSignals], vectors: np.ndarray, names: Sequence[str], seeds: int = 3
) -> dict:
    """Not a legitimate figure (see the module docstring): in-domain 5-fold logistic
    regression over the question's e5 vector and `names`, with the best-F1 threshold chosen
    on the judged predictions themselves. Mean ROC AUC and P/R over `seeds` shuffles."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.hstack([matrix(rows, names), vectors]), labels(rows)
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.05, class_weight="balanced", max_iter=3000)
    )
    aucs, best = [], []
    for seed in range(seeds):
        folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
        refuse = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
        aucs.append(roc_auc(refuse, y))
        scored = [precision_recall(list(refuse >= t), list(y)) for t in np.unique(refuse)]
        top = max(scored, key=lambda s: _f1(s.precision, s.recall))
        best.append(
            {"precision": round(top.precision or 0, 4), "recall": round(top.recall or 0, 4)}
        )
    return {"roc_auc": round(float(np.mean(aucs)), 4), "oracle_threshold": best}


def _f1(p: float | None, r: float | None) -> float:
    p, r = p or 0.0, r or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


# ---------------------------------------------------------------- gathering, on a knowledge base


def collect(
    services: Services, questions: Sequence[GoldQuestion]
) -> tuple[list[QuestionSignals], np.ndarray]:
    """Each question's shipped evidence (as `ask` computes it) and the candidate signals, and
    the e5 vectors of the questions as planned (for `ceiling`). The similarity signals read
    FAISS positions: a base on the local store."""
    from kb.index import FaissIndex

    lexical = services.retriever.lexical
    frequencies, chunks = lexical.vocabulary(), lexical.chunk_count()
    idf = {w: inverse_document_frequency(f, chunks) for w, f in frequencies.items()}
    index = services.kb.index
    if not isinstance(index, FaissIndex):
        raise ValueError(
            f"eval.answerability reads FAISS positions: run it on a local-store base. "
            f"Currently, the index is {type(index).__name__}"
        )
    catalog = services.retriever._current_catalog()
    offset = services.settings.crosslingual_offset
    rows, vectors = [], []
    for question in questions:
        query = query_of(question, k=8)
        plan = services.plan(query)
        wide = replace(query, include_inactive=True, k=query.k + 4)
        hits = [h for h in services.search_hits(wide, plan) if h.status == DocumentStatus.CURRENT]
        evidence = services.confidence_evidence(query)
        tokens = tokenize(plan.question)
        passages = [tokenize(h.chunk.text) for h in hits[:TOP_PASSAGES]]
        equivalents = default_glossary().equivalents(plan.question)
        rarest, weighted, phrase = phrase_signals(
            tokens, passages, idf, equivalents, inverse_document_frequency(0, chunks)
        )
        scope = services.domain.scope_of(Scope.of(query))
        everything = replace(scope, groups=frozenset({EVERYONE, RESTRICTED_READER}))
        readable = catalog.allowed(scope)
        unreadable = np.setdiff1d(catalog.allowed(everything), readable, assume_unique=True)
        scores = services.retriever._scores(plan.question, index)
        searched = Scope.of(replace(query, include_inactive=False))
        dense = services.retriever.dense_both_languages(plan.question, searched, AGREEMENT_POOL)
        found = services.retriever.lexical_search(plan.question, searched, AGREEMENT_POOL)
        vectors.append(services.retriever._query_vector(plan.question))
        rows.append(
            QuestionSignals(
                question_id=question.id,
                language=question.language,
                must_refuse=question.must_refuse,
                evidence=evidence,
                rarest_absent=rarest,
                weighted_coverage=weighted,
                phrase_coverage=phrase,
                document_margin=document_margin(scores, readable, catalog.position_document),
                dense_lexical_agreement=dense_lexical_agreement(
                    [document_of(c) for c, _ in dense], [document_of(c) for c, _ in found]
                ),
                restricted_gap_mixed_languages=restricted_gap(scores, readable, unreadable),
                restricted_gap_offset=restricted_gap(
                    scores + offset * (catalog.position_language == other_language(plan)),
                    readable,
                    unreadable,
                ),
            )
        )
    return rows, np.vstack(vectors)


def other_language(plan: SearchPlan) -> str | None:
    """The language whose passages the retriever adds `crosslingual_offset` to for this
    question (kb.retrieve.HybridRetriever.dense_both_languages): English for a Chinese
    question, Chinese for an English one, none for a mixed one."""
    return {"zh": "en", "en": "zh"}.get(detect_language(plan.question))


def document_of(chunk_id: str) -> str:
    """The document of a chunk id (`{document_id}:v{version}:{position}`, kb.types.Chunk)."""
    return chunk_id.rsplit(":", 2)[0]


SHIPPED = ConfidenceEvidence.names()
BEFORE_THIS_PASS = (
    *(n for n in SHIPPED if n not in ("restricted_gap", "heading_coverage")),
    "restricted_gap_mixed_languages",
)
"""The evidence shipped until December 2 2026 (4fdadd3): the restricted gap compared maxima
across languages, and no heading coverage."""
CANDIDATES: dict[str, tuple[str, ...]] = {
    "shipped": SHIPPED,
    "+rarest_absent": (*SHIPPED, "rarest_absent"),
    "+weighted_coverage": (*SHIPPED, "weighted_coverage"),
    "+phrase_coverage": (*SHIPPED, "phrase_coverage"),
    "+phrase evidence (all three)": (
        *SHIPPED,
        "rarest_absent",
        "weighted_coverage",
        "phrase_coverage",
    ),
    "+document_margin": (*SHIPPED, "document_margin"),
    "+dense_lexical_agreement": (*SHIPPED, "dense_lexical_agreement"),
    "without heading_coverage": tuple(n for n in SHIPPED if n != "heading_coverage"),
    "restricted gap with the retriever's crosslingual_offset, with heading_coverage": (
        *(n for n in SHIPPED if n != "restricted_gap"),
        "restricted_gap_offset",
    ),
    "restricted gap across languages, with heading_coverage": (
        *BEFORE_THIS_PASS,
        "heading_coverage",
    ),
    "before this pass (4fdadd3: gap across languages, no heading_coverage)": BEFORE_THIS_PASS,
    "without domain and restricted_gap (shipped until December 2026)": tuple(
        n for n in BEFORE_THIS_PASS if n not in ("domain", "restricted_gap_mixed_languages")
    ),
}


def evaluate(
    golden: Sequence[QuestionSignals],
    agent: Sequence[QuestionSignals],
    golden_vectors: np.ndarray,
) -> dict:
    y, y_agent = labels(golden), labels(agent)
    auc = {
        name: {
            "golden": round(roc_auc(-matrix(golden, [name])[:, 0] * direction_of(name), y), 4),
            "agent_style": round(
                roc_auc(-matrix(agent, [name])[:, 0] * direction_of(name), y_agent), 4
            ),
        }
        for name in (*SHIPPED, *SIGNALS)
        if direction_of(name)
    }
    return {
        "target": REFUSAL_TARGET,
        "questions": {
            "golden": len(golden),
            "must_refuse": int(y.sum()),
            "agent_style": len(agent),
        },
        "auc_must_refuse": auc,
        "candidates": {
            label: {
                "evidence": list(names),
                **held_out_refusals(golden, names),
                "agent_style_golden_fit": transferred(golden, agent, names),
            }
            for label, names in CANDIDATES.items()
        },
        "ceiling_not_legitimate": ceiling(golden, golden_vectors, (*SHIPPED, *SIGNALS)),
    }


def markdown(result: dict, command: str) -> str:
    def pr(d: dict) -> str:
        return f"{d['precision']:.2f} / {d['recall']:.2f}"

    lines = [
        "# Refusals: candidate answerability signals, held out",
        "",
        f"`{command}` (eval/answerability.py). Golden set: {result['questions']['golden']} "
        f"questions, {result['questions']['must_refuse']} must refuse; agent-style rewrites: "
        f"{result['questions']['agent_style']}. Target: precision and recall ≥ {result['target']}.",
        "",
        "## Each signal alone: ROC AUC for must-refuse (0.5 is chance)",
        "",
        "| signal | golden | agent-style |",
        "|---|---|---|",
        *(
            f"| {n} | {v['golden']:.3f} | {v['agent_style']:.3f} |"
            for n, v in result["auc_must_refuse"].items()
        ),
        "",
        "## Added to the shipped evidence, fit and judged like the shipped calibration",
        "",
        "Refusal precision / recall. Held out: 5-fold, stratified by language and must-refuse. "
        "Agent-style: fit on the whole golden set, judged on the rewrites.",
        "",
        "| evidence | in-sample | held out | agent-style | agent-style answerable refused |",
        "|---|---|---|---|---|",
    ]
    for label, c in result["candidates"].items():
        a = c["agent_style_golden_fit"]
        lines.append(
            f"| {label} | {pr(c['in_sample'])} | {pr(c['held_out'])} | {pr(a)} | {a['answerable_refused']:.3f} |"
        )
    shipped = result["candidates"]["shipped"]
    lines += [
        "",
        "Held out with the shipped evidence, must refuse but answered: "
        + ", ".join(shipped["held_out_missed"])
        + ". Answerable but refused: "
        + ", ".join(shipped["held_out_wrongly_refused"])
        + ".",
    ]
    ceil = result["ceiling_not_legitimate"]
    lines += [
        "",
        "## Ceiling (not a legitimate figure)",
        "",
        "Logistic regression over the question's e5 vector and every signal, trained on four "
        "folds of the golden set, judged on the fifth, with the threshold that is best on the "
        f"judged fold itself: ROC AUC {ceil['roc_auc']:.3f}, precision / recall "
        + ", ".join(pr(b) for b in ceil["oracle_threshold"])
        + " (three shuffles). A classifier trained on public data over the same representations "
        "has less to go on than this one.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPORTS / "refusals-signals")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from kb.config import Settings
    from kb.services import build_services

    services = build_services(Settings())
    golden, golden_vectors = collect(services, load_golden())
    agent, _ = collect(services, load_agent_style())
    services.close()
    result = evaluate(golden, agent, golden_vectors)
    result["per_question"] = [
        {**dataclasses.asdict(r), "evidence": dataclasses.asdict(r.evidence)}
        for r in golden + agent
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    command = "KB_DATA_DIR=<samples base> python -m eval.answerability"
    args.out.with_suffix(".md").write_text(markdown(result, command), encoding="utf-8")
    print(markdown(result, command))


if __name__ == "__main__":
    main()
