"""The placeholder page shows what the knowledge base holds (AppTest, no browser)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import GOOD, REPO

pytestmark = pytest.mark.integration


def test_library_page_lists_documents(services, monkeypatch):
    services.ingest_paths([GOOD / "policy.pdf", GOOD / "zh_procedure.pdf"])
    monkeypatch.setenv("KB_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.chdir(REPO)
    from ui.shared import get_services

    get_services.clear()
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not app.exception
    assert app.metric[0].value == "2"
    table = app.dataframe[0].value
    assert sorted(table["Title"]) == [
        "Wire Transfer Cut-off Times and Fees Policy",
        "借记卡挂失及补卡操作规程",
    ]
    assert set(table["Version"]) == {1}
