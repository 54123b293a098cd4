"""The Markdown sections for answers an agent can trust: answer-level measures, calibration
and held-out refusals, and the agent-style set beside the golden one.

Kept apart from eval/run.py, which measures: this only renders the dictionaries it returns,
so a table can change without touching a measurement.
"""

from __future__ import annotations

from collections import Counter

DEFINITIONS = (
    "- **answer correct**: every expected fact (`answer_contains`) appears in the headline "
    "sentences or the steps, so the agent can read it without opening a passage (answerable "
    "questions with expected facts; a refusal counts as wrong). **in top-3 passages** is the "
    "older, looser figure: every expected fact somewhere in the first three passages.\n"
    "- **top doc correct**: the first passage shown comes from a gold document (answerable "
    "questions with gold documents; a refusal counts as wrong).\n"
    "- **steps when expected**: questions with gold steps that get numbered steps. **no steps "
    "on facts**: answered plain fact questions (type `fact`, no gold steps) that show no steps.\n"
    "- **conflict P / R**: a notice of kind `conflict` (kb/messages.py, told by kind, not "
    "wording); precision over answered questions, recall over questions of type `conflict`.\n"
    "- **answerable refused**: share of answerable questions answered NOT_COVERED.\n"
    "- **refusal P / R**: precision and recall of answering NOT_COVERED, against must-refuse "
    "(in a group with no must-refuse question, recall is n/a and precision 0.0 whenever "
    "anything in it was refused).\n"
    "- n/a: the measure has no question to count in that group."
)

CORRECT_DEFINITION = (
    "Here **correct** means: an answerable question answered with a gold document first, or a "
    "must-refuse question refused. The confidence set against it is the system's confidence "
    "in what it showed: the answer's confidence when it answered, one minus it when it "
    "refused (a refusal at confidence 0.1 is a refusal it is 90% sure of). ECE is the "
    "count-weighted mean gap between mean confidence and share correct over 10 equal-width "
    "bins; 0 is perfectly calibrated."
)


def fmt(value: object) -> str:
    return "n/a" if value is None else str(value)


def pr(scores: dict) -> str:
    return f"{fmt(scores.get('precision'))} / {fmt(scores.get('recall'))}"


ANSWER_HEADER = (
    "| {group} | n | answer correct | in top-3 passages | top doc correct | steps when expected "
    "| no steps on facts | conflict P / R | answerable refused | refusal P / R |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def _answer_row(label: str, m: dict) -> str:
    return (
        f"| {label} | {m['n']} | {fmt(m['answer_correct'])} | {fmt(m['answer_in_passages'])} "
        f"| {fmt(m['top_document_correct'])} | {fmt(m['steps_shown_when_expected'])} "
        f"| {fmt(m['no_steps_when_not_expected'])} | {pr(m['conflict'])} "
        f"| {fmt(m['answerable_refused'])} | {pr(m['refusal'])} |"
    )


def answer_tables(metrics: dict) -> list[str]:
    """Overall and per language, then per question type."""
    lines = [ANSWER_HEADER.format(group="language"), _answer_row("all", metrics)]
    lines += [_answer_row(k, v) for k, v in metrics["by_language"].items()]
    lines += ["", ANSWER_HEADER.format(group="question type")]
    lines += [_answer_row(k, v) for k, v in metrics["by_type"].items()]
    return lines


def reliability_table(check: dict) -> list[str]:
    lines = ["| confidence bin | n | mean confidence | share correct |", "|---|---|---|---|"]
    for b in check["bins"]:
        mean_confidence = None if b["mean_confidence"] is None else round(b["mean_confidence"], 3)
        accuracy = None if b["accuracy"] is None else round(b["accuracy"], 3)
        lines.append(
            f"| {b['low']:.1f}-{b['high']:.1f} | {b['count']} | {fmt(mean_confidence)} "
            f"| {fmt(accuracy)} |"
        )
    return lines


def _meets(scores: dict, target: float) -> str:
    p, r = scores.get("precision"), scores.get("recall")
    return "yes" if p is not None and r is not None and p >= target and r >= target else "no"


def golden_sections(results: dict, reliability_png: str | None) -> list[str]:
    answers = results["answers"]
    metrics = answers["answer_metrics"]
    check = answers["calibration_check"]
    refusals = results.get("refusal_check") or {}
    target = refusals.get("target", 0.9)
    lines = [
        "",
        "## Answers an agent can trust (golden set, default configuration)",
        "",
        DEFINITIONS,
        "",
        *answer_tables(metrics),
        "",
        "## Calibration",
        "",
        CORRECT_DEFINITION,
        "",
        f"- ECE (10 bins): **{check['ece']}** over {check['n']} questions; share correct "
        f"{fmt(check['accuracy'])}, mean stated confidence {check['mean_stated_confidence']}.",
        f"- ECE of the confidence shown beside answered questions alone: {check['answered_ece']} "
        f"({check['answered_n']} answered).",
        "",
        *reliability_table(check),
    ]
    if reliability_png:
        lines += ["", f"![reliability]({reliability_png})"]
    if refusals:
        service = answers["refusal"]
        lines += [
            "",
            f"### Refusals: in-sample and held out (target: precision and recall ≥ {target})",
            "",
            f"The refusal threshold is fit on the golden set itself (`fit_calibration`). The "
            f"held-out rows fit it on {refusals['folds'] - 1}/{refusals['folds']} of the "
            f"questions ({refusals['folds']}-fold, seed {refusals['seed']}, stratified by "
            f"{refusals['stratified_by']}) and judge the refusals on the fold left out. The "
            "last row chooses the threshold for the best F1 of refusing on the training folds "
            "instead of 'at most one answerable question in ten refused': whether the same "
            "evidence could reach the target by choosing differently.",
            "",
            "| threshold | precision | recall | refused / must refuse | meets target |",
            "|---|---|---|---|---|",
            f"| shipped calibration (kb ask, kb/confidence.py) | {round(service['precision'], 4)} "
            f"| {round(service['recall'], 4)} | - | {_meets(service, target)} |",
        ]
        for label, key in (
            ("fit on all questions, judged in-sample", "in_sample"),
            ("fit on 4/5, judged on the held-out 1/5", "cross_validated"),
            ("held out, F1-chosen threshold", "cross_validated_f1_threshold"),
        ):
            s = refusals[key]
            lines.append(
                f"| {label} | {fmt(s['precision'])} | {fmt(s['recall'])} "
                f"| {s['predicted']} / {s['actual']} | {_meets(s, target)} |"
            )
        before = refusals.get("before_issue_10")
        if before:
            for label, key in (
                ("before issue 10 (similarity, coverage): in-sample", "in_sample"),
                ("before issue 10 (similarity, coverage): held out", "cross_validated"),
            ):
                s = before[key]
                lines.append(
                    f"| {label} | {fmt(s['precision'])} | {fmt(s['recall'])} "
                    f"| {s['predicted']} / {s['actual']} | {_meets(s, target)} |"
                )
    return lines


RETRIEVAL_KEYS = ("recall@1", "recall@5", "mrr@10", "section@5")
DELTA_KEYS = (
    ("answer correct", "answer_correct"),
    ("in top-3 passages", "answer_in_passages"),
    ("top doc correct", "top_document_correct"),
    ("steps when expected", "steps_shown_when_expected"),
    ("no steps on facts", "no_steps_when_not_expected"),
    ("answerable refused", "answerable_refused"),
)


def _delta(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "n/a"
    return f"{b - a:+.4f}"


def regressions(golden_outcomes: list[dict], agent_outcomes: list[dict]) -> list[dict]:
    """Agent-style questions that went wrong where their golden original went right, with
    what went wrong: the examples that tell the answer logic's owners what to fix."""

    def right(o: dict) -> bool:
        if o["must_refuse"]:
            return o["refused"]
        return not o["refused"] and bool(o["top_document_correct"])

    golden = {o["id"]: o for o in golden_outcomes}
    found = []
    for o in agent_outcomes:
        source = golden.get(o.get("derived_from"))
        if source is None:
            continue
        if right(source) and not right(o):
            if o["must_refuse"]:
                what = "must refuse, answered"
            elif o["refused"]:
                what = "answerable, refused"
            else:
                what = "wrong first document"
        elif right(source) and right(o) and source["answer_correct"] and not o["answer_correct"]:
            what = "facts lost from the headline"
        else:
            continue
        found.append({"what": what, "agent": o, "golden": source})
    return found


def _cell(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def regression_table(golden_outcomes: list[dict], agent_outcomes: list[dict]) -> list[str]:
    found = regressions(golden_outcomes, agent_outcomes)
    if not found:
        return []
    counts = Counter(f["what"] for f in found)
    lines = [
        "",
        "### Where the agent-style version fails and the golden one does not",
        "",
        f"{len(found)} questions: "
        + ", ".join(f"{what} {n}" for what, n in counts.most_common())
        + ". 'searched as' is the question after the conversation and the agent's wrapper "
        "were handled.",
        "",
        "| id | what went wrong | rules | confidence (golden -> agent) | typed | searched as "
        "| first document |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in found:
        o, g = f["agent"], f["golden"]
        lines.append(
            f"| {o['id']} | {f['what']} | {', '.join(o['rewrite'])} "
            f"| {g['confidence']} -> {o['confidence']} | {_cell(o.get('text', ''))} "
            f"| {_cell(o.get('resolved', ''))} | {fmt(o.get('first_document'))} |"
        )
    return lines


def agent_sections(results: dict, reliability_png: str | None) -> list[str]:
    agent = results.get("agent_style")
    if not agent:
        return []
    golden_retrieval = next(r for r in results["configurations"] if r["name"].endswith("(default)"))
    retrieval = agent["retrieval"]
    answers = agent["answers"]
    metrics = answers["answer_metrics"]
    golden_metrics = results["answers"]["answer_metrics"]
    rules = Counter(rule for o in answers["outcomes"] for rule in o["rewrite"])
    lines = [
        "",
        "## Agent-style questions (a separate set)",
        "",
        f"{agent['questions']} golden questions rewritten the way agents type mid-call by "
        "eval/agent_style.py (deterministic rules, fixed seed; `python -m eval.agent_style` "
        "writes eval/data/agent-style.jsonl): "
        + ", ".join(f"{rule} {count}" for rule, count in rules.most_common())
        + ". Same gold as the question each came from; must-refuse questions must still be "
        "refused. Default configuration; delta = agent-style minus golden.",
        "",
        "### Retrieval",
        "",
        "| measure | golden | agent-style | delta |",
        "|---|---|---|---|",
    ]
    for key in RETRIEVAL_KEYS:
        lines.append(
            f"| {key} | {golden_retrieval[key]} | {retrieval[key]} "
            f"| {_delta(golden_retrieval[key], retrieval[key])} |"
        )
    for language, row in retrieval["by_language"].items():
        before = golden_retrieval["by_language"].get(language, {}).get("recall@5")
        lines.append(
            f"| recall@5 ({language}) | {fmt(before)} | {row['recall@5']} "
            f"| {_delta(before, row['recall@5'])} |"
        )
    lines += [
        "",
        "### Answers",
        "",
        *answer_tables(metrics),
        "",
        "| measure | golden | agent-style | delta |",
        "|---|---|---|---|",
    ]
    for label, key in DELTA_KEYS:
        lines.append(
            f"| {label} | {fmt(golden_metrics[key])} | {fmt(metrics[key])} "
            f"| {_delta(golden_metrics[key], metrics[key])} |"
        )
    for label, key in (("conflict", "conflict"), ("refusal", "refusal")):
        for part in ("precision", "recall"):
            a, b = golden_metrics[key][part], metrics[key][part]
            lines.append(f"| {label} {part} | {fmt(a)} | {fmt(b)} | {_delta(a, b)} |")
    check, golden_check = answers["calibration_check"], results["answers"]["calibration_check"]
    lines.append(
        f"| ECE (10 bins) | {golden_check['ece']} | {check['ece']} "
        f"| {_delta(golden_check['ece'], check['ece'])} |"
    )
    fit = agent.get("refusal_golden_fit")
    if fit:
        lines += [
            "",
            f"Refusals with the threshold fit on the golden set (in-sample fit, judged on the "
            f"agent-style questions): precision {fmt(fit['precision'])}, recall "
            f"{fmt(fit['recall'])} ({fit['predicted']} refused, {fit['actual']} must refuse).",
        ]
        before = agent.get("refusal_golden_fit_before_issue_10")
        if before:
            lines.append(
                f"Before issue 10 (similarity and coverage only): precision "
                f"{fmt(before['precision'])}, recall {fmt(before['recall'])} "
                f"({before['predicted']} refused)."
            )
    deltas = agent.get("deltas", {})
    if deltas:
        lines += [
            "",
            "### Which rewrite hurts (paired with each question's golden original)",
            "",
            "Mean change from the golden question to its agent-style version, over the "
            "questions each rule was applied to (a question usually has several rules). "
            "'wrong refusal decision' rises when answerable questions get refused or "
            "must-refuse ones get answered.",
            "",
            "| rule | n | recall@5 | mrr@10 | answer correct | top doc correct "
            "| wrong refusal decision |",
            "|---|---|---|---|---|---|---|",
        ]
        names = ["all", *sorted(deltas.get("refusal_decision_wrong", {}).keys() - {"all"})]
        for rule in names:
            cells = []
            for key in (
                "recall@5",
                "mrr@10",
                "answer_correct",
                "top_document_correct",
                "refusal_decision_wrong",
            ):
                entry = deltas.get(key, {}).get(rule)
                cells.append("n/a" if entry is None else f"{entry['delta']:+.3f}")
            n = deltas.get("refusal_decision_wrong", {}).get(rule, {}).get("n", 0)
            lines.append(f"| {rule} | {n} | " + " | ".join(cells) + " |")
    lines += ["", *reliability_table(check)]
    if reliability_png:
        lines += ["", f"![agent-style reliability]({reliability_png})"]
    lines += regression_table(results["answers"]["outcomes"], answers["outcomes"])
    return lines
