"""`kb docs purge`: a document's text, search terms, vectors and original files are erased
from a real knowledge base, the erasure is audited without the content, and a failure before
the commit leaves everything as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import Upload, purge_document
from kb.access import OPERATOR
from kb.errors import DocumentNotFoundError
from kb.lexical import tokenize
from kb.types import Query
from tests.conftest import GOOD

pytestmark = pytest.mark.integration

MARKER = "Quokkaphonic"  # a word no other document has
MARKER_ZH = "鸮鹦鹉暗号"


def _procedure(version: int) -> bytes:
    return (
        f"# Zephyr vault closure (edition {version})\n\n"
        f"## Procedure\n\n"
        f"1. Confirm the {MARKER} passphrase with the customer.\n"
        f"2. Close the Zephyr vault in the {MARKER} console, edition {version}.\n"
        f"3. 客户须说出{MARKER_ZH}才能关闭保险库。\n"
    ).encode()


def _on_disk(data_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data_dir)): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()
    }


def _holding(data_dir: Path, needles: list[str]) -> list[str]:
    """Files under the data folder whose bytes hold any of the needles (as UTF-8)."""
    wanted = [n.encode() for n in needles]
    return sorted(
        name for name, data in _on_disk(data_dir).items() if any(w in data for w in wanted)
    )


@pytest.fixture
def base(services):
    services.ingest_paths([GOOD / "guide.md", GOOD / "notes.txt"])
    first = services.ingest([Upload("zephyr-vault.md", data=_procedure(1))]).files[0]
    second = services.ingest([Upload("zephyr-vault.md", data=_procedure(2))]).files[0]
    assert (first.document_id, second.version) == (second.document_id, 2)
    return services, second.document_id


def _needles(document_id: str) -> list[str]:
    terms = [t for t in tokenize(f"{MARKER} {MARKER_ZH}") if len(t) > 2]
    return [MARKER, MARKER.lower(), MARKER_ZH, *terms, f"{document_id}:v"]


@pytest.mark.security
def test_purge_erases_text_terms_vectors_and_originals_and_audits_without_content(base):
    """Attack: the knowledge team deletes a document that must be erased; its text, search terms, vectors and original file must be gone from every file, search must not find it, and the audit row must not hold the text."""
    services, document_id = base
    data_dir = services.settings.data_dir
    originals = [services.original_file(document_id, v, reader=OPERATOR) for v in (1, 2)]
    assert all(path is not None and path.exists() for path in originals)

    services.delete(document_id, user="kim", reader=OPERATOR)
    # What `kb docs delete` leaves behind: this is why purge exists.
    assert _holding(data_dir, [MARKER])

    report = services.purge(document_id, user="kim", reader=OPERATOR)

    assert report.versions == (1, 2) and report.chunks >= 2 and report.originals == 2
    assert report.scrubbed
    assert _holding(data_dir, _needles(document_id)) == []  # db files, logs, index, originals
    assert not any(path.exists() for path in originals)
    assert document_id not in {
        d.document_id for d in services.documents(include_deleted=True, reader=OPERATOR)
    }
    for mode in ("dense", "lexical", "hybrid"):
        hits = services.retrieve(Query(f"{MARKER} Zephyr vault closure {MARKER_ZH}"), mode)
        assert all(h.chunk.document.document_id != document_id for h in hits), mode
    assert all(
        c.document.document_id != document_id
        for c, _ in services.search(MARKER, k=20, reader=OPERATOR)
    )

    (event,) = [e for e in services.audit.events(action="deletion") if e.details.get("purged")]
    assert event.user == "kim" and event.details["document"] == document_id
    assert event.details["versions"] == [1, 2] and event.details["originals"] == 2
    assert MARKER not in str(event.details)

    # The rest of the knowledge base still answers.
    assert services.search("fee", k=3, reader=OPERATOR)
    with pytest.raises(DocumentNotFoundError):
        services.purge(document_id, user="kim", reader=OPERATOR)


def test_a_purge_that_fails_before_its_commit_leaves_the_document_whole(base):
    services, document_id = base
    data_dir = services.settings.data_dir
    before = services.document(document_id, reader=OPERATOR)
    generation = services.kb.registry.index_generation()

    def fail(session, report):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        purge_document(services.kb, document_id, on_purge=fail)

    assert services.document(document_id, reader=OPERATOR) == before
    assert services.kb.registry.index_generation() == generation
    assert all(services.original_file(document_id, v, reader=OPERATOR).exists() for v in (1, 2))
    hits = services.retrieve(Query(f"{MARKER} Zephyr vault closure"), "lexical")
    assert hits and hits[0].chunk.document.document_id == document_id
    assert _holding(data_dir, [MARKER])


def test_kb_docs_purge_on_the_command_line(base, monkeypatch, capsys):
    from kb.cli import main

    services, document_id = base
    monkeypatch.setenv("KB_DATA_DIR", str(services.settings.data_dir))
    assert main(["docs", "purge", document_id]) == 0
    out = capsys.readouterr().out
    assert f"purged {document_id} (v1, v2)" in out and "2 original files erased" in out
    assert main(["docs", "purge", document_id]) == 1
    assert "no document with id" in capsys.readouterr().err
