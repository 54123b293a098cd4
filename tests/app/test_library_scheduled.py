"""The Library says when a new version is scheduled (versions carry their own dates)."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.pipeline import Upload
from kb.types import DocumentOptions
from tests.app.conftest import open_page
from tests.integration.test_document_lifecycle import lost_card_v2

pytestmark = pytest.mark.integration


def test_the_library_shows_a_version_scheduled_from_its_date(app_base, tmp_path):
    next_month = dt.date.today() + dt.timedelta(days=31)
    data = lost_card_v2(tmp_path / "debit-card-loss-2027.docx")
    app_base.ingest(
        [Upload("debit-card-loss-2027.docx", data=data)],
        DocumentOptions(replaces="procedure", effective_date=next_month),
    )
    app = open_page(app_base, "library", "kim")
    assert not app.exception
    listing = app.dataframe[0].value
    row = listing[listing["Id"] == "procedure"].iloc[0]
    assert row["Version"] == 1
    assert row["Scheduled"] == f"v2 scheduled from {next_month}"
    app = next(s for s in app.selectbox if s.label == "Document").select("procedure").run()
    assert not app.exception
    versions = next(d.value for d in app.dataframe if "Ingested" in d.value.columns)
    assert list(versions["Status"]) == [
        f"current until {next_month - dt.timedelta(days=1)}",
        f"scheduled from {next_month}",
    ]
