"""The registry and its lexical index behave the same on SQLite and on PostgreSQL.

Every test taking `backend_settings` runs once per backend on a fresh registry (no model, no
files: a few rows each). The postgres ones need the server `.ci/run` starts (kb.postgres).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb.access import RESTRICTED_READER, readable_sql
from kb.config import Settings
from kb.database import is_postgres
from kb.errors import DocumentNotFoundError
from kb.lexical import LexicalIndex, tokenize
from kb.publishing import ReviewState
from kb.registry import Registry
from kb.types import EVERYONE, Category, Chunk, ChunkKind, DocumentInfo
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 6, 1)

CARD = (
    "Lost or stolen card: block the card in the app at once, then order a replacement card.",
    "Card limits: daily transfer limits apply to every debit card.",
)
ZH_CARD = ("信用卡挂失申请：请客户立即致电挂失，再申请补发新卡。", "转账限额以网上银行设置为准。")
PLAYBOOK = ("Fraud playbook: mule accounts receive transfers and move them on at once.",)


def info(document_id: str, version: int = 1, **fields) -> DocumentInfo:
    values = {
        "title": document_id.replace("-", " ").title(),
        "source_name": f"{document_id}.md",
        "format": "md",
        "language": "en",
        "category": Category.PROCEDURE,
        "effective_date": dt.date(2026, 1, 1),
        "expiry_date": None,
        "groups": (EVERYONE,),
    }
    return DocumentInfo(document_id=document_id, version=version, **{**values, **fields})


def add(
    registry: Registry,
    document: DocumentInfo,
    texts: tuple[str, ...],
    draft: bool = False,
    today: dt.date = TODAY,
) -> list[str]:
    """One version with its chunks and their lexical terms, as the ingest pipeline writes
    them; returns the chunk ids of the versions it retired."""
    chunks = [
        Chunk(
            chunk_id=f"{document.document_id}:v{document.version}:{n}",
            document=document,
            position=n,
            kind=ChunkKind.TEXT,
            text=text,
            section_path=(document.title,),
            pages=(1,),
            language=document.language,
            content_hash=f"{document.document_id}-{document.version}-{n}",
        )
        for n, text in enumerate(texts)
    ]
    with registry.transaction():
        live = registry.find_by_source(document.document_id) is not None
        if not (draft and live):  # a draft leaves a live document's row as it is
            registry.upsert_document(document, document.document_id, live=not draft)
        retired = registry.add_version(
            document,
            f"hash-{document.document_id}-{document.version}",
            chunks,
            page_count=1,
            byte_size=100,
            original_path=f"{document.document_id}-v{document.version}.md",
            today=today,
            draft=draft,
        )
        registry.add_terms([(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])
    return retired


@pytest.fixture
def registry(backend_settings: Settings):
    opened = Registry(backend_settings.registry_path)
    assert is_postgres(opened.db) == backend_settings.uses_postgres
    yield opened
    opened.close()


def search(registry: Registry, question: str, groups=(EVERYONE,), k: int = 5) -> list[str]:
    condition, params = readable_sql(groups)
    hits = LexicalIndex(registry.db).search(tokenize(question), k, condition, params)
    return [chunk_id for chunk_id, _ in hits]


def test_versions_are_lined_up_and_a_deleted_document_leaves_the_current_view(registry) -> None:
    add(registry, info("cards"), CARD)
    scheduled = info("cards", 2, effective_date=dt.date(2026, 9, 1))
    assert add(registry, scheduled, CARD[:1]) == []  # scheduled: version 1 stays in force
    record = registry.document("cards", today=TODAY)
    assert (record.current_version, record.scheduled_version) == (1, 2)
    assert record.scheduled_from == dt.date(2026, 9, 1)
    assert [v.replaced_on for v in registry.versions("cards")] == [dt.date(2026, 9, 1), None]

    # On the day version 2 takes effect, lining up retires version 1 and returns its chunks.
    with registry.transaction():
        retired = registry.line_up_versions(dt.date(2026, 9, 1))
    assert retired == ["cards:v1:0", "cards:v1:1"]
    assert [v.status for v in registry.versions("cards")] == ["superseded", "current"]
    assert set(registry.live_infos()) == {("cards", 2)}
    assert registry.current_chunk_ids() == ["cards:v2:0"]

    with registry.transaction():
        gone = registry.mark_deleted("cards")
    assert gone == ["cards:v2:0"]
    assert registry.documents() == []
    assert [d.document_id for d in registry.documents(include_deleted=True)] == ["cards"]
    with pytest.raises(DocumentNotFoundError):
        registry.mark_deleted("cards")


def test_a_draft_answers_only_once_approved_and_a_rejected_one_never(registry) -> None:
    add(registry, info("cards"), CARD)
    draft = info("cards", 2, title="Cards (revised)")
    add(registry, draft, ZH_CARD, draft=True)
    with registry.transaction():
        registry.submit_draft(draft, "kim")
    assert registry.pending_draft_hash("cards") == (2, "hash-cards-2")
    [pending] = registry.drafts(today=TODAY)
    assert (pending.version, pending.live_version, pending.submitted_by) == (2, 1, "kim")
    assert registry.document("cards").title == "Cards"  # a pending draft changes nothing
    assert set(registry.live_infos(preview=True, today=TODAY)) == {("cards", 1), ("cards", 2)}

    with registry.transaction():
        retired = registry.approve_draft("cards", 2, "rae", "fine", TODAY)
    assert retired == ["cards:v1:0", "cards:v1:1"]
    assert registry.document("cards").title == "Cards (revised)"
    assert [d.state for d in registry.drafts(states=("approved",))] == [ReviewState.APPROVED]

    third = info("cards", 3)
    add(registry, third, CARD, draft=True)
    with registry.transaction():
        registry.submit_draft(third, "kim")
        assert registry.reject_draft("cards", 3, "rae", "no") == ["cards:v3:0", "cards:v3:1"]
    assert registry.pending_draft_hash("cards") is None
    assert registry.document("cards", today=TODAY).current_version == 2


def test_chunks_by_id_carry_their_version_metadata(registry) -> None:
    add(registry, info("cards"), CARD)
    add(registry, info("zh-cards", language="zh", title="信用卡挂失"), ZH_CARD)
    chunks = registry.chunks_by_id(["zh-cards:v1:1", "cards:v1:0", "nowhere:v1:0"])
    assert set(chunks) == {"zh-cards:v1:1", "cards:v1:0"}
    assert chunks["zh-cards:v1:1"].text == ZH_CARD[1]
    assert chunks["zh-cards:v1:1"].document.title == "信用卡挂失"
    assert chunks["cards:v1:0"].section_path == ("Cards",)
    assert chunks["cards:v1:0"].pages == (1,)
    assert registry.chunks_by_id([]) == {}


def test_lexical_search_finds_english_and_chinese_chunks(registry) -> None:
    add(registry, info("cards"), CARD)
    add(registry, info("zh-cards", language="zh"), ZH_CARD)
    assert search(registry, "How do I block a stolen card?")[0] == "cards:v1:0"
    assert search(registry, "信用卡怎么挂失")[0] == "zh-cards:v1:0"
    assert search(registry, "信用卡怎麼掛失")[0] == "zh-cards:v1:0"  # Traditional question
    assert search(registry, "mortgage") == []
    index = LexicalIndex(registry.db)
    condition, params = readable_sql((EVERYONE,))
    english = index.search(tokenize("transfer limits"), 5, condition, params, language="en")
    assert [c for c, _ in english] == ["cards:v1:1"]
    assert index.readable(["挂失", "mortgage", "card"], condition, params) == {"挂失", "card"}
    vocabulary = index.vocabulary()
    assert vocabulary["card"] == 2 and vocabulary["挂失"] == 1 and "mortgage" not in vocabulary
    assert index.chunk_count() == 4


def test_an_earlier_version_that_matched_is_found_among_the_superseded(registry) -> None:
    add(registry, info("cards"), CARD)
    add(registry, info("cards", 2), ("Cards are blocked by phone only.",))
    condition, params = readable_sql((EVERYONE,))
    index = LexicalIndex(registry.db)
    old = index.search_superseded(tokenize("daily transfer limits"), 5, condition, params)
    assert [(c, v) for c, v, _ in old] == [("cards:v1:1", 1)]
    assert search(registry, "daily transfer limits") == []


def test_access_groups_filter_inside_the_sql(registry) -> None:
    add(registry, info("cards"), CARD)
    add(registry, info("playbook", groups=("fraud-team",)), PLAYBOOK)
    question = "transfers moved on at once"
    assert "playbook:v1:0" not in search(registry, question)
    assert search(registry, question, groups=(EVERYONE, "fraud-team"))[0] == "playbook:v1:0"
    assert search(registry, question, groups=(EVERYONE, RESTRICTED_READER))[0] == "playbook:v1:0"
    condition, params = readable_sql((EVERYONE,))
    outsider = LexicalIndex(registry.db).readable(["mule"], condition, params)
    assert outsider == set()  # a restricted document's word is not readable to an outsider


def test_purge_erases_every_row_and_term(registry) -> None:
    add(registry, info("cards"), CARD)
    add(registry, info("cards", 2), CARD[:1])
    add(registry, info("zh-cards", language="zh"), ZH_CARD)
    with registry.transaction():
        purged = registry.purge_document("cards")
    assert purged.versions == (1, 2)
    assert purged.chunk_ids == ("cards:v1:0", "cards:v1:1", "cards:v2:0")
    assert purged.terms == 3
    assert purged.originals == ("cards-v1.md", "cards-v2.md")
    registry.rewrite_storage()
    for table in ("chunks", "versions", "documents", "reviews"):
        rows = registry.db.execute(
            f"SELECT count(*) FROM {table} WHERE document_id = 'cards'"
        ).fetchone()[0]
        assert rows == 0, table
    index = LexicalIndex(registry.db)
    assert search(registry, "block the card") == []
    assert "card" not in index.vocabulary() and index.chunk_count() == 2
    assert search(registry, "信用卡挂失") == ["zh-cards:v1:0"]
    with pytest.raises(DocumentNotFoundError):
        registry.purge_document("cards")


def test_a_failed_transaction_leaves_nothing(registry) -> None:
    with pytest.raises(RuntimeError), registry.transaction():
        registry.upsert_document(info("cards"), "cards")
        raise RuntimeError("the ingest failed halfway")
    assert registry.documents(include_deleted=True) == []


# ---------------------------------------------------------------- the two backends side by side

CORPUS = {
    "cards": CARD,
    "zh-cards": ZH_CARD,
    "transfers": (
        "International transfers: a transfer above 25,000 needs a call-back; transfers to new "
        "payees are held for review.",
        "Transfer limits reset at midnight. A blocked transfer can be released by the fraud team.",
    ),
    "playbook": PLAYBOOK,
}
QUESTIONS = (
    "block a lost card",
    "transfer limits",
    "international transfer call-back 25,000",
    "信用卡挂失",
    "转账限额 transfer",
    "fraud team blocked transfer",
)


@pytest.fixture(scope="module")
def both(tmp_path_factory, database_url):
    """The same rows in a SQLite registry and a PostgreSQL one."""
    root: Path = tmp_path_factory.mktemp("both")
    postgres = postgres_settings(root / "pg", database_url)
    registries = [Registry(Settings(data_dir=root / "local").registry_path)]
    registries.append(Registry(postgres.registry_path))
    for registry in registries:
        for document, texts in CORPUS.items():
            add(registry, info(document), texts)
    yield registries
    for registry in registries:
        registry.close()
    drop_postgres(postgres)


def test_bm25_scores_are_the_same_on_both_backends(both) -> None:
    local, postgres = (LexicalIndex(r.db) for r in both)
    condition, params = readable_sql((EVERYONE,))
    for question in QUESTIONS:
        expected = local.search(tokenize(question), 10, condition, params)
        got = postgres.search(tokenize(question), 10, condition, params)
        assert expected, question
        assert [c for c, _ in got] == [c for c, _ in expected], question
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)
    assert postgres.vocabulary() == local.vocabulary()
    assert postgres.chunk_count() == local.chunk_count()


def test_postgres_statistics_follow_inserts_updates_and_deletes(both) -> None:
    _, registry = both
    db = registry.db
    with registry.transaction():
        db.execute(
            "INSERT INTO chunk_terms(chunk_id, terms) VALUES ('extra:v1:0', 'card card zebra')"
        )
        db.execute("UPDATE chunk_terms SET terms = 'zebra' WHERE chunk_id = 'extra:v1:0'")
    index = LexicalIndex(db)
    stored = index.vocabulary()
    recount = {
        r[0]: r[1]
        for r in db.execute("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM chunk_terms')")
    }
    assert stored == recount and stored["zebra"] == 1
    tokens = db.execute("SELECT sum(length) AS t FROM chunk_terms").fetchone()["t"]
    assert db.execute("SELECT tokens FROM lexical_stats").fetchone()["tokens"] == tokens
    with registry.transaction():
        db.execute("DELETE FROM chunk_terms WHERE chunk_id = 'extra:v1:0'")
    assert "zebra" not in index.vocabulary()
    assert index.chunk_count() == sum(len(t) for t in CORPUS.values())
