"""The server loads the embedding model in the background as it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Settings
from kb.embedding import E5Embedder
from kb.services import Services, warm_up_in_background
from kb.store import KnowledgeBase


def _services(tmp_path: Path, embedder: E5Embedder) -> Services:
    settings = Settings(data_dir=tmp_path / "kb", embedding_model="e5")
    return Services(settings, KnowledgeBase(settings, embedder))


def test_the_model_is_loaded_on_a_background_thread(tmp_path: Path) -> None:
    embedder = E5Embedder()
    services = _services(tmp_path, embedder)
    thread = warm_up_in_background(services)
    assert thread.daemon
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert embedder._model._value is not None  # the first question finds it loaded
    assert services.retriever._spelling is not None  # and the speller built


def test_a_model_that_cannot_load_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KB_E5_RUNTIME", "no-such-engine")
    thread = warm_up_in_background(_services(tmp_path, E5Embedder()))
    thread.join(timeout=120)
    assert "could not be loaded in the background" in caplog.text
