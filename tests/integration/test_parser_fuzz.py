"""Parser fuzz (issue 12): mutated copies of the good fixtures of every format (bytes flipped,
the file cut short, bytes inserted) go through the real parsing path, the worker process the
pipeline parses in (ingest.worker), and then a whole batch through the pipeline.

Whatever the bytes, the outcome is a parsed document or a reported failure (a DocumentError
with a message, the file FAILED with a reason), and the batch goes on: never an exception
escaping, a hung batch or a dead ingest. Bounded for CI: KB_FUZZ_EXAMPLES examples for the
worker (default 300, a few seconds once the parsers are loaded) and three batches through
the pipeline, about a minute in all on two loaded cores. No shrinking of failing batches:
the failing example is printed as found.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.limits import ParseLimits
from ingest.pipeline import Upload
from ingest.worker import ParserWorker
from kb.errors import KBError
from kb.types import FileStatus, ParsedDocument
from tests.conftest import GOOD

pytestmark = [pytest.mark.integration, pytest.mark.slow]
logger = logging.getLogger(__name__)

FIXTURES = {
    "pdf": "policy.pdf",
    "docx": "procedure.docx",
    "pptx": "deck.pptx",
    "xlsx": "fees.xlsx",
    "html": "page.html",
    "md": "guide.md",
    "txt": "notes.txt",
    "eml": "message.eml",
}
ORIGINALS = {name: (GOOD / name).read_bytes() for name in FIXTURES.values()}
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "300"))
MAX_BYTES = 50_000_000


@dataclass(frozen=True)
class Mutation:
    """One change to a file's bytes; positions are fractions of the length, so one
    mutation means the same thing on a 1 kB text and a 38 kB Word file."""

    kind: str  # "flip", "truncate", "insert", "zero"
    at: float
    data: bytes = b""

    def apply(self, data: bytes) -> bytes:
        if not data:
            return data
        i = min(int(self.at * len(data)), len(data) - 1)
        if self.kind == "flip":
            mask = self.data[0] if self.data and self.data[0] else 0xFF
            return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
        if self.kind == "truncate":
            return data[:i]
        if self.kind == "zero":
            return data[:i] + bytes(len(self.data)) + data[i + len(self.data) :]
        return data[:i] + self.data + data[i:]


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(["flip", "flip", "flip", "truncate", "insert", "zero"]),
    at=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    data=st.binary(min_size=1, max_size=64),
)


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A fixture's name and its bytes after one to eight mutations."""
    name = draw(st.sampled_from(sorted(ORIGINALS)))
    data = ORIGINALS[name]
    for mutation in draw(st.lists(mutations, min_size=1, max_size=8)):
        data = mutation.apply(data)
    return name, data


@pytest.fixture(scope="module")
def worker() -> Iterator[tuple[ParserWorker, ParseLimits]]:
    """The pipeline's parser process with the default limits; a shorter timeout, so a file
    that hangs a parser costs seconds, not the default five minutes."""
    from kb.config import Settings

    defaults = Settings()
    process = ParserWorker(defaults.parse_memory_mb, timeout_seconds=30.0)
    limits = ParseLimits(
        max_unzipped_mb=defaults.max_unzipped_mb,
        max_zip_entries=defaults.max_zip_entries,
        max_pdf_pages=defaults.max_pdf_pages,
    )
    yield process, limits
    process.close()


def test_every_fixture_parses_unmutated(worker):
    process, limits = worker
    for fmt, name in FIXTURES.items():
        parsed = process.parse(ORIGINALS[name], name, max_bytes=MAX_BYTES, limits=limits)
        assert parsed.format == fmt and parsed.blocks


@pytest.mark.security
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated_files())
def test_a_mutated_file_parses_or_is_reported(worker, file):
    """Attack: upload a corrupted PDF, Office, HTML, Markdown, text or e-mail file (bytes flipped, cut short or inserted)"""
    process, limits = worker
    name, data = file
    try:
        parsed = process.parse(data, name, max_bytes=MAX_BYTES, limits=limits)
    except KBError as e:  # a reported failure: the pipeline writes FAILED and this reason
        assert str(e).strip(), f"{name}: a failure without a message"
        if "unexpected error" in str(e):
            logger.warning(
                "%s (%d bytes): parser bug reported as a failure: %s", name, len(data), e
            )
        return
    assert isinstance(parsed, ParsedDocument)
    assert parsed.title and any(b.text.strip() for b in parsed.blocks)


@pytest.mark.security
@settings(
    max_examples=3,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(mutated_files(), min_size=4, max_size=8), run=st.uuids())
def test_a_batch_of_mutated_files_goes_on_past_every_bad_one(services, batch, run):
    """Attack: one ingest batch of corrupted files of every format, with one good file last"""
    uploads = [
        Upload(f"{run.hex[:8]}-{i}-{name}", data=data) for i, (name, data) in enumerate(batch)
    ]
    unique = f"\n\nReference {run.hex}.\n".encode()  # new content every batch
    good = Upload(f"{run.hex[:8]}-good-guide.md", data=ORIGINALS["guide.md"] + unique)
    report = services.ingest([*uploads, good])
    assert [f.source_name for f in report.files] == [u.name for u in [*uploads, good]]
    for outcome in report.files:
        assert outcome.status in (FileStatus.ADDED, FileStatus.UNCHANGED, FileStatus.FAILED)
        if outcome.status == FileStatus.FAILED:
            assert outcome.reason and outcome.reason.strip()
    assert report.files[-1].status == FileStatus.ADDED
