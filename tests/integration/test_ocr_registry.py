"""OCR page confidence in the registry, the same on SQLite and PostgreSQL: kept per version,
shown for the version in force, erased with the document (no model, no files)."""

from __future__ import annotations

import pytest

from kb.registry import Registry
from kb.types import PageConfidence
from tests.integration.test_registry_backends import TODAY, info

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(backend_settings):
    opened = Registry(backend_settings.registry_path)
    yield opened
    opened.close()


def add_scan(registry: Registry, version: int, pages: tuple[PageConfidence, ...]) -> None:
    document = info("rates", version, format="pdf", source_name="rates.pdf")
    with registry.transaction():
        registry.upsert_document(document, "rates")
        registry.add_version(document, f"h{version}", [], 2, 100, None, TODAY, ocr_pages=pages)


def test_page_confidence_follows_the_version_in_force_and_goes_with_a_purge(registry) -> None:
    add_scan(registry, 1, (PageConfidence(1, 0.91), PageConfidence(2, 0.62)))
    assert registry.document("rates", TODAY).ocr_pages == (
        PageConfidence(1, 0.91),
        PageConfidence(2, 0.62),
    )
    add_scan(registry, 2, (PageConfidence(2, 0.97),))  # page 1 now has a text layer
    listed = {d.document_id: d for d in registry.documents(today=TODAY)}
    assert listed["rates"].ocr_pages == (PageConfidence(2, 0.97),)
    assert registry.ocr_pages("rates", 1) == (PageConfidence(1, 0.91), PageConfidence(2, 0.62))
    with registry.transaction():
        registry.purge_document("rates")
    assert registry.db.execute("SELECT count(*) FROM ocr_pages").fetchone()[0] == 0


def test_a_registry_made_before_ocr_gets_the_table_when_opened(backend_settings) -> None:
    made = Registry(backend_settings.registry_path)
    made.db.execute("DROP TABLE ocr_pages")
    made.db.commit()
    made.close()
    reopened = Registry(backend_settings.registry_path)
    try:
        add_scan(reopened, 1, (PageConfidence(1, 0.8),))
        assert reopened.ocr_pages("rates", 1) == (PageConfidence(1, 0.8),)
    finally:
        reopened.close()
