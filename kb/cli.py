"""`kb`: the command line for the knowledge team and for operators.

Errors a person can act on (KBError) are printed as one line and exit with status 1; the
settings are built once here from the environment (KB_*) and passed down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from kb.access import OPERATOR
from kb.config import Settings
from kb.errors import InvalidTextError, KBError
from kb.text import printable, require_text, text_lines
from kb.types import Category, DocumentOptions, FileStatus, IngestReport, Query, Turn

logger = logging.getLogger(__name__)
_STATUS_MARK = {
    FileStatus.ADDED: "added    ",
    FileStatus.UPDATED: "updated  ",
    FileStatus.UNCHANGED: "unchanged",
    FileStatus.FAILED: "FAILED   ",
}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def _groups(value: str) -> tuple[str, ...]:
    groups = tuple(g.strip() for g in value.split(",") if g.strip())
    if not groups:
        raise argparse.ArgumentTypeError("give at least one group, e.g. --groups fraud-team")
    return groups


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description="AnswerDesk knowledge base")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="add or update documents from files and folders")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--category", choices=[c.value for c in Category])
    ingest.add_argument("--effective-date", type=_date)
    ingest.add_argument("--expiry-date", type=_date)
    ingest.add_argument("--groups", type=_groups, help="comma-separated access groups")
    ingest.add_argument("--owner", help="who in the knowledge team answers for the document")
    ingest.add_argument("--review-by", type=_date, help="date the document must be reviewed by")
    ingest.add_argument(
        "--replaces",
        metavar="DOCUMENT_ID",
        help="ingest the one file given as a new version of this document",
    )
    ingest.add_argument(
        "--manifest",
        type=Path,
        help="CSV of per-file category/dates/groups/id for every file of this ingest (default: "
        "the nearest kb-manifest.csv above each file)",
    )
    ingest.add_argument("--no-progress", action="store_true")

    docs = commands.add_parser("docs", help="list, show, delete or purge documents")
    docs_commands = docs.add_subparsers(dest="docs_command", required=True)
    listing = docs_commands.add_parser("list")
    listing.add_argument("--all", action="store_true", help="include deleted documents")
    show = docs_commands.add_parser("show")
    show.add_argument("document_id")
    show.add_argument("--chunks", action="store_true", help="print every chunk's text")
    delete = docs_commands.add_parser("delete", help="take a document out of search")
    delete.add_argument("document_id")
    purge = docs_commands.add_parser(
        "purge",
        help="erase a document for good: every version's text, search terms, vectors and "
        "original files (audited, without the content)",
    )
    purge.add_argument("document_id")
    drafts = docs_commands.add_parser(
        "drafts", help="versions awaiting review (four-eyes publishing; --all: decided ones too)"
    )
    drafts.add_argument("--all", action="store_true", help="approved, rejected, withdrawn too")
    for name, verb in (("approve", "publish"), ("reject", "reject")):
        decide = docs_commands.add_parser(
            name, help=f"{verb} a draft as a second person (knowledge or admin, not its uploader)"
        )
        decide.add_argument("document_id")
        decide.add_argument("--version", type=int, required=True, help="the draft's version")
        decide.add_argument(
            "--comment", default="", required=name == "reject", help="what the reviewer says"
        )
        decide.add_argument("--as", dest="reviewer", required=True, help="the reviewer's account")
    diff = docs_commands.add_parser(
        "diff", help="passages added, removed and changed between two versions"
    )
    diff.add_argument("document_id")
    diff.add_argument("old", type=int, help="the earlier version")
    diff.add_argument("new", type=int, help="the later version (e.g. the draft)")

    bench = commands.add_parser(
        "bench", help="measure ingestion speed on a folder (default samples/)"
    )
    bench.add_argument("folder", nargs="?", type=Path, default=Path("samples"))
    bench.add_argument("--manifest", type=Path)
    bench.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    bench.add_argument(
        "--scale",
        action="store_true",
        help="query speed at 1,000, 10,000 and 100,000 chunks (grows a temporary base), on "
        "both stores when KB_DATABASE_URL is set",
    )
    bench.add_argument(
        "--store",
        choices=("local", "postgres"),
        help="with --scale: measure one store only (postgres needs KB_DATABASE_URL)",
    )

    evaluate = commands.add_parser("eval", help="golden-set evaluation of retrieval and answers")
    evaluate.add_argument("--samples", type=Path, default=Path("samples"))
    evaluate.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    evaluate.add_argument(
        "--quick",
        action="store_true",
        help="the default configuration only (one knowledge base, no baseline): for iterating",
    )
    evaluate.add_argument(
        "--agent-style",
        type=Path,
        default=Path("eval/data/agent-style.jsonl"),
        help="agent-style rewrites of the golden set, reported separately ('' to skip)",
    )
    evaluate.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the report and charts from --report-dir/eval.json without re-running",
    )
    eval_commands = evaluate.add_subparsers(dest="eval_command")
    beir = eval_commands.add_parser("beir", help="retrieval metrics on a BEIR-layout dataset")
    beir.add_argument("dataset", type=Path)
    beir.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    gaps = eval_commands.add_parser(
        "gaps", help="knowledge-gap topics against real customer intents (BANKING77)"
    )
    gaps.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    public = eval_commands.add_parser(
        "public", help="public datasets: AnswerDesk against two plain baselines"
    )
    public.add_argument(
        "--dataset", action="append", help="a dataset folder under --data-dir (default: all)"
    )
    public.add_argument("--data-dir", type=Path, default=Path("eval/data/public"))
    public.add_argument("--report-dir", type=Path, default=Path("eval/reports"))
    public.add_argument("--no-progress", action="store_true")
    for name, what in (
        ("live", "live call assist turn by turn against a latest-turn baseline (eval.live)"),
        ("load", "API load: per-turn latency and 50 simultaneous calls (eval.load)"),
        ("escalation", "escalation rules against a keyword baseline (eval.escalation)"),
    ):
        eval_commands.add_parser(name, help=what + "; its options: kb eval " + name + " -h")

    ask = commands.add_parser("ask", help="answer a question from the knowledge base")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--history", type=Path, help="JSON file: list of {role, text} turns")
    ask.add_argument("--as-user", help="answer within this user's access groups")
    ask.add_argument("--as-of", type=_date, help="documents in force on this date (default today)")
    ask.add_argument("--category", choices=[c.value for c in Category])
    ask.add_argument(
        "--include-inactive", action="store_true", help="also expired/future documents"
    )
    ask.add_argument("--json", action="store_true", help="print the answer as a JSON record")
    ask.add_argument(
        "--batch", type=Path, help="JSONL of {question, history?}; one JSON answer per line"
    )
    ask.add_argument(
        "--output", type=Path, help="with --batch: write answers here (default stdout)"
    )

    insights = commands.add_parser(
        "insights", help="knowledge gaps, document health and trends from agents' questions"
    )
    insights.add_argument("--days", type=int, default=30, help="the last N days (default 30)")
    insights.add_argument("--csv", type=Path, help="write the knowledge gaps here as CSV")

    users = commands.add_parser("users", help="people and their access groups")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add_user = users_commands.add_parser("add")
    add_user.add_argument("name")
    add_user.add_argument("--role", default="agent")
    add_user.add_argument("--groups", type=_groups, default=())
    add_user.add_argument("--password")
    users_commands.add_parser("list")
    users_commands.add_parser(
        "demo", help="demo accounts, one per role, random passwords (needs KB_DEMO_USERS=true)"
    )
    disable = users_commands.add_parser("disable")
    disable.add_argument("name")
    enable = users_commands.add_parser("enable")
    enable.add_argument("name")
    unlock = users_commands.add_parser("unlock", help="forget failed sign-ins (end a lock-out)")
    unlock.add_argument("name")
    password = users_commands.add_parser("set-password")
    password.add_argument("name")
    password.add_argument("--password", help="default: asked for, not echoed")

    audit = commands.add_parser("audit", help="the audit trail: list, export, verify")
    audit.add_argument("--user")
    audit.add_argument("--action")
    audit.add_argument("--since", type=_date)
    audit.add_argument("--until", type=_date)
    audit.add_argument("--csv", type=Path, help="write the events to this CSV file")
    audit.add_argument(
        "--verify", action="store_true", help="check the hash chain and the sealed head"
    )
    audit.add_argument(
        "--against",
        type=Path,
        action="append",
        default=[],
        metavar="CHECKPOINT",
        help="with --verify: also check the trail still holds this checkpoint's head",
    )
    audit.add_argument(
        "--checkpoint",
        type=Path,
        metavar="FILE",
        help="write a signed checkpoint of the trail's head to FILE (keep it elsewhere)",
    )
    audit.add_argument(
        "--reseal",
        metavar="REASON",
        help="after investigating what --verify reported: record why, and seal the trail as is",
    )

    serve = commands.add_parser(
        "serve", help="the HTTP API for the contact centre (OpenAPI at /docs)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    tokens = commands.add_parser("tokens", help="integration accounts and their API tokens")
    tokens_commands = tokens.add_subparsers(dest="tokens_command", required=True)
    create_token = tokens_commands.add_parser("create", help="prints the token once")
    create_token.add_argument("name")
    create_token.add_argument("--role", required=True, help="assist, chatbot or rpa")
    create_token.add_argument("--groups", type=_groups, default=())
    create_token.add_argument(
        "--rate", type=int, default=120, help="requests per minute (default 120)"
    )
    tokens_commands.add_parser("list")
    revoke_token = tokens_commands.add_parser("revoke")
    revoke_token.add_argument("name")

    call = commands.add_parser("call", help="live calls through the HTTP API")
    call_commands = call.add_subparsers(dest="call_command", required=True)
    simulate = call_commands.add_parser(
        "simulate", help="replay a recorded call (JSONL) through the API and print the assist"
    )
    simulate.add_argument("file", type=Path)
    simulate.add_argument("--speed", type=float, default=1.0, help="2: twice as fast")
    simulate.add_argument("--url", default="http://127.0.0.1:8000")
    simulate.add_argument("--token", required=True, help="from `kb tokens create`")
    simulate.add_argument("--acting-for", help="the agent the call is for")
    simulate.add_argument(
        "--keep-open", action="store_true", help="leave the call open (the agent ends it)"
    )

    escalation = commands.add_parser(
        "escalation", help="the escalation rules: list, show, history, disable, save, check"
    )
    escalation_commands = escalation.add_subparsers(dest="escalation_command", required=True)
    escalation_commands.add_parser("list", help="every rule at its current version")
    show_rule = escalation_commands.add_parser("show", help="one rule as JSON")
    show_rule.add_argument("rule_id")
    rule_history = escalation_commands.add_parser("history", help="every version of a rule")
    rule_history.add_argument("rule_id")
    disable_rule = escalation_commands.add_parser("disable", help="switch a rule off")
    disable_rule.add_argument("rule_id")
    disable_rule.add_argument("--as", dest="author", required=True, help="knowledge team user")
    save_rule = escalation_commands.add_parser(
        "save", help="save a rule (or a list of rules) from JSON as new versions"
    )
    save_rule.add_argument("file", type=Path)
    save_rule.add_argument("--as", dest="author", required=True, help="knowledge team user")
    check = escalation_commands.add_parser(
        "check",
        help="the alerts the current rules raise on a transcript (JSONL, as recorded calls)",
    )
    check.add_argument("transcript", type=Path)
    check.add_argument(
        "--no-meaning",
        action="store_true",
        help="phrases, patterns and signals only (no embedding model: quick, fewer alerts)",
    )

    search = commands.add_parser("search", help="nearest passages to a query (dense only)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)

    migrate = commands.add_parser(
        "migrate",
        help="copy the local knowledge base (KB_DATA_DIR) into an empty PostgreSQL one "
        "(KB_DATABASE_URL, KB_DATABASE_SCHEMA) without re-embedding",
    )
    migrate.add_argument("--to", choices=["postgres"], required=True)
    migrate.add_argument("--no-progress", action="store_true")
    return parser


def print_report(report: IngestReport) -> None:
    for file in report.files:
        if file.status == FileStatus.FAILED:
            detail = file.reason or "failed"
        else:
            detail = (
                f"{file.document_id}"
                + (f" v{file.version}" if file.version else "")
                + (f", {file.chunks} chunks" if file.chunks else "")
                + (f" ({file.reused} with stored vectors)" if file.reused else "")
                + (f" ({file.reason})" if file.reason else "")
            )
        print(f"{_STATUS_MARK[file.status]}  {file.source_name}: {detail}")
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in FileStatus)
    print(
        f"{len(report.files)} files in {report.seconds:.1f}s: {counts}; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_reused} reused"
    )


def _ingest(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    from ingest.pipeline import collect_files

    options = DocumentOptions(
        category=Category(args.category) if args.category else None,
        effective_date=args.effective_date,
        expiry_date=args.expiry_date,
        groups=args.groups,
        owner=args.owner,
        review_by=args.review_by,
        replaces=args.replaces,
    )
    uploads = collect_files(args.paths, args.manifest)
    if args.replaces and len(uploads) != 1:
        print(f"error: --replaces takes exactly one file, got {len(uploads)}", file=sys.stderr)
        return 2
    with tqdm(total=len(uploads), unit="file", disable=args.no_progress, file=sys.stderr) as bar:

        def progress(done: int, total: int, name: str) -> None:
            bar.set_postfix_str(name[:40])
            bar.update(done - bar.n)

        report = services.ingest(uploads, options, progress, user="cli")
    print_report(report)
    return 1 if report.files and report.count(FileStatus.FAILED) == len(report.files) else 0


def _docs(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if args.docs_command == "list":
        documents = services.documents(include_deleted=args.all, reader=OPERATOR)
        for d in documents:
            version = f"v{d.current_version}" if d.current_version else "deleted"
            groups = ",".join(d.groups)
            effective = d.effective_date.isoformat() if d.effective_date else "-"
            if d.scheduled_version is not None:  # versions carry their own dates
                effective += f" (v{d.scheduled_version} scheduled from {d.scheduled_from})"
            if d.draft_version is not None:  # four-eyes publishing (kb docs drafts)
                effective += f" (v{d.draft_version} draft awaiting review)"
            print(
                f"{d.document_id:42} {version:8} {d.category.value:13} {d.language:5} "
                f"{d.chunk_count:4} chunks  eff {effective}  [{groups}]  {d.title}"
            )
        print(f"{len(documents)} documents")
    elif args.docs_command == "show":
        d = services.document(args.document_id, reader=OPERATOR)
        print(
            f"{d.title}\n  id: {d.document_id}\n  file: {d.source_name} ({d.format}, {d.language})"
        )
        print(
            f"  category: {d.category.value}\n  owner: {d.owner or '-'}\n  groups: {', '.join(d.groups)}"
        )
        print(
            f"  effective: {d.effective_date or '-'}  expiry: {d.expiry_date or '-'}  "
            f"review by: {d.review_by or '-'}"
        )
        print("  versions:")
        today = dt.date.today()
        for v in d.versions:
            state = v.status
            if v.status == "current" and v.effective_date and v.effective_date > today:
                state = f"scheduled from {v.effective_date}"
            elif v.status == "current" and v.replaced_on:
                state = f"current until {v.replaced_on - dt.timedelta(days=1)}"
            print(
                f"    v{v.version} {state:10} {v.ingested_at}  {v.chunk_count} chunks  "
                f"{v.page_count or '-'} pages  {v.byte_size} bytes  sha256 {v.content_hash[:12]}"
            )
        if d.current_version:
            print("  chunks:")
            for chunk in services.document_chunks(
                d.document_id, d.current_version, reader=OPERATOR
            ):
                pages = ",".join(map(str, chunk.pages)) or "-"
                print(f"    {chunk.chunk_id:40} {chunk.kind.value:9} p.{pages:6} {chunk.section}")
                if args.chunks:
                    print("      " + chunk.text.replace("\n", "\n      "))
    elif args.docs_command in ("drafts", "approve", "reject", "diff"):
        return _review(services, args)
    elif args.docs_command == "purge":
        report = services.purge(args.document_id, user="cli", reader=OPERATOR)
        versions = ", ".join(f"v{v}" for v in report.versions) or "none"
        print(
            f"purged {args.document_id} ({versions}): {report.chunks} chunk texts, "
            f"{report.terms} search-term rows, {report.vectors} vectors and "
            f"{report.originals} original files erased"
        )
        if not report.scrubbed:
            print(
                "note: a reader kept the registry's log open, so erased pages stay on disk "
                "until its next checkpoint",
                file=sys.stderr,
            )
    else:
        removed = services.delete(args.document_id, user="cli", reader=OPERATOR)
        print(f"deleted {args.document_id}: {removed} chunks removed from search")
    return 0


def _review(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Four-eyes publishing from the command line: list drafts, decide, compare versions."""
    from kb.diff import Change, Mark
    from kb.publishing import ReviewState

    command = args.docs_command
    if command == "drafts":
        states = list(ReviewState) if args.all else [ReviewState.DRAFT]
        drafts = services.drafts(states, reader=OPERATOR)
        for d in drafts:
            live = ""
            if d.state == ReviewState.DRAFT:
                live = f"replaces v{d.live_version}" if d.live_version else "new document"
            decided = f" by {d.reviewer}: {d.comment}" if d.reviewer else ""
            print(
                f"{d.document_id:42} v{d.version:<3} {d.state.value:9} {live:14} "
                f"submitted by {d.submitted_by} {d.submitted_at}{decided}  {d.title}"
            )
        print(f"{len(drafts)} drafts")
    elif command in ("approve", "reject"):
        decide = services.approve_draft if command == "approve" else services.reject_draft
        decision = decide(args.document_id, args.version, args.reviewer, args.comment)
        note = ""
        if decision.scheduled_from:
            note = f"; scheduled from {decision.scheduled_from}"
        elif decision.retired_version:
            note = f"; v{decision.retired_version} retired"
        print(f"{decision.state.value} {decision.document_id} v{decision.version}{note}")
    else:
        diff = services.version_diff(args.document_id, args.old, args.new, reader=OPERATOR)
        signs = {Mark.SAME: ("", ""), Mark.REMOVED: ("[-", "-]"), Mark.ADDED: ("{+", "+}")}
        for passage in diff.changes:
            print(f"{passage.change.value.upper():9} {passage.section or '-'}")
            # A changed passage as one text, the words removed and added marked in place.
            changed = passage.change == Change.CHANGED
            spans = _word_diff(passage.old, passage.new) if changed else passage.old + passage.new
            text = "".join(f"{signs[s.mark][0]}{s.text}{signs[s.mark][1]}" for s in spans)
            print("    " + text.replace("\n", "\n    "))
        counts = ", ".join(f"{diff.count(c)} {c.value}" for c in Change)
        print(f"v{diff.old_version} -> v{diff.new_version}: {counts}")
    return 0


def _word_diff(old, new):  # type: ignore[no-untyped-def]
    """A changed passage as one run of spans (git's --word-diff): the same text once, what
    was removed before what was added."""
    from kb.diff import Mark

    out, i, j = [], 0, 0
    while i < len(old) or j < len(new):
        if i < len(old) and old[i].mark == Mark.REMOVED:
            out.append(old[i])
            i += 1
        elif j < len(new) and new[j].mark == Mark.ADDED:
            out.append(new[j])
            j += 1
        else:  # both at a SAME span: the same text on both sides
            if j < len(new):
                out.append(new[j])
            i, j = i + 1, j + 1
    return out


def _search(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    for chunk, score in services.search(args.query, args.k, reader=OPERATOR):
        pages = ",".join(map(str, chunk.pages)) or "-"
        print(
            f"{score:.3f}  {chunk.document.title} > {chunk.section} (p. {pages}, v{chunk.document.version})"
        )
        print("       " + chunk.text[:200].replace("\n", " "))
    return 0


def _turns(raw: object, where: str) -> tuple[Turn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, dict) and "text" in t for t in raw):
        raise KBError(f"{where}: history must be a list of {{role, text}} objects")
    return tuple(
        Turn(str(t.get("role", "user")), require_text(str(t["text"]), "history text")) for t in raw
    )


def _batch_line(line: str, where: str) -> tuple[object, str, tuple[Turn, ...]]:
    """A --batch line's id, question and history, or a KBError saying what is wrong."""
    try:
        item = json.loads(line)
        question = str(item["question"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise KBError(f"{where}: expected {{question, history?}} ({e})") from e
    identity = item.get("id")
    if isinstance(identity, str):
        require_text(identity, "id")
    return identity, require_text(question, "question"), _turns(item.get("history"), where)


def _ask_batch(services, args: argparse.Namespace, base: Query, who: str) -> int:  # type: ignore[no-untyped-def]
    """One JSON answer per line of --batch. A line that cannot be asked (not JSON, not UTF-8
    text, a lone surrogate, too long) is reported with its number on stderr and as an
    {id, error} line, and the batch goes on; exit 1 when any line failed."""
    from kb.render import answer_record

    failed = 0
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        for number, line, problem in text_lines(args.batch.read_bytes()):
            where = f"{args.batch}, line {number}"
            if line is not None and not line.strip():
                continue
            try:
                if problem is not None:
                    raise InvalidTextError(problem)
                identity, question, history = _batch_line(line or "", where)
                services.check_question(question)
                answer = services.ask(replace(base, text=question, history=history), user=who)
                record = {"id": number if identity is None else identity, **answer_record(answer)}
            except Exception as e:  # one bad line must not sink the batch
                failed += 1
                if not isinstance(e, KBError):
                    logger.exception("%s: unexpected error", where)
                reason = str(e) if isinstance(e, KBError) else f"unexpected error: {e!r}"
                reason = printable(reason.removeprefix(f"{where}: "))
                print(f"error: {where}: {reason}", file=sys.stderr)
                record = {"id": number, "error": reason}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if args.output:
            out.close()
    if failed:
        print(f"{failed} line(s) of {args.batch} failed; the others were answered", file=sys.stderr)
        return 1
    return 0


def _ask(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from kb.render import answer_record, answer_text

    if args.question:
        services.check_question(args.question)  # before anything is loaded or searched
    if not services.documents(reader=OPERATOR):
        raise KBError(
            f"the knowledge base in {services.settings.data_dir} has no documents yet: "
            "add some with `kb ingest PATH`"
        )
    groups = services.groups_of(args.as_user) if args.as_user else ("everyone",)
    who = args.as_user or "cli"
    base = Query(
        text="",
        groups=groups,
        category=Category(args.category) if args.category else None,
        as_of=args.as_of,
        include_inactive=args.include_inactive,
    )
    if args.batch:
        return _ask_batch(services, args, base, who)
    if not args.question:
        raise KBError("give a question, or --batch FILE")
    history = ()
    if args.history:
        history = _turns(json.loads(args.history.read_text(encoding="utf-8")), str(args.history))
    answer = services.ask(replace(base, text=args.question, history=history), user=who)
    if args.json:
        print(json.dumps(answer_record(answer), ensure_ascii=False, indent=2))
    else:
        print(answer_text(answer))
    return 0


def _insights(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from kb.insights import gaps_csv

    until = dt.date.today()
    report = services.insights(
        until - dt.timedelta(days=max(args.days, 1) - 1), until, reader=OPERATOR
    )
    refused = sum(d.refused for d in report.trends)
    print(f"{report.since} to {report.until}: {report.questions} questions, {refused} refused, "
          f"{len(report.gaps)} failing (refused, low confidence or not helpful)")  # fmt: skip
    print("\nKnowledge gaps by topic:")
    for number, topic in enumerate(report.topics, start=1):
        reasons = ", ".join(f"{n} {reason.value}" for reason, n in topic.reasons.items() if n)
        print(f"  {number:2}. {topic.label}  ({topic.count}: {reasons})")
        for example in topic.examples[:3]:
            print(f"        - {example}")
    never = [h.title for h in report.health if h.never_shown]
    due = [h.title for h in report.health if h.past_review_by or h.past_expiry]
    print(f"\nDocuments never shown: {len(never)}; past review-by or expiry: {len(due)}")
    for title in due:
        print(f"  - {title}")
    if args.csv:
        args.csv.write_text(gaps_csv(report.topics), encoding="utf-8")
        services.audit.record("cli", "export", what="knowledge gaps", file=args.csv.name)
        print(f"\nwrote {args.csv}")
    return 0


def _users(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if args.users_command == "add":
        user = services.users.add(args.name, args.role, args.groups, args.password)
        services.audit.record("cli", "user_change", change="added", user=user.name, role=user.role)
        print(f"added {user.name} ({user.role}), groups: {', '.join(user.access_groups)}")
    elif args.users_command == "demo":
        if not services.settings.demo_users:
            raise KBError("demo users are turned off (set KB_DEMO_USERS=true for a demo)")
        for user, secret in services.users.add_demo_accounts():
            services.audit.record(
                "cli", "user_change", change="demo user added", user=user.name, role=user.role
            )
            print(f"added demo user {user.name} ({user.role}), password {secret} (shown once)")
    elif args.users_command in ("disable", "enable"):
        services.users.set_disabled(args.name, args.users_command == "disable")
        services.audit.record("cli", "user_change", change=args.users_command + "d", user=args.name)
        print(f"{args.users_command}d {args.name}")
    elif args.users_command == "unlock":
        services.users.get(args.name)
        services.users.unlock(args.name)
        services.audit.record("cli", "user_change", change="unlocked", user=args.name)
        print(f"unlocked {args.name}")
    elif args.users_command == "set-password":
        import getpass

        secret = args.password or getpass.getpass(f"new password for {args.name}: ")
        services.users.set_password(args.name, secret)
        services.audit.record("cli", "user_change", change="password set", user=args.name)
        print(f"password set for {args.name}")
    else:
        for user in services.users.list():
            state = " (disabled)" if user.disabled else ""
            print(f"{user.name:20} {user.role:10} {', '.join(user.access_groups)}{state}")
    return 0


def _serve(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    import uvicorn

    from api import create_app
    from kb.services import warm_up_in_background

    warm_up_in_background(services)
    print(f"AnswerDesk API on http://{args.host}:{args.port} (OpenAPI: /docs)", file=sys.stderr)
    uvicorn.run(create_app(services), host=args.host, port=args.port, log_level="warning")
    return 0


def _tokens(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    accounts = services.integration_accounts()
    if args.tokens_command == "create":
        account, token = accounts.create(args.name, args.role, args.groups, args.rate)
        services.audit.record(
            "cli", "token_change", change="created", account=account.name, role=account.role,
            groups=list(account.groups), rate=account.rate_per_minute,
        )  # fmt: skip
        print(
            f"created {account.name} ({account.role}), groups: {', '.join(account.access_groups)}, "
            f"{account.rate_per_minute} requests/minute"
        )
        print(f"token (shown once, store it now): {token}")
    elif args.tokens_command == "revoke":
        account = accounts.revoke(args.name)
        services.audit.record("cli", "token_change", change="revoked", account=account.name)
        print(f"revoked the token of {account.name}")
    else:
        for account in accounts.list():
            state = f" (revoked {account.revoked_at})" if account.revoked else ""
            print(
                f"{account.name:20} {account.role:8} {account.rate_per_minute:5}/min  "
                f"{', '.join(account.access_groups)}  created {account.created_at}{state}"
            )
    return 0


RULE_EDITORS = ("knowledge", "admin")


def _rule_author(services, name: str) -> str:  # type: ignore[no-untyped-def]
    """The user a rule change is recorded for: an enabled knowledge-team or admin account."""
    user = services.users.get(name)
    if user.disabled or user.role not in RULE_EDITORS:
        raise KBError(
            f"{name} may not change escalation rules (role {user.role}"
            f"{', disabled' if user.disabled else ''}); it takes an enabled "
            f"{' or '.join(RULE_EDITORS)} account"
        )
    return user.name


def _rules_in(path: Path) -> list:  # type: ignore[type-arg]
    """The rule(s) of a JSON file: one rule object, a list of them, or {"rules": [...]}."""
    from kb.escalation import EscalationRuleError, rule_from_dict

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise KBError(f"no file {path}") from e
    except json.JSONDecodeError as e:
        raise EscalationRuleError(f"{path} is not valid JSON: {e}") from e
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = data["rules"]
    items = data if isinstance(data, list) else [data]
    return [rule_from_dict(item) for item in items]


def _escalation(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from kb.escalation import CallTurn, EscalationDetector, rule_to_dict
    from kb.pii import mask

    store = services.escalation_rules()
    command = args.escalation_command
    if command == "list":
        rules = store.current()
        for rule in rules.rules:
            state = "enabled " if rule.enabled else "DISABLED"
            print(
                f"{rule.id:36} {rule.category:18} {rule.severity:8} v{rule.version:<3} {state} "
                f"{rule.procedure or '-'}"
            )
        print(
            f"{len(rules.rules)} rules, {len(rules.enabled)} enabled; store version {rules.version}"
        )
    elif command == "show":
        rule = store.current().rule(args.rule_id)
        record = {**rule_to_dict(rule), "version": rule.version, "enabled": rule.enabled}
        print(json.dumps(record, ensure_ascii=False, indent=2))
    elif command == "history":
        for version in store.history(args.rule_id):
            state = "enabled " if version.enabled else "disabled"
            print(f"v{version.version:<3} {state} {version.at}  {version.author:16} {version.note}")
    elif command == "disable":
        version = store.disable(args.rule_id, _rule_author(services, args.author))
        print(f"disabled {args.rule_id} (version {version})")
    elif command == "save":
        author = _rule_author(services, args.author)
        for rule in _rules_in(args.file):
            print(f"saved {rule.id} as version {store.save(rule, author)}")
    else:
        from api.simulate import read_recording

        _, turns = read_recording(args.transcript)
        detector = (
            EscalationDetector(store.current())
            if args.no_meaning
            else services.escalation_detector()
        )
        alerts = detector.detect([CallTurn(t["speaker"], t["text"]) for t in turns])
        for alert in alerts:
            turn = turns[alert.turn_index]
            print(
                f"{alert.severity.upper():8} {alert.rule_id} ({alert.category}, v{alert.rule_version}) "
                f"turn {alert.turn_index + 1} [{turn['speaker']}]: '{mask(alert.matched).text}' by {alert.how}"
            )
            print(f"         action: {alert.action}")
            if alert.procedure:
                print(f"         procedure: {alert.procedure}")
        print(f"{len(alerts)} alerts in {len(turns)} turns")
    return 0


def _call(args: argparse.Namespace) -> int:
    from api.simulate import simulate

    try:
        simulate(
            args.file, args.url, args.token, args.speed, args.acting_for, keep_open=args.keep_open
        )
    except KBError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _eval_beir(args: argparse.Namespace) -> int:
    import tempfile

    from eval.run import evaluate_beir

    with tempfile.TemporaryDirectory(prefix="kb-beir-") as tmp:
        result = evaluate_beir(args.dataset, Path(tmp))
    args.report_dir.mkdir(parents=True, exist_ok=True)
    name = result["dataset"]
    (args.report_dir / f"beir-{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    keys = [
        "documents",
        "ingested",
        "chunks",
        "queries",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "p50_ms",
        "p95_ms",
    ]
    table = "\n".join(f"| {key} | {result[key]} |" for key in keys)
    failed = "".join(f"\n- {f['file']}: {f['reason']}" for f in result["failed"])
    report = f"# BEIR evaluation: {name}\n\n`kb eval beir {args.dataset}`\n\n| measure | value |\n|---|---|\n{table}\n"
    if failed:
        report += f"\nFiles that could not be ingested:{failed}\n"
    (args.report_dir / f"beir-{name}.md").write_text(report)
    print(report)
    return 0


def _eval_gaps(args: argparse.Namespace) -> int:
    from eval.gaps import evaluate_gaps, markdown
    from kb.embedding import create_embedder

    settings = Settings()
    embedder = create_embedder(settings.embedding_model)
    result = evaluate_gaps(settings.customer_messages_dir, embedder.embed_query)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "gaps.json").write_text(json.dumps(result, indent=2) + "\n")
    report = markdown(result, "kb eval gaps")
    (args.report_dir / "gaps.md").write_text(report)
    print(report)
    return 0


def _eval_public(args: argparse.Namespace) -> int:
    import tempfile

    from tqdm import tqdm

    from eval.public import available_datasets, markdown_report, run_public

    bars: dict[str, tqdm] = {}

    def progress_for(name: str):  # type: ignore[no-untyped-def]
        def progress(stage: str, done: int, total: int) -> None:
            key = f"{name}: {stage}"
            if key not in bars:
                bars[key] = tqdm(total=total, desc=key, disable=args.no_progress, file=sys.stderr)
            bars[key].update(done - bars[key].n)

        return progress

    names = args.dataset or available_datasets(args.data_dir)
    command = "kb eval public" + "".join(f" --dataset {name}" for name in args.dataset or [])
    try:
        with tempfile.TemporaryDirectory(prefix="kb-public-") as tmp:
            results = run_public(
                args.data_dir, names, args.report_dir, Path(tmp), command, progress_for
            )
    except KBError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        for bar in bars.values():
            bar.close()
    print(markdown_report(results))
    return 0


def _eval(args: argparse.Namespace) -> int:
    import tempfile

    if args.eval_command == "beir":
        return _eval_beir(args)
    if args.eval_command == "public":
        return _eval_public(args)
    if args.eval_command == "gaps":
        return _eval_gaps(args)

    from eval.golden import load_agent_style, load_golden
    from eval.run import compare, refresh_from_outcomes, write_report

    if args.render_only:
        stored = json.loads((args.report_dir / "eval.json").read_text())
        command = stored.pop("command", "kb eval")
        print(write_report(refresh_from_outcomes(stored), args.report_dir, command))
        return 0
    questions = load_golden()
    agent = load_agent_style(args.agent_style) if str(args.agent_style) not in ("", ".") else []
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        results = compare(args.samples, questions, Path(tmp), args.quick, agent)
    command = "kb eval --quick" if args.quick else "kb eval"
    print(write_report(results, args.report_dir, command))
    return 0


def _audit(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from kb.audit import events_csv

    if args.verify:
        from tqdm import tqdm

        # Every event is read and hashed: minutes at tens of millions, so a bar on stderr.
        with tqdm(file=sys.stderr, unit="event", desc="verifying", leave=False) as bar:

            def progress(read: int, total: int) -> None:
                bar.total = total
                bar.update(read - bar.n)

            problems = services.audit.problems(progress=progress)
        for path in args.against:
            try:
                checkpoint = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise KBError(f"cannot read the checkpoint {path}: {e}") from e
            problems += services.audit.check_checkpoint(checkpoint)
        if not problems:
            print("audit trail intact")
            return 0
        print(f"audit trail broken: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.checkpoint:
        checkpoint = services.audit.checkpoint()
        args.checkpoint.write_text(json.dumps(checkpoint, indent=2) + "\n", encoding="utf-8")
        print(f"checkpoint of event {checkpoint['head_id']} written to {args.checkpoint}")
        return 0
    if args.reseal:
        event = services.audit.reseal("cli", args.reseal)
        print(f"resealed the audit trail at event {event.id}")
        return 0
    events = services.audit.events(args.user, args.action, args.since, args.until)
    if args.csv:
        args.csv.write_text(events_csv(events), encoding="utf-8")
        services.audit.record("cli", "export", events=len(events), file=args.csv.name)
        print(f"wrote {len(events)} events to {args.csv}")
        return 0
    for event in events:
        print(
            f"{event.at}  {event.user:12} {event.action:14} {json.dumps(event.details, ensure_ascii=False)}"
        )
    return 0


def _bench_scale(args: argparse.Namespace) -> int:
    import os
    import tempfile

    from eval.scale import bench_scale, previous_points, stores_to_measure, write_report

    database_url = os.environ.get("KB_DATABASE_URL") or None
    stores = stores_to_measure(args.store, database_url)
    previous = previous_points(args.report_dir)
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        points = bench_scale(
            args.folder, Path(tmp), previous=previous, stores=stores, database_url=database_url
        )
    command = f"kb bench {args.folder} --scale" + (f" --store {args.store}" if args.store else "")
    print(write_report(points, args.report_dir, command))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """`kb migrate --to postgres` (kb.migrate): the local base into PostgreSQL."""
    from tqdm import tqdm

    from kb.embedding import create_embedder
    from kb.migrate import migrate_to_postgres

    try:
        source = Settings(store="local")  # first: the target's Settings bind the same folder
        target = Settings(store="postgres")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    embedder = create_embedder(source.embedding_model, source.embedding_batch_size)
    with tqdm(disable=args.no_progress, file=sys.stderr, unit="row") as bar:
        shown = [""]

        def progress(step: str, done: int, total: int) -> None:
            if shown[0] != step:
                shown[0] = step
                bar.reset(total=total)
                bar.set_description(step)
            bar.n = done
            bar.refresh()

        try:
            report = migrate_to_postgres(source, target, embedder, progress)
        except KBError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    for store in report.stores:
        tables = ", ".join(f"{name} {rows}" for name, rows in store.tables)
        print(f"{store.store}: {store.rows} rows ({tables})")
    print(
        f"{report.vectors} vectors, {report.terms} term rows and {report.originals} originals "
        f"copied into PostgreSQL schemas {target.database_schema}_*"
        + (f"; not copied: {', '.join(report.skipped)}" if report.skipped else "")
    )
    print(
        f"Set KB_STORE=postgres to use it; the SQLite files in {source.data_dir} are left "
        "as they were (a backup)."
    )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from eval.bench import bench_ingest, write_report

    if args.scale:
        return _bench_scale(args)
    settings = Settings()
    result = bench_ingest(args.folder, args.manifest, settings.embedding_model)
    command = f"kb bench {args.folder}"
    for path in write_report(result, args.report_dir, command):
        print(f"wrote {path}")
    print(path.read_text())
    return 0


# `kb eval NAME ...` hands everything after NAME to that runner's own parser (eval.NAME).
_EVAL_RUNNERS = ("live", "load", "escalation")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) >= 2 and argv[0] == "eval" and argv[1] in _EVAL_RUNNERS:
        import importlib

        result = importlib.import_module(f"eval.{argv[1]}").main(argv[2:])
        return result if isinstance(result, int) else 0
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from kb.services import build_services

    if args.command == "bench":
        return _bench(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "call":
        return _call(args)
    if args.command == "migrate":
        return _migrate(args)
    try:
        services = build_services(Settings())
        try:
            handler = {
                "ingest": _ingest,
                "docs": _docs,
                "search": _search,
                "ask": _ask,
                "users": _users,
                "audit": _audit,
                "insights": _insights,
                "serve": _serve,
                "tokens": _tokens,
                "escalation": _escalation,
            }[args.command]
            return handler(services, args)
        finally:
            services.close_api_stores()
            services.close()
    except KBError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
