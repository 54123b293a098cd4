"""The sample knowledge base `make run` starts with: complete, restricted where it should be."""

from __future__ import annotations

from collections import Counter

import pytest

from kb.access import OPERATOR
from kb.types import FileStatus
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_every_sample_goes_in_and_the_manifest_restricts_two(sample_services):
    report = sample_services.first_report
    assert [f.source_name for f in report.files if f.status != FileStatus.ADDED] == []
    assert len(report.files) >= 30
    assert "kb-manifest.csv" not in {f.source_name for f in report.files}
    documents = sample_services.documents(reader=OPERATOR)
    formats = Counter(d.format for d in documents)
    assert set(formats) >= {"pdf", "docx", "html", "md", "xlsx", "pptx", "eml", "txt"}
    assert sum(d.language == "zh" for d in documents) >= 8
    restricted = {d.document_id: d.groups for d in documents if d.groups != ("everyone",)}
    assert restricted == {
        "fraud-investigations-playbook": ("fraud-team",),
        "complaints-executive-office-procedure": ("complaints-team",),
    }
    assert all(d.effective_date for d in documents), "every sample states its effective date"


def test_second_ingest_of_samples_changes_nothing(sample_services):
    again = sample_services.ingest_paths([REPO / "samples"])
    assert {f.status for f in again.files} == {FileStatus.UNCHANGED}
    assert again.chunks_embedded == 0
