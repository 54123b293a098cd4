"""Evaluate retrieval and answers on the golden set, the same way every time.

`evaluate_retrieval` scores one retrieval mode (document-level Recall/MRR/nDCG and
section-level hit rate, per language and question type); `evaluate_answers` scores what the
agent sees (refusals, steps, citations, leakage). `fit_calibration` chooses the confidence
curve for an embedding model from the same questions.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.golden import REFERENCE_DATE, GoldQuestion
from eval.metrics import (
    AnswerOutcome,
    answer_breakdown,
    best_f1_threshold,
    calibration_summary,
    dedupe,
    facts_shown,
    hit_at,
    mean,
    ndcg_at,
    paired_by_tag,
    precision_recall,
    recall_at,
    reciprocal_rank,
    refusal_scores,
    step_scores,
    stratified_folds,
    top_document_correct,
)
from kb.access import OPERATOR
from kb.confidence import DIRECTION, Calibration, ConfidenceEvidence, confidence
from kb.services import Services
from kb.types import EVERYONE, Answer, AnswerStatus, Hit, Query

logger = logging.getLogger(__name__)


def query_of(question: GoldQuestion, k: int = 10) -> Query:
    return Query(
        text=question.text,
        history=question.history,
        groups=question.groups,
        as_of=question.as_of or REFERENCE_DATE,
        k=k,
    )


@dataclass(frozen=True)
class Found:
    """One retrieved passage as the metrics see it, whatever system retrieved it."""

    document_id: str
    section: str | None
    groups: tuple[str, ...]


Search = Callable[[GoldQuestion], list[Found]]


def found_of(hits: Sequence[Hit]) -> list[Found]:
    return [
        Found(h.chunk.document.document_id, h.chunk.section, h.chunk.document.groups) for h in hits
    ]


def _leaks(found: Sequence[Found], question: GoldQuestion) -> int:
    allowed = set(question.groups) | {EVERYONE}
    return sum(1 for f in found if not allowed.intersection(f.groups))


def _section_hit(found: Sequence[Found], question: GoldQuestion, k: int) -> float:
    for item in found[:k]:
        for document, section in question.gold:
            if item.document_id != document or item.section is None:
                continue
            if (
                section is None
                or item.section == section
                or item.section.startswith(section + " > ")
            ):
                return 1.0
    return 0.0


def _ndcg_scale(relevant: set[str], ideal: int) -> float:
    """ndcg_at normalises by the relevant passages it was given (those retrieved); rescale to
    an ideal of `ideal` relevant passages (one per gold section) so misses count."""
    import math

    found = min(len(relevant), 10)
    if not found:
        return 0.0
    given = sum(1.0 / math.log2(i + 2) for i in range(found))
    wanted = sum(1.0 / math.log2(i + 2) for i in range(ideal))
    return given / wanted


def _summarise(rows: list[dict], keys: Sequence[str]) -> dict[str, float]:
    return {key: round(mean([row[key] for row in rows]), 4) for key in keys}


def evaluate_retrieval(
    services: Services, questions: Sequence[GoldQuestion], mode: str, per_question: bool = False
) -> dict:
    """Document- and section-level retrieval metrics of one of our retrieval modes."""
    return {
        "mode": mode,
        **evaluate_search(
            lambda q: found_of(services.retrieve(query_of(q), mode)), questions, per_question
        ),
    }


def evaluate_search(
    search: Search, questions: Sequence[GoldQuestion], per_question: bool = False
) -> dict:
    """Metrics for any search function, so baselines are scored exactly like our pipeline.

    With `per_question`, also each question's recall@1/@5 and MRR@10 by id, so another set
    (the agent-style one) can be compared with it question by question."""
    rows = []
    latencies = []
    leaks = 0
    for question in questions:
        started = time.perf_counter()
        found = search(question)
        latencies.append(time.perf_counter() - started)
        leaks += _leaks(found, question)
        if question.must_refuse or not question.gold:
            continue
        ranked = dedupe([f.document_id for f in found])
        relevant = question.gold_documents
        # Chunk level: each retrieved passage is relevant when it lies in a gold section.
        chunk_ranked = [str(i) for i in range(len(found))]
        chunk_relevant = {str(i) for i, f in enumerate(found) if _section_hit([f], question, 1)}
        ideal = max(1, min(len(question.gold), 10))
        rows.append(
            {
                "id": question.id,
                "chunk_recall@1": 1.0 if "0" in chunk_relevant else 0.0,
                "chunk_recall@5": hit_at(chunk_ranked, chunk_relevant, 5),
                "chunk_mrr@10": reciprocal_rank(chunk_ranked, chunk_relevant, 10),
                "chunk_ndcg@10": min(
                    1.0,
                    ndcg_at(chunk_ranked, chunk_relevant, 10) * _ndcg_scale(chunk_relevant, ideal),
                ),
                "language": question.language,
                "type": question.type,
                "recall@1": hit_at(ranked, relevant, 1),
                "recall@5": hit_at(ranked, relevant, 5),
                "recall@10": hit_at(ranked, relevant, 10),
                "all_gold@10": recall_at(ranked, relevant, 10),
                "mrr@10": reciprocal_rank(ranked, relevant, 10),
                "ndcg@10": ndcg_at(ranked, relevant, 10),
                "section@5": _section_hit(found, question, 5),
            }
        )
    keys = [
        "recall@1", "recall@5", "recall@10", "all_gold@10", "mrr@10", "ndcg@10", "section@5",
        "chunk_recall@1", "chunk_recall@5", "chunk_mrr@10", "chunk_ndcg@10",
    ]  # fmt: skip
    by_language: dict[str, list[dict]] = defaultdict(list)
    by_type: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_language[row["language"]].append(row)
        by_type[row["type"]].append(row)
    latencies.sort()
    kept = (
        {"per_question": {r["id"]: {k: r[k] for k in PER_QUESTION_KEYS} for r in rows}}
        if per_question
        else {}
    )
    return {
        "questions": len(rows),
        **_summarise(rows, keys),
        "leaked_chunks": leaks,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else 0.0,
        "p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 1) if latencies else 0.0,
        "by_language": {
            lang: _summarise(r, keys) | {"n": len(r)} for lang, r in sorted(by_language.items())
        },
        "by_type": {
            kind: _summarise(r, keys) | {"n": len(r)} for kind, r in sorted(by_type.items())
        },
        **kept,
    }


PER_QUESTION_KEYS = ("recall@1", "recall@5", "mrr@10")


def is_conflict_notice(notice: str) -> bool:
    """A "documents disagree" notice, told by its message kind (kb.messages), not by its
    English wording, so a reworded or translated notice still counts."""
    return getattr(notice, "kind", None) == "conflict"


def outcome_of(question: GoldQuestion, answer: Answer) -> AnswerOutcome:
    """What the agent saw for one question, as the flags the answer metrics count."""
    refused = answer.status == AnswerStatus.NOT_COVERED
    headline = [h.text for h, _ in answer.sentences] + [s.text for s in answer.steps]
    facts = question.answer_contains
    first = answer.passages[0].citation.document_id if answer.passages else None
    answerable = not question.must_refuse
    return AnswerOutcome(
        id=question.id,
        language=question.language,
        type=question.type,
        must_refuse=question.must_refuse,
        refused=refused,
        confidence=float(answer.confidence),
        answer_correct=facts_shown(headline, facts) if answerable and facts else None,
        answer_in_passages=(
            facts_shown([p.text.text for p in answer.passages[:3]], facts)
            if answerable and facts
            else None
        ),
        top_document_correct=(
            top_document_correct(first, question.gold_documents)
            if answerable and question.gold
            else None
        ),
        steps_expected=bool(question.gold_steps),
        steps_shown=bool(answer.steps),
        conflict_flagged=any(is_conflict_notice(n) for n in answer.notices),
    )


def evaluate_answers(services: Services, questions: Sequence[GoldQuestion]) -> dict:
    """What the agent sees: refusal decisions, steps, citations, leaks, answer strings."""
    refused, must_refuse = [], []
    step_recall, step_order, cited_ok, contains_ok = [], [], [], []
    leaks = 0
    conflicts_flagged = []
    failures: list[dict] = []
    outcomes: list[AnswerOutcome] = []
    shown: list[dict] = []
    for question in questions:
        answer = services.ask(query_of(question, k=8))
        outcome = outcome_of(question, answer)
        outcomes.append(outcome)
        shown.append(_shown(question, answer, outcome))
        is_refused = answer.status == AnswerStatus.NOT_COVERED
        refused.append(is_refused)
        must_refuse.append(question.must_refuse)
        shown_documents = {p.citation.document_id for p in answer.passages} | {
            c.document_id for c in answer.related
        }
        leaks += len(shown_documents.intersection(question.forbidden))
        allowed = set(question.groups) | {EVERYONE}
        restricted_shown = {
            p.citation.document_id
            for p in answer.passages
            if p.citation.document_id in _restricted_ids(services, allowed)
        }
        leaks += len(restricted_shown - set(question.forbidden))
        if is_refused != question.must_refuse:
            failures.append(
                {
                    "id": question.id,
                    "text": question.text,
                    "refused": is_refused,
                    "confidence": answer.confidence,
                }
            )
        if is_refused or question.must_refuse:
            continue
        if question.gold_steps:
            recall, order = step_scores([s.text for s in answer.steps], question.gold_steps)
            step_recall.append(recall)
            step_order.append(order)
        passages_text = " ".join(p.text.text for p in answer.passages[:3])
        if question.answer_contains:
            contains_ok.append(
                mean([1.0 if s in passages_text else 0.0 for s in question.answer_contains])
            )
        for step in answer.steps:
            chunk = services.kb.registry.chunks_by_id([step.citation.chunk_id]).get(
                step.citation.chunk_id
            )
            cited_ok.append(1.0 if chunk is not None and step.text in chunk.text else 0.0)
        if question.type == "conflict":
            conflicts_flagged.append(1.0 if outcome.conflict_flagged else 0.0)
    return {
        "questions": len(questions),
        "refusal": {k: round(v, 4) for k, v in refusal_scores(refused, must_refuse).items()},
        "step_recall": round(mean(step_recall), 4),
        "step_order": round(mean(step_order), 4),
        "citation_correct": round(mean(cited_ok), 4),
        "answer_in_top3_passages": round(mean(contains_ok), 4),
        "conflicts_flagged": round(mean(conflicts_flagged), 4),
        "leaked_documents": leaks,
        "refusal_errors": failures,
        "answer_metrics": answer_breakdown(outcomes),
        "calibration_check": calibration_summary(outcomes),
        "outcomes": shown,
    }


def _shown(question: GoldQuestion, answer: Answer, outcome: AnswerOutcome) -> dict:
    """One question's outcome with what the agent saw, for reading failures in eval.json."""
    return {
        **outcome.__dict__,
        "text": question.text,
        "derived_from": question.extra.get("derived_from"),
        "rewrite": question.extra.get("rewrite", []),
        "resolved": answer.resolved_question,
        "first_document": answer.passages[0].citation.document_id if answer.passages else None,
        "gold_documents": sorted(question.gold_documents),
        "sentences": [h.text[:200] for h, _ in answer.sentences[:2]],
        "steps": len(answer.steps),
        "notice_kinds": [getattr(n, "kind", "text") for n in answer.notices],
    }


_RESTRICTED_CACHE: dict[int, dict[str, tuple[str, ...]]] = {}


def _restricted_ids(services: Services, allowed: set[str]) -> set[str]:
    key = id(services)
    if key not in _RESTRICTED_CACHE:
        _RESTRICTED_CACHE[key] = {
            d.document_id: d.groups for d in services.documents(reader=OPERATOR)
        }
    return {
        doc for doc, groups in _RESTRICTED_CACHE[key].items() if not allowed.intersection(groups)
    }


Features = Sequence[tuple[ConfidenceEvidence, bool]]
"""Per question: the evidence its answer's confidence is computed from, and must it refuse."""


def confidence_features(
    services: Services, questions: Sequence[GoldQuestion]
) -> list[tuple[ConfidenceEvidence, bool]]:
    """(the evidence `ask` computes its confidence from, must refuse) per question."""
    return [
        (services.confidence_evidence(query_of(question, k=8)), question.must_refuse)
        for question in questions
    ]


EVIDENCE = ConfidenceEvidence.names()
BEFORE_ISSUE_10 = ("similarity", "coverage")
"""The evidence the confidence used before issue 10 (top hit's similarity and coverage)."""


def fit_calibration(
    features: Features,
    max_false_refusals: float = 0.10,
    max_confident_out_of_scope: float = 0.05,
    names: Sequence[str] = EVIDENCE,
    regularisation: float = 1e-2,
) -> Calibration:
    """Fit the confidence curve and choose the two thresholds (see kb.confidence.Calibration).

    The curve is an L2-regularised logistic regression of "answerable" on the evidence
    fields in `names` (standardised, balanced class weights, gradient descent projected so
    that each weight keeps the sign kb.confidence.DIRECTION allows); its weights
    are then stated on the raw evidence, as kb.confidence.CALIBRATIONS holds them. The
    thresholds are read off the answerable and the must-refuse questions' confidences: at
    most `max_false_refusals` of the answerable questions refused, at most
    `max_confident_out_of_scope` of the must-refuse ones shown without a warning."""
    x = np.array([[getattr(e, n) for n in names] for e, _ in features], dtype=float)
    y = np.array([0.0 if refuse else 1.0 for _, refuse in features])
    weights = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    direction = np.array([DIRECTION.get(n, 0.0) for n in names])
    w, b = np.zeros(len(names)), 0.0
    for _ in range(5000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        gradient = weights * (p - y)
        w -= 0.1 * (z.T @ gradient / len(y) + regularisation * w)
        w = np.where(direction * w < 0, 0.0, w)  # kb.confidence.DIRECTION holds
        b -= 0.1 * gradient.mean()
    raw = w / std
    curve = Calibration(
        round(float(b - raw @ mean), 4),
        {n: round(float(v), 4) for n, v in zip(names, raw, strict=True)},
    )
    answerable = sorted(confidence(e, curve) for e, refuse in features if not refuse)
    out_of_scope = sorted(confidence(e, curve) for e, refuse in features if refuse)
    refuse_below = float(np.quantile(answerable, max_false_refusals)) if answerable else 0.5
    confident_from = (
        float(np.quantile(out_of_scope, 1 - max_confident_out_of_scope)) if out_of_scope else 0.5
    )
    return dataclasses.replace(
        curve,
        refuse_below=round(refuse_below, 4),
        confident_from=round(max(confident_from, refuse_below), 4),
    )


# ---------------------------------------------------------------- is the refusal threshold held out?

CV_FOLDS = 5
CV_SEED = 20261125
REFUSAL_TARGET = 0.90
"""The team's target: refusal precision and recall both at least this."""


def _refusals(features: Features, calibration: Calibration, threshold: float) -> list[bool]:
    return [confidence(e, calibration) < threshold for e, _ in features]


def cross_validate_refusals(
    features: Features,
    strata: Sequence[str],
    folds: int = CV_FOLDS,
    seed: int = CV_SEED,
    names: Sequence[str] = EVIDENCE,
) -> dict:
    """Refusal precision/recall with the calibration fit on the questions it is judged on
    (in-sample, what `compare` reports as the fit) and held out: k-fold, stratified by
    `strata` (language and must-refuse), fit on k-1 folds and judged on the one left out.
    `names` chooses the evidence the curve uses (all of it by default).

    A second held-out row chooses the threshold for the best F1 of refusing on the training
    folds instead of fit_calibration's "at most one answerable in ten refused": it tells
    whether the target is reachable with the same evidence by choosing differently."""
    actual = [refuse for _, refuse in features]
    fitted = fit_calibration(features, names=names)
    in_sample = _refusals(features, fitted, fitted.refuse_below)
    fold_of = stratified_folds(strata, folds, seed)
    held_out = [False] * len(features)
    held_out_f1 = [False] * len(features)
    per_fold = []
    for fold in range(folds):
        train = [f for f, k in zip(features, fold_of, strict=True) if k != fold]
        test_index = [i for i, k in enumerate(fold_of) if k == fold]
        test = [features[i] for i in test_index]
        calibration = fit_calibration(train, names=names)
        decided = _refusals(test, calibration, calibration.refuse_below)
        f1_threshold = best_f1_threshold(
            [confidence(e, calibration) for e, _ in train], [r for _, r in train]
        )
        decided_f1 = _refusals(test, calibration, f1_threshold)
        for i, refused, refused_f1 in zip(test_index, decided, decided_f1, strict=True):
            held_out[i] = refused
            held_out_f1[i] = refused_f1
        per_fold.append(
            {
                "fold": fold,
                "n": len(test),
                "refuse_below": calibration.refuse_below,
                "f1_threshold": round(f1_threshold, 4),
                **precision_recall(decided, [r for _, r in test]).as_dict(),
            }
        )
    return {
        "folds": folds,
        "seed": seed,
        "stratified_by": "language and must-refuse",
        "evidence": list(names),
        "target": REFUSAL_TARGET,
        "in_sample": precision_recall(in_sample, actual).as_dict(),
        "cross_validated": precision_recall(held_out, actual).as_dict(),
        "cross_validated_f1_threshold": precision_recall(held_out_f1, actual).as_dict(),
        "per_fold": per_fold,
    }


def refusals_with(features: Features, calibration: Calibration) -> dict:
    """Refusal precision/recall of a calibration fit elsewhere (on the golden set) applied to
    other questions' features (the agent-style set)."""
    return precision_recall(
        _refusals(features, calibration, calibration.refuse_below),
        [refuse for _, refuse in features],
    ).as_dict()


def agent_style_deltas(golden: dict, agent: dict) -> dict:
    """Per rewrite rule (and "all"): agent-style against the golden question it came from,
    for retrieval (recall@5, MRR@10) and answers (answer correct, top document correct,
    refused when it should not be, answered when it should refuse)."""
    questions = agent["answers"]["outcomes"]
    derived_from = {o["id"]: o["derived_from"] for o in questions}
    tags = {o["id"]: o["rewrite"] for o in questions}
    result = {}
    for key in ("recall@5", "mrr@10"):
        result[key] = paired_by_tag(
            {i: r[key] for i, r in golden["retrieval"]["per_question"].items()},
            {i: r[key] for i, r in agent["retrieval"]["per_question"].items()},
            derived_from,
            tags,
        )

    def flag(outcomes: list[dict], name: str) -> dict[str, float | None]:
        return {
            o["id"]: None
            if o["must_refuse"] or o[name] is None
            else float(bool(o[name]) and not o["refused"])
            for o in outcomes
        }

    def wrongly(outcomes: list[dict]) -> dict[str, float | None]:
        return {o["id"]: float(o["refused"] != o["must_refuse"]) for o in outcomes}

    golden_outcomes = golden["answers"]["outcomes"]
    for name in ("answer_correct", "top_document_correct"):
        result[name] = paired_by_tag(
            flag(golden_outcomes, name), flag(questions, name), derived_from, tags
        )
    result["refusal_decision_wrong"] = paired_by_tag(
        wrongly(golden_outcomes), wrongly(questions), derived_from, tags
    )
    return result


# ---------------------------------------------------------------- the side-by-side comparison

CONFIGURATIONS = (
    # name, embedding model, mode, settings overrides
    ("BM25 only (glossary, both languages)", "e5", "lexical", {"glossary_expansion": "both"}),
    ("dense MiniLM", "minilm", "dense", {"crosslingual_offset": 0.0}),
    ("hybrid MiniLM", "minilm", "hybrid", {"crosslingual_offset": 0.0}),
    ("dense e5", "e5", "dense", {"crosslingual_offset": 0.0}),
    ("dense e5 + language offset", "e5", "dense", {}),
    (
        "hybrid e5, no glossary, no offset",
        "e5",
        "hybrid",
        {"glossary_expansion": "none", "crosslingual_offset": 0.0},
    ),
    (
        "hybrid e5, glossary for Chinese questions only",
        "e5",
        "hybrid",
        {"glossary_expansion": "zh"},
    ),
    ("hybrid e5, no same-language preference", "e5", "hybrid", {"same_language_ratio": 1.0}),
    ("hybrid e5 (default)", "e5", "hybrid", {}),
)


def compare(
    samples: Path,
    questions: Sequence[GoldQuestion],
    work_dir: Path,
    quick: bool = False,
    agent_questions: Sequence[GoldQuestion] = (),
) -> dict:
    """Every configuration on the same golden set; one knowledge base per embedding model.

    The default configuration also gets the answer-level measures, the calibration checks
    (reliability, ECE, held-out refusals) and, given `agent_questions`, the same measures
    on the agent-style set with its difference from the golden questions it came from.
    `quick` runs the default configuration alone (one knowledge base, no baseline)."""
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.store import KnowledgeBase

    results: dict = {"configurations": [], "calibration": {}, "answers": {}}
    built: dict[str, Settings] = {}
    for name, model, mode, overrides in CONFIGURATIONS:
        is_default = name.endswith("(default)")
        if quick and not is_default:
            continue
        if model not in built:
            settings = Settings(data_dir=work_dir / model, embedding_model=model)
            kb = KnowledgeBase(settings, create_embedder(model))
            services = Services(settings, kb)
            started = time.perf_counter()
            services.ingest_paths([samples])
            logger.info(
                "built the %s knowledge base in %.1fs", model, time.perf_counter() - started
            )
            services.close()
            built[model] = settings
        settings = built[model].model_copy(update=overrides)
        services = Services(settings, KnowledgeBase(settings, create_embedder(model)))
        row = evaluate_retrieval(services, questions, mode, per_question=is_default)
        golden_by_question = row.pop("per_question", {})
        if is_default:
            results["golden_per_question"] = golden_by_question
        results["configurations"].append({"name": name, "model": model, **row})
        if is_default and not quick:
            from eval.baseline import TutorialBaseline

            baseline = TutorialBaseline(samples, services.kb.embedder)
            row = evaluate_search(baseline.search, questions)
            results["configurations"].insert(
                0,
                {
                    "name": "LangChain tutorial baseline (1000/200 splitter + FAISS, e5)",
                    "model": model,
                    **row,
                },
            )
        if is_default:
            if settings.reranker_path is not None or Settings().reranker_path is not None:
                path = settings.reranker_path or Settings().reranker_path
                reranked = Services(
                    settings.model_copy(update={"reranker_path": path}),
                    KnowledgeBase(settings, create_embedder(model)),
                )
                row = evaluate_retrieval(reranked, questions, mode)
                results["configurations"].append(
                    {"name": "hybrid e5 + reranker", "model": model, **row}
                )
            features = confidence_features(services, questions)
            calibration = fit_calibration(features)
            results["calibration"] = {"model": model, **calibration.__dict__}
            results["answers"] = evaluate_answers(services, questions)
            strata = [f"{q.language}:{q.must_refuse}" for q in questions]
            results["refusal_check"] = cross_validate_refusals(features, strata)
            before = cross_validate_refusals(features, strata, names=BEFORE_ISSUE_10)
            results["refusal_check"]["before_issue_10"] = {
                key: before[key] for key in ("evidence", "in_sample", "cross_validated")
            }
            if agent_questions:
                results["agent_style"] = evaluate_agent_style(
                    services,
                    agent_questions,
                    mode,
                    calibration,
                    {"retrieval": {"per_question": golden_by_question}, **results},
                    fit_calibration(features, names=BEFORE_ISSUE_10),
                )
        services.close()
    return results


def evaluate_agent_style(
    services: Services,
    questions: Sequence[GoldQuestion],
    mode: str,
    golden_calibration: Calibration,
    golden: dict,
    calibration_before: Calibration | None = None,
) -> dict:
    """Retrieval and answer measures on the agent-style set, kept apart from the golden
    set's, with the difference from each question's golden original. With
    `calibration_before` (fit on the golden set with the evidence used before issue 10),
    its refusals on this set too."""
    logger.info("agent-style set: %d questions", len(questions))
    result: dict = {
        "questions": len(questions),
        "retrieval": evaluate_retrieval(services, questions, mode, per_question=True),
        "answers": evaluate_answers(services, questions),
    }
    features = confidence_features(services, questions)
    result["refusal_golden_fit"] = refusals_with(features, golden_calibration)
    if calibration_before is not None:
        result["refusal_golden_fit_before_issue_10"] = refusals_with(features, calibration_before)
    result["deltas"] = agent_style_deltas(golden, result)
    return result


def refresh_from_outcomes(results: dict) -> dict:
    """The results with every answer measure recomputed from the stored per-question
    outcomes (a new dict), so a report made by older code gains newer measures without a
    run of the whole evaluation."""
    fields = {f.name for f in dataclasses.fields(AnswerOutcome)}

    def refreshed(answers: dict) -> dict:
        outcomes = [AnswerOutcome(**{k: o[k] for k in fields}) for o in answers["outcomes"]]
        return {
            **answers,
            "answer_metrics": answer_breakdown(outcomes),
            "calibration_check": calibration_summary(outcomes),
        }

    fresh = {**results}
    if "outcomes" in results.get("answers", {}):
        fresh["answers"] = refreshed(results["answers"])
    agent = results.get("agent_style")
    if agent and "outcomes" in agent.get("answers", {}):
        agent = {**agent, "answers": refreshed(agent["answers"])}
        per_question = results.get("golden_per_question", {})
        golden = {"retrieval": {"per_question": per_question}, "answers": fresh["answers"]}
        deltas = agent_style_deltas(golden, agent)
        if not per_question:  # older results: keep the retrieval deltas they stored
            kept = agent.get("deltas", {})
            deltas |= {k: kept[k] for k in ("recall@5", "mrr@10") if k in kept}
        agent["deltas"] = deltas
        fresh["agent_style"] = agent
    return fresh


def write_report(results: dict, report_dir: Path, command: str) -> str:
    """eval.json, the charts and eval.md in `report_dir`; returns the Markdown."""
    import json

    from eval.charts import language_chart, reliability_chart, retrieval_chart

    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "eval.json").write_text(
        json.dumps({"command": command, **results}, indent=2, default=str) + "\n"
    )
    retrieval_chart(results, report_dir / "eval-retrieval.png")
    language_chart(results, report_dir / "eval-languages.png")
    charts = {}
    if "calibration_check" in results.get("answers", {}):
        charts["reliability"] = "eval-reliability.png"
        reliability_chart(
            results["answers"]["calibration_check"],
            "Golden set",
            report_dir / charts["reliability"],
        )
    if "agent_style" in results:
        charts["agent_reliability"] = "eval-reliability-agent-style.png"
        reliability_chart(
            results["agent_style"]["answers"]["calibration_check"],
            "Agent-style set",
            report_dir / charts["agent_reliability"],
        )
    report = markdown_report(results, command, charts)
    report += "\n![retrieval](eval-retrieval.png)\n\n![languages](eval-languages.png)\n"
    (report_dir / "eval.md").write_text(report)
    return report


def markdown_report(results: dict, command: str, charts: dict[str, str] | None = None) -> str:
    """The report; `charts` names the PNG files (beside the report) that sections embed:
    "reliability" and "agent_reliability"."""
    from eval.answer_report import agent_sections, golden_sections

    charts = charts or {}
    keys = [
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "section@5",
        "leaked_chunks",
        "p50_ms",
    ]
    lines = [
        "# Retrieval and answers on the golden set",
        "",
        f"`{command}`: {results['configurations'][0]['questions']} answerable questions with gold "
        "documents (document-level metrics; recall@k = a gold document in the top k).",
        "",
        "| configuration | " + " | ".join(keys) + " | zh recall@5 | cross-lingual recall@5 |",
        "|---" * (len(keys) + 3) + "|",
    ]
    for row in results["configurations"]:
        zh = row["by_language"].get("zh", {}).get("recall@5", 0.0)
        cross = row["by_type"].get("crosslingual", {}).get("recall@5", 0.0)
        lines.append(
            f"| {row['name']} | " + " | ".join(str(row[k]) for k in keys) + f" | {zh} | {cross} |"
        )
    chunk_keys = ["chunk_recall@1", "chunk_recall@5", "chunk_mrr@10", "chunk_ndcg@10"]
    lines += [
        "",
        "Chunk level (a passage is relevant when it lies in a gold section; the tutorial "
        "baseline has no sections, so it scores 0 here by construction):",
        "",
        "| configuration | " + " | ".join(chunk_keys) + " |",
        "|---" * (len(chunk_keys) + 1) + "|",
    ]
    for row in results["configurations"]:
        lines.append(
            f"| {row['name']} | " + " | ".join(str(row.get(k, 0.0)) for k in chunk_keys) + " |"
        )
    default = next((r for r in results["configurations"] if r["name"].endswith("(default)")), None)
    if default:
        lines += [
            "",
            "By question type (default configuration):",
            "",
            "| type | n | recall@1 | recall@5 | mrr@10 |",
            "|---|---|---|---|---|",
        ]
        for kind, row in default["by_type"].items():
            lines.append(
                f"| {kind} | {row['n']} | {row['recall@1']} | {row['recall@5']} | {row['mrr@10']} |"
            )
    answers = results.get("answers") or {}
    if answers:
        lines += [
            "",
            "## Answers (default configuration)",
            "",
            "| measure | value |",
            "|---|---|",
            f"| refusal precision / recall / accuracy | {answers['refusal']['precision']} / "
            f"{answers['refusal']['recall']} / {answers['refusal']['accuracy']} |",
            f"| step recall / order | {answers['step_recall']} / {answers['step_order']} |",
            f"| citation correct (cited passage contains the step) | {answers['citation_correct']} |",
            f"| answer strings in the top 3 passages | {answers['answer_in_top3_passages']} |",
            f"| conflicts flagged | {answers['conflicts_flagged']} |",
            f"| restricted documents shown to users outside their groups | {answers['leaked_documents']} |",
            "",
            f"Calibration: `{results['calibration']}`",
        ]
        if "answer_metrics" in answers:
            lines += golden_sections(results, charts.get("reliability"))
    lines += agent_sections(results, charts.get("agent_reliability"))
    return "\n".join(lines) + "\n"


def evaluate_beir(
    dataset_dir: Path, work_dir: Path, settings_overrides: dict | None = None
) -> dict:
    """Retrieval metrics and latency on any BEIR-layout dataset, in a temporary knowledge base."""
    from eval.datasets import load_beir
    from ingest.sniff import safe_name
    from kb.config import Settings
    from kb.embedding import create_embedder
    from kb.store import KnowledgeBase

    dataset = load_beir(dataset_dir)
    settings = Settings(data_dir=work_dir / "kb", **(settings_overrides or {}))
    services = Services(
        settings, KnowledgeBase(settings, create_embedder(settings.embedding_model))
    )
    started = time.perf_counter()
    report = services.ingest(dataset.uploads)
    ingest_seconds = time.perf_counter() - started
    corpus_id = {
        f.document_id: Path(safe_name(f.source_name)).stem for f in report.files if f.document_id
    }
    rows, latencies = [], []
    for query in dataset.queries:
        relevant = {cid for cid, score in dataset.qrels.get(query.id, {}).items() if score > 0}
        started = time.perf_counter()
        hits = services.retrieve(Query(text=query.text, history=query.history, k=10))
        latencies.append(time.perf_counter() - started)
        if not relevant:
            continue
        ranked = dedupe([corpus_id.get(h.chunk.document.document_id, "") for h in hits])
        rows.append(
            {
                "recall@1": recall_at(ranked, relevant, 1),
                "recall@5": recall_at(ranked, relevant, 5),
                "recall@10": recall_at(ranked, relevant, 10),
                "mrr@10": reciprocal_rank(ranked, relevant, 10),
                "ndcg@10": ndcg_at(ranked, relevant, 10),
            }
        )
    services.close()
    latencies.sort()
    return {
        "dataset": dataset.name,
        "documents": len(dataset.uploads),
        "ingested": sum(1 for f in report.files if f.status.value == "added"),
        "failed": [
            {"file": f.source_name, "reason": f.reason}
            for f in report.files
            if f.status.value == "failed"
        ],
        "chunks": report.chunks_embedded + report.chunks_reused,
        "ingest_seconds": round(ingest_seconds, 2),
        "queries": len(rows),
        **_summarise(rows, ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"]),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else 0.0,
        "p95_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 1)
        if latencies
        else 0.0,
    }
