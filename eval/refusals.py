"""Refusals and calibration on an existing knowledge base, without the whole `kb eval`.

    KB_DATA_DIR=/tmp/kbref kb ingest samples                    # once
    KB_DATA_DIR=/tmp/kbref python -m eval.refusals [--answers]  # 5 (15) minutes on 2 cores

Prints, as JSON, for the evidence used after issue 10 (all of kb.confidence.ConfidenceEvidence)
and before it (similarity and coverage): the calibration fit on the golden set (the "after"
one is what kb.confidence.CALIBRATIONS holds), refusal precision/recall in-sample and 5-fold
held out, and the golden-fit calibration judged on the agent-style set. With --answers, every
question is also answered (refusals off, so each answer's top document is known) and each
calibration's refusals and ECE are computed on those answers, as `kb eval` reports them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from collections.abc import Sequence

from eval.golden import GoldQuestion, load_agent_style, load_golden
from eval.metrics import AnswerOutcome, calibration_summary, precision_recall
from eval.run import (
    BEFORE_ISSUE_10,
    EVIDENCE,
    Features,
    confidence_features,
    cross_validate_refusals,
    fit_calibration,
    outcome_of,
    query_of,
    refusals_with,
)
from kb.confidence import Calibration, ConfidenceEvidence, confidence
from kb.config import Settings
from kb.services import Services, build_services


def judged(
    outcome: AnswerOutcome, features: tuple[ConfidenceEvidence, bool], calibration: Calibration
) -> AnswerOutcome:
    """The outcome of an answer given with refusals off, as `calibration` would have shown
    it: its confidence, refused below the threshold (a refusal shows no top document)."""
    evidence, _ = features
    value = confidence(evidence, calibration)
    refused = value < calibration.refuse_below
    top = outcome.top_document_correct
    return dataclasses.replace(
        outcome,
        confidence=round(value, 3),
        refused=refused,
        top_document_correct=None if top is None else top and not refused,
    )


def answer_checks(
    services: Services,
    questions: Sequence[GoldQuestion],
    features: Features,
    calibrations: dict[str, Calibration],
) -> dict:
    never_refuse = Services(
        services.settings.model_copy(update={"answer_threshold": 0.0}), services.kb
    )
    outcomes = [outcome_of(q, never_refuse.ask(query_of(q, k=8))) for q in questions]
    result = {}
    for label, calibration in calibrations.items():
        shown = [judged(o, f, calibration) for o, f in zip(outcomes, features, strict=True)]
        check = calibration_summary(shown)
        result[label] = {
            "refusal": precision_recall(
                [o.refused for o in shown], [o.must_refuse for o in shown]
            ).as_dict(),
            "ece": check["ece"],
            "answered_ece": check["answered_ece"],
            "share_correct": check["accuracy"],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--answers", action="store_true", help="also answer every question: refusals and ECE"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    services = build_services(Settings())
    golden, agent = load_golden(), load_agent_style()
    strata = [f"{q.language}:{q.must_refuse}" for q in golden]
    golden_features = confidence_features(services, golden)
    agent_features = confidence_features(services, agent)
    report: dict = {}
    calibrations: dict[str, Calibration] = {}
    for label, names in (("after", EVIDENCE), ("before_issue_10", BEFORE_ISSUE_10)):
        calibration = fit_calibration(golden_features, names=names)
        calibrations[label] = calibration
        check = cross_validate_refusals(golden_features, strata, names=names)
        report[label] = {
            "calibration": dataclasses.asdict(calibration),
            "refusal_check": check,  # in_sample and cross_validated: golden in- and held out
            "agent_style_golden_fit": refusals_with(agent_features, calibration),
        }
    if args.answers:
        for label, questions, features in (
            ("golden", golden, golden_features),
            ("agent_style", agent, agent_features),
        ):
            report[f"answers_{label}"] = answer_checks(services, questions, features, calibrations)
    services.close()
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
