"""What the audit trail costs an answered question as the trail grows, on both stores.

    .venv/bin/python -m eval.audit_bench [--sizes 1000 100000 1000000]

Every answered question appends two events (the question, the answer shown) to the
hash-chained, sealed trail (kb.audit), under the trail's one lock. A contact centre's trail
reaches millions of events within months, so what an append costs must not grow with it.
At each size, a trail of that many events is built in one transaction (chained and sealed
as `record` would leave it), then 300 answered questions are appended (`record_many`, one
transaction each) and timed. In the same run, `SELECT count(*) FROM audit` is timed at that
size: before this bench, every append recounted the trail for its seal, twice per question,
so that is what each question cost on top of the rest.

Both stores when KB_DATABASE_URL is set (a namespace of this run's own, dropped at the
end), else the local one. Writes eval/reports/audit-append.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.audit import AuditLog, _row_hash
from kb.config import Settings

REPORTS = Path(__file__).parent / "reports"
QUESTIONS = 300


@dataclass(frozen=True)
class Point:
    store: str
    events: int
    per_question_ms: float  # the two events of an answered question, one transaction
    p95_ms: float
    count_ms: float  # one recount of the trail at this size (median of 5)
    seal_check_ms: float = 0.0  # seal_problems(): the Admin page's check on every visit
    verify_s: float = 0.0  # problems(): every event read and hashed (kb audit --verify)


def build(log: AuditLog, events: int, batch: int = 20_000) -> None:
    """`events` sign-ins, chained and sealed as `record` leaves them, written in batches."""
    row = log.db.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    previous = row[0] if row else ""
    at, body = "2026-01-01T00:00:00.000+00:00", "{}"
    written = int(log.db.execute("SELECT count(*) FROM audit").fetchone()[0])
    while written < events:
        rows = []
        for _ in range(min(batch, events - written)):
            digest = _row_hash(previous, at, "bench", "sign_in", body)
            rows.append((at, "bench", "sign_in", body, previous, digest))
            previous = digest
        log.db.execute("BEGIN IMMEDIATE")
        log.db.executemany(
            'INSERT INTO audit(at, "user", action, details, previous_hash, hash) '
            "VALUES (?,?,?,?,?,?)",
            rows,
        )
        log._seal()
        log.db.execute("COMMIT")
        written += len(rows)


def _median_ms(timings: list[float]) -> float:
    return round(1000 * statistics.median(timings), 3)


def measure(log: AuditLog, store: str, events: int) -> Point:
    timings = []
    for n in range(QUESTIONS):
        asked = [
            ("question", {"question": f"how do I block a lost card? ({n})"}),
            ("answer_shown", {"status": "answered", "passages": ["c1", "c2"]}),
        ]
        started = time.perf_counter()
        if hasattr(log, "record_many"):
            log.record_many("bench", asked)
        else:  # a kb from before record_many (a worktree of an older commit, for before/after)
            for action, details in asked:
                log.record("bench", action, **details)
        timings.append(time.perf_counter() - started)
    counts = []
    for _ in range(5):
        started = time.perf_counter()
        log.db.execute("SELECT count(*) FROM audit").fetchone()
        counts.append(time.perf_counter() - started)
    checks = []
    for _ in range(5 if hasattr(log, "seal_problems") else 0):  # not in an older kb
        started = time.perf_counter()
        log.seal_problems()
        checks.append(time.perf_counter() - started)
    started = time.perf_counter()
    log.problems()
    verify_s = round(time.perf_counter() - started, 2)
    ordered = sorted(timings)
    return Point(
        store=store,
        events=events,
        per_question_ms=_median_ms(timings),
        p95_ms=round(1000 * ordered[int(0.95 * len(ordered))], 3),
        count_ms=_median_ms(counts),
        seal_check_ms=_median_ms(checks) if checks else 0.0,
        verify_s=verify_s,
    )


def open_log(store: str, folder: Path, url: str | None) -> tuple[AuditLog, Settings]:
    if store == "local":
        settings = Settings(data_dir=folder / "kb", store="local")
    else:
        settings = Settings(
            data_dir=folder / "kb",
            store="postgres",
            database_url=url,
            database_schema=f"auditbench{os.getpid()}",
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return AuditLog(settings.audit_path, settings.audit_key_path), settings


def run(sizes: list[int], url: str | None) -> list[Point]:
    points = []
    for store in ("local", "postgres") if url else ("local",):
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as folder:
            log, settings = open_log(store, Path(folder), url)
            try:
                for size in sorted(sizes):
                    build(log, size)
                    point = measure(log, store, size)
                    assert log.verify() is None, "the bench left a broken trail"
                    print(point, file=sys.stderr, flush=True)
                    points.append(point)
            finally:
                log.close()
                if store == "postgres":
                    from kb.postgres import drop_namespace

                    assert url
                    drop_namespace(url, settings.database_schema)
    return points


def write_report(points: list[Point], command: str, reports: Path = REPORTS) -> Path:
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "audit-append.json").write_text(
        json.dumps([asdict(p) for p in points], indent=2) + "\n"
    )
    lines = [
        "# The audit trail's cost per answered question, as the trail grows",
        "",
        f"Command: `{command}`. Machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}. {QUESTIONS} answered questions (two events "
        "each, one transaction) appended to a trail of each size; the trail verifies after.",
        "",
        "| store | events in the trail | ms per question (median) | p95 | one recount of the "
        "trail, ms | what a question cost before (+ 2 recounts) | seal check, ms | "
        "whole trail verified, s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p.store} | {p.events:,} | {p.per_question_ms} | {p.p95_ms} | {p.count_ms} | "
            f"~{p.per_question_ms + 2 * p.count_ms:.2f} | {p.seal_check_ms} | {p.verify_s} |"
        )
    lines += [
        "",
        "Before, each of the question's two events was its own transaction and recounted "
        "the whole trail for the seal (`SELECT count(*) FROM audit`): a cost that grows with "
        "every question ever asked, paid under the trail's lock, so it also queued every "
        "other replica's writes. Now the seal's count is carried forward (the old seal's "
        "count plus the events appended, when the old seal names the head they follow; "
        "otherwise the seal is left for a person to look into) and both events share one "
        "transaction. The sixth column adds the two recounts to today's cost: the old code also had a second "
        "transaction's round trips, so it cost somewhat more than that.",
        "",
        "The Admin page checks the seal on every visit (`seal_problems`: the seal's MAC "
        "against the trail's last event, a few indexed reads) and reads the whole trail "
        "only when the administrator asks (`problems`, with a progress bar; also `kb audit "
        "--verify`): that takes the seconds in the last column, which every click on the "
        "page used to wait for.",
        "",
    ]
    path = reports / "audit-append.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--report-dir", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    url = os.environ.get("KB_DATABASE_URL") or None
    points = run(args.sizes, url)
    command = "python -m eval.audit_bench" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    print(write_report(points, command, args.report_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
