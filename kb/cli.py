"""`kb`: the command line for the knowledge team and for operators.

Errors a person can act on (KBError) are printed as one line and exit with status 1; the
settings are built once here from the environment (KB_*) and passed down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from kb.config import Settings
from kb.errors import KBError
from kb.types import Category, DocumentOptions, FileStatus, IngestReport

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
    ingest.add_argument(
        "--manifest",
        type=Path,
        help="CSV of per-file category/dates/groups (default: kb-manifest.csv in a folder given)",
    )
    ingest.add_argument("--no-progress", action="store_true")

    docs = commands.add_parser("docs", help="list, show or delete documents")
    docs_commands = docs.add_subparsers(dest="docs_command", required=True)
    listing = docs_commands.add_parser("list")
    listing.add_argument("--all", action="store_true", help="include deleted documents")
    show = docs_commands.add_parser("show")
    show.add_argument("document_id")
    show.add_argument("--chunks", action="store_true", help="print every chunk's text")
    delete = docs_commands.add_parser("delete")
    delete.add_argument("document_id")

    bench = commands.add_parser(
        "bench", help="measure ingestion speed on a folder (default samples/)"
    )
    bench.add_argument("folder", nargs="?", type=Path, default=Path("samples"))
    bench.add_argument("--manifest", type=Path)
    bench.add_argument("--report-dir", type=Path, default=Path("eval/reports"))

    search = commands.add_parser("search", help="nearest passages to a query (dense only)")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
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
                + (f" ({file.reason})" if file.reason else "")
            )
        print(f"{_STATUS_MARK[file.status]}  {file.source_name}: {detail}")
    counts = ", ".join(f"{report.count(s)} {s.value}" for s in FileStatus)
    print(
        f"{len(report.files)} files in {report.seconds:.1f}s: {counts}; {report.chunks_embedded} chunks embedded"
    )


def _ingest(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    from ingest.pipeline import collect_files

    options = DocumentOptions(
        category=Category(args.category) if args.category else None,
        effective_date=args.effective_date,
        expiry_date=args.expiry_date,
        groups=args.groups,
    )
    uploads = collect_files(args.paths, args.manifest)
    with tqdm(total=len(uploads), unit="file", disable=args.no_progress, file=sys.stderr) as bar:

        def progress(done: int, total: int, name: str) -> None:
            bar.set_postfix_str(name[:40])
            bar.update(done - bar.n)

        report = services.ingest(uploads, options, progress)
    print_report(report)
    return 1 if report.files and report.count(FileStatus.FAILED) == len(report.files) else 0


def _docs(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if args.docs_command == "list":
        documents = services.documents(include_deleted=args.all)
        for d in documents:
            version = f"v{d.current_version}" if d.current_version else "deleted"
            groups = ",".join(d.groups)
            effective = d.effective_date.isoformat() if d.effective_date else "-"
            print(
                f"{d.document_id:42} {version:8} {d.category.value:13} {d.language:5} "
                f"{d.chunk_count:4} chunks  eff {effective}  [{groups}]  {d.title}"
            )
        print(f"{len(documents)} documents")
    elif args.docs_command == "show":
        d = services.document(args.document_id)
        print(
            f"{d.title}\n  id: {d.document_id}\n  file: {d.source_name} ({d.format}, {d.language})"
        )
        print(
            f"  category: {d.category.value}\n  owner: {d.owner or '-'}\n  groups: {', '.join(d.groups)}"
        )
        print(f"  effective: {d.effective_date or '-'}  expiry: {d.expiry_date or '-'}")
        print("  versions:")
        for v in d.versions:
            print(
                f"    v{v.version} {v.status:10} {v.ingested_at}  {v.chunk_count} chunks  "
                f"{v.page_count or '-'} pages  {v.byte_size} bytes  sha256 {v.content_hash[:12]}"
            )
        if d.current_version:
            print("  chunks:")
            for chunk in services.document_chunks(d.document_id, d.current_version):
                pages = ",".join(map(str, chunk.pages)) or "-"
                print(f"    {chunk.chunk_id:40} {chunk.kind.value:9} p.{pages:6} {chunk.section}")
                if args.chunks:
                    print("      " + chunk.text.replace("\n", "\n      "))
    else:
        removed = services.delete(args.document_id)
        print(f"deleted {args.document_id}: {removed} chunks removed from search")
    return 0


def _search(services, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    for chunk, score in services.search(args.query, args.k):
        pages = ",".join(map(str, chunk.pages)) or "-"
        print(
            f"{score:.3f}  {chunk.document.title} > {chunk.section} (p. {pages}, v{chunk.document.version})"
        )
        print("       " + chunk.text[:200].replace("\n", " "))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from eval.bench import bench_ingest, write_report

    settings = Settings()
    result = bench_ingest(args.folder, args.manifest, settings.embedding_model)
    command = f"kb bench {args.folder}"
    for path in write_report(result, args.report_dir, command):
        print(f"wrote {path}")
    print(path.read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from kb.services import build_services

    if args.command == "bench":
        return _bench(args)
    try:
        services = build_services(Settings())
        try:
            handler = {"ingest": _ingest, "docs": _docs, "search": _search}[args.command]
            return handler(services, args)
        finally:
            services.close()
    except KBError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
