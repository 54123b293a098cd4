"""Are generated exercises worth a trainer's time? Counts and a labelled keep-rate, before and after.

BEFORE is what generation stored until kb.exercises existed: every ordering and fill-in
candidate kb.training.generate finds in the current version of every document (expired
ones included). The generators themselves are unchanged, so BEFORE is recomputed here from
them, not copied from an old commit. AFTER is what `kb.onboarding.generate` stores now
(`kb.onboarding.select`): candidates from the documents in force, then kb.exercises'
selection.

Counts, for both: total, table-row questions (and those whose row label names nothing),
near-duplicates (an exercise asking what an earlier one in the set asks, kb.exercises
.near_duplicate), from documents not in force today, unanswerable by kb.exercises
.unanswerable, orderings of mostly alternative steps.

Keep-rate: eval/data/exercise-labels.jsonl holds 60 exercises drawn with seed 13 from each
set on the samples knowledge base, labelled keep/drop by a person with a reason (the issue's
criteria: a fact that matters on a call, answerable from the question, not a near-duplicate,
not from an expired document). The report gives keep/labelled per set, and how many labelled
AFTER exercises the generator still produces (labels go stale when the selection changes).

`KB_DATA_DIR=/tmp/kbex python -m eval.exercises` writes eval/reports/exercises.md.
`--sample after` prints a fresh unlabelled sample to label.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb import onboarding
from kb.access import OPERATOR
from kb.config import Settings
from kb.exercises import (
    ambiguous_order,
    duplicate_keys,
    is_table_template,
    near_duplicate,
    not_a_procedure,
    unanswerable,
)
from kb.retrieve import document_status
from kb.services import Services, build_services
from kb.training import generate as generators
from kb.training.types import Exercise, FillPayload, OrderPayload
from kb.types import Chunk, DocumentStatus

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "eval" / "data" / "exercise-labels.jsonl"
REPORT = ROOT / "eval" / "reports" / "exercises.md"
SEED = 13
SAMPLE = 60


@dataclass(frozen=True)
class Counts:
    total: int
    orders: int
    fills: int
    table_rows: int
    subjectless_rows: int
    near_duplicates: int
    not_in_force: int
    unanswerable: int
    ambiguous_orders: int
    not_procedures: int


def count(exercises: Sequence[Exercise], today: dt.date, status: dict[str, str]) -> Counts:
    """The counts of one set. A near-duplicate is counted once per exercise that asks what
    an earlier one (in id order) asks; exercises are compared within the same answer."""
    ordered = sorted(exercises, key=lambda e: e.id)
    seen_keys: set[tuple[object, ...]] = set()
    by_answer: dict[str, list[Exercise]] = {}
    duplicates = 0
    for exercise in ordered:
        keys = set(duplicate_keys(exercise))
        payload = exercise.payload
        bucket = payload.answer.casefold() if isinstance(payload, FillPayload) else exercise.id
        earlier = by_answer.setdefault(bucket, [])
        if keys & seen_keys or any(near_duplicate(e, exercise) for e in earlier):
            duplicates += 1
        seen_keys |= keys
        earlier.append(exercise)
    return Counts(
        total=len(exercises),
        orders=sum(isinstance(e.payload, OrderPayload) for e in exercises),
        fills=sum(isinstance(e.payload, FillPayload) for e in exercises),
        table_rows=sum(is_table_template(e) for e in exercises),
        subjectless_rows=sum(
            is_table_template(e) and unanswerable(e) is not None for e in exercises
        ),
        near_duplicates=duplicates,
        not_in_force=sum(status.get(e.document_id) != DocumentStatus.CURRENT for e in exercises),
        unanswerable=sum(unanswerable(e) is not None for e in exercises),
        ambiguous_orders=sum(ambiguous_order(e) for e in exercises),
        not_procedures=sum(not_a_procedure(e) for e in exercises),
    )


def before_set(services: Services) -> list[Exercise]:
    """Every candidate the generators find in each document's current version."""
    chunks: list[Chunk] = []
    for document in services.documents(reader=OPERATOR):
        if document.current_version is not None:
            chunks += services.document_chunks(
                document.document_id, document.current_version, reader=OPERATOR
            )
    return [*generators.ordering_exercises(chunks), *generators.fill_in_exercises(chunks)]


def statuses(services: Services, today: dt.date) -> dict[str, str]:
    """Document id -> its status today (of the version the chunks carry)."""
    found: dict[str, str] = {}
    for document in services.documents(reader=OPERATOR):
        if document.current_version is None:
            continue
        chunks = services.document_chunks(
            document.document_id, document.current_version, reader=OPERATOR
        )
        if chunks:
            found[document.document_id] = document_status(chunks[0].document, today)
    return found


def sample(exercises: Sequence[Exercise], size: int = SAMPLE, seed: int = SEED) -> list[Exercise]:
    """The labelling sample: `size` drawn with `seed` from the set sorted by id."""
    ordered = sorted(exercises, key=lambda e: e.id)
    return random.Random(seed).sample(ordered, min(size, len(ordered)))


def as_label_row(exercise: Exercise, origin: str, drawn_from: int, seed: int) -> dict[str, Any]:
    payload = exercise.payload
    answer: Any = payload.answer if isinstance(payload, FillPayload) else list(payload.steps)
    return {
        "origin": origin, "seed": seed, "drawn_from": drawn_from, "id": exercise.id,
        "kind": exercise.kind, "document_id": exercise.document_id, "topic": exercise.topic,
        "prompt": exercise.prompt, "answer": answer, "label": None, "reason": None,
    }  # fmt: skip


def read_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass(frozen=True)
class Labelled:
    """One labelled sample (an origin and the seed it was drawn with) and what it says."""

    origin: str
    seed: int
    kept: int
    labelled: int
    by_kind: dict[str, tuple[int, int]]
    still_generated: int  # labelled exercises the current code still produces

    @property
    def rate(self) -> str:
        return f"{_pct(self.kept, self.labelled)} ({self.kept}/{self.labelled})"


def keep_rate(rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(kept, labelled) of labelled rows."""
    mine = [r for r in rows if r.get("label") in ("keep", "drop")]
    return sum(r["label"] == "keep" for r in mine), len(mine)


def labelled_samples(
    labels: Sequence[dict[str, Any]], generated: dict[str, set[str]]
) -> list[Labelled]:
    """Each (origin, seed) sample in the order first labelled, with its keep-rate, by kind,
    and how many of its exercises `generated[origin]` (the ids produced now) still holds."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in labels:
        groups.setdefault((row["origin"], row["seed"]), []).append(row)
    found = []
    for (origin, seed), rows in groups.items():
        kept, labelled = keep_rate(rows)
        by_kind = {
            kind: keep_rate([r for r in rows if r["kind"] == kind]) for kind in ("fill", "order")
        }
        still = sum(r["id"] in generated.get(origin, set()) for r in rows)
        found.append(Labelled(origin, seed, kept, labelled, by_kind, still))
    return found


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def render(
    before: Counts,
    after: Counts,
    dropped: dict[str, int],
    labels: Sequence[dict[str, Any]],
    generated: dict[str, set[str]],
    data_dir: Path,
    today: dt.date,
) -> str:
    samples = labelled_samples(labels, generated)
    first_before = next((x for x in samples if x.origin == "before"), None)
    current = [x for x in samples if x.origin == "after" and x.still_generated == x.labelled]
    latest_after = (
        current[-1]
        if current
        else next((x for x in reversed(samples) if x.origin == "after"), None)
    )
    rows = [
        ("exercises", before.total, after.total),
        ("ordering / fill-in", f"{before.orders} / {before.fills}", f"{after.orders} / {after.fills}"),
        ("table-row questions", before.table_rows, after.table_rows),
        ("… whose row label names nothing (“For 30 days, …”)", before.subjectless_rows, after.subjectless_rows),
        ("near-duplicates (another value of the same sentence, same column and answer, near-identical)", before.near_duplicates, after.near_duplicates),
        ("from documents not in force today (expired, superseded, not yet in force)", before.not_in_force, after.not_in_force),
        ("unanswerable from the question alone (kb.exercises.unanswerable)", before.unanswerable, after.unanswerable),
        ("orderings made mostly of alternative steps", before.ambiguous_orders, after.ambiguous_orders),
        ("orderings of a list that is not a procedure", before.not_procedures, after.not_procedures),
        ("**labelled keep-rate** (60 drawn at random, labelled by a person)",
         f"**{first_before.rate if first_before else '—'}**",
         f"**{latest_after.rate if latest_after else '—'}**"),
    ]  # fmt: skip
    lines = [
        "# Generated exercises: what a trainer would keep",
        "",
        f"Knowledge base: `{data_dir}` (the samples), {today.isoformat()}; "
        "`python -m eval.exercises` (eval/exercises.py says how each number is made).",
        "",
        "BEFORE: every candidate kb.training.generate finds in each document's current "
        "version (what generation stored before kb.exercises). AFTER: what "
        "`kb.onboarding.generate` stores now (documents in force, then kb.exercises: "
        "answerable, ranked, near-duplicates collapsed, best 2 per section and 6 per "
        "document, 3 orderings per document). Call drills are made by trainers and not "
        "counted.",
        "",
        "| | before | after |",
        "|---|---:|---:|",
        *[f"| {name} | {b} | {a} |" for name, b, a in rows],
        "",
        "The near-duplicate, unanswerable and ordering counts after are 0 by construction "
        "(the selection applies the same rules); the labelled samples are the independent "
        "check.",
        "",
        "## Why AFTER left candidates out",
        "",
        "| reason | candidates |",
        "|---|---:|",
        *[f"| {reason} | {n} |" for reason, n in dropped.items()],
        "",
        "## The labelled samples",
        "",
        "`eval/data/exercise-labels.jsonl`: 60 exercises per sample, drawn with a fixed seed "
        "from the set sorted by id, each labelled keep/drop with a one-line reason. Criteria "
        "(issue 13): a fact that matters on a call (amount, limit, deadline, safety rule, "
        "steps), answerable from the question alone, not a near-duplicate of another "
        "exercise, not from an expired or superseded document; an ordering only when its "
        "order is a fact to learn. The BEFORE sample was labelled before kb.exercises was "
        "written. A sample whose exercises are no longer all generated is stale: it shows what "
        "an earlier selection gave, and the headline uses the newest sample that is current.",
        "",
        "| sample | keep-rate | fill-in | ordering | still generated now |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {x.origin}, seed {x.seed} | {x.rate} | {_pct(*x.by_kind['fill'])} "
            f"({x.by_kind['fill'][0]}/{x.by_kind['fill'][1]}) | {_pct(*x.by_kind['order'])} "
            f"({x.by_kind['order'][0]}/{x.by_kind['order'][1]}) | {x.still_generated}/{x.labelled} |"
            for x in samples
        ],
        "",
        "Every *drop* and its reason:",
        "",
        *[
            f"- {r['origin']} (seed {r['seed']}): `{r['id']}`: {r['reason']}"
            for r in labels
            if r.get("label") == "drop"
        ],
        "",
        "Limits: one labeller (the engineer who wrote the selection, so the AFTER labels are "
        "not blind); 60 per sample gives a 95 % interval of roughly ±10 points on a rate "
        "near 85 %, ±12 near 67 %.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", choices=("before", "after"), help="print a sample to label")
    parser.add_argument("--seed", type=int, default=SEED, help="the sample's seed")
    args = parser.parse_args(argv)
    settings = Settings()
    services = build_services(settings)
    today = dt.date.today()
    before = before_set(services)
    _, selection = onboarding.select(services)
    after = list(selection.kept)
    if args.sample:
        chosen = before if args.sample == "before" else after
        for exercise in sample(chosen, seed=args.seed):
            row = as_label_row(exercise, args.sample, len(chosen), args.seed)
            print(json.dumps(row, ensure_ascii=False))
        return 0
    status = statuses(services, today)
    report = render(
        count(before, today, status),
        count(after, today, status),
        selection.counts(),
        read_labels(),
        {"before": {e.id for e in before}, "after": {e.id for e in after}},
        settings.data_dir,
        today,
    )
    REPORT.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
