"""Render every tools/sample_sources/*.md into samples/ (one document per source).

    python tools/build_samples.py            # render all sources into samples/
    python tools/build_samples.py --check    # only verify that every source parses
    python tools/build_samples.py tools/sample_sources/x.md --out /tmp/out   # selected sources

Sources whose name starts with "_" are skipped, and so are .md files with no front matter
(notes kept next to the sources). The `file:` key of each source names its output file; its
extension picks the format. Output is deterministic where the libraries allow (see README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docgen

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
SOURCES = TOOLS / "sample_sources"
SAMPLES = REPO / "samples"


def _is_source(path: Path) -> bool:
    if path.name.startswith("_"):
        return False
    with path.open(encoding="utf-8") as fh:
        return fh.readline().lstrip("\ufeff").strip() == "---"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("sources", nargs="*", type=Path, help="source files (default: all)")
    ap.add_argument("--check", action="store_true", help="only parse the sources, write nothing")
    ap.add_argument("--out", type=Path, default=SAMPLES, help=f"output folder (default {SAMPLES})")
    args = ap.parse_args(argv)

    if args.sources:
        paths = list(args.sources)
    else:
        paths = []
        for p in sorted(SOURCES.glob("*.md")):
            if _is_source(p):
                paths.append(p)
            else:
                print(f"skip   {p.name} (not a source)")
    if not paths:
        print(f"no sources found in {SOURCES}", file=sys.stderr)
        return 1

    failures = 0
    outputs: dict[str, Path] = {}
    restricted: list[tuple[str, str]] = []
    for path in paths:
        try:
            src = docgen.parse_source(path)
        except docgen.SourceError as exc:
            failures += 1
            print(f"ERROR  {path.name}: {exc}", file=sys.stderr)
            continue
        name = src.meta.file
        if name in outputs:
            failures += 1
            print(
                f"ERROR  {path.name}: output {name} also comes from {outputs[name].name}",
                file=sys.stderr,
            )
            continue
        outputs[name] = path
        if src.meta.get("groups"):
            groups = ";".join(g.strip() for g in src.meta.get("groups", "").split(",") if g.strip())
            restricted.append((name, groups))
        if args.check:
            print(f"ok     {path.name} -> {name} ({len(src.blocks)} blocks)")
            continue
        try:
            target = docgen.render(src, args.out)
        except Exception as exc:  # report every broken source, not only the first
            failures += 1
            print(f"ERROR  {path.name}: rendering {name} failed: {exc!r}", file=sys.stderr)
            continue
        size = target.stat().st_size
        print(
            f"wrote  {target.relative_to(args.out.parent) if args.out == SAMPLES else target}"
            f"  ({size:,} bytes)  <- {path.name}"
        )
    if failures:
        print(f"{failures} source(s) failed", file=sys.stderr)
        return 1
    if not args.check and not args.sources:
        write_manifest(args.out / "kb-manifest.csv", sorted(outputs), restricted)
    return 0


MANIFEST_COLUMNS = ["file", "category", "effective_date", "expiry_date", "review_by", "owner"]


def write_manifest(path: Path, files: list[str], restricted: list[tuple[str, str]]) -> None:
    """A row for every sample with its groups (`everyone` unless its source names groups):
    a file the manifest does not list gets KB_DEFAULT_GROUP, which nobody holds, so every
    sample must be listed. Other columns already in the manifest (review dates, owners,
    edited by hand) are kept."""
    import csv

    kept: dict[str, dict[str, str]] = {}
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            kept = {row["file"]: row for row in csv.DictReader(handle) if row.get("file")}
    groups = dict(restricted)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*MANIFEST_COLUMNS, "groups"])
        for name in files:
            row = kept.get(name, {})
            writer.writerow(
                [
                    name,
                    *(row.get(c) or "" for c in MANIFEST_COLUMNS[1:]),
                    groups.get(name, "everyone"),
                ]
            )
    print(f"wrote  {path.name}  ({len(files)} documents, {len(restricted)} restricted)")


if __name__ == "__main__":
    sys.exit(main())
